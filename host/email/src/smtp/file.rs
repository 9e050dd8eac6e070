//! `transport = "file"`: each message written into a folder as one `.eml`
//! file instead of being sent, for demos, trials and tests.
//!
//! The file holds [`OutgoingEmail::to_bytes`], the bytes the SMTP transport
//! hands over after `DATA` (before dot-stuffing), built by the same code.
//! Bcc recipients are named in no header, as over SMTP; the envelope is
//! not written.
//!
//! Names are `YYYYMMDDTHHMMSS.ffffffZ-XXXXXXXX.eml`: the time the host's
//! clock gave the delivery, then eight random hex digits, so that names
//! sort by time and two messages never share one. A message is written
//! under a hidden temporary name first and linked to its final name only
//! when complete, so a reader of the folder never sees half a message, and
//! linking (unlike renaming) never replaces a file already there. Every
//! file is `0600` and a folder it creates `0700` (`dossier_store::files`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use dossier_types::{Error, Result};

use super::OutgoingEmail;

/// How many names are tried before giving up; a clash needs two messages
/// of the same microsecond drawing the same 32 random bits.
const NAME_TRIES: usize = 8;

/// Writes `email` into `folder` (created when missing) as a new `.eml`
/// file named for `date`; returns its path. A message that cannot be built
/// is the [`Error::InvalidInput`] of [`OutgoingEmail::to_bytes`] (writing
/// it again would fail again); a folder or file that cannot be written an
/// [`Error::Io`] naming the path.
pub fn write(folder: &Path, email: &OutgoingEmail, date: DateTime<Utc>) -> Result<PathBuf> {
    let bytes = email.to_bytes()?;
    dossier_store::files::create_dir_all(folder)?;
    let stamp = date.format("%Y%m%dT%H%M%S%.6fZ");
    for _ in 0..NAME_TRIES {
        let name = format!("{stamp}-{}.eml", suffix()?);
        let temp = folder.join(format!(".{name}.tmp"));
        let path = folder.join(&name);
        let written = write_new(&temp, &bytes);
        let linked = written.and_then(|()| {
            std::fs::hard_link(&temp, &path).map_err(|source| Error::Io {
                what: "cannot create",
                path: path.clone(),
                source,
            })
        });
        // The temporary name goes whatever happened; a leftover one would
        // be a hidden copy of the message.
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => return Ok(path),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::Refused(format!(
        "no free file name in {} for a message of {stamp} after {NAME_TRIES} tries",
        folder.display()
    )))
}

/// Creates `path` (which must not exist) `0600` and writes `bytes` to disk.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = dossier_store::files::create(path, dossier_store::files::Existing::Refuse)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|source| Error::Io {
            what: "cannot write",
            path: path.to_owned(),
            source,
        })
}

/// Eight random hex digits.
fn suffix() -> Result<String> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Refused(format!("cannot draw a random file name: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

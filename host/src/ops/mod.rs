//! The operator's tools on a whole store: backups, restores, the
//! collection of unreferenced attachment blobs (`gc.rs`), CSV imports
//! (`import.rs`) and CSV or JSON-lines exports (`export.rs`).
//!
//! A backup is a folder: the database copied through the store's online
//! backup (one consistent snapshot while writers go on), the attachment
//! blobs that snapshot references (`blobs/ab/abcd…`, as the blob store
//! keeps them), and last a `manifest.json` naming the format, the schema
//! version, the time and every file with its size and SHA-256. A folder without a manifest is an
//! unfinished backup; restore refuses it, as it refuses a folder whose
//! files do not match their manifest, and a store that is open elsewhere.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::events::Actor;
use crate::host::Host;
use dossier_store::BackupProgress;
use dossier_store::blobs::{BlobStore, FsBlobs, blob_id, check_id, folder_for};
use dossier_store::files;
use dossier_types::{Error, Result};

mod csv_scan;
mod export;
mod gc;
mod import;
#[cfg(test)]
mod transfer_tests;

pub use export::{ExportFormat, ExportKind};
pub use gc::{Collected, GRACE as GC_GRACE};
pub use import::{DEFAULT_BATCH, ImportReport, REJECT_COLUMNS, Reject};

/// The manifest's file name in a backup folder.
pub const MANIFEST: &str = "manifest.json";

/// What the manifest's `format` says, so a restore knows the folder is ours.
const FORMAT: &str = "dossier-backup";

/// The manifest layout this build writes and reads.
const FORMAT_VERSION: u32 = 1;

/// The database's file name inside a backup folder.
const DB_FILE: &str = "dossier.db";

/// How far a backup or a restore has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Database pages copied so far, of the total.
    Pages {
        /// Pages copied.
        done: u64,
        /// Pages in the database.
        total: u64,
    },
    /// Attachment blobs copied so far, of the total.
    Blobs {
        /// Blobs copied.
        done: u64,
        /// Blobs to copy.
        total: u64,
    },
    /// Files checked against the manifest so far (restore), of the total.
    Verified {
        /// Files checked.
        done: u64,
        /// Files in the manifest.
        total: u64,
    },
}

/// One file of a backup, as its manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupFile {
    /// The path inside the backup folder, `/`-separated.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, lower-case hex.
    pub sha256: String,
}

/// A backup folder's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `dossier-backup`.
    pub format: String,
    /// The manifest layout, 1.
    pub format_version: u32,
    /// The Dossier version that wrote it.
    pub dossier_version: String,
    /// The database schema version of the copy.
    pub schema_version: i64,
    /// When the backup was taken (the host's clock).
    pub created_at: DateTime<Utc>,
    /// Every file of the backup.
    pub files: Vec<BackupFile>,
    /// Blobs the copied rows reference that the blob store did not have
    /// (lost before the backup ran): the backup holds the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_blobs: Vec<String>,
}

/// What [`restore`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restored {
    /// The store file that was overwritten (or created).
    pub store: PathBuf,
    /// The backup's manifest.
    pub manifest: Manifest,
}

impl Host {
    /// Writes a backup of the whole store into `dir` (created if missing;
    /// it must be empty): the database through the online backup, so it is
    /// one consistent snapshot taken while writers go on committing, then
    /// `manifest.json`. Returns the manifest. Only `system` and admins may
    /// back up (a backup holds every private case). On failure the files
    /// already written are removed.
    pub fn backup(&self, dir: &Path, progress: &mut dyn FnMut(Progress)) -> Result<Manifest> {
        self.require_admin("back up the store")?;
        prepare_dir(dir)?;
        let result = self.write_backup(dir, progress);
        if result.is_err() {
            let _ = std::fs::remove_file(dir.join(MANIFEST));
            let _ = std::fs::remove_file(dir.join(DB_FILE));
            let _ = std::fs::remove_dir_all(dir.join(BLOB_DIR));
        }
        result
    }

    fn write_backup(&self, dir: &Path, progress: &mut dyn FnMut(Progress)) -> Result<Manifest> {
        let created_at = self.now();
        let db = dir.join(DB_FILE);
        let snapshot = self
            .runtime()
            .store()
            .backup_to(&db, &mut |p: BackupProgress| {
                progress(Progress::Pages {
                    done: p.pages_done,
                    total: p.pages_total,
                })
            })?;
        let mut files = vec![describe(dir, DB_FILE)?];
        let mut missing_blobs = Vec::new();
        let total = snapshot.blobs.len() as u64;
        for (i, id) in snapshot.blobs.iter().enumerate() {
            match self.runtime().blobs().get(id) {
                Ok(bytes) => files.push(write_blob(dir, id, &bytes)?),
                Err(Error::NotFound { .. }) => missing_blobs.push(id.clone()),
                Err(e) => return Err(e),
            }
            progress(Progress::Blobs {
                done: i as u64 + 1,
                total,
            });
        }
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            format_version: FORMAT_VERSION,
            dossier_version: env!("CARGO_PKG_VERSION").to_owned(),
            schema_version: snapshot.schema_version,
            created_at,
            files,
            missing_blobs,
        };
        write_manifest(dir, &manifest)?;
        Ok(manifest)
    }

    /// Refuses `path` as an output file (`what`: "--rejects", "export -o")
    /// when it is part of the store: the database, its `-wal`, `-shm` or
    /// `-journal`, or anything inside the attachments folder.
    pub fn refuse_store_file(&self, path: &Path, what: &str) -> Result<()> {
        if part_of_store(&self.config().store_path(), path) {
            return Err(Error::Refused(format!(
                "{what} {} is part of the store itself: writing it would destroy the store; \
                 choose another file",
                path.display()
            )));
        }
        Ok(())
    }

    /// Refuses unless this handle runs as `system` or an admin agent: what
    /// operator operations (backup, restore, gc, an import without hooks)
    /// require.
    pub fn require_admin(&self, action: &str) -> Result<()> {
        match self.actor() {
            Actor::System => Ok(()),
            Actor::Agent(login) => {
                if self.runtime().acting_agent(login)?.role == dossier_sdk::Role::Admin {
                    Ok(())
                } else {
                    Err(Error::Refused(format!(
                        "agent {login} may not {action}: only admins may"
                    )))
                }
            }
        }
    }
}

/// Replaces the store `config` names with the backup in `dir`.
///
/// Refused, leaving the store untouched, when `dir` is not a complete and
/// intact backup ([`Error::NotABackup`]: no or unreadable manifest, a file
/// missing or not matching its size and SHA-256), when the backup's schema
/// is newer than this build ([`Error::SchemaTooNew`]), and when the store
/// is in use ([`Error::StoreInUse`]: any other connection has it open, be
/// it a host, `dossier run` or a `sqlite3` shell). The store is locked for
/// the whole restore, and the database is replaced in one transaction.
/// A free function: no host may be open on the store it overwrites.
pub fn restore(
    config: &Config,
    dir: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Restored> {
    let manifest = verify(dir, progress)?;
    // Every blob's name must be its content's hash (verified above) before
    // any is written into the live store: a refusal writes nothing.
    for file in &manifest.files {
        if let Some(name) = file.path.strip_prefix(&format!("{BLOB_DIR}/"))
            && name.rsplit('/').next() != Some(file.sha256.as_str())
        {
            return Err(Error::NotABackup {
                path: dir.to_owned(),
                reason: format!("{} does not hold the content its name says", file.path),
            });
        }
    }
    let target = config.store_path();
    let lock = dossier_store::lock_for_restore(&target)?;
    // The blobs first: a store whose rows are restored never lacks the
    // bytes they reference. Blobs already there are the same content
    // (their name is their hash) and are kept; extra ones are left to gc.
    let blobs = FsBlobs::new(folder_for(&target));
    let listed: Vec<&BackupFile> = manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with(&format!("{BLOB_DIR}/")))
        .collect();
    for (i, file) in listed.iter().enumerate() {
        let path = dir.join(&file.path);
        let bytes = std::fs::read(&path).map_err(|source| Error::Io {
            what: "cannot read",
            path: path.clone(),
            source,
        })?;
        let id = blobs.put(&bytes)?;
        if Some(id.as_str()) != file.path.rsplit('/').next() {
            return Err(Error::NotABackup {
                path: dir.to_owned(),
                reason: format!("{} does not hold the content its name says", file.path),
            });
        }
        progress(Progress::Blobs {
            done: i as u64 + 1,
            total: listed.len() as u64,
        });
    }
    lock.restore_from(&dir.join(DB_FILE), &mut |p: BackupProgress| {
        progress(Progress::Pages {
            done: p.pages_done,
            total: p.pages_total,
        })
    })?;
    Ok(Restored {
        store: target,
        manifest,
    })
}

/// Reads `dir`'s manifest and checks every file it lists; the manifest
/// when the backup is complete and intact.
pub fn verify(dir: &Path, progress: &mut dyn FnMut(Progress)) -> Result<Manifest> {
    let not_a_backup = |reason: String| Error::NotABackup {
        path: dir.to_owned(),
        reason,
    };
    if !dir.is_dir() {
        return Err(not_a_backup("it is not a folder".into()));
    }
    let text = match std::fs::read_to_string(dir.join(MANIFEST)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(not_a_backup(format!(
                "it has no {MANIFEST} (a backup that did not finish has none)"
            )));
        }
        Err(source) => {
            return Err(Error::Io {
                what: "cannot read",
                path: dir.join(MANIFEST),
                source,
            });
        }
    };
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| not_a_backup(format!("{MANIFEST} is not a backup manifest: {e}")))?;
    if manifest.format != FORMAT {
        return Err(not_a_backup(format!(
            "{MANIFEST} says format `{}`, not `{FORMAT}`",
            manifest.format
        )));
    }
    if manifest.format_version != FORMAT_VERSION {
        return Err(not_a_backup(format!(
            "{MANIFEST} has format version {}; this dossier reads version {FORMAT_VERSION}",
            manifest.format_version
        )));
    }
    let supported = dossier_store::supported_schema_version();
    if manifest.schema_version > supported {
        return Err(Error::SchemaTooNew {
            found: manifest.schema_version,
            supported,
        });
    }
    if !manifest.files.iter().any(|f| f.path == DB_FILE) {
        return Err(not_a_backup(format!("{MANIFEST} lists no {DB_FILE}")));
    }
    let total = manifest.files.len() as u64;
    for (i, file) in manifest.files.iter().enumerate() {
        let path = inside(dir, &file.path).ok_or_else(|| {
            not_a_backup(format!(
                "{MANIFEST} names `{}`, which is not a plain path inside the folder",
                file.path
            ))
        })?;
        let (size, sha256) = match hash_file(&path) {
            Ok(found) => found,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(not_a_backup(format!("{} is missing", file.path)));
            }
            Err(e) => return Err(e),
        };
        if size != file.size || sha256 != file.sha256 {
            return Err(not_a_backup(format!(
                "{} does not match the manifest (size {size}, expected {}; SHA-256 {sha256}, \
                 expected {}): it was changed or damaged",
                file.path, file.size, file.sha256
            )));
        }
        progress(Progress::Verified {
            done: i as u64 + 1,
            total,
        });
    }
    let found = dossier_store::file_schema_version(&dir.join(DB_FILE), dir)?;
    if found != manifest.schema_version {
        return Err(not_a_backup(format!(
            "{DB_FILE} has schema version {found}, the manifest says {}",
            manifest.schema_version
        )));
    }
    Ok(manifest)
}

/// The folder of a backup holding the blobs.
const BLOB_DIR: &str = "blobs";

/// Writes blob `id` into the backup folder, checking that its content is
/// what its id says, and returns its manifest entry.
fn write_blob(dir: &Path, id: &str, bytes: &[u8]) -> Result<BackupFile> {
    check_id(id)?;
    if blob_id(bytes) != id {
        return Err(Error::Corrupt(format!(
            "attachment {id}: its bytes no longer have the SHA-256 they were stored under"
        )));
    }
    let rel = format!("{BLOB_DIR}/{}/{id}", &id[..2]);
    let path = dir.join(&rel);
    if let Some(parent) = path.parent() {
        files::create_dir_all(parent)?;
    }
    let mut file = files::create(&path, files::Existing::Refuse)?;
    file.write_all(bytes).map_err(|source| Error::Io {
        what: "cannot write",
        path: path.clone(),
        source,
    })?;
    Ok(BackupFile {
        path: rel,
        size: bytes.len() as u64,
        sha256: id.to_owned(),
    })
}

/// `rel` joined to `dir` when it is a plain relative path (no `..`, no root).
fn inside(dir: &Path, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel);
    let plain =
        !rel.as_os_str().is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
    plain.then(|| dir.join(rel))
}

/// Creates `dir` (owner-only) if missing; refuses one that holds anything.
fn prepare_dir(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::Refused(format!(
                    "{} is not empty: a backup goes into a new or empty folder",
                    dir.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => files::create_dir_all(dir),
        Err(source) => Err(Error::Io {
            what: "cannot read directory",
            path: dir.to_owned(),
            source,
        }),
    }
}

/// The manifest entry of the file `rel` in `dir`.
fn describe(dir: &Path, rel: &str) -> Result<BackupFile> {
    let (size, sha256) = hash_file(&dir.join(rel))?;
    Ok(BackupFile {
        path: rel.to_owned(),
        size,
        sha256,
    })
}

/// Size and SHA-256 of a file, read in chunks.
pub(crate) fn hash_file(path: &Path) -> Result<(u64, String)> {
    let io = |source| Error::Io {
        what: "cannot read",
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex(&hasher.finalize())))
}

/// Writes the manifest last and atomically (a temporary file renamed), so
/// a folder has one only when everything it lists is there.
fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let tmp = dir.join(format!("{MANIFEST}.tmp"));
    let io = |what, source| Error::Io {
        what,
        path: tmp.clone(),
        source,
    };
    let json = serde_json::to_vec_pretty(manifest)
        .map_err(|e| Error::Refused(format!("internal error: manifest: {e}")))?;
    let mut file = files::create(&tmp, files::Existing::Replace)?;
    file.write_all(&json)
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| io("cannot write", e))?;
    std::fs::rename(&tmp, dir.join(MANIFEST)).map_err(|e| io("cannot rename", e))
}

/// `bytes` as lower-case hexadecimal (a manifest's SHA-256 sums).
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `path` with its folder resolved (symbolic links, `..`), the file name
/// kept: the file itself may not exist yet.
fn resolved(path: &Path) -> PathBuf {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let folder = parent.canonicalize().unwrap_or_else(|_| parent.to_owned());
    match path.file_name() {
        Some(name) => folder.join(name),
        None => folder,
    }
}

/// Whether `path` is the store at `db`, one of its side files, or inside
/// its attachments folder.
fn part_of_store(db: &Path, path: &Path) -> bool {
    let (db, path) = (resolved(db), resolved(path));
    let side = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let blobs = resolved(&folder_for(&db));
    path == db
        || ["-wal", "-shm", "-journal"].iter().any(|s| path == side(s))
        || path.starts_with(&blobs)
}

#[cfg(test)]
mod store_file_tests {
    use super::*;

    #[test]
    fn the_database_its_side_files_and_blobs_are_part_of_the_store() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("dossier.db");
        std::fs::write(&db, b"").expect("db");
        std::fs::create_dir_all(dir.path().join("dossier.blobs/ab")).expect("blobs");
        for part in [
            "dossier.db",
            "dossier.db-wal",
            "dossier.db-shm",
            "dossier.blobs/ab/abcd",
        ] {
            assert!(part_of_store(&db, &dir.path().join(part)), "{part}");
        }
        let sneaky = dir.path().join("dossier.blobs/../dossier.db");
        assert!(part_of_store(&db, &sneaky), "a path through ..");
        for other in ["export.csv", "dossier.db.csv", "dossier.blobs.csv"] {
            assert!(!part_of_store(&db, &dir.path().join(other)), "{other}");
        }
    }
}

//! `dossier backup`, `dossier restore`, `dossier gc`: the operator's tools
//! on a whole store (`crate::ops` does the work).

use std::path::{Path, PathBuf};

use clap::Args;

use super::Out;
use super::progress::Bar;
use dossier_host::Host;
use dossier_host::config::Config;
use dossier_host::{Error, Result};
use dossier_host::{Manifest, Progress};

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// The folder to write the backup into: new, or empty.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// A folder written by `dossier backup`.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// Reports a backup's or restore's progress on a bar (a terminal only).
fn on_progress(bar: &Bar) -> impl FnMut(Progress) + '_ {
    move |p| match p {
        Progress::Pages { done, total } => bar.step("copying pages", done, total),
        Progress::Blobs { done, total } => bar.step("copying blobs", done, total),
        Progress::Verified { done, total } => bar.step("checking files", done, total),
    }
}

fn total_bytes(manifest: &Manifest) -> u64 {
    manifest.files.iter().map(|f| f.size).sum()
}

/// Entry point of `dossier backup DIR`.
pub(crate) fn backup(host: &Host, args: BackupArgs, out: &Out) -> Result<()> {
    let bar = Bar::new();
    let manifest = host.backup(&args.dir, &mut on_progress(&bar))?;
    bar.finish();
    if out.json() {
        return out.one(&manifest, |_| String::new());
    }
    out.say(format!(
        "backed up {} to {}: the database and {} attachment(s), {} bytes, schema version {}",
        host.config().store_path().display(),
        args.dir.display(),
        manifest.files.len() - 1,
        total_bytes(&manifest),
        manifest.schema_version
    ))?;
    if !manifest.missing_blobs.is_empty() {
        out.say(format!(
            "warning: {} attachment(s) the records reference were already missing from the \
             store and are not in the backup: {}",
            manifest.missing_blobs.len(),
            manifest.missing_blobs.join(", ")
        ))?;
    }
    Ok(())
}

/// Entry point of `dossier gc`.
pub(crate) fn gc(host: &Host, out: &Out) -> Result<()> {
    let collected = host.gc()?;
    if out.json() {
        return out.one(&collected, |_| String::new());
    }
    out.say(format!(
        "removed {} unreferenced attachment(s); kept {} referenced and {} written in the last hour",
        collected.removed, collected.referenced, collected.recent
    ))
}

/// Entry point of `dossier restore DIR`: reads the config only, since no
/// host may be open on the store it overwrites.
pub(crate) fn restore(
    config: &Path,
    args: RestoreArgs,
    out: &Out,
    as_agent: Option<&str>,
) -> Result<()> {
    if !config.exists() {
        return Err(Error::Refused(format!(
            "no config file at {}: restore needs the config naming the store to overwrite \
             (pass --config PATH, or set {})",
            config.display(),
            super::CONFIG_ENV
        )));
    }
    // Only an admin overwrites a store (data written since the backup is
    // lost); a store that is gone has nobody to ask, and anyone who can
    // run this on the machine may bring it back.
    if Config::load(config)?.store_path().exists() {
        let host = super::open_as(config, as_agent)?;
        host.require_admin("restore the store")?;
        // Closed before the restore, which refuses a store anything has open.
        drop(host);
    }
    let config = Config::load(config)?;
    let bar = Bar::new();
    let restored = dossier_host::restore(&config, &args.dir, &mut on_progress(&bar))?;
    bar.finish();
    if out.json() {
        return out.one(&restored, |_| String::new());
    }
    out.say(format!(
        "restored {} from {} (taken {}, schema version {})",
        restored.store.display(),
        args.dir.display(),
        dossier_host::time::show(restored.manifest.created_at, &config.time.time_zone()),
        restored.manifest.schema_version
    ))
}

//! `dossier init`: a commented config and an empty database.

use std::path::Path;

use clap::Args;

use super::Out;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::host::Host;

/// The config `init` writes: every section commented, with example custom fields.
pub(crate) const TEMPLATE: &str = include_str!("dossier.toml");

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Overwrite an existing config file.
    #[arg(long)]
    force: bool,
}

pub(crate) fn run(path: &Path, args: InitArgs, out: &Out) -> Result<()> {
    if path.exists() && !args.force {
        return Err(Error::Refused(format!(
            "{} already exists: pass --force to overwrite it",
            path.display()
        )));
    }
    // Check the template parses before writing it, so init never leaves a broken file.
    let config = Config::parse(TEMPLATE, path)?;
    std::fs::write(path, TEMPLATE).map_err(|source| Error::Io {
        what: "cannot write",
        path: path.to_owned(),
        source,
    })?;
    let scripts = config.resolve(&config.scripts.dir);
    std::fs::create_dir_all(&scripts).map_err(|source| Error::Io {
        what: "cannot create directory",
        path: scripts.clone(),
        source,
    })?;
    let db = config.store_path();
    Host::open(config)?;
    let summary = serde_json::json!({
        "config": path.display().to_string(),
        "database": db.display().to_string(),
        "scripts": scripts.display().to_string(),
    });
    out.one(&summary, |_| {
        format!(
            "wrote {}\ncreated database {}\nscripts go in {}/\n",
            path.display(),
            db.display(),
            scripts.display()
        )
    })?;
    Ok(())
}

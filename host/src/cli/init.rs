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
    /// The login of the store's first admin [default: $DOSSIER_AGENT, then $USER].
    #[arg(long, value_name = "LOGIN")]
    admin: Option<String>,
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
    let host = Host::open(config)?;
    let login = args.admin.unwrap_or_else(super::default_login);
    let admin = host.first_admin(&login)?;
    let summary = serde_json::json!({
        "config": path.display().to_string(),
        "database": db.display().to_string(),
        "scripts": scripts.display().to_string(),
        "admin": admin.as_ref().map(|a| a.login.clone()),
    });
    out.one(&summary, |_| {
        let admin = match &admin {
            Some(a) => format!(
                "first admin: {} (add agents with `dossier agent add`)\n",
                a.login
            ),
            None => "the store already has agents\n".to_owned(),
        };
        format!(
            "wrote {}\ncreated database {}\nscripts go in {}/\n{admin}",
            path.display(),
            db.display(),
            scripts.display()
        )
    })?;
    Ok(())
}

//! `plugin list` and `plugin inspect`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use dossier_sdk::EventKind;

use super::Out;
use dossier_host::config::Config;
use dossier_host::plugins::{self as plugin, ConfiguredPlugin, HashStatus, PluginInfo};
use dossier_host::{Error, Result};

/// `dossier plugin ...`
#[derive(Debug, Subcommand)]
pub(crate) enum PluginCmd {
    /// List the configured plugins: name, version, path, events and whether
    /// the library's hash is allowed. Exits non-zero if any would be refused.
    List,
    /// Load a plugin library and show its handshake and SHA-256, without
    /// enabling it (loading runs the library's code: inspect only files you trust).
    Inspect {
        /// The shared library (`libname.so`, `.dylib`, `.dll`).
        path: PathBuf,
    },
}

/// Entry point of `dossier plugin`.
pub(crate) fn run(config: &Path, cmd: PluginCmd, out: &Out) -> Result<()> {
    match cmd {
        PluginCmd::List => list(config, out),
        PluginCmd::Inspect { path } => {
            let info = plugin::inspect(&path)?;
            out.one(&info, human_info)?;
            Ok(())
        }
    }
}

fn list(config_path: &Path, out: &Out) -> Result<()> {
    if !config_path.exists() {
        return Err(Error::Refused(format!(
            "no config file at {}: run `dossier init` first, or pass --config PATH",
            config_path.display()
        )));
    }
    let config = Config::load(config_path)?;
    let rows = plugin::list(&config);
    out.many(&rows, human_row, "no plugins configured")?;
    let refused = rows.iter().filter(|r| r.error.is_some()).count();
    if refused > 0 {
        return Err(Error::Refused(format!(
            "{refused} of {} configured plugins would be refused; the host will not open until they are fixed",
            rows.len()
        )));
    }
    Ok(())
}

fn events(events: &[EventKind]) -> String {
    let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    names.join(", ")
}

fn hash_line(hash: &HashStatus) -> String {
    match hash {
        HashStatus::Verified { sha256 } => format!("verified {sha256}"),
        HashStatus::Trusted { sha256 } => format!("not checked (trust = true), is {sha256}"),
        HashStatus::Mismatch { expected, actual } => {
            format!("MISMATCH: expected {expected}, actual {actual}")
        }
        HashStatus::Missing { sha256 } => format!("MISSING from config, is {sha256}"),
    }
}

fn human_row(row: &ConfiguredPlugin) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = match &row.info {
        Some(info) => writeln!(s, "{} {}", info.name, info.version),
        None => writeln!(s, "(not loaded)"),
    };
    let _ = writeln!(s, "  path:   {}", row.path.display());
    if let Some(info) = &row.info {
        let _ = writeln!(s, "  events: {}", events(&info.events));
    }
    if let Some(hash) = &row.hash {
        let _ = writeln!(s, "  sha256: {}", hash_line(hash));
    }
    if let Some(error) = &row.error {
        let _ = writeln!(s, "  error:  {error}");
    }
    s
}

fn human_info(info: &PluginInfo) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "name:        {}", info.name);
    let _ = writeln!(s, "version:     {}", info.version);
    let _ = writeln!(
        s,
        "built with:  dossier-sdk {} (plugin ABI {})",
        info.sdk_version, info.abi_version
    );
    let _ = writeln!(s, "events:      {}", events(&info.events));
    let _ = writeln!(
        s,
        "thread-safe: {}",
        if info.thread_safe {
            "yes"
        } else {
            "no (calls are serialized)"
        }
    );
    let _ = writeln!(s, "path:        {}", info.path.display());
    let _ = writeln!(s, "sha256:      {}", info.sha256);
    let _ = writeln!(s, "\nTo enable it, add to dossier.toml:\n");
    let _ = writeln!(s, "[[plugins]]");
    let _ = writeln!(s, "path = {:?}", info.path.display().to_string());
    let _ = writeln!(s, "sha256 = \"{}\"", info.sha256);
    let _ = writeln!(s, "[plugins.config]");
    s
}

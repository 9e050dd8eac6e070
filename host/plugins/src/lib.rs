//! Native plugins: shared libraries built with `dossier-sdk` and loaded at
//! run time.
//!
//! For each `[[plugins]]` entry of the config, in order, [`load`]:
//!
//! 1. resolves the path against the config file's directory;
//! 2. hashes the file and refuses it unless the entry's `sha256` matches
//!    (or, with no `sha256`, unless the entry says `trust = true`);
//! 3. loads it and checks the table header (ABI version and size) before
//!    reading anything else, then the handshake (SDK version);
//! 4. creates an instance with the entry's `config` table and a table of
//!    callbacks into the host.
//!
//! Each instance is a pipeline [`Handler`](crate::Handler) that runs after
//! the scripts, in config order. Events cross as JSON; a panic, an error or
//! an unreadable answer from the plugin becomes [`Error::Plugin`] naming it,
//! which for guarding events rolls back the guarded write. Plugins that do
//! not declare themselves thread-safe are called one thread at a time.
//!
//! Loading is refused with a message that names the file and what to do
//! (fix the hash, rebuild against this SDK): the host does not open with a
//! plugin it cannot trust or talk to.

#![warn(missing_docs)]

mod callbacks;
mod hash;
mod library;
mod native;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dossier_sdk::EventKind;
use dossier_sdk::abi::LogLevel;
use serde::Serialize;

use dossier_core::config::{Config, PluginConfig};
use dossier_types::{Error, Result};
pub use hash::hex;
pub use hash::{HashStatus, file_sha256};
use library::{PluginLibrary, refuse};
pub use native::NativePlugin;

/// What a plugin library says about itself in its handshake, and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginInfo {
    /// The library file, as loaded.
    pub path: PathBuf,
    /// The file's SHA-256, lower-case hex.
    pub sha256: String,
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// The dossier-sdk version it was built with.
    pub sdk_version: String,
    /// The plugin ABI version it speaks.
    pub abi_version: u32,
    /// The events it can handle.
    pub events: Vec<EventKind>,
    /// Whether it may be called from several threads at once.
    pub thread_safe: bool,
}

impl PluginInfo {
    fn new(library: &PluginLibrary, sha256: String) -> PluginInfo {
        let hs = library.handshake();
        PluginInfo {
            path: library.path().to_owned(),
            sha256,
            name: hs.name.clone(),
            version: hs.version.clone(),
            sdk_version: hs.sdk_version.clone(),
            abi_version: hs.abi_version,
            events: hs.events.clone(),
            thread_safe: hs.thread_safe,
        }
    }
}

/// Loads the library at `path` and returns its handshake, without checking
/// any hash and without creating an instance: what an admin runs before
/// adding a plugin to the config.
///
/// Loading a library runs its initialization code: inspect only files you
/// would be prepared to run.
pub fn inspect(path: &Path) -> Result<PluginInfo> {
    let path = locate(path)?;
    let sha256 = file_sha256(&path)?;
    let library = PluginLibrary::open(&path)?;
    Ok(PluginInfo::new(&library, sha256))
}

/// One `[[plugins]]` entry, as `dossier plugin list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfiguredPlugin {
    /// The path as resolved against the config file.
    pub path: PathBuf,
    /// How the file's hash compares with the entry; `None` if the file
    /// could not be read.
    pub hash: Option<HashStatus>,
    /// The handshake, when the hash allowed loading and loading worked.
    pub info: Option<PluginInfo>,
    /// Why the entry would be refused, if it would.
    pub error: Option<String>,
}

/// Checks every configured plugin the way [`load`] does, up to the
/// handshake, without creating instances. Never fails: problems are reported
/// per entry.
pub fn list(config: &Config) -> Vec<ConfiguredPlugin> {
    config
        .plugins
        .iter()
        .map(|entry| {
            let path = config.resolve(&entry.path);
            let mut row = ConfiguredPlugin {
                path: path.clone(),
                hash: None,
                info: None,
                error: None,
            };
            match check_entry(&path, entry) {
                Ok((library, hash)) => {
                    row.info = Some(PluginInfo::new(&library, hash_of(&hash)));
                    row.hash = Some(hash);
                }
                Err((hash, e)) => {
                    row.hash = hash;
                    row.error = Some(e.to_string());
                }
            }
            row
        })
        .collect()
}

fn hash_of(status: &HashStatus) -> String {
    match status {
        HashStatus::Verified { sha256 }
        | HashStatus::Trusted { sha256 }
        | HashStatus::Missing { sha256 } => sha256.clone(),
        HashStatus::Mismatch { actual, .. } => actual.clone(),
    }
}

/// Resolves the library file: it must exist. Canonical, so that `dlopen`
/// never searches the library path for a bare file name.
fn locate(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| {
        refuse(
            path,
            format!("cannot be found ({e}); check the `path` of its [[plugins]] entry"),
        )
    })
}

type Refusal = (Option<HashStatus>, Error);

/// Locates, hash-checks and opens the library of one entry.
fn check_entry(path: &Path, entry: &PluginConfig) -> Result<(PluginLibrary, HashStatus), Refusal> {
    let path = locate(path).map_err(|e| (None, e))?;
    let hash =
        HashStatus::check(&path, entry.sha256.as_deref(), entry.trust).map_err(|e| (None, e))?;
    if let Some(refusal) = hash.refusal() {
        return Err((Some(hash), refuse(&path, refusal)));
    }
    match PluginLibrary::open(&path) {
        Ok(library) => Ok((library, hash)),
        Err(e) => Err((Some(hash), e)),
    }
}

/// Loads and creates every plugin configured in `config`, in config order.
/// The first refusal stops loading; plugins already created are destroyed.
pub fn load(config: &Config) -> Result<Vec<Arc<NativePlugin>>> {
    let mut plugins = Vec::with_capacity(config.plugins.len());
    for entry in &config.plugins {
        let path = config.resolve(&entry.path);
        let (library, _hash) = check_entry(&path, entry).map_err(|(_, e)| e)?;
        plugins.push(Arc::new(NativePlugin::create(
            Arc::new(library),
            &entry.config,
        )?));
    }
    Ok(plugins)
}

/// Where plugin log lines go: a `tracing` event (target
/// `dossier_host::plugin`) at the plugin's level, naming the plugin in the
/// field `plugin`. Whoever installed the subscriber decides what shows; the
/// `dossier` binary prints `info` and above unless `DOSSIER_LOG` says otherwise.
pub fn log(plugin: &str, level: LogLevel, message: &str) {
    match level {
        LogLevel::Error => tracing::error!(target: LOG_TARGET, plugin, "{message}"),
        LogLevel::Warn => tracing::warn!(target: LOG_TARGET, plugin, "{message}"),
        LogLevel::Info => tracing::info!(target: LOG_TARGET, plugin, "{message}"),
        LogLevel::Debug => tracing::debug!(target: LOG_TARGET, plugin, "{message}"),
    }
}

/// The `tracing` target of plugin log lines: the facade's name, which
/// `DOSSIER_LOG` filters and the docs give, whichever crate emits them.
const LOG_TARGET: &str = "dossier_host::plugin";

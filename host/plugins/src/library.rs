//! Opening a plugin library: the entry symbol, the table header, the
//! handshake. Nothing here creates an instance.

use std::path::{Path, PathBuf};

use dossier_sdk::SDK_VERSION;
use dossier_sdk::abi::{
    ABI_VERSION, Buffer, ENTRY_SYMBOL, EntryFn, Handshake, PluginTable, TableHeader,
    check_sdk_version, status,
};

use dossier_types::{Error, Result};

/// A loaded plugin library whose handshake passed.
///
/// Keeps the `libloading::Library` open; instances hold this in an `Arc` so
/// the code they run stays mapped until the last one is destroyed.
pub struct PluginLibrary {
    path: PathBuf,
    table: PluginTable,
    handshake: Handshake,
    /// Declared last so it is dropped last.
    _library: libloading::Library,
}

impl std::fmt::Debug for PluginLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginLibrary")
            .field("path", &self.path)
            .field("handshake", &self.handshake)
            .finish_non_exhaustive()
    }
}

/// An error about the library at `path`.
pub fn refuse(path: &Path, message: impl Into<String>) -> Error {
    Error::Plugin {
        plugin: path.display().to_string(),
        message: message.into(),
    }
}

/// libloading's error with the loader's own reason: its `Display` says only
/// `dlopen failed`, the system's text (`cannot open shared object file`,
/// `invalid ELF header`, an undefined symbol) is its source.
fn loader_reason(error: &libloading::Error) -> String {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !reason.contains(&text) {
            reason.push_str(": ");
            reason.push_str(&text);
        }
        source = cause.source();
    }
    reason
}

/// What to tell whoever must rebuild an incompatible plugin.
fn rebuild_hint() -> String {
    format!("rebuild the plugin against dossier-sdk {SDK_VERSION} (plugin ABI {ABI_VERSION})")
}

impl PluginLibrary {
    /// Loads the library at `path` and checks its ABI and SDK versions.
    ///
    /// Loading runs the library's initializers: callers check the file's
    /// hash first.
    pub fn open(path: &Path) -> Result<PluginLibrary> {
        // SAFETY: loading a library runs its initializers. Only libraries the
        // admin configured and whose hash the config allows (or that the admin
        // asked to inspect) get here.
        let library = unsafe { libloading::Library::new(path.as_os_str()) }
            .map_err(|e| refuse(path, format!("cannot be loaded: {}", loader_reason(&e))))?;
        // SAFETY: the symbol, if present, has the type the ABI defines.
        let entry: EntryFn = match unsafe { library.get::<EntryFn>(ENTRY_SYMBOL) } {
            Ok(symbol) => *symbol,
            Err(_) => {
                return Err(refuse(
                    path,
                    format!(
                        "is not a Dossier plugin: it exports no `{ENTRY_SYMBOL}` symbol; \
                         build it as a cdylib that calls dossier_sdk::declare_plugin!"
                    ),
                ));
            }
        };
        // SAFETY: the entry point of the ABI takes nothing and returns a pointer
        // to a static table; `library` stays loaded while we use it.
        let ptr = unsafe { entry() };
        if ptr.is_null() {
            return Err(refuse(path, "returned no plugin table"));
        }
        // SAFETY: every ABI version starts its table with this header.
        let header = unsafe { *ptr.cast::<TableHeader>() };
        header
            .check::<PluginTable>("its plugin table")
            .map_err(|m| refuse(path, format!("is incompatible: {m}; {}", rebuild_hint())))?;
        // SAFETY: the header says the table has this ABI's layout and size.
        let table = unsafe { *ptr };

        let mut out = Buffer::EMPTY;
        // SAFETY: the table's functions are valid while `library` is loaded.
        let code = unsafe { (table.handshake)(&mut out) };
        let decoded = {
            // SAFETY: the plugin filled `out`; not freed yet.
            let bytes = unsafe { out.as_slice() };
            if code == status::OK {
                serde_json::from_slice::<Handshake>(bytes).map_err(|e| e.to_string())
            } else {
                Err(String::from_utf8_lossy(bytes).into_owned())
            }
        };
        // SAFETY: the plugin allocated `out`; its own function frees it.
        unsafe { (table.free_buffer)(out) };
        let handshake = decoded.map_err(|m| {
            refuse(
                path,
                format!("gave an unreadable handshake ({m}); {}", rebuild_hint()),
            )
        })?;
        if handshake.abi_version != ABI_VERSION {
            return Err(refuse(
                path,
                format!(
                    "is incompatible: its handshake says plugin ABI version {}, this host speaks {ABI_VERSION}; {}",
                    handshake.abi_version,
                    rebuild_hint()
                ),
            ));
        }
        check_sdk_version(&handshake.sdk_version)
            .map_err(|m| refuse(path, format!("(plugin `{}`) {m}", handshake.name)))?;
        Ok(PluginLibrary {
            path: path.to_owned(),
            table,
            handshake,
            _library: library,
        })
    }

    /// The library file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The plugin's function table.
    pub fn table(&self) -> &PluginTable {
        &self.table
    }

    /// What the plugin said about itself.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }
}

//! A shared library that is not a Dossier plugin: it exports no
//! `dossier_plugin_entry`. The host must refuse it by name.

/// Something a library might export.
#[unsafe(no_mangle)]
pub extern "C" fn not_a_dossier_plugin() -> i32 {
    42
}

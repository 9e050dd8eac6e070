//! A library built for another plugin ABI version: its table header says
//! `ABI_VERSION + 1`. The host must refuse it before calling anything in it;
//! every function here panics to prove none is called.

use std::ffi::c_void;

use dossier_sdk::abi::{ABI_VERSION, Buffer, HostTable, PluginTable, TableHeader};

unsafe extern "C" fn handshake(_: *mut Buffer) -> i32 {
    std::process::abort()
}
unsafe extern "C" fn create(
    _: *const u8,
    _: usize,
    _: *const HostTable,
    _: *mut *mut c_void,
    _: *mut Buffer,
) -> i32 {
    std::process::abort()
}
unsafe extern "C" fn handle(_: *const c_void, _: *const u8, _: usize, _: *mut Buffer) -> i32 {
    std::process::abort()
}
unsafe extern "C" fn destroy(_: *mut c_void) {
    std::process::abort()
}
unsafe extern "C" fn free_buffer(_: Buffer) {
    std::process::abort()
}

static TABLE: PluginTable = PluginTable {
    header: TableHeader {
        size: size_of::<PluginTable>(),
        abi_version: ABI_VERSION + 1,
    },
    handshake,
    create,
    handle,
    destroy,
    free_buffer,
};

/// The entry point, with the wrong ABI version in its table.
#[unsafe(no_mangle)]
pub extern "C" fn dossier_plugin_entry() -> *const PluginTable {
    &TABLE
}

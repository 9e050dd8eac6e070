//! A library built for the plugin ABI before this one: its table header says
//! `ABI_VERSION - 1` (ABI 2 sent the whole event back in its replies, which
//! ABI 3 replaced with patches). The table's layout did not change between
//! the two, so only the version tells them apart: the host must refuse it
//! before calling anything in it, and every function here aborts to prove
//! none is called.

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
        abi_version: ABI_VERSION - 1,
    },
    handshake,
    create,
    handle,
    destroy,
    free_buffer,
};

/// The entry point, with the previous ABI version in its table.
#[unsafe(no_mangle)]
pub extern "C" fn dossier_plugin_entry() -> *const PluginTable {
    &TABLE
}

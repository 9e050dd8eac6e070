//! A library that speaks the current plugin ABI but reports being built with
//! dossier-sdk 0.0.1, an incompatible SDK. The host must refuse it after the
//! handshake and before creating anything; every other function aborts to
//! prove it is not called.

use std::ffi::c_void;

use dossier_sdk::abi::{Buffer, Handshake, HostTable, PluginTable, TableHeader, status};

unsafe extern "C" fn handshake(out: *mut Buffer) -> i32 {
    let handshake = Handshake {
        abi_version: dossier_sdk::abi::ABI_VERSION,
        sdk_version: "0.0.1".into(),
        name: "old-sdk".into(),
        version: "0.0.1".into(),
        events: vec![dossier_sdk::EventKind::BeforeSave],
        thread_safe: false,
    };
    let bytes = serde_json::to_vec(&handshake).unwrap_or_default();
    // SAFETY: the host passes a writable slot.
    unsafe { out.write(Buffer::from_vec(bytes)) };
    status::OK
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
unsafe extern "C" fn free_buffer(buffer: Buffer) {
    // SAFETY: only the handshake buffer, made here, comes back.
    unsafe { buffer.free() }
}

static TABLE: PluginTable = PluginTable {
    header: TableHeader::of::<PluginTable>(),
    handshake,
    create,
    handle,
    destroy,
    free_buffer,
};

/// The entry point.
#[unsafe(no_mangle)]
pub extern "C" fn dossier_plugin_entry() -> *const PluginTable {
    &TABLE
}

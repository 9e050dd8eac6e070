//! A plugin whose handshake is valid but whose answers are not: what it gets
//! wrong is chosen by `mode` in its config.
//!
//! - `bytes`: `handle` answers OK with bytes that are not JSON;
//! - `status`: `handle` answers an unknown status code;
//! - `wrong_kind`: `handle` answers a patch for another kind of event;
//! - `wrong_record`: a patch for a case on a customer's `before_save`;
//! - `bad_value`: a patch setting a customer's `name` to a number;
//! - `unknown_field`: a patch setting a field customers do not have;
//! - `old_reply`: the reply of ABI 2, which carried the whole event back;
//! - `created`: `create` answers OK with a document that is not `Created`.
//!
//! The patches other than `wrong_kind` are written as JSON by hand, as a
//! plugin not built with the SDK could.
//!
//! The table is written by hand (not with `declare_plugin!`) to be able to
//! misbehave.

use std::ffi::c_void;

use dossier_sdk::abi::patch::{ChatEventPatch, EventPatch};
use dossier_sdk::abi::{
    Buffer, Created, Handshake, HostTable, PluginTable, Reply, TableHeader, status,
};
use dossier_sdk::{EventKind, Outcome};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Bytes,
    Status,
    WrongKind,
    /// A reply written by hand, as JSON.
    Json(&'static str),
}

/// The reply around a patch of a `before_save` event's record.
macro_rules! record_patch {
    ($record:literal) => {
        concat!(
            r#"{"outcome":{"outcome":"continue"},"patch":{"event":"before_save","data":{"record":"#,
            $record,
            "}}}"
        )
    };
}

/// # Safety
/// `out` must be writable.
unsafe fn answer(out: *mut Buffer, code: i32, bytes: Vec<u8>) -> i32 {
    // SAFETY: per the contract.
    unsafe { out.write(Buffer::from_vec(bytes)) };
    code
}

unsafe extern "C" fn handshake(out: *mut Buffer) -> i32 {
    let handshake = Handshake {
        abi_version: dossier_sdk::abi::ABI_VERSION,
        sdk_version: dossier_sdk::SDK_VERSION.into(),
        name: "garbage".into(),
        version: "0.1.0".into(),
        events: EventKind::ALL.to_vec(),
        thread_safe: false,
    };
    let bytes = serde_json::to_vec(&handshake).unwrap_or_default();
    // SAFETY: the host passes a writable slot.
    unsafe { answer(out, status::OK, bytes) }
}

unsafe extern "C" fn create(
    config: *const u8,
    len: usize,
    _: *const HostTable,
    instance: *mut *mut c_void,
    out: *mut Buffer,
) -> i32 {
    // SAFETY: the host lends the config bytes for the call.
    let config = unsafe { std::slice::from_raw_parts(config, len) };
    let config: serde_json::Value = serde_json::from_slice(config).unwrap_or_default();
    let mode = match config.get("mode").and_then(|m| m.as_str()) {
        Some("bytes") => Mode::Bytes,
        Some("status") => Mode::Status,
        Some("wrong_kind") => Mode::WrongKind,
        Some("wrong_record") => Mode::Json(record_patch!(
            r#"{"object":"case","record":{"subject":"x"}}"#
        )),
        Some("bad_value") => Mode::Json(record_patch!(
            r#"{"object":"customer","record":{"name":5}}"#
        )),
        Some("unknown_field") => Mode::Json(record_patch!(
            r#"{"object":"customer","record":{"nickname":"Ada"}}"#
        )),
        Some("old_reply") => Mode::Json(
            r#"{"outcome":{"outcome":"continue"},"event":{"event":"before_save","data":{"op":"create","record":{"object":"customer","record":{"id":1,"account":"AC-1","name":"Eve","created_at":"2026-11-23T09:00:00Z","updated_at":"2026-11-23T09:00:00Z"}}}}}"#,
        ),
        // SAFETY: the host passes a writable slot.
        Some("created") => return unsafe { answer(out, status::OK, b"[1, 2".to_vec()) },
        _ => return unsafe { answer(out, status::ERROR, b"unknown mode".to_vec()) },
    };
    let created = Created {
        events: EventKind::ALL.to_vec(),
    };
    // SAFETY: the host passes a writable instance slot.
    unsafe { instance.write(Box::into_raw(Box::new(mode)).cast()) };
    let bytes = serde_json::to_vec(&created).unwrap_or_default();
    // SAFETY: the host passes a writable slot.
    unsafe { answer(out, status::OK, bytes) }
}

unsafe extern "C" fn handle(
    instance: *const c_void,
    _: *const u8,
    _: usize,
    out: *mut Buffer,
) -> i32 {
    // SAFETY: made by `create`.
    let mode = unsafe { *instance.cast::<Mode>() };
    let (code, bytes) = match mode {
        Mode::Bytes => (status::OK, b"\x00\xffnot json at all".to_vec()),
        Mode::Status => (42, b"what is status 42?".to_vec()),
        Mode::WrongKind => {
            let reply = Reply {
                outcome: Outcome::Continue,
                patch: Some(EventPatch::ChatEnded(Box::new(ChatEventPatch {
                    transcript: Some(Some("hello".into())),
                    ..ChatEventPatch::default()
                }))),
            };
            (status::OK, serde_json::to_vec(&reply).unwrap_or_default())
        }
        Mode::Json(reply) => (status::OK, reply.as_bytes().to_vec()),
    };
    // SAFETY: the host passes a writable slot.
    unsafe { answer(out, code, bytes) }
}

unsafe extern "C" fn destroy(instance: *mut c_void) {
    // SAFETY: made by `create`, destroyed once.
    drop(unsafe { Box::from_raw(instance.cast::<Mode>()) });
}

unsafe extern "C" fn free_buffer(buffer: Buffer) {
    // SAFETY: the host only returns buffers made here.
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

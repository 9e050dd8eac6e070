//! The C boundary between the host and a native plugin.
//!
//! Rust has no stable ABI, so the host and a plugin, possibly built by
//! different compilers, only share what is written here: `#[repr(C)]` tables
//! of `extern "C"` function pointers, integers, and byte buffers holding
//! serde_json documents.
//!
//! Plugin authors never touch this module: [`declare_plugin!`] writes the
//! plugin's side of it. The host uses it to load plugins.
//!
//! # The protocol
//!
//! 1. The library exports one symbol, [`ENTRY_SYMBOL`], an [`EntryFn`]
//!    returning a pointer to a static [`PluginTable`].
//! 2. The host reads the table's [`TableHeader`] first and refuses the
//!    library unless `abi_version` is [`ABI_VERSION`] and `size` covers the
//!    table it expects. Only then does it read the rest.
//! 3. The host calls [`PluginTable::handshake`], which fills a [`Handshake`]:
//!    SDK version, plugin name and version, events handled, thread safety.
//!    The host checks the SDK version with [`check_sdk_version`].
//! 4. The host calls [`PluginTable::create`] with the plugin's config (JSON)
//!    and a [`HostTable`] of callbacks; it gets back an opaque instance and a
//!    [`Created`] document.
//! 5. For each event, [`PluginTable::handle`] takes the [`Event`](crate::events::Event) as JSON
//!    (a [`Delivered`] document: the event's `event` and `data`, after an
//!    `actor` member naming who caused it) and answers a [`Reply`]: the
//!    outcome and, when the handler changed the event, a
//!    [`patch::EventPatch`] of what it changed (since ABI 3; ABI 2 sent the
//!    whole event back).
//! 6. [`PluginTable::destroy`] drops the instance; only after that may the
//!    host unload the library.
//!
//! # Memory
//!
//! Whoever allocates frees. A [`Buffer`] filled by the plugin is released
//! with the plugin's [`PluginTable::free_buffer`]; one filled by the host with
//! the host's [`HostTable::free_buffer`]. Input bytes (`*const u8` and a
//! length) are borrowed for the duration of the call only.
//!
//! # Panics
//!
//! Every `extern "C"` function on either side catches panics
//! (`catch_unwind`) and reports them as [`status::PANIC`]: unwinding through
//! `extern "C"` aborts the process.
//!
//! [`declare_plugin!`]: crate::declare_plugin

use std::any::Any;
use std::ffi::c_void;

use serde::{Deserialize, Serialize};

use crate::events::{EventKind, Outcome};

pub mod patch;

/// The version of this ABI. A host and a plugin must agree on it exactly.
///
/// It changes whenever a table's layout or a document's shape does. 3: a
/// [`Reply`] carries a [`patch::EventPatch`] of what the handler changed
/// instead of the whole event. 2: the `follow_ups` and `cases` callbacks.
pub const ABI_VERSION: u32 = 3;

/// The name of the symbol every plugin library exports.
pub const ENTRY_SYMBOL: &str = "dossier_plugin_entry";

/// The type of [`ENTRY_SYMBOL`]: returns the plugin's static table.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginTable;

/// What every table starts with, so that either side can check the other
/// before reading anything else.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableHeader {
    /// `size_of` the whole table, as the side that built it knows it.
    pub size: usize,
    /// The [`ABI_VERSION`] of the side that built it.
    pub abi_version: u32,
}

impl TableHeader {
    /// The header of a table of type `T` built by this side.
    pub const fn of<T>() -> TableHeader {
        TableHeader {
            size: size_of::<T>(),
            abi_version: ABI_VERSION,
        }
    }

    /// Checks that a table with this header can be read as a `T` of this ABI.
    pub fn check<T>(&self, what: &str) -> Result<(), String> {
        if self.abi_version != ABI_VERSION {
            return Err(format!(
                "{what} speaks plugin ABI version {}, but this build speaks version {ABI_VERSION}",
                self.abi_version
            ));
        }
        if self.size < size_of::<T>() {
            return Err(format!(
                "{what} is {} bytes, ABI version {ABI_VERSION} needs at least {}",
                self.size,
                size_of::<T>()
            ));
        }
        Ok(())
    }
}

/// The document the host hands [`PluginTable::handle`]: `actor` first,
/// then the [`Event`](crate::events::Event) as it serializes
/// (`{"actor":"grace","event":"after_save","data":{...}}`).
///
/// `actor` is who caused the event: an agent's login, or `system` for work
/// no agent started (reminder passes, inbound mail, outbox deliveries of
/// system writes). It was added within ABI 3, as a member older plugins
/// ignore: their glue reads the document as an `Event`, whose JSON form
/// ignores members it does not know. A plugin reads it with
/// [`HostApi::actor`](crate::plugin::HostApi::actor); from a host that does
/// not send it, that is `None`.
#[derive(Debug, Serialize)]
pub struct Delivered<'a> {
    /// Who caused the event.
    pub actor: &'a str,
    /// The event, its `event` and `data` members beside `actor`.
    #[serde(flatten)]
    pub event: &'a crate::events::Event,
}

/// The `actor` a host wrote first in an event document ([`Delivered`]), or
/// `None` when the document does not start with it.
pub fn actor_of(document: &[u8]) -> Option<String> {
    let rest = document.strip_prefix(br#"{"actor":"#)?;
    let mut reader = serde_json::Deserializer::from_slice(rest);
    String::deserialize(&mut reader).ok()
}

/// Result codes of the functions in the tables.
pub mod status {
    /// The call succeeded; the output buffer holds the answer.
    pub const OK: i32 = 0;
    /// The call failed; the output buffer holds a UTF-8 message.
    pub const ERROR: i32 = 1;
    /// The callee panicked; the output buffer holds the panic message.
    pub const PANIC: i32 = 2;
    /// (Host callbacks only) the host cannot serve callbacks now: the
    /// caller is not inside an event handler on the handling thread.
    pub const UNAVAILABLE: i32 = 3;
}

/// Bytes owned by the side that allocated them.
///
/// Built from a `Box<[u8]>`; released by the allocating side's
/// `free_buffer`, which rebuilds the box. Never free a buffer with the other
/// side's function: the two sides may use different allocators.
#[repr(C)]
#[derive(Debug)]
pub struct Buffer {
    /// Start of the bytes; null for an empty buffer.
    pub ptr: *mut u8,
    /// Number of bytes.
    pub len: usize,
}

impl Buffer {
    /// A buffer that holds nothing and needs no freeing.
    pub const EMPTY: Buffer = Buffer {
        ptr: std::ptr::null_mut(),
        len: 0,
    };

    /// Hands `bytes` over to the other side; this side must free it later
    /// with [`Buffer::free`].
    pub fn from_vec(bytes: Vec<u8>) -> Buffer {
        if bytes.is_empty() {
            return Buffer::EMPTY;
        }
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len();
        let ptr = Box::into_raw(boxed).cast::<u8>();
        Buffer { ptr, len }
    }

    /// The bytes.
    ///
    /// # Safety
    /// `self` must be empty or have been made by [`Buffer::from_vec`] (on
    /// either side) and not freed yet.
    pub unsafe fn as_slice(&self) -> &[u8] {
        if self.ptr.is_null() {
            &[]
        } else {
            // SAFETY: per the contract, ptr/len describe a live boxed slice.
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }

    /// Frees a buffer this side made.
    ///
    /// # Safety
    /// `self` must be empty or have been made by [`Buffer::from_vec`] on
    /// *this* side of the boundary, and not freed yet.
    pub unsafe fn free(self) {
        if !self.ptr.is_null() {
            let slice = std::ptr::slice_from_raw_parts_mut(self.ptr, self.len);
            // SAFETY: per the contract, this is the box from `from_vec`.
            drop(unsafe { Box::from_raw(slice) });
        }
    }
}

/// The function table a plugin library exports through [`ENTRY_SYMBOL`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PluginTable {
    /// Checked before anything else is read.
    pub header: TableHeader,
    /// Fills `out` with a [`Handshake`] as JSON. Returns a [`status`] code.
    pub handshake: unsafe extern "C" fn(out: *mut Buffer) -> i32,
    /// Creates an instance from `config` (a JSON document) and the host's
    /// callbacks. The `host` table must outlive the instance. On success
    /// stores the instance in `*instance` and fills `out` with [`Created`]
    /// as JSON; on failure fills `out` with a message.
    pub create: unsafe extern "C" fn(
        config: *const u8,
        config_len: usize,
        host: *const HostTable,
        instance: *mut *mut c_void,
        out: *mut Buffer,
    ) -> i32,
    /// Handles one [`Event`](crate::events::Event) (JSON). On success fills `out` with a [`Reply`]
    /// as JSON; on failure with a message. May be called from several
    /// threads at once only if the handshake said `thread_safe`.
    pub handle: unsafe extern "C" fn(
        instance: *const c_void,
        event: *const u8,
        event_len: usize,
        out: *mut Buffer,
    ) -> i32,
    /// Drops an instance made by `create`.
    pub destroy: unsafe extern "C" fn(instance: *mut c_void),
    /// Frees a buffer the plugin filled.
    pub free_buffer: unsafe extern "C" fn(buffer: Buffer),
}

/// The callbacks the host hands a plugin instance at creation.
///
/// Every function takes `context` first. Functions with an `out` buffer
/// return a [`status`] code and fill `out` (host-allocated, freed with
/// `free_buffer`) with a JSON answer on [`status::OK`] or a UTF-8 message
/// otherwise.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HostTable {
    /// Checked by the plugin before anything else is read.
    pub header: TableHeader,
    /// Opaque to the plugin; passed back on every call.
    pub context: *const c_void,
    /// Answers `Option<Customer>` for a customer id.
    pub customer: unsafe extern "C" fn(context: *const c_void, id: i64, out: *mut Buffer) -> i32,
    /// Answers `Option<Case>` for a case number.
    pub case: unsafe extern "C" fn(context: *const c_void, number: i64, out: *mut Buffer) -> i32,
    /// Takes a `CustomerQuery` (JSON), answers `Vec<Customer>`.
    pub find_customers: unsafe extern "C" fn(
        context: *const c_void,
        query: *const u8,
        query_len: usize,
        out: *mut Buffer,
    ) -> i32,
    /// Answers `Vec<Case>`: the open cases of a customer id.
    pub open_cases:
        unsafe extern "C" fn(context: *const c_void, customer: i64, out: *mut Buffer) -> i32,
    /// Takes a `NewFollowUp` (JSON), answers the saved `FollowUp`.
    pub add_follow_up: unsafe extern "C" fn(
        context: *const c_void,
        follow_up: *const u8,
        follow_up_len: usize,
        out: *mut Buffer,
    ) -> i32,
    /// Takes a `NewTask` (JSON), answers the saved `Task`.
    pub add_task: unsafe extern "C" fn(
        context: *const c_void,
        task: *const u8,
        task_len: usize,
        out: *mut Buffer,
    ) -> i32,
    /// Takes a `FollowUpQuery` (JSON), answers `Vec<FollowUp>`: a page of a
    /// case's follow-ups, newest first. Added in ABI 2.
    pub follow_ups: unsafe extern "C" fn(
        context: *const c_void,
        query: *const u8,
        query_len: usize,
        out: *mut Buffer,
    ) -> i32,
    /// Takes a `CaseQuery` (JSON), answers `Vec<Case>`: a page of a
    /// customer's cases, newest first. Added in ABI 2.
    pub cases: unsafe extern "C" fn(
        context: *const c_void,
        query: *const u8,
        query_len: usize,
        out: *mut Buffer,
    ) -> i32,
    /// Logs a UTF-8 message at a [`LogLevel`] (as its `u32` value).
    pub log:
        unsafe extern "C" fn(context: *const c_void, level: u32, message: *const u8, len: usize),
    /// Frees a buffer the host filled.
    pub free_buffer: unsafe extern "C" fn(buffer: Buffer),
}

/// How important a log message from a plugin is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
pub enum LogLevel {
    /// Something failed.
    Error = 1,
    /// Something is wrong but work goes on.
    Warn = 2,
    /// Worth knowing in normal operation.
    Info = 3,
    /// Detail for whoever debugs the plugin.
    Debug = 4,
}

impl LogLevel {
    /// The level for a `u32` received through [`HostTable::log`]; unknown
    /// values count as [`LogLevel::Info`].
    pub fn from_u32(value: u32) -> LogLevel {
        match value {
            1 => LogLevel::Error,
            2 => LogLevel::Warn,
            4 => LogLevel::Debug,
            _ => LogLevel::Info,
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
}

/// What a plugin says about itself before the host creates anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handshake {
    /// The plugin's [`ABI_VERSION`] (also in its table header).
    pub abi_version: u32,
    /// The [`SDK_VERSION`](crate::SDK_VERSION) the plugin was built with.
    pub sdk_version: String,
    /// The plugin's name, as shown in logs and errors.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// Every event the plugin can handle. The host never sends others.
    pub events: Vec<EventKind>,
    /// Whether the plugin may handle events on several threads at once. If
    /// not, the host serializes calls into it.
    pub thread_safe: bool,
}

/// What a plugin answers when an instance is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The events this instance handles, given its config: a subset of the
    /// handshake's list.
    pub events: Vec<EventKind>,
}

/// A plugin's answer to one event.
///
/// Unknown members are refused, so that a reply of another ABI (ABI 2's
/// `event`) is an error rather than a change silently lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// Continue or veto.
    pub outcome: Outcome,
    /// What the handler changed, when it changed something (see
    /// [`patch`]); `None` when it left the event alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<patch::EventPatch>,
}

/// Checks that a plugin built with SDK `plugin_sdk` can run in a host built
/// with [`SDK_VERSION`](crate::SDK_VERSION): same major version, and for 0.x
/// versions the same minor version too (0.x minors may break). Returns why
/// not, naming what to rebuild.
pub fn check_sdk_version(plugin_sdk: &str) -> Result<(), String> {
    let ours = crate::SDK_VERSION;
    let (Some(theirs_key), Some(ours_key)) = (compat_key(plugin_sdk), compat_key(ours)) else {
        return Err(format!(
            "reports SDK version `{plugin_sdk}`, which is not a version number; rebuild it against dossier-sdk {ours}"
        ));
    };
    if theirs_key == ours_key {
        Ok(())
    } else {
        Err(format!(
            "was built with dossier-sdk {plugin_sdk}, which is incompatible with this host's dossier-sdk {ours}; rebuild the plugin against dossier-sdk {ours}"
        ))
    }
}

/// The part of a semver version that must match: `(major, 0)` for 1.0 and
/// later, `(0, minor)` for 0.x.
fn compat_key(version: &str) -> Option<(u64, u64)> {
    let core = version.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let major: u64 = parts.next()?.parse().ok()?;
    let minor: u64 = parts.next()?.parse().ok()?;
    let _patch: u64 = parts.next()?.parse().ok()?;
    Some(if major == 0 { (0, minor) } else { (major, 0) })
}

/// The message of a caught panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_round_trip_and_empty_is_null() {
        let b = Buffer::from_vec(b"hello".to_vec());
        // SAFETY: made just above, not freed.
        assert_eq!(unsafe { b.as_slice() }, b"hello");
        // SAFETY: made on this side, freed once.
        unsafe { b.free() };
        let e = Buffer::from_vec(Vec::new());
        assert!(e.ptr.is_null());
        // SAFETY: empty buffers are always valid.
        assert_eq!(unsafe { e.as_slice() }, b"");
    }

    #[test]
    fn header_check_names_the_mismatch() {
        let mut h = TableHeader::of::<PluginTable>();
        assert!(h.check::<PluginTable>("plugin table").is_ok());
        h.abi_version = 99;
        let err = h.check::<PluginTable>("plugin table").unwrap_err();
        assert!(err.contains("version 99"), "{err}");
        let mut h = TableHeader::of::<PluginTable>();
        h.size = 8;
        let err = h.check::<PluginTable>("plugin table").unwrap_err();
        assert!(err.contains("is 8 bytes"), "{err}");
    }

    #[test]
    fn sdk_compatibility_treats_zero_minor_as_major() {
        assert_eq!(compat_key("0.1.7"), Some((0, 1)));
        assert_eq!(compat_key("1.4.0"), Some((1, 0)));
        assert_eq!(compat_key("2.0.0-rc.1"), Some((2, 0)));
        assert_eq!(compat_key("one"), None);
        assert_eq!(compat_key("1.2"), None);
        let ours = crate::SDK_VERSION;
        assert!(check_sdk_version(ours).is_ok());
        let (major, minor) = compat_key(ours).unwrap_or_default();
        let other = if major == 0 {
            format!("0.{}.0", minor + 1)
        } else {
            format!("{}.0.0", major + 1)
        };
        let err = check_sdk_version(&other).unwrap_err();
        assert!(err.contains("rebuild the plugin"), "{err}");
        assert!(check_sdk_version("garbage").is_err());
    }

    #[test]
    fn panic_messages_are_extracted() {
        let p = std::panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
        assert_eq!(panic_message(&*p), "boom 1");
        let p = std::panic::catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(panic_message(&*p), "static");
    }

    #[test]
    fn the_actor_comes_first_and_a_reader_of_the_bare_event_ignores_it() {
        for event in crate::events::Event::examples() {
            let bytes = serde_json::to_vec(&Delivered {
                actor: "grace \"the\" admin",
                event: &event,
            })
            .unwrap_or_default();
            assert!(bytes.starts_with(br#"{"actor":"#));
            assert_eq!(actor_of(&bytes).as_deref(), Some("grace \"the\" admin"));
            // What a plugin built before `actor` existed does with it.
            let read: crate::events::Event =
                serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", event.kind()));
            assert_eq!(read, event);
            let bare = serde_json::to_vec(&event).unwrap_or_default();
            assert_eq!(actor_of(&bare), None);
        }
    }

    #[test]
    fn reply_omits_an_absent_patch_and_refuses_unknown_members() {
        let r = Reply {
            outcome: Outcome::Continue,
            patch: None,
        };
        let json = serde_json::to_string(&r).unwrap_or_default();
        assert_eq!(json, r#"{"outcome":{"outcome":"continue"}}"#);
        // ABI 2 sent the whole event back.
        let old = r#"{"outcome":{"outcome":"continue"},"event":{"event":"chat_ended","data":{}}}"#;
        let err = serde_json::from_str::<Reply>(old).unwrap_err().to_string();
        assert!(err.contains("unknown field `event`"), "{err}");
    }
}

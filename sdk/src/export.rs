//! The plugin's side of the ABI, generic over the plugin type.
//! [`declare_plugin!`](crate::declare_plugin) instantiates these functions
//! for one type and exports the table; nothing else should call them.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use crate::abi::patch::EventPatch;
use crate::abi::{
    ABI_VERSION, Buffer, Created, Handshake, HostTable, PluginTable, Reply, TableHeader,
    panic_message, status,
};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::plugin::{HostApi, Plugin, dispatch};

/// The name and version `declare_plugin!` found for the plugin crate.
pub trait Identity {
    /// The plugin's name.
    const NAME: &'static str;
    /// The plugin's version.
    const VERSION: &'static str;
}

/// Builds the table for plugin `P` known as `I`.
pub const fn table<P: Plugin, I: Identity>() -> PluginTable {
    PluginTable {
        header: TableHeader::of::<PluginTable>(),
        handshake: handshake::<P, I>,
        create: create::<P>,
        handle: handle::<P>,
        destroy: destroy::<P>,
        free_buffer,
    }
}

thread_local! {
    /// How many guarded calls into the plugin this thread is in (a host
    /// callback may lead back into the plugin, so they nest).
    static GUARDED: Cell<u32> = const { Cell::new(0) };
    /// Who caused the event this thread's plugin is handling, as the host
    /// wrote it (see [`crate::abi::Delivered`]).
    static ACTOR: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The actor of the event being handled on this thread: what
/// [`HostApi::actor`] answers.
pub(crate) fn current_actor() -> Option<String> {
    ACTOR.with(|a| a.borrow().clone())
}

/// Puts back the actor of the call this one is nested in when dropped.
struct ActorGuard(Option<String>);

impl ActorGuard {
    fn set(actor: Option<String>) -> ActorGuard {
        ActorGuard(ACTOR.with(|a| a.replace(actor)))
    }
}

impl Drop for ActorGuard {
    fn drop(&mut self) {
        let outer = self.0.take();
        ACTOR.with(|a| *a.borrow_mut() = outer);
    }
}

/// Runs `body`, catching a panic, without the panic hook printing it.
///
/// A `cdylib` carries its own copy of `std`, so its panics run *its* panic
/// hook, which the host cannot reach: left alone, that hook (the default
/// one) prints `thread '...' panicked at ...` and, with `RUST_BACKTRACE`
/// set, a backtrace, on the terminal of whoever runs the host, although
/// the panic is caught here and reported to the host as one message. So
/// the first guarded call installs a hook in the plugin's `std` that stays
/// silent for panics inside guarded calls and hands every other panic (a
/// thread of the plugin's own, say) to the hook that was there before.
fn quietly<R>(body: impl FnOnce() -> R) -> std::result::Result<R, Box<dyn Any + Send>> {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
    GUARDED.with(|g| g.set(g.get().saturating_add(1)));
    let result = catch_unwind(AssertUnwindSafe(body));
    GUARDED.with(|g| g.set(g.get().saturating_sub(1)));
    result
}

/// Runs `body`, catching panics, and writes its answer or error into `out`.
///
/// # Safety
/// `out` must be null or valid for writes.
unsafe fn guarded(out: *mut Buffer, body: impl FnOnce() -> Result<Vec<u8>>) -> i32 {
    let (code, bytes) = match quietly(body) {
        Ok(Ok(bytes)) => (status::OK, bytes),
        Ok(Err(error)) => (status::ERROR, error.to_string().into_bytes()),
        Err(payload) => (status::PANIC, panic_message(&*payload).into_bytes()),
    };
    if !out.is_null() {
        // SAFETY: checked non-null; valid for writes per the contract.
        unsafe { out.write(Buffer::from_vec(bytes)) };
    }
    code
}

fn to_json(what: &'static str, value: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Decode {
        what,
        message: format!("cannot encode: {e}"),
    })
}

/// # Safety
/// `ptr` must be null with `len == 0`, or valid for reads of `len` bytes for
/// the rest of the call.
unsafe fn borrowed<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: per the contract.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

unsafe extern "C" fn handshake<P: Plugin, I: Identity>(out: *mut Buffer) -> i32 {
    // SAFETY: the host passes a writable buffer slot.
    unsafe {
        guarded(out, || {
            to_json(
                "handshake",
                &Handshake {
                    abi_version: ABI_VERSION,
                    sdk_version: crate::SDK_VERSION.to_owned(),
                    name: I::NAME.to_owned(),
                    version: I::VERSION.to_owned(),
                    events: P::EVENTS.to_vec(),
                    thread_safe: P::THREAD_SAFE,
                },
            )
        })
    }
}

unsafe extern "C" fn create<P: Plugin>(
    config: *const u8,
    config_len: usize,
    host: *const HostTable,
    instance: *mut *mut c_void,
    out: *mut Buffer,
) -> i32 {
    let body = || {
        if instance.is_null() {
            return Err(Error::Abi("the host passed no instance slot".into()));
        }
        // SAFETY: the host's table outlives the instance (ABI contract).
        let host = unsafe { HostApi::from_raw(host) }?;
        // SAFETY: the host lends `config` for the call.
        let bytes = unsafe { borrowed(config, config_len) };
        let config = if bytes.is_empty() {
            serde_json::Value::Object(Default::default())
        } else {
            serde_json::from_slice(bytes).map_err(|e| Error::Decode {
                what: "config",
                message: e.to_string(),
            })?
        };
        let plugin = P::new(config, host)?;
        let events = plugin
            .events()
            .into_iter()
            .filter(|kind| P::EVENTS.contains(kind))
            .collect();
        let created = to_json("created", &Created { events })?;
        // SAFETY: checked non-null above; the host owns the slot.
        unsafe { instance.write(Box::into_raw(Box::new(plugin)).cast::<c_void>()) };
        Ok(created)
    };
    // SAFETY: the host passes a writable buffer slot.
    unsafe { guarded(out, body) }
}

unsafe extern "C" fn handle<P: Plugin>(
    instance: *const c_void,
    event: *const u8,
    event_len: usize,
    out: *mut Buffer,
) -> i32 {
    let body = || {
        if instance.is_null() {
            return Err(Error::Abi("the host passed no instance".into()));
        }
        // SAFETY: `instance` came from `create::<P>` and is not destroyed yet;
        // `P: Sync`, so shared access from any thread is sound.
        let plugin = unsafe { &*instance.cast::<P>() };
        // SAFETY: the host lends the event bytes for the call.
        let bytes = unsafe { borrowed(event, event_len) };
        let mut event: Event = serde_json::from_slice(bytes).map_err(|e| Error::Decode {
            what: "event",
            message: e.to_string(),
        })?;
        let before = event.clone();
        let outcome = {
            let _actor = ActorGuard::set(crate::abi::actor_of(bytes));
            dispatch(plugin, &mut event)?
        };
        // Send back only what changed, if anything: the host applies it to
        // the event it holds instead of decoding a whole one.
        let patch = EventPatch::diff(&before, event);
        to_json("reply", &Reply { outcome, patch })
    };
    // SAFETY: the host passes a writable buffer slot.
    unsafe { guarded(out, body) }
}

unsafe extern "C" fn destroy<P: Plugin>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // A panicking Drop must not unwind into the host; there is nobody to tell.
    let _ = quietly(|| {
        // SAFETY: `instance` came from `create::<P>` and is destroyed once.
        drop(unsafe { Box::from_raw(instance.cast::<P>()) });
    });
}

unsafe extern "C" fn free_buffer(buffer: Buffer) {
    // SAFETY: the host only hands back buffers this plugin made.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { buffer.free() }));
}

/// Writes the exported entry point of a plugin library.
///
/// `declare_plugin!(MyPlugin)` names the plugin after its crate
/// (`CARGO_PKG_NAME`) and versions it with `CARGO_PKG_VERSION`;
/// `declare_plugin!(MyPlugin, name = "webhook")` picks another name.
/// Use it once per library, in a `cdylib` crate.
#[macro_export]
macro_rules! declare_plugin {
    ($plugin:ty) => {
        $crate::declare_plugin!($plugin, name = env!("CARGO_PKG_NAME"));
    };
    ($plugin:ty, name = $name:expr) => {
        /// The entry point the Dossier host looks up when it loads this library.
        #[unsafe(no_mangle)]
        pub extern "C" fn dossier_plugin_entry() -> *const $crate::abi::PluginTable {
            struct Identity;
            impl $crate::__private::Identity for Identity {
                const NAME: &'static str = $name;
                const VERSION: &'static str = env!("CARGO_PKG_VERSION");
            }
            static TABLE: $crate::abi::PluginTable =
                $crate::__private::table::<$plugin, Identity>();
            &TABLE
        }
    };
}

#[cfg(test)]
mod tests {
    //! Drives a plugin through its exported table, the way the host does,
    //! but in-process.

    use super::*;
    use crate::abi::EntryFn;
    use crate::abi::patch::Patchable;
    use crate::events::{EventKind, Outcome, SaveEvent, SaveOp};
    use crate::model::{Case, CaseNumber, CustomerId, Record, Visibility};

    struct Tagger {
        tag: String,
    }

    impl Plugin for Tagger {
        const EVENTS: &'static [EventKind] = &[EventKind::BeforeSave, EventKind::ScreenPop];

        fn new(config: serde_json::Value, host: HostApi) -> Result<Self> {
            host.info("starting");
            // Callbacks are unavailable outside handlers.
            if !matches!(
                host.customer(CustomerId(1)),
                Err(Error::HostUnavailable("customer"))
            ) {
                return Err(Error::failed("detached host answered"));
            }
            let tag = config
                .get("tag")
                .and_then(|v| v.as_str())
                .ok_or_else(|| Error::config("`tag` is required"))?;
            Ok(Tagger { tag: tag.into() })
        }

        fn events(&self) -> Vec<EventKind> {
            // Asks for one more than declared: must be filtered out.
            vec![EventKind::BeforeSave, EventKind::AfterSave]
        }

        fn before_save(&self, event: &mut SaveEvent) -> Result<Outcome> {
            match &mut event.record {
                Record::Case(case) if case.subject == "veto me" => {
                    Ok(Outcome::Veto("no thanks".into()))
                }
                Record::Case(case) if case.subject == "fail" => Err(Error::failed("it failed")),
                Record::Case(case) if case.subject == "panic" => panic!("handler panicked"),
                Record::Case(case) if case.subject == "keep" => Ok(Outcome::Continue),
                Record::Case(case) => {
                    case.subject = format!("[{}] {}", self.tag, case.subject);
                    Ok(Outcome::Continue)
                }
                _ => Ok(Outcome::Continue),
            }
        }
    }

    crate::declare_plugin!(Tagger, name = "tagger");

    struct Call {
        code: i32,
        bytes: Vec<u8>,
    }

    fn take(table: &PluginTable, code: i32, out: Buffer) -> Call {
        // SAFETY: the plugin filled `out`; freed once with its own function.
        let bytes = unsafe { out.as_slice() }.to_vec();
        unsafe { (table.free_buffer)(out) };
        Call { code, bytes }
    }

    fn table_of(entry: EntryFn) -> PluginTable {
        // SAFETY: the entry returns a pointer to a static table.
        unsafe { *entry() }
    }

    fn case(subject: &str) -> Event {
        let now = chrono::Utc::now();
        Event::BeforeSave(SaveEvent {
            op: SaveOp::Create,
            record: Record::Case(Case {
                number: CaseNumber(7),
                customer: CustomerId(1),
                subject: subject.into(),
                description: String::new(),
                status: "open".into(),
                visibility: Visibility::Public,
                severity: "normal".into(),
                priority: "normal".into(),
                owner: None,
                group: None,
                last_disposition: None,
                thread_token: None,
                custom: Default::default(),
                created_at: now,
                updated_at: now,
            }),
            changed: Vec::new(),
        })
    }

    struct Instance {
        table: PluginTable,
        ptr: *mut c_void,
        _host: Box<HostTable>,
    }

    impl Instance {
        fn create(config: &str) -> std::result::Result<Instance, Call> {
            let table = table_of(dossier_plugin_entry);
            let host = Box::new(crate::plugin::detached_table());
            let mut ptr = std::ptr::null_mut();
            let mut out = Buffer::EMPTY;
            // SAFETY: valid pointers; the host table outlives the instance.
            let code = unsafe {
                (table.create)(config.as_ptr(), config.len(), &*host, &mut ptr, &mut out)
            };
            let call = take(&table, code, out);
            if call.code != status::OK {
                return Err(call);
            }
            let created: Created = serde_json::from_slice(&call.bytes).map_err(|_| Call {
                code: -1,
                bytes: call.bytes.clone(),
            })?;
            assert_eq!(created.events, vec![EventKind::BeforeSave]);
            Ok(Instance {
                table,
                ptr,
                _host: host,
            })
        }

        fn handle(&self, event: &Event) -> Call {
            let bytes = serde_json::to_vec(event).unwrap_or_default();
            let mut out = Buffer::EMPTY;
            // SAFETY: a live instance and borrowed bytes.
            let code =
                unsafe { (self.table.handle)(self.ptr, bytes.as_ptr(), bytes.len(), &mut out) };
            take(&self.table, code, out)
        }
    }

    impl Drop for Instance {
        fn drop(&mut self) {
            // SAFETY: made by create, destroyed once.
            unsafe { (self.table.destroy)(self.ptr) };
        }
    }

    #[test]
    fn handshake_reports_identity_and_events() {
        let table = table_of(dossier_plugin_entry);
        assert_eq!(table.header, TableHeader::of::<PluginTable>());
        let mut out = Buffer::EMPTY;
        // SAFETY: a valid out slot.
        let code = unsafe { (table.handshake)(&mut out) };
        let call = take(&table, code, out);
        assert_eq!(call.code, status::OK);
        let hs: Handshake = serde_json::from_slice(&call.bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hs.name, "tagger");
        assert_eq!(hs.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(hs.sdk_version, crate::SDK_VERSION);
        assert_eq!(hs.abi_version, ABI_VERSION);
        assert_eq!(hs.events, vec![EventKind::BeforeSave, EventKind::ScreenPop]);
        assert!(!hs.thread_safe);
    }

    #[test]
    fn create_reports_config_errors() {
        let err = Instance::create("{}").err().map(|c| (c.code, c.bytes));
        assert_eq!(
            err,
            Some((
                status::ERROR,
                b"invalid plugin config: `tag` is required".to_vec()
            ))
        );
        let err = Instance::create("not json").err().map(|c| c.code);
        assert_eq!(err, Some(status::ERROR));
    }

    #[test]
    fn handle_changes_vetoes_fails_and_catches_panics() {
        let plugin = Instance::create(r#"{"tag":"vip"}"#)
            .unwrap_or_else(|c| panic!("create failed: {}", String::from_utf8_lossy(&c.bytes)));

        let before = case("hello");
        let call = plugin.handle(&before);
        assert_eq!(call.code, status::OK);
        // Only the changed field comes back.
        assert_eq!(
            String::from_utf8_lossy(&call.bytes),
            r#"{"outcome":{"outcome":"continue"},"patch":{"event":"before_save","data":{"record":{"object":"case","record":{"subject":"[vip] hello"}}}}}"#
        );
        let reply: Reply = serde_json::from_slice(&call.bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.outcome, Outcome::Continue);
        let mut event = before;
        event
            .patch(reply.patch.unwrap_or_else(|| panic!("a patch")))
            .unwrap_or_else(|e| panic!("{e}"));
        match event {
            Event::BeforeSave(SaveEvent {
                record: Record::Case(c),
                ..
            }) => assert_eq!(c.subject, "[vip] hello"),
            other => panic!("unexpected {other:?}"),
        }

        let call = plugin.handle(&case("keep"));
        let reply: Reply = serde_json::from_slice(&call.bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.patch, None, "an unchanged event sends no patch");

        let call = plugin.handle(&case("veto me"));
        let reply: Reply = serde_json::from_slice(&call.bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.outcome, Outcome::Veto("no thanks".into()));

        let call = plugin.handle(&case("fail"));
        assert_eq!(
            (call.code, call.bytes),
            (status::ERROR, b"it failed".to_vec())
        );

        let call = plugin.handle(&case("panic"));
        assert_eq!(
            (call.code, call.bytes),
            (status::PANIC, b"handler panicked".to_vec())
        );

        // Garbage in is an error, not a crash.
        let mut out = Buffer::EMPTY;
        let junk = b"\xff\x00junk";
        // SAFETY: a live instance and borrowed bytes.
        let code =
            unsafe { (plugin.table.handle)(plugin.ptr, junk.as_ptr(), junk.len(), &mut out) };
        let call = take(&plugin.table, code, out);
        assert_eq!(call.code, status::ERROR);
        assert!(
            String::from_utf8_lossy(&call.bytes).starts_with("cannot decode event"),
            "{}",
            String::from_utf8_lossy(&call.bytes)
        );
    }
}

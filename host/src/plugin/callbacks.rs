//! The host's side of the callback table plugins call into.
//!
//! A callback needs the [`Host`] that is firing the event, so that a write
//! made from a before-hook joins the write being guarded. The host sets it
//! for the current thread around each call into a plugin ([`enter`]);
//! callbacks made at any other time, or from a thread the plugin started,
//! answer [`status::UNAVAILABLE`].

use std::cell::Cell;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};

use dossier_sdk::abi::{Buffer, HostTable, LogLevel, TableHeader, panic_message, status};
use dossier_sdk::{CaseNumber, CustomerId, CustomerQuery, NewFollowUp, NewTask};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Host;
use crate::error::{Error, Result};

thread_local! {
    /// The host whose event this thread is handing to a plugin, if any.
    static CURRENT: Cell<*const Host> = const { Cell::new(std::ptr::null()) };
}

/// Makes `host` the target of callbacks on this thread until dropped.
pub(crate) struct Entered {
    previous: *const Host,
}

/// Sets `host` as this thread's callback target; nested calls (a plugin's
/// callback fires an event another plugin handles) restore the outer one.
pub(crate) fn enter(host: &Host) -> Entered {
    let previous = CURRENT.with(|c| c.replace(host as *const Host));
    Entered { previous }
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

/// What the callbacks of one plugin instance know: its name, for the log.
pub(crate) struct Context {
    pub(crate) name: String,
}

/// The table handed to the instance of the plugin described by `context`,
/// which must outlive the instance.
pub(crate) fn table(context: &Context) -> HostTable {
    HostTable {
        header: TableHeader::of::<HostTable>(),
        context: (context as *const Context).cast::<c_void>(),
        customer,
        case,
        find_customers,
        open_cases,
        add_follow_up,
        add_task,
        log,
        free_buffer,
    }
}

/// Runs `f` with this thread's current host and writes its answer to `out`.
///
/// # Safety
/// `out` must be null or valid for writes.
unsafe fn serve<T: Serialize>(out: *mut Buffer, f: impl FnOnce(&Host) -> Result<T>) -> i32 {
    let answer = catch_unwind(AssertUnwindSafe(|| {
        let ptr = CURRENT.with(Cell::get);
        if ptr.is_null() {
            return (
                status::UNAVAILABLE,
                b"no event is being handled on this thread".to_vec(),
            );
        }
        // SAFETY: `enter` set it from a live `&Host` and its guard outlives
        // the plugin call this callback is nested in.
        let host = unsafe { &*ptr };
        match f(host).and_then(|value| serde_json::to_vec(&value).map_err(json_error)) {
            Ok(bytes) => (status::OK, bytes),
            Err(e) => (status::ERROR, e.to_string().into_bytes()),
        }
    }));
    let (code, bytes) =
        answer.unwrap_or_else(|payload| (status::PANIC, panic_message(&*payload).into_bytes()));
    if !out.is_null() {
        // SAFETY: checked non-null; the plugin passes a writable slot.
        unsafe { out.write(Buffer::from_vec(bytes)) };
    }
    code
}

fn json_error(e: serde_json::Error) -> Error {
    Error::Refused(format!("cannot encode the answer: {e}"))
}

/// Decodes the request a plugin sent.
///
/// # Safety
/// `ptr`/`len` must describe bytes valid for the call (or be null/0).
unsafe fn request<T: DeserializeOwned>(what: &str, ptr: *const u8, len: usize) -> Result<T> {
    let bytes = if ptr.is_null() || len == 0 {
        &[][..]
    } else {
        // SAFETY: per the contract.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    };
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Refused(format!("invalid {what} from plugin: {e}")))
}

/// `Ok(None)` for a record that does not exist.
fn optional<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

unsafe extern "C" fn customer(_: *const c_void, id: i64, out: *mut Buffer) -> i32 {
    // SAFETY: the plugin passes a writable slot.
    unsafe { serve(out, |host| optional(host.customer(CustomerId(id)))) }
}

unsafe extern "C" fn case(_: *const c_void, number: i64, out: *mut Buffer) -> i32 {
    // SAFETY: the plugin passes a writable slot.
    unsafe { serve(out, |host| optional(host.case(CaseNumber(number)))) }
}

unsafe extern "C" fn find_customers(
    _: *const c_void,
    query: *const u8,
    len: usize,
    out: *mut Buffer,
) -> i32 {
    // SAFETY: the plugin lends `query` for the call and passes a writable slot.
    unsafe {
        serve(out, |host| {
            let query: CustomerQuery = request("customer query", query, len)?;
            host.find_customers(&query)
        })
    }
}

unsafe extern "C" fn open_cases(_: *const c_void, customer: i64, out: *mut Buffer) -> i32 {
    // SAFETY: the plugin passes a writable slot.
    unsafe { serve(out, |host| host.cases_of(CustomerId(customer), true)) }
}

unsafe extern "C" fn add_follow_up(
    _: *const c_void,
    follow_up: *const u8,
    len: usize,
    out: *mut Buffer,
) -> i32 {
    // SAFETY: the plugin lends the bytes for the call and passes a writable slot.
    unsafe {
        serve(out, |host| {
            let new: NewFollowUp = request("follow-up", follow_up, len)?;
            host.add_follow_up(new)
        })
    }
}

unsafe extern "C" fn add_task(
    _: *const c_void,
    task: *const u8,
    len: usize,
    out: *mut Buffer,
) -> i32 {
    // SAFETY: the plugin lends the bytes for the call and passes a writable slot.
    unsafe {
        serve(out, |host| {
            let new: NewTask = request("task", task, len)?;
            host.add_task(new)
        })
    }
}

unsafe extern "C" fn log(context: *const c_void, level: u32, message: *const u8, len: usize) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `context` is the `Context` this table was made for, which
        // lives as long as the instance.
        let name = match unsafe { context.cast::<Context>().as_ref() } {
            Some(context) => context.name.as_str(),
            None => "?",
        };
        let text = if message.is_null() || len == 0 {
            String::new()
        } else {
            // SAFETY: the plugin lends the message for the call.
            String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(message, len) })
                .into_owned()
        };
        crate::plugin::log(name, LogLevel::from_u32(level), &text);
    }));
}

unsafe extern "C" fn free_buffer(buffer: Buffer) {
    // SAFETY: plugins only hand back buffers the host's callbacks made.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { buffer.free() }));
}

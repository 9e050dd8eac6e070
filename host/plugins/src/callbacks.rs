//! The host's side of the callback table plugins call into.
//!
//! A callback needs the context of the event being handled, so that a write
//! made from a before-hook joins the write being guarded and counts one
//! level deeper. The runner makes that context the thread's current one
//! around each handler call (`dossier_core::events::context`, the mechanism scripts
//! use too); callbacks made at any other time, or from a thread the plugin
//! started, answer [`status::UNAVAILABLE`].

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};

use dossier_sdk::abi::{Buffer, HostTable, LogLevel, TableHeader, panic_message, status};
use dossier_sdk::{
    CaseNumber, CaseQuery, CustomerId, CustomerQuery, FollowUpQuery, NewFollowUp, NewTask,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use dossier_core::events::{Ctx, context};
use dossier_types::{Error, Result};

/// What the callbacks of one plugin instance know: its name, for the log.
pub struct Context {
    pub name: String,
}

/// The table handed to the instance of the plugin described by `context`,
/// which must outlive the instance.
pub fn table(context: &Context) -> HostTable {
    HostTable {
        header: TableHeader::of::<HostTable>(),
        context: (context as *const Context).cast::<c_void>(),
        customer,
        case,
        find_customers,
        open_cases,
        add_follow_up,
        add_task,
        follow_ups,
        cases,
        log,
        free_buffer,
    }
}

/// Runs `f` with this thread's current event context and writes its answer
/// to `out`.
///
/// # Safety
/// `out` must be null or valid for writes.
unsafe fn serve<T: Serialize>(out: *mut Buffer, f: impl FnOnce(&Ctx) -> Result<T>) -> i32 {
    let answer = catch_unwind(AssertUnwindSafe(|| {
        let Some(ctx) = context::current() else {
            return (
                status::UNAVAILABLE,
                b"no event is being handled on this thread".to_vec(),
            );
        };
        match f(&ctx).and_then(|value| serde_json::to_vec(&value).map_err(json_error)) {
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

unsafe extern "C" fn follow_ups(
    _: *const c_void,
    query: *const u8,
    len: usize,
    out: *mut Buffer,
) -> i32 {
    // SAFETY: the plugin lends `query` for the call and passes a writable slot.
    unsafe {
        serve(out, |host| {
            let q: FollowUpQuery = request("follow-up query", query, len)?;
            host.follow_up_page(q.case_number, &q.kinds, page(q.page, q.per_page)?)
        })
    }
}

unsafe extern "C" fn cases(
    _: *const c_void,
    query: *const u8,
    len: usize,
    out: *mut Buffer,
) -> i32 {
    // SAFETY: the plugin lends `query` for the call and passes a writable slot.
    unsafe {
        serve(out, |host| {
            let q: CaseQuery = request("case query", query, len)?;
            host.case_page(
                q.customer,
                q.open_only,
                &q.statuses,
                page(q.page, q.per_page)?,
            )
        })
    }
}

/// The store page of a plugin's query, refusing what the scripts refuse.
fn page(number: u32, per_page: u32) -> Result<dossier_store::Page> {
    if number == 0 || !(1..=dossier_core::events::MAX_PER_PAGE).contains(&per_page) {
        return Err(Error::Refused(format!(
            "a page is numbered from 1 and holds 1 to {} rows, not page {number} of {per_page}",
            dossier_core::events::MAX_PER_PAGE
        )));
    }
    Ok(dossier_store::Page::number(number, per_page))
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
        crate::log(name, LogLevel::from_u32(level), &text);
    }));
}

unsafe extern "C" fn free_buffer(buffer: Buffer) {
    // SAFETY: plugins only hand back buffers the host's callbacks made.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { buffer.free() }));
}

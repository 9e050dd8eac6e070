//! What a plugin author writes: the [`Plugin`] trait, and the [`HostApi`]
//! that calls back into the host.
//!
//! A plugin is a `cdylib` crate with one type implementing [`Plugin`] and one
//! [`declare_plugin!`](crate::declare_plugin) line. Everything unsafe lives
//! in this crate.

use std::ffi::c_void;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::abi::{Buffer, HostTable, LogLevel, TableHeader, status};
use crate::error::{Error, Result};
use crate::events::{
    ChatEvent, DirectoryChanged, Disposition, EmailHeld, EmailReceived, Event, EventKind,
    Notification, Outcome, SaveEvent, ScreenPop, TaskReminder,
};
use crate::model::{
    Case, CaseNumber, Customer, CustomerId, CustomerQuery, FollowUp, FollowUpKind, NewFollowUp,
    NewTask, Task,
};

/// Which of a case's follow-ups [`HostApi::follow_ups`] returns: newest
/// first, `per_page` of them from page `page` (1-based), only those of
/// `kinds` when it is not empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct FollowUpQuery {
    /// The case.
    pub case_number: CaseNumber,
    /// Only these kinds; empty means every kind.
    pub kinds: Vec<FollowUpKind>,
    /// The page, from 1.
    pub page: u32,
    /// Follow-ups per page (the host caps it at 500).
    pub per_page: u32,
}

impl Default for FollowUpQuery {
    fn default() -> Self {
        FollowUpQuery {
            case_number: CaseNumber(0),
            kinds: Vec::new(),
            page: 1,
            per_page: 50,
        }
    }
}

/// Which of a customer's cases [`HostApi::cases`] returns: newest first,
/// `per_page` of them from page `page` (1-based), only open ones if
/// `open_only`, only those in `statuses` when it is not empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CaseQuery {
    /// The customer.
    pub customer: CustomerId,
    /// Only cases whose status counts as open.
    pub open_only: bool,
    /// Only these status keys; empty means every status.
    pub statuses: Vec<String>,
    /// The page, from 1.
    pub page: u32,
    /// Cases per page (the host caps it at 500).
    pub per_page: u32,
}

impl Default for CaseQuery {
    fn default() -> Self {
        CaseQuery {
            customer: CustomerId(0),
            open_only: false,
            statuses: Vec::new(),
            page: 1,
            per_page: 50,
        }
    }
}

/// A native plugin.
///
/// The host creates one instance per `[[plugins]]` entry with
/// [`Plugin::new`], then calls the handler matching each event the instance
/// handles. Every handler has a default that does nothing and returns
/// `Ok(Outcome::Continue)`: implement only the ones you need, and list their
/// events in [`Plugin::EVENTS`] (the host never sends the others, so it does
/// not pay to encode them).
///
/// # What a handler returns
///
/// - `Ok(Outcome::Continue)`: go on, with the event as the handler left it.
///   Handlers may change the event in place (set a record's custom field,
///   replace a screen-pop target, add a recipient).
/// - `Ok(Outcome::Veto(message))`: stop. For guarding events (every kind
///   but `after_save` and `directory_changed`: see [`EventKind::guards_write`] and
///   [`EVENTS`](crate::events::EVENTS)) the write they guard is rolled back
///   and `message` shown.
/// - `Err(error)`: the plugin failed. The host stops the pipeline as for a
///   veto (rolling the guarded write back) and reports the plugin's failure.
///   For `after_save` and `directory_changed` the write is already
///   committed: the host logs the failure and retries the delivery.
///
/// A panic in a handler is caught and treated as an error.
///
/// # Threads
///
/// Plugins are `Send + Sync`, so the SDK is sound whatever the host does.
/// Unless [`Plugin::THREAD_SAFE`] is `true`, the host also calls the
/// instance from one thread at a time, so handlers never overlap: a plugin
/// that appends to a file or keeps one connection gets its calls in order.
///
/// # Callbacks
///
/// Keep the [`HostApi`] given to [`Plugin::new`] to read records and create
/// follow-ups and tasks while handling an event. During a guarding event
/// those writes join the guarded transaction: a later veto rolls them back
/// too.
pub trait Plugin: Sized + Send + Sync + 'static {
    /// Every event this plugin can handle.
    const EVENTS: &'static [EventKind];

    /// Whether handlers may run on several threads at once. Defaults to
    /// `false`: the host serializes calls.
    const THREAD_SAFE: bool = false;

    /// Builds the plugin from the `config` table of its `[[plugins]]` entry
    /// (converted to JSON; an empty object when absent). An error refuses
    /// the plugin and stops the host from opening.
    fn new(config: serde_json::Value, host: HostApi) -> Result<Self>;

    /// The events this instance handles, given its config. Defaults to
    /// [`Plugin::EVENTS`]; kinds not in that list are ignored.
    fn events(&self) -> Vec<EventKind> {
        Self::EVENTS.to_vec()
    }

    /// A record is about to be written, inside the write's transaction.
    fn before_save(&self, event: &mut SaveEvent) -> Result<Outcome> {
        let _ = event;
        Ok(Outcome::Continue)
    }

    /// A record was written and committed.
    fn after_save(&self, event: &mut SaveEvent) -> Result<Outcome> {
        let _ = event;
        Ok(Outcome::Continue)
    }

    /// An interaction arrived and a record must be shown.
    fn screen_pop(&self, pop: &mut ScreenPop) -> Result<Outcome> {
        let _ = pop;
        Ok(Outcome::Continue)
    }

    /// An interaction ended with a disposition code.
    fn disposition(&self, disposition: &mut Disposition) -> Result<Outcome> {
        let _ = disposition;
        Ok(Outcome::Continue)
    }

    /// A notification is about to be sent.
    fn notification(&self, notification: &mut Notification) -> Result<Outcome> {
        let _ = notification;
        Ok(Outcome::Continue)
    }

    /// An inbound email was parsed, before threading.
    fn email_received(&self, email: &mut EmailReceived) -> Result<Outcome> {
        let _ = email;
        Ok(Outcome::Continue)
    }

    /// An inbound email could not be stored and is held; a handler may
    /// change who is told ([`EmailHeld::notify`]). The email stays held
    /// whatever the handler returns.
    fn email_held(&self, held: &mut EmailHeld) -> Result<Outcome> {
        let _ = held;
        Ok(Outcome::Continue)
    }

    /// A chat is being offered to an agent.
    fn chat_offered(&self, chat: &mut ChatEvent) -> Result<Outcome> {
        let _ = chat;
        Ok(Outcome::Continue)
    }

    /// A chat ended.
    fn chat_ended(&self, chat: &mut ChatEvent) -> Result<Outcome> {
        let _ = chat;
        Ok(Outcome::Continue)
    }

    /// A task's reminder came due.
    fn task_reminder(&self, reminder: &mut TaskReminder) -> Result<Outcome> {
        let _ = reminder;
        Ok(Outcome::Continue)
    }

    /// An agent or group was added or changed, and it committed (delivered
    /// from the outbox, at least once; [`HostApi::actor`] is who made the
    /// change). Read-only: a veto or a change is ignored, an error is
    /// retried. Sent only to plugins that list
    /// [`EventKind::DirectoryChanged`] in their events.
    fn directory_changed(&self, change: &mut DirectoryChanged) -> Result<Outcome> {
        let _ = change;
        Ok(Outcome::Continue)
    }
}

/// Calls `plugin`'s handler for `event`.
pub fn dispatch<P: Plugin>(plugin: &P, event: &mut Event) -> Result<Outcome> {
    match event {
        Event::BeforeSave(e) => plugin.before_save(e),
        Event::AfterSave(e) => plugin.after_save(e),
        Event::ScreenPop(e) => plugin.screen_pop(e),
        Event::Disposition(e) => plugin.disposition(e),
        Event::Notification(e) => plugin.notification(e),
        Event::EmailReceived(e) => plugin.email_received(e),
        Event::EmailHeld(e) => plugin.email_held(e),
        Event::ChatOffered(e) => plugin.chat_offered(e),
        Event::ChatEnded(e) => plugin.chat_ended(e),
        Event::TaskReminder(e) => plugin.task_reminder(e),
        Event::DirectoryChanged(e) => plugin.directory_changed(e),
    }
}

/// The host, as a plugin sees it: read and search records, add follow-ups
/// and tasks, log.
///
/// Calls work while the plugin is handling an event, on the thread that
/// called the handler; elsewhere (in [`Plugin::new`], on a thread the plugin
/// started) they fail with [`Error::HostUnavailable`], because the host
/// cannot tell which transaction they would belong to. Logging works
/// everywhere.
#[derive(Clone, Copy)]
pub struct HostApi {
    table: HostTable,
}

// SAFETY: the host promises (see `HostTable`) that its callbacks may be called
// from any thread and that `context` stays valid while the instance lives; the
// table itself is plain data.
unsafe impl Send for HostApi {}
// SAFETY: as above; no method mutates the table.
unsafe impl Sync for HostApi {}

impl std::fmt::Debug for HostApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostApi").finish_non_exhaustive()
    }
}

impl HostApi {
    /// Reads the host's table after checking its header.
    ///
    /// # Safety
    /// `table` must be null or point to a [`HostTable`] (at least its
    /// header, and the whole table if the header checks out) whose functions
    /// and context stay valid for as long as the returned value is used.
    pub unsafe fn from_raw(table: *const HostTable) -> Result<HostApi> {
        if table.is_null() {
            return Err(Error::Abi("the host passed no callback table".into()));
        }
        // SAFETY: the header is the first field of every table version.
        let header = unsafe { *table.cast::<TableHeader>() };
        header
            .check::<HostTable>("the host's callback table")
            .map_err(Error::Abi)?;
        // SAFETY: the header says the table is at least this big and of this ABI.
        Ok(HostApi {
            table: unsafe { *table },
        })
    }

    /// A host that answers every call with [`Error::HostUnavailable`] and
    /// drops log messages: for unit-testing a plugin without a host.
    pub fn detached() -> HostApi {
        HostApi {
            table: detached::TABLE,
        }
    }

    /// Who caused the event this thread is handling: an agent's login, or
    /// `system` for work no agent started (reminder passes, inbound mail).
    /// `None` outside a handler, and from a host that does not say (see
    /// [`Delivered`](crate::abi::Delivered)). Needs no call into the host.
    pub fn actor(&self) -> Option<String> {
        crate::export::current_actor()
    }

    /// The customer with `id`, if it exists.
    pub fn customer(&self, id: CustomerId) -> Result<Option<Customer>> {
        let call = "customer";
        // SAFETY: the table's functions are valid (from_raw's contract).
        self.answer(call, |out| unsafe {
            (self.table.customer)(self.table.context, id.0, out)
        })
    }

    /// The case with `number`, if it exists.
    pub fn case(&self, number: CaseNumber) -> Result<Option<Case>> {
        // SAFETY: as in `customer`.
        self.answer("case", |out| unsafe {
            (self.table.case)(self.table.context, number.0, out)
        })
    }

    /// The customers matching every criterion set in `query`.
    pub fn find_customers(&self, query: &CustomerQuery) -> Result<Vec<Customer>> {
        let call = "find_customers";
        let bytes = encode(call, query)?;
        // SAFETY: as in `customer`; `bytes` outlives the call.
        self.answer(call, |out| unsafe {
            (self.table.find_customers)(self.table.context, bytes.as_ptr(), bytes.len(), out)
        })
    }

    /// The open cases of `customer`, newest first.
    pub fn open_cases(&self, customer: CustomerId) -> Result<Vec<Case>> {
        // SAFETY: as in `customer`.
        self.answer("open_cases", |out| unsafe {
            (self.table.open_cases)(self.table.context, customer.0, out)
        })
    }

    /// A page of a case's follow-ups, newest first (see [`FollowUpQuery`]):
    /// whether a case holds a note, what the customer last wrote.
    pub fn follow_ups(&self, query: &FollowUpQuery) -> Result<Vec<FollowUp>> {
        let call = "follow_ups";
        let bytes = encode(call, query)?;
        // SAFETY: as in `find_customers`.
        self.answer(call, |out| unsafe {
            (self.table.follow_ups)(self.table.context, bytes.as_ptr(), bytes.len(), out)
        })
    }

    /// A page of a customer's cases, newest first (see [`CaseQuery`]).
    pub fn cases(&self, query: &CaseQuery) -> Result<Vec<Case>> {
        let call = "cases";
        let bytes = encode(call, query)?;
        // SAFETY: as in `find_customers`.
        self.answer(call, |out| unsafe {
            (self.table.cases)(self.table.context, bytes.as_ptr(), bytes.len(), out)
        })
    }

    /// Adds a follow-up to a case and returns it as saved.
    pub fn add_follow_up(&self, follow_up: &NewFollowUp) -> Result<FollowUp> {
        let call = "add_follow_up";
        let bytes = encode(call, follow_up)?;
        // SAFETY: as in `find_customers`.
        self.answer(call, |out| unsafe {
            (self.table.add_follow_up)(self.table.context, bytes.as_ptr(), bytes.len(), out)
        })
    }

    /// Plans a task and returns it as saved.
    pub fn add_task(&self, task: &NewTask) -> Result<Task> {
        let call = "add_task";
        let bytes = encode(call, task)?;
        // SAFETY: as in `find_customers`.
        self.answer(call, |out| unsafe {
            (self.table.add_task)(self.table.context, bytes.as_ptr(), bytes.len(), out)
        })
    }

    /// Writes `message` to the host's log under the plugin's name.
    pub fn log(&self, level: LogLevel, message: &str) {
        // SAFETY: as in `customer`; `message` outlives the call.
        unsafe {
            (self.table.log)(
                self.table.context,
                level as u32,
                message.as_ptr(),
                message.len(),
            )
        }
    }

    /// [`HostApi::log`] at [`LogLevel::Info`].
    pub fn info(&self, message: &str) {
        self.log(LogLevel::Info, message);
    }

    /// [`HostApi::log`] at [`LogLevel::Warn`].
    pub fn warn(&self, message: &str) {
        self.log(LogLevel::Warn, message);
    }

    /// [`HostApi::log`] at [`LogLevel::Error`].
    pub fn error(&self, message: &str) {
        self.log(LogLevel::Error, message);
    }

    /// Runs one callback, decodes its answer and frees the host's buffer.
    fn answer<T: DeserializeOwned>(
        &self,
        call: &'static str,
        invoke: impl FnOnce(*mut Buffer) -> i32,
    ) -> Result<T> {
        let mut out = Buffer::EMPTY;
        let code = invoke(&mut out);
        let result = {
            // SAFETY: the host filled `out` (or left it empty) and it is not freed yet.
            let bytes = unsafe { out.as_slice() };
            match code {
                status::OK => serde_json::from_slice(bytes).map_err(|e| Error::Decode {
                    what: call,
                    message: e.to_string(),
                }),
                status::UNAVAILABLE => Err(Error::HostUnavailable(call)),
                status::PANIC => Err(Error::Host {
                    call,
                    message: format!("the host panicked: {}", String::from_utf8_lossy(bytes)),
                }),
                _ => Err(Error::Host {
                    call,
                    message: String::from_utf8_lossy(bytes).into_owned(),
                }),
            }
        };
        // SAFETY: the host allocated `out`; its own function frees it, once.
        unsafe { (self.table.free_buffer)(out) };
        result
    }
}

fn encode(call: &'static str, value: &impl Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Decode {
        what: call,
        message: format!("cannot encode the request: {e}"),
    })
}

/// The table behind [`HostApi::detached`], for tests of the glue.
#[cfg(test)]
pub(crate) fn detached_table() -> HostTable {
    detached::TABLE
}

/// The table behind [`HostApi::detached`].
mod detached {
    use super::*;

    unsafe extern "C" fn by_id(_: *const c_void, _: i64, _: *mut Buffer) -> i32 {
        status::UNAVAILABLE
    }
    unsafe extern "C" fn by_bytes(_: *const c_void, _: *const u8, _: usize, _: *mut Buffer) -> i32 {
        status::UNAVAILABLE
    }
    unsafe extern "C" fn log(_: *const c_void, _: u32, _: *const u8, _: usize) {}
    unsafe extern "C" fn free_buffer(buffer: Buffer) {
        // SAFETY: this table never fills buffers, so only empty ones come back.
        unsafe { buffer.free() }
    }

    pub(super) const TABLE: HostTable = HostTable {
        header: TableHeader::of::<HostTable>(),
        context: std::ptr::null(),
        customer: by_id,
        case: by_id,
        find_customers: by_bytes,
        open_cases: by_id,
        add_follow_up: by_bytes,
        add_task: by_bytes,
        follow_ups: by_bytes,
        cases: by_bytes,
        log,
        free_buffer,
    };
}

#[cfg(test)]
mod tests {
    //! The trait offers one handler per event kind, named after the kind.

    use std::collections::BTreeSet;
    use std::sync::Mutex;

    use super::*;

    /// Records the name of every handler called.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<&'static str>>);

    impl Recorder {
        fn called(&self, name: &'static str) -> Result<Outcome> {
            self.0
                .lock()
                .map_err(|_| Error::failed("poisoned"))?
                .push(name);
            Ok(Outcome::Continue)
        }

        fn take(&self) -> Vec<&'static str> {
            self.0
                .lock()
                .map(|mut calls| std::mem::take(&mut *calls))
                .unwrap_or_default()
        }
    }

    impl Plugin for Recorder {
        const EVENTS: &'static [EventKind] = &EventKind::ALL;

        fn new(_: serde_json::Value, _: HostApi) -> Result<Self> {
            Ok(Recorder::default())
        }
        fn before_save(&self, _: &mut SaveEvent) -> Result<Outcome> {
            self.called("before_save")
        }
        fn after_save(&self, _: &mut SaveEvent) -> Result<Outcome> {
            self.called("after_save")
        }
        fn screen_pop(&self, _: &mut ScreenPop) -> Result<Outcome> {
            self.called("screen_pop")
        }
        fn disposition(&self, _: &mut Disposition) -> Result<Outcome> {
            self.called("disposition")
        }
        fn notification(&self, _: &mut Notification) -> Result<Outcome> {
            self.called("notification")
        }
        fn email_received(&self, _: &mut EmailReceived) -> Result<Outcome> {
            self.called("email_received")
        }
        fn email_held(&self, _: &mut EmailHeld) -> Result<Outcome> {
            self.called("email_held")
        }
        fn chat_offered(&self, _: &mut ChatEvent) -> Result<Outcome> {
            self.called("chat_offered")
        }
        fn chat_ended(&self, _: &mut ChatEvent) -> Result<Outcome> {
            self.called("chat_ended")
        }
        fn task_reminder(&self, _: &mut TaskReminder) -> Result<Outcome> {
            self.called("task_reminder")
        }
        fn directory_changed(&self, _: &mut DirectoryChanged) -> Result<Outcome> {
            self.called("directory_changed")
        }
    }

    /// `dispatch` matches `Event` exhaustively, so a new kind cannot compile
    /// without a handler; this checks each handler is the kind's own.
    #[test]
    fn every_event_kind_has_the_handler_named_after_it() {
        let plugin = Recorder::default();
        let mut covered = BTreeSet::new();
        for mut event in Event::examples() {
            let kind = event.kind();
            assert!(matches!(
                dispatch(&plugin, &mut event),
                Ok(Outcome::Continue)
            ));
            assert_eq!(plugin.take(), [kind.as_str()], "handler called for {kind}");
            covered.insert(kind);
        }
        let all: BTreeSet<EventKind> = EventKind::ALL.into_iter().collect();
        assert_eq!(covered, all, "the examples cover every kind");
    }
}

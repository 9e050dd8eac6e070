//! One plugin instance, as a pipeline [`Handler`]. Its callbacks reach the
//! event's context through the thread's current context, which the runner
//! sets around the call.

use std::ffi::c_void;
use std::sync::Arc;
use std::time::Duration;

use dossier_sdk::abi::patch::Patchable;
use dossier_sdk::abi::{Buffer, Created, Delivered, HostTable, Reply, status};
use dossier_sdk::{Event, EventKind, Outcome};
use parking_lot::ReentrantMutex;

use super::callbacks::{self, Context};
use super::library::PluginLibrary;
use dossier_core::events::{Actor, Ctx, Handler};
use dossier_types::{Error, Result};

/// A created plugin instance.
///
/// Dropping it destroys the instance first, then releases its library
/// (which unloads once no other instance uses it).
pub struct NativePlugin {
    name: String,
    /// Bit `i` set: handles `EventKind::ALL[i]`.
    events: u32,
    instance: *mut c_void,
    /// Serializes calls into plugins that are not thread-safe. Re-entrant: a
    /// plugin's callback may fire an event the same plugin handles, on the
    /// same thread.
    lock: Option<ReentrantMutex<()>>,
    /// Boxed so its address, handed to the plugin, never moves.
    _host_table: Box<HostTable>,
    _context: Box<Context>,
    /// Declared last so it is dropped after the instance is destroyed.
    library: Arc<PluginLibrary>,
}

// SAFETY: the instance is a `Plugin: Send + Sync` on the plugin side (the SDK
// requires it), and plugins that did not declare themselves thread-safe are
// only called under `lock`. The other fields are plain data.
unsafe impl Send for NativePlugin {}
// SAFETY: as above.
unsafe impl Sync for NativePlugin {}

/// How long a call waits for a non-thread-safe plugin busy on another
/// thread. Bounded so that a lock-order cycle (this thread holds the store's
/// writer and waits for the plugin; the plugin's handler, on the other
/// thread, waits for the writer in a callback) ends in an error and a
/// rollback instead of a deadlock.
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// A plugin's panic message as one line: errors are one sentence, and a
/// multi-line panic message would break the CLI's one-line `error:`.
fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        "(no message)".to_owned()
    } else {
        lines.join(" / ")
    }
}

fn bit(kind: EventKind) -> u32 {
    let index = EventKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
    1 << index
}

impl NativePlugin {
    /// Creates an instance of the plugin in `library` with `config`.
    pub fn create(library: Arc<PluginLibrary>, config: &toml::Table) -> Result<NativePlugin> {
        let name = library.handshake().name.clone();
        let refuse = |message: String| Error::Plugin {
            plugin: format!("{name} ({})", library.path().display()),
            message,
        };
        let config = serde_json::to_vec(config)
            .map_err(|e| refuse(format!("cannot encode its config: {e}")))?;
        let context = Box::new(Context { name: name.clone() });
        let host_table = Box::new(callbacks::table(&context));
        let table = *library.table();
        let mut instance: *mut c_void = std::ptr::null_mut();
        let mut out = Buffer::EMPTY;
        // SAFETY: valid pointers; `host_table` and `context` live as long as
        // the instance (they are dropped after it in `Drop`).
        let code = unsafe {
            (table.create)(
                config.as_ptr(),
                config.len(),
                &*host_table,
                &mut instance,
                &mut out,
            )
        };
        let answer = {
            // SAFETY: the plugin filled `out`; not freed yet.
            let bytes = unsafe { out.as_slice() };
            match code {
                status::OK => serde_json::from_slice::<Created>(bytes)
                    .map_err(|e| format!("answered an unreadable creation report: {e}")),
                status::PANIC => Err(format!(
                    "panicked while starting: {}",
                    one_line(&String::from_utf8_lossy(bytes))
                )),
                _ => Err(format!(
                    "refused to start: {}",
                    String::from_utf8_lossy(bytes)
                )),
            }
        };
        // SAFETY: the plugin allocated `out`; its own function frees it.
        unsafe { (table.free_buffer)(out) };
        let created = match answer {
            Ok(created) if !instance.is_null() => created,
            Ok(_) => return Err(refuse("reported success but made no instance".into())),
            Err(message) => {
                if !instance.is_null() {
                    // SAFETY: made by this library's `create`, destroyed once.
                    unsafe { (table.destroy)(instance) };
                }
                return Err(refuse(message));
            }
        };
        let declared = &library.handshake().events;
        let events = created
            .events
            .iter()
            .filter(|k| declared.contains(k))
            .fold(0, |mask, k| mask | bit(*k));
        let lock = (!library.handshake().thread_safe).then(|| ReentrantMutex::new(()));
        Ok(NativePlugin {
            name,
            events,
            instance,
            lock,
            _host_table: host_table,
            _context: context,
            library,
        })
    }

    /// The events this instance handles.
    pub fn events(&self) -> Vec<EventKind> {
        EventKind::ALL
            .into_iter()
            .filter(|k| self.events & bit(*k) != 0)
            .collect()
    }

    fn fail(&self, message: String) -> Error {
        Error::Plugin {
            plugin: self.name.clone(),
            message,
        }
    }
}

impl Handler for NativePlugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn handles(&self, event: &Event) -> bool {
        self.events & bit(event.kind()) != 0
    }

    fn handle(&self, ctx: &mut Ctx, event: &mut Event) -> Result<Outcome> {
        let kind = event.kind();
        let actor = match ctx.actor() {
            Actor::System => "system",
            Actor::Agent(login) => login.as_str(),
        };
        let bytes = serde_json::to_vec(&Delivered {
            actor,
            event: &*event,
        })
        .map_err(|e| self.fail(format!("cannot encode the {kind} event: {e}")))?;
        let table = self.library.table();
        let reply = {
            let _serial = match &self.lock {
                Some(lock) => Some(lock.try_lock_for(BUSY_WAIT).ok_or_else(|| {
                    self.fail(format!(
                        "was busy on another thread for {} s, so the {kind} event could not be handled; \
                         a callback of that call may be waiting for this very write",
                        BUSY_WAIT.as_secs()
                    ))
                })?),
                None => None,
            };
            let mut out = Buffer::EMPTY;
            // SAFETY: a live instance of this library; borrowed event bytes;
            // calls serialized unless the plugin declared itself thread-safe.
            let code =
                unsafe { (table.handle)(self.instance, bytes.as_ptr(), bytes.len(), &mut out) };
            let reply = {
                // SAFETY: the plugin filled `out`; not freed yet.
                let answer = unsafe { out.as_slice() };
                match code {
                    status::OK => serde_json::from_slice::<Reply>(answer).map_err(|e| {
                        format!("answered the {kind} event with an unreadable reply: {e}")
                    }),
                    status::ERROR => Err(format!(
                        "failed on the {kind} event: {}",
                        String::from_utf8_lossy(answer)
                    )),
                    status::PANIC => Err(format!(
                        "panicked on the {kind} event: {}",
                        one_line(&String::from_utf8_lossy(answer))
                    )),
                    other => Err(format!(
                        "answered the {kind} event with unknown status {other}"
                    )),
                }
            };
            // SAFETY: the plugin allocated `out`; its own function frees it.
            unsafe { (table.free_buffer)(out) };
            reply
        };
        let reply = reply.map_err(|m| self.fail(m))?;
        // The reply carries what the handler changed, applied to the event
        // held here; a patch that does not fit changes nothing.
        if let Some(patch) = reply.patch {
            if patch.kind() != kind {
                return Err(self.fail(format!(
                    "turned a {kind} event into a {} event; a handler may change an event but not its kind",
                    patch.kind()
                )));
            }
            event.patch(patch).map_err(|e| {
                self.fail(format!(
                    "answered the {kind} event with a patch that does not fit it: {e}"
                ))
            })?;
        }
        Ok(reply.outcome)
    }
}

impl Drop for NativePlugin {
    fn drop(&mut self) {
        let table = self.library.table();
        let _serial = self.lock.as_ref().map(ReentrantMutex::lock);
        // SAFETY: made by this library's `create`, destroyed once, before the
        // library can be released (it is a later field).
        unsafe { (table.destroy)(self.instance) };
    }
}

impl std::fmt::Debug for NativePlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativePlugin")
            .field("name", &self.name)
            .field("events", &self.events())
            .field("path", &self.library.path())
            .finish_non_exhaustive()
    }
}

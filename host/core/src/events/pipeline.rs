//! The handlers of one host, in the order they run: the admin's scripts,
//! then native plugins in config order, then the embedder's in-process
//! handlers in registration order.

use std::sync::Arc;

use dossier_sdk::{Event, Outcome};

use super::context::{self, Ctx};
use super::hooks::{HOOKS, hook_index};
use dossier_types::{Error, Result};

/// Something that handles events: the admin's scripts, one native plugin,
/// or an embedder's in-process handler added with
/// `HostBuilder::handler`.
pub trait Handler: Send + Sync {
    /// The name shown in errors, logs and the outbox (script directory,
    /// plugin name). Also the key of this handler's after-save deliveries,
    /// so keep it stable across restarts.
    fn name(&self) -> &str;

    /// Whether this handler wants `event` at all. Called before
    /// [`handle`](Handler::handle) so that an event nobody handles costs no
    /// serialization; it must be cheap and must not read the store.
    fn handles(&self, event: &Event) -> bool;

    /// Handles `event`, possibly changing it. `Ok(Outcome::Veto(msg))` stops
    /// the run and is reported as vetoed by [`name`](Handler::name); an
    /// error stops it too. Either way, the write a guarding event guards is
    /// rolled back with everything handlers wrote through `ctx`.
    ///
    /// A handler may change what its event's kind allows (see
    /// `dossier_sdk::events`); the host checks the event's kind after each
    /// handler and validates the result again before writing.
    fn handle(&self, ctx: &mut Ctx, event: &mut Event) -> Result<Outcome>;
}

/// One registered handler and the key its outbox deliveries are filed under.
#[derive(Clone)]
pub struct Registered {
    pub key: String,
    pub handler: Arc<dyn Handler>,
    /// `"<name> (<hook>)"` for each hook, in [`HOOKS`] order: what a write
    /// the handler makes is marked with, made once rather than per call.
    running: Vec<Arc<str>>,
}

/// The ordered handlers of one host. Fixed once the host is open.
#[derive(Default)]
pub struct Pipeline {
    handlers: Vec<Registered>,
    /// How many handlers, from the first, decide `handles` by the event's
    /// kind alone (and a save's record kind): scripts and plugins.
    by_kind: usize,
}

impl Pipeline {
    /// Builds the pipeline from its parts, in run order. Delivery keys are
    /// the handlers' names, made unique with `#2`, `#3` when two share one
    /// (the same plugin configured twice). The first `by_kind` handlers
    /// (scripts and plugins) want an event by its kind and a save's record
    /// kind alone, never by what it holds (see [`Pipeline::may_handle`]).
    pub fn new(handlers: impl IntoIterator<Item = Arc<dyn Handler>>, by_kind: usize) -> Pipeline {
        let mut out: Vec<Registered> = Vec::new();
        for handler in handlers {
            let name = handler.name().to_owned();
            let mut key = name.clone();
            let mut n = 1;
            while out.iter().any(|r| r.key == key) {
                n += 1;
                key = format!("{name}#{n}");
            }
            let running = HOOKS
                .iter()
                .map(|hook| Arc::from(format!("{name} ({hook})")))
                .collect();
            out.push(Registered {
                key,
                handler,
                running,
            });
        }
        let by_kind = by_kind.min(out.len());
        Pipeline {
            handlers: out,
            by_kind,
        }
    }

    /// Whether any handler is registered.
    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty()
    }

    /// Whether any handler wants `event`.
    pub fn any_handles(&self, event: &Event) -> bool {
        self.handlers.iter().any(|r| r.handler.handles(event))
    }

    /// Whether some handler may want `event` once its costly parts (a
    /// save's changed fields, a pop's open cases) are filled in: `event` may
    /// lack them. Scripts and plugins are asked, since they decide by kind;
    /// an in-process handler may look at anything, so with one registered
    /// the answer is yes.
    pub fn may_handle(&self, event: &Event) -> bool {
        self.handlers.len() > self.by_kind || self.handlers.iter().any(|r| r.handler.handles(event))
    }

    /// The handlers that want `event`, in run order.
    pub fn handling<'p>(&'p self, event: &'p Event) -> impl Iterator<Item = &'p Registered> {
        self.handlers.iter().filter(|r| r.handler.handles(event))
    }

    /// The handler filed under `key`.
    pub fn by_key(&self, key: &str) -> Option<&Registered> {
        self.handlers.iter().find(|r| r.key == key)
    }

    /// Runs every handler that wants `event`, in order; the first veto or
    /// error wins.
    pub fn run(&self, ctx: &mut Ctx, event: &mut Event) -> Result<()> {
        for registered in &self.handlers {
            if registered.handler.handles(event) {
                call(ctx, registered, event)?;
            }
        }
        Ok(())
    }
}

/// Calls one handler with `ctx` current on the thread, and checks that it
/// left an event of the same kind.
pub fn call(ctx: &mut Ctx, registered: &Registered, event: &mut Event) -> Result<()> {
    let handler = registered.handler.as_ref();
    let kind = event.kind();
    let running = registered.running.get(hook_index(event)).cloned();
    let outer = ctx.set_running(running);
    let outcome = {
        let _current = context::enter(ctx);
        handler.handle(ctx, event)
    };
    ctx.set_running(outer);
    match outcome? {
        Outcome::Continue => {}
        Outcome::Veto(message) => {
            return Err(Error::Vetoed {
                by: handler.name().to_owned(),
                message,
            });
        }
    }
    if event.kind() != kind {
        return Err(Error::Refused(format!(
            "{} turned a {kind} event into a {} event; a handler may change an event but not its kind",
            handler.name(),
            event.kind()
        )));
    }
    Ok(())
}

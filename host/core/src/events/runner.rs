//! The one runner every event goes through.
//!
//! A feature (a record save, a screen-pop, a disposition, a notification, a
//! reminder, and later an inbound email or a chat) supplies a [`Step`]: its
//! built-in behaviour, its validation, and what it does with the event as
//! the handlers left it. The runner does the rest, the same way for all:
//!
//! 1. opens the write's transaction when the step writes, or joins the one
//!    already open on this thread; when the step only reads but the event
//!    guards what handlers may write and some handler wants it, opens a
//!    transaction that takes the write lock only at the handlers' first
//!    write (so a pop with hooks that only read never waits for a writer);
//! 2. runs the built-in step;
//! 3. runs the handlers: scripts, then plugins, then in-process handlers,
//!    each with the context, checking after each that the event is still of
//!    its kind (`pipeline::call`);
//! 4. validates again when a handler changed the event;
//! 5. finishes: the write, queuing after-events;
//! 6. commits; the outermost commit delivers queued after-save events.
//!
//! A veto or error at any step rolls back everything the run wrote,
//! handlers' writes included.

use std::sync::Arc;

use dossier_sdk::{Event, EventKind};

use super::Ctx;
use crate::runtime::Runtime;
use dossier_types::Result;

/// What a feature plugs into the runner.
pub trait Step {
    /// What the operation returns.
    type Out;

    /// The event it fires.
    fn kind(&self) -> EventKind;

    /// Names the write in errors.
    fn label(&self) -> &str;

    /// Whether the built-in step or `finish` writes, so the run always
    /// needs a transaction. A step that only reads (a screen-pop) runs
    /// without one unless a handler wants the event.
    fn writes(&self) -> bool;

    /// The built-in behaviour; returns the event for the handlers, or
    /// `None` when there is nothing to do (a reminder someone else claimed),
    /// in which case no handler runs.
    fn built_in(&mut self, rt: &Arc<Runtime>, ctx: &Ctx) -> Result<Option<Event>>;

    /// Validates the event again after handlers changed it, correcting what
    /// may be corrected and refusing the rest. `built` is the event as the
    /// built-in step made it.
    fn recheck(
        &mut self,
        rt: &Arc<Runtime>,
        ctx: &Ctx,
        built: &Event,
        event: &mut Event,
    ) -> Result<()>;

    /// Completes the operation with the event as handlers left it.
    fn finish(self, rt: &Arc<Runtime>, ctx: &Ctx, event: Option<Event>) -> Result<Self::Out>;
}

impl Runtime {
    /// Runs `step`'s event: see the module docs.
    pub fn run<S: Step>(self: &Arc<Self>, ctx: &Ctx, mut step: S) -> Result<S::Out> {
        if step.writes() {
            let label = step.label().to_owned();
            return self.transaction(&label, || {
                let event = step.built_in(self, ctx)?;
                let handled = self.wanted(event.as_ref());
                self.dispatch(ctx, step, event, handled)
            });
        }
        let event = step.built_in(self, ctx)?;
        let handled = self.wanted(event.as_ref());
        if handled && step.kind().guards_write() {
            // The step itself only read: take the write lock only if a
            // handler writes, so a pop with hooks still never waits for a
            // writer unless its hooks write.
            let label = step.label().to_owned();
            self.guarded(&label, || self.dispatch(ctx, step, event, handled))
        } else {
            self.dispatch(ctx, step, event, handled)
        }
    }

    /// Whether some handler wants `event` (asked once per run).
    fn wanted(&self, event: Option<&Event>) -> bool {
        event.is_some_and(|e| self.pipeline().any_handles(e))
    }

    fn dispatch<S: Step>(
        self: &Arc<Self>,
        ctx: &Ctx,
        mut step: S,
        event: Option<Event>,
        handled: bool,
    ) -> Result<S::Out> {
        let Some(mut event) = event else {
            return step.finish(self, ctx, None);
        };
        if handled {
            let before = event.clone();
            let mut handler_ctx = ctx.share();
            self.pipeline().run(&mut handler_ctx, &mut event)?;
            if event != before {
                step.recheck(self, ctx, &before, &mut event)?;
            }
        }
        step.finish(self, ctx, Some(event))
    }
}

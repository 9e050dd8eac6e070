//! The thread-local stack of hook calls in progress.
//!
//! Functions registered into the engine (`veto`, a failed host write) need
//! to know which script is running and to leave a veto or failure for the
//! handler to report. Rhai calls them with script values only, so the
//! handler pushes a [`Frame`] for the duration of each hook call and those
//! functions read the top one. Hooks nest (a hook's write fires hooks of
//! its own) on the same thread, hence a stack. What a hook may read and
//! write comes from the event context the runner made current
//! (`dossier_core::events::context`), the one mechanism scripts share with plugin
//! callbacks.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::Instant;

use dossier_sdk::Record;

use dossier_types::Error;

use super::LoadedScript;

/// One hook call in progress.
pub struct Frame {
    pub script: Arc<LoadedScript>,
    pub hook: &'static str,
    /// Set by `veto(msg)`: the hook stops and the write is rolled back.
    pub veto: Option<String>,
    /// Set by `invalid(field, msg)`: the field and the rule it broke; the
    /// hook stops and the write fails as a validation error.
    pub invalid: Option<(String, String)>,
    /// A host operation called by the hook failed; the hook was stopped and
    /// this is the error to report (kept whole, not flattened to text).
    pub failure: Option<Error>,
}

/// What `dossier script test` collects while a hook runs in a dry run.
#[derive(Debug, Default)]
pub struct Capture {
    pub printed: Vec<String>,
    pub writes: Vec<Record>,
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
    /// The wall-clock deadline of the innermost hook call, read by the
    /// engine's progress callback (kept apart from `FRAMES` so that the hot
    /// callback does no `RefCell` bookkeeping).
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    static CAPTURE: RefCell<Option<Capture>> = const { RefCell::new(None) };
}

/// What a hook call left on its frame.
#[derive(Debug, Default)]
pub struct Ending {
    /// `veto(msg)`'s message.
    pub veto: Option<String>,
    /// `invalid(field, msg)`'s field and message.
    pub invalid: Option<(String, String)>,
    /// A host operation's failure.
    pub failure: Option<Error>,
}

/// Pops its frame and restores the outer deadline when dropped, so that a
/// panic or early return never leaves a stale frame behind.
pub struct FrameGuard {
    outer_deadline: Option<Instant>,
}

/// Pushes `frame` with `deadline` until the returned guard is dropped.
pub fn enter(frame: Frame, deadline: Option<Instant>) -> FrameGuard {
    FRAMES.with(|f| f.borrow_mut().push(frame));
    let outer_deadline = DEADLINE.with(|d| d.replace(deadline));
    FrameGuard { outer_deadline }
}

impl FrameGuard {
    /// Pops the frame, returning how the hook ended: its veto, its
    /// refusal of a field and its failure.
    pub fn finish(self) -> Ending {
        let frame = FRAMES.with(|f| f.borrow_mut().pop());
        DEADLINE.with(|d| d.set(self.outer_deadline));
        std::mem::forget(self);
        match frame {
            Some(f) => Ending {
                veto: f.veto,
                invalid: f.invalid,
                failure: f.failure,
            },
            None => Ending::default(),
        }
    }
}

impl Drop for FrameGuard {
    fn drop(&mut self) {
        FRAMES.with(|f| f.borrow_mut().pop());
        DEADLINE.with(|d| d.set(self.outer_deadline));
    }
}

/// The deadline of the innermost hook call on this thread.
pub fn deadline() -> Option<Instant> {
    DEADLINE.with(Cell::get)
}

/// The script and hook of the innermost call, for messages.
pub fn current_script() -> Option<(Arc<LoadedScript>, &'static str)> {
    FRAMES.with(|f| f.borrow().last().map(|fr| (fr.script.clone(), fr.hook)))
}

/// Records a veto on the innermost frame.
pub fn set_veto(message: String) {
    FRAMES.with(|f| {
        if let Some(top) = f.borrow_mut().last_mut() {
            top.veto.get_or_insert(message);
        }
    });
}

/// Records a refused field on the innermost frame (the first one counts).
pub fn set_invalid(field: String, message: String) {
    FRAMES.with(|f| {
        if let Some(top) = f.borrow_mut().last_mut() {
            top.invalid.get_or_insert((field, message));
        }
    });
}

/// Records a host failure on the innermost frame.
pub fn set_failure(error: Error) {
    FRAMES.with(|f| {
        if let Some(top) = f.borrow_mut().last_mut()
            && top.failure.is_none()
        {
            top.failure = Some(error);
        }
    });
}

/// Starts collecting prints and writes for a dry run; returns what an
/// enclosing capture had collected so far (normally nothing).
pub fn start_capture() -> Option<Capture> {
    CAPTURE.with(|c| c.replace(Some(Capture::default())))
}

/// Stops collecting and returns what was collected, restoring `outer`.
pub fn finish_capture(outer: Option<Capture>) -> Capture {
    CAPTURE.with(|c| c.replace(outer)).unwrap_or_default()
}

/// Whether a dry run is collecting output.
pub fn capturing() -> bool {
    CAPTURE.with(|c| c.borrow().is_some())
}

/// Adds a line printed by a script to the capture.
pub fn capture_print(line: String) {
    CAPTURE.with(|c| {
        if let Some(cap) = c.borrow_mut().as_mut() {
            cap.printed.push(line);
        }
    });
}

/// Adds a record written by a script to the capture.
pub fn capture_write(record: Record) {
    CAPTURE.with(|c| {
        if let Some(cap) = c.borrow_mut().as_mut() {
            cap.writes.push(record);
        }
    });
}

/// Sets this thread's deadline without a frame, returning the one it
/// replaces: for the engine's own tests.
#[cfg(test)]
pub fn replace_deadline(deadline: Option<Instant>) -> Option<Instant> {
    DEADLINE.with(|d| d.replace(deadline))
}

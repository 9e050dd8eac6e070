//! Progress bars for long commands (backup, restore, import, export, a
//! maildir's ingest), with
//! indicatif, on stderr and only when stderr is a terminal: piped or
//! redirected output stays free of them.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar, or nothing when stderr is not a terminal.
pub(crate) struct Bar(Option<ProgressBar>);

impl Bar {
    /// A bar on stderr if it is a terminal.
    pub(crate) fn new() -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{msg:>16} [{bar:40}] {percent:>3}% {elapsed_precise}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Bar(Some(bar))
    }

    /// Shows `done` of `total` with `what` beside it.
    pub(crate) fn step(&self, what: &'static str, done: u64, total: u64) {
        if let Some(bar) = &self.0 {
            bar.set_message(what);
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    /// Runs `f` (which prints to stderr) with the bar out of the way, so
    /// that its line does not tear the bar.
    pub(crate) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.0 {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the bar, so the command's own output follows cleanly.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}

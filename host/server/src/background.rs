//! The server's own work, so no `dossier run` runs beside it: reminders as
//! they come due, chat offers' deadlines, outbox delivery and retries, the
//! event log's pruning, scripts edited on disk; and the pump that hands the
//! event streams what other processes commit.
//!
//! Each pass is a write on the writer, like a request's, and fires at most
//! [`ServerOptions::reminders_per_pass`](crate::ServerOptions) reminders:
//! a pass of 1,500 reminders is thirty writes with the requests that
//! arrive meanwhile served between them, not one long wait. Between passes
//! the loop sleeps until the next reminder or deadline is due (or
//! `[reminders] poll_seconds`); a write that may have set an earlier one
//! (a chat offered, a task planned) wakes it to look again.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dossier_host::Host;

use crate::AppState;

/// The soonest time a write may have made a deadline earlier is looked
/// for again: often enough for deadlines in seconds, rarely enough that a
/// busy server's writes do not each cost a read.
const LOOK_AGAIN: Duration = Duration::from_millis(100);

/// How often the pump looks for what other processes committed.
const FOREIGN_POLL: Duration = Duration::from_secs(1);

/// Runs the background passes until the server stops (the task is
/// dropped).
pub(crate) async fn passes(state: Arc<AppState>) {
    let poll = Duration::from_secs(state.host.config().reminders.poll_seconds.max(1));
    loop {
        let next = match pass(&state).await {
            Ok(Pass::More) => {
                tokio::task::yield_now().await;
                continue;
            }
            Ok(Pass::Done(next)) => next,
            Err(e) => {
                tracing::warn!(target: "dossier_server::background", "background pass failed: {e}");
                None
            }
        };
        wait(&state, next, poll).await;
    }
}

enum Pass {
    /// Reminders remain due: pass again at once.
    More,
    /// Done; the next reminder or deadline, if any.
    Done(Option<DateTime<Utc>>),
}

async fn pass(state: &Arc<AppState>) -> crate::error::Result<Pass> {
    let host = state.host.clone();
    let limit = state.options.reminders_per_pass;
    let tick = state
        .writer
        .run(move || {
            report_reload(&host);
            host.tick_limited(limit)
        })
        .await??;
    let failed = tick.fired.iter().filter(|f| f.problem.is_some()).count();
    if !tick.fired.is_empty() || tick.delivered > 0 || !tick.chat.timed_out.is_empty() {
        tracing::info!(
            target: "dossier_server::background",
            "fired {} reminders ({failed} with failed hooks), delivered {} outbox entries, {} chat offers timed out",
            tick.fired.len(),
            tick.delivered,
            tick.chat.timed_out.len(),
        );
    }
    if tick.more {
        return Ok(Pass::More);
    }
    Ok(Pass::Done(earliest(
        tick.next_reminder,
        tick.chat.next_deadline,
    )))
}

fn report_reload(host: &Host) {
    match host.reload_scripts_if_changed() {
        Ok(reload) => {
            for name in &reload.reloaded {
                tracing::info!(target: "dossier_server::background", "reloaded script {name}");
            }
            for name in &reload.removed {
                tracing::info!(target: "dossier_server::background", "dropped script {name} (its file is gone)");
            }
            for e in &reload.errors {
                tracing::warn!(target: "dossier_server::background", "kept the previous version: {e}");
            }
        }
        Err(e) => {
            tracing::warn!(target: "dossier_server::background", "cannot reload scripts: {e}")
        }
    }
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Sleeps until `next` (at most `poll`), looking again after writes.
async fn wait(state: &Arc<AppState>, mut next: Option<DateTime<Utc>>, poll: Duration) {
    let started = tokio::time::Instant::now();
    loop {
        let now = state.host.now();
        let until_next = next.map(|t| (t - now).to_std().unwrap_or_default());
        let elapsed = started.elapsed();
        let left = poll.saturating_sub(elapsed);
        let wait = until_next.map_or(left, |d| d.min(left));
        if wait.is_zero() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => return,
            _ = state.wake.notified() => {
                tokio::time::sleep(LOOK_AGAIN).await;
                let host = state.host.clone();
                let found = crate::writer::read(move || {
                    Ok::<_, dossier_host::Error>(earliest(
                        host.next_reminder_at()?,
                        host.next_chat_deadline()?,
                    ))
                })
                .await;
                match found {
                    Ok(Ok(found)) => next = earliest(next, found),
                    Ok(Err(e)) => tracing::warn!(target: "dossier_server::background", "cannot read deadlines: {e}"),
                    Err(e) => tracing::warn!(target: "dossier_server::background", "cannot read deadlines: {e}"),
                }
            }
        }
    }
}

/// Hands the event streams what other processes commit (this server's own
/// writes are pumped by the writer as they finish).
pub(crate) async fn foreign_pump(state: Arc<AppState>) {
    let mut every = tokio::time::interval(FOREIGN_POLL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let hub = state.hub.clone();
        match crate::writer::read(move || hub.pump()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) | Err(e) => {
                tracing::warn!(target: "dossier_server::background", "event pump failed: {e}")
            }
        }
    }
}

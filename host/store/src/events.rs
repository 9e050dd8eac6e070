//! The event log: what agents' screens and chat visitors' windows must be
//! told, kept in the order the changes committed.
//!
//! An event is written in the transaction that made the change it
//! reports, so it exists exactly when the change does; readers take events
//! by sequence number, which follows commit order (one writer at a time).
//! Events are kept for a configured time, then pruned; a reader whose place
//! is older than the oldest event kept has missed some.

use chrono::{DateTime, Utc};

use dossier_types::Result;

/// One event kept in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Its place in the log: increasing in commit order, never reused.
    pub seq: i64,
    /// The agent whose screen it is for, if any.
    pub agent: Option<String>,
    /// The chat whose visitor's window it is for, if any.
    pub chat: Option<i64>,
    /// What happened (`offered`, `message`, `pop`, `reminder`, ...).
    pub kind: String,
    /// The event, as a JSON object.
    pub data: String,
    /// When it was written.
    pub at: DateTime<Utc>,
}

/// Whose events a read takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventScope<'a> {
    /// Every event.
    All,
    /// The events for this agent.
    Agent(&'a str),
    /// The events for this chat's visitor.
    Chat(i64),
}

/// Where the log stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogBounds {
    /// The oldest event kept, if any is.
    pub first: Option<i64>,
    /// The last sequence number ever given (0 when none was), kept even
    /// when pruning emptied the log.
    pub last: i64,
}

/// The event log's operations.
pub trait EventLogTx {
    /// Appends an event in this transaction; returns its sequence number.
    fn log_event(
        &self,
        agent: Option<&str>,
        chat: Option<i64>,
        kind: &str,
        data: &str,
        at: DateTime<Utc>,
    ) -> Result<i64>;

    /// The events of `scope` after `after`, in order, at most `limit`.
    fn events_after(
        &self,
        after: i64,
        scope: EventScope<'_>,
        limit: u32,
    ) -> Result<Vec<LoggedEvent>>;

    /// The oldest event kept and the last sequence number given.
    fn event_log_bounds(&self) -> Result<LogBounds>;

    /// When the oldest event kept was written.
    fn oldest_event_at(&self) -> Result<Option<DateTime<Utc>>>;

    /// Drops the events written before `before`; returns how many.
    fn prune_events(&self, before: DateTime<Utc>) -> Result<usize>;
}

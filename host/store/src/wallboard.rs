//! What a supervisor's wallboard reads: each queue's line of waiting
//! items, the items that arrived lately with when they were answered, and
//! how many events of a kind were logged lately.

use chrono::{DateTime, Utc};
use dossier_types::Result;
use dossier_types::queues::QueueChannel;

/// The items waiting in one queue's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLine {
    /// The queue.
    pub queue: String,
    /// Chats wait in chat queues, new emails' cases in email queues.
    pub channel: QueueChannel,
    /// How many wait, offered to no one.
    pub waiting: u32,
    /// When the one waiting longest arrived.
    pub oldest: Option<DateTime<Utc>>,
}

/// One chat or new email that arrived in a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// The queue it arrived in.
    pub queue: String,
    /// A chat or an email.
    pub channel: QueueChannel,
    /// When it arrived.
    pub arrived_at: DateTime<Utc>,
    /// When an agent accepted it, if one has.
    pub accepted_at: Option<DateTime<Utc>>,
}

/// The wallboard's reads.
pub trait WallboardTx {
    /// Every queue's waiting items (queues with none are left out).
    fn queue_lines(&self) -> Result<Vec<QueueLine>>;

    /// The chats and new emails that arrived at or after `since`, oldest
    /// first.
    fn arrivals_since(&self, since: DateTime<Utc>) -> Result<Vec<Arrival>>;

    /// How many events of `kind` (`timed_out`, ...) the event log holds
    /// from `since` on.
    fn events_since(&self, kind: &str, since: DateTime<Utc>) -> Result<u64>;
}

//! Queues, their members, and who is switched on: the rows routing reads.
//!
//! Every change to a queue or a membership takes the next value of one
//! counter (`queue_rev`, kept by triggers so no write can forget it), so a
//! routing cache rebuilds only when the queues changed.

use chrono::{DateTime, Utc};

use dossier_types::Result;
use dossier_types::queues::{Queue, QueueChannel, QueueSource};

/// Queues and memberships.
pub trait QueueTx {
    /// Every queue with its members, by name.
    fn queues(&self) -> Result<Vec<Queue>>;

    /// The queue `name`, with its members.
    fn queue(&self, name: &str) -> Result<Option<Queue>>;

    /// The queues' change counter: it goes up with every change to a queue
    /// or a membership (0 before the first).
    fn queue_rev(&self) -> Result<i64>;

    /// Creates queue `name`, or sets its channel, capacity and source when
    /// it exists.
    fn put_queue(
        &self,
        name: &str,
        channel: QueueChannel,
        capacity: Option<u32>,
        source: QueueSource,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Removes queue `name` and its memberships; `false` when there is none.
    fn delete_queue(&self, name: &str) -> Result<bool>;

    /// Assigns `login` to `queue`, switched on; an existing membership
    /// keeps its switch and takes `source`. `false` when there is no such
    /// queue.
    fn assign_member(
        &self,
        queue: &str,
        login: &str,
        source: QueueSource,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// Removes `login` from `queue`; `false` when they were not assigned.
    fn unassign_member(&self, queue: &str, login: &str) -> Result<bool>;

    /// Switches `login`'s membership of `queue` on or off; `false` when
    /// they are not assigned to it.
    fn set_member_joined(
        &self,
        queue: &str,
        login: &str,
        joined: bool,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// A setting the store keeps (e.g. the fingerprint of the config's
    /// queues last applied).
    fn setting(&self, key: &str) -> Result<Option<String>>;

    /// Keeps `value` as setting `key`.
    fn set_setting(&self, key: &str, value: &str) -> Result<()>;
}

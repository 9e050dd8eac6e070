//! Queues, their members, and who is switched on: the rows routing reads.
//!
//! Every change to a queue or a membership takes the next value of one
//! counter (`queue_rev`, kept by triggers so no write can forget it), so a
//! routing cache rebuilds only when the queues changed.

use chrono::{DateTime, Utc};

use dossier_sdk::{CaseNumber, FollowUpId};
use dossier_types::Result;
use dossier_types::queues::{EmailOffer, Queue, QueueChannel, QueueSource};

/// Queues and memberships.
pub trait QueueTx {
    /// Every queue with its members, by name.
    fn queues(&self) -> Result<Vec<Queue>>;

    /// The queue `name`, with its members.
    fn queue(&self, name: &str) -> Result<Option<Queue>>;

    /// The names of the queues of `channel`, in order, without reading
    /// their members (routing's per-offer read).
    fn queue_names(&self, channel: QueueChannel) -> Result<Vec<String>>;

    /// Queue `name`'s channel and own capacity, without reading its
    /// members; `None` when there is no such queue.
    fn queue_capacity(&self, name: &str) -> Result<Option<(QueueChannel, Option<u32>)>>;

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

    /// Puts a new email's case in line in email queue `queue`; its id, or
    /// `None` when there is no email queue of that name (an admin removed
    /// the queue the routing names): nothing is written then.
    fn insert_email_offer(
        &self,
        queue: &str,
        case: CaseNumber,
        follow_up: Option<FollowUpId>,
        subject: &str,
        sender: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>>;

    /// One email offer.
    fn email_offer(&self, id: i64) -> Result<Option<EmailOffer>>;

    /// `agent`'s offered and accepted (not done) email offers, oldest first.
    fn email_offers_of(&self, agent: &str) -> Result<Vec<EmailOffer>>;

    /// The email offers of `queue` still waiting, oldest arrival first, at
    /// most `limit`.
    fn waiting_email_offers(&self, queue: &str, limit: u32) -> Result<Vec<i64>>;

    /// The member of email queue `queue` the next offer goes to: switched
    /// on, an enabled agent, available, below `capacity` open email items
    /// (offered or accepted), with the fewest, then idle longest from email
    /// (the earliest last offer or finished item; never offered first),
    /// then by login. `None` when no member qualifies.
    fn pick_email_agent(&self, queue: &str, capacity: u32) -> Result<Option<String>>;

    /// Offers a waiting email to `agent` until `deadline`: only while it is
    /// waiting. False when it is not.
    fn claim_email_offer(
        &self,
        id: i64,
        agent: &str,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> Result<bool>;

    /// Accepts an email offered to `agent` before its deadline, recording
    /// its workbin item. False when it is not offered to them, or too late.
    fn accept_email_offer(
        &self,
        id: i64,
        agent: &str,
        now: DateTime<Utc>,
        workbin_id: i64,
    ) -> Result<bool>;

    /// Puts an email offered to `agent` back in line (keeping its arrival):
    /// only if it is offered to them and, with `due_at` (a missed
    /// deadline), only if its deadline is at or before it.
    fn return_email_offer(
        &self,
        id: i64,
        agent: &str,
        due_at: Option<DateTime<Utc>>,
    ) -> Result<bool>;

    /// Ids of email offers whose deadline is at or before `now`, soonest first.
    fn due_email_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<i64>>;

    /// The soonest deadline of an email offer.
    fn next_email_deadline(&self) -> Result<Option<DateTime<Utc>>>;
}

//! What the email channel keeps: the ingest log (every email by its key,
//! with what it became), the blob references, and the workbins.

use chrono::{DateTime, Utc};
use dossier_sdk::{CaseNumber, Draft, FollowUpId, HeldEmail, HeldState, ReviewStep, WorkbinItem};

use dossier_types::Result;

/// What the ingest log says about one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRecord {
    /// The follow-up it became, if it was stored.
    pub follow_up: Option<FollowUpId>,
    /// Why it was dropped, if it was.
    pub dropped: Option<String>,
}

/// A new workbin entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorkbinItem<'a> {
    /// The agent, for a personal entry.
    pub agent: Option<&'a str>,
    /// The group, for a group's entry.
    pub group: Option<&'a str>,
    /// The case.
    pub case_number: CaseNumber,
    /// The email follow-up, if the entry is one.
    pub follow_up: Option<FollowUpId>,
    /// The draft, if the entry is one.
    pub draft: Option<i64>,
    /// Why it is there.
    pub reason: &'a str,
    /// When.
    pub at: DateTime<Utc>,
}

/// An inbound email to hold: see [`EmailTx::hold_email`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHeldEmail<'a> {
    /// Its idempotency key.
    pub key: &'a str,
    /// Where it came from.
    pub source: &'a str,
    /// The sender's address as it came.
    pub sender: &'a str,
    /// The subject.
    pub subject: &'a str,
    /// Why it is held.
    pub reason: &'a str,
    /// The message as received.
    pub raw: &'a [u8],
    /// When.
    pub at: DateTime<Utc>,
}

/// The email channel's tables.
pub trait EmailTx {
    /// Holds an inbound email; returns its id. A message already held
    /// under the same key keeps its row, with the new reason and time.
    fn hold_email(&self, held: &NewHeldEmail<'_>) -> Result<i64>;

    /// Held mail, oldest first: only what still waits, or all with `all`.
    fn held_emails(&self, all: bool) -> Result<Vec<HeldEmail>>;

    /// One held email, with the message as received.
    fn held_email(&self, id: i64) -> Result<Option<(HeldEmail, Vec<u8>)>>;

    /// Marks held email `id` released or discarded by `by`; false when it
    /// no longer waits.
    fn close_held_email(
        &self,
        id: i64,
        state: HeldState,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool>;

    /// The ingest log's entry for `key`, if the email was seen before.
    fn inbound(&self, key: &str) -> Result<Option<InboundRecord>>;

    /// Logs an ingested email: stored as `follow_up`, or dropped for
    /// `dropped`.
    fn insert_inbound(
        &self,
        key: &str,
        follow_up: Option<FollowUpId>,
        sender: &str,
        subject: &str,
        dropped: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()>;

    /// Records that `owner` (`follow_up`, later `draft`) number `owner_id`
    /// uses blob `blob`.
    fn add_blob_ref(&self, blob: &str, owner: &str, owner_id: i64) -> Result<()>;

    /// The cases of the follow-ups that use blob `blob`.
    fn cases_with_blob(&self, blob: &str) -> Result<Vec<CaseNumber>>;

    /// Every blob some row references.
    fn referenced_blobs(&self) -> Result<Vec<String>>;

    /// Up to `limit` referenced blobs whose id starts with `prefix` (lower-case
    /// hex digits), in order: what a short attachment id may stand for.
    fn blobs_with_prefix(&self, prefix: &str, limit: u32) -> Result<Vec<String>>;

    /// The referenced blobs just before and just after `blob` in id order
    /// (whether or not `blob` itself is referenced): the two ids its
    /// shortest unique prefix must tell it apart from.
    fn blob_neighbours(&self, blob: &str) -> Result<(Option<String>, Option<String>)>;

    /// The login of the agent who last wrote on `case` (a note, an email,
    /// a chat log), if any did.
    fn last_agent_on_case(&self, case: CaseNumber) -> Result<Option<String>>;

    /// Every address (lower case) that sent or received an email on `case`.
    fn thread_addresses(&self, case: CaseNumber) -> Result<Vec<String>>;

    /// Adds a workbin entry; returns its id. An email already waiting in
    /// the same workbin is not added twice (the existing id is returned).
    fn insert_workbin(&self, item: &NewWorkbinItem<'_>) -> Result<i64>;

    /// The entries waiting for `agent` or one of `groups` (oldest first),
    /// with done ones too when `include_done`.
    fn workbin(
        &self,
        agent: &str,
        groups: &[String],
        include_done: bool,
    ) -> Result<Vec<WorkbinItem>>;

    /// One entry.
    fn workbin_item(&self, id: i64) -> Result<Option<WorkbinItem>>;

    /// Marks entry `id` done by `by`; false when it was done already.
    fn workbin_done(&self, id: i64, by: &str, at: DateTime<Utc>) -> Result<bool>;

    /// Marks the open workbin entries of draft `draft` done.
    fn workbin_done_for_draft(&self, draft: i64, by: &str, at: DateTime<Utc>) -> Result<()>;

    /// Writes a new draft (its id is allocated here) and returns the id.
    fn insert_draft(&self, draft: &Draft) -> Result<i64>;

    /// Replaces a draft's content and state.
    fn update_draft(&self, draft: &Draft) -> Result<()>;

    /// One draft.
    fn draft(&self, id: i64) -> Result<Option<Draft>>;

    /// How many drafts of case `case` other than `except` were not
    /// discarded (being written, in review, saved or sent).
    fn other_drafts_on_case(&self, case: CaseNumber, except: i64) -> Result<u64>;

    /// An agent's drafts still being written (or sent back by review),
    /// oldest first.
    fn open_drafts(&self, agent: &str) -> Result<Vec<Draft>>;

    /// Drafts waiting for review, oldest first.
    fn review_queue(&self) -> Result<Vec<Draft>>;

    /// Records a review step of draft `draft`.
    fn add_review_step(&self, draft: i64, step: &ReviewStep) -> Result<()>;

    /// Draft `draft`'s review steps, in order.
    fn review_steps(&self, draft: i64) -> Result<Vec<ReviewStep>>;
}

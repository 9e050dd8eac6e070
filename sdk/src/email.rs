//! What the email channel gives embedders: the agent's workbin and the
//! outcome of ingesting one message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{CaseNumber, FollowUpId, Mailbox};

/// One entry in an agent's workbin: an email (or a case) waiting for them,
/// or for their group, until it is marked done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkbinItem {
    /// The entry's id (what `dossier workbin done` takes).
    pub id: i64,
    /// The agent it waits for, when it is personal.
    #[serde(default)]
    pub agent: Option<String>,
    /// The group it waits for, when it went to a group.
    #[serde(default)]
    pub group: Option<String>,
    /// The case.
    pub case_number: CaseNumber,
    /// The case's subject.
    pub subject: String,
    /// The email follow-up, when the entry is an email.
    #[serde(default)]
    pub follow_up: Option<FollowUpId>,
    /// The draft, when the entry is one being written.
    #[serde(default)]
    pub draft: Option<i64>,
    /// Who the email is from, when the entry is an email.
    #[serde(default)]
    pub from: Option<Mailbox>,
    /// Why it is here: `email joined the case (last agent on it)`, `saved
    /// for later by alice`.
    pub reason: String,
    /// When it arrived in the workbin.
    pub added_at: DateTime<Utc>,
    /// When it was marked done, if it was.
    #[serde(default)]
    pub done_at: Option<DateTime<Utc>>,
    /// Who marked it done.
    #[serde(default)]
    pub done_by: Option<String>,
}

/// What ingesting one email did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Ingested {
    /// The email was stored as an `email_in` follow-up.
    Stored {
        /// The case it joined or opened.
        case_number: CaseNumber,
        /// The follow-up it became.
        follow_up: FollowUpId,
        /// Whether this email opened the case.
        new_case: bool,
        /// How it was threaded (the follow-up records the same).
        threaded_by: String,
        /// Whose workbin it went to (`alice`, `group billing`), if any.
        #[serde(default)]
        workbin: Option<String>,
    },
    /// The same email was ingested before; nothing new was written.
    Duplicate {
        /// The follow-up it became then, if it was stored.
        #[serde(default)]
        follow_up: Option<FollowUpId>,
        /// Why it was dropped then, if it was.
        #[serde(default)]
        dropped: Option<String>,
    },
    /// The email was dropped (a blocked sender, a hook's veto); the reason
    /// is recorded, and nothing is sent back.
    Dropped {
        /// Why.
        reason: String,
    },
    /// The email was stored on a case the agent who ingested it may not
    /// see (a private case): that it was stored is all they are told.
    StoredUnseen,
    /// The email could not be stored (a hook vetoed its case or customer,
    /// a rule refused it, it is over the size limit): it is kept whole as
    /// held mail, with the reason, until an admin releases or discards it.
    Held {
        /// The held mail's id (`dossier email held show ID`).
        id: i64,
        /// Why it could not be stored.
        reason: String,
    },
}

/// Where a held email stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeldState {
    /// Waiting for an admin.
    Held,
    /// Released: ingested again, and stored (or held anew, for a new reason).
    Released,
    /// Thrown away by an admin.
    Discarded,
}

impl HeldState {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            HeldState::Held => "held",
            HeldState::Released => "released",
            HeldState::Discarded => "discarded",
        }
    }
}

/// An inbound email kept whole because it could not be stored, with why.
/// Nothing an inbound email meets between its parse and its commit loses
/// it: what cannot be stored is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldEmail {
    /// The id (`dossier email held show|release|discard ID`).
    pub id: i64,
    /// The email's idempotency key: its Message-ID, or `sha256:` of its bytes.
    pub key: String,
    /// Where it came from (a file name, `stdin`, a maildir entry).
    pub source: String,
    /// The sender's address as it came.
    pub sender: String,
    /// The subject.
    pub subject: String,
    /// Why it is held.
    pub reason: String,
    /// The size of the message as received, in bytes.
    pub size: u64,
    /// When it was held.
    pub held_at: DateTime<Utc>,
    /// Held, released or discarded.
    pub state: HeldState,
    /// Who released or discarded it.
    #[serde(default)]
    pub closed_by: Option<String>,
    /// When it was released or discarded.
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
}

/// How a draft started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftKind {
    /// A new message on a case (or to a customer found by search, or during a call).
    New,
    /// A reply to an inbound email's sender.
    Reply,
    /// A reply to the sender and everyone else on the email, except us.
    ReplyAll,
    /// The email passed on to someone outside, with a note above it and its attachments.
    Forward,
}

impl DraftKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DraftKind::New => "new",
            DraftKind::Reply => "reply",
            DraftKind::ReplyAll => "reply_all",
            DraftKind::Forward => "forward",
        }
    }
}

impl std::str::FromStr for DraftKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "new" => DraftKind::New,
            "reply" => DraftKind::Reply,
            "reply_all" => DraftKind::ReplyAll,
            "forward" => DraftKind::Forward,
            other => return Err(format!("unknown draft kind `{other}`")),
        })
    }
}

/// Where a draft stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftState {
    /// Being written: editable, in the agent's workbin.
    Draft,
    /// Kept on the case as a saved message, not sent.
    Saved,
    /// Sent: its `email_out` follow-up is on the case and its delivery queued.
    Sent,
    /// Thrown away.
    Discarded,
    /// Waiting in the QA review queue.
    InReview,
    /// Sent back by a reviewer with remarks; the agent edits and sends again.
    Rejected,
}

impl DraftState {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DraftState::Draft => "draft",
            DraftState::Saved => "saved",
            DraftState::Sent => "sent",
            DraftState::Discarded => "discarded",
            DraftState::InReview => "in_review",
            DraftState::Rejected => "rejected",
        }
    }
}

impl std::str::FromStr for DraftState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "draft" => DraftState::Draft,
            "saved" => DraftState::Saved,
            "sent" => DraftState::Sent,
            "discarded" => DraftState::Discarded,
            "in_review" => DraftState::InReview,
            "rejected" => DraftState::Rejected,
            other => return Err(format!("unknown draft state `{other}`")),
        })
    }
}

/// An outbound email being written: unlike a follow-up, editable until it
/// is saved, sent or discarded. It belongs to an agent and a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// The draft's id.
    pub id: i64,
    /// The agent writing it.
    pub agent: String,
    /// The case it belongs to.
    pub case_number: CaseNumber,
    /// How it started.
    pub kind: DraftKind,
    /// The email it answers or forwards, if any.
    #[serde(default)]
    pub answers: Option<FollowUpId>,
    /// Sender (the agent's or the group's address).
    #[serde(default)]
    pub from: Option<Mailbox>,
    /// Recipients.
    #[serde(default)]
    pub to: Vec<Mailbox>,
    /// Carbon-copy recipients.
    #[serde(default)]
    pub cc: Vec<Mailbox>,
    /// Blind carbon-copy recipients.
    #[serde(default)]
    pub bcc: Vec<Mailbox>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// HTML body, if any.
    #[serde(default)]
    pub html: Option<String>,
    /// Attachments (their bytes are in the blob store).
    #[serde(default)]
    pub attachments: Vec<crate::model::Attachment>,
    /// Where it stands.
    pub state: DraftState,
    /// The follow-up it became, once saved or sent.
    #[serde(default)]
    pub follow_up: Option<FollowUpId>,
    /// The reviewer's remarks when it was last rejected.
    #[serde(default)]
    pub remarks: Option<String>,
    /// The signature to insert on send, by name; `None` for the agent's
    /// default (else their group's).
    #[serde(default)]
    pub signature: Option<String>,
    /// Whether its case was opened for it (a new email to a customer found
    /// by search): discarding the draft closes that case when nothing else
    /// was written on it.
    #[serde(default)]
    pub opened_case: bool,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An edit of a draft: each field set replaces the draft's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DraftChange {
    /// New sender.
    pub from: Option<Mailbox>,
    /// New recipients.
    pub to: Option<Vec<Mailbox>>,
    /// New carbon-copy recipients.
    pub cc: Option<Vec<Mailbox>>,
    /// New blind carbon-copy recipients.
    pub bcc: Option<Vec<Mailbox>>,
    /// New subject.
    pub subject: Option<String>,
    /// New text body.
    pub body: Option<String>,
    /// New HTML body (`Some(None)` removes it).
    pub html: Option<Option<String>>,
    /// The signature to insert on send, by name (`Some(None)`: the default).
    pub signature: Option<Option<String>>,
}

/// One step of a draft's QA review, with who and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewStep {
    /// `submitted`, `rejected`, `edited`, `approved` or `sent`.
    pub step: String,
    /// Who took it.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The reviewer's remarks (on a rejection).
    #[serde(default)]
    pub remarks: Option<String>,
}

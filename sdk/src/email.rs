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
}

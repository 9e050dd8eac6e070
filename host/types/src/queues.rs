//! Queues kept in the store: which interactions of a channel they hold,
//! who is assigned to them, and who is switched on.
//!
//! `dossier.toml` gives the initial queues (`[chat.queues.<name>]`); the
//! store keeps them from then on, with what admins add or remove and what
//! agents switch on and off themselves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The channel whose interactions a queue holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueChannel {
    /// Chats, offered to one member at a time.
    Chat,
    /// New emails (their cases), offered to one member at a time.
    Email,
}

impl QueueChannel {
    /// The name kept in the store and shown in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueChannel::Chat => "chat",
            QueueChannel::Email => "email",
        }
    }

    /// Parses [`QueueChannel::as_str`]'s names.
    pub fn parse(s: &str) -> Option<QueueChannel> {
        match s {
            "chat" => Some(QueueChannel::Chat),
            "email" => Some(QueueChannel::Email),
            _ => None,
        }
    }
}

impl std::fmt::Display for QueueChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a queue or a membership came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueSource {
    /// `dossier.toml`: the next change of the config's queues may change
    /// or remove it.
    Config,
    /// An admin (`dossier queue add`): the config leaves it alone.
    Admin,
}

impl QueueSource {
    /// The name kept in the store and shown in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueSource::Config => "config",
            QueueSource::Admin => "admin",
        }
    }

    /// Parses [`QueueSource::as_str`]'s names.
    pub fn parse(s: &str) -> Option<QueueSource> {
        match s {
            "config" => Some(QueueSource::Config),
            "admin" => Some(QueueSource::Admin),
            _ => None,
        }
    }
}

/// An agent assigned to a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMember {
    /// The agent.
    pub login: String,
    /// Switched on: the queue's interactions are offered to them. An agent
    /// switches their own assigned queues with `dossier queue join|leave`
    /// when they hold `manage_own_queues`.
    pub joined: bool,
    /// Who assigned them.
    pub source: QueueSource,
    /// When their membership last changed.
    pub changed_at: DateTime<Utc>,
}

/// A queue and its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    /// Its name (1 to 64 letters, digits, `.`, `_`, `-` or `@`).
    pub name: String,
    /// The channel whose interactions it holds.
    pub channel: QueueChannel,
    /// The most interactions of this queue a member handles at once, when
    /// the queue sets it (the lower of this and the agent's own applies).
    pub capacity: Option<u32>,
    /// Who made it.
    pub source: QueueSource,
    /// Its members, by login.
    pub members: Vec<QueueMember>,
}

impl Queue {
    /// The member `login`, if assigned.
    pub fn member(&self, login: &str) -> Option<&QueueMember> {
        self.members.iter().find(|m| m.login == login)
    }
}

/// Whether `name` is a valid queue name: 1 to 64 letters, digits, `.`,
/// `_`, `-` or `@`.
pub fn valid_queue_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// Where an email offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailOfferState {
    /// In its queue's line, offered to no one.
    Waiting,
    /// Offered to one member until a deadline.
    Offered,
    /// Accepted: in the agent's workbin, counting against their capacity
    /// until the workbin item is done.
    Accepted,
    /// Its workbin item is done.
    Done,
}

impl EmailOfferState {
    /// The name kept in the store and shown in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailOfferState::Waiting => "waiting",
            EmailOfferState::Offered => "offered",
            EmailOfferState::Accepted => "accepted",
            EmailOfferState::Done => "done",
        }
    }

    /// Parses [`EmailOfferState::as_str`]'s names.
    pub fn parse(s: &str) -> Option<EmailOfferState> {
        [
            EmailOfferState::Waiting,
            EmailOfferState::Offered,
            EmailOfferState::Accepted,
            EmailOfferState::Done,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

impl std::fmt::Display for EmailOfferState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A new email's case waiting in an email queue, offered, or accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailOffer {
    /// Its id.
    pub id: i64,
    /// The email queue it waits in.
    pub queue: String,
    /// The case the email opened.
    pub case_number: dossier_sdk::CaseNumber,
    /// The email's follow-up.
    pub follow_up: Option<dossier_sdk::FollowUpId>,
    /// The email's subject, for the offer's preview.
    pub subject: String,
    /// Who sent it.
    pub sender: String,
    /// Where it stands.
    pub state: EmailOfferState,
    /// When it joined the line (its place, kept through rejections).
    pub arrived_at: DateTime<Utc>,
    /// The agent it is offered to, or who accepted it.
    pub agent: Option<String>,
    /// The acceptance deadline of the current offer.
    pub deadline: Option<DateTime<Utc>>,
    /// How many times it was offered.
    pub offers: u32,
}

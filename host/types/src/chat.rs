//! The chat channel's domain types that the store keeps and the layers
//! above share: agents' states, chats and their messages, the filter of a
//! chat listing.

use std::fmt;

use chrono::{DateTime, Utc};
use dossier_sdk::{CaseNumber, CustomerId, Interaction, ScreenPop};
use serde::{Deserialize, Serialize};

/// The most characters one chat message may hold.
pub const MAX_MESSAGE_CHARS: usize = 1940;

/// An agent's chat state, as they set it (or a reject or a missed offer
/// set it). "Busy" is not a state of its own: it is an available agent at
/// capacity ([`AgentStatus::busy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Takes chats from their queues.
    Available,
    /// On break: keeps their chats, gets no new ones. Rejecting an offer or
    /// letting it expire puts an agent here.
    Break,
    /// Working offline: keeps their chats, gets no new ones.
    Offline,
    /// Not at their desk (every agent starts here).
    #[default]
    LoggedOut,
}

impl AgentState {
    /// Every state.
    pub const ALL: [AgentState; 4] = [
        AgentState::Available,
        AgentState::Break,
        AgentState::Offline,
        AgentState::LoggedOut,
    ];

    /// The snake_case name kept in the store and shown in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Available => "available",
            AgentState::Break => "break",
            AgentState::Offline => "offline",
            AgentState::LoggedOut => "logged_out",
        }
    }

    /// Parses [`AgentState::as_str`]'s names (`logged-out` too).
    pub fn parse(s: &str) -> Option<AgentState> {
        let s = s.replace('-', "_");
        AgentState::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an agent stands for chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentStatus {
    /// The agent.
    pub login: String,
    /// Their state.
    pub state: AgentState,
    /// Available but at capacity in every queue they belong to.
    pub busy: bool,
    /// Chats they accepted and have not ended.
    pub active: u32,
    /// Offers waiting for their answer.
    pub pending: u32,
    /// The most chats they may have (their own capacity, before any
    /// queue's lower one).
    pub capacity: u32,
    /// The queues they take chats from.
    pub queues: Vec<String>,
    /// When the state was set.
    pub since: DateTime<Utc>,
    /// Why, when the host set it (`rejected chat 12`, `no answer to chat 12`).
    pub reason: Option<String>,
    /// When they were last offered a chat, ended one, or became available:
    /// the longest-idle rule compares it.
    pub idle_since: DateTime<Utc>,
}

/// One recorded change of an agent's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateChange {
    /// The agent.
    pub login: String,
    /// `available`, `busy`, `break`, `offline` or `logged_out`.
    pub state: String,
    /// Why, when the host changed it.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Where a chat is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatState {
    /// In its queue's line.
    Waiting,
    /// Offered to an agent, until they accept or reject or the deadline passes.
    Offered,
    /// Accepted: the agent and the customer talk.
    Active,
    /// Over.
    Ended,
}

impl ChatState {
    /// The snake_case name kept in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatState::Waiting => "waiting",
            ChatState::Offered => "offered",
            ChatState::Active => "active",
            ChatState::Ended => "ended",
        }
    }

    /// Parses [`ChatState::as_str`]'s names.
    pub fn parse(s: &str) -> Option<ChatState> {
        [
            ChatState::Waiting,
            ChatState::Offered,
            ChatState::Active,
            ChatState::Ended,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ChatState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of a chat's log (its transcript as a case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogState {
    /// The chat has not ended.
    Pending,
    /// Saved as a case ([`Chat::case_number`]).
    Saved,
    /// Ended with `[chat] auto_log` on, but the customer is not known: the
    /// agent must pick or create them ([`Host::save_chat_log`](crate::Host::save_chat_log)).
    NeedsCustomer,
    /// Ended with `[chat] auto_log` off: nothing was saved; the agent may
    /// still save it.
    NotLogged,
}

impl LogState {
    /// The snake_case name kept in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            LogState::Pending => "pending",
            LogState::Saved => "saved",
            LogState::NeedsCustomer => "needs_customer",
            LogState::NotLogged => "not_logged",
        }
    }

    /// Parses [`LogState::as_str`]'s names.
    pub fn parse(s: &str) -> Option<LogState> {
        [
            LogState::Pending,
            LogState::Saved,
            LogState::NeedsCustomer,
            LogState::NotLogged,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One chat, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chat {
    /// Its id (what `dossier chat accept ID` takes).
    pub id: i64,
    /// The queue it arrived in.
    pub queue: String,
    /// Where it is in its life.
    pub state: ChatState,
    /// What the chat server said about the customer (name in
    /// `context.name`, email, IP address, account or case they named).
    pub interaction: Interaction,
    /// When it arrived: its place in line, kept across offers.
    pub arrived_at: DateTime<Utc>,
    /// The agent it is offered to or was accepted by.
    pub agent: Option<String>,
    /// When it was last offered.
    pub offered_at: Option<DateTime<Utc>>,
    /// When the current offer expires.
    pub deadline: Option<DateTime<Utc>>,
    /// When the agent accepted it.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// How many times it was offered.
    pub offers: u32,
    /// What the last offer popped for the agent.
    pub pop: Option<ScreenPop>,
    /// The customer, when the pop identified one (or the agent picked one).
    pub customer: Option<CustomerId>,
    /// The disposition code it ended with.
    pub disposition: Option<String>,
    /// The agent's note at the end.
    pub note: Option<String>,
    /// What became of its log.
    pub log: LogState,
    /// The case its log was saved as.
    pub case_number: Option<CaseNumber>,
    /// The log as its agent edited it and kept to finish later, while the
    /// log is not saved (`Host::save_chat_log_draft`); saving the log
    /// without another text saves this one.
    pub log_draft: Option<String>,
}

impl Chat {
    /// The customer's name as the chat form gave it (`context.name`).
    pub fn visitor_name(&self) -> Option<&str> {
        self.interaction.context.get("name").map(String::as_str)
    }
}

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    /// The customer (the chat server sends on their behalf).
    Customer,
    /// The agent handling the chat.
    Agent,
}

impl Sender {
    /// The snake_case name kept in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Customer => "customer",
            Sender::Agent => "agent",
        }
    }
}

/// One message of a transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Its id: transcripts are in id order.
    pub id: i64,
    /// The chat.
    pub chat: i64,
    /// Customer or agent.
    pub sender: Sender,
    /// The agent's login, or the customer's name (`customer` when the chat
    /// form gave none).
    pub author: String,
    /// The text, at most [`MAX_MESSAGE_CHARS`] characters.
    pub text: String,
    /// When it was sent.
    pub at: DateTime<Utc>,
}

/// Which chats a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatFilter {
    /// Only chats offered to, or handled by, this agent.
    pub agent: Option<String>,
    /// Only chats in these states (all states when empty).
    pub states: Vec<ChatState>,
    /// Only ended chats whose log still needs a customer.
    pub needs_customer: bool,
    /// At most this many, newest first (default 100).
    pub limit: Option<u32>,
}

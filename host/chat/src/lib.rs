//! The chat channel: queues, agents' states and capacity, offers with an
//! acceptance deadline, the transcript, and what an ended chat becomes.
//!
//! **The store decides.** Agent states, chats, offers and deadlines are rows
//! of the store (`store::ChatTx`). An offer is a pair of conditional writes
//! in one transaction: the agent's load goes up only while they are
//! available and below the capacity that applies (`UPDATE … WHERE active +
//! pending < ?cap`), and the chat leaves the line only while it is still
//! waiting (`UPDATE … WHERE state = 'waiting'`). SQLite has one writer, so
//! two hosts on one file, or two CLI commands, can never give an agent more
//! than their capacity or one chat to two agents.
//!
//! - `router.rs`: the in-memory index that makes the routing decision (the
//!   longest-idle rule) in microseconds. It is a cache: rebuilt from the
//!   store on the first routing after open, brought up to date from the
//!   store's change counter at the start of every offer, and checked by the
//!   claim.
//! - `capacity.rs`: which capacity applies to an agent in a queue.
//! - `queues.rs`: queues kept in the store (the config's applied when it
//!   changes, admins' and agents' changes), and the view routing reads.
//! - `states.rs`: agents' states (available, break, offline, logged out;
//!   busy when at capacity), every change recorded with its time.
//! - `offers.rs`: arrivals, the `chat_offered` step, accept, reject, and
//!   routing the waiting chats when capacity frees up.
//! - `deadlines.rs`: acceptance deadlines coming due (`Host::tick`).
//! - `transcript.rs`: messages, typing, the `chat_ended` step, and the chat
//!   log saved as a case.
//! - `push.rs`: what `Host::subscribe` streams to a desktop.
//!
//! `docs/chat.md` is the user-facing account.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod capacity;
pub mod deadlines;
pub mod email_offers;
pub mod offers;
pub mod push;
pub mod queues;
mod router;
pub mod states;
pub mod transcript;

use chrono::{DateTime, Utc};
use dossier_sdk::{Case, CaseNumber, CustomerId, FollowUp, NewCustomer, ScreenPop};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use dossier_interact::Disposed;

pub use dossier_types::chat::*;

pub use push::Subscribers;
pub use router::Router;

/// What the runtime keeps for chat besides the store: the routing cache and
/// the subscribers of this process.
pub struct Chats {
    /// The routing index (the longest-idle rule), a cache of the store.
    pub router: Mutex<Router>,
    /// The store's queues as routing reads them (`queues::view`), cached
    /// until the store's queues change.
    view: Mutex<Option<std::sync::Arc<queues::QueueView>>>,
    /// The last view read inside a write transaction that may have
    /// written, with the store's write epoch it was read at: good for that
    /// transaction until its queues change or a savepoint rolls back.
    view_in_write: Mutex<Option<(u64, std::sync::Arc<queues::QueueView>)>>,
    /// How many views this process has read (`Chats::view_reads`).
    view_reads: std::sync::atomic::AtomicU64,
    /// This process's desktops and chat windows listening for pushes.
    pub subscribers: Subscribers,
    /// Set once this process has offered what was left waiting (by a crash
    /// between a commit and the routing that follows it): the first
    /// `Host::tick` does it.
    pub recovered: std::sync::atomic::AtomicBool,
}

/// The chat channel's state on the runtime, made on first use.
pub trait ChatRuntime {
    /// The routing cache and this process's subscribers.
    fn chats(&self) -> std::sync::Arc<Chats>;
}

impl ChatRuntime for dossier_core::runtime::Runtime {
    fn chats(&self) -> std::sync::Arc<Chats> {
        self.state(Chats::new)
    }
}

impl Chats {
    /// The chat state of a host running `config`.
    pub fn new(_config: &dossier_core::config::Config) -> Chats {
        Chats {
            router: Mutex::new(Router::empty()),
            view: Mutex::new(None),
            view_in_write: Mutex::new(None),
            view_reads: std::sync::atomic::AtomicU64::new(0),
            subscribers: Subscribers::default(),
            recovered: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// One offer made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offer {
    /// The chat.
    pub chat: i64,
    /// Its queue.
    pub queue: String,
    /// The agent it went to.
    pub agent: String,
    /// When the offer expires.
    pub deadline: DateTime<Utc>,
}

/// What routing the waiting chats did after a change freed capacity (or a
/// chat arrived).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Routed {
    /// The offers made, in the order they were made.
    pub offers: Vec<Offer>,
    /// Chats whose offer a `chat_offered` or `screen_pop` hook vetoed or
    /// failed: each stays in line, in its place, and is offered again at
    /// the next routing.
    pub problems: Vec<String>,
    /// Email offers made by the same change (an agent available, an email
    /// queue switched on), in the order they were made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<dossier_types::queues::EmailOffer>,
}

/// What `Host::chat_arrived` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Arrived {
    /// The new chat's id.
    pub chat: i64,
    /// The offers routing made (this chat's, if an agent was free and no
    /// older chat waited in its queue).
    pub routed: Routed,
}

/// What `Host::reject_chat` and a missed
/// deadline did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Returned {
    /// The chat, back in line (or already offered again: see `routed`).
    pub chat: i64,
    /// The agent who rejected it or let it expire, now on break.
    pub agent: String,
    /// The offers routing made afterwards.
    pub routed: Routed,
}

/// What one `Host::tick` did for chat.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatTick {
    /// Offers whose acceptance deadline passed: each agent is on break, each
    /// chat went back in line (and maybe to the next agent).
    pub timed_out: Vec<Returned>,
    /// The first tick of a process routes every queue once, for chats a
    /// crash left waiting between a commit and its routing.
    pub recovered: Routed,
    /// Pushes handed to this process's subscribers.
    pub pushed: usize,
    /// The soonest acceptance deadline still running (chat or email): the
    /// loop may sleep until then.
    pub next_deadline: Option<DateTime<Utc>>,
    /// Email offers whose acceptance deadline passed: each agent is on
    /// break, each email went back in line.
    pub email_timed_out: Vec<dossier_types::queues::EmailOffer>,
    /// Email offers this tick made: every tick routes the email queues,
    /// for capacity freed by paths that do not route (a reply that
    /// finished a workbin item, another process).
    pub email_offered: Vec<dossier_types::queues::EmailOffer>,
}

/// What `Host::end_chat` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ended {
    /// The chat as it ended.
    pub chat: Chat,
    /// The transcript as the `chat_ended` hooks left it.
    pub transcript: String,
    /// The log, when it was saved at once (a known customer, `[chat]
    /// auto_log` on).
    pub log: Option<SavedLog>,
    /// The offers routing made with the capacity this freed.
    pub routed: Routed,
}

/// A chat log saved as a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SavedLog {
    /// The new case, as saved (closed when the disposition code closes cases).
    pub case: Case,
    /// The `chat_log` follow-up holding the transcript.
    pub follow_up: FollowUp,
    /// The disposition recorded on the case, when the chat ended with one.
    pub disposed: Option<Disposed>,
}

/// Whom a chat log is saved for, when the pop did not identify the customer.
#[derive(Debug, Clone, PartialEq)]
pub enum LogCustomer {
    /// The customer the pop found (refused when it found none).
    Popped,
    /// An existing customer the agent picked.
    Existing(CustomerId),
    /// A customer the agent creates now.
    New(Box<NewCustomer>),
}

/// Something an agent's desktop (or the customer's chat window) must show,
/// as `Host::subscribe` streams it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "push", rename_all = "snake_case")]
pub enum ChatPush {
    /// A chat is offered to the agent: who the customer is and what popped.
    Offered {
        /// The chat.
        chat: i64,
        /// Its queue.
        queue: String,
        /// The agent it is offered to.
        agent: String,
        /// When the offer expires.
        deadline: DateTime<Utc>,
        /// The customer's name: the chat form's, else the popped customer's.
        name: Option<String>,
        /// The customer's email address.
        email: Option<String>,
        /// The customer's IP address.
        ip: Option<String>,
        /// The screen-pop, as the `screen_pop` hooks left it.
        pop: Box<ScreenPop>,
    },
    /// The agent accepted the chat (the customer's side learns who).
    Accepted {
        /// The chat.
        chat: i64,
        /// The agent.
        agent: String,
    },
    /// A message was sent.
    Message {
        /// The message.
        message: ChatMessage,
    },
    /// The other side is typing (never stored; see `docs/chat.md`).
    Typing {
        /// The chat.
        chat: i64,
        /// Who types.
        from: Sender,
    },
    /// The agent let the offer expire: they are on break, the chat goes to
    /// the next agent.
    TimedOut {
        /// The chat.
        chat: i64,
        /// The agent.
        agent: String,
    },
    /// The agent rejected the offer: they are on break, the chat goes to the
    /// next agent.
    Rejected {
        /// The chat.
        chat: i64,
        /// The agent.
        agent: String,
    },
    /// The agent's state changed.
    State {
        /// The agent.
        agent: String,
        /// The new state.
        state: AgentState,
        /// Why, when the host changed it.
        reason: Option<String>,
    },
    /// The chat ended.
    Ended {
        /// The chat.
        chat: i64,
        /// The agent who handled it.
        agent: Option<String>,
        /// The case its log was saved as, if it was.
        case_number: Option<CaseNumber>,
    },
    /// The subscriber fell so far behind that pushes it had not received
    /// were pruned from the store (after a day): those after `after` and
    /// before `resumed_at` are lost to it; it may reread chats and
    /// transcripts to catch up.
    Missed {
        /// The last push it got.
        after: i64,
        /// The first push it gets again.
        resumed_at: i64,
    },
    /// A new email's case is offered to `agent` until `deadline`
    /// (`dossier email accept|reject OFFER`).
    EmailOffered {
        /// The offer's id.
        offer: i64,
        /// The email queue it waited in.
        queue: String,
        /// The agent it is offered to.
        agent: String,
        /// The case the email opened.
        case_number: CaseNumber,
        /// The email's subject.
        subject: String,
        /// Who sent it.
        sender: String,
        /// When the offer goes to the next member.
        deadline: DateTime<Utc>,
    },
}

impl ChatPush {
    /// The push's tag, as its JSON names it and the event log keeps it as
    /// the event's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            ChatPush::Offered { .. } => "offered",
            ChatPush::Accepted { .. } => "accepted",
            ChatPush::Message { .. } => "message",
            ChatPush::Typing { .. } => "typing",
            ChatPush::TimedOut { .. } => "timed_out",
            ChatPush::Rejected { .. } => "rejected",
            ChatPush::State { .. } => "state",
            ChatPush::Ended { .. } => "ended",
            ChatPush::Missed { .. } => "missed",
            ChatPush::EmailOffered { .. } => "email_offered",
        }
    }
}

/// The chat channel's operations on the runtime, as extension traits: `use dossier_chat::prelude::*;` to call them.
pub mod prelude {
    pub use crate::ChatRuntime;
    pub use crate::deadlines::ChatDeadlines;
    pub use crate::email_offers::EmailOffers;
    pub use crate::offers::ChatOffers;
    pub use crate::queues::ChatQueues;
    pub use crate::states::ChatStates;
    pub use crate::transcript::ChatTranscripts;
}

//! Events: the moments scripts and plugins can act on.
//!
//! The host runs its built-in behaviour for an event, then the admin's Rhai
//! scripts, then native plugins. Each handler receives the event, may change
//! it in place (a `before_save` handler edits the record, a `screen_pop`
//! handler replaces the target) and may veto it. Before-events run inside the
//! transaction of the write they guard, so a veto rolls that write back.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{CaseNumber, CustomerId, EmailHeaders, Mailbox, ObjectKind, Record, Task};

/// The channel an interaction came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A phone call.
    Phone,
    /// A web chat.
    Chat,
    /// An email.
    Email,
}

impl Channel {
    /// The snake_case name used in config and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::Chat => "chat",
            Channel::Email => "email",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "phone" => Ok(Channel::Phone),
            "chat" => Ok(Channel::Chat),
            "email" => Ok(Channel::Email),
            other => Err(format!(
                "unknown channel `{other}` (expected phone, chat or email)"
            )),
        }
    }
}

/// Whether the customer or the contact centre started the interaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The customer reached the contact centre.
    #[default]
    Inbound,
    /// The contact centre reached the customer.
    Outbound,
}

/// A call, chat or email, as the CTI connector, chat server or mail
/// gateway describes it. Every field but the channel is optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    /// How it came in.
    pub channel: Channel,
    /// Inbound or outbound.
    #[serde(default)]
    pub direction: Direction,
    /// The caller's number (ANI), as received.
    #[serde(default)]
    pub caller: Option<String>,
    /// The number dialled (DNIS), as received.
    #[serde(default)]
    pub dialled: Option<String>,
    /// The customer's email address.
    #[serde(default)]
    pub email: Option<String>,
    /// An account number the customer supplied (IVR, chat form).
    #[serde(default)]
    pub account: Option<String>,
    /// A case number the customer supplied.
    #[serde(default)]
    pub case: Option<CaseNumber>,
    /// The chat visitor's IP address.
    #[serde(default)]
    pub ip: Option<String>,
    /// The queue it arrived in.
    #[serde(default)]
    pub queue: Option<String>,
    /// The agent handling it.
    #[serde(default)]
    pub agent: Option<String>,
    /// Key/value context data attached to the interaction.
    #[serde(default)]
    pub context: BTreeMap<String, String>,
}

impl Interaction {
    /// An interaction on `channel` with nothing else known.
    pub fn new(channel: Channel) -> Self {
        Interaction {
            channel,
            direction: Direction::Inbound,
            caller: None,
            dialled: None,
            email: None,
            account: None,
            case: None,
            ip: None,
            queue: None,
            agent: None,
            context: BTreeMap::new(),
        }
    }
}

/// Whether a save creates a record or changes an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaveOp {
    /// The record is new.
    Create,
    /// The record exists and is being changed.
    Update,
}

/// A record about to be saved (`before_save`) or just saved (`after_save`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveEvent {
    /// Create or update.
    pub op: SaveOp,
    /// The record. In `before_save`, handlers may change it; the host
    /// validates it again before writing.
    pub record: Record,
}

/// What a screen-pop shows the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "pop", rename_all = "snake_case")]
pub enum PopTarget {
    /// Show this case.
    Case {
        /// The case.
        case: CaseNumber,
        /// Its customer.
        customer: CustomerId,
    },
    /// Show this customer.
    Customer {
        /// The customer.
        customer: CustomerId,
    },
    /// Several records match: let the agent choose.
    Candidates {
        /// The matching customers, best first.
        customers: Vec<CustomerId>,
    },
    /// Nobody matches: show a new-customer form, prefilled.
    NewCustomer {
        /// Prefilled form fields (`name`, `phone`, `email`, custom field names).
        prefill: BTreeMap<String, String>,
    },
}

/// The `screen_pop` event: an interaction arrived and a record must be shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenPop {
    /// The interaction.
    pub interaction: Interaction,
    /// What will be shown; handlers may replace it.
    pub target: PopTarget,
    /// Why this target was chosen, in words an agent or admin understands.
    pub reason: String,
    /// For a customer or case pop: the customer's open cases, newest first
    /// (at most 20), so the agent can pick the one the call is about. The
    /// host fills it before hooks run and refreshes it for the final target.
    #[serde(default)]
    pub open_cases: Vec<CaseNumber>,
}

/// The `disposition` event: an interaction ended with an outcome code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disposition {
    /// The interaction that ended.
    pub interaction: Interaction,
    /// The disposition code (e.g. `resolved`, `callback`).
    pub code: String,
    /// The agent's note.
    #[serde(default)]
    pub note: Option<String>,
    /// The case it is recorded on, if any.
    #[serde(default)]
    pub case: Option<CaseNumber>,
    /// Whether the case will be closed (from the code's config; handlers may change it).
    #[serde(default)]
    pub close_case: bool,
}

/// The `notification` event: something is about to be sent to a customer or agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The case it concerns, if any.
    #[serde(default)]
    pub case: Option<CaseNumber>,
    /// Sender.
    pub from: Mailbox,
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
    /// Signature appended to the body.
    #[serde(default)]
    pub signature: Option<String>,
    /// Whether the message must go to QA review before it is sent.
    #[serde(default)]
    pub review: bool,
}

/// The `email_received` event: an inbound email was parsed, before threading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailReceived {
    /// The parsed headers.
    pub headers: EmailHeaders,
    /// Plain-text body.
    pub body: String,
    /// The case the host matched, if any; handlers may override it.
    #[serde(default)]
    pub case: Option<CaseNumber>,
    /// Priority to give a new case; handlers may set it.
    #[serde(default)]
    pub priority: Option<String>,
}

/// The `chat_offered` and `chat_ended` events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatEvent {
    /// The chat's id in the routing engine.
    pub chat: i64,
    /// The interaction.
    pub interaction: Interaction,
    /// The agent it is offered to, or who handled it.
    #[serde(default)]
    pub agent: Option<String>,
    /// The transcript, for `chat_ended`.
    #[serde(default)]
    pub transcript: Option<String>,
}

/// The `task_reminder` event: a task's reminder time has come.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskReminder {
    /// The task.
    pub task: Task,
    /// When the reminder fired.
    pub fired_at: DateTime<Utc>,
    /// The notice to send the assignee, if any. The host drafts one when the
    /// assignee is an email address; handlers may write, change or clear it.
    /// What is left goes through the `notification` event.
    #[serde(default)]
    pub notification: Option<Notification>,
}

/// Every event a handler can receive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum Event {
    /// A record is about to be written, inside the write's transaction.
    BeforeSave(SaveEvent),
    /// A record was written and committed.
    AfterSave(SaveEvent),
    /// An interaction arrived and needs a screen-pop.
    ScreenPop(ScreenPop),
    /// An interaction ended with a disposition code.
    Disposition(Disposition),
    /// A notification is about to be sent.
    Notification(Notification),
    /// An inbound email was parsed.
    EmailReceived(EmailReceived),
    /// A chat is being offered to an agent.
    ChatOffered(ChatEvent),
    /// A chat ended.
    ChatEnded(ChatEvent),
    /// A task reminder came due.
    TaskReminder(TaskReminder),
}

/// The name of an event, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// [`Event::BeforeSave`].
    BeforeSave,
    /// [`Event::AfterSave`].
    AfterSave,
    /// [`Event::ScreenPop`].
    ScreenPop,
    /// [`Event::Disposition`].
    Disposition,
    /// [`Event::Notification`].
    Notification,
    /// [`Event::EmailReceived`].
    EmailReceived,
    /// [`Event::ChatOffered`].
    ChatOffered,
    /// [`Event::ChatEnded`].
    ChatEnded,
    /// [`Event::TaskReminder`].
    TaskReminder,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 9] = [
        EventKind::BeforeSave,
        EventKind::AfterSave,
        EventKind::ScreenPop,
        EventKind::Disposition,
        EventKind::Notification,
        EventKind::EmailReceived,
        EventKind::ChatOffered,
        EventKind::ChatEnded,
        EventKind::TaskReminder,
    ];

    /// The snake_case name (`before_save`, `screen_pop`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::BeforeSave => "before_save",
            EventKind::AfterSave => "after_save",
            EventKind::ScreenPop => "screen_pop",
            EventKind::Disposition => "disposition",
            EventKind::Notification => "notification",
            EventKind::EmailReceived => "email_received",
            EventKind::ChatOffered => "chat_offered",
            EventKind::ChatEnded => "chat_ended",
            EventKind::TaskReminder => "task_reminder",
        }
    }

    /// Parses a snake_case name.
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the event guards a write: a veto or failure rolls it back.
    pub fn is_guarding(self) -> bool {
        !matches!(
            self,
            EventKind::AfterSave | EventKind::ChatEnded | EventKind::TaskReminder
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Event {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::BeforeSave(_) => EventKind::BeforeSave,
            Event::AfterSave(_) => EventKind::AfterSave,
            Event::ScreenPop(_) => EventKind::ScreenPop,
            Event::Disposition(_) => EventKind::Disposition,
            Event::Notification(_) => EventKind::Notification,
            Event::EmailReceived(_) => EventKind::EmailReceived,
            Event::ChatOffered(_) => EventKind::ChatOffered,
            Event::ChatEnded(_) => EventKind::ChatEnded,
            Event::TaskReminder(_) => EventKind::TaskReminder,
        }
    }

    /// The name of the Rhai function that handles this event:
    /// `before_save_case`, `on_screen_pop`, ...
    pub fn hook_name(&self) -> String {
        match self {
            Event::BeforeSave(e) => format!("before_save_{}", e.record.kind()),
            Event::AfterSave(e) => format!("after_save_{}", e.record.kind()),
            other => format!("on_{}", other.kind()),
        }
    }

    /// For save events, the kind of record concerned.
    pub fn object(&self) -> Option<ObjectKind> {
        match self {
            Event::BeforeSave(e) | Event::AfterSave(e) => Some(e.record.kind()),
            _ => None,
        }
    }
}

/// A handler's answer to an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "message", rename_all = "snake_case")]
pub enum Outcome {
    /// Go on (with the event as the handler left it).
    Continue,
    /// Stop: the guarded write is rolled back and this message shown.
    Veto(String),
}

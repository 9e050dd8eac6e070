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

use crate::agents::{Agent, Group, Permission, Role};
use crate::model::{
    Attachment, CaseNumber, CustomerId, EmailHeaders, Mailbox, ObjectKind, Record, Task,
};

mod examples;

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
    /// A case number the customer supplied. Read as `case` too, the field's
    /// name before 0.2 (deprecated).
    #[serde(default, alias = "case")]
    pub case_number: Option<CaseNumber>,
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
            case_number: None,
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
    /// In `after_save`: the names of the fields the write changed (see
    /// [`Record::changed_fields`]): standard fields by their JSON name
    /// (`status`, `address`), custom fields as `custom.<name>`. On a create,
    /// every field that has a value. Empty in `before_save`, and in events
    /// queued by hosts older than 0.2.
    #[serde(default)]
    pub changed: Vec<String>,
}

impl SaveEvent {
    /// A save event for `record` with no [`changed`](SaveEvent::changed)
    /// fields listed (what `before_save` carries).
    pub fn new(op: SaveOp, record: Record) -> Self {
        SaveEvent {
            op,
            record,
            changed: Vec::new(),
        }
    }
}

/// What a screen-pop shows the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "pop", rename_all = "snake_case")]
pub enum PopTarget {
    /// Show this case.
    Case {
        /// The case. Read as `case` too, the field's name before 0.2
        /// (deprecated).
        #[serde(alias = "case")]
        case_number: CaseNumber,
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
    /// The case it is recorded on, if any. Read as `case` too, the field's
    /// name before 0.2 (deprecated).
    #[serde(default, alias = "case")]
    pub case_number: Option<CaseNumber>,
    /// Whether the case will be closed (from the code's config; handlers may change it).
    #[serde(default)]
    pub close_case: bool,
}

/// Whom a [`Notification`] is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// A customer (the default, and what notifications older than 0.2 were).
    #[default]
    Customer,
    /// An agent of the contact centre: a reminder, an assignment.
    Agent,
    /// Other staff: supervisors, QA reviewers, team addresses.
    Internal,
}

/// What made someone or something write a [`Notification`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// A task's reminder came due.
    Reminder,
    /// A reply to a customer's email.
    EmailReply,
    /// Written and sent by a person (the default: `dossier notify`, an
    /// embedder's own call).
    #[default]
    Manual,
    /// An interaction's disposition (a summary after a call).
    Disposition,
    /// The QA review of a message.
    Review,
    /// Dossier itself or an automation (status changes, digests).
    System,
    /// The automatic acknowledgement of an inbound email (`[email]
    /// acknowledge`).
    Acknowledgement,
    /// An inbound email could not be stored and was held (told to `[email]
    /// held_notify`).
    EmailHeld,
}

/// `as_str`, `Display` and `FromStr` for a fieldless snake_case enum with an
/// `ALL` list, so the names are written once.
macro_rules! named_enum {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            /// The snake_case name used in JSON, scripts and options.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),*
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = $ty::ALL.iter().map(|v| v.as_str()).collect();
                    format!(concat!("unknown ", $what, " `{}` (expected one of: {})"), s, names.join(", "))
                })
            }
        }
    };
}

named_enum!(Audience, "audience", {
    Customer => "customer",
    Agent => "agent",
    Internal => "internal",
});

named_enum!(Cause, "cause", {
    Reminder => "reminder",
    EmailReply => "email_reply",
    Manual => "manual",
    Disposition => "disposition",
    Review => "review",
    System => "system",
    Acknowledgement => "acknowledgement",
    EmailHeld => "email_held",
});

/// The `notification` event: something is about to be sent to a customer or agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The case it concerns, if any. Read as `case` too, the field's name
    /// before 0.2 (deprecated).
    #[serde(default, alias = "case")]
    pub case_number: Option<CaseNumber>,
    /// Whom it is for. Defaults to [`Audience::Customer`].
    #[serde(default)]
    pub audience: Audience,
    /// What caused it. Defaults to [`Cause::Manual`].
    #[serde(default)]
    pub cause: Cause,
    /// Sender. May be left out (an empty address) where the host has a
    /// default: a reminder's notification gets `[reminders] from`.
    #[serde(default)]
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
    /// The Message-ID the email goes out with (the host makes one when
    /// it sends), without angle brackets; a retry reuses it.
    #[serde(default)]
    pub message_id: Option<String>,
    /// The message it answers, for an email reply.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// The thread's message ids, oldest first.
    #[serde(default)]
    pub references: Vec<String>,
    /// The case's thread token, which the host writes where `[email]
    /// thread_token` says (subject, header, Reply-To plus-address).
    #[serde(default)]
    pub thread_token: Option<String>,
    /// Attachments (their bytes are in the host's blob store).
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// HTML body, if any.
    #[serde(default)]
    pub html: Option<String>,
    /// The signature, kept apart from `body` while the `notification`
    /// handlers run (a draft's send puts the agent's here); the host
    /// appends it to the body, and to the HTML, after them, unless the
    /// body already holds it.
    #[serde(default)]
    pub signature: Option<String>,
    /// Whether the message must go to QA review before it is sent.
    #[serde(default)]
    pub review: bool,
}

/// The `email_received` event: an inbound email was parsed and the host
/// proposed where it goes; handlers may change that, or veto (the email is
/// dropped with the veto's reason recorded, and nothing is sent back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailReceived {
    /// The parsed headers.
    pub headers: EmailHeaders,
    /// Plain-text body.
    pub body: String,
    /// The case the host matched, if any; handlers may replace it, or clear
    /// it for a new case. Read as `case` too, the field's name before 0.2
    /// (deprecated).
    #[serde(default, alias = "case")]
    pub case_number: Option<CaseNumber>,
    /// The threading rule behind `case_number`: `thread_token`,
    /// `in_reply_to`, `case_number` or `new_case` (read-only; the host
    /// notes a handler's change itself).
    #[serde(default)]
    pub rule: String,
    /// Priority to give the case; handlers may set it.
    #[serde(default)]
    pub priority: Option<String>,
    /// Custom fields to set on the case, as plain JSON values (`"K-1"`,
    /// `12`, `true`), typed and validated by the `[fields.case]` schema like
    /// any write; handlers may set them.
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// The attachments (names, types and sizes).
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// For an email that opens a case: the email queue its case waits in,
    /// to be offered to a member (`[email.routing]`'s choice; handlers may
    /// name another email queue, or clear it to leave the case in no
    /// queue). Ignored for an email that joins an existing case.
    #[serde(default)]
    pub queue: Option<String>,
}

/// The `email_held` event: an inbound email could not be stored (a hook
/// vetoed its case or customer, a rule refused it, it is over the size
/// limit) and was kept whole as held mail, to be released or discarded by
/// an admin (`dossier email held`). It fires in the transaction that holds
/// the email; that write always stands: a veto or a handler's failure
/// rolls back only what handlers wrote and the notice, which is then not
/// sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailHeld {
    /// The held email: its id, sender, subject, size and why it is held.
    pub held: crate::email::HeldEmail,
    /// Who is told, by a `notification` of cause `email_held`, once the
    /// handlers ran: `[email] held_notify`'s addresses; handlers may change
    /// them (checked again) or clear them (no one is told).
    #[serde(default)]
    pub notify: Vec<String>,
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

/// One thing a [`DirectoryChanged`] event reports, tagged by `change` in
/// JSON and in the maps scripts receive (`{"change": "role", "from":
/// "agent", "to": "supervisor"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum DirectoryChange {
    /// The agent or group was added.
    Added,
    /// The agent's role changed.
    Role {
        /// The role before.
        from: Role,
        /// The role after.
        to: Role,
    },
    /// The agent's groups changed.
    Groups {
        /// The groups the agent joined, by name.
        #[serde(default)]
        joined: Vec<String>,
        /// The groups the agent left, by name.
        #[serde(default)]
        left: Vec<String>,
    },
    /// The agent's permission overrides changed (what their role gives
    /// them is not repeated).
    Permissions {
        /// Permissions now granted against the role.
        #[serde(default)]
        granted: Vec<Permission>,
        /// Permissions now withheld against the role.
        #[serde(default)]
        withheld: Vec<Permission>,
        /// Permissions whose override was removed: back to the role's default.
        #[serde(default)]
        reset: Vec<Permission>,
    },
    /// The agent was disabled: they can no longer act.
    Disabled,
    /// The agent was enabled again.
    Enabled,
    /// The agent's display name or email address changed, by an admin or
    /// by the agent themselves (`edit_own_profile`); the new values are in
    /// [`DirectoryChanged::agent`].
    Profile {
        /// The fields that changed: `display_name`, `email`.
        fields: Vec<String>,
    },
}

impl DirectoryChange {
    /// The tag's value: `added`, `role`, `groups`, `permissions`,
    /// `disabled`, `enabled` or `profile`.
    pub fn name(&self) -> &'static str {
        match self {
            DirectoryChange::Added => "added",
            DirectoryChange::Role { .. } => "role",
            DirectoryChange::Groups { .. } => "groups",
            DirectoryChange::Permissions { .. } => "permissions",
            DirectoryChange::Disabled => "disabled",
            DirectoryChange::Enabled => "enabled",
            DirectoryChange::Profile { .. } => "profile",
        }
    }

    /// What changed between `before` (`None`: the agent was added) and
    /// `after`, in a fixed order: added, role, groups, permissions,
    /// disabled or enabled, profile. Empty when nothing did.
    pub fn between(before: Option<&Agent>, after: &Agent) -> Vec<DirectoryChange> {
        let Some(before) = before else {
            return vec![DirectoryChange::Added];
        };
        let mut changes = Vec::new();
        if before.role != after.role {
            changes.push(DirectoryChange::Role {
                from: before.role,
                to: after.role,
            });
        }
        let joined: Vec<String> = after
            .groups
            .iter()
            .filter(|g| !before.groups.contains(g))
            .cloned()
            .collect();
        let left: Vec<String> = before
            .groups
            .iter()
            .filter(|g| !after.groups.contains(g))
            .cloned()
            .collect();
        if !joined.is_empty() || !left.is_empty() {
            changes.push(DirectoryChange::Groups { joined, left });
        }
        let (mut granted, mut withheld, mut reset) = (Vec::new(), Vec::new(), Vec::new());
        for (permission, now) in &after.overrides {
            if before.overrides.get(permission) != Some(now) {
                if *now {
                    granted.push(*permission);
                } else {
                    withheld.push(*permission);
                }
            }
        }
        for permission in before.overrides.keys() {
            if !after.overrides.contains_key(permission) {
                reset.push(*permission);
            }
        }
        if !granted.is_empty() || !withheld.is_empty() || !reset.is_empty() {
            changes.push(DirectoryChange::Permissions {
                granted,
                withheld,
                reset,
            });
        }
        match (before.disabled, after.disabled) {
            (false, true) => changes.push(DirectoryChange::Disabled),
            (true, false) => changes.push(DirectoryChange::Enabled),
            _ => {}
        }
        let mut fields = Vec::new();
        if before.display_name != after.display_name {
            fields.push("display_name".to_owned());
        }
        if before.email != after.email {
            fields.push("email".to_owned());
        }
        if !fields.is_empty() {
            changes.push(DirectoryChange::Profile { fields });
        }
        changes
    }
}

/// The `directory_changed` event: an agent or a group was added or
/// changed, and the change committed. Delivered from the outbox, at least
/// once, like `after_save`; who made the change is the event's actor
/// (`HostApi::actor` for plugins). It carries no password or token: an
/// [`Agent`] holds none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryChanged {
    /// The agent concerned, as it is after the change; `None` for a group.
    #[serde(default)]
    pub agent: Option<Agent>,
    /// The group concerned, as it is after the change; `None` for an agent.
    #[serde(default)]
    pub group: Option<Group>,
    /// What changed, never empty.
    pub changes: Vec<DirectoryChange>,
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
    /// An inbound email could not be stored and is held.
    EmailHeld(EmailHeld),
    /// A chat is being offered to an agent.
    ChatOffered(ChatEvent),
    /// A chat ended.
    ChatEnded(ChatEvent),
    /// A task reminder came due.
    TaskReminder(TaskReminder),
    /// An agent or group was added or changed (committed).
    DirectoryChanged(DirectoryChanged),
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
    /// [`Event::EmailHeld`].
    EmailHeld,
    /// [`Event::ChatOffered`].
    ChatOffered,
    /// [`Event::ChatEnded`].
    ChatEnded,
    /// [`Event::TaskReminder`].
    TaskReminder,
    /// [`Event::DirectoryChanged`].
    DirectoryChanged,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 11] = [
        EventKind::BeforeSave,
        EventKind::AfterSave,
        EventKind::ScreenPop,
        EventKind::Disposition,
        EventKind::Notification,
        EventKind::EmailReceived,
        EventKind::EmailHeld,
        EventKind::ChatOffered,
        EventKind::ChatEnded,
        EventKind::TaskReminder,
        EventKind::DirectoryChanged,
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
            EventKind::EmailHeld => "email_held",
            EventKind::ChatOffered => "chat_offered",
            EventKind::ChatEnded => "chat_ended",
            EventKind::TaskReminder => "task_reminder",
            EventKind::DirectoryChanged => "directory_changed",
        }
    }

    /// Parses a snake_case name.
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The row of [`EVENTS`] describing this kind.
    pub fn spec(self) -> &'static EventSpec {
        let table: &'static [EventSpec; 11] = &EVENTS;
        // `EVENTS` is in declaration order; a const assertion below checks it.
        &table[self as usize]
    }

    /// Whether the event guards a write: a veto or a handler's failure
    /// rolls that write back. Every kind but `after_save` and
    /// `directory_changed`, delivered after their write committed, does.
    pub fn guards_write(self) -> bool {
        self.spec().guards
    }

    /// Whether the event guards a write.
    #[deprecated(
        since = "0.2.0",
        note = "use `EventKind::guards_write`, which reads `EVENTS`"
    )]
    pub fn is_guarding(self) -> bool {
        self.guards_write()
    }
}

/// What one kind of event is, in one place: its hook name, payload, whether
/// it guards a write, and what handlers may do. Hook lists, the generated
/// script reference and the documentation tables are derived from [`EVENTS`]
/// (or tested against it) rather than written out again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSpec {
    /// The kind described.
    pub kind: EventKind,
    /// The script hook's name. For per-object kinds it contains the
    /// placeholder `<object>`, replaced by each [`ObjectKind`] name
    /// (`before_save_<object>` → `before_save_case`); see [`EventSpec::hooks`].
    pub hook: &'static str,
    /// Whether there is one hook per object kind (the save events).
    pub per_object: bool,
    /// The Rust type of the event's data (`SaveEvent`, `ScreenPop`).
    pub payload: &'static str,
    /// The payload's top-level fields, as named in JSON and in the maps
    /// scripts receive, in declaration order.
    pub keys: &'static [&'static str],
    /// Whether a veto or a handler's failure rolls back the write the event
    /// belongs to (see [`EventKind::guards_write`]).
    pub guards: bool,
    /// When the event fires, as a sentence fragment for docs.
    pub fired_when: &'static str,
    /// What a handler may change, as a sentence fragment for docs.
    pub may_change: &'static str,
}

/// The placeholder in [`EventSpec::hook`] that per-object kinds replace.
pub const OBJECT_PLACEHOLDER: &str = "<object>";

impl EventSpec {
    /// The hook names of this kind: one per [`ObjectKind`], in
    /// [`ObjectKind::ALL`] order, for per-object kinds; one otherwise.
    pub fn hooks(&self) -> Vec<String> {
        if self.per_object {
            ObjectKind::ALL
                .iter()
                .map(|o| self.hook_for(Some(*o)))
                .collect()
        } else {
            vec![self.hook.to_owned()]
        }
    }

    /// The hook name for records of kind `object` (ignored when the kind is
    /// not per-object).
    pub fn hook_for(&self, object: Option<ObjectKind>) -> String {
        match object {
            Some(o) if self.per_object => self.hook.replace(OBJECT_PLACEHOLDER, o.as_str()),
            _ => self.hook.to_owned(),
        }
    }
}

/// Every event kind, in [`EventKind::ALL`] order: the one table the rest is
/// derived from.
pub const EVENTS: [EventSpec; 11] = [
    EventSpec {
        kind: EventKind::BeforeSave,
        hook: "before_save_<object>",
        per_object: true,
        payload: "SaveEvent",
        keys: &["op", "record", "changed"],
        guards: true,
        fired_when: "a record is about to be written, inside the write's transaction",
        may_change: "the record, which is checked again before it is written",
    },
    EventSpec {
        kind: EventKind::AfterSave,
        hook: "after_save_<object>",
        per_object: true,
        payload: "SaveEvent",
        keys: &["op", "record", "changed"],
        guards: false,
        fired_when: "a record was written and committed; delivered from the outbox, at least once",
        may_change: "nothing: the record is read-only (tasks and follow-ups a handler adds are writes of their own)",
    },
    EventSpec {
        kind: EventKind::ScreenPop,
        hook: "on_screen_pop",
        per_object: false,
        payload: "ScreenPop",
        keys: &["interaction", "target", "reason", "open_cases"],
        guards: true,
        fired_when: "a call, chat or email arrived and a record must be shown",
        may_change: "`target` and `reason`; the host checks the target and recomputes `open_cases`",
    },
    EventSpec {
        kind: EventKind::Disposition,
        hook: "on_disposition",
        per_object: false,
        payload: "Disposition",
        keys: &["interaction", "code", "note", "case_number", "close_case"],
        guards: true,
        fired_when: "an interaction ended with a disposition code, in the transaction that records it",
        may_change: "`code` (checked again), `note`, `case_number`, `close_case`",
    },
    EventSpec {
        kind: EventKind::Notification,
        hook: "on_notification",
        per_object: false,
        payload: "Notification",
        keys: &[
            "case_number",
            "audience",
            "cause",
            "from",
            "to",
            "cc",
            "bcc",
            "message_id",
            "in_reply_to",
            "references",
            "thread_token",
            "attachments",
            "subject",
            "body",
            "html",
            "signature",
            "review",
        ],
        guards: true,
        fired_when: "a message is about to be sent; `audience` says to whom, `cause` why",
        may_change: "sender, recipients, `subject`, `body`, `html`, `signature`, `review` (true holds an agent's email for QA review); addresses are checked again",
    },
    EventSpec {
        kind: EventKind::EmailReceived,
        hook: "on_email_received",
        per_object: false,
        payload: "EmailReceived",
        keys: &[
            "headers",
            "body",
            "case_number",
            "rule",
            "priority",
            "fields",
            "attachments",
            "queue",
        ],
        guards: true,
        fired_when: "an inbound email was parsed and threaded, before it is stored",
        may_change: "`case_number` (another case, or none for a new one), `priority` and `fields` of the case, `queue` (the email queue a new case waits in, or none); a veto drops the email",
    },
    EventSpec {
        kind: EventKind::EmailHeld,
        hook: "on_email_held",
        per_object: false,
        payload: "EmailHeld",
        keys: &["held", "notify"],
        guards: true,
        fired_when: "an inbound email could not be stored and was held, in the transaction that holds it (which stands whatever handlers do)",
        may_change: "`notify`, who is told by a notification of cause `email_held` (checked again; empty: no one); a veto sends no notice and rolls back the handlers' writes, never the hold",
    },
    EventSpec {
        kind: EventKind::ChatOffered,
        hook: "on_chat_offered",
        per_object: false,
        payload: "ChatEvent",
        keys: &["chat", "interaction", "agent", "transcript"],
        guards: true,
        fired_when: "a chat is offered to the agent the longest-idle rule picked, in the transaction that claims the offer, before the screen-pop",
        may_change: "`agent`: another member of the queue with capacity left; a veto leaves the chat in line",
    },
    EventSpec {
        kind: EventKind::ChatEnded,
        hook: "on_chat_ended",
        per_object: false,
        payload: "ChatEvent",
        keys: &["chat", "interaction", "agent", "transcript"],
        guards: true,
        fired_when: "a chat ended, in the transaction that ends it and saves its log",
        may_change: "`transcript`, the text that is logged (cleared: nothing is logged)",
    },
    EventSpec {
        kind: EventKind::TaskReminder,
        hook: "on_task_reminder",
        per_object: false,
        payload: "TaskReminder",
        keys: &["task", "fired_at", "notification"],
        guards: true,
        fired_when: "a task's reminder came due, in the transaction that claims it (exactly once)",
        may_change: "`notification`, the notice to the assignee: change it, write one, or clear it",
    },
    EventSpec {
        kind: EventKind::DirectoryChanged,
        hook: "on_directory_changed",
        per_object: false,
        payload: "DirectoryChanged",
        keys: &["agent", "group", "changes"],
        guards: false,
        fired_when: "an agent (added, role, groups, permissions, disabled or enabled, name or email) or a group (added) changed and it committed; delivered from the outbox, at least once",
        may_change: "nothing: the change is read-only",
    },
];

// `EventKind::spec` indexes `EVENTS` by discriminant.
const _: () = {
    let mut i = 0;
    while i < EVENTS.len() {
        assert!(
            EVENTS[i].kind as usize == i,
            "EVENTS must list the kinds in declaration order"
        );
        i += 1;
    }
};

/// Every script hook name, in a fixed order: `before_save_<object>` for each
/// object kind, `after_save_<object>` likewise, then `on_<kind>` for the
/// other kinds in [`EVENTS`] order.
pub fn hook_names() -> Vec<String> {
    EVENTS.iter().flat_map(EventSpec::hooks).collect()
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
            Event::EmailHeld(_) => EventKind::EmailHeld,
            Event::ChatOffered(_) => EventKind::ChatOffered,
            Event::ChatEnded(_) => EventKind::ChatEnded,
            Event::TaskReminder(_) => EventKind::TaskReminder,
            Event::DirectoryChanged(_) => EventKind::DirectoryChanged,
        }
    }

    /// The name of the Rhai function that handles this event:
    /// `before_save_case`, `on_screen_pop`, ...
    pub fn hook_name(&self) -> String {
        self.kind().spec().hook_for(self.object())
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The data of `event`, as JSON.
    fn payload(event: &Event) -> serde_json::Value {
        let json = serde_json::to_value(event).unwrap_or_else(|e| panic!("{e}"));
        json.get("data").cloned().unwrap_or_default()
    }

    #[test]
    fn the_table_lists_every_kind_in_order() {
        let kinds: Vec<EventKind> = EVENTS.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, EventKind::ALL);
        for kind in EventKind::ALL {
            assert_eq!(kind.spec().kind, kind);
            assert_eq!(
                kind.spec().per_object,
                kind.spec().hook.contains(OBJECT_PLACEHOLDER)
            );
        }
    }

    #[test]
    fn hook_names_come_in_the_fixed_order() {
        let names = hook_names();
        assert_eq!(names.len(), 17);
        assert_eq!(
            &names[..4],
            [
                "before_save_customer",
                "before_save_case",
                "before_save_follow_up",
                "before_save_task"
            ]
        );
        assert_eq!(
            &names[4..8],
            [
                "after_save_customer",
                "after_save_case",
                "after_save_follow_up",
                "after_save_task"
            ]
        );
        let others: Vec<String> = EventKind::ALL[2..]
            .iter()
            .map(|k| format!("on_{k}"))
            .collect();
        assert_eq!(&names[8..], others.as_slice());
        let unique: BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
    }

    #[test]
    fn hook_name_agrees_with_the_table() {
        let names = hook_names();
        let mut seen = BTreeSet::new();
        for event in Event::examples() {
            let name = event.hook_name();
            assert!(event.kind().spec().hooks().contains(&name), "{name}");
            seen.insert(name);
        }
        assert_eq!(
            seen,
            names.iter().cloned().collect::<BTreeSet<_>>(),
            "examples reach every hook"
        );
    }

    #[test]
    fn only_the_after_events_do_not_guard_their_write() {
        for kind in EventKind::ALL {
            let after = matches!(kind, EventKind::AfterSave | EventKind::DirectoryChanged);
            assert_eq!(kind.guards_write(), !after, "{kind}");
            #[allow(deprecated)]
            let old = kind.is_guarding();
            assert_eq!(old, kind.guards_write());
        }
    }

    #[test]
    fn the_table_names_every_payload_key() {
        for event in Event::examples() {
            let spec = event.kind().spec();
            let keys: BTreeSet<String> = payload(&event)
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            let listed: BTreeSet<String> = spec.keys.iter().map(|k| (*k).to_owned()).collect();
            assert_eq!(keys, listed, "keys of {}", spec.payload);
        }
    }

    #[test]
    fn directory_changes_list_what_differs_in_a_fixed_order() {
        let Some(Event::DirectoryChanged(example)) = Event::examples()
            .into_iter()
            .find(|e| e.kind() == EventKind::DirectoryChanged)
        else {
            panic!("an example directory_changed event")
        };
        let Some(before) = example.agent else {
            panic!("the example names an agent")
        };
        assert_eq!(
            DirectoryChange::between(None, &before),
            [DirectoryChange::Added]
        );
        assert!(DirectoryChange::between(Some(&before), &before).is_empty());
        let mut after = before.clone();
        after.role = Role::Admin;
        after.groups = vec!["sales".to_owned()];
        after.overrides = BTreeMap::from([
            (Permission::ManageFaq, true),
            (Permission::RejectChat, false),
        ]);
        after.disabled = true;
        after.email = None;
        let changes = DirectoryChange::between(Some(&before), &after);
        assert_eq!(
            changes,
            [
                DirectoryChange::Role {
                    from: Role::Supervisor,
                    to: Role::Admin
                },
                DirectoryChange::Groups {
                    joined: vec!["sales".to_owned()],
                    left: vec!["billing".to_owned()]
                },
                DirectoryChange::Permissions {
                    granted: Vec::new(),
                    withheld: vec![Permission::RejectChat],
                    reset: vec![Permission::ReviewEmail]
                },
                DirectoryChange::Disabled,
                DirectoryChange::Profile {
                    fields: vec!["email".to_owned()]
                },
            ]
        );
        let names: Vec<&str> = changes.iter().map(DirectoryChange::name).collect();
        assert_eq!(
            names,
            ["role", "groups", "permissions", "disabled", "profile"]
        );
        let json = serde_json::to_value(&changes[0]).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"change": "role", "from": "supervisor", "to": "admin"})
        );
        let enabled = DirectoryChange::between(
            Some(&after),
            &Agent {
                disabled: false,
                ..after.clone()
            },
        );
        assert_eq!(enabled, [DirectoryChange::Enabled]);
    }

    #[test]
    fn the_old_case_field_name_is_still_read() {
        let interaction: Interaction = serde_json::from_str(r#"{"channel":"phone","case":12}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(interaction.case_number, Some(CaseNumber(12)));
        let target: PopTarget = serde_json::from_str(r#"{"pop":"case","case":12,"customer":3}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            target,
            PopTarget::Case {
                case_number: CaseNumber(12),
                customer: CustomerId(3)
            }
        );
        let d: Disposition = serde_json::from_str(
            r#"{"interaction":{"channel":"chat"},"code":"resolved","case":12}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.case_number, Some(CaseNumber(12)));
        let e: EmailReceived = serde_json::from_str(r#"{"headers":{},"body":"","case":12}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.case_number, Some(CaseNumber(12)));
    }

    #[test]
    fn notifications_from_before_audience_and_cause_read_with_defaults() {
        let n: Notification = serde_json::from_str(
            r#"{"case":12,"from":{"address":"a@example.com"},"subject":"s","body":"b"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.case_number, Some(CaseNumber(12)));
        assert_eq!((n.audience, n.cause), (Audience::Customer, Cause::Manual));
        let json = serde_json::to_value(&n).unwrap_or_default();
        assert_eq!(json["audience"], "customer");
        assert_eq!(json["cause"], "manual");
        assert_eq!(json["case_number"], 12);
    }

    #[test]
    fn audience_and_cause_names_round_trip() {
        for a in Audience::ALL {
            assert_eq!(a.as_str().parse::<Audience>(), Ok(*a));
            assert_eq!(serde_json::to_value(a).unwrap_or_default(), a.as_str());
        }
        for c in Cause::ALL {
            assert_eq!(c.as_str().parse::<Cause>(), Ok(*c));
            assert_eq!(serde_json::to_value(c).unwrap_or_default(), c.as_str());
        }
        assert_eq!(
            "robot".parse::<Audience>(),
            Err("unknown audience `robot` (expected one of: customer, agent, internal)".to_owned())
        );
    }
}

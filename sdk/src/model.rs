//! The records of the contact centre: customers, cases, follow-ups and tasks.
//!
//! These types cross every boundary Dossier has (the store, scripts, native
//! plugins, `--json` output), so they derive serde and stay plain data.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fields::FieldValue;

/// Custom field values of one record, by field name.
pub type CustomFields = BTreeMap<String, FieldValue>;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A customer's internal id, assigned by the store.
    CustomerId
);
id_type!(
    /// A case number: sequential, unique in one store, shown to customers (e.g. `14355`).
    CaseNumber
);
id_type!(
    /// A follow-up's id, assigned by the store.
    FollowUpId
);
id_type!(
    /// A task's id, assigned by the store.
    TaskId
);

/// A postal address. Every part is optional free text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    /// Street and number.
    pub line1: String,
    /// Building, floor, c/o.
    pub line2: String,
    /// Postal or ZIP code.
    pub postal_code: String,
    /// City or town.
    pub city: String,
    /// State, province or region.
    pub region: String,
    /// Country name or ISO code, as the contact centre writes it.
    pub country: String,
}

impl Address {
    /// True when no part of the address is filled.
    pub fn is_empty(&self) -> bool {
        [
            &self.line1,
            &self.line2,
            &self.postal_code,
            &self.city,
            &self.region,
            &self.country,
        ]
        .iter()
        .all(|s| s.is_empty())
    }
}

/// One phone number of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    /// What the number is ("mobile", "work", ...); free text.
    pub label: String,
    /// The number in E.164 form (`+33123456789`). The host normalizes on write.
    pub number: String,
}

/// One email address of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// What the address is ("work", "home", ...); free text.
    pub label: String,
    /// The address, lower-cased by the host on write; at most 254 characters.
    pub address: String,
}

/// A person or company the contact centre serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Internal id.
    pub id: CustomerId,
    /// The account number, unique in the store (e.g. `AC-000001`).
    pub account: String,
    /// Display name of the person or company.
    pub name: String,
    /// Postal address.
    #[serde(default)]
    pub address: Address,
    /// Phone numbers, first is primary.
    #[serde(default)]
    pub phones: Vec<Phone>,
    /// Email addresses, first is primary.
    #[serde(default)]
    pub emails: Vec<Email>,
    /// Admin-defined fields, checked against the `[fields.customer]` schema.
    #[serde(default)]
    pub custom: CustomFields,
    /// When the record was first saved.
    pub created_at: DateTime<Utc>,
    /// When the record was last saved.
    pub updated_at: DateTime<Utc>,
}

/// Who among the agents may see a case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Every agent sees the case.
    #[default]
    Public,
    /// Only its owner, its group's members and agents holding
    /// `see_all_private` see the case.
    Private,
}

impl Visibility {
    /// The lower-case name used in config, scripts and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        }
    }
}

impl std::str::FromStr for Visibility {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "public" => Ok(Visibility::Public),
            "private" => Ok(Visibility::Private),
            other => Err(format!(
                "unknown visibility `{other}` (expected public or private)"
            )),
        }
    }
}

/// A thread token: 12 upper-case letters or digits that tie emails to a case
/// (e.g. `JXA6PDRNQ2SO`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ThreadToken(String);

impl ThreadToken {
    /// Length of every token.
    pub const LEN: usize = 12;

    /// Checks `s` is a well-formed token.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() == Self::LEN
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            Ok(ThreadToken(s.to_owned()))
        } else {
            Err(format!(
                "`{s}` is not a thread token (12 upper-case letters or digits)"
            ))
        }
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ThreadToken {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        ThreadToken::parse(&s)
    }
}

impl From<ThreadToken> for String {
    fn from(t: ThreadToken) -> String {
        t.0
    }
}

impl fmt::Display for ThreadToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One piece of feedback, question or problem of a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// The case number, assigned by the store.
    pub number: CaseNumber,
    /// The customer the case belongs to.
    pub customer: CustomerId,
    /// One-line summary.
    pub subject: String,
    /// Longer description.
    #[serde(default)]
    pub description: String,
    /// Status key from `[case] statuses`; each status counts as open or closed.
    pub status: String,
    /// Who may see the case.
    #[serde(default)]
    pub visibility: Visibility,
    /// Severity key from `[case] severities`.
    pub severity: String,
    /// Priority key from `[case] priorities`.
    pub priority: String,
    /// The agent who owns the case, if assigned. Only open cases can be assigned.
    #[serde(default)]
    pub owner: Option<String>,
    /// The group (team) the case is assigned to.
    #[serde(default)]
    pub group: Option<String>,
    /// The last disposition code recorded on the case.
    #[serde(default)]
    pub last_disposition: Option<String>,
    /// The email thread token, made on the first outbound reply.
    #[serde(default)]
    pub thread_token: Option<ThreadToken>,
    /// Admin-defined fields, checked against the `[fields.case]` schema.
    #[serde(default)]
    pub custom: CustomFields,
    /// When the case was opened.
    pub created_at: DateTime<Utc>,
    /// When the case was last saved.
    pub updated_at: DateTime<Utc>,
}

/// What a follow-up records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpKind {
    /// A note typed by an agent.
    Note,
    /// An email received from the customer.
    EmailIn,
    /// An email sent to the customer.
    EmailOut,
    /// An email an agent wrote and kept on the case without sending it.
    EmailSaved,
    /// A chat transcript.
    ChatLog,
    /// Written by Dossier itself (dispositions, status changes).
    System,
}

impl FollowUpKind {
    /// The snake_case name used in config, scripts and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FollowUpKind::Note => "note",
            FollowUpKind::EmailIn => "email_in",
            FollowUpKind::EmailOut => "email_out",
            FollowUpKind::EmailSaved => "email_saved",
            FollowUpKind::ChatLog => "chat_log",
            FollowUpKind::System => "system",
        }
    }
}

impl std::str::FromStr for FollowUpKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "note" => FollowUpKind::Note,
            "email_in" => FollowUpKind::EmailIn,
            "email_out" => FollowUpKind::EmailOut,
            "email_saved" => FollowUpKind::EmailSaved,
            "chat_log" => FollowUpKind::ChatLog,
            "system" => FollowUpKind::System,
            other => {
                return Err(format!(
                    "unknown follow-up kind `{other}` (expected note, email_in, email_out, email_saved, chat_log or system)"
                ));
            }
        })
    }
}

/// A display name and an address, as in an email header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// Display name, if the header had one.
    #[serde(default)]
    pub name: Option<String>,
    /// The raw address.
    pub address: String,
}

/// The headers an email follow-up keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailHeaders {
    /// Sender.
    pub from: Mailbox,
    /// Recipients.
    pub to: Vec<Mailbox>,
    /// Carbon-copy recipients.
    pub cc: Vec<Mailbox>,
    /// Blind carbon-copy recipients (outbound only).
    pub bcc: Vec<Mailbox>,
    /// Subject line.
    pub subject: String,
    /// When the message was sent (the Date header) or received.
    pub date: Option<DateTime<Utc>>,
    /// The Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// The In-Reply-To message id.
    pub in_reply_to: Option<String>,
    /// The References message ids, oldest first.
    pub references: Vec<String>,
    /// For an inbound email: how the host threaded it onto its case (the
    /// rule that matched, and any rule it skipped and why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threaded_by: Option<String>,
    /// For an inbound email that opened a new case although its
    /// `In-Reply-To` or `References` named an email of another case (the
    /// sender was not on that case's thread): that case, so an agent may
    /// move it by hand. Shown only to agents who may see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referred_case: Option<CaseNumber>,
    /// For an inbound email: why it must never get an automatic answer
    /// (`auto-submitted: auto-replied`, `precedence: bulk`, `bounce: null
    /// sender`, `our own address`), if it must not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automatic: Option<String>,
    /// For an inbound email: what the host had to guess or repair to read
    /// it (a charset it detected, a MIME boundary it fixed), one sentence
    /// each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What is known about an attached file; the bytes live elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// The stored content's id (its sha256, in hex), when the host keeps
    /// the bytes: `dossier attachment get` reads them by this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    /// Why the bytes were not kept (over the size limit), when they were not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// For an image shown inside the HTML body: the Content-ID its
    /// `<img src="cid:…">` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
}

/// One communication on a case: a note, an email, a chat log. Never modified once saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    /// Internal id.
    pub id: FollowUpId,
    /// The case it belongs to.
    pub case: CaseNumber,
    /// What it records.
    pub kind: FollowUpKind,
    /// Who wrote it (agent login, `customer`, or `system`).
    pub author: String,
    /// Plain-text body.
    pub body: String,
    /// HTML body, when rich text was used.
    #[serde(default)]
    pub html: Option<String>,
    /// Email headers, for `email_in` and `email_out`.
    #[serde(default)]
    pub email: Option<EmailHeaders>,
    /// Attachment metadata.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Admin-defined fields, checked against the `[fields.follow_up]` schema.
    #[serde(default)]
    pub custom: CustomFields,
    /// The script or plugin hook that wrote it (`audit.rhai
    /// (after_save_case)`), when a hook did: the author is still the actor
    /// whose action ran the hook. `None` for a write a person, the host or
    /// an embedder made directly. Set by the host; what a caller puts here
    /// is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// When it was saved.
    pub created_at: DateTime<Utc>,
}

/// What readers are shown for a follow-up with no text (an email that came
/// with only attachments, only a subject, or only whitespace).
pub const NO_TEXT: &str = "(no text)";

impl FollowUp {
    /// The text people read: the body without trailing blanks, or
    /// [`NO_TEXT`] when it has none (an email may arrive without text).
    pub fn shown_text(&self) -> &str {
        let text = self.body.trim_end();
        if text.trim().is_empty() {
            NO_TEXT
        } else {
            text
        }
    }
}

/// The kind of communication a task plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A phone call.
    Call,
    /// An email.
    Email,
    /// A meeting.
    Meeting,
    /// A chat.
    Chat,
    /// Anything else.
    Other,
}

impl TaskKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Call => "call",
            TaskKind::Email => "email",
            TaskKind::Meeting => "meeting",
            TaskKind::Chat => "chat",
            TaskKind::Other => "other",
        }
    }
}

impl std::str::FromStr for TaskKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "call" => TaskKind::Call,
            "email" => TaskKind::Email,
            "meeting" => TaskKind::Meeting,
            "chat" => TaskKind::Chat,
            "other" => TaskKind::Other,
            other => {
                return Err(format!(
                    "unknown task kind `{other}` (expected call, email, meeting, chat or other)"
                ));
            }
        })
    }
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Scheduled, not yet done.
    #[default]
    Planned,
    /// Carried out.
    Done,
    /// Will not happen.
    Cancelled,
}

impl TaskStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Planned => "planned",
            TaskStatus::Done => "done",
            TaskStatus::Cancelled => "cancelled",
        }
    }
}

impl std::str::FromStr for TaskStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "planned" => TaskStatus::Planned,
            "done" => TaskStatus::Done,
            "cancelled" => TaskStatus::Cancelled,
            other => {
                return Err(format!(
                    "unknown task status `{other}` (expected planned, done or cancelled)"
                ));
            }
        })
    }
}

/// A call, email, meeting, chat or other communication, planned or done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Internal id.
    pub id: TaskId,
    /// The customer concerned, if any.
    #[serde(default)]
    pub customer: Option<CustomerId>,
    /// The case concerned, if any.
    #[serde(default)]
    pub case: Option<CaseNumber>,
    /// What kind of communication.
    pub kind: TaskKind,
    /// One-line summary.
    pub subject: String,
    /// When it is scheduled.
    pub due_at: DateTime<Utc>,
    /// Minutes before `due_at` when the reminder fires; `None` for no reminder.
    #[serde(default)]
    pub reminder_minutes: Option<u32>,
    /// Where it stands.
    #[serde(default)]
    pub status: TaskStatus,
    /// The agent who should carry it out.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Admin-defined fields, checked against the `[fields.task]` schema.
    #[serde(default)]
    pub custom: CustomFields,
    /// The script or plugin hook that wrote it (`audit.rhai
    /// (after_save_case)`), when a hook did: the author is still the actor
    /// whose action ran the hook. `None` for a write a person, the host or
    /// an embedder made directly. Set by the host; what a caller puts here
    /// is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// When it was first saved.
    pub created_at: DateTime<Utc>,
    /// When it was last saved.
    pub updated_at: DateTime<Utc>,
}

impl Task {
    /// When the reminder is due, if the task has one.
    pub fn reminder_at(&self) -> Option<DateTime<Utc>> {
        // Out of chrono's range (a huge lead time): the earliest time there
        // is, which the host refuses to store rather than panicking here.
        self.reminder_minutes.map(|m| {
            self.due_at
                .checked_sub_signed(chrono::Duration::minutes(i64::from(m)))
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        })
    }
}

/// The four kinds of record, for code that handles any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// [`Customer`].
    Customer,
    /// [`Case`].
    Case,
    /// [`FollowUp`].
    FollowUp,
    /// [`Task`].
    Task,
}

impl ObjectKind {
    /// All kinds, in hierarchy order.
    pub const ALL: [ObjectKind; 4] = [
        ObjectKind::Customer,
        ObjectKind::Case,
        ObjectKind::FollowUp,
        ObjectKind::Task,
    ];

    /// The snake_case name used in config (`[fields.follow_up]`) and hook names.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Customer => "customer",
            ObjectKind::Case => "case",
            ObjectKind::FollowUp => "follow_up",
            ObjectKind::Task => "task",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Any one record, as carried by save events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "object", content = "record", rename_all = "snake_case")]
pub enum Record {
    /// A customer.
    Customer(Customer),
    /// A case.
    Case(Case),
    /// A follow-up.
    FollowUp(FollowUp),
    /// A task.
    Task(Task),
}

macro_rules! record_conversions {
    ($($variant:ident),*) => {$(
        impl From<$variant> for Record {
            fn from(r: $variant) -> Record {
                Record::$variant(r)
            }
        }

        impl TryFrom<Record> for $variant {
            type Error = Record;
            fn try_from(r: Record) -> Result<Self, Record> {
                match r {
                    Record::$variant(inner) => Ok(inner),
                    other => Err(other),
                }
            }
        }
    )*};
}

record_conversions!(Customer, Case, FollowUp, Task);

impl Record {
    /// Which kind of record this is.
    pub fn kind(&self) -> ObjectKind {
        match self {
            Record::Customer(_) => ObjectKind::Customer,
            Record::Case(_) => ObjectKind::Case,
            Record::FollowUp(_) => ObjectKind::FollowUp,
            Record::Task(_) => ObjectKind::Task,
        }
    }

    /// The record's id (case number for cases).
    pub fn id(&self) -> i64 {
        match self {
            Record::Customer(c) => c.id.0,
            Record::Case(c) => c.number.0,
            Record::FollowUp(f) => f.id.0,
            Record::Task(t) => t.id.0,
        }
    }

    /// The record's custom fields.
    pub fn custom(&self) -> &CustomFields {
        match self {
            Record::Customer(c) => &c.custom,
            Record::Case(c) => &c.custom,
            Record::FollowUp(f) => &f.custom,
            Record::Task(t) => &t.custom,
        }
    }

    /// The record's custom fields, mutably.
    pub fn custom_mut(&mut self) -> &mut CustomFields {
        match self {
            Record::Customer(c) => &mut c.custom,
            Record::Case(c) => &mut c.custom,
            Record::FollowUp(f) => &mut f.custom,
            Record::Task(t) => &mut t.custom,
        }
    }

    /// The names of the fields that differ between `old` and `new`, as the
    /// after-save event's [`changed`](crate::events::SaveEvent::changed)
    /// lists them: standard fields by their JSON name (`status`, `address`,
    /// `phones`), then custom fields as `custom.<name>`, each group sorted.
    ///
    /// With no `old` (a create), or an `old` of another kind, every field of
    /// `new` that has a value: not `null`, not empty text, not an empty list
    /// or an address with nothing filled. The store's bookkeeping (the id or
    /// case number, `created_at`, `updated_at`) is never listed: it changes
    /// with every write and says nothing about what the write did.
    pub fn changed_fields(old: Option<&Record>, new: &Record) -> Vec<String> {
        let old = old.filter(|o| o.kind() == new.kind());
        let (old_fields, new_fields) = (old.map(standard_fields), standard_fields(new));
        let mut changed: Vec<String> = new_fields
            .iter()
            .filter(|(name, value)| match &old_fields {
                Some(old_fields) => old_fields.get(*name) != Some(*value),
                None => has_value(value),
            })
            .map(|(name, _)| name.clone())
            .collect();
        let (old_custom, new_custom) = (old.map(Record::custom), new.custom());
        let mut custom: Vec<&String> = match old_custom {
            Some(old_custom) => old_custom
                .keys()
                .chain(new_custom.keys())
                .filter(|k| old_custom.get(*k) != new_custom.get(*k))
                .collect(),
            None => new_custom.keys().collect(),
        };
        custom.sort();
        custom.dedup();
        changed.extend(custom.into_iter().map(|k| format!("custom.{k}")));
        changed
    }
}

/// A record's standard fields as JSON values by name, sorted, without its
/// custom fields and the store's bookkeeping.
fn standard_fields(record: &Record) -> BTreeMap<String, serde_json::Value> {
    let value = match record {
        Record::Customer(r) => serde_json::to_value(r),
        Record::Case(r) => serde_json::to_value(r),
        Record::FollowUp(r) => serde_json::to_value(r),
        Record::Task(r) => serde_json::to_value(r),
    };
    // Records are plain data with string keys; serializing one cannot fail,
    // and if it ever did, listing no standard field is the harmless answer.
    let Ok(serde_json::Value::Object(fields)) = value else {
        return BTreeMap::new();
    };
    fields
        .into_iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "id" | "number" | "custom" | "created_at" | "updated_at"
            )
        })
        .collect()
}

/// Whether a field's JSON value says something: not null, empty text, an
/// empty list, or an object whose parts are all empty.
fn has_value(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(parts) => parts.values().any(has_value),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// What is needed to create a customer; the store assigns the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewCustomer {
    /// The account number, unique.
    pub account: String,
    /// Display name.
    pub name: String,
    /// Postal address.
    pub address: Address,
    /// Phone numbers, in any common format; normalized on save.
    pub phones: Vec<Phone>,
    /// Email addresses; lower-cased on save.
    pub emails: Vec<Email>,
    /// Custom field values; unset fields get their default.
    pub custom: CustomFields,
}

/// What is needed to open a case; unset standard fields get the configured defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCase {
    /// The customer.
    pub customer: CustomerId,
    /// One-line summary.
    pub subject: String,
    /// Longer description.
    #[serde(default)]
    pub description: String,
    /// Severity key; default from config.
    #[serde(default)]
    pub severity: Option<String>,
    /// Priority key; default from config.
    #[serde(default)]
    pub priority: Option<String>,
    /// Visibility; default public.
    #[serde(default)]
    pub visibility: Visibility,
    /// Owner agent.
    #[serde(default)]
    pub owner: Option<String>,
    /// Owner group.
    #[serde(default)]
    pub group: Option<String>,
    /// Custom field values.
    #[serde(default)]
    pub custom: CustomFields,
}

impl NewCase {
    /// A case for `customer` with `subject` and every other field defaulted.
    pub fn new(customer: CustomerId, subject: impl Into<String>) -> Self {
        NewCase {
            customer,
            subject: subject.into(),
            description: String::new(),
            severity: None,
            priority: None,
            visibility: Visibility::Public,
            owner: None,
            group: None,
            custom: CustomFields::new(),
        }
    }
}

/// What is needed to add a follow-up to a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewFollowUp {
    /// The case.
    pub case: CaseNumber,
    /// What it records.
    pub kind: FollowUpKind,
    /// Who wrote it.
    pub author: String,
    /// Plain-text body.
    pub body: String,
    /// HTML body.
    #[serde(default)]
    pub html: Option<String>,
    /// Email headers, for email follow-ups.
    #[serde(default)]
    pub email: Option<EmailHeaders>,
    /// Attachment metadata.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Custom field values.
    #[serde(default)]
    pub custom: CustomFields,
}

impl NewFollowUp {
    /// A note by `author` on `case`.
    pub fn note(case: CaseNumber, author: impl Into<String>, body: impl Into<String>) -> Self {
        NewFollowUp {
            case,
            kind: FollowUpKind::Note,
            author: author.into(),
            body: body.into(),
            html: None,
            email: None,
            attachments: Vec::new(),
            custom: CustomFields::new(),
        }
    }
}

/// What is needed to plan a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTask {
    /// The customer concerned.
    #[serde(default)]
    pub customer: Option<CustomerId>,
    /// The case concerned.
    #[serde(default)]
    pub case: Option<CaseNumber>,
    /// What kind of communication.
    pub kind: TaskKind,
    /// One-line summary.
    pub subject: String,
    /// When it is scheduled.
    pub due_at: DateTime<Utc>,
    /// Minutes before `due_at` for the reminder.
    #[serde(default)]
    pub reminder_minutes: Option<u32>,
    /// The agent who should carry it out.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Custom field values.
    #[serde(default)]
    pub custom: CustomFields,
}

/// How to find customers. Every set criterion must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerQuery {
    /// A phone number in any common format.
    pub phone: Option<String>,
    /// An email address, any case.
    pub email: Option<String>,
    /// An exact account number.
    pub account: Option<String>,
    /// A substring of the name, any case.
    pub name: Option<String>,
    /// An indexed custom field and the value it must equal (text form).
    pub field: Option<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Event;

    /// The example records, by kind.
    fn example(kind: ObjectKind) -> Record {
        Event::examples()
            .into_iter()
            .find_map(|e| match e {
                Event::BeforeSave(s) if s.record.kind() == kind => Some(s.record),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no example {kind}"))
    }

    #[test]
    fn a_create_lists_every_field_with_a_value() {
        let case = example(ObjectKind::Case);
        assert_eq!(
            Record::changed_fields(None, &case),
            [
                "customer",
                "description",
                "group",
                "last_disposition",
                "owner",
                "priority",
                "severity",
                "status",
                "subject",
                "thread_token",
                "visibility",
                "custom.tier"
            ]
        );
        let Record::Case(mut bare) = case else {
            panic!("not a case")
        };
        bare.description.clear();
        bare.owner = None;
        bare.custom.clear();
        let listed = Record::changed_fields(None, &Record::Case(bare));
        assert!(
            !listed
                .iter()
                .any(|f| f == "description" || f == "owner" || f.starts_with("custom.")),
            "{listed:?}"
        );
    }

    #[test]
    fn an_empty_address_has_no_value() {
        let Record::Customer(mut c) = example(ObjectKind::Customer) else {
            panic!("not a customer")
        };
        assert!(
            Record::changed_fields(None, &Record::Customer(c.clone()))
                .contains(&"address".to_owned())
        );
        c.address = Address::default();
        c.phones.clear();
        assert_eq!(
            Record::changed_fields(None, &Record::Customer(c)),
            ["account", "emails", "name", "custom.tier"]
        );
    }

    #[test]
    fn an_update_lists_what_differs_but_not_bookkeeping() {
        let old = example(ObjectKind::Case);
        let Record::Case(mut case) = old.clone() else {
            panic!("not a case")
        };
        assert!(Record::changed_fields(Some(&old), &old).is_empty());
        case.updated_at += chrono::Duration::minutes(5);
        assert!(Record::changed_fields(Some(&old), &Record::Case(case.clone())).is_empty());
        case.status = "closed".into();
        case.owner = None;
        case.custom.remove("tier");
        case.custom
            .insert("sla_hours".into(), FieldValue::Integer(4));
        assert_eq!(
            Record::changed_fields(Some(&old), &Record::Case(case)),
            ["owner", "status", "custom.sla_hours", "custom.tier"]
        );
    }

    #[test]
    fn an_old_record_of_another_kind_counts_as_a_create() {
        let customer = example(ObjectKind::Customer);
        let task = example(ObjectKind::Task);
        assert_eq!(
            Record::changed_fields(Some(&customer), &task),
            Record::changed_fields(None, &task)
        );
    }
}

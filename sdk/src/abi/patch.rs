//! Patches: what a plugin's [`Reply`](super::Reply) carries back instead of
//! the whole event, since ABI 3.
//!
//! A handler usually changes one field or two of an event. Sending the whole
//! event back made the host decode all of it again; a patch holds only what
//! changed, and the host applies it to its typed event field by field,
//! without going through a generic JSON tree.
//!
//! # The format
//!
//! A patch has the shape of the event's JSON with everything unchanged left
//! out, like a JSON merge patch, but objects merge only at fixed levels:
//!
//! ```json
//! {"event": "before_save",
//!  "data": {"record": {"object": "case",
//!                      "record": {"priority": "high",
//!                                 "owner": null,
//!                                 "custom": {"contract_ref": {"text": "K-77"},
//!                                            "budget": null}}}}}
//! ```
//!
//! - `event` names the event's kind, `data` holds the changed top-level
//!   fields of its payload ([`EventSpec::keys`](crate::events::EventSpec::keys)).
//! - A member's value is the field's whole new value, as the event's own
//!   JSON writes it; `null` sets an optional field to none. A value
//!   replaces the field: an `interaction`, a `target` or a `notification`
//!   that changed is sent whole, and nothing below it merges.
//! - Two kinds of field merge instead. A record (`record` of the save
//!   events, `task` of `task_reminder`) holds its changed fields, with its
//!   `object` tag for `record`. Custom fields (`custom` of a record) hold
//!   the changed fields by name, `null` for one that was removed.
//!
//! An absent patch means the handler changed nothing. The host refuses a
//! patch for another kind of event or record, and one that does not decode
//! (an unknown field, a value of the wrong type, `null` for a field that is
//! not optional): the handler's write is rolled back as for any failure.
//!
//! [`EventPatch::diff`] writes the patch that turns one event into another,
//! and [`Patchable::patch`] applies it: `before.patch(diff(&before, after))`
//! gives `after`. The plugin glue of [`declare_plugin!`](crate::declare_plugin)
//! and the host use them; a plugin never needs to.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::agents::{Agent, Group};
use crate::email::HeldEmail;
use crate::error::{Error, Result};
use crate::events::{
    ChatEvent, DirectoryChange, DirectoryChanged, Disposition, EmailHeld, EmailReceived, Event,
    EventKind, Interaction, Notification, PopTarget, SaveEvent, SaveOp, ScreenPop, TaskReminder,
};
use crate::fields::FieldValue;
use crate::model::{
    Address, Attachment, Case, CaseNumber, CustomFields, Customer, CustomerId, Email, EmailHeaders,
    FollowUp, FollowUpId, FollowUpKind, Mailbox, ObjectKind, Phone, Record, Task, TaskId, TaskKind,
    TaskStatus, ThreadToken, Visibility,
};

/// A type whose changes can travel as a patch.
pub trait Patchable: Sized {
    /// What changes a value of this type: its changed parts and nothing else.
    type Patch;

    /// The patch that turns `before` into `after`, taking the changed parts
    /// out of `after`; `None` when the two are equal.
    fn diff(before: &Self, after: Self) -> Option<Self::Patch>;

    /// A patch that sets every part of `value`: what [`Patchable::diff`]
    /// sends when `before` is of another kind and nothing compares.
    fn full(value: Self) -> Self::Patch;

    /// Whether `patch` applies to `self`: a patch for another kind of event
    /// or record does not.
    fn check(&self, patch: &Self::Patch) -> Result<()>;

    /// Applies a patch that [`Patchable::check`] accepted. The parts of a
    /// patch that does not fit are left out.
    fn apply(&mut self, patch: Self::Patch);

    /// Checks `patch`, then applies it; on an error `self` is unchanged.
    fn patch(&mut self, patch: Self::Patch) -> Result<()> {
        self.check(&patch)?;
        self.apply(patch);
        Ok(())
    }
}

/// The changes to a record's custom fields: each changed field by name,
/// with its new value, or `None` (`null`) when it was removed.
pub type CustomPatch = BTreeMap<String, Option<FieldValue>>;

impl Patchable for CustomFields {
    type Patch = CustomPatch;

    fn diff(before: &Self, after: Self) -> Option<CustomPatch> {
        if *before == after {
            return None;
        }
        let mut patch: CustomPatch = before
            .keys()
            .filter(|name| !after.contains_key(*name))
            .map(|name| (name.clone(), None))
            .collect();
        for (name, value) in after {
            if before.get(&name) != Some(&value) {
                patch.insert(name, Some(value));
            }
        }
        Some(patch)
    }

    fn full(value: Self) -> CustomPatch {
        value.into_iter().map(|(k, v)| (k, Some(v))).collect()
    }

    fn check(&self, _patch: &CustomPatch) -> Result<()> {
        Ok(())
    }

    fn apply(&mut self, patch: CustomPatch) {
        for (name, value) in patch {
            match value {
                Some(value) => self.insert(name, value),
                None => self.remove(&name),
            };
        }
    }
}

/// Reads a member that is present in a patch: `Some` of its value, so that
/// `null` for an optional field is `Some(None)` (set it to none), told apart
/// from an absent member (`None`, unchanged).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> std::result::Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// Writes the patch type of a struct and its [`Patchable`] impl: one
/// `Option` per field, `Some` when it changed. Fields listed under `merge`
/// hold their own type's patch; the others hold their new value.
///
/// The impl takes the struct apart without `..`, so a field added to the
/// struct and not listed here does not compile.
macro_rules! struct_patch {
    (
        $(#[$meta:meta])*
        $patch:ident for $target:ident {
            $($field:ident: $ty:ty,)*
        }
        $(merge { $($merged:ident: $mty:ty => $mpatch:ty,)* })?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $patch {
            $(
                #[doc = concat!("The new `", stringify!($field), "`, when it changed.")]
                #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
                pub $field: Option<$ty>,
            )*
            $($(
                #[doc = concat!("The changes to `", stringify!($merged), "`, when it changed.")]
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $merged: Option<$mpatch>,
            )*)?
        }

        impl $patch {
            /// Whether the patch changes nothing.
            pub fn is_empty(&self) -> bool {
                $(self.$field.is_none() &&)* $($(self.$merged.is_none() &&)*)? true
            }
        }

        impl Patchable for $target {
            type Patch = $patch;

            fn diff(before: &Self, after: Self) -> Option<$patch> {
                let $target { $($field,)* $($($merged,)*)? } = after;
                let patch = $patch {
                    $($field: (before.$field != $field).then_some($field),)*
                    $($($merged: <$mty as Patchable>::diff(&before.$merged, $merged),)*)?
                };
                (!patch.is_empty()).then_some(patch)
            }

            fn full(value: Self) -> $patch {
                let $target { $($field,)* $($($merged,)*)? } = value;
                $patch {
                    $($field: Some($field),)*
                    $($($merged: Some(<$mty as Patchable>::full($merged)),)*)?
                }
            }

            #[allow(unused_variables)]
            fn check(&self, patch: &$patch) -> Result<()> {
                $($(
                    if let Some(merged) = &patch.$merged {
                        self.$merged.check(merged)?;
                    }
                )*)?
                Ok(())
            }

            fn apply(&mut self, patch: $patch) {
                let $patch { $($field,)* $($($merged,)*)? } = patch;
                $(
                    if let Some(value) = $field {
                        self.$field = value;
                    }
                )*
                $($(
                    if let Some(merged) = $merged {
                        self.$merged.apply(merged);
                    }
                )*)?
            }
        }
    };
}

/// Writes the patch type of an enum whose variants each hold one patchable
/// value (an [`Event`], a [`Record`]): the same variants holding patches,
/// tagged like the enum's own JSON. A patch applies only to the variant it
/// names.
///
/// The variants hold their patches boxed: a patch with every field unset is
/// hundreds of bytes, and the decoder's layers would otherwise copy it at
/// every level (measured: a third of decoding a one-field patch).
macro_rules! enum_patch {
    (
        $(#[$meta:meta])*
        $patch:ident for $target:ident, tag = $tag:literal, content = $content:literal,
        kind = $kind:ident, noun = $noun:literal {
            $($variant:ident($inner:ty => $inner_patch:ty),)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = $tag, content = $content, rename_all = "snake_case")]
        pub enum $patch {
            $(
                #[doc = concat!("Changes a [`", stringify!($target), "::", stringify!($variant), "`].")]
                $variant(Box<$inner_patch>),
            )*
        }

        impl $patch {
            /// The kind of value this patch applies to.
            pub fn kind(&self) -> $kind {
                match self {
                    $($patch::$variant(_) => $kind::$variant,)*
                }
            }
        }

        impl Patchable for $target {
            type Patch = $patch;

            fn diff(before: &Self, after: Self) -> Option<$patch> {
                match (before, after) {
                    $(
                        ($target::$variant(before), $target::$variant(after)) => {
                            <$inner as Patchable>::diff(before, after)
                                .map(|patch| $patch::$variant(Box::new(patch)))
                        }
                    )*
                    (_, after) => Some(<$target as Patchable>::full(after)),
                }
            }

            fn full(value: Self) -> $patch {
                match value {
                    $($target::$variant(value) => {
                        $patch::$variant(Box::new(<$inner as Patchable>::full(value)))
                    })*
                }
            }

            fn check(&self, patch: &$patch) -> Result<()> {
                match (self, patch) {
                    $(($target::$variant(value), $patch::$variant(patch)) => value.check(patch),)*
                    #[allow(unreachable_patterns)]
                    _ => Err(Error::PatchMismatch {
                        expected: format!(concat!("{} ", $noun), self.kind()),
                        found: format!(concat!("{} ", $noun), patch.kind()),
                    }),
                }
            }

            fn apply(&mut self, patch: $patch) {
                match (self, patch) {
                    $(($target::$variant(value), $patch::$variant(patch)) => value.apply(*patch),)*
                    #[allow(unreachable_patterns)]
                    _ => {}
                }
            }
        }
    };
}

struct_patch! {
    /// The changed fields of a [`Customer`].
    CustomerPatch for Customer {
        id: CustomerId,
        account: String,
        name: String,
        address: Address,
        phones: Vec<Phone>,
        emails: Vec<Email>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
    merge {
        custom: CustomFields => CustomPatch,
    }
}

struct_patch! {
    /// The changed fields of a [`Case`].
    CasePatch for Case {
        number: CaseNumber,
        customer: CustomerId,
        subject: String,
        description: String,
        status: String,
        visibility: Visibility,
        severity: String,
        priority: String,
        owner: Option<String>,
        group: Option<String>,
        last_disposition: Option<String>,
        thread_token: Option<ThreadToken>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
    merge {
        custom: CustomFields => CustomPatch,
    }
}

struct_patch! {
    /// The changed fields of a [`FollowUp`].
    FollowUpPatch for FollowUp {
        id: FollowUpId,
        case: CaseNumber,
        kind: FollowUpKind,
        author: String,
        body: String,
        html: Option<String>,
        email: Option<EmailHeaders>,
        attachments: Vec<Attachment>,
        via: Option<String>,
        created_at: DateTime<Utc>,
    }
    merge {
        custom: CustomFields => CustomPatch,
    }
}

struct_patch! {
    /// The changed fields of a [`Task`].
    TaskPatch for Task {
        id: TaskId,
        customer: Option<CustomerId>,
        case: Option<CaseNumber>,
        kind: TaskKind,
        subject: String,
        due_at: DateTime<Utc>,
        reminder_minutes: Option<u32>,
        status: TaskStatus,
        assignee: Option<String>,
        via: Option<String>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
    merge {
        custom: CustomFields => CustomPatch,
    }
}

enum_patch! {
    /// The changes to a [`Record`], tagged with its kind (`object`) like the
    /// record's own JSON.
    RecordPatch for Record, tag = "object", content = "record", kind = ObjectKind, noun = "record" {
        Customer(Customer => CustomerPatch),
        Case(Case => CasePatch),
        FollowUp(FollowUp => FollowUpPatch),
        Task(Task => TaskPatch),
    }
}

struct_patch! {
    /// The changed fields of a [`SaveEvent`].
    SaveEventPatch for SaveEvent {
        op: SaveOp,
        changed: Vec<String>,
    }
    merge {
        record: Record => RecordPatch,
    }
}

struct_patch! {
    /// The changed fields of a [`ScreenPop`].
    ScreenPopPatch for ScreenPop {
        interaction: Interaction,
        target: PopTarget,
        reason: String,
        open_cases: Vec<CaseNumber>,
    }
}

struct_patch! {
    /// The changed fields of a [`Disposition`].
    DispositionPatch for Disposition {
        interaction: Interaction,
        code: String,
        note: Option<String>,
        case_number: Option<CaseNumber>,
        close_case: bool,
    }
}

struct_patch! {
    /// The changed fields of a [`Notification`].
    NotificationPatch for Notification {
        case_number: Option<CaseNumber>,
        audience: crate::events::Audience,
        cause: crate::events::Cause,
        from: Mailbox,
        to: Vec<Mailbox>,
        cc: Vec<Mailbox>,
        bcc: Vec<Mailbox>,
        message_id: Option<String>,
        in_reply_to: Option<String>,
        references: Vec<String>,
        thread_token: Option<String>,
        attachments: Vec<Attachment>,
        subject: String,
        body: String,
        html: Option<String>,
        signature: Option<String>,
        review: bool,
    }
}

struct_patch! {
    /// The changed fields of an [`EmailReceived`].
    EmailReceivedPatch for EmailReceived {
        headers: EmailHeaders,
        body: String,
        case_number: Option<CaseNumber>,
        rule: String,
        priority: Option<String>,
        fields: BTreeMap<String, serde_json::Value>,
        attachments: Vec<Attachment>,
        queue: Option<String>,
    }
}

struct_patch! {
    /// The changed fields of an [`EmailHeld`].
    EmailHeldPatch for EmailHeld {
        held: HeldEmail,
        notify: Vec<String>,
    }
}

struct_patch! {
    /// The changed fields of a [`ChatEvent`].
    ChatEventPatch for ChatEvent {
        chat: i64,
        interaction: Interaction,
        agent: Option<String>,
        transcript: Option<String>,
    }
}

struct_patch! {
    /// The changed fields of a [`TaskReminder`].
    TaskReminderPatch for TaskReminder {
        fired_at: DateTime<Utc>,
        notification: Option<Notification>,
    }
    merge {
        task: Task => TaskPatch,
    }
}

struct_patch! {
    /// The changed fields of a [`DirectoryChanged`] (the host ignores
    /// them: the event is read-only).
    DirectoryChangedPatch for DirectoryChanged {
        agent: Option<Agent>,
        group: Option<Group>,
        changes: Vec<DirectoryChange>,
    }
}

enum_patch! {
    /// The changes a handler made to an [`Event`], tagged with the event's
    /// kind like the event's own JSON (`{"event": ..., "data": ...}`).
    EventPatch for Event, tag = "event", content = "data", kind = EventKind, noun = "event" {
        BeforeSave(SaveEvent => SaveEventPatch),
        AfterSave(SaveEvent => SaveEventPatch),
        ScreenPop(ScreenPop => ScreenPopPatch),
        Disposition(Disposition => DispositionPatch),
        Notification(Notification => NotificationPatch),
        EmailReceived(EmailReceived => EmailReceivedPatch),
        EmailHeld(EmailHeld => EmailHeldPatch),
        ChatOffered(ChatEvent => ChatEventPatch),
        ChatEnded(ChatEvent => ChatEventPatch),
        TaskReminder(TaskReminder => TaskReminderPatch),
        DirectoryChanged(DirectoryChanged => DirectoryChangedPatch),
    }
}

impl EventPatch {
    /// The patch that turns `before` into `after` (what the handler left),
    /// taking the changed parts out of `after`; `None` when it changed
    /// nothing.
    pub fn diff(before: &Event, after: Event) -> Option<EventPatch> {
        <Event as Patchable>::diff(before, after)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// `before` patched through JSON bytes, as the host receives it.
    fn through_bytes(before: &Event, after: Event) -> (Option<Value>, Event) {
        let patch = EventPatch::diff(before, after);
        let bytes = serde_json::to_vec(&patch).unwrap_or_else(|e| panic!("{e}"));
        let read: Option<EventPatch> =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let mut event = before.clone();
        if let Some(patch) = read {
            event.patch(patch).unwrap_or_else(|e| panic!("{e}"));
        }
        (serde_json::from_slice(&bytes).unwrap_or_default(), event)
    }

    /// Every changed leaf, `null` and removed member of `value` one at a
    /// time, as JSON paths and the changed document.
    fn mutations(value: &Value) -> Vec<(String, Value)> {
        fn walk(path: &str, value: &Value, out: &mut Vec<(String, Value)>) {
            match value {
                Value::Object(members) => {
                    for (key, member) in members {
                        let here = format!("{path}/{key}");
                        // Set to null, and remove: for optional fields and
                        // custom fields.
                        let mut nulled = members.clone();
                        nulled.insert(key.clone(), Value::Null);
                        out.push((format!("{here}=null"), Value::Object(nulled)));
                        let mut removed = members.clone();
                        removed.remove(key);
                        out.push((format!("{here}-"), Value::Object(removed)));
                        let mut inner = Vec::new();
                        walk(&here, member, &mut inner);
                        for (p, changed) in inner {
                            let mut members = members.clone();
                            members.insert(key.clone(), changed);
                            out.push((p, Value::Object(members)));
                        }
                    }
                }
                Value::Array(items) => {
                    out.push((format!("{path}[]"), Value::Array(Vec::new())));
                    for (i, item) in items.iter().enumerate() {
                        let mut inner = Vec::new();
                        walk(&format!("{path}/{i}"), item, &mut inner);
                        for (p, changed) in inner {
                            let mut items = items.clone();
                            items[i] = changed;
                            out.push((p, Value::Array(items)));
                        }
                    }
                }
                Value::String(s) => out.push((path.to_owned(), Value::String(format!("{s}x")))),
                Value::Number(n) => {
                    let next = n.as_i64().map_or(json!(1.5), |i| json!(i.wrapping_add(1)));
                    out.push((path.to_owned(), next));
                }
                Value::Bool(b) => out.push((path.to_owned(), Value::Bool(!b))),
                Value::Null => {}
            }
        }
        let mut out = Vec::new();
        walk("", value, &mut out);
        out
    }

    #[test]
    fn every_change_to_every_example_round_trips_through_a_patch() {
        let mut tried = 0;
        for before in Event::examples() {
            let json = serde_json::to_value(&before).unwrap_or_else(|e| panic!("{e}"));
            for (path, changed) in mutations(&json) {
                // Only changes that still make an event of the same kind.
                let Ok(after) = serde_json::from_value::<Event>(changed) else {
                    continue;
                };
                if after.kind() != before.kind() || after.object() != before.object() {
                    continue;
                }
                let (patch, patched) = through_bytes(&before, after.clone());
                assert_eq!(patched, after, "{} {path}", before.kind());
                assert_eq!(patch.is_none(), after == before, "{} {path}", before.kind());
                tried += 1;
            }
        }
        assert!(tried > 500, "only {tried} changes tried");
    }

    #[test]
    fn a_patch_holds_only_what_changed() {
        let before = Event::examples().swap_remove(1);
        let mut after = before.clone();
        let Event::BeforeSave(SaveEvent {
            record: Record::Case(case),
            ..
        }) = &mut after
        else {
            panic!("the second example is a case's before_save: {before:?}");
        };
        case.priority = "urgent".into();
        case.owner = None;
        case.custom.remove("tier");
        case.custom
            .insert("contract_ref".into(), FieldValue::Text("K-77".into()));
        let patch = EventPatch::diff(&before, after);
        let json = serde_json::to_value(&patch).unwrap_or_default();
        assert_eq!(
            json,
            json!({"event": "before_save", "data": {"record": {"object": "case", "record": {
                "priority": "urgent",
                "owner": null,
                "custom": {"contract_ref": {"text": "K-77"}, "tier": null},
            }}}})
        );
        assert_eq!(EventPatch::diff(&before, before.clone()), None);
    }

    #[test]
    fn a_patch_for_another_kind_is_refused_and_changes_nothing() {
        let examples = Event::examples();
        let case_event = examples
            .iter()
            .find(|e| e.object() == Some(ObjectKind::Case))
            .cloned()
            .unwrap_or_else(|| panic!("a case example"));
        let customer = examples[0].clone();
        assert_eq!(customer.object(), Some(ObjectKind::Customer));

        // A customer's patch on a case's save event.
        let patch: EventPatch = serde_json::from_value(json!({
            "event": "before_save",
            "data": {"record": {"object": "customer", "record": {"name": "Eve"}}}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut event = case_event.clone();
        let err = event.patch(patch).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a patch for a customer record cannot apply to a case record"
        );
        assert_eq!(event, case_event, "nothing applied");

        // A record of another kind diffs to a full patch of that kind.
        let patch = EventPatch::diff(&case_event, customer.clone());
        let Some(EventPatch::BeforeSave(save)) = &patch else {
            panic!("a before_save patch: {patch:?}");
        };
        assert!(
            matches!(&save.record, Some(RecordPatch::Customer(c)) if c.name.is_some() && c.custom.is_some()),
            "{save:?}"
        );

        // Another kind of event.
        let chat = examples
            .iter()
            .find(|e| e.kind() == EventKind::ChatEnded)
            .cloned()
            .unwrap_or_else(|| panic!("a chat example"));
        let patch = EventPatch::diff(&case_event, chat.clone()).unwrap_or_else(|| panic!("diff"));
        assert_eq!(patch.kind(), EventKind::ChatEnded);
        let mut event = case_event.clone();
        let err = event.patch(patch).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a patch for a chat_ended event cannot apply to a before_save event"
        );
        assert_eq!(event, case_event);
        // Applied to its own kind, a full patch rebuilds the event.
        let mut other = chat.clone();
        if let Event::ChatEnded(c) = &mut other {
            c.transcript = None;
            c.agent = None;
        }
        let full = <Event as Patchable>::full(chat.clone());
        other.patch(full).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(other, chat);
    }

    #[test]
    fn malformed_patches_do_not_decode() {
        for (patch, expected) in [
            (
                json!({"event": "before_save", "data": {"record": {"object": "case", "record": {"priority": 5}}}}),
                "invalid type: integer `5`, expected a string",
            ),
            (
                json!({"event": "before_save", "data": {"record": {"object": "case", "record": {"prio": "high"}}}}),
                "unknown field `prio`",
            ),
            (
                json!({"event": "before_save", "data": {"record": {"object": "case", "record": {"subject": null}}}}),
                "invalid type: null, expected a string",
            ),
            (
                json!({"event": "before_save", "data": {"record": {"object": "case", "record": {"custom": {"units": {"size": 3}}}}}}),
                "unknown variant `size`",
            ),
            (
                json!({"event": "screen_pop", "data": {"target": {"pop": "nowhere"}}}),
                "unknown variant `nowhere`",
            ),
            (
                json!({"event": "teleport", "data": {}}),
                "unknown variant `teleport`",
            ),
        ] {
            let err = serde_json::from_value::<EventPatch>(patch.clone())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_else(|| panic!("{patch} decoded"));
            assert!(err.contains(expected), "{patch}: {err}");
        }
    }

    #[test]
    fn patch_members_are_named_like_the_fields_they_change() {
        // A full patch serializes to the same keys as the value, at every
        // level that merges, so a serde rename in the model cannot slip by.
        for event in Event::examples() {
            let value = serde_json::to_value(&event).unwrap_or_default();
            let full =
                serde_json::to_value(<Event as Patchable>::full(event.clone())).unwrap_or_default();
            let keys = |v: &Value, path: &str| -> Vec<String> {
                v.pointer(path)
                    .and_then(Value::as_object)
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default()
            };
            for path in [
                "",
                "/data",
                "/data/record",
                "/data/record/record",
                "/data/task",
            ] {
                assert_eq!(
                    keys(&value, path),
                    keys(&full, path),
                    "{} {path}",
                    event.kind()
                );
            }
        }
    }
}

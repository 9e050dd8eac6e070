//! Which events the webhook sends: the event kinds (`events`), the record
//! kinds of save events (`objects`), and conditions on fields (`when`).
//!
//! A condition names a field of the event's data by path: for save events a
//! field of the record (`status`, `customer`, `custom.tier`), for the others
//! a field of the payload (`code`, `audience`, `interaction.channel`). It
//! holds when the field `equals` a value, is `one_of` several, and/or (with
//! `changed = true`, after-save events only) is among the fields the write
//! changed. Every condition must hold. So "cases whose status changed to
//! closed" is `objects = ["case"]`, `when = [{ field = "status", changed =
//! true, equals = "closed" }]`.

use dossier_sdk::prelude::*;
use dossier_sdk::serde_json::Value;
use dossier_sdk::{FieldType, ObjectKind};
use serde::Deserialize;

/// One condition on a field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Condition {
    /// The field's path in the record or payload (`status`, `custom.tier`).
    field: String,
    /// The value the field must have.
    #[serde(default)]
    equals: Option<Value>,
    /// Values one of which the field must have.
    #[serde(default)]
    one_of: Option<Vec<Value>>,
    /// Whether the write must have changed the field (after-save only).
    #[serde(default)]
    changed: Option<bool>,
}

/// The filter an instance applies before sending.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    /// Record kinds whose save events are sent; empty means every kind.
    objects: Vec<ObjectKind>,
    when: Vec<Condition>,
}

impl Filter {
    /// Checks the configured conditions against the events they may meet:
    /// each must name a field that exists in the data of one of `events`
    /// (custom fields excepted, the plugin does not know the schema), and
    /// say something about it.
    pub(crate) fn new(
        objects: Vec<ObjectKind>,
        when: Vec<Condition>,
        events: &[EventKind],
    ) -> Result<Filter> {
        let examples: Vec<Value> = Event::examples()
            .iter()
            .filter(|e| events.contains(&e.kind()))
            .filter(|e| match record(e) {
                Some(r) => objects.is_empty() || objects.contains(&r.kind()),
                None => true,
            })
            .filter_map(data)
            .collect();
        for (i, c) in when.iter().enumerate() {
            if c.equals.is_none() && c.one_of.is_none() && c.changed.is_none() {
                return Err(Error::config(format!(
                    "when[{i}] (field `{}`) says nothing: give `equals`, `one_of` or `changed`",
                    c.field
                )));
            }
            if c.changed == Some(true) && !events.contains(&EventKind::AfterSave) {
                return Err(Error::config(format!(
                    "when[{i}] asks whether `{}` changed, which only after_save events say; add \"after_save\" to `events`",
                    c.field
                )));
            }
            let known = c.field.starts_with("custom.")
                || examples.iter().any(|e| lookup(e, &c.field).is_some());
            if !known {
                return Err(Error::config(format!(
                    "when[{i}]: `{}` is not a field of the events sent ({})",
                    c.field,
                    events
                        .iter()
                        .map(|e| e.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        Ok(Filter { objects, when })
    }

    /// Whether `event` passes.
    pub(crate) fn passes(&self, event: &Event) -> bool {
        let save = match event {
            Event::BeforeSave(s) | Event::AfterSave(s) => Some(s),
            _ => None,
        };
        if let Some(s) = save
            && !self.objects.is_empty()
            && !self.objects.contains(&s.record.kind())
        {
            return false;
        }
        if self.when.is_empty() {
            return true;
        }
        let Some(data) = data(event) else {
            return false;
        };
        self.when.iter().all(|c| {
            let value = lookup(&data, &c.field);
            let changed_ok = match c.changed {
                None => true,
                Some(want) => {
                    let did = matches!(event, Event::AfterSave(_))
                        && save.is_some_and(|s| s.changed.contains(&c.field));
                    did == want
                }
            };
            let equals_ok = c
                .equals
                .as_ref()
                .is_none_or(|want| value.as_ref() == Some(want));
            let one_of_ok = c
                .one_of
                .as_ref()
                .is_none_or(|set| value.as_ref().is_some_and(|v| set.contains(v)));
            changed_ok && equals_ok && one_of_ok
        })
    }
}

fn record(event: &Event) -> Option<&Record> {
    match event {
        Event::BeforeSave(s) | Event::AfterSave(s) => Some(&s.record),
        _ => None,
    }
}

/// The data conditions look into: the record of a save event, the payload
/// of the others, as JSON.
fn data(event: &Event) -> Option<Value> {
    let value = dossier_sdk::serde_json::to_value(event).ok()?;
    let data = value.get("data")?.clone();
    match record(event) {
        Some(_) => data.get("record")?.get("record").cloned(),
        None => Some(data),
    }
}

/// The value at a dotted `path` of `data`; custom field values lose their
/// type tag (`{"choice": "gold"}` reads as `"gold"`).
fn lookup(data: &Value, path: &str) -> Option<Value> {
    let mut node = data;
    for part in path.split('.') {
        node = node.get(part)?;
    }
    Some(match node {
        Value::Object(m) if m.len() == 1 && m.keys().all(|k| FieldType::parse(k).is_some()) => {
            m.values().next().cloned().unwrap_or(Value::Null)
        }
        other => other.clone(),
    })
}

//! The shapes of event payloads, for `dossier script docs` and the
//! definitions file: every field of every payload an `on_*` hook receives,
//! with its type and an example value.
//!
//! Derived from the SDK's example events ([`Event::examples`], which fill
//! every optional field), serialized the way scripts receive them, so the
//! documented shape is the real one and cannot drift from it. Tagged
//! variants (a screen-pop's `target`) come from several examples; their
//! fields are marked with the tag value that brings them.

use dossier_sdk::events::EventSpec;
use dossier_sdk::{Event, EventKind};
use serde_json::Value;

use super::payload::FREE_FORM;

/// The tag of payload maps that come in variants (a screen-pop target).
const TAG: &str = "pop";

/// One field of a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Where it is: `target.case_number`, `to[].address`.
    pub path: String,
    /// Its type, in script terms.
    pub ty: String,
    /// An example value, as JSON text.
    pub example: String,
    /// For a variant's field: the tag value that has it (`pop = "case"`).
    pub only_when: Option<String>,
}

/// The payload of a non-record event, as the JSON a script's map is made of.
fn payload(event: &Event) -> Option<Value> {
    let value = match event {
        Event::BeforeSave(_) | Event::AfterSave(_) => return None,
        Event::ScreenPop(v) => serde_json::to_value(v),
        Event::Disposition(v) => serde_json::to_value(v),
        Event::Notification(v) => serde_json::to_value(v),
        Event::EmailReceived(v) => serde_json::to_value(v),
        Event::EmailHeld(v) => serde_json::to_value(v),
        Event::ChatOffered(v) | Event::ChatEnded(v) => serde_json::to_value(v),
        Event::TaskReminder(v) => serde_json::to_value(v),
    };
    value.ok()
}

fn type_of(value: &Value) -> String {
    match value {
        Value::Null => "()".to_owned(),
        Value::Bool(_) => "bool".to_owned(),
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer".to_owned(),
        Value::Number(_) => "decimal".to_owned(),
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
            "string (RFC 3339 time)".to_owned()
        }
        Value::String(_) => "string".to_owned(),
        Value::Array(items) => match items.first() {
            Some(first) => format!("array of {}", plural(&type_of(first))),
            None => "array".to_owned(),
        },
        Value::Object(_) => "map".to_owned(),
    }
}

fn plural(ty: &str) -> String {
    match ty {
        "map" => "maps".to_owned(),
        "string" => "strings".to_owned(),
        "integer" => "integers".to_owned(),
        other => other.to_owned(),
    }
}

fn example(value: &Value) -> String {
    match value {
        Value::Object(_) => String::new(),
        Value::Array(items) if items.iter().any(Value::is_object) => String::new(),
        other => other.to_string(),
    }
}

/// Adds the fields of `map` (at `prefix`) to `out`.
fn walk(
    map: &serde_json::Map<String, Value>,
    prefix: &str,
    when: Option<&str>,
    out: &mut Vec<Field>,
) {
    let tag = map
        .get(TAG)
        .and_then(Value::as_str)
        .map(|v| format!("{TAG} = \"{v}\""));
    for (key, value) in map {
        let path = format!("{prefix}{key}");
        let only_when = match (&tag, key.as_str()) {
            (Some(tag), k) if k != TAG => Some(tag.clone()),
            _ => when.map(str::to_owned),
        };
        let free = FREE_FORM.contains(&key.as_str());
        let ty = if free {
            "map (free-form: keys are data, a missing one reads as `()`)".to_owned()
        } else {
            type_of(value)
        };
        let field = Field {
            path: path.clone(),
            ty,
            example: if free {
                value.to_string()
            } else {
                example(value)
            },
            only_when: only_when.clone(),
        };
        if !out.contains(&field) {
            out.push(field);
        }
        if free {
            continue;
        }
        match value {
            Value::Object(inner) => walk(inner, &format!("{path}."), only_when.as_deref(), out),
            Value::Array(items) => {
                if let Some(Value::Object(inner)) = items.first() {
                    walk(inner, &format!("{path}[]."), only_when.as_deref(), out);
                }
            }
            _ => {}
        }
    }
}

/// Whether `value`, an edited example payload of `kind`, still
/// reads as the event: used to find the optional fields (those that take `()`).
fn reads(kind: EventKind, value: Value) -> bool {
    use dossier_sdk::{
        ChatEvent, Disposition, EmailHeld, EmailReceived, Notification, ScreenPop, TaskReminder,
    };
    match kind {
        EventKind::ScreenPop => serde_json::from_value::<ScreenPop>(value).is_ok(),
        EventKind::Disposition => serde_json::from_value::<Disposition>(value).is_ok(),
        EventKind::Notification => serde_json::from_value::<Notification>(value).is_ok(),
        EventKind::EmailReceived => serde_json::from_value::<EmailReceived>(value).is_ok(),
        EventKind::EmailHeld => serde_json::from_value::<EmailHeld>(value).is_ok(),
        EventKind::ChatOffered | EventKind::ChatEnded => {
            serde_json::from_value::<ChatEvent>(value).is_ok()
        }
        EventKind::TaskReminder => serde_json::from_value::<TaskReminder>(value).is_ok(),
        _ => false,
    }
}

/// Whether the field at `path` (`a.b`, `a[].b`) of `example` may be `()`.
fn optional(kind: EventKind, example: &Value, path: &str) -> bool {
    let pointer: String = path
        .split('.')
        .map(|p| match p.strip_suffix("[]") {
            Some(array) => format!("/{array}/0"),
            None => format!("/{p}"),
        })
        .collect();
    let mut trial = example.clone();
    match trial.pointer_mut(&pointer) {
        Some(slot) => *slot = Value::Null,
        None => return false,
    }
    reads(kind, trial)
}

/// Every field of the payload of events of `kind`, by path (alphabetical); the fields of
/// a tagged map's variants say which tag values have them.
pub fn fields(kind: EventKind) -> Vec<Field> {
    let mut all = Vec::new();
    for event in Event::examples().iter().filter(|e| e.kind() == kind) {
        if let Some(example @ Value::Object(map)) = payload(event).as_ref() {
            let mut found = Vec::new();
            walk(map, "", None, &mut found);
            for f in &mut found {
                if optional(kind, example, &f.path) {
                    f.ty.push_str(", or `()`");
                }
            }
            all.extend(found);
        }
    }
    // One row per path: the variants that share a field are listed
    // together, and the tag's row lists every value.
    let mut out: Vec<Field> = Vec::new();
    for f in all {
        match out.iter_mut().find(|o| o.path == f.path && o.ty == f.ty) {
            Some(o) => {
                if !f.example.is_empty() && !o.example.split(", ").any(|e| e == f.example) {
                    o.example = format!("{}, {}", o.example, f.example);
                }
                o.only_when = match (o.only_when.take(), f.only_when) {
                    (Some(a), Some(b)) if a != b => {
                        Some(format!("{a} or {}", b.trim_start_matches("pop = ")))
                    }
                    (a, _) => a,
                };
            }
            None => out.push(f),
        }
    }
    out
}

/// The Markdown section on payloads: a table per `on_*` hook.
pub fn markdown(specs: &[EventSpec]) -> String {
    let mut out = String::from(
        "## Payloads\n\nWhat each `on_*` hook receives: a `Payload` map with these fields (`a.b` is field `b`\nof the map in field `a`, `a[].b` field `b` of each map in the array `a`). Reading a\nfield that is not listed is an error; free-form maps are ordinary maps.\n\n",
    );
    for spec in specs.iter().filter(|s| !s.per_object) {
        out.push_str(&format!("### {} (`{}`)\n\n", spec.payload, spec.hook));
        out.push_str("| field | type | example |\n|---|---|---|\n");
        for f in fields(spec.kind) {
            let when = f
                .only_when
                .map(|w| format!(" (when `{w}`)"))
                .unwrap_or_default();
            let example = if f.example.is_empty() {
                String::new()
            } else {
                format!("`{}`", f.example.replace('|', "\\|"))
            };
            out.push_str(&format!("| `{}`{when} | {} | {example} |\n", f.path, f.ty));
        }
        out.push('\n');
    }
    out
}

/// The payloads as comments for the definitions file: editors show them
/// next to the declared functions.
pub fn definitions(specs: &[EventSpec]) -> String {
    let mut out = String::from(
        "\n// ---- Event payloads: what each on_* hook receives (a `Payload` map) ----\n",
    );
    for spec in specs.iter().filter(|s| !s.per_object) {
        out.push_str(&format!(
            "//\n// {} — the parameter of {}:\n",
            spec.payload, spec.hook
        ));
        for f in fields(spec.kind) {
            let when = f
                .only_when
                .map(|w| format!(" (when {w})"))
                .unwrap_or_default();
            out.push_str(&format!("//   {}{when}: {}\n", f.path, f.ty));
        }
    }
    out
}

/// A payload of `kind` with every field at its blank value: `()` where the
/// field is optional, empty text, lists and maps, zero and false where
/// those read, and the example's value only where nothing blank does (an
/// enum such as a channel). `dossier script test` lays the admin's partial
/// input over it.
pub fn blank(kind: EventKind) -> Option<Value> {
    let example = Event::examples()
        .iter()
        .find(|e| e.kind() == kind)
        .and_then(payload)?;
    let mut out = example.clone();
    blank_fields(kind, &mut out, "");
    Some(out)
}

fn blank_fields(kind: EventKind, root: &mut Value, prefix: &str) {
    let keys: Vec<String> = match root.pointer(prefix) {
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        _ => return,
    };
    for key in keys {
        let pointer = format!("{prefix}/{key}");
        let Some(current) = root.pointer(&pointer).cloned() else {
            continue;
        };
        let tagged = current.get(TAG).is_some();
        if current.is_object() && !FREE_FORM.contains(&key.as_str()) && !tagged {
            blank_fields(kind, root, &pointer);
            continue;
        }
        // A pop target has no blank value: the new-customer form, with
        // nothing filled, is the one that assumes nothing.
        let new_customer = serde_json::json!({ TAG: "new_customer", "prefill": {} });
        let candidates = [
            if tagged { new_customer } else { Value::Null },
            Value::Null,
            Value::String(String::new()),
            Value::Array(Vec::new()),
            Value::Object(serde_json::Map::new()),
            Value::from(0),
            Value::Bool(false),
        ];
        for candidate in candidates {
            let mut trial = root.clone();
            if let Some(slot) = trial.pointer_mut(&pointer) {
                *slot = candidate;
            }
            if reads(kind, trial.clone()) {
                *root = trial;
                break;
            }
        }
    }
}

/// `input` laid over `base`: maps merge key by key, anything else (and a
/// tagged map such as a pop target, whose variant the input picks)
/// replaces.
pub fn overlay(base: &mut Value, input: &Value) {
    match (base, input) {
        (Value::Object(base), Value::Object(input)) => {
            for (key, value) in input {
                match base.get_mut(key) {
                    Some(slot) if value.is_object() && value.get(TAG).is_none() => {
                        overlay(slot, value);
                    }
                    _ => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, input) => *base = input.clone(),
    }
}

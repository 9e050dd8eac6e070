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

/// Every tag of payload maps that come in variants: a screen-pop's
/// `target` (`pop`), a directory change's `changes[]` (`change`).
const TAGS: [&str; 2] = [TAG, "change"];

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
        Event::DirectoryChanged(v) => serde_json::to_value(v),
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
    let tag = TAGS.iter().find_map(|name| {
        let v = map.get(*name).and_then(Value::as_str)?;
        Some((*name, format!("{name} = \"{v}\"")))
    });
    for (key, value) in map {
        let path = format!("{prefix}{key}");
        let only_when = match (&tag, key.as_str()) {
            (Some((name, tag)), k) if k != *name => Some(tag.clone()),
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
                // Every item: an array of tagged maps (`changes`) has a
                // variant in each.
                for item in items {
                    if let Value::Object(inner) = item {
                        walk(inner, &format!("{path}[]."), only_when.as_deref(), out);
                    }
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
        ChatEvent, DirectoryChanged, Disposition, EmailHeld, EmailReceived, Notification,
        ScreenPop, TaskReminder,
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
        EventKind::DirectoryChanged => serde_json::from_value::<DirectoryChanged>(value).is_ok(),
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
                        let value = b.split_once(" = ").map_or(b.as_str(), |(_, v)| v);
                        Some(format!("{a} or {value}"))
                    }
                    (a, _) => a,
                };
            }
            None => out.push(f),
        }
    }
    // A field one example leaves empty (`group` of an agent's change) and
    // another fills is listed as filled.
    let filled: Vec<String> = out
        .iter()
        .filter(|f| !f.ty.starts_with("()"))
        .map(|f| f.path.clone())
        .collect();
    out.retain(|f| !f.ty.starts_with("()") || !filled.contains(&f.path));
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

/// The standard field names of a record of kind `object`, as its JSON has
/// them (`custom` included), from the SDK's example record.
pub fn record_keys(object: dossier_sdk::ObjectKind) -> Vec<String> {
    Event::examples()
        .into_iter()
        .find_map(|e| match e {
            Event::BeforeSave(s) if s.record.kind() == object => {
                serde_json::to_value(&s.record).ok()
            }
            _ => None,
        })
        .and_then(|v| v.get("record").and_then(Value::as_object).cloned())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Keys of payload maps that hold data rather than fields: the
/// [`FREE_FORM`] maps scripts get as plain maps, and an email's `fields`
/// (custom field names of the case). Their keys are not checked.
const DATA_MAPS: [&str; 4] = ["context", "prefill", "custom", "fields"];

/// The deprecated name `case_number` is also read under (a serde alias).
const ALIAS: (&str, &str) = ("case_number", "case");

/// Stands for the current time in [`input_defaults`]' stand-ins: a field
/// that is a time and has no default is given the time of the test.
pub const NOW: &str = "(the time of the test)";

/// The payloads of `kind`'s examples.
fn examples(kind: EventKind) -> Vec<Value> {
    Event::examples()
        .iter()
        .filter(|e| e.kind() == kind)
        .filter_map(payload)
        .collect()
}

/// `value` read as the payload of a `kind` event and written back: what
/// the host makes of that JSON, its serde defaults filled in; `None` when
/// it does not read.
fn normalize(kind: EventKind, value: Value) -> Option<Value> {
    let event: Event =
        serde_json::from_value(serde_json::json!({ "event": kind.as_str(), "data": value }))
            .ok()?;
    payload(&event)
}

/// Whether a map under `key` holding `example` is a map of fields (checked
/// and filled key by key), not data or a tagged variant.
fn is_fields(key: &str, example: &Value) -> bool {
    example.is_object() && !DATA_MAPS.contains(&key) && example.get(TAG).is_none()
}

/// What a field is when an event's JSON leaves it out.
#[derive(Debug, Clone, PartialEq)]
pub enum Missing {
    /// The SDK type's default, which the host gives it wherever it reads an
    /// event from JSON (a map a script assigns, a plugin's patch, JSON
    /// typed on the command line) and `dossier script test` gives it too.
    Default(Value),
    /// The host refuses JSON without it; `dossier script test` stands in
    /// this value (with [`NOW`] for the current time).
    Required(Value),
}

/// What each top-level field of a `kind` payload is when the input leaves it
/// out (by name): derived from the SDK types' own serde
/// defaults, the one source of them.
pub fn input_defaults(kind: EventKind) -> Vec<(String, Missing)> {
    let Some(ref example @ Value::Object(ref map)) = examples(kind).into_iter().next() else {
        return Vec::new();
    };
    let now = Value::String(NOW.to_owned());
    let Some(Value::Object(stand_ins)) = fill_input(kind, &serde_json::Map::new(), &now) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in map.keys() {
        let mut trial = example.clone();
        if let Value::Object(m) = &mut trial {
            m.remove(key);
        }
        let missing = match normalize(kind, trial) {
            Some(read) => Missing::Default(read.get(key).cloned().unwrap_or(Value::Null)),
            None => Missing::Required(stand_ins.get(key).cloned().unwrap_or(Value::Null)),
        };
        out.push((key.clone(), missing));
    }
    out
}

/// `input`, an admin's partial payload of a `kind` event, completed as
/// `dossier script test` reads it: a field left out that has a default is
/// left out (the SDK type's default fills it, as it does in the live
/// host); a required one gets a stand-in: `()`, empty text, list or map,
/// zero or false where one reads, the new-customer pop for a pop target,
/// `now` for a time, else the example's value (an enum such as a
/// channel). Maps of fields the input gives are completed the same way.
pub fn fill_input(
    kind: EventKind,
    input: &serde_json::Map<String, Value>,
    now: &Value,
) -> Option<Value> {
    let example = examples(kind).into_iter().next()?;
    let mut out = Value::Object(input.clone());
    fill_map(kind, &example, "", &mut out, "", now);
    Some(out)
}

fn fill_map(
    kind: EventKind,
    example: &Value,
    ex_ptr: &str,
    out: &mut Value,
    out_ptr: &str,
    now: &Value,
) {
    let Some(Value::Object(fields)) = example.pointer(ex_ptr) else {
        return;
    };
    for (key, ex_value) in fields.clone() {
        let ex_here = format!("{ex_ptr}/{key}");
        let out_here = format!("{out_ptr}/{key}");
        let given = out.pointer(&out_here).cloned().or_else(|| {
            (key == ALIAS.0)
                .then(|| out.pointer(&format!("{out_ptr}/{}", ALIAS.1)).cloned())
                .flatten()
        });
        match given {
            Some(Value::Object(_)) if is_fields(&key, &ex_value) => {
                fill_map(kind, example, &ex_here, out, &out_here, now);
            }
            Some(Value::Array(items)) => {
                if let Some(first) = ex_value.as_array().and_then(|a| a.first())
                    && is_fields(&key, first)
                {
                    for i in 0..items.len() {
                        fill_map(
                            kind,
                            example,
                            &format!("{ex_here}/0"),
                            out,
                            &format!("{out_here}/{i}"),
                            now,
                        );
                    }
                }
            }
            Some(_) => {}
            None => {
                let mut without = example.clone();
                if let Some(Value::Object(m)) = without.pointer_mut(ex_ptr) {
                    m.remove(&key);
                }
                if normalize(kind, without).is_some() {
                    continue;
                }
                let stand_in = if is_fields(&key, &ex_value) {
                    // A map of fields: its own required fields stood in.
                    let mut inner = Value::Object(serde_json::Map::new());
                    fill_nested(kind, example, &ex_here, &mut inner, now);
                    inner
                } else {
                    stand_in(kind, example, &ex_here, &ex_value, now)
                };
                if let Some(Value::Object(m)) = out.pointer_mut(out_ptr) {
                    m.insert(key.clone(), stand_in);
                }
            }
        }
    }
}

/// Fills `inner`, the stand-in for the map of fields at `ex_ptr`.
fn fill_nested(kind: EventKind, example: &Value, ex_ptr: &str, inner: &mut Value, now: &Value) {
    let mut holder = serde_json::json!({ "x": inner.clone() });
    fill_map(kind, example, ex_ptr, &mut holder, "/x", now);
    if let Some(filled) = holder.get("x") {
        *inner = filled.clone();
    }
}

/// The first blank value that reads at `ex_ptr` of the example.
fn stand_in(
    kind: EventKind,
    example: &Value,
    ex_ptr: &str,
    ex_value: &Value,
    now: &Value,
) -> Value {
    let is_time = ex_value
        .as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok());
    let mut candidates = Vec::new();
    if ex_value.get(TAG).is_some() {
        // A pop target has no blank value: the new-customer form, with
        // nothing filled, is the one that assumes nothing.
        candidates.push(serde_json::json!({ TAG: "new_customer", "prefill": {} }));
    }
    if is_time {
        candidates.push(now.clone());
    }
    candidates.extend([
        Value::Null,
        Value::String(String::new()),
        Value::Array(Vec::new()),
        Value::Object(serde_json::Map::new()),
        Value::from(0),
        Value::Bool(false),
    ]);
    for candidate in candidates {
        let mut trial = example.clone();
        if let Some(slot) = trial.pointer_mut(ex_ptr) {
            *slot = if candidate == *now && is_time {
                ex_value.clone()
            } else {
                candidate.clone()
            };
        }
        if normalize(kind, trial).is_some() {
            return candidate;
        }
    }
    ex_value.clone()
}

/// Every key a map of `kind`'s payloads may have, at each place: the
/// examples' maps laid over each other (a tagged map's variants together).
fn shape(kind: EventKind) -> Value {
    fn merge(into: &mut Value, from: &Value) {
        match (into, from) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    match a.get_mut(k) {
                        Some(slot) => merge(slot, v),
                        None => {
                            a.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            (Value::Array(a), Value::Array(b)) => match (a.first_mut(), b.first()) {
                (Some(x), Some(y)) => merge(x, y),
                (None, Some(y)) => a.push(y.clone()),
                _ => {}
            },
            _ => {}
        }
    }
    let mut out = Value::Object(serde_json::Map::new());
    for example in examples(kind) {
        merge(&mut out, &example);
    }
    out
}

/// The first key of `input` that no payload of `kind` has, at any depth
/// (data maps such as `context` aside): its path, and the keys valid there.
pub fn unknown_key(kind: EventKind, input: &Value) -> Option<(String, Vec<String>)> {
    fn walk(input: &Value, shape: &Value, path: &str) -> Option<(String, Vec<String>)> {
        match (input, shape) {
            (Value::Object(given), Value::Object(known)) => {
                for (key, value) in given {
                    let here = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    let found = known
                        .get(key)
                        .or_else(|| (key == ALIAS.1).then(|| known.get(ALIAS.0)).flatten());
                    match found {
                        None => return Some((here, known.keys().cloned().collect())),
                        Some(_) if DATA_MAPS.contains(&key.as_str()) => {}
                        Some(inner) => {
                            if let Some(hit) = walk(value, inner, &here) {
                                return Some(hit);
                            }
                        }
                    }
                }
                None
            }
            (Value::Array(items), Value::Array(known)) => {
                let inner = known.first()?;
                items
                    .iter()
                    .enumerate()
                    .find_map(|(i, item)| walk(item, inner, &format!("{path}[{i}]")))
            }
            _ => None,
        }
    }
    walk(input, &shape(kind), "")
}

/// The table of what `dossier script test` and the host make of a field an
/// event's JSON leaves out, one row per `on_*` hook: the docs' copy is
/// kept equal to it by a test.
pub fn input_table_markdown(specs: &[EventSpec]) -> String {
    let show = |v: &Value| match v {
        Value::Null => "`()`".to_owned(),
        Value::String(s) if s == NOW => "the time of the test".to_owned(),
        other => format!("`{}`", other.to_string().replace('|', "\\|")),
    };
    let mut out = String::from(
        "| hook | left out, a field is (as in the host) | the host requires; `script test` stands in |\n|---|---|---|\n",
    );
    for spec in specs.iter().filter(|s| !s.per_object) {
        let mut defaults = Vec::new();
        let mut required = Vec::new();
        for (key, missing) in input_defaults(spec.kind) {
            match missing {
                Missing::Default(v) => defaults.push(format!("`{key}`: {}", show(&v))),
                Missing::Required(v) => required.push(format!("`{key}`: {}", show(&v))),
            }
        }
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            spec.hook,
            if defaults.is_empty() {
                "none".to_owned()
            } else {
                defaults.join(", ")
            },
            if required.is_empty() {
                "none".to_owned()
            } else {
                required.join(", ")
            },
        ));
    }
    out
}

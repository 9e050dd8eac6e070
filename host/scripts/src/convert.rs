//! Values between Rhai and Dossier: custom field values, optional strings,
//! timestamps, plain JSON, and the deprecated keys of event maps.

use chrono::{DateTime, NaiveDate, Utc};
use dossier_sdk::{FieldType, FieldValue};
use rhai::{Array, Dynamic, ImmutableString, Map};
use rust_decimal::Decimal;

/// A custom field value as scripts see it: text-like types as strings,
/// integers, decimals, booleans, dates as `"YYYY-MM-DD"`, instants as RFC
/// 3339 strings, multi-choices as arrays of strings.
pub fn field_to_dynamic(value: &FieldValue) -> Dynamic {
    match value {
        FieldValue::Text(s)
        | FieldValue::Choice(s)
        | FieldValue::Email(s)
        | FieldValue::Phone(s)
        | FieldValue::Url(s) => s.clone().into(),
        FieldValue::Integer(i) => (*i).into(),
        FieldValue::Decimal(d) => Dynamic::from_decimal(*d),
        FieldValue::Bool(b) => (*b).into(),
        FieldValue::Date(d) => d.format("%Y-%m-%d").to_string().into(),
        FieldValue::Datetime(t) => t.to_rfc3339().into(),
        FieldValue::MultiChoice(keys) => keys
            .iter()
            .map(|k| Dynamic::from(k.clone()))
            .collect::<Array>()
            .into(),
    }
}

/// The Rhai name of a value's type, as admins read it in errors.
pub fn type_name(value: &Dynamic) -> &'static str {
    if value.is_unit() {
        "()"
    } else if value.is_string() || value.is_char() {
        "string"
    } else if value.is_int() {
        "integer"
    } else if value.is_float() {
        "float"
    } else if value.is_decimal() {
        "decimal"
    } else if value.is_bool() {
        "bool"
    } else if value.is_array() {
        "array"
    } else if value.is_map() {
        "map"
    } else {
        "value of another type"
    }
}

/// A script value for a custom field of type `ty`. Strings are accepted for
/// every type in the type's text form (`"2024-01-31"`, `"12.50"`); integers
/// and floats for decimals; arrays of strings for multi-choices. `Err` says
/// what was expected, phrased to follow the field name.
pub fn dynamic_to_field(ty: FieldType, value: Dynamic) -> Result<FieldValue, String> {
    let article = if ty.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    let wrong = |v: &Dynamic| format!("expects {article} {ty} value, got {}", type_name(v));
    if value.is_string() || value.is_char() {
        let text = value.to_string();
        return FieldValue::parse(ty, &text)
            .map_err(|e| format!("expects {article} {ty} value: {e}"));
    }
    match ty {
        FieldType::Integer if value.is_int() => {
            Ok(FieldValue::Integer(value.as_int().unwrap_or(0)))
        }
        FieldType::Bool if value.is_bool() => {
            Ok(FieldValue::Bool(value.as_bool().unwrap_or(false)))
        }
        FieldType::Decimal if value.is_decimal() => value
            .as_decimal()
            .map(FieldValue::Decimal)
            .map_err(|_| wrong(&value)),
        FieldType::Decimal if value.is_int() => Ok(FieldValue::Decimal(Decimal::from(
            value.as_int().unwrap_or(0),
        ))),
        FieldType::Decimal if value.is_float() => {
            let f = value.as_float().unwrap_or(0.0);
            Decimal::try_from(f)
                .map(|d| FieldValue::Decimal(d.normalize()))
                .map_err(|_| format!("cannot hold the number {f}"))
        }
        FieldType::MultiChoice if value.is_array() => {
            let items = value.into_array().unwrap_or_default();
            let mut keys = Vec::with_capacity(items.len());
            for item in items {
                if !(item.is_string() || item.is_char()) {
                    return Err(format!(
                        "expects an array of choice keys (strings), found a {}",
                        type_name(&item)
                    ));
                }
                keys.push(item.to_string());
            }
            Ok(FieldValue::MultiChoice(keys))
        }
        _ => Err(wrong(&value)),
    }
}

/// `()` for `None`, the string otherwise.
pub fn opt_string(value: &Option<String>) -> Dynamic {
    match value {
        Some(s) => s.clone().into(),
        None => Dynamic::UNIT,
    }
}

/// A string, or `()` for none; `Err` names what was given instead.
pub fn to_opt_string(value: Dynamic) -> Result<Option<String>, String> {
    if value.is_unit() {
        Ok(None)
    } else if value.is_string() || value.is_char() {
        Ok(Some(value.to_string()))
    } else {
        Err(format!("expects a string or (), got {}", type_name(&value)))
    }
}

/// A string; `Err` names what was given instead.
pub fn to_string(value: Dynamic) -> Result<String, String> {
    if value.is_string() {
        // Taken out whole, not formatted through `Display`.
        value
            .into_string()
            .map_err(|t| format!("expects a string, got {t}"))
    } else if let Ok(c) = value.as_char() {
        Ok(c.to_string())
    } else {
        Err(format!("expects a string, got {}", type_name(&value)))
    }
}

/// An integer, or `()` for none.
pub fn to_opt_int(value: Dynamic) -> Result<Option<i64>, String> {
    if value.is_unit() {
        Ok(None)
    } else if let Ok(i) = value.as_int() {
        Ok(Some(i))
    } else {
        Err(format!(
            "expects an integer or (), got {}",
            type_name(&value)
        ))
    }
}

/// An instant as RFC 3339 text (what scripts see).
pub fn time_to_string(t: DateTime<Utc>) -> ImmutableString {
    t.to_rfc3339().into()
}

/// Reads an instant from RFC 3339 text, or a date (midnight UTC).
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("`{text}` is not a date (YYYY-MM-DD) or an RFC 3339 date and time"))
}

/// A payload field renamed because its old name is a Rhai keyword, and that
/// old name. Event maps carry both until 0.2 (CHANGELOG.md), so
/// scripts written against 0.1 keep working: `d["case"]` as well as
/// `d.case_number`.
const RENAMED: &str = "case_number";
const DEPRECATED: &str = "case";

/// Adds the deprecated `case` key beside every `case_number` key of an event
/// map, at any depth, holding the same value.
pub fn add_deprecated_keys(value: &mut Dynamic) {
    if let Some(mut map) = value.write_lock::<Map>() {
        if let Some(current) = map.get(RENAMED).cloned()
            && !map.contains_key(DEPRECATED)
        {
            map.insert(DEPRECATED.into(), current);
        }
        for child in map.values_mut() {
            add_deprecated_keys(child);
        }
    } else if let Some(mut items) = value.write_lock::<Array>() {
        for item in items.iter_mut() {
            add_deprecated_keys(item);
        }
    }
}

/// Undoes [`add_deprecated_keys`] on the map a hook left, given the map it
/// received (`before`): where the hook changed `case` but not `case_number`,
/// `case_number` takes the value of `case`; then the `case` key goes, since
/// the event's types read it as an alias and refuse both at once. A map
/// that only has `case` (one the hook built the old way) keeps it: the alias
/// reads it. Maps whose `case` is a field of their own (a task's) are left
/// alone.
pub fn fold_deprecated_keys(value: &mut Dynamic, before: Option<&Dynamic>) {
    let before_map = before.and_then(|b| b.read_lock::<Map>());
    if let Some(mut map) = value.write_lock::<Map>() {
        // A task's `case` is its own field, not the deprecated name.
        let own_field = before_map
            .as_deref()
            .is_some_and(|b| b.contains_key(DEPRECATED) && !b.contains_key(RENAMED));
        if !own_field
            && map.contains_key(RENAMED)
            && let Some(old_name) = map.remove(DEPRECATED)
        {
            let changed = |key: &str, now: &Dynamic| {
                before_map
                    .as_deref()
                    .and_then(|b| b.get(key))
                    .is_none_or(|was| !same(was, now))
            };
            let renamed_changed = map.get(RENAMED).is_some_and(|now| changed(RENAMED, now));
            if before_map.is_some() && changed(DEPRECATED, &old_name) && !renamed_changed {
                map.insert(RENAMED.into(), old_name);
            }
        }
        for (key, child) in map.iter_mut() {
            let was = before_map.as_deref().and_then(|b| b.get(key.as_str()));
            fold_deprecated_keys(child, was);
        }
    } else if let Some(mut items) = value.write_lock::<Array>() {
        let before_items = before.and_then(|b| b.read_lock::<Array>());
        for (i, item) in items.iter_mut().enumerate() {
            fold_deprecated_keys(item, before_items.as_deref().and_then(|b| b.get(i)));
        }
    }
}

/// Whether two script values are the same value (the types event maps hold
/// under `case`: integers, `()`, strings).
fn same(a: &Dynamic, b: &Dynamic) -> bool {
    a.type_name() == b.type_name() && a.to_string() == b.to_string()
}

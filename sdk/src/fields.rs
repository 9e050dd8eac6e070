//! Custom field values and their types.
//!
//! The admin declares custom fields in `dossier.toml`; every value a record
//! carries is a [`FieldValue`] whose [`FieldType`] must match the declaration.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The type of a custom field, as written in `dossier.toml` (`type = "choice"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text.
    Text,
    /// A 64-bit signed integer.
    Integer,
    /// An exact decimal number (money, rates).
    Decimal,
    /// True or false.
    Bool,
    /// A calendar date without time.
    Date,
    /// An instant, stored in UTC.
    Datetime,
    /// One key from the field's `choices`.
    Choice,
    /// Several keys from the field's `choices`.
    MultiChoice,
    /// An email address.
    Email,
    /// A phone number, normalized to E.164.
    Phone,
    /// An absolute `http(s)` URL.
    Url,
}

impl FieldType {
    /// Every type, in declaration order.
    pub const ALL: [FieldType; 11] = [
        FieldType::Text,
        FieldType::Integer,
        FieldType::Decimal,
        FieldType::Bool,
        FieldType::Date,
        FieldType::Datetime,
        FieldType::Choice,
        FieldType::MultiChoice,
        FieldType::Email,
        FieldType::Phone,
        FieldType::Url,
    ];

    /// The snake_case name used in config.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Decimal => "decimal",
            FieldType::Bool => "bool",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Choice => "choice",
            FieldType::MultiChoice => "multi_choice",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
        }
    }

    /// Parses the config name of a type.
    pub fn parse(s: &str) -> Option<FieldType> {
        FieldType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One custom field value.
///
/// Serialized with its type as the key (`{"date": "2026-11-23"}`), so a value
/// read back without its schema keeps its type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldValue {
    /// Free text.
    Text(String),
    /// An integer.
    Integer(i64),
    /// An exact decimal, serialized as a string (`"12.50"`).
    Decimal(Decimal),
    /// True or false.
    Bool(bool),
    /// A date.
    Date(NaiveDate),
    /// An instant.
    Datetime(DateTime<Utc>),
    /// One choice key.
    Choice(String),
    /// Several choice keys.
    MultiChoice(Vec<String>),
    /// An email address.
    Email(String),
    /// A phone number (E.164 once saved).
    Phone(String),
    /// A URL.
    Url(String),
}

impl FieldValue {
    /// The type of this value.
    pub fn field_type(&self) -> FieldType {
        match self {
            FieldValue::Text(_) => FieldType::Text,
            FieldValue::Integer(_) => FieldType::Integer,
            FieldValue::Decimal(_) => FieldType::Decimal,
            FieldValue::Bool(_) => FieldType::Bool,
            FieldValue::Date(_) => FieldType::Date,
            FieldValue::Datetime(_) => FieldType::Datetime,
            FieldValue::Choice(_) => FieldType::Choice,
            FieldValue::MultiChoice(_) => FieldType::MultiChoice,
            FieldValue::Email(_) => FieldType::Email,
            FieldValue::Phone(_) => FieldType::Phone,
            FieldValue::Url(_) => FieldType::Url,
        }
    }

    /// The value as plain JSON, without its type tag: what the store keeps and
    /// what indexed lookups compare against.
    pub fn to_plain_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            FieldValue::Text(s)
            | FieldValue::Choice(s)
            | FieldValue::Email(s)
            | FieldValue::Phone(s)
            | FieldValue::Url(s) => Value::String(s.clone()),
            FieldValue::Integer(i) => Value::from(*i),
            FieldValue::Decimal(d) => Value::String(d.to_string()),
            FieldValue::Bool(b) => Value::Bool(*b),
            FieldValue::Date(d) => Value::String(d.format("%Y-%m-%d").to_string()),
            FieldValue::Datetime(t) => Value::String(t.to_rfc3339()),
            FieldValue::MultiChoice(v) => {
                Value::Array(v.iter().cloned().map(Value::String).collect())
            }
        }
    }

    /// Reads plain JSON as a value of type `ty`; `Err` says what was expected.
    pub fn from_plain_json(ty: FieldType, v: &serde_json::Value) -> Result<FieldValue, String> {
        use serde_json::Value;
        let text = |v: &Value| -> Result<String, String> {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("expected a {ty} as a string, got {v}"))
        };
        Ok(match ty {
            FieldType::Text => FieldValue::Text(text(v)?),
            FieldType::Choice => FieldValue::Choice(text(v)?),
            FieldType::Email => FieldValue::Email(text(v)?),
            FieldType::Phone => FieldValue::Phone(text(v)?),
            FieldType::Url => FieldValue::Url(text(v)?),
            FieldType::Integer => match v {
                Value::Number(n) => FieldValue::Integer(
                    n.as_i64()
                        .ok_or_else(|| format!("expected an integer, got {n}"))?,
                ),
                other => FieldValue::parse(ty, &text(other)?)?,
            },
            FieldType::Bool => match v {
                Value::Bool(b) => FieldValue::Bool(*b),
                other => FieldValue::parse(ty, &text(other)?)?,
            },
            FieldType::Decimal => match v {
                Value::Number(n) => FieldValue::parse(ty, &n.to_string())?,
                other => FieldValue::parse(ty, &text(other)?)?,
            },
            FieldType::Date | FieldType::Datetime => FieldValue::parse(ty, &text(v)?)?,
            FieldType::MultiChoice => match v {
                Value::Array(items) => {
                    FieldValue::MultiChoice(items.iter().map(text).collect::<Result<Vec<_>, _>>()?)
                }
                other => FieldValue::parse(ty, &text(other)?)?,
            },
        })
    }

    /// Parses the textual form of a value of type `ty`, as typed on a command
    /// line (`tier=gold`, `since=2024-01-31`, `tags=a,b`).
    pub fn parse(ty: FieldType, s: &str) -> Result<FieldValue, String> {
        Ok(match ty {
            FieldType::Text => FieldValue::Text(s.to_owned()),
            FieldType::Choice => FieldValue::Choice(s.to_owned()),
            FieldType::Email => FieldValue::Email(s.to_owned()),
            FieldType::Phone => FieldValue::Phone(s.to_owned()),
            FieldType::Url => FieldValue::Url(s.to_owned()),
            FieldType::Integer => FieldValue::Integer(
                s.trim()
                    .parse()
                    .map_err(|_| format!("`{s}` is not an integer"))?,
            ),
            FieldType::Decimal => FieldValue::Decimal(
                s.trim()
                    .parse()
                    .map_err(|_| format!("`{s}` is not a decimal number"))?,
            ),
            FieldType::Bool => match s.trim() {
                "true" | "yes" | "1" => FieldValue::Bool(true),
                "false" | "no" | "0" => FieldValue::Bool(false),
                _ => return Err(format!("`{s}` is not true or false")),
            },
            FieldType::Date => FieldValue::Date(
                NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD)"))?,
            ),
            FieldType::Datetime => FieldValue::Datetime(
                DateTime::parse_from_rfc3339(s.trim())
                    .map_err(|_| format!("`{s}` is not an RFC 3339 date and time"))?
                    .with_timezone(&Utc),
            ),
            FieldType::MultiChoice => FieldValue::MultiChoice(
                s.split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
        })
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_plain_json() {
            serde_json::Value::String(s) => f.write_str(&s),
            serde_json::Value::Array(items) => {
                let keys: Vec<String> = items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                f.write_str(&keys.join(","))
            }
            other => write!(f, "{other}"),
        }
    }
}

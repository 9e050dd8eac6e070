//! The custom field schema: what the admin declared in `[fields.*]`, compiled
//! once, and the checks every write goes through.

use std::collections::BTreeMap;

use dossier_sdk::{CustomFields, FieldType, FieldValue, ObjectKind};
use regex::Regex;

use crate::contact::{normalize_email, normalize_phone};
use crate::error::{Error, Result};
use serde::Deserialize;

/// `[fields.*]`: custom field definitions per object, by field name.
#[non_exhaustive]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldsConfig {
    /// `[fields.customer.<name>]`.
    pub customer: BTreeMap<String, FieldConfig>,
    /// `[fields.case.<name>]`.
    pub case: BTreeMap<String, FieldConfig>,
    /// `[fields.follow_up.<name>]`.
    pub follow_up: BTreeMap<String, FieldConfig>,
    /// `[fields.task.<name>]`.
    pub task: BTreeMap<String, FieldConfig>,
}

/// `[standard_fields.*]`: rules the admin adds to standard fields, on top
/// of the built-in checks.
#[non_exhaustive]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StandardFieldsConfig {
    /// `[standard_fields.customer.<field>]`.
    pub customer: CustomerStandardFields,
}

/// `[standard_fields.customer]`: the customer's standard fields that take
/// rules.
#[non_exhaustive]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerStandardFields {
    /// `[standard_fields.customer.account]`.
    pub account: StandardFieldConfig,
    /// `[standard_fields.customer.phone]`: each phone number, after
    /// normalization to E.164 (`+33612345678`).
    pub phone: StandardFieldConfig,
    /// `[standard_fields.customer.email]`: each email address, after
    /// normalization (lower case).
    pub email: StandardFieldConfig,
}

/// The rules of one standard field.
#[non_exhaustive]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StandardFieldConfig {
    /// A regular expression the whole value must match, as a custom
    /// field's `pattern`.
    pub pattern: Option<String>,
}

impl StandardFieldConfig {
    /// A field rule requiring `pattern` to match the whole value.
    pub fn with_pattern(pattern: impl Into<String>) -> StandardFieldConfig {
        StandardFieldConfig {
            pattern: Some(pattern.into()),
        }
    }
}

/// A pattern that must match a whole value; `Err` is why it does not
/// compile, in one line.
fn whole_pattern(p: &str) -> std::result::Result<Regex, String> {
    Regex::new(&format!("^(?:{p})$")).map_err(|e| {
        let why = e.to_string();
        why.lines()
            .last()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_owned()
    })
}

/// The pattern as the admin wrote it, for messages.
fn written(re: &Regex) -> &str {
    re.as_str()
        .trim_start_matches("^(?:")
        .trim_end_matches(")$")
}

impl StandardFieldsConfig {
    /// Compiles every pattern: (object, field, pattern). A pattern that does
    /// not compile is a config error naming its key.
    pub fn compile(&self) -> Result<Vec<(ObjectKind, &'static str, Regex)>> {
        let customer = &self.customer;
        let mut out = Vec::new();
        for (field, rule) in [
            ("account", &customer.account),
            ("phone", &customer.phone),
            ("email", &customer.email),
        ] {
            if let Some(p) = &rule.pattern {
                let re = whole_pattern(p).map_err(|why| {
                    Error::Config(format!(
                        "[standard_fields.customer.{field}] pattern `{p}` is invalid: {why}"
                    ))
                })?;
                out.push((ObjectKind::Customer, field, re));
            }
        }
        Ok(out)
    }
}

/// One choice of a `choice` or `multi_choice` field.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceConfig {
    /// Stored key.
    pub key: String,
    /// What agents see. Defaults to the key.
    #[serde(default)]
    pub label: Option<String>,
}

impl ChoiceConfig {
    /// A choice stored as `key` and shown as itself.
    pub fn new(key: impl Into<String>) -> ChoiceConfig {
        ChoiceConfig {
            key: key.into(),
            label: None,
        }
    }
}

/// One custom field as written in the config.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    /// `text`, `integer`, `decimal`, `bool`, `date`, `datetime`, `choice`,
    /// `multi_choice`, `email`, `phone` or `url`.
    #[serde(rename = "type")]
    pub ty: String,
    /// What agents see. Defaults to the field name.
    #[serde(default)]
    pub label: Option<String>,
    /// A record without a value (and without a default) is refused.
    #[serde(default)]
    pub required: bool,
    /// Value given to new records that do not set the field, in the field's text form.
    #[serde(default)]
    pub default: Option<toml::Value>,
    /// Allowed keys, for `choice` and `multi_choice`.
    #[serde(default)]
    pub choices: Vec<ChoiceConfig>,
    /// Longest allowed text, in characters.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// A regular expression the whole text value must match.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Whether lookups by this field use an index.
    #[serde(default)]
    pub indexed: bool,
}

impl FieldConfig {
    /// An optional, unindexed field of type `ty` (`text`, `integer`,
    /// `choice`, ...) with every other setting at its default.
    pub fn new(ty: impl Into<String>) -> FieldConfig {
        FieldConfig {
            ty: ty.into(),
            label: None,
            required: false,
            default: None,
            choices: Vec::new(),
            max_length: None,
            pattern: None,
            indexed: false,
        }
    }
}

/// One choice of a `choice` or `multi_choice` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Stored key.
    pub key: String,
    /// What agents see.
    pub label: String,
}

/// One custom field, checked and compiled.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// The object it belongs to.
    pub object: ObjectKind,
    /// Its name: a lower-case identifier.
    pub name: String,
    /// Its type.
    pub ty: FieldType,
    /// What agents see.
    pub label: String,
    /// Whether a value must be present.
    pub required: bool,
    /// Value given to new records that leave the field unset.
    pub default: Option<FieldValue>,
    /// Allowed keys, for choice types.
    pub choices: Vec<Choice>,
    /// Longest allowed text, in characters.
    pub max_length: Option<usize>,
    /// Pattern the whole text must match.
    pub pattern: Option<Regex>,
    /// Whether lookups by this field use an index.
    pub indexed: bool,
}

impl FieldDef {
    /// The choice keys, in declaration order.
    pub fn choice_keys(&self) -> Vec<String> {
        self.choices.iter().map(|c| c.key.clone()).collect()
    }
}

/// Every custom field of every object.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    fields: BTreeMap<ObjectKind, Vec<FieldDef>>,
    phone_region: String,
    /// `[standard_fields]` patterns, by object and field.
    standard: Vec<(ObjectKind, &'static str, Regex)>,
}

/// Whether `name` is usable as a field name: it is interpolated into index
/// names and JSON paths, so it is kept to `[a-z][a-z0-9_]*`.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 64
}

impl Schema {
    /// Compiles the `[fields.*]` sections; `phone_region` is used to normalize
    /// phone fields. Errors name the field and what is wrong with it.
    pub fn from_config(config: &FieldsConfig, phone_region: &str) -> Result<Schema> {
        let mut schema = Schema {
            fields: BTreeMap::new(),
            phone_region: phone_region.to_owned(),
            standard: Vec::new(),
        };
        for (object, defs) in [
            (ObjectKind::Customer, &config.customer),
            (ObjectKind::Case, &config.case),
            (ObjectKind::FollowUp, &config.follow_up),
            (ObjectKind::Task, &config.task),
        ] {
            let mut compiled = Vec::new();
            for (name, def) in defs {
                compiled.push(schema.compile(object, name, def)?);
            }
            schema.fields.insert(object, compiled);
        }
        Ok(schema)
    }

    fn compile(&self, object: ObjectKind, name: &str, def: &FieldConfig) -> Result<FieldDef> {
        let bad = |what: String| Error::Config(format!("[fields.{object}.{name}] {what}"));
        if !is_identifier(name) {
            return Err(bad(
                "is not a valid field name: use lower-case letters, digits and `_`, starting with a letter".into(),
            ));
        }
        let ty = FieldType::parse(&def.ty).ok_or_else(|| {
            let all: Vec<&str> = FieldType::ALL.iter().map(|t| t.as_str()).collect();
            bad(format!(
                "has unknown type `{}` (expected one of {})",
                def.ty,
                all.join(", ")
            ))
        })?;
        let is_choice = matches!(ty, FieldType::Choice | FieldType::MultiChoice);
        if is_choice && def.choices.is_empty() {
            return Err(bad(format!("is a {ty} field but lists no choices")));
        }
        if !is_choice && !def.choices.is_empty() {
            return Err(bad(format!(
                "lists choices but is a {ty} field; use type = \"choice\""
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &def.choices {
            if !seen.insert(c.key.as_str()) {
                return Err(bad(format!("lists choice `{}` twice", c.key)));
            }
        }
        if def.indexed && ty == FieldType::MultiChoice {
            return Err(bad(
                "cannot be indexed: multi_choice fields hold lists; use a choice field".into(),
            ));
        }
        let pattern = match &def.pattern {
            Some(p) => Some(
                whole_pattern(p)
                    .map_err(|why| bad(format!("has an invalid pattern `{p}`: {why}")))?,
            ),
            None => None,
        };
        let mut field = FieldDef {
            object,
            name: name.to_owned(),
            ty,
            label: def.label.clone().unwrap_or_else(|| name.to_owned()),
            required: def.required,
            default: None,
            choices: def
                .choices
                .iter()
                .map(|c| Choice {
                    key: c.key.clone(),
                    label: c.label.clone().unwrap_or_else(|| c.key.clone()),
                })
                .collect(),
            max_length: def.max_length,
            pattern,
            indexed: def.indexed,
        };
        if let Some(default) = &def.default {
            let text = match default {
                toml::Value::String(s) => s.clone(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            let value = FieldValue::parse(ty, &text)
                .map_err(|e| bad(format!("has an invalid default: {e}")))?;
            let value = self
                .check(&field, value)
                .map_err(|e| bad(format!("has an invalid default: {e}")))?;
            field.default = Some(value);
        }
        Ok(field)
    }

    /// Adds the `[standard_fields]` patterns; a pattern that does not
    /// compile is a config error naming its key.
    pub fn with_standard(mut self, config: &StandardFieldsConfig) -> Result<Schema> {
        self.standard = config.compile()?;
        Ok(self)
    }

    /// Checks `value` of standard field `field` of `object` against its
    /// `[standard_fields]` pattern, if it has one: `Err` is the rule broken,
    /// phrased to follow the field name.
    pub fn check_standard(
        &self,
        object: ObjectKind,
        field: &str,
        value: &str,
    ) -> std::result::Result<(), String> {
        match self
            .standard
            .iter()
            .find(|(o, f, _)| *o == object && *f == field)
        {
            Some((_, _, re)) if !re.is_match(value) => Err(format!(
                "does not match the pattern {} ([standard_fields.{object}.{field}])",
                written(re)
            )),
            _ => Ok(()),
        }
    }

    /// The custom fields of `object`, sorted by name.
    pub fn fields(&self, object: ObjectKind) -> &[FieldDef] {
        self.fields.get(&object).map(Vec::as_slice).unwrap_or(&[])
    }

    /// One custom field.
    pub fn field(&self, object: ObjectKind, name: &str) -> Option<&FieldDef> {
        self.fields(object).iter().find(|f| f.name == name)
    }

    /// The field, or an error naming it as unknown.
    pub fn require_field(&self, object: ObjectKind, name: &str) -> Result<&FieldDef> {
        self.field(object, name).ok_or_else(|| {
            let known: Vec<&str> = self
                .fields(object)
                .iter()
                .map(|f| f.name.as_str())
                .collect();
            Error::invalid(
                object,
                name,
                if known.is_empty() {
                    format!("is not a custom field ({object} has none)")
                } else {
                    format!("is not a custom field (known: {})", known.join(", "))
                },
            )
        })
    }

    /// Parses the text form of a value for field `name` (as typed on a command
    /// line) and checks it.
    pub fn parse_value(&self, object: ObjectKind, name: &str, text: &str) -> Result<FieldValue> {
        let def = self.require_field(object, name)?;
        let value = FieldValue::parse(def.ty, text)
            .map_err(|e| Error::invalid(object, name, format!("expects a {}: {e}", def.ty)))?;
        self.check(def, value)
            .map_err(|rule| Error::invalid(object, name, rule))
    }

    /// Checks one value against field `name`, returning it normalized
    /// (phones in E.164, emails lower-cased).
    pub fn check_value(
        &self,
        object: ObjectKind,
        name: &str,
        value: FieldValue,
    ) -> Result<FieldValue> {
        let def = self.require_field(object, name)?;
        self.check(def, value)
            .map_err(|rule| Error::invalid(object, name, rule))
    }

    /// Checks a record's custom fields: fills defaults on create, refuses
    /// unknown fields, wrong types, broken rules and missing required values.
    pub fn apply(&self, object: ObjectKind, custom: &mut CustomFields, is_new: bool) -> Result<()> {
        for name in custom.keys() {
            self.require_field(object, name)?;
        }
        for def in self.fields(object) {
            if is_new
                && !custom.contains_key(&def.name)
                && let Some(default) = &def.default
            {
                custom.insert(def.name.clone(), default.clone());
            }
            match custom.remove(&def.name) {
                Some(value) => {
                    let value = self
                        .check(def, value)
                        .map_err(|rule| Error::invalid(object, &def.name, rule))?;
                    custom.insert(def.name.clone(), value);
                }
                None if def.required => {
                    return Err(Error::invalid(object, &def.name, "is required"));
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Decodes the stored plain-JSON form of a record's custom fields. Values
    /// of fields no longer in the schema are kept as text so nothing is lost.
    pub fn decode(&self, object: ObjectKind, json: &str) -> Result<CustomFields> {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|e| Error::Corrupt(format!("{object} custom fields: {e}")))?;
        let mut custom = CustomFields::new();
        for (name, value) in map {
            let decoded = match self.field(object, &name) {
                Some(def) => FieldValue::from_plain_json(def.ty, &value)
                    .map_err(|e| Error::Corrupt(format!("{object}.{name}: {e}")))?,
                None => FieldValue::Text(match value {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                }),
            };
            custom.insert(name, decoded);
        }
        Ok(custom)
    }

    /// Encodes custom fields in the stored plain-JSON form.
    pub fn encode(custom: &CustomFields) -> String {
        let map: serde_json::Map<String, serde_json::Value> = custom
            .iter()
            .map(|(k, v)| (k.clone(), v.to_plain_json()))
            .collect();
        serde_json::Value::Object(map).to_string()
    }

    fn check(&self, def: &FieldDef, value: FieldValue) -> std::result::Result<FieldValue, String> {
        if value.field_type() != def.ty {
            return Err(format!(
                "expects a {} value, got a {}",
                def.ty,
                value.field_type()
            ));
        }
        let value = match value {
            FieldValue::Phone(p) => FieldValue::Phone(normalize_phone(&p, &self.phone_region)?),
            FieldValue::Email(e) => FieldValue::Email(normalize_email(&e)?),
            FieldValue::Url(u) => {
                let ok = (u.starts_with("https://") || u.starts_with("http://"))
                    && u.len() > "https://".len()
                    && !u.chars().any(char::is_whitespace);
                if !ok {
                    return Err(format!("has `{u}`, which is not an http(s) URL"));
                }
                FieldValue::Url(u)
            }
            FieldValue::Choice(k) => {
                if !def.choices.iter().any(|c| c.key == k) {
                    return Err(format!(
                        "has no choice `{k}` (choices: {})",
                        def.choice_keys().join(", ")
                    ));
                }
                FieldValue::Choice(k)
            }
            FieldValue::MultiChoice(keys) => {
                if let Some(k) = keys
                    .iter()
                    .find(|k| !def.choices.iter().any(|c| &c.key == *k))
                {
                    return Err(format!(
                        "has no choice `{k}` (choices: {})",
                        def.choice_keys().join(", ")
                    ));
                }
                FieldValue::MultiChoice(keys)
            }
            other => other,
        };
        if let FieldValue::Text(s) | FieldValue::Url(s) = &value {
            if let Some(max) = def.max_length
                && s.chars().count() > max
            {
                return Err(format!(
                    "is longer than {max} characters ({})",
                    s.chars().count()
                ));
            }
            if let Some(re) = &def.pattern
                && !re.is_match(s)
            {
                return Err(format!("does not match the pattern {}", written(re)));
            }
        }
        Ok(value)
    }
}

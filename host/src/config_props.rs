//! Property tests: loading any TOML, well-formed or not, with the keys the
//! config knows or others, never panics: it is a config or a typed error.
//! And a config that loads opens a store. `PROPTEST_CASES` runs more.
use proptest::prelude::*;

use crate::Error;
use crate::config::*;
use std::path::Path;

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: dossier_types::props_cases(default),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Keys the config knows, and a few it does not.
const KEYS: &[&str] = &[
    "path",
    "readers",
    "default_region",
    "statuses",
    "key",
    "label",
    "open",
    "default_status",
    "closed_status",
    "severities",
    "default_severity",
    "priorities",
    "default_priority",
    "type",
    "required",
    "default",
    "choices",
    "max_length",
    "pattern",
    "indexed",
    "codes",
    "code",
    "closes_case",
    "max_depth",
    "notify_assignee",
    "from",
    "poll_seconds",
    "enabled",
    "dir",
    "files",
    "limits",
    "max_operations",
    "max_call_depth",
    "max_expr_depth",
    "max_string_size",
    "max_array_size",
    "max_map_size",
    "timeout_ms",
    "zone",
    "sha256",
    "trust",
    "config",
    "tier",
    "phone",
    "chat",
    "email",
    "customer",
    "case",
    "task",
    "follow_up",
    "bogus",
];

const SECTIONS: &[&str] = &[
    "store",
    "phone",
    "case",
    "fields",
    "dispositions",
    "scripts",
    "reminders",
    "events",
    "time",
    "plugins",
    "nonsense",
];

fn scalar() -> impl Strategy<Value = toml::Value> {
    prop_oneof![
        any::<i64>().prop_map(toml::Value::Integer),
        (-3i64..70_000).prop_map(toml::Value::Integer),
        any::<bool>().prop_map(toml::Value::Boolean),
        any::<f64>().prop_map(toml::Value::Float),
        prop::sample::select(vec![
            "",
            "open",
            "closed",
            "text",
            "integer",
            "decimal",
            "bool",
            "date",
            "datetime",
            "choice",
            "multi_choice",
            "email",
            "phone",
            "url",
            "gold",
            "FR",
            "ZZ",
            "UTC",
            "Europe/Paris",
            "Mars/Base",
            "(",
            "[a-z]+",
            "^.*$",
            "x@example.com",
            "not an email",
            "scripts",
            "../..",
            "/dev/null",
            "2030-01-02",
            "+1d",
        ])
        .prop_map(|s| toml::Value::String(s.to_owned())),
        "\\PC{0,12}".prop_map(toml::Value::String),
    ]
}

fn value() -> impl Strategy<Value = toml::Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            prop::collection::btree_map(prop::sample::select(KEYS.to_vec()), inner, 0..5).prop_map(
                |m| { toml::Value::Table(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()) }
            ),
        ]
    })
}

/// A config text: sections from the config's own, each with keys
/// mostly from its vocabulary.
fn config_text() -> impl Strategy<Value = String> {
    prop::collection::btree_map(prop::sample::select(SECTIONS.to_vec()), value(), 0..6).prop_map(
        |sections| {
            let table: toml::Table = sections
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            toml::to_string(&table).unwrap_or_default()
        },
    )
}

fn outcome(text: &str) -> std::result::Result<Config, &'static str> {
    Config::parse(text, Path::new("/nonexistent/dossier.toml")).map_err(|e| e.code())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_text_is_a_config_or_a_typed_error(text in any::<String>()) {
        if let Err(code) = outcome(&text) {
            prop_assert!(Error::CODES.contains(&code));
        }
    }

    #[test]
    fn any_toml_with_the_configs_keys_is_a_config_or_a_typed_error(text in config_text()) {
        match outcome(&text) {
            Err(code) => prop_assert!(["config_parse", "config_invalid"].contains(&code), "{code}"),
            Ok(config) => {
                // What loads keeps the promises `check` makes.
                prop_assert!(config.scripts.limits.check().is_ok());
                prop_assert!(dossier_core::time::zone(&config.time.zone).is_ok());
            }
        }
    }
}

/// A `[fields.customer.<name>]` table that often is valid.
fn field() -> impl Strategy<Value = toml::Value> {
    let ty = prop::sample::select(vec![
        "text",
        "integer",
        "decimal",
        "bool",
        "date",
        "datetime",
        "choice",
        "multi_choice",
        "email",
        "phone",
        "url",
        "colour",
    ]);
    (
        ty,
        prop::option::of(scalar()),
        prop::option::of(prop::collection::vec("[a-z]{0,3}", 0..3)),
        prop::option::of(prop::sample::select(vec![
            "[a-z]+", "(", "^A.*", "\\d{3}", "",
        ])),
        prop::option::of(0i64..5),
        any::<(bool, bool)>(),
    )
        .prop_map(
            |(ty, default, choices, pattern, max_length, (required, indexed))| {
                let mut t = toml::Table::new();
                t.insert("type".into(), toml::Value::String(ty.into()));
                if let Some(d) = default {
                    t.insert("default".into(), d);
                }
                if let Some(keys) = choices {
                    let choices = keys
                        .into_iter()
                        .map(|k| {
                            let mut c = toml::Table::new();
                            c.insert("key".into(), toml::Value::String(k));
                            toml::Value::Table(c)
                        })
                        .collect();
                    t.insert("choices".into(), toml::Value::Array(choices));
                }
                if let Some(p) = pattern {
                    t.insert("pattern".into(), toml::Value::String(p.into()));
                }
                if let Some(n) = max_length {
                    t.insert("max_length".into(), toml::Value::Integer(n));
                }
                t.insert("required".into(), toml::Value::Boolean(required));
                t.insert("indexed".into(), toml::Value::Boolean(indexed));
                toml::Value::Table(t)
            },
        )
}

proptest! {
    #![proptest_config(config(64))]

    /// Fields, statuses and limits that load must also open: the schema
    /// compiles them when the host opens, on a real store file.
    #[test]
    fn a_config_that_loads_opens_a_store(
        fields in prop::collection::btree_map(
            prop::sample::select(vec!["tier", "note", "when", "n", "x y", ""]),
            field(),
            0..3,
        ),
        limit in prop::sample::select(ScriptLimits::RANGES.to_vec()),
        limit_value in prop_oneof![Just(0u64), 1u64..5, Just(u64::MAX)],
    ) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut table = toml::Table::new();
        let customer: toml::Table = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let mut fields = toml::Table::new();
        fields.insert("customer".into(), toml::Value::Table(customer));
        table.insert("fields".into(), toml::Value::Table(fields));
        let mut limits = toml::Table::new();
        limits.insert(
            limit.0.into(),
            toml::Value::Integer(i64::try_from(limit_value).unwrap_or(i64::MAX)),
        );
        let mut scripts = toml::Table::new();
        scripts.insert("limits".into(), toml::Value::Table(limits));
        table.insert("scripts".into(), toml::Value::Table(scripts));
        let text = toml::to_string(&table).unwrap_or_default();
        if let Ok(config) = Config::parse(&text, &dir.path().join("dossier.toml")) {
            prop_assert!(limit_value >= 1);
            if let Err(e) = crate::Host::builder(config).create_if_missing().open() {
                prop_assert!(Error::CODES.contains(&e.code()), "{e}");
            }
        }
    }
}

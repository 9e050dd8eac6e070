//! The script reference, generated from the engine's own metadata so that it
//! cannot drift from what scripts can actually call, and the hook table,
//! generated from the SDK's event table.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Deserialize;

use dossier_sdk::ObjectKind;
use dossier_sdk::events::{EVENTS, EventSpec};

use super::engine;
use dossier_core::config::ScriptLimits;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    custom_types: Vec<TypeMeta>,
    #[serde(default)]
    functions: Vec<FnMeta>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeMeta {
    display_name: String,
    #[serde(default)]
    doc_comments: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FnMeta {
    name: String,
    #[serde(default)]
    params: Vec<ParamMeta>,
    #[serde(default)]
    return_type: String,
    #[serde(default)]
    doc_comments: Vec<String>,
}

#[derive(Deserialize)]
struct ParamMeta {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "type", default)]
    ty: Option<String>,
}

/// The name the reference gives a record hook's parameter: the object's
/// own, except `case`, which is a Rhai keyword.
fn record_param(object: ObjectKind) -> &'static str {
    match object {
        ObjectKind::Case => "c",
        other => other.as_str(),
    }
}

/// The script type of a record handle (see `records.rs`).
fn record_type(object: ObjectKind) -> &'static str {
    match object {
        ObjectKind::Customer => "Customer",
        ObjectKind::Case => "Case",
        ObjectKind::FollowUp => "FollowUp",
        ObjectKind::Task => "Task",
    }
}

/// `ScreenPop` → `screen_pop`: the parameter name of a map hook.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// `a`, `b` or `c` for a list of words.
fn either(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// One row of the hook table for `spec`.
fn hook_row(spec: &EventSpec) -> String {
    let (hooks, receives) = if spec.per_object {
        let hooks: Vec<String> = ObjectKind::ALL
            .iter()
            .map(|o| format!("`{}({})`", spec.hook_for(Some(*o)), record_param(*o)))
            .collect();
        let types: Vec<String> = ObjectKind::ALL
            .iter()
            .map(|o| format!("`{}`", record_type(*o)))
            .collect();
        (
            hooks.join(", "),
            format!(
                "the record, a {} (the `record` of a `{}`)",
                either(&types),
                spec.payload
            ),
        )
    } else {
        let keys: Vec<String> = spec.keys.iter().map(|k| format!("`{k}`")).collect();
        (
            format!("`{}({})`", spec.hook, snake_case(spec.payload)),
            format!("a map of the `{}`: {}", spec.payload, keys.join(", ")),
        )
    };
    let guards = if spec.guards {
        "yes"
    } else {
        "no, already committed"
    };
    format!(
        "| {hooks} | {receives} | {} | {} | {guards} |",
        spec.fired_when, spec.may_change
    )
}

/// The table of what each `on_*` hook's event makes of a field its JSON
/// leaves out, derived from the SDK types' serde defaults (the one source
/// the host and `dossier script test` share): `dossier script docs`
/// prints it, and `docs/scripting.md` holds a copy a test keeps
/// byte-equal.
pub fn input_table_markdown() -> String {
    super::shapes::input_table_markdown(&EVENTS)
}

/// The table of every hook, generated from the SDK's event table
/// ([`dossier_sdk::events::EVENTS`]): what each receives, when it fires,
/// what it may change, and whether a veto or error rolls the write back.
/// `dossier script docs` prints it, and `docs/scripting.md` holds a copy a
/// test keeps byte-equal.
pub fn hook_table_markdown() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| hook | receives | fires when | may change | veto rolls back |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for spec in &EVENTS {
        let _ = writeln!(out, "{}", hook_row(spec));
    }
    out
}

fn doc_text(comments: &[String]) -> String {
    comments
        .iter()
        .flat_map(|c| c.lines())
        .map(|l| {
            l.trim_start()
                .trim_start_matches("///")
                .trim_start_matches("//!")
                .trim()
        })
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_owned()
}

fn param_type(p: &ParamMeta) -> String {
    p.ty.clone()
        .unwrap_or_else(|| "?".to_owned())
        .trim_start_matches("&mut ")
        .to_owned()
}

fn signature(f: &FnMeta, skip_first: bool) -> String {
    let params: Vec<String> = f
        .params
        .iter()
        .skip(usize::from(skip_first))
        .map(|p| match &p.name {
            Some(n) => format!("{n}: {}", param_type(p)),
            None => param_type(p),
        })
        .collect();
    let ret = if f.return_type.is_empty() || f.return_type == "()" {
        String::new()
    } else {
        format!(" -> {}", f.return_type)
    };
    format!("{}({}){ret}", f.name, params.join(", "))
}

#[derive(Default)]
struct TypeDoc {
    doc: String,
    /// Property name -> (type, writable, doc).
    props: BTreeMap<String, (String, bool, String)>,
    methods: Vec<(String, String)>,
    indexer: Vec<String>,
}

/// The Markdown reference of every type, property and function scripts can
/// use: `dossier script docs`.
pub fn reference_markdown() -> String {
    // Dossier's module alone: the language packages are Rhai's to document.
    let mut engine = rhai::Engine::new_raw();
    engine.register_global_module(engine::dossier_module().into());
    let json = engine
        .gen_fn_metadata_to_json(false)
        .unwrap_or_else(|_| "{}".to_owned());
    let meta: Metadata = serde_json::from_str(&json).unwrap_or(Metadata {
        custom_types: Vec::new(),
        functions: Vec::new(),
    });

    let mut types: BTreeMap<String, TypeDoc> = meta
        .custom_types
        .iter()
        .map(|t| {
            (
                t.display_name.clone(),
                TypeDoc {
                    doc: doc_text(&t.doc_comments),
                    ..TypeDoc::default()
                },
            )
        })
        .collect();
    let mut globals: Vec<(String, String)> = Vec::new();
    for f in &meta.functions {
        let doc = doc_text(&f.doc_comments);
        let this = f.params.first().map(param_type).unwrap_or_default();
        let is_method = f
            .params
            .first()
            .and_then(|p| p.ty.as_deref())
            .is_some_and(|t| t.starts_with("&mut ") && types.contains_key(&this));
        if let (Some(prop), true) = (f.name.strip_prefix("get$"), is_method) {
            let entry = types.entry(this).or_default();
            let slot = entry
                .props
                .entry(prop.to_owned())
                .or_insert_with(|| (f.return_type.clone(), false, doc.clone()));
            slot.0 = f.return_type.clone();
        } else if let (Some(prop), true) = (f.name.strip_prefix("set$"), is_method) {
            let entry = types.entry(this).or_default();
            let ty = f.params.get(1).map(param_type).unwrap_or_default();
            let slot = entry
                .props
                .entry(prop.to_owned())
                .or_insert_with(|| (ty, true, doc.clone()));
            slot.1 = true;
        } else if f.name.starts_with("index$") && is_method {
            let entry = types.entry(this).or_default();
            entry.indexer.push(doc);
        } else if is_method {
            let entry = types.entry(this).or_default();
            entry.methods.push((signature(f, true), doc));
        } else {
            globals.push((signature(f, false), doc));
        }
    }

    let mut out = String::new();
    let _ = writeln!(out, "# Dossier script reference\n");
    let _ = writeln!(
        out,
        "Generated by `dossier script docs` from the script engine's own metadata: every\nfunction, type and property listed here is registered in the engine, and nothing\nelse Dossier-specific is. The Rhai language itself (operators, strings, arrays,\nmaps, math) is described in the Rhai book; file, network, `eval` and `import` are\nnot available.\n"
    );
    let _ = writeln!(out, "## Hooks\n");
    let _ = writeln!(out, "{}", hook_table_markdown());
    out.push_str(&super::shapes::markdown(&EVENTS));
    let _ = writeln!(out, "## Fields left out\n");
    let _ = writeln!(
        out,
        "What a field of an `on_*` hook's event is when its JSON leaves it out: the SDK types'\ndefaults, which the host applies wherever it reads an event from JSON and `dossier\nscript test` applies to its input. A field without a default is refused by the host;\n`script test` stands in a blank value for it.\n"
    );
    let _ = writeln!(out, "{}", input_table_markdown());
    let _ = writeln!(out, "## Types\n");
    for (name, t) in &types {
        let _ = writeln!(out, "### {name}\n");
        if !t.doc.is_empty() {
            let _ = writeln!(out, "{}\n", t.doc);
        }
        if !t.props.is_empty() {
            let _ = writeln!(out, "| property | type | access | description |");
            let _ = writeln!(out, "|---|---|---|---|");
            for (prop, (ty, writable, doc)) in &t.props {
                let access = if *writable { "read/write" } else { "read" };
                let _ = writeln!(out, "| `{prop}` | `{ty}` | {access} | {doc} |");
            }
            let _ = writeln!(out);
        }
        if !t.methods.is_empty() {
            let _ = writeln!(out, "Methods:\n");
            let mut methods = t.methods.clone();
            methods.sort();
            for (sig, doc) in methods {
                let _ = writeln!(out, "- `{sig}`: {doc}");
            }
            let _ = writeln!(out);
        }
        if !t.indexer.is_empty() {
            let _ = writeln!(out, "Indexer:\n");
            for doc in &t.indexer {
                let _ = writeln!(out, "- {doc}");
            }
            let _ = writeln!(out);
        }
    }
    let _ = writeln!(out, "## Functions\n");
    globals.sort();
    for (sig, doc) in globals {
        let _ = writeln!(out, "- `{sig}`: {doc}");
    }
    out
}

/// Rhai definition files for editor completion (`.d.rhai`), merged into one:
/// the language's standard functions and Dossier's.
pub fn definitions() -> String {
    let engine = engine::build(&ScriptLimits::default());
    let mut out = engine.definitions().single_file();
    out.push_str(&super::shapes::definitions(&EVENTS));
    out
}

//! Event payloads as scripts see them: object maps that are strict where the
//! script's own maps are not.
//!
//! A script's own map behaves as in Rhai: reading a key it does not have
//! gives `()`. An event's payload is different: its fields are fixed by the
//! event, so reading one it does not have is a typo, and an error naming
//! the key and where in the payload it was looked for
//! (`notification.to[0] has no field adress`). To tell the two apart,
//! payloads reach scripts as a [`Payload`] handle rather than a plain map:
//! one shared tree (the whole event) and the path of the map the handle
//! stands for. Reading a field that holds a map or an array of maps hands
//! out handles on them, so the strictness reaches every level; writing
//! stores plain values into the tree, which the handler reads back into the
//! event when the hook returns.

use std::fmt::Write;
use std::sync::Arc;

use parking_lot::Mutex;
use rhai::{Array, Dynamic, EvalAltResult, FuncRegistration, ImmutableString, Map, Module};

use super::check::did_you_mean;
use super::records::{RhaiResult, doc_lines, script_error};

/// Fields of payloads that hold maps whose keys are data rather than
/// fields (an interaction's `context`, a new-customer pop's `prefill`, a
/// record's `custom`): scripts get them as plain maps.
pub const FREE_FORM: [&str; 3] = ["context", "prefill", "custom"];

/// One step from a payload's root to a map inside it.
#[derive(Debug, Clone)]
enum Step {
    Key(ImmutableString),
    Index(usize),
}

/// What a field holds, as [`Payload::get`] hands it out.
enum Found {
    /// A map: handed out as a handle.
    Map,
    /// An array: its items, `None` for the maps (handed out as handles).
    Array(Vec<Option<Dynamic>>),
    /// Anything else (or a free-form map): a copy.
    Value(Dynamic),
}

/// A handle on one map of an event payload.
#[derive(Debug, Clone)]
pub struct Payload {
    root: Arc<Mutex<Dynamic>>,
    path: Arc<[Step]>,
    /// The parameter name of the hook (`notification`), for messages.
    name: Arc<str>,
}

impl Payload {
    /// A handle on the whole payload `value` (an object map), named `name`.
    pub fn root(value: Dynamic, name: &str) -> Payload {
        Payload {
            root: Arc::new(Mutex::new(value)),
            path: Arc::from(Vec::new()),
            name: Arc::from(name),
        }
    }

    /// The payload as the hook left it, as a plain value.
    pub fn into_value(self) -> Dynamic {
        match Arc::try_unwrap(self.root) {
            Ok(m) => m.into_inner(),
            Err(shared) => shared.lock().clone(),
        }
    }

    /// Where this map is, for messages: `notification.to[0]`.
    fn location(&self) -> String {
        let mut out = self.name.to_string();
        for step in self.path.iter() {
            match step {
                Step::Key(k) => {
                    let _ = write!(out, ".{k}");
                }
                Step::Index(i) => {
                    let _ = write!(out, "[{i}]");
                }
            }
        }
        out
    }

    fn child(&self, step: Step) -> Payload {
        let mut path = self.path.to_vec();
        path.push(step);
        Payload {
            root: self.root.clone(),
            path: Arc::from(path),
            name: self.name.clone(),
        }
    }

    /// Runs `f` on the map this handle stands for; an error when a script
    /// replaced it since the handle was made.
    fn with_map<R>(&self, f: impl FnOnce(&mut Map) -> R) -> RhaiResult<R> {
        let mut root = self.root.lock();
        walk(&mut root, &self.path, f).ok_or_else(|| self.gone())
    }

    fn gone(&self) -> Box<EvalAltResult> {
        script_error(format!(
            "`{}` is no longer a map of the event: the hook replaced it",
            self.location()
        ))
    }

    /// The value of field `key`, maps and arrays of maps as handles. Maps
    /// are not copied: a handle says where they are.
    fn get(&self, key: &str) -> RhaiResult<Dynamic> {
        let free = FREE_FORM.contains(&key);
        let found = self.with_map(|m| match m.get(key) {
            None => Err(m.keys().map(|k| k.to_string()).collect::<Vec<_>>()),
            Some(v) if v.is_map() && !free => Ok(Found::Map),
            Some(v) if v.is_array() && !free => {
                let items = v.read_lock::<Array>();
                let shape = items
                    .iter()
                    .flat_map(|a| a.iter())
                    .map(|item| (!item.is_map()).then(|| item.clone()))
                    .collect();
                Ok(Found::Array(shape))
            }
            Some(v) => Ok(Found::Value(v.clone())),
        })?;
        let here = || self.child(Step::Key(key.into()));
        match found {
            Ok(Found::Value(v)) => Ok(v),
            Ok(Found::Map) => Ok(Dynamic::from(here())),
            Ok(Found::Array(shape)) => {
                let here = here();
                Ok(shape
                    .into_iter()
                    .enumerate()
                    .map(|(i, plain)| {
                        plain.unwrap_or_else(|| Dynamic::from(here.child(Step::Index(i))))
                    })
                    .collect::<Array>()
                    .into())
            }
            Err(keys) => {
                let hint = did_you_mean(key, keys.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                Err(script_error(format!(
                    "`{}` has no field `{key}` ({hint}fields: {})",
                    self.location(),
                    keys.join(", ")
                )))
            }
        }
    }

    /// Sets field `key` to `value` (handles in it resolved to plain values).
    fn set(&self, key: &str, value: Dynamic) -> RhaiResult<()> {
        let value = plain(value)?;
        self.with_map(|m| {
            m.insert(key.into(), value);
        })
    }

    /// The map this handle stands for, as a plain map.
    fn to_map(&self) -> RhaiResult<Map> {
        self.with_map(|m| m.clone())
    }
}

/// Runs `f` on the map at `path` below `node`, if there is one.
fn walk<R>(node: &mut Dynamic, path: &[Step], f: impl FnOnce(&mut Map) -> R) -> Option<R> {
    match path.split_first() {
        None => node.write_lock::<Map>().map(|mut map| f(&mut map)),
        Some((Step::Key(key), rest)) => {
            let mut map = node.write_lock::<Map>()?;
            walk(map.get_mut(key.as_str())?, rest, f)
        }
        Some((Step::Index(i), rest)) => {
            let mut items = node.write_lock::<Array>()?;
            walk(items.get_mut(*i)?, rest, f)
        }
    }
}

/// `value` with every payload handle in it replaced by the plain map it
/// stands for.
pub fn plain(value: Dynamic) -> RhaiResult<Dynamic> {
    if value.is::<Payload>() {
        let handle = value.cast::<Payload>();
        return Ok(handle.to_map()?.into());
    }
    if value.is_array() {
        let items = value.into_array().unwrap_or_default();
        return items
            .into_iter()
            .map(plain)
            .collect::<RhaiResult<Array>>()
            .map(Dynamic::from);
    }
    if value.is_map() {
        let map = value.cast::<Map>();
        return map
            .into_iter()
            .map(|(k, v)| plain(v).map(|v| (k, v)))
            .collect::<RhaiResult<Map>>()
            .map(Dynamic::from);
    }
    Ok(value)
}

/// Registers the `Payload` type and its functions into `module`.
pub fn register(module: &mut Module) {
    module.set_custom_type_with_comments::<Payload>(
        "Payload",
        &[&doc_lines(
            "A map of an event's payload (what `on_*` hooks receive, and the maps and lists of maps\ninside it). Read and write fields as with any map (`pop.reason`, `n.to[0].address`,\n`pop.target = #{ pop: \"customer\", customer: 7 }`); reading a field the payload does\nnot have is an error naming it, where a script's own maps give `()`. Each payload's\nfields are listed under Payloads in `dossier script docs`.",
        )],
    );
    let this = "map: &mut Payload";
    FuncRegistration::new_index_getter()
        .with_params_info([this, "field: &str", "?"])
        .with_comments([doc_lines(
            "`map.field` and `map[\"field\"]`: the field's value; maps inside are `Payload`s too. An\nerror when the payload has no such field.",
        )])
        .set_into_module(module, |p: &mut Payload, key: &str| p.get(key));
    FuncRegistration::new_index_setter()
        .with_params_info([this, "field: &str", "value: ?"])
        .with_comments([doc_lines(
            "`map.field = value`: changes the field; the event is read back when the hook returns,\nand a value that does not fit is an error naming the field.",
        )])
        .set_into_module(module, |p: &mut Payload, key: &str, v: Dynamic| {
            p.set(key, v)
        });
    let method = |name: &str, ret: &str, doc: &str| {
        FuncRegistration::new(name)
            .in_global_namespace()
            .with_params_info([this, ret])
            .with_comments([doc_lines(doc)])
    };
    method("keys", "Array", "The payload's field names.").set_into_module(
        module,
        |p: &mut Payload| -> RhaiResult<Array> {
            p.with_map(|m| m.keys().map(|k| Dynamic::from(k.clone())).collect())
        },
    );
    method("len", "INT", "The number of fields.").set_into_module(
        module,
        |p: &mut Payload| -> RhaiResult<rhai::INT> {
            p.with_map(|m| rhai::INT::try_from(m.len()).unwrap_or(rhai::INT::MAX))
        },
    );
    method(
        "to_map",
        "Map",
        "A copy of the payload as a plain map (missing keys give `()`).",
    )
    .set_into_module(module, |p: &mut Payload| p.to_map());
    FuncRegistration::new("contains")
        .in_global_namespace()
        .with_params_info([this, "field: &str", "bool"])
        .with_comments([doc_lines(
            "Whether the payload has field `field` (also `\"field\" in map`).",
        )])
        .set_into_module(module, |p: &mut Payload, key: &str| -> RhaiResult<bool> {
            p.with_map(|m| m.contains_key(key))
        });
    FuncRegistration::new("to_string")
        .in_global_namespace()
        .with_params_info([this, "String"])
        .with_comments([doc_lines("The payload as text, as a map prints.")])
        .set_into_module(module, |p: &mut Payload| -> RhaiResult<String> {
            Ok(Dynamic::from(p.to_map()?).to_string())
        });
    FuncRegistration::new("to_debug")
        .in_global_namespace()
        .with_params_info([this, "String"])
        .with_comments([doc_lines(
            "The payload as text, as a map prints in `debug`.",
        )])
        .set_into_module(module, |p: &mut Payload| -> RhaiResult<String> {
            Ok(format!("{:?}", Dynamic::from(p.to_map()?)))
        });
}

/// Which field of a payload the hook left malformed (its name, and a
/// message saying why): tries the
/// hook's change of each top-level field alone on the payload it received,
/// so the message names the field (`target`) and what the event expected
/// there, rather than the whole event. `None` when no single field explains
/// the failure.
pub fn diagnose<T: serde::de::DeserializeOwned>(
    before: &Dynamic,
    after: &Dynamic,
) -> Option<(String, String)> {
    let to_json = |v: &Dynamic| rhai::serde::from_dynamic::<serde_json::Value>(v).ok();
    // What the hook received, without the deprecated keys, as `after` is.
    let mut base = before.clone();
    super::convert::fold_deprecated_keys(&mut base, Some(before));
    let (Some(serde_json::Value::Object(before)), Some(serde_json::Value::Object(after))) =
        (to_json(&base), to_json(after))
    else {
        return None;
    };
    for (key, value) in &after {
        if before.get(key) == Some(value) {
            continue;
        }
        let mut trial = before.clone();
        trial.insert(key.clone(), value.clone());
        if let Err(e) = serde_json::from_value::<T>(serde_json::Value::Object(trial)) {
            let shown = match value {
                serde_json::Value::String(s) => format!("the string {s:?}"),
                serde_json::Value::Null => "()".to_owned(),
                other => other.to_string(),
            };
            let why = e.to_string();
            let why = why.split(" at line ").next().unwrap_or_default();
            // serde names Rust types; admins know the payload types by the
            // names `dossier script docs` gives them.
            let why = why
                .replace("expected internally tagged enum ", "expected a map, a ")
                .replace("expected struct ", "expected a map, a ");
            return Some((
                key.clone(),
                format!("field `{key}` was set to {shown}, which does not fit: {why}"),
            ));
        }
    }
    None
}

/// Where in `text` a hook probably set payload field `key`: the first
/// `.key =` or `["key"] =` after the hook's `fn` line (1-based line and
/// column of the key). A guess for the message, since the script has
/// returned by the time the event is read back.
pub fn assignment_position(text: &str, from_line: usize, key: &str) -> Option<(usize, usize)> {
    let dotted = format!(".{key}");
    let indexed = format!("[\"{key}\"]");
    text.lines()
        .enumerate()
        .skip(from_line.saturating_sub(1))
        .find_map(|(i, line)| {
            [&dotted, &indexed].into_iter().find_map(|pat| {
                let at = line.find(pat.as_str())?;
                let rest = line[at + pat.len()..].trim_start();
                (rest.starts_with('=') && !rest.starts_with("==")).then_some((i + 1, at + 2))
            })
        })
}

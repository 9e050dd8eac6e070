//! `dossier script test`: run one hook on a given record or event inside a
//! transaction that is always rolled back, and report what it did.

use dossier_sdk::{
    ChatEvent, DirectoryChanged, Disposition, EmailHeld, EmailReceived, Event, FieldType,
    FieldValue, Notification, ObjectKind, Record, SaveEvent, SaveOp, ScreenPop, TaskReminder,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

use std::sync::Arc;

use super::{HOOKS, Scripts, context};
use dossier_core::events::{Handler, context as event_context};
use dossier_core::runtime::{Runtime, system};
use dossier_store::ts;
use dossier_types::{Error, Result};

/// The refusal that makes the dry-run transaction roll back.
const ROLLBACK: &str = "dry run: rolled back";

/// How a dry run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DryRunOutcome {
    /// Every hook let the event through.
    Continue,
    /// A script vetoed the event.
    Vetoed {
        /// The script file.
        by: String,
        /// Its message.
        message: String,
    },
    /// A script refused a field of the record with `invalid(field,
    /// message)`: the write would fail as a validation error.
    Invalid {
        /// The field named.
        field: String,
        /// The rule broken, phrased to follow the field name.
        message: String,
    },
    /// A hook failed.
    Failed {
        /// The error as the admin would see it.
        error: String,
    },
}

/// What a hook did in a dry run; nothing of it was committed.
#[derive(Debug, Clone, Serialize)]
pub struct DryRun {
    /// The hook run.
    pub hook: String,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: DryRunOutcome,
    /// The event as the hooks left it: for `before_save_*`, the record that
    /// would be written.
    pub event: Event,
    /// Records the hooks created (tasks, follow-ups), in order.
    pub writes: Vec<Record>,
    /// What the scripts printed.
    pub printed: Vec<String>,
}

impl Scripts {
    /// Runs every script's `hook` on `input` in a transaction that is always
    /// rolled back: see `Host::test_hook`.
    pub fn test_hook(&self, rt: &Arc<Runtime>, hook: &str, input: &Value) -> Result<DryRun> {
        let scripts = self;
        if !HOOKS.contains(&hook) {
            return Err(Error::Refused(format!(
                "`{hook}` is not a hook (hooks: {})",
                HOOKS.join(", ")
            )));
        }
        if !scripts.defines(hook) {
            return Err(Error::Refused(format!("no script defines `{hook}`")));
        }
        let event = Inputs(rt).event_for(hook, input)?;
        let mut result = None;
        let tx = rt.transaction("script test (rolled back)", || {
            let outer = context::start_capture();
            let mut event = event;
            let mut ctx = system(rt);
            let handled = {
                let _current = event_context::enter(&ctx);
                scripts.handle(&mut ctx, &mut event)
            };
            let outcome = match handled {
                Ok(_) => DryRunOutcome::Continue,
                Err(Error::Vetoed { by, message }) => DryRunOutcome::Vetoed { by, message },
                Err(Error::Validation { field, rule, .. }) => DryRunOutcome::Invalid {
                    field,
                    message: rule,
                },
                Err(e) => DryRunOutcome::Failed {
                    error: e.to_string(),
                },
            };
            let captured = context::finish_capture(outer);
            result = Some(DryRun {
                hook: hook.to_owned(),
                outcome,
                event,
                writes: captured.writes,
                printed: captured.printed,
            });
            Err::<(), _>(Error::Refused(ROLLBACK.into()))
        });
        match (tx, result) {
            (Err(Error::Refused(m)), Some(run)) if m == ROLLBACK => Ok(run),
            (Err(e), _) => Err(e),
            (Ok(()), _) => Err(Error::Refused(
                "internal error: the dry run did not roll back".into(),
            )),
        }
    }
}

/// Reads a dry run's input as an event, with the host's config and schema.
struct Inputs<'a>(&'a Runtime);

impl Inputs<'_> {
    fn event_for(&self, hook: &str, input: &Value) -> Result<Event> {
        let bad = |what: &str, e: serde_json::Error| {
            Error::Refused(format!("the input is not a valid {what}: {e}"))
        };
        if input.get("event").is_some() {
            let event: Event =
                serde_json::from_value(input.clone()).map_err(|e| bad("event", e))?;
            if event.hook_name() != hook {
                return Err(Error::Refused(format!(
                    "the input is a {} event, handled by `{}`, not `{hook}`",
                    event.kind(),
                    event.hook_name()
                )));
            }
            return Ok(event);
        }
        let record_hook = hook
            .strip_prefix("before_save_")
            .map(|o| (true, o))
            .or_else(|| hook.strip_prefix("after_save_").map(|o| (false, o)));
        if let Some((before, object)) = record_hook {
            let kind = ObjectKind::ALL
                .into_iter()
                .find(|k| k.as_str() == object)
                .ok_or_else(|| Error::Refused(format!("`{hook}` names no object")))?;
            if let (Some(Value::Object(wrapper)), Some(_)) = (Some(input), input.get("record"))
                && let Some(key) = wrapper
                    .keys()
                    .find(|k| !["op", "record"].contains(&k.as_str()))
            {
                return Err(Error::input(
                    "--input",
                    format!(
                        "`{key}` is not a key of the `{{\"op\": ..., \"record\": ...}}` form; its keys: op, record"
                    ),
                ));
            }
            let (op, record) = match input.get("record") {
                Some(record) => {
                    let op = match input.get("op").and_then(Value::as_str) {
                        None | Some("create") => SaveOp::Create,
                        Some("update") => SaveOp::Update,
                        Some(other) => {
                            return Err(Error::Refused(format!(
                                "`op` must be create or update, not {other}"
                            )));
                        }
                    };
                    (op, record)
                }
                None => (SaveOp::Create, input),
            };
            let record = self.record_from_json(kind, record)?;
            let save = SaveEvent::new(op, record);
            return Ok(if before {
                Event::BeforeSave(save)
            } else {
                Event::AfterSave(save)
            });
        }
        let Value::Object(given) = input else {
            return Err(Error::Refused(format!(
                "the input of `{hook}` must be a JSON object (the event's fields)"
            )));
        };
        let kind = dossier_sdk::events::EVENTS
            .iter()
            .find(|spec| spec.hook == hook)
            .map(|spec| spec.kind)
            .ok_or_else(|| Error::Refused(format!("`{hook}` takes no event")))?;
        refuse_unknown(hook, super::shapes::unknown_key(kind, input))?;
        // Fields left out get the SDK types' defaults, as in the live
        // host; required ones a blank stand-in.
        let now = Value::String(ts(self.0.now()));
        let data = super::shapes::fill_input(kind, given, &now)
            .unwrap_or_else(|| Value::Object(given.clone()));
        Ok(match hook {
            "on_screen_pop" => Event::ScreenPop(
                serde_json::from_value::<ScreenPop>(data).map_err(|e| bad("screen pop", e))?,
            ),
            "on_disposition" => Event::Disposition(
                serde_json::from_value::<Disposition>(data).map_err(|e| bad("disposition", e))?,
            ),
            "on_notification" => Event::Notification(
                serde_json::from_value::<Notification>(data).map_err(|e| bad("notification", e))?,
            ),
            "on_email_received" => Event::EmailReceived(
                serde_json::from_value::<EmailReceived>(data)
                    .map_err(|e| bad("received email", e))?,
            ),
            "on_email_held" => Event::EmailHeld(
                serde_json::from_value::<EmailHeld>(data).map_err(|e| bad("held email", e))?,
            ),
            "on_chat_offered" => Event::ChatOffered(
                serde_json::from_value::<ChatEvent>(data).map_err(|e| bad("chat event", e))?,
            ),
            "on_chat_ended" => Event::ChatEnded(
                serde_json::from_value::<ChatEvent>(data).map_err(|e| bad("chat event", e))?,
            ),
            "on_directory_changed" => Event::DirectoryChanged(
                serde_json::from_value::<DirectoryChanged>(data)
                    .map_err(|e| bad("directory change", e))?,
            ),
            _ => Event::TaskReminder(
                serde_json::from_value::<TaskReminder>(data)
                    .map_err(|e| bad("task reminder", e))?,
            ),
        })
    }

    /// A record from admin-written JSON: unset standard fields defaulted,
    /// custom fields in plain form converted with the schema.
    fn record_from_json(&self, kind: ObjectKind, input: &Value) -> Result<Record> {
        let Value::Object(fields) = input else {
            return Err(Error::Refused(format!(
                "the input must be a JSON object (a {kind})"
            )));
        };
        let known = super::shapes::record_keys(kind);
        if let Some(key) = fields.keys().find(|k| !known.contains(k)) {
            return Err(Error::input(
                "--input",
                format!(
                    "a {kind} has no field `{key}`{}; its fields: {}",
                    hint(key, &known),
                    known.join(", ")
                ),
            ));
        }
        let now = ts(self.0.now());
        let cfg = &self.0.config().case;
        let mut merged = match kind {
            ObjectKind::Customer => json!({
                "id": 0, "account": "", "name": "", "created_at": now, "updated_at": now,
            }),
            ObjectKind::Case => json!({
                "number": 0, "customer": 0, "subject": "", "status": cfg.initial_status(),
                "severity": cfg.default_severity, "priority": cfg.default_priority,
                "created_at": now, "updated_at": now,
            }),
            ObjectKind::FollowUp => json!({
                "id": 0, "case": 0, "kind": "note", "author": "system", "body": "",
                "created_at": now,
            }),
            ObjectKind::Task => json!({
                "id": 0, "kind": "call", "subject": "", "due_at": now,
                "created_at": now, "updated_at": now,
            }),
        };
        if let Value::Object(m) = &mut merged {
            for (k, v) in fields {
                if k == "custom" {
                    m.insert(k.clone(), Value::Object(self.custom_from_json(kind, v)?));
                } else {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        serde_json::from_value::<Record>(json!({ "object": kind, "record": merged }))
            .map_err(|e| Error::Refused(format!("the input is not a valid {kind}: {e}")))
    }

    fn custom_from_json(&self, kind: ObjectKind, input: &Value) -> Result<Map<String, Value>> {
        let Value::Object(fields) = input else {
            return Err(Error::Refused("`custom` must be a JSON object".into()));
        };
        let mut out = Map::new();
        for (name, value) in fields {
            let def = self.0.schema().require_field(kind, name)?;
            let tagged = match value {
                Value::Object(o)
                    if o.len() == 1 && o.keys().all(|k| FieldType::parse(k).is_some()) =>
                {
                    value.clone()
                }
                plain => {
                    let v = FieldValue::from_plain_json(def.ty, plain)
                        .map_err(|rule| Error::invalid(kind, name, rule))?;
                    serde_json::to_value(&v).map_err(|e| Error::Refused(e.to_string()))?
                }
            };
            out.insert(name.clone(), tagged);
        }
        Ok(out)
    }
}

/// ` (did you mean `x`?)` when a known name is near `key`.
fn hint(key: &str, known: &[String]) -> String {
    super::check::did_you_mean(key, known.iter().map(String::as_str))
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

/// Refuses an input key no payload of the hook has, naming it and the
/// valid keys at its place.
fn refuse_unknown(hook: &str, unknown: Option<(String, Vec<String>)>) -> Result<()> {
    match unknown {
        None => Ok(()),
        Some((path, known)) => {
            let key = path.rsplit(['.', ']']).next().unwrap_or(&path);
            Err(Error::input(
                "--input",
                format!(
                    "`{hook}` has no field `{path}`{}; valid there: {}",
                    hint(key, &known),
                    known.join(", ")
                ),
            ))
        }
    }
}

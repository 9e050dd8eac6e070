//! Global functions scripts can call: `veto`, reading related records,
//! creating tasks and follow-ups, and time helpers.
//!
//! Functions that write go through the context of the event the current hook serves, so
//! their writes join the guarded transaction and fire hooks of their own.
//! When such a write fails, the hook is stopped (the failure cannot be caught
//! by `try`/`catch`, since the failed write may have done part of its work)
//! and the failure is reported whole.

use chrono::Duration;
use dossier_sdk::{
    CaseNumber, CustomFields, CustomerId, FollowUpKind, NewFollowUp, NewTask, ObjectKind, TaskKind,
};
use rhai::{Dynamic, EvalAltResult, FuncRegistration, INT, ImmutableString, Map, Module, Position};

use super::context;
use super::convert::{dynamic_to_field, parse_time, time_to_string, type_name};
use super::records::{RhaiResult, cases_array, doc_lines, host, read_only, script_error};
use dossier_core::events::Ctx;

/// Marks the non-catchable termination raised by `veto`.
pub const VETO_MARK: &str = "dossier:veto";
/// Marks the termination raised by the wall-clock limit.
pub const TIMEOUT_MARK: &str = "dossier:timeout";

fn terminate(mark: &str) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorTerminated(
        Dynamic::from(mark.to_owned()),
        Position::NONE,
    ))
}

/// The fields `invalid` may name on a record of kind `object`: its
/// standard fields as JSON names them (`phone` and `email` for a customer's
/// phones and emails, as the built-in checks name them), then its custom
/// fields.
fn record_fields(object: ObjectKind, schema: &dossier_types::schema::Schema) -> Vec<String> {
    let mut names: Vec<String> = super::shapes::record_keys(object)
        .into_iter()
        .filter(|k| k != "custom")
        .collect();
    if object == ObjectKind::Customer {
        names.extend(["phone".to_owned(), "email".to_owned()]);
    }
    names.extend(schema.fields(object).iter().map(|f| f.name.clone()));
    names
}

/// Runs a host write for a script: on failure the hook stops and the error is
/// kept for the handler to report.
fn host_write<R>(f: impl FnOnce(&Ctx) -> dossier_types::Result<R>) -> RhaiResult<R> {
    let host = host()?;
    f(&host).map_err(|e| {
        // A runtime error (not a termination) so that Rhai records where the
        // call was; catching it does not help the script: the handler reports
        // the kept failure whatever the hook does next.
        let message = e.to_string();
        context::set_failure(e);
        script_error(message)
    })
}

/// A global function registration with its parameter names and doc text.
pub fn reg(name: &str, params: &[&str], doc: &str) -> FuncRegistration {
    FuncRegistration::new(name)
        .in_global_namespace()
        .with_params_info(params.iter().copied())
        .with_comments([doc_lines(doc)])
}

/// Registers the global functions into `module`.
pub fn register(module: &mut Module) {
    reg(
        "veto",
        &["message: &str"],
        "Refuses the event: the hook stops at once, the write it guards is rolled back and\n`message` is shown to the user, attributed to this script. Cannot be caught by `try`.",
    )
    .set_into_module(module, |message: &str| -> RhaiResult<()> {
        context::set_veto(message.to_owned());
        Err(terminate(VETO_MARK))
    });

    reg(
        "invalid",
        &["field: &str", "message: &str"],
        "Refuses the record in a `before_save_*` hook because of one field: the hook stops at\nonce, the write is rolled back and fails as a validation error naming `field` (a standard\nfield such as `account`, `phone`, `email`, or a custom field), with `message` phrased to\nfollow the field name, as the built-in checks are: `invalid(\"account\", \"must match\nAC-000000\")` reads \"customer is invalid: field `account` must match AC-000000\". An\nimport reports the field in its rejects. Cannot be caught by `try`.",
    )
    .set_into_module(module, |field: &str, message: &str| -> RhaiResult<()> {
        let (_, hook) = context::current_script()
            .ok_or_else(|| script_error("invalid() can only be called from a hook".to_owned()))?;
        let object = ObjectKind::ALL
            .into_iter()
            .find(|o| hook.strip_prefix("before_save_") == Some(o.as_str()))
            .ok_or_else(|| {
                script_error(format!(
                    "invalid() refuses a record's field, so it belongs in a before_save_* hook, not {hook}; use veto(message) here"
                ))
            })?;
        let host = host()?;
        let known = record_fields(object, host.schema());
        if !known.iter().any(|k| k == field) {
            let hint = super::check::did_you_mean(field, known.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            return Err(script_error(format!(
                "invalid(): a {object} has no field `{field}` ({hint}fields: {})",
                known.join(", ")
            )));
        }
        if message.trim().is_empty() {
            return Err(script_error(
                "invalid(): the message must say what is wrong with the field".to_owned(),
            ));
        }
        context::set_invalid(field.to_owned(), message.to_owned());
        Err(terminate(VETO_MARK))
    });

    reg(
        "customer",
        &["id: INT", "Customer"],
        "The customer with this id, read-only. An unknown id is an error.",
    )
    .set_into_module(module, |id: INT| -> RhaiResult<Dynamic> {
        let host = host()?;
        host.customer(CustomerId(id))
            .map(read_only)
            .map_err(|e| script_error(e.to_string()))
    });

    reg(
        "find_case",
        &["number: INT", "Case"],
        "The case with this number, read-only. An unknown number is an error.",
    )
    .set_into_module(module, |number: INT| -> RhaiResult<Dynamic> {
        let host = host()?;
        host.case(CaseNumber(number))
            .map(read_only)
            .map_err(|e| script_error(e.to_string()))
    });

    reg(
        "cases_of",
        &["customer_id: INT", "open_only: bool", "Array"],
        "A customer's cases, newest first, as read-only `Case`s; only open ones if `open_only`.",
    )
    .set_into_module(module, |id: INT, open_only: bool| {
        cases_array(CustomerId(id), open_only)
    });

    reg(
        "add_task",
        &["task: Map", "Task"],
        "Plans a task in the current transaction and returns it (read-only). Keys: `subject`\n(required), `due_at` (RFC 3339 or YYYY-MM-DD, required), `customer_id` and/or `case_number`\n(one is required), `kind` (default \"call\"), `reminder_minutes`, `assignee`,\n`custom` (a map of custom field values). The task's own hooks run.",
    )
    .set_into_module(module, |task: Map| -> RhaiResult<Dynamic> {
        let new = new_task(task)?;
        let task = host_write(|h| h.add_task(new))?;
        context::capture_write(dossier_sdk::Record::Task(task.clone()));
        Ok(read_only(task))
    });

    reg(
        "add_follow_up",
        &["follow_up: Map", "FollowUp"],
        "Appends a follow-up to a case in the current transaction and returns it (read-only).\nKeys: `case_number` (required), `body` (required), `kind` (default \"note\"), `author`\n(default: the acting agent, or \"system\"), `html`, `custom`. The follow-up's own hooks run.",
    )
    .set_into_module(module, |fu: Map| -> RhaiResult<Dynamic> {
        let new = new_follow_up(fu)?;
        let fu = host_write(|h| h.add_follow_up(new))?;
        context::capture_write(dossier_sdk::Record::FollowUp(fu.clone()));
        Ok(read_only(fu))
    });

    reg(
        "now",
        &["String"],
        "The host clock's current time (RFC 3339, UTC).",
    )
    .set_into_module(module, || -> RhaiResult<ImmutableString> {
        Ok(time_to_string(host()?.now()))
    });

    reg(
        "today",
        &["String"],
        "The host clock's current date (YYYY-MM-DD, UTC).",
    )
    .set_into_module(module, || -> RhaiResult<ImmutableString> {
        Ok(host()?.now().format("%Y-%m-%d").to_string().into())
    });

    reg(
        "format_time",
        &["time: &str", "format: &str", "String"],
        "`time` (RFC 3339, or YYYY-MM-DD for midnight UTC) written in the store's time zone\n(`[time] zone`) with a chrono `format`: `format_time(t.due_at, \"%Y-%m-%d %H:%M\")`.\n`%z` or `%:z` write the zone's offset at that time. A format chrono cannot read is an\nerror naming it.",
    )
    .set_into_module(module, |time: &str, format: &str| -> RhaiResult<ImmutableString> {
        let t = parse_time(time).map_err(|e| script_error(format!("format_time: {e}")))?;
        let zone = host()?.config().time.time_zone();
        format_time(t, &zone, format).map(Into::into).map_err(script_error)
    });

    reg(
        "add_days",
        &["time: &str", "days: INT", "String"],
        "`time` (RFC 3339, or YYYY-MM-DD for a date) plus `days` days, in the same form.",
    )
    .set_into_module(module, |time: &str, days: INT| {
        shift(time, Duration::try_days(days))
    });

    reg(
        "add_hours",
        &["time: &str", "hours: INT", "String"],
        "`time` (RFC 3339) plus `hours` hours, as RFC 3339.",
    )
    .set_into_module(module, |time: &str, hours: INT| {
        shift(time, Duration::try_hours(hours))
    });

    reg(
        "add_minutes",
        &["time: &str", "minutes: INT", "String"],
        "`time` (RFC 3339) plus `minutes` minutes, as RFC 3339.",
    )
    .set_into_module(module, |time: &str, minutes: INT| {
        shift(time, Duration::try_minutes(minutes))
    });
}

/// `t` in `zone`, written with the chrono `format`; a format with an
/// item chrono cannot read, or one it cannot write, is refused naming the
/// format rather than left to panic when the result is displayed.
pub fn format_time(
    t: chrono::DateTime<chrono::Utc>,
    zone: &jiff::tz::TimeZone,
    format: &str,
) -> Result<String, String> {
    use chrono::format::{Item, StrftimeItems};
    use std::fmt::Write as _;
    let bad = || {
        format!(
            "format_time: `{format}` is not a time format chrono can read (see chrono's strftime specifiers: %Y, %m, %d, %H, %M, ...)"
        )
    };
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(bad());
    }
    let local = t.with_timezone(&dossier_core::time::offset_at(t, zone));
    let mut out = String::new();
    write!(out, "{}", local.format_with_items(items.into_iter())).map_err(|_| bad())?;
    Ok(out)
}

fn shift(time: &str, by: Option<Duration>) -> RhaiResult<ImmutableString> {
    let by = by.ok_or_else(|| script_error("the time shift is out of range"))?;
    let is_date = time.trim().len() == 10;
    let t = parse_time(time).map_err(script_error)?;
    let shifted = t
        .checked_add_signed(by)
        .ok_or_else(|| script_error("the shifted time is out of range"))?;
    Ok(if is_date {
        shifted.format("%Y-%m-%d").to_string().into()
    } else {
        time_to_string(shifted)
    })
}

/// Takes the keys of `map` one by one; leftovers are reported as unknown.
struct Keys {
    what: &'static str,
    map: Map,
}

impl Keys {
    fn take(&mut self, key: &str) -> Option<Dynamic> {
        self.map.remove(key).filter(|v| !v.is_unit())
    }

    fn string(&mut self, key: &str) -> RhaiResult<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) if v.is_string() || v.is_char() => Ok(Some(v.to_string())),
            Some(v) => Err(script_error(format!(
                "{}: `{key}` expects a string, got {}",
                self.what,
                type_name(&v)
            ))),
        }
    }

    fn int(&mut self, key: &str) -> RhaiResult<Option<i64>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v.as_int().map(Some).map_err(|_| {
                script_error(format!(
                    "{}: `{key}` expects an integer, got {}",
                    self.what,
                    type_name(&v)
                ))
            }),
        }
    }

    fn required(&mut self, key: &str) -> RhaiResult<String> {
        self.string(key)?
            .ok_or_else(|| script_error(format!("{}: `{key}` is required", self.what)))
    }

    fn custom(&mut self, object: ObjectKind) -> RhaiResult<CustomFields> {
        let mut out = CustomFields::new();
        let Some(v) = self.take("custom") else {
            return Ok(out);
        };
        let what = self.what;
        let map = v.try_cast::<Map>().ok_or_else(|| {
            script_error(format!("{what}: `custom` expects a map of field values"))
        })?;
        let host = host()?;
        for (name, value) in map {
            let def = host
                .schema()
                .require_field(object, &name)
                .map_err(|e| script_error(format!("{what}: {e}")))?;
            let value = dynamic_to_field(def.ty, value)
                .map_err(|rule| script_error(format!("{what}: {object} field `{name}` {rule}")))?;
            out.insert(name.to_string(), value);
        }
        Ok(out)
    }

    fn finish(self) -> RhaiResult<()> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(k) => Err(script_error(format!("{}: unknown key `{k}`", self.what))),
        }
    }
}

fn new_task(map: Map) -> RhaiResult<NewTask> {
    let mut k = Keys {
        what: "add_task",
        map,
    };
    let subject = k.required("subject")?;
    let due_at = parse_time(&k.required("due_at")?)
        .map_err(|e| script_error(format!("add_task: `due_at` {e}")))?;
    let kind = match k.string("kind")? {
        Some(s) => s
            .parse::<TaskKind>()
            .map_err(|e| script_error(format!("add_task: {e}")))?,
        None => TaskKind::Call,
    };
    let reminder_minutes = match k.int("reminder_minutes")? {
        Some(m) => Some(u32::try_from(m).map_err(|_| {
            script_error(format!("add_task: `reminder_minutes` {m} is out of range"))
        })?),
        None => None,
    };
    let new = NewTask {
        customer: k.int("customer_id")?.map(CustomerId),
        case: k.int("case_number")?.map(CaseNumber),
        kind,
        subject,
        due_at,
        reminder_minutes,
        assignee: k.string("assignee")?,
        custom: k.custom(ObjectKind::Task)?,
    };
    k.finish()?;
    Ok(new)
}

fn new_follow_up(map: Map) -> RhaiResult<NewFollowUp> {
    let mut k = Keys {
        what: "add_follow_up",
        map,
    };
    let case = k
        .int("case_number")?
        .ok_or_else(|| script_error("add_follow_up: `case_number` is required"))?;
    let kind = match k.string("kind")? {
        Some(s) => s
            .parse::<FollowUpKind>()
            .map_err(|e| script_error(format!("add_follow_up: {e}")))?,
        None => FollowUpKind::Note,
    };
    let new = NewFollowUp {
        case: CaseNumber(case),
        kind,
        // By default the actor whose action ran the hook writes it.
        author: match k.string("author")? {
            Some(author) => author,
            None => match host()?.actor() {
                dossier_core::events::Actor::Agent(login) => login.clone(),
                dossier_core::events::Actor::System => "system".to_owned(),
            },
        },
        body: k.required("body")?,
        html: k.string("html")?,
        email: None,
        attachments: Vec::new(),
        custom: k.custom(ObjectKind::FollowUp)?,
    };
    k.finish()?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_time_writes_in_the_zone_and_refuses_bad_formats_without_panicking() {
        let t: chrono::DateTime<chrono::Utc> = "2030-01-02T09:30:00Z".parse().unwrap();
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(
            format_time(t, &paris, "%Y-%m-%d %H:%M %:z").unwrap(),
            "2030-01-02 10:30 +01:00"
        );
        let summer: chrono::DateTime<chrono::Utc> = "2030-07-02T09:30:00Z".parse().unwrap();
        assert_eq!(format_time(summer, &paris, "%H:%M").unwrap(), "11:30");
        // `%Q` and a lone `%` are unreadable; `%#z` parses but cannot be
        // written, which chrono reports only when displayed (where
        // `to_string` would panic).
        for bad in ["%Q", "%", "%Y-%", "%#z"] {
            let err = format_time(t, &paris, bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
    }
}

//! The SDK's event table and what is derived from it: the hook table of the
//! scripting guide and the event table of the plugin guide, payload keys
//! scripts can reach with `.`, the deprecated `case` keys of the maps scripts
//! receive, and the audience and cause every notification carries.

use std::collections::{BTreeMap, BTreeSet};

use dossier_host::{Config, Error, Host, ManualClock, Scripts};
use dossier_scripts::{hook_table_markdown, input_table_markdown};
use dossier_sdk::{
    Audience, CaseNumber, Cause, Channel, CustomerId, Event, Interaction, Mailbox, NewCase,
    NewTask, Notification, PopTarget, TaskKind,
};
use serde_json::Value;
use tempfile::TempDir;

use crate::pop::{INTERACT, add_customer};
use crate::scripts::Env;

const TABLE_START: &str = "<!-- hook-table:";
const TABLE_END: &str = "<!-- /hook-table -->";

#[test]
fn the_hook_table_in_the_scripting_guide_is_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/scripting.md");
    let text = std::fs::read_to_string(path).expect("docs/scripting.md");
    let from_start = &text[text.find(TABLE_START).expect("start marker")..];
    let body = &from_start[from_start.find("-->\n\n").expect("start marker closes") + 5..];
    let body = &body[..body.find(&format!("\n{TABLE_END}")).expect("end marker")];
    let generated = hook_table_markdown();
    assert!(
        body == generated,
        "the hook table of docs/scripting.md is not the generated one; between the markers, put:\n\n{generated}"
    );
}

#[test]
fn the_table_of_fields_left_out_in_the_scripting_guide_is_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/scripting.md");
    let text = std::fs::read_to_string(path).expect("docs/scripting.md");
    let start = "<!-- input-defaults:";
    let from_start = &text[text.find(start).expect("start marker")..];
    let body = &from_start[from_start.find("-->\n\n").expect("start marker closes") + 5..];
    let body = &body[..body.find("\n<!-- /input-defaults -->").expect("end marker")];
    let generated = input_table_markdown();
    assert!(
        body == generated,
        "the table of fields left out in docs/scripting.md is not the generated one; between the markers, put:\n\n{generated}"
    );
    // What the issue found: a reminder without a notification has none,
    // and a notification's cause defaults to `manual`, as the SDK says.
    assert!(generated.contains("`notification`: `()`"), "{generated}");
    assert!(generated.contains("`cause`: `\"manual\"`"), "{generated}");
}

#[test]
fn the_guides_list_every_cause_of_a_notification() {
    let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/");
    let read = |name: &str| std::fs::read_to_string(format!("{docs}{name}")).expect("a guide");
    let interactions = read("interactions.md");
    let bullet = &interactions[interactions.find("- `cause`:").expect("the cause bullet")..];
    let bullet = &bullet[..bullet.find("\n\n").expect("the bullet ends")];
    let plugins = read("plugins.md");
    let sentence = &plugins[plugins.find("(`Cause::").expect("the causes")..];
    let sentence = &sentence[..sentence.find(')').expect("the list closes")];
    for cause in Cause::ALL {
        assert!(
            bullet.contains(&format!("`{}`", cause.as_str())),
            "docs/interactions.md's cause list lacks `{cause}`"
        );
        let variant = format!("{cause:?}");
        assert!(
            sentence.contains(&variant),
            "docs/plugins.md's cause list lacks {variant}"
        );
    }
}

/// Every object key in `value`, with the dotted paths it appears at.
fn object_keys(value: &Value, path: &str, out: &mut BTreeMap<String, BTreeSet<String>>) {
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                let at = format!("{path}.{key}");
                out.entry(key.clone()).or_default().insert(at.clone());
                object_keys(child, &at, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                object_keys(item, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

/// Keys named after a Rhai keyword that are fields of records (`Task::case`,
/// `FollowUp::case`), not of events: renaming them is a change to the model
/// of its own. Scripts reach them as `task.case_number` on record handles;
/// only the task map of `on_task_reminder` needs `r.task["case"]`. Remove an
/// entry when its field is renamed (this test says when).
const RECORD_FIELDS_NAMED_AFTER_KEYWORDS: [&str; 3] = [
    "after_save.record.record.case",
    "before_save.record.record.case",
    "task_reminder.task.case",
];

#[test]
fn no_payload_key_is_a_rhai_keyword() {
    let mut keys = BTreeMap::new();
    for event in Event::examples() {
        let json = serde_json::to_value(&event).expect("events serialize");
        object_keys(&json["data"], event.kind().as_str(), &mut keys);
    }
    let keys: Vec<(String, BTreeSet<String>)> = keys.into_iter().collect();
    let scripts: Vec<(String, String)> = keys
        .iter()
        .enumerate()
        .map(|(i, (key, _))| (format!("key{i}.rhai"), format!("fn f(x) {{ x.{key} }}\n")))
        .collect();
    let named: Vec<(&str, &str)> = scripts
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let env = Env::new("", &named);
    let report = Scripts::check(&env.config()).expect("scripts listed");
    let compiled: BTreeSet<String> = report.scripts.into_iter().map(|s| s.name).collect();
    assert_eq!(compiled.len() + report.errors.len(), keys.len());
    let mut failing = BTreeSet::new();
    for (i, (key, paths)) in keys.iter().enumerate() {
        if !compiled.contains(&format!("scripts/key{i}.rhai")) {
            assert!(!key.is_empty());
            failing.extend(paths.iter().cloned());
        }
    }
    let known: BTreeSet<String> = RECORD_FIELDS_NAMED_AFTER_KEYWORDS
        .iter()
        .map(|p| (*p).to_owned())
        .collect();
    assert_eq!(
        failing,
        known,
        "payload keys scripts cannot write as `x.key` (Rhai keywords); errors: {:?}",
        report
            .errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
}

/// A Dossier directory with the interaction config and `scripts`, its
/// clock at 2026-11-23 09:00 UTC.
fn with_scripts(scripts: &[(&str, &str)]) -> (TempDir, Host) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("scripts")).expect("scripts dir");
    for (name, text) in scripts {
        std::fs::write(dir.path().join("scripts").join(name), text).expect("write script");
    }
    let path = dir.path().join("dossier.toml");
    std::fs::write(&path, INTERACT).expect("write config");
    let clock = ManualClock::new("2026-11-23T09:00:00Z".parse().expect("a time"));
    let host = Host::builder(Config::load(&path).expect("config loads"))
        .clock(std::sync::Arc::new(clock))
        .create_if_missing()
        .open()
        .expect("host opens");
    (dir, host)
}

const OLD_AND_NEW_CASE_KEYS: &str = r#"
// Moves the disposition to the next case, through the key the note names.
fn on_disposition(d) {
    if d["case"] != d.case_number || d.interaction["case"] != d.interaction.case_number {
        veto("`case` must mirror `case_number`");
    }
    switch d.note {
        "old" => { d["case"] = d["case"] + 1; }
        "new" => { d.case_number = d.case_number + 1; }
        "both" => { d.case_number = d.case_number + 1; d["case"] = 999; }
    }
}
"#;

#[test]
fn scripts_may_use_the_deprecated_case_key_for_one_more_version() {
    let (_dir, host) = with_scripts(&[("moves.rhai", OLD_AND_NEW_CASE_KEYS)]);
    let grace = add_customer(&host, "AC-000002", "Grace Hopper", "+12125550100", "");
    let first = host
        .open_case(NewCase::new(grace, "One"))
        .expect("case")
        .number;
    let next = host
        .open_case(NewCase::new(grace, "Two"))
        .expect("case")
        .number;
    assert_eq!(next.0, first.0 + 1, "case numbers have no gaps");
    let on = |note: &str| {
        let call = Interaction {
            case_number: Some(first),
            ..Interaction::new(Channel::Phone)
        };
        let done = host
            .dispose(call, "callback", Some(note.into()))
            .unwrap_or_else(|e| panic!("{note}: {e}"));
        assert_eq!(
            done.disposition.case_number,
            done.case.as_ref().map(|c| c.number)
        );
        done.disposition.case_number
    };
    assert_eq!(
        on("none"),
        Some(first),
        "an untouched map reads back as it was"
    );
    assert_eq!(on("old"), Some(next), "a change to `case` alone is taken");
    assert_eq!(on("new"), Some(next));
    assert_eq!(
        on("both"),
        Some(next),
        "when both changed, `case_number` wins"
    );
}

const OLD_STYLE_POP: &str = r#"
// Written for 0.1: builds the case target with the `case` key.
fn on_screen_pop(pop) {
    if pop.target.pop == "customer" && pop.open_cases.len() == 1 {
        pop.target = #{ pop: "case", "case": pop.open_cases[0], customer: pop.target.customer };
    }
}
"#;

#[test]
fn a_target_built_with_the_old_key_still_pops_the_case() {
    let (_dir, host) = with_scripts(&[("pop.rhai", OLD_STYLE_POP)]);
    let grace = add_customer(&host, "AC-000002", "Grace Hopper", "+12125550100", "");
    let case = host
        .open_case(NewCase::new(grace, "Moth"))
        .expect("case")
        .number;
    let pop = host
        .screen_pop(Interaction {
            caller: Some("+1 212 555 0100".into()),
            ..Interaction::new(Channel::Phone)
        })
        .expect("pop");
    assert_eq!(
        pop.target,
        PopTarget::Case {
            case_number: case,
            customer: grace
        }
    );
    let json = serde_json::to_value(&pop.target).expect("serializes");
    assert_eq!(json["case_number"], case.0, "output uses the new name only");
    assert!(json.get("case").is_none());
}

const REMINDER_MAPS: &str = r#"
// The task is a record: its `case` is its own field. The drafted notice is
// an event payload: it has `case_number`, and `case` beside it.
fn on_task_reminder(r) {
    if r.notification["case"] != r.notification.case_number {
        veto("`case` must mirror the notice's `case_number`");
    }
    r.notification.subject = `Reminder about case ${r.task["case"]}`;
}
"#;

#[test]
fn a_tasks_own_case_field_survives_the_reminder_map() {
    let (_dir, host) = with_scripts(&[("remind.rhai", REMINDER_MAPS)]);
    let grace = add_customer(&host, "AC-000002", "Grace Hopper", "+12125550100", "");
    let case = host
        .open_case(NewCase::new(grace, "Moth"))
        .expect("case")
        .number;
    host.add_task(NewTask {
        customer: Some(grace),
        case: Some(case),
        kind: TaskKind::Call,
        subject: "Call Grace".into(),
        due_at: host.now() + chrono::Duration::minutes(10),
        reminder_minutes: Some(10),
        assignee: Some("ann@example.com".into()),
        custom: Default::default(),
    })
    .expect("task");
    let fired = host.due_reminders(host.now()).expect("reminders");
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].problem, None);
    assert_eq!(fired[0].reminder.task.case, Some(case));
    let n = fired[0]
        .reminder
        .notification
        .as_ref()
        .expect("a notice was drafted");
    assert_eq!(n.case_number, Some(case));
    assert_eq!(n.subject, format!("Reminder about case {case}"));
}

const DO_NOT_CONTACT: &str = r#"
// AC-000009 asked never to be contacted. Their cases are still worked, so
// agents keep getting reminders about them: only mail to the customer stops.
fn on_notification(n) {
    if n.audience != "customer" || n.case_number == () {
        return;
    }
    let c = find_case(n.case_number);
    if c.customer().account == "AC-000009" {
        veto(`AC-000009 must not be contacted (${n.cause})`);
    }
}
"#;

fn mail(case: CaseNumber, to: &str, audience: Audience, cause: Cause) -> Notification {
    Notification {
        case_number: Some(case),
        audience,
        cause,
        from: Mailbox {
            name: None,
            address: "support@example.com".into(),
        },
        to: vec![Mailbox {
            name: None,
            address: to.into(),
        }],
        cc: Vec::new(),
        bcc: Vec::new(),
        message_id: None,
        in_reply_to: None,
        references: Vec::new(),
        thread_token: None,
        attachments: Vec::new(),
        subject: "About your case".into(),
        body: "Hello".into(),
        html: None,
        signature: None,
        review: false,
    }
}

#[test]
fn a_notification_rule_tells_an_agents_reminder_from_mail_to_the_customer() {
    let (_dir, host) = with_scripts(&[("do_not_contact.rhai", DO_NOT_CONTACT)]);
    let quiet: CustomerId = add_customer(&host, "AC-000009", "Quiet Customer", "", "q@example.org");
    let grace = add_customer(&host, "AC-000002", "Grace Hopper", "", "grace@navy.mil");
    let quiet_case = host
        .open_case(NewCase::new(quiet, "Invoice"))
        .expect("case")
        .number;
    let grace_case = host
        .open_case(NewCase::new(grace, "Moth"))
        .expect("case")
        .number;

    // The agent's reminder about the quiet customer's case goes out.
    host.add_task(NewTask {
        customer: Some(quiet),
        case: Some(quiet_case),
        kind: TaskKind::Call,
        subject: "Check the invoice".into(),
        due_at: host.now() + chrono::Duration::minutes(10),
        reminder_minutes: Some(10),
        assignee: Some("ann@example.com".into()),
        custom: Default::default(),
    })
    .expect("task");
    let fired = host.due_reminders(host.now()).expect("reminders");
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].problem, None, "the rule let the reminder through");
    let reminder = fired[0]
        .reminder
        .notification
        .as_ref()
        .expect("a notice to the assignee");
    assert_eq!(
        (reminder.audience, reminder.cause),
        (Audience::Agent, Cause::Reminder)
    );
    assert_eq!(reminder.to[0].address, "ann@example.com");

    // Mail to that customer is stopped, whatever caused it.
    for cause in [Cause::EmailReply, Cause::Manual, Cause::Disposition] {
        let err = host
            .notify(mail(quiet_case, "q@example.org", Audience::Customer, cause))
            .expect_err("vetoed");
        assert!(
            matches!(&err, Error::Vetoed { by, message }
                if by.contains("do_not_contact.rhai")
                    && message == &format!("AC-000009 must not be contacted ({cause})")),
            "{err}"
        );
    }
    // Staff may still write about the case, and other customers get mail.
    host.notify(mail(
        quiet_case,
        "qa@example.com",
        Audience::Internal,
        Cause::Review,
    ))
    .expect("internal mail passes");
    host.notify(mail(
        grace_case,
        "grace@navy.mil",
        Audience::Customer,
        Cause::EmailReply,
    ))
    .expect("another customer's mail passes");
}

/// The event table of `docs/plugins.md`, from the SDK's table.
fn plugin_event_table() -> String {
    let mut out = String::from(
        "| event | handler | data | fires when | may change | veto rolls back |\n|---|---|---|---|---|---|\n",
    );
    for spec in &dossier_sdk::events::EVENTS {
        let kind = spec.kind.as_str();
        let keys: Vec<String> = spec.keys.iter().map(|k| format!("`{k}`")).collect();
        out.push_str(&format!(
            "| `{kind}` | `{kind}(&mut {})` | {} | {} | {} | {} |\n",
            spec.payload,
            keys.join(", "),
            spec.fired_when,
            spec.may_change,
            if spec.guards {
                "yes"
            } else {
                "no, already committed"
            },
        ));
    }
    out
}

#[test]
fn the_event_table_in_the_plugin_guide_is_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/plugins.md");
    let text = std::fs::read_to_string(path).expect("docs/plugins.md");
    let from_start = &text[text.find("<!-- event-table:").expect("start marker")..];
    let body = &from_start[from_start.find("-->\n\n").expect("start marker closes") + 5..];
    let body = &body[..body.find("\n<!-- /event-table -->").expect("end marker")];
    let generated = plugin_event_table();
    assert!(
        body == generated,
        "the event table of docs/plugins.md is not the generated one; between the markers, put:\n\n{generated}"
    );
}

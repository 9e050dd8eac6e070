//! `script check`, `script test` (dry run) and the generated reference.

use dossier_host::{DryRunOutcome, Scripts};
use dossier_scripts::{definitions, reference_markdown};
use dossier_sdk::{Event, Record};
use serde_json::json;

use super::{Env, ada, all_cases, all_tasks, open_case};

#[test]
fn check_reports_every_error_with_its_position() {
    let env = Env::new(
        "",
        &[
            (
                "good.rhai",
                "fn before_save_case(c) { c.description = \"ok\"; }\nfn on_screen_pop(pop) {}\n",
            ),
            ("typo.rhai", "fn before_save_cases(c) {}\n"),
            (
                "syntax.rhai",
                "fn before_save_task(t) {\n    t.subject = \"x\"\n    t.kind = \"call\";\n}\n",
            ),
            ("arity.rhai", "\nfn on_disposition() {}\n"),
        ],
    );
    let report = Scripts::check(&env.config()).expect("check runs");
    let names: Vec<&str> = report.scripts.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["scripts/good.rhai", "scripts/typo.rhai"]);
    assert_eq!(
        report.scripts[0].hooks,
        ["before_save_case", "on_screen_pop"]
    );
    assert!(report.scripts[1].hooks.is_empty());
    // A misspelt hook is reported once: as a finding with its position,
    // not also as the load-time warning.
    assert!(report.scripts[1].warnings.is_empty());
    let findings: Vec<String> = report.findings.iter().map(|e| e.to_string()).collect();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].starts_with("script error in scripts/typo.rhai:1:1: `before_save_cases` is not a hook, so it never runs (did you mean `before_save_case`?)"),
        "{findings:?}"
    );
    let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    insta::assert_snapshot!(errors.join("\n\n"));
}

#[test]
fn dry_run_reports_and_commits_nothing() {
    let env = Env::new(
        "",
        &[(
            "triage.rhai",
            r#"
fn before_save_case(c) {
    print(`triaging ${c.subject}`);
    c.priority = "high";
    c.set_custom("sla_hours", 4);
}

fn before_save_customer(customer) {
    if customer.name == "" {
        veto("a customer needs a name");
    }
}

fn after_save_case(c) {
    add_task(#{ case_number: c.number, subject: "Call back", due_at: "2030-01-01" });
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    let case = open_case(&host, &ada, "Printer").expect("saved");
    let tasks_before = all_tasks(&host).len();

    let run = host
        .test_hook(
            "before_save_case",
            &json!({ "customer": ada.id.0, "subject": "Jammed", "custom": { "resolution": "none yet" } }),
        )
        .expect("dry run");
    assert_eq!(run.outcome, DryRunOutcome::Continue);
    assert_eq!(run.printed, ["triaging Jammed"]);
    match &run.event {
        Event::BeforeSave(save) => match &save.record {
            Record::Case(c) => {
                assert_eq!(c.priority, "high");
                assert_eq!(
                    c.custom.get("sla_hours"),
                    Some(&dossier_sdk::FieldValue::Integer(4))
                );
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }

    let run = host
        .test_hook("before_save_customer", &json!({ "account": "AC-2" }))
        .expect("dry run");
    assert_eq!(
        run.outcome,
        DryRunOutcome::Vetoed {
            by: "scripts/triage.rhai".into(),
            message: "a customer needs a name".into()
        }
    );

    // Writes made by the hook are reported, then rolled back.
    let run = host
        .test_hook(
            "after_save_case",
            &json!({ "record": case, "op": "create" }),
        )
        .expect("dry run");
    assert_eq!(run.outcome, DryRunOutcome::Continue);
    assert_eq!(run.writes.len(), 1);
    assert!(matches!(&run.writes[0], Record::Task(t) if t.subject == "Call back"));
    assert_eq!(all_tasks(&host).len(), tasks_before);
    assert_eq!(all_cases(&host).len(), 1);

    let err = host
        .test_hook("on_screen_pop", &json!({}))
        .expect_err("no script defines it");
    assert!(
        err.to_string()
            .contains("no script defines `on_screen_pop`"),
        "{err}"
    );
    let err = host
        .test_hook("before_save_case", &json!({ "custom": { "nope": 1 } }))
        .expect_err("unknown field");
    assert!(
        err.to_string().contains("`nope` is not a custom field"),
        "{err}"
    );
}

#[test]
fn generated_reference() {
    let markdown = reference_markdown();
    // Everything scripts can call is in it, generated from the engine.
    for needle in [
        "### Case",
        "| `subject` | `String` | read/write |",
        "`veto(message: &str)`",
        "`add_task(task: Map) -> Task`",
        "`set_custom(name: &str, value: ?)`",
        "`before_save_case(c)`",
        "`on_screen_pop(screen_pop)` | a map of the `ScreenPop`",
        "`agent(login: &str) -> ?`",
        "`group(name: &str) -> ?`",
        "`mail_settings() -> Map`",
        "`format_time(time: &str, format: &str) -> String`",
    ] {
        assert!(markdown.contains(needle), "missing {needle}");
    }
    insta::assert_snapshot!(markdown);
}

#[test]
fn definitions_cover_dossier_and_the_language() {
    let defs = definitions();
    for needle in ["fn veto(", "fn add_task(", "fn add_follow_up(", "Case"] {
        assert!(defs.contains(needle), "missing {needle}");
    }
    // Every payload is declared, with the shapes admins used to find by trial.
    for needle in [
        "ScreenPop — the parameter of on_screen_pop:",
        "//   target.prefill (when pop = \"new_customer\"): map",
        "Notification — the parameter of on_notification:",
        "//   to[].address: string",
        "EmailReceived — the parameter of on_email_received:",
        "//   headers.from.address: string",
        "TaskReminder — the parameter of on_task_reminder:",
    ] {
        assert!(defs.contains(needle), "missing {needle}");
    }
}

/// `script test` completes a partial input as the live host reads the
/// event: a reminder left without a notification has none (`()`), a
/// notification left without a cause is `manual`.
#[test]
fn dry_run_fills_left_out_fields_as_the_host_does() {
    let env = Env::new(
        "",
        &[(
            "show.rhai",
            r#"
fn on_task_reminder(r) {
    print(`notification: ${type_of(r.notification)}`);
}

fn on_notification(n) {
    print(`cause: ${n.cause}, audience: ${n.audience}, to: ${n.to.len()}`);
}

fn on_screen_pop(pop) {
    print(`channel: ${pop.interaction.channel}, pop: ${pop.target.pop}`);
}
"#,
        )],
    );
    let host = env.host();
    let run = host
        .test_hook(
            "on_task_reminder",
            &json!({ "task": { "subject": "Call" } }),
        )
        .expect("dry run");
    assert_eq!(run.outcome, DryRunOutcome::Continue);
    assert_eq!(run.printed, ["notification: ()"]);
    match &run.event {
        Event::TaskReminder(r) => {
            assert_eq!(r.notification, None);
            assert_eq!(r.task.subject, "Call");
        }
        other => panic!("{other:?}"),
    }
    let run = host
        .test_hook("on_notification", &json!({ "subject": "Hello" }))
        .expect("dry run");
    assert_eq!(run.printed, ["cause: manual, audience: customer, to: 0"]);
    // What the host itself makes of the same JSON: the same defaults.
    let live: dossier_sdk::Notification = serde_json::from_value(
        json!({ "from": { "address": "" }, "subject": "Hello", "body": "" }),
    )
    .expect("the host reads it");
    assert_eq!(run.event, Event::Notification(live));
    // A nested map the input gives is completed too.
    let run = host
        .test_hook(
            "on_screen_pop",
            &json!({ "interaction": { "caller": "+33612345678" } }),
        )
        .expect("dry run");
    assert_eq!(run.printed, ["channel: phone, pop: new_customer"]);
}

#[test]
fn dry_run_refuses_unknown_keys_naming_them_and_the_valid_ones() {
    let env = Env::new(
        "",
        &[(
            "any.rhai",
            "fn on_notification(n) {}\nfn on_screen_pop(pop) {}\nfn before_save_customer(c) {}\n",
        )],
    );
    let host = env.host();
    let refused = |hook: &str, input: serde_json::Value| {
        let err = host.test_hook(hook, &input).expect_err("an unknown key");
        assert_eq!(err.code(), "invalid_input", "{err}");
        err.to_string()
    };
    let message = refused("on_notification", json!({ "caus": "reminder" }));
    assert!(
        message.starts_with(
            "--input: `on_notification` has no field `caus` (did you mean `cause`?); valid there: "
        ) && message.contains("audience, bcc, body, case_number, cause, cc, from"),
        "{message}"
    );
    let message = refused(
        "on_screen_pop",
        json!({ "interaction": { "calller": "+33612345678" } }),
    );
    assert!(
        message.contains("has no field `interaction.calller` (did you mean `caller`?)")
            && message.contains("valid there: account, agent, caller,"),
        "{message}"
    );
    let message = refused("on_notification", json!({ "to": [{ "adress": "a@b.c" }] }));
    assert!(
        message.contains(
            "has no field `to[0].adress` (did you mean `address`?); valid there: address, name"
        ),
        "{message}"
    );
    let message = refused("before_save_customer", json!({ "acount": "AC-1" }));
    assert!(
        message
            .contains("a customer has no field `acount` (did you mean `account`?); its fields: "),
        "{message}"
    );
    // Data maps take any key, and the old name `case` is still read.
    let run = host
        .test_hook(
            "on_screen_pop",
            &json!({ "interaction": { "case": 12, "context": { "anything": "x" } } }),
        )
        .expect("dry run");
    assert_eq!(run.outcome, DryRunOutcome::Continue);
}

#[test]
fn invalid_names_a_field_and_is_refused_outside_before_save_or_for_an_unknown_field() {
    let env = Env::new(
        "",
        &[(
            "fields.rhai",
            r#"
fn before_save_customer(c) {
    if c.account == "typo" { invalid("acount", "is wrong"); }
    if c.account == "custom" { invalid("tier", "must be gold for this account"); }
    invalid("account", "must match AC-000000");
}

fn on_notification(n) {
    invalid("subject", "is empty");
}
"#,
        )],
    );
    let host = env.host();
    let run = host
        .test_hook(
            "before_save_customer",
            &json!({ "account": "AC-1", "name": "Ada" }),
        )
        .expect("dry run");
    assert_eq!(
        run.outcome,
        DryRunOutcome::Invalid {
            field: "account".into(),
            message: "must match AC-000000".into()
        }
    );
    let run = host
        .test_hook(
            "before_save_customer",
            &json!({ "account": "custom", "name": "Ada" }),
        )
        .expect("dry run");
    assert!(
        matches!(&run.outcome, DryRunOutcome::Invalid { field, .. } if field == "tier"),
        "{:?}",
        run.outcome
    );
    let run = host
        .test_hook(
            "before_save_customer",
            &json!({ "account": "typo", "name": "Ada" }),
        )
        .expect("dry run");
    match &run.outcome {
        DryRunOutcome::Failed { error } => assert!(
            error.contains("invalid(): a customer has no field `acount` (did you mean `account`?"),
            "{error}"
        ),
        other => panic!("{other:?}"),
    }
    let run = host
        .test_hook("on_notification", &json!({ "subject": "Hello" }))
        .expect("dry run");
    match &run.outcome {
        DryRunOutcome::Failed { error } => assert!(
            error.contains(
                "belongs in a before_save_* hook, not on_notification; use veto(message) here"
            ),
            "{error}"
        ),
        other => panic!("{other:?}"),
    }
}

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

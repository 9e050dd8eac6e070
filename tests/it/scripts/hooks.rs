//! Record hooks, event hooks, vetoes, transactions, limits and reloads.

use dossier_host::Error;
use dossier_sdk::{Channel, FieldValue, Interaction, NewFollowUp, PopTarget};

use super::{Env, ada, all_cases, all_tasks, open_case, write_bumped};

#[test]
fn before_save_changes_standard_and_custom_fields() {
    let env = Env::new(
        "",
        &[(
            "triage.rhai",
            r#"
fn before_save_case(c) {
    if c.subject.contains("outage") {
        c.priority = "urgent";
        c.severity = "critical";
    }
    c["sla_hours"] = 8;
    c.description = `new=${c.is_new}`;
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    let case = open_case(&host, &ada, "Total outage in Lyon").expect("case saved");
    assert_eq!(case.priority, "urgent");
    assert_eq!(case.severity, "critical");
    assert_eq!(case.description, "new=true");
    assert_eq!(case.custom.get("sla_hours"), Some(&FieldValue::Integer(8)));
    // What the store holds, not just what the call returned (the store
    // keeps timestamps to the microsecond).
    let stored = host.case(case.number).expect("case read");
    assert_eq!(
        dossier_sdk::Case {
            created_at: case.created_at,
            updated_at: case.updated_at,
            ..stored
        },
        case
    );

    let updated = host
        .modify_case(case.number, "test", |c| {
            c.subject = "Minor glitch".into();
            Ok(())
        })
        .expect("update");
    assert_eq!(updated.description, "new=false");
}

#[test]
fn veto_rolls_back_and_names_the_script() {
    let env = Env::new(
        "",
        &[
            (
                "note.rhai",
                r#"
fn before_save_case(c) {
    if !c.is_new {
        add_follow_up(#{ case_number: c.number, body: "changed by a script" });
    }
}
"#,
            ),
            (
                "guard.rhai",
                r#"
fn before_save_case(c) {
    if c.subject == "forbidden" {
        veto("subjects may not be forbidden");
    }
}
"#,
            ),
        ],
    );
    let host = env.host();
    let ada = ada(&host);
    let err = open_case(&host, &ada, "forbidden").expect_err("vetoed");
    match &err {
        Error::Vetoed { by, message } => {
            assert_eq!(by, "scripts/guard.rhai");
            assert_eq!(message, "subjects may not be forbidden");
        }
        other => panic!("expected a veto, got {other:?}"),
    }
    assert!(all_cases(&host).is_empty(), "vetoed case was written");

    // The first script's follow-up joins the write's transaction, so the
    // second script's veto removes it too.
    let case = open_case(&host, &ada, "fine").expect("case saved");
    let err = host
        .modify_case(case.number, "rename", |c| {
            c.subject = "forbidden".into();
            Ok(())
        })
        .expect_err("vetoed");
    assert!(matches!(err, Error::Vetoed { .. }), "{err:?}");
    let (follow_ups, total) = host
        .follow_ups(case.number, dossier_host::Page::default())
        .expect("follow-ups");
    assert_eq!(
        total, 0,
        "follow-up from a vetoed write survived: {follow_ups:?}"
    );
    assert_eq!(host.case(case.number).expect("case").subject, "fine");

    // Without the veto, the follow-up is committed with the change.
    host.modify_case(case.number, "rename", |c| {
        c.subject = "renamed".into();
        Ok(())
    })
    .expect("saved");
    let (_, total) = host
        .follow_ups(case.number, dossier_host::Page::default())
        .expect("follow-ups");
    assert_eq!(total, 1);
}

#[test]
fn custom_fields_are_checked_against_the_schema() {
    let env = Env::new(
        "",
        &[(
            "tier.rhai",
            r#"
fn before_save_customer(customer) {
    let wanted = customer.name;
    if wanted == "silver" || wanted == "platinum" {
        customer.set_custom("tier", wanted);
    }
    if wanted == "numeric" {
        customer.tier = 3;
    }
    if wanted == "clear" {
        customer.tier = ();
    }
    if wanted == "caught" {
        try {
            customer.tier = "platinum";
        } catch (err) {
            customer.tier = "gold";
        }
    }
}
"#,
        )],
    );
    let host = env.host();
    let mk = |name: &str| {
        host.create_customer(dossier_sdk::NewCustomer {
            account: format!("AC-{name}"),
            name: name.into(),
            ..Default::default()
        })
    };
    let silver = mk("silver").expect("saved");
    assert_eq!(
        silver.custom.get("tier"),
        Some(&FieldValue::Choice("silver".into()))
    );
    let caught = mk("caught").expect("saved");
    assert_eq!(
        caught.custom.get("tier"),
        Some(&FieldValue::Choice("gold".into()))
    );
    // A cleared field is filled with its default again on create.
    let cleared = mk("clear").expect("saved");
    assert_eq!(
        cleared.custom.get("tier"),
        Some(&FieldValue::Choice("standard".into()))
    );

    for (name, expected) in [
        ("platinum", "field `tier` has no choice `platinum`"),
        (
            "numeric",
            "customer field `tier` expects a choice value, got integer",
        ),
    ] {
        let err = mk(name).expect_err("refused");
        let text = err.to_string();
        assert!(
            matches!(err, Error::Script { ref file, line, .. } if file == "scripts/tier.rhai" && line > 0),
            "{err:?}"
        );
        assert!(text.contains(expected), "{name}: {text}");
    }
    assert_eq!(
        host.list_customers(dossier_host::Page::default())
            .expect("list")
            .len(),
        3
    );
}

#[test]
fn scripts_read_related_records_and_create_tasks() {
    let env = Env::new(
        "",
        &[(
            "related.rhai",
            r#"
fn before_save_case(c) {
    // A new case is already in the transaction when its hook runs.
    let owner = c.customer();
    let others = 0;
    for other in owner.open_cases() {
        if other.number != c.number {
            others += 1;
        }
    }
    c.description = `${owner.name} has ${others} other open case(s); open in all: ${cases_of(c.customer_id, true).len()}`;
}

fn after_save_case(c) {
    if c.is_new && c.subject.starts_with("Call") {
        let t = add_task(#{
            case_number: c.number,
            subject: `Follow up ${c.number}`,
            due_at: add_days("2030-01-01", 1),
            kind: "call",
            reminder_minutes: 10,
        });
        print(`planned task ${t.id} for ${t.customer().name}`);
    }
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    let first = open_case(&host, &ada, "Printer").expect("saved");
    assert_eq!(
        first.description,
        "Ada Lovelace has 0 other open case(s); open in all: 1"
    );
    let second = open_case(&host, &ada, "Call me").expect("saved");
    assert_eq!(
        second.description,
        "Ada Lovelace has 1 other open case(s); open in all: 2"
    );
    let tasks = all_tasks(&host);
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].case, Some(second.number));
    assert_eq!(tasks[0].customer, Some(ada.id));
    assert_eq!(tasks[0].subject, format!("Follow up {}", second.number));
    assert_eq!(tasks[0].due_at.to_rfc3339(), "2030-01-02T00:00:00+00:00");
    assert_eq!(tasks[0].reminder_minutes, Some(10));
    assert!(host.pending_outbox().expect("outbox").is_empty());
}

#[test]
fn recursive_follow_ups_hit_the_chain_cap_and_write_nothing() {
    let env = Env::new(
        "",
        &[(
            "echo.rhai",
            r#"
fn before_save_follow_up(f) {
    add_follow_up(#{ case_number: f.case_number, body: `echo of ${f.id}` });
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    let case = open_case(&host, &ada, "Echo").expect("saved");
    // Hooks nest deeply here: give the test the stack a real service has.
    let worker = {
        let host = host.clone();
        std::thread::Builder::new()
            .stack_size(16 * 1024 * 1024)
            .spawn(move || host.add_follow_up(NewFollowUp::note(case.number, "agent", "hello")))
            .expect("thread")
    };
    let err = worker.join().expect("no panic").expect_err("chain refused");
    match &err {
        Error::ChainTooDeep { limit, chain } => {
            assert_eq!(*limit, 16, "the default [events] max_depth");
            // Depths 0 to 16 each ran the hook; the write at 17 was refused.
            assert_eq!(chain.len(), 17, "{chain:?}");
            assert!(
                chain
                    .iter()
                    .all(|c| c == "scripts/echo.rhai (before_save_follow_up)"),
                "{chain:?}"
            );
        }
        other => panic!("expected the chain cap, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("causal chain too deep"), "{text}");
    let (_, total) = host
        .follow_ups(case.number, dossier_host::Page::default())
        .expect("follow-ups");
    assert_eq!(total, 0, "follow-ups survived the failed chain");
}

fn call_from(caller: &str) -> Interaction {
    let mut interaction = Interaction::new(Channel::Phone);
    interaction.caller = Some(caller.into());
    interaction
}

#[test]
fn event_hooks_change_the_event_through_a_map() {
    let env = Env::new(
        "",
        &[(
            "pop.rhai",
            r#"
fn on_screen_pop(pop) {
    if pop.interaction.caller == "+33100000000" {
        pop.target = #{ pop: "customer", customer: 1 };
        pop.reason = "VIP line";
    } else if pop.interaction.caller == "+33100000001" {
        pop.target = #{ pop: "customer", customer: 99 };
    } else if pop.interaction.caller == "broken" {
        pop.target = "nobody";
    } else if pop.interaction.caller == "blocked" {
        veto("caller is blocked");
    } else {
        pop.target.prefill.phone = pop.interaction.caller;
    }
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    let p = host.screen_pop(call_from("+33100000000")).expect("popped");
    assert_eq!(p.target, PopTarget::Customer { customer: ada.id });
    assert_eq!(p.reason, "VIP line");
    // A hook may only choose records that exist: the host checks.
    let err = host
        .screen_pop(call_from("+33100000001"))
        .expect_err("no customer 99");
    assert_eq!(
        err.to_string(),
        "a screen_pop hook chose customer #99, which does not exist"
    );
    match host.screen_pop(call_from("0612")).expect("popped").target {
        PopTarget::NewCustomer { prefill } => {
            assert_eq!(prefill.get("phone").map(String::as_str), Some("0612"))
        }
        other => panic!("{other:?}"),
    }
    let err = host.screen_pop(call_from("broken")).expect_err("malformed");
    let text = err.to_string();
    assert!(
        text.contains("scripts/pop.rhai")
            && text.contains("on_screen_pop left its argument malformed"),
        "{text}"
    );
    let err = host.screen_pop(call_from("blocked")).expect_err("vetoed");
    assert!(
        matches!(&err, Error::Vetoed { by, message } if by == "scripts/pop.rhai" && message == "caller is blocked"),
        "{err:?}"
    );
}

#[test]
fn a_pop_hook_keeps_the_reason_unless_it_changes_the_choice() {
    let env = Env::new(
        "",
        &[(
            "pop.rhai",
            r#"
fn on_screen_pop(pop) {
    if pop.interaction.caller == "+33100000000" {
        pop.target = #{ pop: "customer", customer: 1 };
    } else {
        pop.target.prefill.name = "Caller " + pop.interaction.caller;
    }
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    let filled = host.screen_pop(call_from("0612")).expect("popped");
    match &filled.target {
        PopTarget::NewCustomer { prefill } => {
            assert_eq!(prefill.get("name").map(String::as_str), Some("Caller 0612"))
        }
        other => panic!("{other:?}"),
    }
    assert!(
        filled.reason.ends_with(": new customer") && !filled.reason.contains("hook chose"),
        "{}",
        filled.reason
    );
    let chosen = host.screen_pop(call_from("+33100000000")).expect("popped");
    assert_eq!(chosen.target, PopTarget::Customer { customer: ada.id });
    assert!(
        chosen.reason.starts_with("a screen_pop hook chose ")
            && chosen.reason.contains("(built in: "),
        "{}",
        chosen.reason
    );
}

#[test]
fn wall_clock_limit_stops_a_slow_hook() {
    let env = Env::new(
        "[scripts.limits]\nmax_operations = 1000000\ntimeout_ms = 5\n",
        &[(
            "slow.rhai",
            "fn before_save_case(c) {\n    let n = 0;\n    while true {\n        n += 1;\n    }\n}\n",
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    let started = std::time::Instant::now();
    let err = open_case(&host, &ada, "slow").expect_err("stopped");
    let took = started.elapsed();
    // The error says which limit stopped it: the wall clock, not the
    // (unreachable) operation limit. The bound only catches a hang.
    assert!(
        err.to_string()
            .contains("ran longer than 5 ms and was stopped ([scripts.limits] timeout_ms)"),
        "{err}"
    );
    assert!(took < crate::util::PATIENCE, "took {took:?}");
    assert!(all_cases(&host).is_empty());
}

#[test]
fn reload_picks_up_changes_and_keeps_working_scripts() {
    let env = Env::new(
        "",
        &[(
            "label.rhai",
            "fn before_save_case(c) {\n    c.description = \"v1\";\n}\n",
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    assert_eq!(
        open_case(&host, &ada, "a").expect("saved").description,
        "v1"
    );

    let report = host.reload_scripts_if_changed().expect("reload");
    assert!(report.is_empty(), "nothing changed: {report:?}");

    env.write_script(
        "label.rhai",
        "fn before_save_case(c) {\n    c.description = \"v2\";\n}\n",
    );
    let report = host.reload_scripts_if_changed().expect("reload");
    assert_eq!(report.reloaded, vec!["scripts/label.rhai".to_owned()]);
    assert_eq!(
        open_case(&host, &ada, "b").expect("saved").description,
        "v2"
    );

    // A broken version is reported and never replaces the working one.
    write_bumped(
        &env.script_path("label.rhai"),
        "fn before_save_case(c) {\n    c.description = ;\n}\n",
    );
    let report = host.reload_scripts_if_changed().expect("reload");
    assert!(report.reloaded.is_empty());
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0]
            .to_string()
            .contains("scripts/label.rhai:2:"),
        "{}",
        report.errors[0]
    );
    assert_eq!(
        open_case(&host, &ada, "c").expect("saved").description,
        "v2"
    );

    // Removing the hook function makes writes skip scripts entirely.
    write_bumped(&env.script_path("label.rhai"), "fn helper() { 1 }\n");
    host.reload_scripts().expect("reload");
    assert!(!host.scripts().expect("scripts").defines("before_save_case"));
    assert_eq!(open_case(&host, &ada, "d").expect("saved").description, "");
}

#[test]
fn a_script_that_does_not_compile_stops_the_host_from_opening() {
    let env = Env::new("", &[("broken.rhai", "fn before_save_case(c) {\n")]);
    let err = env.open().expect_err("refused");
    assert!(
        matches!(&err, Error::Script { file, line, .. } if file == "scripts/broken.rhai" && *line > 0),
        "{err:?}"
    );
}

#[test]
fn disabled_scripts_do_not_run() {
    let env = Env::new(
        "enabled = false\n",
        &[("veto.rhai", "fn before_save_case(c) { veto(\"no\"); }\n")],
    );
    let host = env.host();
    assert!(host.scripts().is_none());
    let ada = ada(&host);
    open_case(&host, &ada, "fine").expect("saved without scripts");
}

/// `on_directory_changed` runs after an agent or group change committed,
/// reads what changed by its `change` tag, and writes as anyone's hook;
/// `script test` runs it on a given change, rolled back.
#[test]
fn on_directory_changed_plans_work_for_a_new_or_promoted_agent_and_dry_runs() {
    use dossier_host::AgentChange;
    use dossier_sdk::{DirectoryChange, Event, NewAgent, Record, Role};
    use serde_json::json;

    const SCRIPT: &str = r#"
fn on_directory_changed(d) {
    if d.agent == () {
        if d.group.name == "broken" {
            throw "cannot plan for this group";
        }
        print(`group ${d.group.name}`);
        return;
    }
    for c in d.changes {
        if c.change == "added" {
            add_task(#{ customer_id: CUSTOMER, subject: `Welcome ${d.agent.login}`,
                        due_at: "2030-01-01T09:00:00Z", kind: "meeting",
                        assignee: d.agent.login });
        } else if c.change == "role" {
            add_task(#{ customer_id: CUSTOMER, subject: `Brief ${d.agent.login}: ${c.from} to ${c.to}`,
                        due_at: "2030-01-02T09:00:00Z", kind: "meeting" });
        } else {
            print(`${d.agent.login}: ${c.change}`);
        }
    }
}
"#;
    let env = Env::new(
        "",
        &[("onboarding.rhai", "fn on_directory_changed(d) {}\n")],
    );
    let host = env.host();
    // The tasks need a customer: the script names the one made here.
    let ada = ada(&host);
    env.write_script(
        "onboarding.rhai",
        &SCRIPT.replace("CUSTOMER", &ada.id.0.to_string()),
    );
    let report = host.reload_scripts_if_changed().expect("reload");
    assert_eq!(report.reloaded, ["scripts/onboarding.rhai"]);
    host.add_group("billing", None).expect("group");
    host.add_agent(NewAgent {
        login: "ann".into(),
        ..Default::default()
    })
    .expect("ann");
    host.update_agent(
        "ann",
        AgentChange {
            role: Some(Role::Supervisor),
            groups: Some(vec!["billing".into()]),
            ..Default::default()
        },
    )
    .expect("promoted");
    let pending = host.pending_outbox().expect("outbox");
    assert!(pending.is_empty(), "{pending:?}");
    let subjects: Vec<String> = all_tasks(&host).into_iter().map(|t| t.subject).collect();
    assert_eq!(subjects, ["Welcome ann", "Brief ann: agent to supervisor"]);

    // A hook that fails never undoes the change: its delivery waits for a retry.
    host.add_group("broken", None).expect("the group is added");
    assert!(
        host.groups()
            .expect("groups")
            .iter()
            .any(|g| g.name == "broken")
    );
    let pending = host.pending_outbox().expect("outbox");
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(
        (pending[0].hook.as_str(), pending[0].record.as_str()),
        ("on_directory_changed", "group broken")
    );
    assert!(
        pending[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("cannot plan for this group")),
        "{pending:?}"
    );

    // The dry run: a change given as JSON, its writes reported, nothing kept.
    let run = host
        .test_hook(
            "on_directory_changed",
            &json!({
                "agent": {"login": "bob", "display_name": "Bob", "role": "agent",
                          "created_at": "2026-01-01T00:00:00Z",
                          "updated_at": "2026-01-01T00:00:00Z"},
                "changes": [{"change": "added"}, {"change": "disabled"}]
            }),
        )
        .expect("dry run");
    assert_eq!(run.printed, ["bob: disabled"]);
    let [Record::Task(task)] = run.writes.as_slice() else {
        panic!("one task: {:?}", run.writes)
    };
    assert_eq!(task.subject, "Welcome bob");
    let Event::DirectoryChanged(change) = &run.event else {
        panic!("{:?}", run.event)
    };
    assert_eq!(
        change.changes,
        [DirectoryChange::Added, DirectoryChange::Disabled]
    );
    assert_eq!(all_tasks(&host).len(), 2, "the dry run kept nothing");
    let run = host
        .test_hook(
            "on_directory_changed",
            &json!({"group": {"name": "sales", "created_at": "2026-01-01T00:00:00Z"},
                    "changes": [{"change": "added"}]}),
        )
        .expect("dry run of a group");
    assert_eq!(run.printed, ["group sales"]);
    // A change of an unknown kind is refused, naming it.
    let err = host
        .test_hook(
            "on_directory_changed",
            &json!({"changes": [{"change": "promoted"}]}),
        )
        .expect_err("refused");
    assert!(err.to_string().contains("promoted"), "{err}");
}

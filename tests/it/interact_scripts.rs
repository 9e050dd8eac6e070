//! Screen-pop, dispositions, reminders and notifications with real Rhai
//! scripts: the admin's hooks, loaded from files next to a real store.

use chrono::Duration;
use dossier_host::{Config, Error, Host, Page, TaskFilter};
use dossier_sdk::{
    Audience, CaseNumber, Cause, Channel, Interaction, Mailbox, NewCase, NewTask, Notification,
    PopTarget, TaskKind,
};
use tempfile::TempDir;

use crate::pop::{INTERACT, add_customer};

/// A store whose `scripts/` holds `scripts` (file name, source).
fn with_scripts(scripts: &[(&str, &str)]) -> (TempDir, Host) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    for (name, text) in scripts {
        std::fs::write(dir.path().join("scripts").join(name), text).unwrap();
    }
    let path = dir.path().join("dossier.toml");
    std::fs::write(&path, INTERACT).unwrap();
    let host = Host::builder(Config::load(&path).unwrap())
        .clock(std::sync::Arc::new(crate::util::clock()))
        .create_if_missing()
        .open()
        .unwrap();
    (dir, host)
}

const POP_THE_ONLY_OPEN_CASE: &str = include_str!("../../scripts/pop_only_open_case.rhai");

#[test]
fn a_script_pops_the_callers_only_open_case() {
    let (_dir, host) = with_scripts(&[("pop.rhai", POP_THE_ONLY_OPEN_CASE)]);
    let grace = add_customer(&host, "AC-000002", "Grace Hopper", "+12125550100", "");
    let call = || Interaction {
        caller: Some("+1 212 555 0100".into()),
        ..Interaction::new(Channel::Phone)
    };
    // No open case: the built-in customer pop stands.
    assert_eq!(
        host.screen_pop(call()).unwrap().target,
        PopTarget::Customer { customer: grace }
    );
    let case = host
        .open_case(NewCase::new(grace, "Compiler bug"))
        .unwrap()
        .number;
    let pop = host.screen_pop(call()).unwrap();
    assert_eq!(
        pop.target,
        PopTarget::Case {
            case_number: case,
            customer: grace
        }
    );
    assert_eq!(pop.reason, "Grace Hopper (AC-000002) has one open case: 1");
    // Two open cases: the agent chooses from the customer view again.
    host.open_case(NewCase::new(grace, "Moth")).unwrap();
    assert_eq!(
        host.screen_pop(call()).unwrap().target,
        PopTarget::Customer { customer: grace }
    );
}

const DISPOSITION: &str = r#"
// Plans the call back a `callback` code promises; a resolved call needs a note.
fn on_disposition(d) {
    if d.code == "resolved" && d.note == () {
        veto("say how it was resolved: add a note");
    }
    if d.code == "callback" {
        add_task(#{
            case_number: d.case_number,
            subject: "Call back about case " + d.case_number,
            due_at: add_days(now(), 1),
            reminder_minutes: 15,
            assignee: d.interaction.agent,
        });
    }
}
"#;

#[test]
fn a_disposition_script_plans_a_task_or_vetoes_everything() {
    let (_dir, host) = with_scripts(&[("disposition.rhai", DISPOSITION)]);
    let grace = add_customer(&host, "AC-000002", "Grace Hopper", "+12125550100", "");
    let case = host
        .open_case(NewCase::new(grace, "Compiler bug"))
        .unwrap()
        .number;
    let call = Interaction {
        case_number: Some(case),
        agent: Some("agent.smith".into()),
        ..Interaction::new(Channel::Phone)
    };
    let err = host.dispose(call.clone(), "resolved", None).unwrap_err();
    assert!(
        matches!(&err, Error::Vetoed { by, .. } if by.contains("disposition.rhai")),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with("say how it was resolved: add a note"),
        "{err}"
    );
    assert_eq!(host.case(case).unwrap().status, "open");
    assert_eq!(host.follow_ups(case, Page::default()).unwrap().1, 0);

    let done = host.dispose(call.clone(), "callback", None).unwrap();
    assert_eq!(
        done.case.unwrap().last_disposition.as_deref(),
        Some("callback")
    );
    let tasks = host
        .list_tasks(
            &TaskFilter {
                case: Some(case),
                ..Default::default()
            },
            Page::default(),
        )
        .unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].subject, "Call back about case 1");
    assert_eq!(tasks[0].assignee.as_deref(), Some("agent.smith"));

    let closed = host
        .dispose(call, "resolved", Some("Patched".into()))
        .unwrap();
    assert_eq!(closed.case.unwrap().status, "closed");
}

const REMINDER_AND_NOTIFICATION: &str = r#"
// Agents log in with their short name; their mail is name@example.com.
fn on_task_reminder(r) {
    if r.task.assignee == () { return; }
    r.notification = #{
        from: #{ address: "dossier@example.com" },
        to: [#{ address: r.task.assignee + "@example.com" }],
        subject: "Reminder: " + r.task.subject,
        body: "Due " + r.task.due_at,
    };
}

// Every notice carries the team signature; nothing goes to competitors.
fn on_notification(n) {
    for m in n.to {
        if m.address.ends_with("@competitor.example") {
            veto("we do not write to competitors");
        }
    }
    n.signature = "The Support Team";
}
"#;

#[test]
fn reminder_and_notification_scripts_address_sign_and_veto() {
    let (_dir, host) = with_scripts(&[("notify.rhai", REMINDER_AND_NOTIFICATION)]);
    let grace = add_customer(&host, "AC-000002", "Grace Hopper", "+12125550100", "");
    host.add_task(NewTask {
        customer: Some(grace),
        case: None,
        kind: TaskKind::Call,
        subject: "Call Grace".into(),
        due_at: host.now() + Duration::minutes(20),
        reminder_minutes: Some(20),
        assignee: Some("ann".into()),
        custom: Default::default(),
    })
    .unwrap();
    let fired = host.due_reminders(host.now()).unwrap();
    assert_eq!(fired[0].problem, None);
    let n = fired[0]
        .reminder
        .notification
        .as_ref()
        .expect("the script wrote one");
    assert_eq!(n.to[0].address, "ann@example.com");
    assert_eq!(n.subject, "Reminder: Call Grace");
    assert_eq!(
        n.signature.as_deref(),
        Some("The Support Team"),
        "on_notification ran on it"
    );

    let notice = |to: &str| Notification {
        case_number: Some(CaseNumber(1)),
        audience: Audience::Customer,
        cause: Cause::EmailReply,
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
        subject: "Hello".into(),
        body: "Hi".into(),
        html: None,
        signature: None,
        review: false,
    };
    assert_eq!(
        host.notify(notice("grace@navy.mil"))
            .unwrap()
            .signature
            .as_deref(),
        Some("The Support Team")
    );
    let err = host.notify(notice("ceo@competitor.example")).unwrap_err();
    assert!(
        matches!(&err, Error::Vetoed { by, .. } if by.contains("notify.rhai")),
        "{err}"
    );
}

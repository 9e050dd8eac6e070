//! Tasks and record updates through the library.

use dossier_host::TaskFilter;
use dossier_sdk::{NewCase, NewTask, TaskKind, TaskStatus};

use crate::util::{FIELDS, TestStore};

#[test]
fn tasks_take_their_customer_from_the_case_and_compute_reminders() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let case = t.host.open_case(NewCase::new(c, "x")).unwrap();
    let due = t.host.now() + chrono::Duration::hours(2);
    let task = t
        .host
        .add_task(NewTask {
            customer: None,
            case: Some(case.number),
            kind: TaskKind::Call,
            subject: "Call back".into(),
            due_at: due,
            reminder_minutes: Some(10),
            assignee: Some("ann".into()),
            custom: Default::default(),
        })
        .unwrap();
    assert_eq!(task.customer, Some(c));
    assert_eq!(
        task.reminder_at(),
        Some(due - chrono::Duration::minutes(10))
    );
    let done = t.host.finish_task(task.id, TaskStatus::Done).unwrap();
    assert_eq!(done.status, TaskStatus::Done);
    let planned = t
        .host
        .list_tasks(
            &TaskFilter {
                status: Some(TaskStatus::Planned),
                ..Default::default()
            },
            Default::default(),
        )
        .unwrap();
    assert!(planned.is_empty());

    let orphan = t.host.add_task(NewTask {
        customer: None,
        case: None,
        kind: TaskKind::Email,
        subject: "Nobody".into(),
        due_at: due,
        reminder_minutes: None,
        assignee: None,
        custom: Default::default(),
    });
    assert_eq!(
        orphan.unwrap_err().to_string(),
        "task is invalid: field `customer` or case is required"
    );
}

#[test]
fn updates_keep_creation_time_and_bump_update_time() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let mut customer = t.host.customer(c).unwrap();
    t.clock.advance(chrono::Duration::hours(1));
    customer.name = "Ada King".into();
    customer.created_at = t.host.now();
    let saved = t.host.update_customer(customer).unwrap();
    assert_eq!(saved.name, "Ada King");
    assert!(saved.updated_at > saved.created_at);
    assert_eq!(t.host.customer(c).unwrap(), saved);
}

/// `system` and `email_in` follow-ups record what Dossier did or received:
/// an agent (even an admin) may not write one through the facade; the host
/// itself (the system actor) still does.
#[test]
fn agents_may_not_write_the_follow_up_kinds_only_dossier_writes() {
    use dossier_sdk::{FollowUpKind, NewAgent, NewFollowUp, Role};
    let t = TestStore::new(FIELDS);
    for (login, role) in [("ann", Role::Agent), ("root", Role::Admin)] {
        t.host
            .add_agent(NewAgent {
                login: login.into(),
                role,
                ..Default::default()
            })
            .expect("agent");
    }
    let c = t.customer("AC-1", "+33123456789");
    let case = t.host.open_case(NewCase::new(c, "x")).expect("case").number;
    for login in ["ann", "root"] {
        let agent = t.host.as_agent(login).expect("agent");
        for kind in [FollowUpKind::System, FollowUpKind::EmailIn] {
            let err = agent
                .add_follow_up(NewFollowUp {
                    kind,
                    ..NewFollowUp::note(case, login, "forged")
                })
                .expect_err("refused");
            assert_eq!(err.code(), "permission_denied");
            assert!(
                matches!(&err, dossier_host::Error::ReservedFollowUpKind { kind: k, .. } if k == kind.as_str()),
                "{err}"
            );
        }
        agent
            .add_follow_up(NewFollowUp::note(case, login, "a note"))
            .expect("a note is fine");
    }
    t.host
        .add_follow_up(NewFollowUp {
            kind: FollowUpKind::System,
            ..NewFollowUp::note(case, "system", "the host's own")
        })
        .expect("the system actor writes it");
}

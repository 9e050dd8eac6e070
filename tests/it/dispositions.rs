//! Dispositions on a real store: validation against the configured codes,
//! what gets recorded, and hooks acting inside the same transaction.

use std::sync::Arc;

use dossier_host::{Ctx, Error, Handler, Page, TaskFilter};
use dossier_sdk::{
    CaseNumber, Channel, Event, FollowUpKind, Interaction, NewCase, NewTask, Outcome, TaskKind,
};

use crate::pop::{INTERACT, add_customer};
use crate::util::TestStore;

fn call_about(case: CaseNumber) -> Interaction {
    Interaction {
        case_number: Some(case),
        agent: Some("agent.smith".into()),
        caller: Some("+12125550100".into()),
        ..Interaction::new(Channel::Phone)
    }
}

fn grace_with_a_case(t: &TestStore) -> CaseNumber {
    let grace = add_customer(&t.host, "AC-000002", "Grace Hopper", "+12125550100", "");
    t.host
        .open_case(NewCase::new(grace, "Compiler bug"))
        .unwrap()
        .number
}

fn row_counts(t: &TestStore) -> (i64, i64) {
    let conn = rusqlite::Connection::open(t.db_path()).unwrap();
    let count = |table: &str| {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    (count("follow_ups"), count("tasks"))
}

#[test]
fn unknown_codes_and_missing_codes_are_typed_errors_naming_the_valid_ones() {
    let t = TestStore::new(INTERACT);
    let case = grace_with_a_case(&t);
    let mut out = String::new();
    let mut show = |what: &str, result: dossier_host::Result<()>| {
        let err = result.unwrap_err();
        out.push_str(&format!("{what}:\n  {err}\n"));
        err
    };
    let err = show(
        "unknown phone code",
        t.host
            .dispose(call_about(case), "resolvd", None)
            .map(|_| ()),
    );
    assert!(
        matches!(&err, Error::UnknownDisposition { channel: Channel::Phone, code, valid }
            if code == "resolvd" && valid == &["resolved", "callback"]),
        "{err:?}"
    );
    show(
        "a channel without codes",
        t.host
            .dispose(Interaction::new(Channel::Email), "resolved", None)
            .map(|_| ()),
    );
    let err = show(
        "finishing a phone call without a code",
        t.host.finish_interaction(&call_about(case)),
    );
    assert!(matches!(
        err,
        Error::DispositionRequired {
            channel: Channel::Phone,
            ..
        }
    ));
    show(
        "a case that does not exist",
        t.host
            .dispose(call_about(CaseNumber(404)), "callback", None)
            .map(|_| ()),
    );
    insta::assert_snapshot!(out);
    // Chat does not require a code; nothing was written by any of the above.
    t.host
        .finish_interaction(&Interaction::new(Channel::Chat))
        .unwrap();
    assert_eq!(t.host.case(case).unwrap().last_disposition, None);
    assert_eq!(row_counts(&t), (0, 0));
}

#[test]
fn a_closing_code_records_the_disposition_closes_the_case_and_writes_a_system_follow_up() {
    let t = TestStore::new(INTERACT);
    let case = grace_with_a_case(&t);
    let done = t
        .host
        .dispose(
            call_about(case),
            "resolved",
            Some("Patched the compiler".into()),
        )
        .unwrap();
    assert!(done.disposition.close_case);
    let saved = done.case.unwrap();
    assert_eq!(saved.status, "closed");
    assert_eq!(saved.last_disposition.as_deref(), Some("resolved"));
    let note = done.follow_up.unwrap();
    assert_eq!(
        (note.kind, note.author.as_str()),
        (FollowUpKind::System, "system")
    );

    // What a fresh host reads back from the file.
    let reopened = t.reopen(INTERACT).unwrap();
    let case_now = reopened.case(case).unwrap();
    assert_eq!(case_now.status, "closed");
    assert_eq!(case_now.last_disposition.as_deref(), Some("resolved"));
    let (follow_ups, total) = reopened.follow_ups(case, Page::default()).unwrap();
    assert_eq!(total, 1);
    insta::assert_snapshot!(follow_ups[0].body, @r"
    Disposition `resolved` (Resolved) for an inbound phone interaction handled by agent.smith. The code closes the case: its status is now closed.
    Note: Patched the compiler
    ");
}

#[test]
fn a_non_closing_code_leaves_the_case_open_and_a_later_code_replaces_it() {
    let t = TestStore::new(INTERACT);
    let case = grace_with_a_case(&t);
    let first = t.host.dispose(call_about(case), "callback", None).unwrap();
    assert_eq!(first.case.unwrap().status, "open");
    let second = t.host.dispose(call_about(case), "resolved", None).unwrap();
    assert_eq!(
        second.case.unwrap().last_disposition.as_deref(),
        Some("resolved")
    );
    // Disposing a closed case records the code and says it was already closed.
    let third = t.host.dispose(call_about(case), "resolved", None).unwrap();
    assert!(
        third
            .follow_up
            .unwrap()
            .body
            .contains("The case was already closed.")
    );
    assert_eq!(t.host.follow_ups(case, Page::default()).unwrap().1, 3);
}

#[test]
fn without_a_case_the_code_is_still_validated_and_nothing_is_recorded() {
    let t = TestStore::new(INTERACT);
    let done = t
        .host
        .dispose(Interaction::new(Channel::Chat), "answered", None)
        .unwrap();
    assert_eq!((done.case, done.follow_up), (None, None));
    assert_eq!(row_counts(&t), (0, 0));
}

/// A contact-centre integration registered by an embedder: on `callback` it
/// plans the call back; on `escalate-me` it changes the code; it refuses
/// dispositions on case 1 after writing a task, to prove the rollback.
struct Supervisor;

impl Handler for Supervisor {
    fn name(&self) -> &str {
        "supervisor"
    }

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::Disposition(_))
    }

    fn handle(&self, ctx: &mut Ctx, event: &mut Event) -> dossier_host::Result<Outcome> {
        let Event::Disposition(d) = event else {
            return Ok(Outcome::Continue);
        };
        let case = d.case_number.expect("tests dispose on cases");
        let task = ctx.add_task(NewTask {
            customer: None,
            case: Some(case),
            kind: TaskKind::Call,
            subject: format!("Call back about case {case}"),
            due_at: ctx.now() + chrono::Duration::days(1),
            reminder_minutes: Some(15),
            assignee: d.interaction.agent.clone(),
            custom: Default::default(),
        })?;
        if case == CaseNumber(1) {
            return Ok(Outcome::Veto(format!(
                "case 1 is handled by the escalation team (task {} would have been planned)",
                task.id
            )));
        }
        if d.note.as_deref() == Some("change") {
            d.code = "no-such-code".into();
        }
        if d.code == "callback" {
            d.close_case = true;
        }
        Ok(Outcome::Continue)
    }
}

#[test]
fn hooks_write_inside_the_disposition_transaction_and_a_veto_rolls_everything_back() {
    let mut t = TestStore::new(INTERACT);
    let vetoed_case = grace_with_a_case(&t);
    let grace = t.host.case(vetoed_case).unwrap().customer;
    let case = t
        .host
        .open_case(NewCase::new(grace, "Second case"))
        .unwrap()
        .number;
    t.set_handlers(vec![Arc::new(Supervisor)]);

    let err = t
        .host
        .dispose(call_about(vetoed_case), "resolved", None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "vetoed by supervisor: case 1 is handled by the escalation team (task 1 would have been planned)"
    );
    assert_eq!(t.host.case(vetoed_case).unwrap().status, "open");
    assert_eq!(
        row_counts(&t),
        (0, 0),
        "the task and follow-up were rolled back"
    );

    // A hook may turn a code into a closing one and plan a task, atomically.
    let done = t.host.dispose(call_about(case), "callback", None).unwrap();
    assert_eq!(done.case.unwrap().status, "closed");
    let tasks = t
        .host
        .list_tasks(
            &TaskFilter {
                case: Some(case),
                ..Default::default()
            },
            Page::default(),
        )
        .unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].assignee.as_deref(), Some("agent.smith"));

    // A hook's code is validated again.
    let err = t
        .host
        .dispose(call_about(case), "resolved", Some("change".into()))
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownDisposition { code, .. } if code == "no-such-code"),
        "{err}"
    );
    assert_eq!(row_counts(&t), (1, 1));
}

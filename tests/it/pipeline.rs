//! The event pipeline as an embedder uses it: handlers registered in Rust
//! that change, veto or react to writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dossier_host::{Ctx, Error, Handler, Page, TaskFilter};
use dossier_sdk::{
    CaseNumber, Event, FieldValue, NewCase, NewFollowUp, NewTask, Outcome, Record, SaveOp, TaskKind,
};

use crate::util::{FIELDS, TestStore};

/// What the test handler does with `before_save` of a case.
#[derive(Clone, Copy, PartialEq)]
enum OnCase {
    /// Sets a custom field and writes a follow-up in the same transaction.
    Enrich,
    /// Writes a follow-up, then vetoes: both must vanish.
    WriteThenVeto,
}

struct Desk {
    on_case: OnCase,
    after_save_failures: AtomicUsize,
    after_save_seen: AtomicUsize,
    recursive_follow_ups: bool,
}

impl Desk {
    fn new(on_case: OnCase) -> Desk {
        Desk {
            on_case,
            after_save_failures: AtomicUsize::new(0),
            after_save_seen: AtomicUsize::new(0),
            recursive_follow_ups: false,
        }
    }
}

impl Handler for Desk {
    fn name(&self) -> &str {
        "desk"
    }

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::BeforeSave(_) | Event::AfterSave(_))
    }

    fn handle(&self, ctx: &mut Ctx, event: &mut Event) -> dossier_host::Result<Outcome> {
        match event {
            Event::BeforeSave(save) => match &mut save.record {
                Record::Case(case) if save.op == SaveOp::Create => {
                    ctx.add_follow_up(NewFollowUp::note(
                        case.number,
                        "desk",
                        "case opened by the desk integration",
                    ))?;
                    match self.on_case {
                        OnCase::Enrich => {
                            case.custom
                                .insert("contract_ref".into(), FieldValue::Text("AUTO-1".into()));
                            Ok(Outcome::Continue)
                        }
                        OnCase::WriteThenVeto => {
                            Ok(Outcome::Veto("cases are opened in the other system".into()))
                        }
                    }
                }
                Record::FollowUp(f) if self.recursive_follow_ups => {
                    ctx.add_follow_up(NewFollowUp::note(f.case, "desk", "echo"))?;
                    Ok(Outcome::Continue)
                }
                _ => Ok(Outcome::Continue),
            },
            Event::AfterSave(_) => {
                if self.after_save_failures.load(Ordering::SeqCst) > 0 {
                    self.after_save_failures.fetch_sub(1, Ordering::SeqCst);
                    return Err(Error::Refused("the audit service is down".into()));
                }
                self.after_save_seen.fetch_add(1, Ordering::SeqCst);
                Ok(Outcome::Continue)
            }
            _ => Ok(Outcome::Continue),
        }
    }
}

fn follow_up_count(t: &TestStore) -> i64 {
    rusqlite::Connection::open(t.db_path())
        .unwrap()
        .query_row("SELECT count(*) FROM follow_ups", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_handler_enriches_the_record_and_writes_in_the_same_transaction() {
    let mut t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let desk = Arc::new(Desk::new(OnCase::Enrich));
    t.set_handlers(vec![desk.clone()]);
    let case = t
        .host
        .open_case(NewCase::new(c, "Printer on fire"))
        .unwrap();
    assert_eq!(
        case.custom["contract_ref"],
        FieldValue::Text("AUTO-1".into())
    );
    let (notes, _) = t.host.follow_ups(case.number, Page::default()).unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].author, "desk");
    // After-save events went out after commit: the case and the follow-up.
    assert_eq!(desk.after_save_seen.load(Ordering::SeqCst), 2);
    assert!(t.host.pending_outbox().unwrap().is_empty());
}

#[test]
fn a_veto_rolls_back_the_write_and_everything_the_handler_wrote() {
    let mut t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    t.set_handlers(vec![Arc::new(Desk::new(OnCase::WriteThenVeto))]);
    let err = t.host.open_case(NewCase::new(c, "Refused")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vetoed by desk: cases are opened in the other system"
    );
    assert!(t.host.case(CaseNumber(1)).is_err());
    assert_eq!(follow_up_count(&t), 0);
}

#[test]
fn hooks_that_trigger_themselves_stop_at_the_chain_limit() {
    let mut t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let case = t.host.open_case(NewCase::new(c, "Echo chamber")).unwrap();
    let mut desk = Desk::new(OnCase::Enrich);
    desk.recursive_follow_ups = true;
    t.set_handlers(vec![Arc::new(desk)]);
    let err = t
        .host
        .add_follow_up(NewFollowUp::note(case.number, "ann", "hello"))
        .unwrap_err();
    assert!(
        matches!(&err, Error::ChainTooDeep { limit: 16, chain } if chain.len() == 17),
        "{err}"
    );
    assert!(err.to_string().contains("a hook probably triggers itself"));
    assert_eq!(follow_up_count(&t), 0);
}

#[test]
fn failed_after_save_deliveries_stay_in_the_outbox_and_are_retried() {
    let mut t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let desk = Arc::new(Desk::new(OnCase::Enrich));
    desk.after_save_failures.store(2, Ordering::SeqCst);
    t.set_handlers(vec![desk.clone()]);
    // The write itself succeeds: after-save failures never undo a commit.
    let case = t.host.open_case(NewCase::new(c, "Audit me")).unwrap();
    assert_eq!(t.host.case(case.number).unwrap().subject, "Audit me");
    let pending = t.host.pending_outbox().unwrap();
    assert_eq!(pending.len(), 2, "{pending:?}");
    assert!(pending.iter().all(|e| e.attempts == 1));
    assert_eq!(
        pending[0].last_error.as_deref(),
        Some("the audit service is down")
    );
    // Not due yet: backoff.
    assert_eq!(t.host.deliver_outbox().unwrap(), 0);
    t.clock.advance(chrono::Duration::seconds(5));
    assert_eq!(t.host.deliver_outbox().unwrap(), 2);
    assert!(t.host.pending_outbox().unwrap().is_empty());
    assert_eq!(desk.after_save_seen.load(Ordering::SeqCst), 2);
}

/// Before a note is saved, adds an "escalation logged" note to the same
/// case; before a call task is saved, plans a follow-up email task: a
/// record of the very kind being saved, before that one is inserted.
struct Echo;

impl Handler for Echo {
    fn name(&self) -> &str {
        "echo"
    }

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::BeforeSave(_))
    }

    fn handle(&self, ctx: &mut Ctx, event: &mut Event) -> dossier_host::Result<Outcome> {
        if let Event::BeforeSave(save) = event {
            match &save.record {
                Record::FollowUp(f) if f.author != "echo" => {
                    ctx.add_follow_up(NewFollowUp::note(f.case, "echo", "logged"))?;
                }
                Record::Task(t) if t.kind == TaskKind::Call => {
                    ctx.add_task(task(
                        t.case,
                        TaskKind::Email,
                        &format!("Confirm: {}", t.subject),
                        t.due_at,
                    ))?;
                }
                _ => {}
            }
        }
        Ok(Outcome::Continue)
    }
}

fn task(
    case: Option<CaseNumber>,
    kind: TaskKind,
    subject: &str,
    due_at: chrono::DateTime<chrono::Utc>,
) -> NewTask {
    NewTask {
        customer: None,
        case,
        kind,
        subject: subject.into(),
        due_at,
        reminder_minutes: None,
        assignee: None,
        custom: Default::default(),
    }
}

#[test]
fn a_before_save_hook_adds_a_record_of_the_kind_being_saved_and_both_get_their_own_id() {
    let mut t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let case = t
        .host
        .open_case(NewCase::new(c, "Printer on fire"))
        .unwrap();
    t.set_handlers(vec![Arc::new(Echo)]);
    let note = t
        .host
        .add_follow_up(NewFollowUp::note(case.number, "ann", "called back"))
        .expect("the note and the hook's note are both saved");
    let (notes, _) = t.host.follow_ups(case.number, Page::default()).unwrap();
    let mut seen: Vec<(String, String)> = notes
        .iter()
        .map(|f| (f.author.clone(), f.body.clone()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("ann".to_owned(), "called back".to_owned()),
            ("echo".to_owned(), "logged".to_owned())
        ]
    );
    assert!(notes.iter().any(|f| f.id == note.id && f.author == "ann"));

    let due = t.host.now() + chrono::Duration::hours(2);
    let call = t
        .host
        .add_task(task(Some(case.number), TaskKind::Call, "Call back", due))
        .expect("the task and the hook's task are both saved");
    let tasks = t
        .host
        .list_tasks(&TaskFilter::default(), Page::default())
        .unwrap();
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert!(
        tasks
            .iter()
            .any(|x| x.id == call.id && x.kind == TaskKind::Call)
    );
    assert!(
        tasks
            .iter()
            .any(|x| x.id != call.id && x.subject == "Confirm: Call back")
    );
}

//! Task reminders: due exactly once, across restarts and across hosts
//! polling the same file from two threads.

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

use chrono::Duration;
use dossier_host::{Ctx, DeliveryState, Error, Handler, Host, Page};
use dossier_sdk::{
    CustomerId, Event, NewCase, NewFollowUp, NewTask, Outcome, TaskId, TaskKind, TaskStatus,
};
use dossier_tests::smtp::{DownPort, SmtpServer};
use mail_parser::MessageParser;

use crate::pop::{INTERACT, add_customer};
use crate::util::{TestStore, open_with};

pub(crate) fn plan(
    host: &Host,
    customer: CustomerId,
    in_minutes: i64,
    remind: u32,
    assignee: &str,
) -> TaskId {
    host.add_task(NewTask {
        customer: Some(customer),
        case: None,
        kind: TaskKind::Call,
        subject: format!("Call back in {in_minutes} min"),
        due_at: host.now() + Duration::minutes(in_minutes),
        reminder_minutes: Some(remind),
        assignee: Some(assignee.into()),
        custom: Default::default(),
    })
    .unwrap()
    .id
}

fn ids(fired: &[dossier_host::FiredReminder]) -> Vec<TaskId> {
    fired.iter().map(|f| f.reminder.task.id).collect()
}

#[test]
fn a_reminder_fires_once_when_its_time_comes_even_across_restarts() {
    let t = TestStore::new(INTERACT);
    let grace = add_customer(&t.host, "AC-000002", "Grace Hopper", "+12125550100", "");
    // Due in 60 min, reminder 15 min before: at 09:45.
    let task = plan(&t.host, grace, 60, 15, "agent.smith");
    let at = |minutes| t.host.now() + Duration::minutes(minutes);
    assert_eq!(t.host.next_reminder_at().unwrap(), Some(at(45)));
    assert!(t.host.due_reminders(at(44)).unwrap().is_empty());
    assert_eq!(t.host.count_due_reminders(at(45)).unwrap(), 1);

    let fired = t.host.due_reminders(at(45)).unwrap();
    assert_eq!(ids(&fired), vec![task]);
    assert_eq!(fired[0].reminder.fired_at, at(45));
    assert_eq!(fired[0].problem, None);
    assert_eq!(
        fired[0].reminder.notification, None,
        "agent.smith is no email address"
    );
    assert!(t.host.due_reminders(at(50)).unwrap().is_empty());
    assert_eq!(t.host.next_reminder_at().unwrap(), None);

    // A restarted host sees it as fired.
    let restarted = t.reopen(INTERACT).unwrap();
    assert!(restarted.due_reminders(at(120)).unwrap().is_empty());

    // Moving the task re-arms its reminder; a done task never reminds.
    let mut moved = restarted.task(task).unwrap();
    moved.due_at += Duration::hours(1);
    restarted.update_task(moved).unwrap();
    let done = plan(&restarted, grace, 30, 0, "agent.smith");
    restarted.finish_task(done, TaskStatus::Done).unwrap();
    assert_eq!(ids(&restarted.due_reminders(at(200)).unwrap()), vec![task]);
    assert!(restarted.due_reminders(at(300)).unwrap().is_empty());
}

/// Two hosts on one file poll the same 300 reminders from two threads.
/// Returns what each fired, after checking each reminder fired exactly once.
fn race_two_hosts() -> (Vec<TaskId>, Vec<TaskId>) {
    let t = TestStore::new(INTERACT);
    let grace = add_customer(&t.host, "AC-000002", "Grace Hopper", "+12125550100", "");
    let planned: BTreeSet<TaskId> = (0..300)
        .map(|i| plan(&t.host, grace, 10 + i % 50, 5, "agent.smith"))
        .collect();
    let a = t.reopen(INTERACT).unwrap();
    let b = open_with(t.dir.path(), INTERACT, &t.clock).unwrap();
    let start = Arc::new(Barrier::new(2));
    let poll = |host: Host, start: Arc<Barrier>, base| {
        std::thread::spawn(move || {
            start.wait();
            let mut seen = Vec::new();
            // Several polls as time passes, as `dossier run` does.
            for minute in (0..=60).step_by(3) {
                seen.extend(ids(&host
                    .due_reminders(base + Duration::minutes(minute))
                    .unwrap()));
            }
            seen
        })
    };
    let base = t.host.now();
    let first = poll(a, start.clone(), base);
    let second = poll(b, start, base);
    let first = first.join().unwrap();
    let second = second.join().unwrap();

    let mut all = first.clone();
    all.extend(&second);
    let unique: BTreeSet<TaskId> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        planned.len(),
        "each reminder fired exactly once in total"
    );
    assert_eq!(unique, planned);
    (first, second)
}

#[test]
fn two_hosts_polling_one_file_from_two_threads_see_each_reminder_exactly_once() {
    // Exactly once holds in every round. Whether both hosts get to fire
    // some depends on how the OS schedules the two threads (on a loaded
    // machine one may finish before the other starts), so the race is run
    // until it really happened, a few rounds at most.
    let mut shares = Vec::new();
    for _ in 0..5 {
        let (first, second) = race_two_hosts();
        shares.push((first.len(), second.len()));
        if !first.is_empty() && !second.is_empty() {
            return;
        }
    }
    panic!("the two hosts never polled at the same time in 5 rounds: {shares:?}");
}

#[test]
fn an_assignee_with_an_email_address_gets_a_notification_through_the_hook() {
    let t = TestStore::new(INTERACT);
    let grace = add_customer(&t.host, "AC-000002", "Grace Hopper", "+12125550100", "");
    let case = t
        .host
        .open_case(NewCase::new(grace, "Compiler bug"))
        .unwrap();
    t.host
        .add_task(NewTask {
            customer: None,
            case: Some(case.number),
            kind: TaskKind::Call,
            subject: "Call Grace back".into(),
            due_at: t.host.now() + Duration::minutes(30),
            reminder_minutes: Some(10),
            assignee: Some("Ann.Agent@Example.com".into()),
            custom: Default::default(),
        })
        .unwrap();
    let fired = t
        .host
        .due_reminders(t.host.now() + Duration::minutes(20))
        .unwrap();
    let n = fired[0]
        .reminder
        .notification
        .as_ref()
        .expect("a notification");
    assert_eq!(n.to[0].address, "ann.agent@example.com");
    assert_eq!(n.from.address, "dossier@localhost.localdomain");
    insta::assert_snapshot!(format!("{}\n\n{}", n.subject, n.body), @r"
    Reminder: Call Grace back at 2026-11-23 09:30 UTC

    Task #1: call Call Grace back
    Due: 2026-11-23 09:30 UTC
    Customer: Grace Hopper (AC-000002)
    Case: 1
    ");
}

/// The reminder integration: logs each reminder as a follow-up, maps agent
/// logins to addresses, and fails on tasks whose subject says so.
struct Desk;

impl Handler for Desk {
    fn name(&self) -> &str {
        "desk"
    }

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::TaskReminder(_))
    }

    fn handle(&self, ctx: &mut Ctx, event: &mut Event) -> dossier_host::Result<Outcome> {
        let Event::TaskReminder(r) = event else {
            return Ok(Outcome::Continue);
        };
        if let Some(case) = r.task.case {
            ctx.add_follow_up(NewFollowUp::note(
                case,
                "desk",
                format!("reminder for task {}", r.task.id),
            ))?;
        }
        if r.task.subject.contains("fail") {
            return Err(Error::Refused("the desk is unreachable".into()));
        }
        if let Some(n) = &mut r.notification {
            n.subject = format!("[desk] {}", n.subject);
        }
        Ok(Outcome::Continue)
    }
}

#[test]
fn hook_writes_commit_with_the_claim_and_a_failing_hook_fires_once_without_them() {
    let mut t = TestStore::new(INTERACT);
    let grace = add_customer(&t.host, "AC-000002", "Grace Hopper", "+12125550100", "");
    let case = t
        .host
        .open_case(NewCase::new(grace, "Compiler bug"))
        .unwrap()
        .number;
    let task = |subject: &str| {
        t.host
            .add_task(NewTask {
                customer: None,
                case: Some(case),
                kind: TaskKind::Email,
                subject: subject.into(),
                due_at: t.host.now() + Duration::minutes(30),
                reminder_minutes: Some(30),
                assignee: Some("ann@example.com".into()),
                custom: Default::default(),
            })
            .unwrap()
            .id
    };
    let good = task("Send the patch");
    let bad = task("This one will fail");
    t.set_handlers(vec![Arc::new(Desk)]);

    let fired = t.host.due_reminders(t.host.now()).unwrap();
    assert_eq!(ids(&fired), vec![good, bad]);
    assert_eq!(fired[0].problem, None);
    assert!(
        fired[0]
            .reminder
            .notification
            .as_ref()
            .unwrap()
            .subject
            .starts_with("[desk] Reminder:")
    );
    assert_eq!(fired[1].problem.as_deref(), Some("the desk is unreachable"));
    assert_eq!(fired[1].reminder.notification, None);
    let (notes, total) = t.host.follow_ups(case, Page::default()).unwrap();
    assert_eq!(total, 1, "the failing hook's follow-up was rolled back");
    assert_eq!(notes[0].body, format!("reminder for task {good}"));
    assert!(
        t.host
            .due_reminders(t.host.now() + Duration::hours(1))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_tick_fires_what_is_due_and_says_when_to_wake_up() {
    let t = TestStore::new(INTERACT);
    let grace = add_customer(&t.host, "AC-000002", "Grace Hopper", "+12125550100", "");
    let soon = plan(&t.host, grace, 10, 10, "a");
    plan(&t.host, grace, 60, 10, "b");
    let tick = t.host.tick().unwrap();
    assert_eq!(ids(&tick.fired), vec![soon]);
    assert_eq!(
        tick.next_reminder,
        Some(t.host.now() + Duration::minutes(50))
    );
    t.clock.advance(Duration::minutes(50));
    assert_eq!(t.host.tick().unwrap().fired.len(), 1);
    assert_eq!(t.host.tick().unwrap().next_reminder, None);
}

/// `INTERACT` with the host sending mail through `port` on 127.0.0.1.
pub(crate) fn mail_config(port: u16) -> String {
    format!(
        "{INTERACT}\n[email.smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n\
         hello_name = \"crm.dossier.test\"\ntimeout_ms = 60000\n"
    )
}

#[test]
fn a_reminder_is_mailed_to_the_assignee_once_after_its_claim_commits() {
    let server = SmtpServer::start();
    let config = mail_config(server.port());
    let t = TestStore::new(&config);
    let grace = add_customer(&t.host, "AC-000002", "Grace Hopper", "+12125550100", "");
    plan(&t.host, grace, 30, 15, "Ann@Example.com");

    t.clock.advance(Duration::minutes(14));
    assert!(t.host.tick().unwrap().fired.is_empty());
    assert!(server.messages().is_empty(), "not due yet");

    t.clock.advance(Duration::minutes(1));
    let tick = t.host.tick().unwrap();
    assert_eq!(tick.fired.len(), 1);
    assert_eq!(tick.fired[0].problem, None);
    let queued = tick.fired[0]
        .reminder
        .notification
        .as_ref()
        .expect("a notification");
    let message_id = queued
        .message_id
        .as_deref()
        .expect("queued with a Message-ID");
    assert!(
        message_id.ends_with("@localhost.localdomain"),
        "{message_id}"
    );

    // Sent after the claim committed, by the time the pass returns.
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let mail = &messages[0];
    assert_eq!(mail.helo, "crm.dossier.test");
    assert_eq!(mail.mail_from, "dossier@localhost.localdomain");
    assert_eq!(mail.rcpt_to, vec!["ann@example.com"]);
    let parsed = MessageParser::default().parse(&mail.data).expect("parses");
    assert_eq!(parsed.message_id(), Some(message_id));
    assert_eq!(
        parsed.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated"),
        "a reminder is automatic mail"
    );
    assert_eq!(
        parsed.date().map(|d| d.to_timestamp()),
        Some(t.host.now().timestamp())
    );
    assert_eq!(
        parsed.subject(),
        Some("Reminder: Call back in 30 min at 2026-11-23 09:30 UTC")
    );
    let from = parsed.from().and_then(|a| a.first()).expect("From");
    assert_eq!(from.address(), Some("dossier@localhost.localdomain"));
    assert_eq!(from.name(), Some("Dossier"));
    assert!(
        parsed
            .body_text(0)
            .is_some_and(|b| b.contains("Customer: Grace Hopper (AC-000002)")),
        "{:?}",
        parsed.body_text(0)
    );
    assert!(
        t.host.pending_outbox().unwrap().is_empty(),
        "the delivery is done"
    );

    // Fired and delivered: later passes, by this host or a restarted one,
    // send nothing more.
    t.clock.advance(Duration::hours(2));
    assert!(t.host.tick().unwrap().fired.is_empty());
    let restarted = t.reopen(&config).unwrap();
    let tick = restarted.tick().unwrap();
    assert!(tick.fired.is_empty());
    assert_eq!(tick.delivered, 0);
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn a_reminder_for_a_server_that_is_down_stays_failed_in_the_outbox_until_a_retry_delivers_it_once()
{
    let down = DownPort::new();
    let port = down.port();
    let config = mail_config(port);
    let t = TestStore::new(&config);
    let grace = add_customer(&t.host, "AC-000002", "Grace Hopper", "+12125550100", "");
    plan(&t.host, grace, 30, 15, "ann@example.com");
    t.clock.advance(Duration::minutes(15));

    let tick = t.host.tick().unwrap();
    assert_eq!(
        tick.fired.len(),
        1,
        "the reminder fires even though mail fails"
    );
    assert_eq!(tick.fired[0].problem, None);
    let message_id = tick.fired[0]
        .reminder
        .notification
        .as_ref()
        .unwrap()
        .message_id
        .clone()
        .unwrap();
    let failed = t.host.pending_outbox().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let d = &failed[0];
    assert_eq!(d.handler, "smtp");
    // The outbox entry's id is part of the key, as ARCHITECTURE.md says.
    assert_eq!(d.idempotency_key, format!("email:{}:{message_id}", d.entry));
    assert_eq!(d.state, DeliveryState::Failed);
    assert_eq!(d.attempts, 1);
    assert_eq!(
        d.next_attempt_at,
        Some(t.host.now() + Duration::seconds(1)),
        "retried with backoff"
    );
    let error = d.last_error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("email not sent (temporary failure)") && error.contains("connect"),
        "{error}"
    );

    // Before the backoff ends nothing is tried; after it, the server is
    // still down: a second failure, a longer wait.
    assert_eq!(t.host.deliver_outbox().unwrap(), 0);
    assert_eq!(t.host.pending_outbox().unwrap()[0].attempts, 1);
    t.clock.advance(Duration::seconds(1));
    assert_eq!(t.host.deliver_outbox().unwrap(), 0);
    let again = &t.host.pending_outbox().unwrap()[0];
    assert_eq!(again.attempts, 2);
    assert_eq!(
        again.next_attempt_at,
        Some(t.host.now() + Duration::seconds(2))
    );

    // The server comes up; a restarted host's retry delivers it, once.
    let server = SmtpServer::builder().on(down).start();
    let restarted = t.reopen(&config).unwrap();
    assert_eq!(restarted.retry_outbox(None).unwrap(), 1);
    assert!(restarted.pending_outbox().unwrap().is_empty());
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].rcpt_to, vec!["ann@example.com"]);
    let parsed = MessageParser::default()
        .parse(&messages[0].data)
        .expect("parses");
    assert_eq!(
        parsed.message_id(),
        Some(message_id.as_str()),
        "the retry reuses the Message-ID made at queue time"
    );
    t.clock.advance(Duration::hours(1));
    assert_eq!(restarted.tick().unwrap().delivered, 0);
    assert_eq!(t.host.retry_outbox(None).unwrap(), 0);
    assert_eq!(server.messages().len(), 1);
}

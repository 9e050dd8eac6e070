//! The store's event log through the Host: reminders told to their
//! assignee, CTI pops pushed to one agent's screen, who may read which
//! events, and pruning after `[events] log_hours`.

use chrono::Duration;
use dossier_host::{Error, EventScope, Host};
use dossier_sdk::{Channel, Interaction, NewTask, Permission, TaskKind};

use crate::pop::{INTERACT, add_customer};
use crate::util::TestStore;

fn desk(t: &TestStore) -> Host {
    t.agents(&["ann", "bob"])
}

fn kinds(host: &Host, login: &str) -> Vec<String> {
    host.events_after(EventScope::Agent(login), 0, 100)
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[test]
fn a_reminder_is_told_to_its_assignee_and_a_cti_pop_to_the_agent_named() {
    let t = TestStore::new(INTERACT);
    let root = desk(&t);
    let ada = add_customer(&t.host, "AC-000001", "Ada", "+33123456789", "");
    for assignee in ["ann", "someone@example.com"] {
        t.host
            .add_task(NewTask {
                customer: Some(ada),
                case: None,
                kind: TaskKind::Call,
                subject: "Call Ada back".into(),
                due_at: t.host.now() + Duration::minutes(30),
                reminder_minutes: Some(10),
                assignee: Some(assignee.into()),
                custom: Default::default(),
            })
            .expect("task");
    }
    let fired = t
        .host
        .due_reminders(t.host.now() + Duration::minutes(20))
        .expect("fired");
    assert_eq!(fired.len(), 2);
    // One event: an address is nobody's screen.
    let ann = t
        .host
        .events_after(EventScope::Agent("ann"), 0, 100)
        .expect("ann's");
    assert_eq!(ann.len(), 1, "{ann:?}");
    assert_eq!(ann[0].kind, "reminder");
    let data: serde_json::Value = serde_json::from_str(&ann[0].data).expect("json");
    assert_eq!(data["subject"], "Call Ada back");
    assert_eq!(data["customer"], ada.0);

    let mut call = Interaction::new(Channel::Phone);
    call.caller = Some("+33 1 23 45 67 89".into());
    let pushed = root.push_pop("bob", call.clone()).expect("pushed");
    assert_eq!(kinds(&t.host, "bob"), ["pop"]);
    assert_eq!(kinds(&t.host, "ann"), ["reminder"], "only bob's screen");
    let logged = t
        .host
        .events_after(EventScope::Agent("bob"), 0, 10)
        .expect("bob's");
    assert_eq!(logged[0].seq, pushed.event);
    let data: serde_json::Value = serde_json::from_str(&logged[0].data).expect("json");
    assert_eq!(data["pop"]["target"]["customer"], ada.0, "{data}");

    // The `cti` permission is the admins': ann may not push pops, nor
    // read bob's events.
    let ann = t.host.as_agent("ann").expect("ann");
    assert!(matches!(
        ann.push_pop("bob", call),
        Err(Error::PermissionDenied {
            permission: Permission::Cti,
            ..
        })
    ));
    assert!(matches!(
        ann.events_after(EventScope::Agent("bob"), 0, 10),
        Err(Error::Hidden { .. })
    ));
    assert!(matches!(
        ann.events_after(EventScope::All, 0, 10),
        Err(Error::Hidden { .. })
    ));
    assert_eq!(
        ann.events_after(EventScope::Agent("ann"), 0, 10)
            .expect("her own")
            .len(),
        1
    );
}

#[test]
fn the_log_keeps_events_log_hours_and_never_reuses_a_number() {
    let t = TestStore::new(&format!("{INTERACT}\n[events]\nlog_hours = 2\n"));
    let root = desk(&t);
    let call = Interaction::new(Channel::Phone);
    root.push_pop("ann", call.clone()).expect("pop");
    let first = t.host.event_log_bounds().expect("bounds");
    assert_eq!(first.first, Some(first.last));
    t.clock.advance(Duration::minutes(90));
    assert_eq!(t.host.prune_event_log(t.host.now()).expect("prune"), 0);
    t.clock.advance(Duration::minutes(31));
    assert_eq!(t.host.prune_event_log(t.host.now()).expect("prune"), 1);
    let after = t.host.event_log_bounds().expect("bounds");
    assert_eq!((after.first, after.last), (None, first.last));
    let next = root.push_pop("ann", call).expect("pop");
    assert_eq!(next.event, first.last + 1);
    // A tick prunes too.
    t.clock.advance(Duration::hours(3));
    t.host.tick().expect("tick");
    assert_eq!(t.host.event_log_bounds().expect("bounds").first, None);
    let Err(refused) = t.reopen("[events]\nlog_hours = 0\n") else {
        panic!("log_hours = 0 was accepted");
    };
    assert!(
        refused
            .to_string()
            .contains("log_hours must be from 1 to 720"),
        "{refused}"
    );
}

//! The store's guarantees: append-only follow-ups, sequential case numbers,
//! rollback, concurrent writers, reopening, timestamps kept to the microsecond.

use chrono::{Duration, Timelike};
use dossier_host::{Clock, Error, Page};
use dossier_sdk::{
    CaseNumber, Customer, FollowUpKind, NewCase, NewCustomer, NewFollowUp, NewTask, TaskKind,
    TaskStatus,
};

use crate::util::{FIELDS, TestStore};

#[test]
fn every_record_kind_reads_back_equal_when_the_clock_has_nanoseconds() {
    let t = TestStore::new(FIELDS);
    assert_eq!(t.clock.now().nanosecond(), 123_456_789, "the test clock");
    // Truncated, not rounded: the store keeps microseconds.
    assert_eq!(t.host.now().nanosecond(), 123_456_000);

    let customer = t
        .host
        .create_customer(NewCustomer {
            account: "AC-1".into(),
            name: "Ada".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(customer.created_at, t.host.now());
    assert_eq!(t.host.customer(customer.id).unwrap(), customer);
    let case = t
        .host
        .open_case(NewCase::new(customer.id, "Clock"))
        .unwrap();
    assert_eq!(t.host.case(case.number).unwrap(), case);
    let follow_up = t
        .host
        .add_follow_up(NewFollowUp::note(case.number, "ann", "noted"))
        .unwrap();
    assert_eq!(t.host.follow_up(follow_up.id).unwrap(), follow_up);
    let task = t
        .host
        .add_task(NewTask {
            customer: None,
            case: Some(case.number),
            kind: TaskKind::Call,
            subject: "Call back".into(),
            due_at: t.host.now() + Duration::hours(2),
            reminder_minutes: Some(10),
            assignee: None,
            custom: Default::default(),
        })
        .unwrap();
    assert_eq!(t.host.task(task.id).unwrap(), task);

    // Updates stamp `updated_at` from the clock too, now at another
    // sub-microsecond offset.
    t.clock.advance(Duration::nanoseconds(1_000_000_333));
    let customer = t
        .host
        .update_customer(Customer {
            name: "Ada Lovelace".into(),
            ..customer
        })
        .unwrap();
    assert!(customer.updated_at > customer.created_at);
    assert_eq!(t.host.customer(customer.id).unwrap(), customer);
    let case = t.host.close_case(case.number).unwrap();
    assert_eq!(t.host.case(case.number).unwrap(), case);
    let task = t.host.finish_task(task.id, TaskStatus::Done).unwrap();
    assert_eq!(t.host.task(task.id).unwrap(), task);
}

#[test]
fn follow_ups_cannot_be_updated_or_deleted_even_with_raw_sql() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let case = t.host.open_case(NewCase::new(c, "Broken")).unwrap();
    let f = t
        .host
        .add_follow_up(NewFollowUp::note(case.number, "ann", "first words"))
        .unwrap();

    let raw = rusqlite::Connection::open(t.db_path()).unwrap();
    let update = raw
        .execute(
            "UPDATE follow_ups SET body = 'rewritten' WHERE id = ?1",
            [f.id.0],
        )
        .unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    let delete = raw
        .execute("DELETE FROM follow_ups WHERE id = ?1", [f.id.0])
        .unwrap_err();
    assert!(delete.to_string().contains("append-only"), "{delete}");
    assert_eq!(t.host.follow_up(f.id).unwrap().body, "first words");
}

#[test]
fn follow_ups_list_newest_first_with_pagination() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let case = t.host.open_case(NewCase::new(c, "Many notes")).unwrap();
    for i in 1..=7 {
        t.clock.advance(chrono::Duration::minutes(1));
        let mut f = NewFollowUp::note(case.number, "ann", format!("note {i}"));
        if i == 7 {
            f.kind = FollowUpKind::EmailIn;
        }
        t.host.add_follow_up(f).unwrap();
    }
    let (first, total) = t.host.follow_ups(case.number, Page::number(1, 3)).unwrap();
    let (third, _) = t.host.follow_ups(case.number, Page::number(3, 3)).unwrap();
    assert_eq!(total, 7);
    let bodies = |v: &[dossier_sdk::FollowUp]| v.iter().map(|f| f.body.clone()).collect::<Vec<_>>();
    assert_eq!(bodies(&first), ["note 7", "note 6", "note 5"]);
    assert_eq!(bodies(&third), ["note 1"]);
    assert!(first[0].created_at > first[1].created_at);
    assert!(matches!(
        t.host.follow_ups(CaseNumber(99), Page::default()),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn case_numbers_are_sequential_and_a_failed_write_leaves_no_gap() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let one = t.host.open_case(NewCase::new(c, "one")).unwrap();
    let mut bad = NewCase::new(c, "two");
    bad.severity = Some("apocalyptic".into());
    assert!(t.host.open_case(bad).is_err());
    let two = t.host.open_case(NewCase::new(c, "two")).unwrap();
    assert_eq!((one.number.0, two.number.0), (1, 2));
}

#[test]
fn a_failed_transaction_rolls_back_every_write_in_it() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let result: dossier_host::Result<()> = t.host.transaction("test", |h| {
        let case = h.open_case(NewCase::new(c, "will vanish"))?;
        h.add_follow_up(NewFollowUp::note(case.number, "ann", "also vanishes"))?;
        h.add_follow_up(NewFollowUp::note(CaseNumber(404), "ann", "fails"))?;
        Ok(())
    });
    assert!(
        matches!(result, Err(Error::Validation { .. })),
        "{result:?}"
    );
    assert!(t.host.case(CaseNumber(1)).is_err());
    let raw = rusqlite::Connection::open(t.db_path()).unwrap();
    let n: i64 = raw
        .query_row("SELECT count(*) FROM follow_ups", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn closed_cases_cannot_be_assigned_but_open_ones_can() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let case = t.host.open_case(NewCase::new(c, "x")).unwrap();
    let case = t
        .host
        .assign_case(case.number, Some("ann".into()), None)
        .unwrap();
    assert_eq!(case.owner.as_deref(), Some("ann"));
    t.host.close_case(case.number).unwrap();
    let err = t
        .host
        .assign_case(case.number, Some("bob".into()), None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "case 1 is closed: only open cases can be assigned"
    );
    assert_eq!(
        t.host.case(case.number).unwrap().owner.as_deref(),
        Some("ann")
    );
}

#[test]
fn writers_on_many_threads_get_unique_ids_and_readers_see_committed_rows() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "+33123456789");
    let threads: Vec<_> = (0..4)
        .map(|n| {
            let host = t.host.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        host.open_case(NewCase::new(c, format!("thread {n} case {i}")))
                            .unwrap()
                            .number
                            .0
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut numbers: Vec<i64> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=100).collect::<Vec<_>>());
    assert_eq!(t.host.cases_of(c, true).unwrap().len(), 100);
}

#[test]
fn data_survives_reopening_the_file() {
    let t = TestStore::new(FIELDS);
    let c = t.customer("AC-1", "01 23 45 67 89");
    let case = t.host.open_case(NewCase::new(c, "persist me")).unwrap();
    drop(t.host.clone());
    let again = t.reopen(FIELDS).unwrap();
    assert_eq!(again.case(case.number).unwrap().subject, "persist me");
    assert_eq!(again.customer(c).unwrap().phones[0].number, "+33123456789");
}

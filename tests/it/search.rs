//! Full-text search: what it finds, how it ranks, what it never shows.

use dossier_host::SearchFilter;
use dossier_sdk::{Email, NewAgent, NewCase, NewCustomer, NewFollowUp, Role, Visibility};

use crate::util::{FIELDS, TestStore};

#[test]
fn search_finds_cases_follow_ups_and_customers_and_respects_visibility() {
    let t = TestStore::new(FIELDS);
    let ada = t
        .host
        .create_customer(NewCustomer {
            account: "AC-7".into(),
            name: "Ada Lovelace".into(),
            emails: vec![Email {
                label: "work".into(),
                address: "ada@engine.example".into(),
            }],
            ..Default::default()
        })
        .expect("customer");
    let printer = t
        .host
        .open_case(NewCase::new(ada.id, "Printer jams on page two"))
        .expect("case");
    t.host
        .add_follow_up(NewFollowUp::note(
            printer.number,
            "ann",
            "The printer jams again; the café's fuser is worn.",
        ))
        .expect("note");
    let secret = t
        .host
        .open_case(NewCase {
            visibility: Visibility::Private,
            owner: Some("root".into()),
            ..NewCase::new(ada.id, "Printer invoice dispute")
        })
        .expect("private case");

    let kinds = |query: &str, filter: &SearchFilter| -> Vec<(String, i64)> {
        t.host
            .search(query, filter, 20)
            .expect("search")
            .into_iter()
            .map(|h| (h.kind, h.id))
            .collect()
    };
    let all = SearchFilter::default();
    // Every word must appear; case and accents do not matter.
    assert_eq!(kinds("JAMS cafe", &all), vec![("follow_up".into(), 1)]);
    assert_eq!(kinds("lovelace", &all), vec![("customer".into(), ada.id.0)]);
    assert_eq!(
        kinds("ada@engine.example", &all),
        vec![("customer".into(), ada.id.0)]
    );
    let printers = kinds("printer", &all);
    assert_eq!(printers.len(), 3, "{printers:?}");
    // Snippets mark the terms.
    let hit = &t.host.search("fuser", &all, 5).expect("search")[0];
    assert!(hit.snippet.contains("[fuser]"), "{}", hit.snippet);
    // Text that looks like FTS5 syntax is just text.
    assert!(
        t.host
            .search("\"unbalanced OR NEAR(", &all, 5)
            .expect("no syntax error")
            .is_empty()
    );
    assert!(t.host.search("   ", &all, 5).is_err());

    // Filters narrow to cases.
    let closed = SearchFilter {
        status: Some("closed".into()),
        ..Default::default()
    };
    assert!(kinds("printer", &closed).is_empty());
    let roots = SearchFilter {
        owner: Some("root".into()),
        ..Default::default()
    };
    assert_eq!(
        kinds("printer", &roots),
        vec![("case".into(), secret.number.0)]
    );

    // An agent never finds a private case they may not see, nor its notes.
    t.host
        .add_agent(NewAgent {
            login: "bob".into(),
            role: Role::Agent,
            ..Default::default()
        })
        .expect("bob");
    let bob = t.host.as_agent("bob").expect("bob");
    let seen: Vec<i64> = bob
        .search("printer invoice", &all, 20)
        .expect("search")
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert!(seen.is_empty(), "{seen:?}");
    assert_eq!(bob.search("printer", &all, 20).expect("search").len(), 2);

    // The index follows edits in the same transaction.
    let mut renamed = t.host.case(printer.number).expect("case");
    renamed.subject = "Scanner noise".into();
    t.host.update_case(renamed).expect("update");
    assert_eq!(
        kinds("scanner", &all),
        vec![("case".into(), printer.number.0)]
    );
    assert_eq!(kinds("printer", &all).len(), 2);
}

#[test]
fn a_customer_edited_in_one_write_is_found_by_what_it_holds_now_and_never_by_old_addresses() {
    let t = TestStore::new(FIELDS);
    let email = |label: &str, address: &str| Email {
        label: label.into(),
        address: address.into(),
    };
    let ada = t
        .host
        .create_customer(NewCustomer {
            account: "AC-7".into(),
            name: "Ada Lovelace".into(),
            emails: vec![
                email("work", "ada@engine.example"),
                email("home", "ada@home.example"),
                email("old", "countess@old.example"),
            ],
            ..Default::default()
        })
        .expect("customer");
    let grace = t
        .host
        .create_customer(NewCustomer {
            account: "AC-8".into(),
            name: "Grace Hopper".into(),
            emails: vec![email("work", "grace@navy.example")],
            ..Default::default()
        })
        .expect("customer");
    let customers = |query: &str| -> Vec<i64> {
        t.host
            .search(query, &SearchFilter::default(), 20)
            .expect("search")
            .into_iter()
            .filter(|h| h.kind == "customer")
            .map(|h| h.id)
            .collect()
    };
    for address in [
        "ada@engine.example",
        "ada@home.example",
        "countess@old.example",
    ] {
        assert_eq!(customers(address), vec![ada.id.0], "{address}");
    }
    assert_eq!(customers("grace@navy.example"), vec![grace.id.0]);

    // One address changed, one removed, in one update.
    let mut edited = t.host.customer(ada.id).expect("ada");
    edited.emails[1].address = "ada@analytical.example".into();
    edited.emails.remove(2);
    t.host.update_customer(edited).expect("update");
    assert_eq!(customers("ada@analytical.example"), vec![ada.id.0]);
    assert_eq!(customers("ada@engine.example"), vec![ada.id.0]);
    assert!(customers("ada@home.example").is_empty(), "a stale address");
    assert!(
        customers("countess@old.example").is_empty(),
        "a removed address"
    );
    // The other customer's row is untouched; each customer has one row.
    assert_eq!(customers("grace@navy.example"), vec![grace.id.0]);
    assert_eq!(customers("lovelace"), vec![ada.id.0]);
}

#[test]
fn a_search_inside_a_transaction_sees_its_writes_and_a_rollback_leaves_nothing() {
    let t = TestStore::new(FIELDS);
    let found = t
        .host
        .transaction("test", |host| {
            let c = host.create_customer(NewCustomer {
                account: "AC-9".into(),
                name: "Edsger Dijkstra".into(),
                ..Default::default()
            })?;
            host.open_case(NewCase::new(c.id, "Goto considered harmful"))?;
            let hits = host.search("dijkstra", &SearchFilter::default(), 5)?;
            let cases = host.search("goto harmful", &SearchFilter::default(), 5)?;
            // Then the write fails: nothing of it may stay in the index.
            if hits.len() == 1 && cases.len() == 1 {
                Err(dossier_host::Error::Refused("roll back".into()))
            } else {
                Ok((hits.len(), cases.len()))
            }
        })
        .expect_err("rolled back");
    assert!(found.to_string().contains("roll back"), "{found}");
    assert!(
        t.host
            .search("dijkstra", &SearchFilter::default(), 5)
            .expect("search")
            .is_empty()
    );
    assert!(
        t.host
            .search("goto", &SearchFilter::default(), 5)
            .expect("search")
            .is_empty()
    );
}

#[test]
fn a_case_moved_to_another_customer_takes_its_follow_ups_along_in_the_index() {
    let t = TestStore::new(FIELDS);
    let new = |account: &str, name: &str| NewCustomer {
        account: account.into(),
        name: name.into(),
        ..Default::default()
    };
    let ada = t.host.create_customer(new("AC-1", "Ada")).expect("ada");
    let grace = t.host.create_customer(new("AC-2", "Grace")).expect("grace");
    let case = t
        .host
        .open_case(NewCase::new(ada.id, "Printer jams"))
        .expect("case");
    t.host
        .add_follow_up(NewFollowUp::note(case.number, "ann", "The fuser is worn"))
        .expect("note");
    let of = |customer: dossier_sdk::CustomerId, query: &str| -> Vec<String> {
        let filter = SearchFilter {
            customer: Some(customer),
            ..Default::default()
        };
        t.host
            .search(query, &filter, 20)
            .expect("search")
            .into_iter()
            .map(|h| h.kind)
            .collect()
    };
    assert_eq!(of(ada.id, "fuser"), vec!["follow_up".to_owned()]);
    let mut moved = t.host.case(case.number).expect("case");
    moved.customer = grace.id;
    t.host.update_case(moved).expect("move");
    assert!(of(ada.id, "fuser").is_empty());
    assert!(of(ada.id, "printer").is_empty());
    assert_eq!(of(grace.id, "fuser"), vec!["follow_up".to_owned()]);
    assert_eq!(of(grace.id, "printer"), vec!["case".to_owned()]);
}

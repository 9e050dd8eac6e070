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

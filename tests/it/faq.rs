//! The FAQ base and signatures through the `Host`, on a real store file:
//! managing entries (and who may), search ranking, `/shortcut` expansion in
//! text and link mode, a script reading an entry, and signatures (default
//! and named, the group's as fallback, inserted once).

use dossier_host::{Config, Error, Host, insert_signature_once};
use dossier_sdk::{
    Audience, CaseNumber, Cause, ExpandMode, FaqChange, Mailbox, NewAgent, NewFaqEntry,
    Notification, Permission, Role, SignatureOwner,
};

use crate::util::TestStore;

fn entry(shortcut: &str, title: &str, body: &str, link: Option<&str>) -> NewFaqEntry {
    NewFaqEntry {
        shortcut: shortcut.into(),
        title: title.into(),
        body: body.into(),
        link: link.map(str::to_owned),
        html: None,
    }
}

fn agent(host: &Host, login: &str, role: Role, groups: &[&str]) {
    host.add_agent(NewAgent {
        login: login.into(),
        role,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        ..Default::default()
    })
    .unwrap();
}

/// A store with the admin `root`, the supervisor `sue` and the plain agent
/// `ann` (in group `billing`).
fn store() -> TestStore {
    let t = TestStore::new("");
    t.host.add_group("billing", None).unwrap();
    agent(&t.host, "root", Role::Admin, &[]);
    agent(&t.host, "sue", Role::Supervisor, &[]);
    agent(&t.host, "ann", Role::Agent, &["billing"]);
    t
}

#[test]
fn entries_are_added_listed_updated_and_removed() {
    let t = store();
    let sue = t.host.as_agent("sue").unwrap();
    let added = sue
        .faq_add(entry(
            "/Greeting",
            "  Greeting ",
            "Hello, thank you for writing to us.",
            None,
        ))
        .unwrap();
    assert_eq!(added.shortcut, "Greeting", "the `/` is dropped");
    assert_eq!(added.title, "Greeting");
    sue.faq_add(entry(
        "refund",
        "Refunds",
        "Refunds take 5 days.",
        Some("https://help.example.com/refunds"),
    ))
    .unwrap();

    // Shortcuts are unique ignoring case.
    let err = sue
        .faq_add(entry("GREETING", "Again", "Hi", None))
        .unwrap_err();
    assert!(
        err.to_string().contains("already an FAQ entry `GREETING`"),
        "{err}"
    );
    // Bad input is named.
    for (bad, what) in [
        (entry("two words", "T", "B", None), "shortcut"),
        (entry("x", " ", "B", None), "title"),
        (entry("x", "T", "\n", None), "body"),
        (entry("x", "T", "B", Some("ftp://example.com/f")), "link"),
    ] {
        let err = sue.faq_add(bad).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { what: w, .. } if w == what),
            "{err}"
        );
    }

    let ann = t.host.as_agent("ann").unwrap();
    let listed: Vec<String> = ann
        .faq_list()
        .unwrap()
        .into_iter()
        .map(|e| e.shortcut)
        .collect();
    assert_eq!(listed, ["Greeting", "refund"]);
    assert_eq!(ann.faq_entry("greeting").unwrap().title, "Greeting");

    t.clock.advance(chrono::Duration::minutes(5));
    let changed = sue
        .faq_update(
            "refund",
            FaqChange {
                body: Some("Refunds take 3 days.".into()),
                link: Some(None),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(changed.body, "Refunds take 3 days.");
    assert_eq!(changed.link, None);
    assert_eq!(changed.title, "Refunds", "what was not changed stays");
    assert!(changed.updated_at > changed.created_at);
    assert_eq!(
        ann.faq_entry("refund").unwrap(),
        changed,
        "read back as written"
    );

    sue.faq_remove("/refund").unwrap();
    let err = ann.faq_entry("refund").unwrap_err();
    assert_eq!(err.to_string(), "there is no FAQ entry `refund`");
    assert!(
        ann.faq_search("refunds", 10).unwrap().is_empty(),
        "the index follows"
    );
}

#[test]
fn a_plain_agent_may_read_but_not_manage_entries() {
    let t = store();
    t.host
        .faq_add(entry("greeting", "Greeting", "Hello.", None))
        .unwrap();
    let ann = t.host.as_agent("ann").unwrap();
    let refused = |e: Error| match e {
        Error::PermissionDenied {
            login, permission, ..
        } => assert_eq!((login.as_str(), permission), ("ann", Permission::ManageFaq)),
        other => panic!("expected a refusal, got {other}"),
    };
    refused(
        ann.faq_add(entry("bye", "Bye", "Goodbye.", None))
            .unwrap_err(),
    );
    refused(
        ann.faq_update(
            "greeting",
            FaqChange {
                title: Some("Mine".into()),
                ..Default::default()
            },
        )
        .unwrap_err(),
    );
    refused(ann.faq_remove("greeting").unwrap_err());
    let err = ann
        .faq_add(entry("bye", "Bye", "Goodbye.", None))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "agent ann may not add FAQ entries: the `manage_faq` permission is missing"
    );
    assert_eq!(ann.faq_list().unwrap().len(), 1, "nothing changed");
    assert_eq!(ann.faq_search("hello", 5).unwrap().len(), 1);
}

#[test]
fn search_ranks_title_matches_first_and_reads_no_syntax() {
    let t = store();
    let h = &t.host;
    h.faq_add(entry(
        "shipping",
        "Shipping times",
        "Parcels leave our warehouse within two days; a refund is possible before that.",
        None,
    ))
    .unwrap();
    h.faq_add(entry(
        "refund",
        "Refund policy",
        "A refund is paid back to the card within 5 days.",
        None,
    ))
    .unwrap();
    h.faq_add(entry("hours", "Opening hours", "Monday to Friday.", None))
        .unwrap();

    let found: Vec<String> = h
        .faq_search("refund", 10)
        .unwrap()
        .into_iter()
        .map(|e| e.shortcut)
        .collect();
    assert_eq!(found, ["refund", "shipping"], "the title match ranks first");
    // Every word must appear; diacritics fold.
    let both: Vec<String> = h
        .faq_search("réfund CARD", 10)
        .unwrap()
        .into_iter()
        .map(|e| e.shortcut)
        .collect();
    assert_eq!(both, ["refund"]);
    // FTS5 operators are words like any other.
    assert!(h.faq_search("refund OR hours", 10).unwrap().is_empty());
    assert!(h.faq_search("\"refund* NEAR(", 10).unwrap().is_empty());
    assert_eq!(h.faq_search("refund", 1).unwrap().len(), 1);
    assert!(h.faq_search("  ", 10).is_err());
}

#[test]
fn shortcuts_expand_to_text_or_link_and_unknown_words_stay() {
    let t = store();
    t.host
        .faq_add(entry(
            "refund",
            "Refunds",
            "Refunds take 5 days.",
            Some("https://help.example.com/refunds"),
        ))
        .unwrap();
    t.host
        .faq_add(entry(
            "thanks",
            "Thanks",
            "Thank you for your patience.",
            None,
        ))
        .unwrap();
    let ann = t.host.as_agent("ann").unwrap();
    let draft = "Hello,\n/refund\nSee /etc/passwd, /unknown and a/refund.\n/THANKS!";
    assert_eq!(
        ann.expand_faq(draft, ExpandMode::Text).unwrap(),
        "Hello,\nRefunds take 5 days.\nSee /etc/passwd, /unknown and a/refund.\nThank you for your patience.!"
    );
    assert_eq!(
        ann.expand_faq(draft, ExpandMode::Link).unwrap(),
        "Hello,\nhttps://help.example.com/refunds\nSee /etc/passwd, /unknown and a/refund.\nThank you for your patience.!",
        "an entry without a link gives its text"
    );
    assert_eq!(
        ann.expand_faq("no shortcut here", ExpandMode::Text)
            .unwrap(),
        "no shortcut here"
    );
}

const FAQ_SCRIPT: &str = r#"
// Every notice starts with the greeting of the FAQ base; a missing entry
// is (), and searching finds entries by their words.
fn on_notification(n) {
    let greeting = faq("/greeting");
    let none = faq("nope");
    let found = faq_search("patience");
    n.body = greeting.body + "\n\n" + n.body + "\n(" + greeting.title + ", "
        + type_of(none) + ", " + found.len() + " " + found[0].shortcut + ", link "
        + type_of(greeting.link) + ")";
}
"#;

#[test]
fn a_script_reads_the_faq_base() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    std::fs::write(dir.path().join("scripts/faq.rhai"), FAQ_SCRIPT).unwrap();
    let path = dir.path().join("dossier.toml");
    std::fs::write(&path, "").unwrap();
    let host = Host::builder(Config::load(&path).unwrap())
        .clock(std::sync::Arc::new(crate::util::clock()))
        .create_if_missing()
        .open()
        .unwrap();
    host.faq_add(entry("greeting", "Greeting", "Dear customer,", None))
        .unwrap();
    host.faq_add(entry(
        "thanks",
        "Thanks",
        "Thank you for your patience.",
        None,
    ))
    .unwrap();
    let mailbox = |a: &str| Mailbox {
        name: None,
        address: a.into(),
    };
    let sent = host
        .notify(Notification {
            case_number: Some(CaseNumber(1)),
            audience: Audience::Customer,
            cause: Cause::Manual,
            from: mailbox("support@example.com"),
            to: vec![mailbox("grace@example.com")],
            cc: Vec::new(),
            bcc: Vec::new(),
            message_id: None,
            in_reply_to: None,
            references: Vec::new(),
            thread_token: None,
            attachments: Vec::new(),
            subject: "Your case".into(),
            body: "We fixed it.".into(),
            html: None,
            signature: None,
            review: false,
        })
        .unwrap();
    assert_eq!(
        sent.body,
        "Dear customer,\n\nWe fixed it.\n(Greeting, (), 1 thanks, link ())"
    );
}

#[test]
fn signatures_default_named_and_the_groups_as_fallback() {
    let t = store();
    let ann = t.host.as_agent("ann").unwrap();
    let me = SignatureOwner::Agent("ann".into());
    let billing = SignatureOwner::Group("billing".into());

    // Nothing yet: no signature, not an error.
    assert_eq!(
        ann.signature_for("ann", None, Some("billing")).unwrap(),
        None
    );

    // Managing a group's needs manage_agents; the admin adds it.
    let err = ann
        .add_signature(&billing, "team", "The Billing Team", None, false)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::PermissionDenied {
                permission: Permission::ManageAgents,
                ..
            }
        ),
        "{err}"
    );
    let root = t.host.as_agent("root").unwrap();
    root.add_signature(
        &billing,
        "team",
        "The Billing Team",
        Some("<p>The <b>Billing</b> Team<script>x()</script></p>"),
        false,
    )
    .unwrap();
    root.add_signature(&billing, "formal", "Billing Department", None, false)
        .unwrap();

    // With no signature of her own, Ann signs with the group's default (its first).
    let chosen = ann
        .signature_for("ann", None, Some("billing"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (chosen.owner.clone(), chosen.name.as_str()),
        (billing.clone(), "team")
    );
    assert_eq!(
        chosen.html.as_deref(),
        Some("<p>The <b>Billing</b> Team</p>"),
        "HTML is sanitized"
    );
    assert_eq!(ann.signature_for("ann", None, None).unwrap(), None);

    // Her own: the first is her default; a later one with --default takes over.
    ann.add_signature(&me, "short", "Ann", None, false).unwrap();
    ann.add_signature(&me, "full", "Ann Smith\nBilling", None, true)
        .unwrap();
    let defaults: Vec<(String, bool)> = ann
        .signatures(&me)
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.is_default))
        .collect();
    assert_eq!(
        defaults,
        [("full".to_owned(), true), ("short".to_owned(), false)]
    );
    assert_eq!(
        ann.signature_for("ann", None, Some("billing"))
            .unwrap()
            .unwrap()
            .name,
        "full"
    );
    ann.set_default_signature(&me, "short").unwrap();
    assert_eq!(
        ann.signature_for("ann", None, Some("billing"))
            .unwrap()
            .unwrap()
            .text,
        "Ann"
    );

    // By name: hers first, then the group's; a name neither has is an error.
    let named = ann
        .signature_for("ann", Some("formal"), Some("billing"))
        .unwrap()
        .unwrap();
    assert_eq!(named.text, "Billing Department");
    assert_eq!(
        ann.signature_for("ann", Some("full"), Some("billing"))
            .unwrap()
            .unwrap()
            .owner,
        me
    );
    let err = ann
        .signature_for("ann", Some("nope"), Some("billing"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "neither agent ann nor group billing has a signature `nope`"
    );

    // Another agent's are not hers to change; names are unique per owner.
    let sue = SignatureOwner::Agent("sue".into());
    assert!(matches!(
        ann.add_signature(&sue, "x", "Sue", None, false)
            .unwrap_err(),
        Error::PermissionDenied { .. }
    ));
    let err = ann
        .add_signature(&me, "short", "Again", None, false)
        .unwrap_err();
    assert_eq!(err.to_string(), "agent ann already has a signature `short`");
    assert!(
        ann.signatures(&SignatureOwner::Group("nobody".into()))
            .unwrap_err()
            .to_string()
            .contains("there is no group nobody")
    );

    ann.remove_signature(&me, "short").unwrap();
    assert_eq!(
        ann.signature_for("ann", None, Some("billing"))
            .unwrap()
            .unwrap()
            .name,
        "team",
        "without a default of her own, the group's again"
    );
}

#[test]
fn the_chosen_signature_is_inserted_once() {
    let t = store();
    let ann = t.host.as_agent("ann").unwrap();
    ann.add_signature(
        &SignatureOwner::Agent("ann".into()),
        "full",
        "Ann Smith\nBilling",
        None,
        false,
    )
    .unwrap();
    let signature = ann.signature_for("ann", None, None).unwrap().unwrap();
    let once = insert_signature_once("Hello Grace,\nit is fixed.\n", &signature.text);
    assert_eq!(
        once,
        "Hello Grace,\nit is fixed.\n\n-- \nAnn Smith\nBilling"
    );
    let twice = insert_signature_once(&once, &signature.text);
    assert_eq!(twice.matches("Ann Smith").count(), 1);
}

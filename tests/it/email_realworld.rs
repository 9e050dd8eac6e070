//! Real-world mail through the Host on a real file (issue 28): mail with
//! no text, senders that are no customer address, names with control
//! characters, and held mail: nothing that fails between the parse and the
//! commit loses an inbound email.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use dossier_host::{Ctx, Handler, Host};
use dossier_sdk::{
    Cause, Event, FollowUp, FollowUpKind, HeldState, Ingested, NewCustomer, Notification, Outcome,
};

use crate::util::{FIELDS, TestStore};

const CONFIG: &str = r#"
[email]
addresses = ["support@dossier.test"]
acknowledge = true
"#;

/// A message of the email corpus (`host/email/tests/corpus/email`).
fn corpus(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../host/email/tests/corpus/email")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn mail(from: &str, subject: &str, message_id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: Support <support@dossier.test>\r\nSubject: {subject}\r\n\
         Message-ID: <{message_id}>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Every notification the hooks saw.
#[derive(Default)]
struct Seen(Mutex<Vec<Notification>>);

impl Seen {
    fn all(&self) -> Vec<Notification> {
        self.0.lock().expect("lock").clone()
    }
}

impl Handler for Seen {
    fn name(&self) -> &str {
        "seen"
    }
    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::Notification(_))
    }
    fn handle(&self, _ctx: &mut Ctx, event: &mut Event) -> dossier_host::Result<Outcome> {
        if let Event::Notification(n) = event {
            self.0.lock().expect("lock").push(n.clone());
        }
        Ok(Outcome::Continue)
    }
}

/// A store whose config is `extra` and `CONFIG`, with `script` (if any) as
/// `scripts/rules.rhai`, and `seen` recording notifications.
fn store_with(extra: &str, script: Option<&str>) -> (TestStore, Arc<Seen>) {
    let mut t = TestStore::new(&format!("{FIELDS}\n{CONFIG}"));
    let scripts = match script {
        Some(source) => {
            std::fs::create_dir_all(t.dir.path().join("scripts")).expect("scripts");
            std::fs::write(t.dir.path().join("scripts/rules.rhai"), source).expect("script");
            "[scripts]\nfiles = [\"rules.rhai\"]\n"
        }
        None => "",
    };
    let config = format!("{scripts}{FIELDS}\n{CONFIG}{extra}");
    t.host = t.reopen(&config).expect("reopen");
    let seen = Arc::new(Seen::default());
    t.set_handlers(vec![seen.clone()]);
    (t, seen)
}

/// The case, the follow-up and whether it opened the case, of a stored email.
fn stored_in(host: &Host, outcome: Ingested) -> (dossier_sdk::CaseNumber, FollowUp, bool) {
    match outcome {
        Ingested::Stored {
            case_number,
            follow_up,
            new_case,
            ..
        } => (
            case_number,
            host.follow_up(follow_up).expect("follow-up"),
            new_case,
        ),
        other => panic!("expected a stored email, got {other:?}"),
    }
}

fn case_follow_ups(host: &Host, case: dossier_sdk::CaseNumber) -> Vec<FollowUp> {
    host.follow_ups(
        case,
        dossier_host::Page {
            offset: 0,
            limit: 100,
        },
    )
    .expect("follow-ups")
    .0
}

#[test]
fn mail_without_text_is_stored_with_its_subject_and_attachments_and_shown_as_no_text() {
    let (t, _) = store_with("", None);
    for (name, subject, attachments) in [
        ("no-text-attachment-only.eml", "Scanned document", 1),
        ("no-text-image-only-html.eml", "See the screenshot", 1),
        (
            "no-text-subject-only.eml",
            "Please call me back at +48 22 123 45 67",
            0,
        ),
        ("no-text-whitespace-body.eml", "Rechnung", 0),
        (
            "no-text-bounce-report.eml",
            "Delivery Status Notification (Failure)",
            2,
        ),
    ] {
        let outcome = t.host.ingest_email(&corpus(name)).expect(name);
        let (case, f, new_case) = stored_in(&t.host, outcome);
        assert!(new_case, "{name}");
        assert_eq!(f.kind, FollowUpKind::EmailIn, "{name}");
        assert!(f.body.trim().is_empty(), "{name}: {:?}", f.body);
        assert_eq!(f.shown_text(), "(no text)", "{name}");
        assert_eq!(f.attachments.len(), attachments, "{name}");
        assert!(
            f.attachments.iter().all(|a| a.blob.is_some()),
            "{name}: every attachment kept"
        );
        assert_eq!(t.host.case(case).expect("case").subject, subject, "{name}");
    }
}

#[test]
fn a_sender_that_is_no_customer_address_is_kept_raw_on_a_customer_without_email() {
    let (t, seen) = store_with("", None);
    for (name, raw) in [
        ("sender-localhost.eml", "root@localhost"),
        ("sender-no-domain.eml", "moderator"),
        ("sender-quoted-address.eml", "x@y"),
    ] {
        let outcome = t.host.ingest_email(&corpus(name)).expect(name);
        let (case, f, _) = stored_in(&t.host, outcome);
        let headers = f.email.expect("headers");
        assert_eq!(headers.from.address, raw, "{name}");
        assert!(
            headers
                .notes
                .iter()
                .any(|n| n.contains(&format!("the sender `{raw}` is not a customer address"))),
            "{name}: {:?}",
            headers.notes
        );
        let customer = t
            .host
            .customer(t.host.case(case).expect("case").customer)
            .expect("customer");
        assert!(customer.emails.is_empty(), "{name}: {:?}", customer.emails);
    }
    // Nothing can be sent to such an address: no acknowledgement.
    assert!(seen.all().is_empty(), "{:?}", seen.all());

    // The same raw sender again: the same customer, by its account.
    let first = t.host.case(dossier_sdk::CaseNumber(1)).expect("case 1");
    let again = t
        .host
        .ingest_email(&mail("root@localhost", "Cron again", "cron-2@x", "full"))
        .expect("again");
    let (case, _, _) = stored_in(&t.host, again);
    assert_eq!(t.host.case(case).expect("case").customer, first.customer);
}

#[test]
fn a_catch_all_account_takes_mail_from_senders_that_are_no_address() {
    let (t, _) = store_with("catch_all_account = \"UNKNOWN-SENDERS\"\n", None);
    let catch_all = t
        .host
        .create_customer(NewCustomer {
            account: "UNKNOWN-SENDERS".into(),
            name: "Unknown senders".into(),
            ..Default::default()
        })
        .expect("catch-all")
        .id;
    let outcome = t
        .host
        .ingest_email(&corpus("sender-no-domain.eml"))
        .expect("ingest");
    let (case, _, _) = stored_in(&t.host, outcome);
    assert_eq!(t.host.case(case).expect("case").customer, catch_all);
}

#[test]
fn a_control_character_in_a_name_never_stops_the_acknowledgement() {
    let (t, seen) = store_with("", None);
    let outcome = t
        .host
        .ingest_email(&corpus("name-control-characters.eml"))
        .expect("ingest");
    let (case, f, _) = stored_in(&t.host, outcome);
    let name = f.email.expect("headers").from.name.unwrap_or_default();
    assert!(!name.chars().any(char::is_control), "{name:?}");
    let sent = seen.all();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].cause, Cause::Acknowledgement);
    // The acknowledgement is on the case, as an outbound email.
    let out: Vec<_> = case_follow_ups(&t.host, case)
        .into_iter()
        .filter(|f| f.kind == FollowUpKind::EmailOut)
        .collect();
    assert_eq!(out.len(), 1);
    assert!(out[0].body.contains("opened case"), "{}", out[0].body);
}

#[test]
fn the_acknowledgement_echoes_at_most_200_characters_of_the_subject() {
    let (t, seen) = store_with("", None);
    let subject = "é".repeat(5000);
    t.host
        .ingest_email(&mail("ann@example.com", &subject, "long-1@x", "hi"))
        .expect("ingest");
    let sent = seen.all();
    assert_eq!(sent.len(), 1);
    let echoed = sent[0].subject.matches('é').count();
    assert_eq!(echoed, 200, "{}", sent[0].subject);
}

const VETO_ACK: &str = r#"
fn on_notification(n) {
    if n.cause == "acknowledgement" {
        veto("no acknowledgements this week");
    }
}
"#;

#[test]
fn a_vetoed_acknowledgement_keeps_the_email_and_says_why_on_the_case() {
    let (t, _) = store_with("", Some(VETO_ACK));
    let outcome = t
        .host
        .ingest_email(&mail("ann@example.com", "Help", "ack-veto-1@x", "hi"))
        .expect("ingest");
    let (case, f, _) = stored_in(&t.host, outcome);
    assert_eq!(f.body.trim(), "hi");
    let notes: Vec<_> = case_follow_ups(&t.host, case)
        .into_iter()
        .filter(|f| f.kind == FollowUpKind::System)
        .collect();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].body.contains("no acknowledgements this week"),
        "{}",
        notes[0].body
    );
}

const REVIEW_ACK: &str = r#"
fn on_notification(n) {
    if n.cause == "acknowledgement" {
        n.review = true;
    }
}
"#;

#[test]
fn an_acknowledgement_a_hook_sends_to_review_waits_in_the_review_queue() {
    let server = dossier_tests::smtp::SmtpServer::start();
    let smtp = format!(
        "\n[email.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n",
        server.port()
    );
    let (t, _) = store_with(&smtp, Some(REVIEW_ACK));
    let outcome = t
        .host
        .ingest_email(&mail("ann@example.com", "Help", "ack-review-1@x", "hi"))
        .expect("ingest");
    let (case, _, _) = stored_in(&t.host, outcome);
    let queue = t.host.review_queue().expect("queue");
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(queue[0].case_number, case);
    assert!(queue[0].subject.contains("Help"), "{}", queue[0].subject);
    assert_eq!(queue[0].to[0].address, "ann@example.com");
    assert!(
        server.messages().is_empty(),
        "nothing goes out before review"
    );
    // A reviewer approves it: it is sent, and on the case.
    let sent = t.host.approve_draft(queue[0].id).expect("approve");
    assert_eq!(sent.state, dossier_sdk::DraftState::Sent);
    let out: Vec<_> = case_follow_ups(&t.host, case)
        .into_iter()
        .filter(|f| f.kind == FollowUpKind::EmailOut)
        .collect();
    assert_eq!(out.len(), 1);
    assert!(out[0].body.contains("opened case"), "{}", out[0].body);
    assert_eq!(server.messages().len(), 1);
}

/// Vetoes what a rule refuses: a case whose subject says HOLD.
const HOLD_CASE: &str = r#"
fn before_save_case(c) {
    if c.subject.contains("HOLD") {
        veto("cases about HOLD need a contract");
    }
}
"#;

#[test]
fn a_vetoed_case_holds_the_email_and_release_ingests_it_once_the_rule_is_fixed() {
    let (mut t, _) = store_with("", Some(HOLD_CASE));
    let raw = mail("ann@example.com", "HOLD my order", "hold-1@x", "please");
    let id = match t.host.ingest_email(&raw).expect("held, not an error") {
        Ingested::Held { id, reason } => {
            assert!(
                reason.contains("cases about HOLD need a contract"),
                "{reason}"
            );
            assert!(reason.contains("rules.rhai"), "{reason}");
            id
        }
        other => panic!("expected held mail, got {other:?}"),
    };
    // Nothing of it was written but the held mail.
    assert!(
        t.host
            .list_customers(dossier_host::Page {
                offset: 0,
                limit: 10
            })
            .expect("customers")
            .is_empty()
    );
    let held = t.host.held_emails(false).expect("held");
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, id);
    assert_eq!(held[0].sender, "ann@example.com");
    assert_eq!(held[0].subject, "HOLD my order");
    assert_eq!(held[0].key, "hold-1@x");
    assert_eq!(held[0].state, HeldState::Held);
    let (_, bytes) = t.host.held_email(id).expect("show");
    assert_eq!(bytes, raw, "the message is kept byte for byte");

    // Delivered again while the rule stands: still one held email.
    assert!(matches!(
        t.host.ingest_email(&raw).expect("again"),
        Ingested::Held { id: again, .. } if again == id
    ));
    assert_eq!(t.host.held_emails(false).expect("held").len(), 1);

    // The rule is fixed (the script no longer vetoes): release ingests it.
    std::fs::write(t.dir.path().join("scripts/rules.rhai"), "fn unused() {}\n").expect("fix");
    t.set_handlers(Vec::new());
    let (case, f, new_case) = stored_in(&t.host, t.host.release_held_email(id).expect("release"));
    assert!(new_case);
    assert_eq!(f.body.trim(), "please");
    assert_eq!(t.host.case(case).expect("case").subject, "HOLD my order");
    assert!(t.host.held_emails(false).expect("held").is_empty());
    let all = t.host.held_emails(true).expect("all");
    assert_eq!(all[0].state, HeldState::Released);
    assert_eq!(all[0].closed_by.as_deref(), Some("system"));
    let err = t.host.release_held_email(id).expect_err("released already");
    assert!(err.to_string().contains("released already"), "{err}");
}

#[test]
fn a_discarded_held_email_stays_listed_and_cannot_be_released() {
    let (t, _) = store_with("", Some(HOLD_CASE));
    let Ingested::Held { id, .. } = t
        .host
        .ingest_email(&mail("bob@example.com", "HOLD it", "hold-2@x", "x"))
        .expect("held")
    else {
        panic!("not held")
    };
    let discarded = t.host.discard_held_email(id).expect("discard");
    assert_eq!(discarded.state, HeldState::Discarded);
    assert!(t.host.held_emails(false).expect("held").is_empty());
    assert_eq!(t.host.held_emails(true).expect("all").len(), 1);
    assert!(t.host.release_held_email(id).is_err());
}

/// The admins' hook: vetoes the notice itself, which must not cost the
/// held mail.
const VETO_HELD_NOTICE: &str = r##"
fn before_save_case(c) {
    if c.subject.contains("HOLD") {
        veto("cases about HOLD need a contract");
    }
}
fn on_notification(n) {
    if n.cause == "email_held" && n.subject.contains("#2") {
        veto("not that one");
    }
}
"##;

#[test]
fn held_mail_fires_an_email_held_notification_that_admins_hook() {
    let (t, seen) = store_with(
        "held_notify = [\"admins@dossier.test\"]\n",
        Some(VETO_HELD_NOTICE),
    );
    let first = t
        .host
        .ingest_email(&mail("ann@example.com", "HOLD one", "notice-1@x", "x"))
        .expect("held");
    assert!(matches!(first, Ingested::Held { id: 1, .. }), "{first:?}");
    let told: Vec<_> = seen
        .all()
        .into_iter()
        .filter(|n| n.cause == Cause::EmailHeld)
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].to[0].address, "admins@dossier.test");
    assert!(
        told[0].body.contains("cases about HOLD"),
        "{}",
        told[0].body
    );
    assert!(told[0].body.contains("dossier email held release 1"));

    // The hook vetoes the second notice: the mail is held all the same.
    let second = t
        .host
        .ingest_email(&mail("bob@example.com", "HOLD two", "notice-2@x", "x"))
        .expect("held despite the veto");
    assert!(matches!(second, Ingested::Held { id: 2, .. }), "{second:?}");
    assert_eq!(t.host.held_emails(false).expect("held").len(), 2);
}

/// One script per place an ingest can fail between the parse and the
/// commit, each failing only for mail whose subject names it.
const EVERY_FAILURE: &str = r#"
fn on_email_received(e) {
    if e.headers.subject == "throw in email_received" { throw "a bug in the hook"; }
    if e.headers.subject == "bad field" { e.fields.no_such_field = 1; }
    if e.headers.subject == "bad case" { e.case_number = 4242; }
}
fn before_save_customer(customer) {
    if customer.name == "Veto Customer" { veto("no new customers today"); }
}
fn before_save_case(c) {
    if c.subject == "veto case" { veto("no new cases today"); }
}
fn before_save_follow_up(f) {
    if f.kind == "email_in" && f.body.contains("veto follow-up") {
        veto("no emails today");
    }
}
fn on_screen_pop(pop) {
    if pop.interaction.email == "pop@example.com" { throw "the pop hook broke"; }
}
fn on_notification(n) {
    if n.subject.contains("veto ack") { veto("no acknowledgement"); }
    if n.subject.contains("throw ack") { throw "the notification hook broke"; }
}
"#;

#[test]
fn no_veto_or_failure_between_parse_and_commit_loses_an_inbound_email() {
    let (t, _) = store_with("", Some(EVERY_FAILURE));
    let cases = [
        ("ann@example.com", "throw in email_received", false),
        ("ann@example.com", "bad field", false),
        ("ann@example.com", "bad case", false),
        ("Veto Customer <vc@example.com>", "hello", false),
        ("ann@example.com", "veto case", false),
        ("ann@example.com", "veto follow-up", false),
        ("pop@example.com", "hello", false),
        ("ann@example.com", "veto ack", true),
        ("ann@example.com", "throw ack", true),
    ];
    for (i, (from, subject, stores)) in cases.into_iter().enumerate() {
        let text = format!("the text: {subject}");
        let raw = mail(from, subject, &format!("every-{i}@x"), &text);
        let outcome = t
            .host
            .ingest_email(&raw)
            .unwrap_or_else(|e| panic!("{subject}: lost: {e}"));
        match (&outcome, stores) {
            (Ingested::Stored { follow_up, .. }, true) => {
                let f = t.host.follow_up(*follow_up).expect("follow-up");
                assert_eq!(f.body.trim(), text, "{subject}");
            }
            (Ingested::Held { id, .. }, false) => {
                let (held, bytes) = t.host.held_email(*id).expect("held");
                assert_eq!(bytes, raw, "{subject}");
                assert_eq!(held.subject, subject);
            }
            _ => panic!("{subject}: {outcome:?}"),
        }
    }
    assert_eq!(t.host.held_emails(false).expect("held").len(), 7);
}

#[test]
fn ingesting_a_batch_holds_only_the_message_that_fails() {
    let (t, _) = store_with("", Some(HOLD_CASE));
    let good = mail("ann@example.com", "fine", "batch-1@x", "x");
    let bad = mail("bob@example.com", "HOLD", "batch-2@x", "x");
    let also = mail("cat@example.com", "fine too", "batch-3@x", "x");
    let results = t.host.ingest_emails(&[
        ("one", good.as_slice()),
        ("two", bad.as_slice()),
        ("three", also.as_slice()),
    ]);
    assert!(
        matches!(results[0], Ok(Ingested::Stored { .. })),
        "{results:?}"
    );
    assert!(
        matches!(results[1], Ok(Ingested::Held { .. })),
        "{results:?}"
    );
    assert!(
        matches!(results[2], Ok(Ingested::Stored { .. })),
        "{results:?}"
    );
    let held = t.host.held_emails(false).expect("held");
    assert_eq!(held[0].source, "two");
}

/// The `rhai` block of docs/email.md's "Held mail" section that defines
/// `hook`.
fn guide_hook(hook: &str) -> &'static str {
    let guide = include_str!("../../docs/email.md");
    let held = guide.find("## Held mail").expect("the section");
    let mut rest = &guide[held..];
    loop {
        let start = rest.find("```rhai\n").expect("a rhai block") + "```rhai\n".len();
        let block = &rest[start..start + rest[start..].find("```").expect("its end")];
        if block.contains(&format!("fn {hook}(")) {
            return block;
        }
        rest = &rest[start + block.len()..];
    }
}

#[test]
fn the_held_mail_hook_in_docs_email_md_runs_as_written() {
    let script = format!("{HOLD_CASE}\n{}", guide_hook("on_notification"));
    let (t, seen) = store_with("held_notify = [\"admins@dossier.test\"]\n", Some(&script));
    let outcome = t
        .host
        .ingest_email(&mail("ann@example.com", "HOLD", "doc-held@x", "x"))
        .expect("held");
    assert!(matches!(outcome, Ingested::Held { .. }), "{outcome:?}");
    let told: Vec<_> = seen
        .all()
        .into_iter()
        .filter(|n| n.cause == Cause::EmailHeld)
        .collect();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].to.len(), 1);
    assert_eq!(told[0].to[0].address, "oncall@example.com");
}

#[test]
fn the_email_held_hook_in_docs_email_md_runs_as_written() {
    let (t, seen) = store_with(
        "held_notify = [\"admins@dossier.test\"]\nmax_message_mb = 1\n",
        Some(&format!("{HOLD_CASE}\n{}", guide_hook("on_email_held"))),
    );
    let big = mail(
        "ann@example.com",
        "Big",
        "doc-big@x",
        &"a".repeat(1_100_000),
    );
    let small = mail("bob@example.com", "HOLD", "doc-small@x", "x");
    for raw in [&big, &small] {
        let outcome = t.host.ingest_email(raw).expect("held");
        assert!(matches!(outcome, Ingested::Held { .. }), "{outcome:?}");
    }
    let told: Vec<String> = seen
        .all()
        .into_iter()
        .filter(|n| n.cause == Cause::EmailHeld)
        .map(|n| n.to[0].address.clone())
        .collect();
    assert_eq!(told, ["postmaster@example.com", "admins@dossier.test"]);
}

/// An `on_email_held` hook: no notice for mail from bob, a veto for eve's,
/// an address that is none for mal's, and the on-call address told too
/// about HOLD mail.
const ON_EMAIL_HELD: &str = r#"
fn on_email_held(e) {
    if e.held.subject.contains("HOLD") { e.notify = e.notify + ["oncall@dossier.test"]; }
    if e.held.sender == "bob@example.com" { e.notify = []; }
    if e.held.sender == "eve@example.com" { veto("not eve's"); }
    if e.held.sender == "mal@example.com" { e.notify = ["not an address"]; }
}
"#;

#[test]
fn holding_a_mail_fires_email_held_which_scripts_hook_and_which_never_costs_the_hold() {
    let script = format!("{HOLD_CASE}\n{ON_EMAIL_HELD}");
    let (mut t, seen) = store_with("held_notify = [\"admins@dossier.test\"]\n", Some(&script));
    let events = Arc::new(HeldEvents::default());
    t.set_handlers(vec![seen.clone(), events.clone()]);
    let told = |seen: &Seen| -> Vec<Vec<String>> {
        seen.all()
            .into_iter()
            .filter(|n| n.cause == Cause::EmailHeld)
            .map(|n| n.to.into_iter().map(|m| m.address).collect())
            .collect()
    };
    let held = |from: &str, id: &str| match t
        .host
        .ingest_email(&mail(from, "HOLD me", id, "x"))
        .expect("held")
    {
        Ingested::Held { id, .. } => id,
        other => panic!("{other:?}"),
    };
    let ann = held("ann@example.com", "eh-1@x");
    assert_eq!(
        told(&seen),
        [vec![
            "admins@dossier.test".to_owned(),
            "oncall@dossier.test".to_owned()
        ]]
    );
    // The in-process handler, after the script, saw the event as the script
    // left it, with the held mail as stored.
    let first = events.0.lock().expect("lock")[0].clone();
    assert_eq!(first.held.id, ann);
    assert_eq!(first.held.sender, "ann@example.com");
    assert!(
        first.held.reason.contains("cases about HOLD"),
        "{}",
        first.held.reason
    );
    assert_eq!(first.notify, ["admins@dossier.test", "oncall@dossier.test"]);
    // Cleared: no one is told. Vetoed or refused: no one is told, and
    // each mail is held all the same.
    held("bob@example.com", "eh-2@x");
    held("eve@example.com", "eh-3@x");
    held("mal@example.com", "eh-4@x");
    assert_eq!(told(&seen).len(), 1);
    assert_eq!(t.host.held_emails(false).expect("held").len(), 4);
    let senders: Vec<String> = events
        .0
        .lock()
        .expect("lock")
        .iter()
        .map(|e| e.held.sender.clone())
        .collect();
    // The veto stops the handlers after the script; a bad address is
    // refused once every handler ran.
    assert_eq!(
        senders,
        ["ann@example.com", "bob@example.com", "mal@example.com"]
    );
}

/// Every `email_held` event an in-process handler saw.
#[derive(Default)]
struct HeldEvents(Mutex<Vec<dossier_sdk::EmailHeld>>);

impl Handler for HeldEvents {
    fn name(&self) -> &str {
        "held-events"
    }
    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::EmailHeld(_))
    }
    fn handle(&self, _ctx: &mut Ctx, event: &mut Event) -> dossier_host::Result<Outcome> {
        if let Event::EmailHeld(e) = event {
            self.0.lock().expect("lock").push(e.clone());
        }
        Ok(Outcome::Continue)
    }
}

#[test]
fn a_message_over_max_message_mb_is_held_unparsed_and_released_once_the_limit_is_raised() {
    let (mut t, _) = store_with("max_message_mb = 1\n", None);
    let line = "a".repeat(76);
    let body: String = std::iter::repeat_n(line.as_str(), 20_000)
        .collect::<Vec<_>>()
        .join("\r\n");
    let big = mail("ann@example.com", "Big logs", "big-1@x", &body);
    assert!(big.len() > 1024 * 1024);
    let small = mail("bob@example.com", "Small", "small-1@x", "hi");
    let results = t
        .host
        .ingest_emails(&[("big", big.as_slice()), ("small", small.as_slice())]);
    let id = match &results[0] {
        Ok(Ingested::Held { id, reason }) => {
            assert!(
                reason.contains("over the 1 MB limit ([email] max_message_mb)"),
                "{reason}"
            );
            *id
        }
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(results[1], Ok(Ingested::Stored { .. })),
        "{results:?}"
    );
    let held = t.host.held_emails(false).expect("held");
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].size, big.len() as u64);
    assert_eq!(held[0].subject, "Big logs");
    assert_eq!(held[0].key, "big-1@x");
    // Alone, through `ingest_email`, too: the same held mail.
    assert!(matches!(
        t.host.ingest_email(&big).expect("again"),
        Ingested::Held { id: again, .. } if again == id
    ));
    let refused = t.host.release_held_email(id).expect_err("still too large");
    assert!(refused.to_string().contains("max_message_mb"), "{refused}");

    let config = std::fs::read_to_string(t.dir.path().join("dossier.toml")).expect("config");
    t.host = t
        .reopen(&config.replace("max_message_mb = 1", "max_message_mb = 2"))
        .expect("reopen");
    let (_, f, _) = stored_in(&t.host, t.host.release_held_email(id).expect("release"));
    assert_eq!(f.body.len(), body.len() - 19_999, "CRLF read as LF");
}

const ENDLESS: &str = r#"
fn on_email_received(e) {
    let n = 0;
    loop { n += 1; }
}
"#;

#[test]
fn a_script_out_of_time_is_an_error_the_mail_server_retries_not_held_mail() {
    let (t, _) = store_with("\n[scripts.limits]\ntimeout_ms = 1\n", Some(ENDLESS));
    let err = t
        .host
        .ingest_email(&mail("ann@example.com", "Hello", "slow-1@x", "x"))
        .expect_err("timed out");
    assert!(err.may_pass(), "{err}");
    assert!(err.to_string().contains("timeout_ms"), "{err}");
    assert!(t.host.held_emails(true).expect("held").is_empty());
}

#[test]
fn a_message_of_5000_parts_is_stored_with_1000_files_and_the_rest_in_one() {
    let (t, _) = store_with("", None);
    let mut raw = b"From: Many <many@example.com>\r\nTo: support@dossier.test\r\n\
        Subject: Many parts\r\nMessage-ID: <many-parts@example.com>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n"
        .to_vec();
    for n in 0..5000 {
        raw.extend(
            format!(
                "--p\r\nContent-Type: application/octet-stream; name=\"f{n}.bin\"\r\n\r\n{n}\r\n"
            )
            .as_bytes(),
        );
    }
    raw.extend(b"--p--\r\n");
    let (_, f, _) = stored_in(&t.host, t.host.ingest_email(&raw).expect("ingest"));
    assert_eq!(f.attachments.len(), 1001);
    assert_eq!(f.attachments[1000].name, "more-parts.mime");
    assert!(f.attachments.iter().all(|a| a.blob.is_some()));
    assert_eq!(f.shown_text(), "(no text)");
    let notes = f.email.expect("headers").notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("the first 1000 are kept as files")),
        "{notes:?}"
    );
}

/// Inside the ingest's write transaction (the `email_received` event),
/// notes whether each expected attachment's blob file exists already.
struct BlobsBefore {
    files: Vec<PathBuf>,
    seen: Mutex<Vec<bool>>,
}

impl Handler for BlobsBefore {
    fn name(&self) -> &str {
        "blobs-before"
    }
    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::EmailReceived(_))
    }
    fn handle(&self, _ctx: &mut Ctx, _event: &mut Event) -> dossier_host::Result<Outcome> {
        let mut seen = self.seen.lock().expect("lock");
        seen.extend(self.files.iter().map(|f| f.exists()));
        Ok(Outcome::Continue)
    }
}

fn with_files(n: usize, tag: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
    use std::fmt::Write as _;
    let mut raw = format!(
        "From: Files <files@example.com>\r\nTo: support@dossier.test\r\nSubject: Files {tag}\r\n\
         Message-ID: <files-{tag}@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"f\"\r\n\r\n--f\r\n\r\nSee the files.\r\n"
    );
    let mut contents = Vec::new();
    for i in 0..n {
        let content = format!("file {i} of {tag}");
        let _ = write!(
            raw,
            "--f\r\nContent-Type: application/octet-stream; name=\"f{i}.bin\"\r\n\r\n{content}\r\n"
        );
        contents.push(content.into_bytes());
    }
    raw.push_str("--f--\r\n");
    (raw.into_bytes(), contents)
}

#[test]
fn no_attachment_blob_is_written_inside_the_write_transaction() {
    use sha2::Digest as _;
    let mut t = TestStore::new(&format!("{FIELDS}\n{CONFIG}"));
    let (one, one_files) = with_files(3, "one");
    let (two, two_files) = with_files(2, "two");
    let (three, three_files) = with_files(2, "three");
    let root = t.dir.path().join("dossier.blobs");
    let files = one_files
        .iter()
        .chain(&two_files)
        .chain(&three_files)
        .map(|bytes| {
            let id: String = sha2::Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            root.join(&id[..2]).join(id)
        })
        .collect::<Vec<_>>();
    let probe = |files: &[PathBuf]| {
        Arc::new(BlobsBefore {
            files: files.to_vec(),
            seen: Mutex::new(Vec::new()),
        })
    };
    // One message on its own.
    let alone = probe(&files[..3]);
    t.set_handlers(vec![alone.clone()]);
    stored_in(&t.host, t.host.ingest_email(&one).expect("ingest"));
    assert_eq!(*alone.seen.lock().expect("lock"), [true; 3]);
    // A batch (a maildir run): parsed and written ahead of its transaction.
    let batch = probe(&files[3..]);
    t.set_handlers(vec![batch.clone()]);
    let results = t
        .host
        .ingest_emails(&[("two", two.as_slice()), ("three", three.as_slice())]);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(Ingested::Stored { .. }))),
        "{results:?}"
    );
    let seen = batch.seen.lock().expect("lock").clone();
    // Each message's event sees its own blobs already written.
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert_eq!(&seen[..2], [true, true], "message two's blobs");
    assert_eq!(&seen[6..], [true, true], "message three's blobs");
    assert!(files.iter().all(|f| f.exists()));
}

#[test]
fn a_gc_between_an_emails_blob_writes_and_its_commit_keeps_the_blobs() {
    let (t, _) = store_with("", None);
    let (raw, _) = with_files(2, "gc");
    let mut collected = None;
    let outcome = dossier_host::test_support::ingest_with_pause(&t.host, &raw, || {
        collected = Some(t.host.gc()?);
        Ok(())
    })
    .expect("ingest");
    let collected = collected.expect("gc ran");
    assert_eq!(collected.removed, 0, "{collected:?}");
    assert_eq!(collected.recent, 2, "{collected:?}");
    let (_, f, _) = stored_in(&t.host, outcome);
    for a in &f.attachments {
        let blob = a.blob.as_deref().expect("blob");
        t.host
            .attachment(blob)
            .unwrap_or_else(|e| panic!("{} lost to gc: {e}", a.name));
    }
}

#[test]
fn held_mail_is_read_released_and_discarded_only_with_ingest_email() {
    let (t, _) = store_with("", Some(HOLD_CASE));
    let Ingested::Held { id, .. } = t
        .host
        .ingest_email(&mail("ann@example.com", "HOLD", "perm-1@x", "x"))
        .expect("held")
    else {
        panic!("not held")
    };
    let root = t.agents(&["ann"]);
    let ann = t.host.as_agent("ann").expect("ann");
    for refused in [
        ann.held_emails(false).map(|_| ()),
        ann.held_email(id).map(|_| ()),
        ann.release_held_email(id).map(|_| ()),
        ann.discard_held_email(id).map(|_| ()),
    ] {
        assert!(
            matches!(refused, Err(dossier_host::Error::PermissionDenied { .. })),
            "{refused:?}"
        );
    }
    // An admin holds ingest_email.
    assert_eq!(root.held_emails(false).expect("admin").len(), 1);
    assert_eq!(
        root.discard_held_email(id)
            .expect("discard")
            .closed_by
            .as_deref(),
        Some("root")
    );
}

#[test]
fn a_batchs_transaction_commits_what_is_parsed_rather_than_wait_for_the_parser() {
    let (t, _) = store_with("", None);
    let first = mail("ann@example.com", "First", "arriving-1@x", "one");
    let (second, _) = with_files(50, "arriving");
    let (send, arriving) = std::sync::mpsc::channel();
    send.send(first).expect("send");
    let db = t.db_path();
    let results = std::thread::scope(|scope| {
        let writer =
            scope.spawn(|| dossier_host::test_support::ingest_arriving(&t.host, 2, arriving));
        // The second message is not even read yet: the first must be
        // committed (seen by another connection) and the write lock free
        // (another connection takes it) while the batch waits for it.
        let other = rusqlite::Connection::open(&db).expect("open");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let stored: i64 = other
                .query_row(
                    "SELECT count(*) FROM follow_ups WHERE kind = 'email_in'",
                    [],
                    |r| r.get(0),
                )
                .expect("count");
            if stored == 1 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the first message was not committed while the batch waited for the second"
            );
            std::thread::yield_now();
        }
        other
            .execute_batch("BEGIN IMMEDIATE; COMMIT")
            .expect("the write lock is free while the batch waits for its parser");
        send.send(second).expect("send");
        drop(send);
        writer.join().expect("writer")
    });
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(Ingested::Stored { .. }))),
        "{results:?}"
    );
    let Ok(second) = &results[1] else {
        panic!("{results:?}")
    };
    let (_, f, _) = stored_in(&t.host, second.clone());
    assert_eq!(f.attachments.len(), 50);
    assert!(f.attachments.iter().all(|a| a.blob.is_some()));
}

#[test]
fn the_store_records_the_longest_hold_of_its_write_lock() {
    let (t, _) = store_with("", None);
    dossier_host::test_support::take_longest_write(&t.host);
    assert_eq!(
        dossier_host::test_support::take_longest_write(&t.host),
        std::time::Duration::ZERO,
        "read and started again"
    );
    let (raw, _) = with_files(200, "held-lock");
    let started = std::time::Instant::now();
    stored_in(&t.host, t.host.ingest_email(&raw).expect("ingest"));
    let wall = started.elapsed();
    let held = dossier_host::test_support::take_longest_write(&t.host);
    assert!(held > std::time::Duration::ZERO);
    assert!(held <= wall, "{held:?} of {wall:?}");
}

#[test]
fn built_plugins_receive_email_held_and_may_change_who_is_told() {
    let dir = tempfile::tempdir().expect("temp dir");
    let audit = dir.path().join("audit.jsonl");
    // The probe tells its own address instead; the audit log, after it,
    // writes the event down as the probe left it.
    let extra = format!(
        "held_notify = [\"admins@dossier.test\"]\n{}{}",
        crate::built::entry("probe-plugin", "held_notify = [\"plugin@dossier.test\"]"),
        crate::built::entry(
            "audit-log-plugin",
            &format!(
                "path = {:?}\nevents = [\"email_held\"]",
                audit.display().to_string()
            )
        ),
    );
    let (t, seen) = store_with(&extra, Some(HOLD_CASE));
    let Ingested::Held { id, .. } = t
        .host
        .ingest_email(&mail("ann@example.com", "HOLD", "plugin-held@x", "x"))
        .expect("held")
    else {
        panic!("not held")
    };
    let told: Vec<Vec<String>> = seen
        .all()
        .into_iter()
        .filter(|n| n.cause == Cause::EmailHeld)
        .map(|n| n.to.into_iter().map(|m| m.address).collect())
        .collect();
    assert_eq!(told, [vec!["plugin@dossier.test".to_owned()]]);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .expect("audit file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["kind"], "email_held");
    let data = &lines[0]["event"]["data"];
    assert_eq!(data["held"]["id"], id);
    assert_eq!(data["held"]["sender"], "ann@example.com");
    assert_eq!(data["notify"], serde_json::json!(["plugin@dossier.test"]));
}

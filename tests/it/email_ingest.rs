//! Inbound email through the Host on a real file: threading rules,
//! idempotency, hooks, blocked senders, attachments, the loop guard and
//! the workbin.

use std::sync::{Arc, Mutex};

use dossier_host::{Ctx, Error, Handler, Host};
use dossier_sdk::{
    Cause, Event, FollowUpKind, Ingested, NewAgent, NewCase, NewCustomer, NewFollowUp, Outcome,
    Role,
};

use crate::util::{FIELDS, TestStore};

const CONFIG: &str = r#"
[email]
addresses = ["support@dossier.test"]
acknowledge = true
blocked = ["spam@bad.test", "@junk.test", "@*.subs.test"]
"#;

fn store() -> TestStore {
    TestStore::new(&format!("{FIELDS}\n{CONFIG}"))
}

/// A plain message; `extra` is more header lines.
fn mail(from: &str, subject: &str, message_id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: Support <support@dossier.test>\r\nSubject: {subject}\r\n\
         Message-ID: <{message_id}>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n{extra}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn stored(
    outcome: Ingested,
) -> (
    dossier_sdk::CaseNumber,
    dossier_sdk::FollowUpId,
    bool,
    String,
) {
    match outcome {
        Ingested::Stored {
            case_number,
            follow_up,
            new_case,
            threaded_by,
            ..
        } => (case_number, follow_up, new_case, threaded_by),
        other => panic!("expected a stored email, got {other:?}"),
    }
}

/// Records every notification the host runs through its hooks.
#[derive(Default)]
struct Notifications(Mutex<Vec<dossier_sdk::Notification>>);

impl Handler for Notifications {
    fn name(&self) -> &str {
        "notifications"
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

#[test]
fn an_unknown_sender_opens_a_case_and_their_reply_joins_it_by_in_reply_to() {
    let t = store();
    let first = t
        .host
        .ingest_email(&mail(
            "Ada Lovelace <Ada@Example.com>",
            "Scheduler down",
            "m1@example.com",
            "",
            "The scheduler is down again.",
        ))
        .expect("ingest");
    let (case, f1, new_case, how) = stored(first);
    assert!(new_case);
    assert!(how.contains("a new case"), "{how}");

    let c = t.host.case(case).expect("case");
    assert_eq!(c.subject, "Scheduler down");
    let customer = t.host.customer(c.customer).expect("customer");
    assert_eq!(customer.name, "Ada Lovelace");
    assert_eq!(customer.emails[0].address, "ada@example.com");

    let f = t.host.follow_up(f1).expect("follow-up");
    assert_eq!(f.kind, FollowUpKind::EmailIn);
    assert_eq!(f.author, "customer");
    assert_eq!(f.body.trim(), "The scheduler is down again.");
    let headers = f.email.expect("headers");
    assert_eq!(headers.from.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(headers.message_id.as_deref(), Some("m1@example.com"));

    // The answer carries only In-Reply-To, as many mail clients do.
    let reply = t
        .host
        .ingest_email(&mail(
            "Ada Lovelace <ada@example.com>",
            "Re: Scheduler down",
            "m2@example.com",
            "In-Reply-To: <m1@example.com>\r\n",
            "Still down.",
        ))
        .expect("reply");
    let (case2, f2, new_case, how) = stored(reply);
    assert_eq!(case2, case);
    assert!(!new_case);
    assert!(how.contains("In-Reply-To <m1@example.com>"), "{how}");
    let threaded = t.host.follow_up(f2).expect("f2").email.expect("headers");
    assert_eq!(threaded.threaded_by.as_deref(), Some(how.as_str()));

    // A second customer mail with no thread information is a new case for
    // the same customer, found by the screen-pop on the sender's address.
    let other = t
        .host
        .ingest_email(&mail(
            "ada@example.com",
            "Another thing",
            "m3@example.com",
            "",
            "Different matter.",
        ))
        .expect("third");
    let (case3, _, new_case, _) = stored(other);
    assert!(new_case);
    assert_ne!(case3, case);
    assert_eq!(t.host.case(case3).expect("case3").customer, c.customer);
}

#[test]
fn the_same_email_twice_writes_nothing_new_with_or_without_a_message_id() {
    let t = store();
    let raw = mail("bob@example.com", "Hello", "dup@example.com", "", "Hi.");
    let (_, f, _, _) = stored(t.host.ingest_email(&raw).expect("first"));
    match t.host.ingest_email(&raw).expect("second") {
        Ingested::Duplicate { follow_up, .. } => assert_eq!(follow_up, Some(f)),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    let no_id = b"From: carol@example.com\r\nSubject: No id\r\n\r\nNo Message-ID here.\r\n";
    let (case, f, _, _) = stored(t.host.ingest_email(no_id).expect("first"));
    assert!(matches!(
        t.host.ingest_email(no_id).expect("second"),
        Ingested::Duplicate { follow_up: Some(g), .. } if g == f
    ));
    let (list, total) = t
        .host
        .follow_ups(
            case,
            dossier_host::Page {
                offset: 0,
                limit: 10,
            },
        )
        .expect("list");
    // The email and its acknowledgement, once each.
    let kinds: Vec<_> = list.iter().map(|f| f.kind).collect();
    assert_eq!(total, 2);
    assert_eq!(kinds, [FollowUpKind::EmailOut, FollowUpKind::EmailIn]);
}

#[test]
fn a_thread_token_joins_its_case_in_the_subject_a_header_or_a_plus_address() {
    let t = store();
    let ada = t.customer("AC-1", "+33123456789");
    let case = t
        .host
        .open_case(NewCase::new(ada, "Printer"))
        .expect("case")
        .number;
    let token = t.host.thread_token(case).expect("token");
    assert_eq!(
        t.host.thread_token(case).expect("again"),
        token,
        "made once"
    );

    let ways = [
        (
            format!("Re: Printer [#{token}]"),
            String::new(),
            "support@dossier.test",
        ),
        (
            "Re: Printer".to_owned(),
            format!("X-Dossier-Thread: {token}\r\n"),
            "support@dossier.test",
        ),
    ];
    for (i, (subject, extra, _)) in ways.iter().enumerate() {
        let (joined, _, new_case, how) = stored(
            t.host
                .ingest_email(&mail(
                    "stranger@example.org",
                    subject,
                    &format!("tok{i}@example.org"),
                    extra,
                    "more",
                ))
                .expect("ingest"),
        );
        assert_eq!(joined, case, "{how}");
        assert!(!new_case);
        assert!(how.contains(&format!("thread token {token}")), "{how}");
    }
    let plus = format!(
        "From: stranger@example.org\r\nTo: support+{}@dossier.test\r\nSubject: hi\r\n\
         Message-ID: <plus@example.org>\r\n\r\nvia the plus-address\r\n",
        token.as_str().to_lowercase()
    );
    let (joined, _, _, how) = stored(t.host.ingest_email(plus.as_bytes()).expect("plus"));
    assert_eq!(joined, case);
    assert!(how.contains("plus-address"), "{how}");

    // A well-formed token that names no case is no error: the next rule decides.
    let (other, _, new_case, how) = stored(
        t.host
            .ingest_email(&mail(
                "stranger@example.org",
                "Re: [#ZZZZZZZZZZZZ] other help desk's tag [RT #4521]",
                "none@example.org",
                "",
                "x",
            ))
            .expect("unknown token"),
    );
    assert!(new_case && other != case);
    assert!(
        how.contains("ZZZZZZZZZZZZ in the subject names no case"),
        "{how}"
    );
    assert_eq!(
        t.host.case(other).expect("case").subject,
        "Re: [#ZZZZZZZZZZZZ] other help desk's tag [RT #4521]",
        "other systems' tags are kept"
    );
}

#[test]
fn a_case_number_in_the_subject_is_trusted_only_from_the_customer_or_the_thread() {
    let t = store();
    let grace = t
        .host
        .create_customer(NewCustomer {
            account: "AC-2".into(),
            name: "Grace".into(),
            emails: vec![dossier_sdk::Email {
                label: "work".into(),
                address: "grace@example.com".into(),
            }],
            ..Default::default()
        })
        .expect("grace")
        .id;
    let case = t
        .host
        .open_case(NewCase::new(grace, "Compiler"))
        .expect("case")
        .number;
    let subject = format!("About [Case #{case}]");

    let (joined, _, _, how) = stored(
        t.host
            .ingest_email(&mail(
                "grace@example.com",
                &subject,
                "g1@x",
                "",
                "from grace",
            ))
            .expect("grace"),
    );
    assert_eq!(joined, case);
    assert!(how.contains("the sender is its customer"), "{how}");

    let (other, _, new_case, how) = stored(
        t.host
            .ingest_email(&mail("mallory@evil.test", &subject, "m1@x", "", "guessing"))
            .expect("mallory"),
    );
    assert!(new_case && other != case);
    assert!(how.contains("was not trusted"), "{how}");

    // Someone already on the thread (copied on an earlier email) is trusted.
    let cc = format!(
        "From: grace@example.com\r\nTo: support@dossier.test\r\nCc: Hal <hal@example.com>\r\n\
         Subject: {subject}\r\nMessage-ID: <g2@x>\r\n\r\ncc hal\r\n"
    );
    t.host.ingest_email(cc.as_bytes()).expect("cc");
    let (joined, _, _, how) = stored(
        t.host
            .ingest_email(&mail("hal@example.com", &subject, "h1@x", "", "from hal"))
            .expect("hal"),
    );
    assert_eq!(joined, case);
    assert!(how.contains("on its thread"), "{how}");
}

const HOOK: &str = r#"
fn on_email_received(e) {
    if e.headers.subject.contains("URGENT") {
        e.priority = "high";
        e.fields.contract_ref = "K-1";
    }
    if e.headers.subject.contains("unsubscribe") {
        veto("unsubscribe requests go to the mailing list tool");
    }
    if e.headers.subject.contains("to case one") {
        e.case_number = 1;
    }
}
"#;

fn with_hook() -> TestStore {
    let t = store();
    std::fs::create_dir_all(t.dir.path().join("scripts")).expect("scripts");
    std::fs::write(t.dir.path().join("scripts/mail.rhai"), HOOK).expect("script");
    let config = format!("[scripts]\nfiles = [\"mail.rhai\"]\n{FIELDS}\n{CONFIG}");
    let host = t.reopen(&config).expect("reopen");
    TestStore { host, ..t }
}

#[test]
fn an_email_received_hook_sets_priority_and_fields_replaces_the_case_or_vetoes() {
    let t = with_hook();
    let (case, _, _, _) = stored(
        t.host
            .ingest_email(&mail("a@example.com", "URGENT help", "u1@x", "", "!"))
            .expect("urgent"),
    );
    let c = t.host.case(case).expect("case");
    assert_eq!(c.priority, "high");
    assert_eq!(
        c.custom.get("contract_ref"),
        Some(&dossier_sdk::FieldValue::Text("K-1".into()))
    );

    let (joined, _, _, how) = stored(
        t.host
            .ingest_email(&mail(
                "b@example.com",
                "please add this to case one",
                "o1@x",
                "",
                ".",
            ))
            .expect("moved"),
    );
    assert_eq!(joined.0, 1);
    assert!(
        how.starts_with("an email_received hook chose case 1"),
        "{how}"
    );

    let raw = mail("c@example.com", "unsubscribe", "v1@x", "", "stop");
    match t.host.ingest_email(&raw).expect("vetoed is not an error") {
        Ingested::Dropped { reason } => {
            assert!(reason.contains("mailing list tool"), "{reason}");
            assert!(reason.contains("mail.rhai"), "{reason}");
        }
        other => panic!("expected a drop, got {other:?}"),
    }
    assert!(matches!(
        t.host.ingest_email(&raw).expect("again"),
        Ingested::Duplicate {
            follow_up: None,
            dropped: Some(_)
        }
    ));
    assert_eq!(
        t.host
            .list_customers(dossier_host::Page {
                offset: 0,
                limit: 10
            })
            .expect("list")
            .len(),
        1,
        "only the first sender became a customer: the second joined case 1, the third was vetoed"
    );
}

#[test]
fn a_hook_choosing_a_case_that_does_not_exist_is_refused_and_the_email_held() {
    let t = with_hook();
    let outcome = t
        .host
        .ingest_email(&mail("d@example.com", "to case one", "x1@x", "", "."))
        .expect("held, not lost");
    assert!(
        matches!(&outcome, Ingested::Held { reason, .. } if reason.contains("case_number")),
        "{outcome:?}"
    );
    assert!(
        t.host
            .list_customers(dossier_host::Page {
                offset: 0,
                limit: 10
            })
            .expect("list")
            .is_empty()
    );
}

#[test]
fn blocked_senders_and_domains_are_dropped_with_the_reason_and_no_reply() {
    let mut t = store();
    let seen = Arc::new(Notifications::default());
    t.set_handlers(vec![seen.clone()]);
    for (from, id) in [("spam@bad.test", "s1@x"), ("anyone@JUNK.test", "s2@x")] {
        match t
            .host
            .ingest_email(&mail(from, "buy", id, "", "now"))
            .expect("drop")
        {
            Ingested::Dropped { reason } => assert!(reason.contains("[email] blocked"), "{reason}"),
            other => panic!("expected a drop, got {other:?}"),
        }
    }
    assert!(seen.0.lock().expect("lock").is_empty());
}

#[test]
fn a_domain_entry_blocks_that_domain_only_and_a_wildcard_entry_its_subdomains() {
    let mut t = store();
    let seen = Arc::new(Notifications::default());
    t.set_handlers(vec![seen.clone()]);
    let outcomes: Vec<(&str, bool)> = [
        ("a@mail.junk.test", "d1@x"),
        ("b@junk.test.example", "d2@x"),
        ("c@mail.subs.test", "d3@x"),
        ("d@A.B.Subs.Test", "d4@x"),
        ("e@subs.test", "d5@x"),
        ("f@notsubs.test", "d6@x"),
    ]
    .into_iter()
    .map(|(from, id)| {
        let outcome = t
            .host
            .ingest_email(&mail(from, "hello", id, "", "hi"))
            .expect("ingest");
        (from, matches!(outcome, Ingested::Dropped { .. }))
    })
    .collect();
    assert_eq!(
        outcomes,
        [
            ("a@mail.junk.test", false),
            ("b@junk.test.example", false),
            ("c@mail.subs.test", true),
            ("d@A.B.Subs.Test", true),
            ("e@subs.test", false),
            ("f@notsubs.test", false),
        ]
    );
}

#[test]
fn a_wildcard_anywhere_but_the_first_label_of_a_domain_is_a_config_error() {
    for entry in ["@mail.*.test", "@*junk.test", "*@junk.test", "@*."] {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("dossier.toml");
        std::fs::write(&path, format!("[email]\nblocked = [\"{entry}\"]\n")).expect("write");
        let err = dossier_host::Config::load(&path).expect_err(entry);
        let message = err.to_string();
        assert!(
            matches!(err, Error::Config(_)) && message.contains(&format!("`{entry}`")),
            "{entry}: {message}"
        );
    }
}

#[test]
fn a_new_case_is_acknowledged_but_automatic_mail_never_is() {
    let mut t = store();
    let seen = Arc::new(Notifications::default());
    t.set_handlers(vec![seen.clone()]);
    t.host
        .ingest_email(&mail("person@example.com", "Question", "q1@x", "", "?"))
        .expect("person");
    {
        let sent = seen.0.lock().expect("lock");
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].cause, Cause::Acknowledgement);
        assert_eq!(sent[0].to[0].address, "person@example.com");
    }
    let automatic = [
        (
            "robot@example.com",
            "Auto-Submitted: auto-replied\r\n",
            "auto-submitted",
        ),
        (
            "news@example.com",
            "Precedence: bulk\r\n",
            "precedence: bulk",
        ),
        (
            "list@example.com",
            "Precedence: list\r\n",
            "precedence: list",
        ),
        ("MAILER-DAEMON@mx.example.com", "", "bounce"),
        ("someone@example.com", "Return-Path: <>\r\n", "bounce"),
        ("support@dossier.test", "", "our own address"),
        // Every form of our own addresses: any case, any +tag; and the
        // reminders' From.
        ("Support+Case-7@Dossier.Test", "", "our own address"),
        ("dossier+x@localhost.localdomain", "", "our own address"),
        // Autoresponders' own markers, and RFC 3834's auto_reply.
        (
            "vacation@example.com",
            "X-Autoreply: yes\r\n",
            "autoresponder marker: X-Autoreply",
        ),
        (
            "away@example.com",
            "X-Autorespond: Out of office\r\n",
            "autoresponder marker: X-Autorespond",
        ),
        (
            "exchange@example.com",
            "X-Auto-Response-Suppress: All\r\n",
            "autoresponder marker: X-Auto-Response-Suppress",
        ),
        (
            "responder@example.com",
            "Precedence: auto_reply\r\n",
            "precedence: auto_reply",
        ),
    ];
    for (i, (from, extra, why)) in automatic.iter().enumerate() {
        let (_, f, new_case, _) = stored(
            t.host
                .ingest_email(&mail(
                    from,
                    "Out of office",
                    &format!("a{i}@x"),
                    extra,
                    "away",
                ))
                .expect("automatic"),
        );
        assert!(new_case, "{from}");
        let automatic = t
            .host
            .follow_up(f)
            .expect("follow-up")
            .email
            .and_then(|e| e.automatic)
            .unwrap_or_default();
        assert!(automatic.contains(why), "{from}: {automatic}");
    }
    let dsn = "From: postmaster@mx.example.com\r\nTo: support@dossier.test\r\nSubject: Undelivered\r\n\
        Message-ID: <dsn@x>\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n\
        --b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--b--\r\n";
    t.host.ingest_email(dsn.as_bytes()).expect("dsn");
    assert_eq!(
        seen.0.lock().expect("lock").len(),
        1,
        "no automatic answer to any of them"
    );
}

#[test]
fn attachments_are_kept_as_blobs_and_one_over_20_mb_is_refused_with_the_rest_kept() {
    let t = store();
    let small: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let big = vec![b'x'; 21 * 1024 * 1024];
    let raw = format!(
        "From: files@example.com\r\nTo: support@dossier.test\r\nSubject: files\r\n\
         Message-ID: <files@x>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"sep\"\r\n\r\n\
         --sep\r\nContent-Type: text/plain\r\n\r\nTwo files attached.\r\n\
         --sep\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"small.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n\
         --sep\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"big.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--sep--\r\n",
        encode(&small),
        encode(&big)
    );
    let (_, f, _, _) = stored(t.host.ingest_email(raw.as_bytes()).expect("ingest"));
    let f = t.host.follow_up(f).expect("follow-up");
    assert_eq!(f.body.trim(), "Two files attached.");
    assert_eq!(f.attachments.len(), 2);
    let kept = &f.attachments[0];
    assert_eq!((kept.name.as_str(), kept.size), ("small.bin", 5000));
    let blob = kept.blob.as_deref().expect("stored");
    assert_eq!(t.host.attachment(blob).expect("bytes"), small);
    assert!(
        t.dir
            .path()
            .join("dossier.blobs")
            .join(&blob[..2])
            .join(blob)
            .is_file(),
        "beside the database"
    );
    let refused = &f.attachments[1];
    assert_eq!(refused.name, "big.bin");
    assert_eq!(refused.size, big.len() as u64);
    assert!(refused.blob.is_none());
    assert!(
        refused
            .refused
            .as_deref()
            .unwrap_or("")
            .contains("20 MB limit"),
        "{refused:?}"
    );
}

#[test]
fn an_email_joining_a_case_goes_to_the_last_agents_workbin_then_the_owner_then_the_group() {
    let t = store();
    let admin = t.host.first_admin("root").expect("admin").expect("made");
    let root = t.host.as_agent(&admin.login).expect("root");
    root.add_group("billing", None).expect("group");
    for login in ["ann", "ben"] {
        root.add_agent(NewAgent {
            login: login.into(),
            display_name: String::new(),
            email: None,
            role: Role::Agent,
            groups: vec!["billing".into()],
        })
        .expect("agent");
    }
    let ada = t.customer("AC-1", "+33123456789");
    let mut new = NewCase::new(ada, "Invoice");
    new.owner = Some("ben".into());
    new.group = Some("billing".into());
    let case = t.host.open_case(new).expect("case").number;
    let first = mail("ada@example.com", "Invoice", "w1@x", "", "first");
    // With nothing to thread it by, this email opens a case of its own
    // and goes to no workbin; replies carrying `case`'s token join it.
    let (_, f1, _, _) = stored(t.host.ingest_email(&first).expect("first"));
    let token = t.host.thread_token(case).expect("token");
    let reply = |id: &str| {
        mail(
            "ada@example.com",
            &format!("Re: [#{token}]"),
            id,
            "",
            "again",
        )
    };

    // No agent wrote on the case yet: the owner's workbin.
    match t.host.ingest_email(&reply("w2@x")).expect("reply") {
        Ingested::Stored { workbin, .. } => assert_eq!(workbin.as_deref(), Some("ben")),
        other => panic!("{other:?}"),
    }
    // Ann writes a note: she is the last agent on it now.
    let ann = t.host.as_agent("ann").expect("ann");
    ann.add_follow_up(NewFollowUp::note(case, "ann", "called the customer"))
        .expect("note");
    let (_, f3, _, _) = stored(t.host.ingest_email(&reply("w3@x")).expect("reply"));
    let bin = ann.my_workbin(false).expect("ann's workbin");
    assert_eq!(bin.len(), 1);
    assert_eq!(bin[0].follow_up, Some(f3));
    assert_eq!(bin[0].case_number, case);
    assert_eq!(
        bin[0].from.as_ref().map(|m| m.address.as_str()),
        Some("ada@example.com")
    );

    // Ben may not read Ann's workbin, nor mark her entry done.
    let ben = t.host.as_agent("ben").expect("ben");
    assert!(matches!(
        ben.workbin("ann"),
        Err(Error::PermissionDenied { .. })
    ));
    assert!(ben.workbin_done(bin[0].id).is_err());
    let done = ann.workbin_done(bin[0].id).expect("done");
    assert_eq!(done.done_by.as_deref(), Some("ann"));
    assert!(ann.my_workbin(false).expect("empty").is_empty());
    assert_eq!(ann.my_workbin(true).expect("with done").len(), 1);

    // Saving an email for later.
    let saved = ann.save_to_workbin(f1).expect("save");
    assert!(saved.reason.contains("saved for later by ann"));
    assert!(matches!(
        Host::my_workbin(&t.host, false),
        Err(Error::Refused(_))
    ));
}

/// Base64 wrapped at 76 columns, as mail carries it.
fn encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    let flat = base64::engine::general_purpose::STANDARD.encode(bytes);
    flat.as_bytes()
        .chunks(76)
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[test]
fn the_hook_in_docs_email_md_runs_as_written() {
    let guide = include_str!("../../docs/email.md");
    let start = guide.find("```rhai\n").expect("a rhai block") + "```rhai\n".len();
    let script = &guide[start..start + guide[start..].find("```").expect("its end")];
    let t = store();
    std::fs::create_dir_all(t.dir.path().join("scripts")).expect("scripts");
    std::fs::write(t.dir.path().join("scripts/doc.rhai"), script).expect("script");
    let config = format!("[scripts]\nfiles = [\"doc.rhai\"]\n{FIELDS}\n{CONFIG}");
    let host = t.reopen(&config).expect("reopen");
    let (case, _, _, _) = stored(
        host.ingest_email(&mail("x@partner.example", "URGENT: down", "doc@x", "", "!"))
            .expect("ingest"),
    );
    let c = host.case(case).expect("case");
    assert_eq!(c.priority, "high");
    assert_eq!(
        c.custom.get("contract_ref"),
        Some(&dossier_sdk::FieldValue::Text("PARTNER".into()))
    );
}

/// Sends every email's screen-pop to customer `.0`, keeping what it saw.
struct PopTo(dossier_sdk::CustomerId, Mutex<Vec<dossier_sdk::ScreenPop>>);

impl Handler for PopTo {
    fn name(&self) -> &str {
        "pop-to"
    }
    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::ScreenPop(p) if p.interaction.channel == dossier_sdk::Channel::Email)
    }
    fn handle(&self, _ctx: &mut Ctx, event: &mut Event) -> dossier_host::Result<Outcome> {
        if let Event::ScreenPop(pop) = event {
            self.1.lock().expect("lock").push(pop.clone());
            pop.target = dossier_sdk::PopTarget::Customer { customer: self.0 };
        }
        Ok(Outcome::Continue)
    }
}

/// Ada (who writes from ada@example.com, with one open case) and Grace.
fn ada_and_grace(host: &Host) -> (dossier_sdk::Customer, dossier_sdk::Customer) {
    let ada = host
        .create_customer(NewCustomer {
            account: "AC-1".into(),
            name: "Ada Lovelace".into(),
            emails: vec![dossier_sdk::Email {
                label: "work".into(),
                address: "ada@example.com".into(),
            }],
            ..Default::default()
        })
        .expect("ada");
    let grace = host
        .create_customer(NewCustomer {
            account: "AC-2".into(),
            name: "Grace Hopper".into(),
            ..Default::default()
        })
        .expect("grace");
    host.open_case(NewCase::new(ada.id, "Earlier question"))
        .expect("case");
    (ada, grace)
}

#[test]
fn an_on_screen_pop_handler_sees_the_whole_pop_of_an_email_and_chooses_its_customer() {
    let mut t = store();
    let (ada, grace) = ada_and_grace(&t.host);
    let seen = Arc::new(PopTo(grace.id, Mutex::new(Vec::new())));
    t.set_handlers(vec![seen.clone()]);
    let (number, _, new_case, _) = stored(
        t.host
            .ingest_email(&mail("ada@example.com", "Printer", "p1@x", "", "jams"))
            .expect("ingest"),
    );
    assert!(new_case);
    assert_eq!(t.host.case(number).expect("case").customer, grace.id);
    let pops = seen.1.lock().expect("lock");
    assert_eq!(pops.len(), 1);
    // What a call's pop would show: the open cases, the customer named.
    assert_eq!(pops[0].open_cases.len(), 1);
    assert_eq!(
        pops[0].target,
        dossier_sdk::PopTarget::Customer { customer: ada.id }
    );
    assert!(
        pops[0].reason.contains("Ada Lovelace (AC-1)"),
        "{}",
        pops[0].reason
    );
}

#[test]
fn an_on_screen_pop_script_sees_an_emails_open_cases() {
    let t = store();
    let (_, grace) = ada_and_grace(&t.host);
    std::fs::create_dir_all(t.dir.path().join("scripts")).expect("scripts dir");
    std::fs::write(
        t.dir.path().join("scripts/pop.rhai"),
        format!(
            r#"
fn on_screen_pop(pop) {{
    if pop.interaction.channel == "email" && pop.open_cases.len() == 1 {{
        pop.target = #{{ pop: "customer", customer: {} }};
    }}
}}
"#,
            grace.id
        ),
    )
    .expect("script");
    let host = t
        .reopen(&format!(
            "{FIELDS}\n{CONFIG}\n[scripts]\nfiles = [\"pop.rhai\"]\n"
        ))
        .expect("reopen");
    let (number, _, _, _) = stored(
        host.ingest_email(&mail("ada@example.com", "Printer", "p1@x", "", "jams"))
            .expect("ingest"),
    );
    assert_eq!(host.case(number).expect("case").customer, grace.id);
}

#[test]
fn ingest_needs_ingest_email_and_tells_the_mta_agent_only_what_it_may_see() {
    let t = store();
    let root = t.agents(&["ann", "bob", "mta"]);
    root.update_agent(
        "mta",
        dossier_host::AgentChange {
            grant: vec![(dossier_sdk::Permission::IngestEmail, true)],
            ..Default::default()
        },
    )
    .expect("grant");
    let case = bobs_private_case(&t, "m1@x");
    let reply = mail(
        "ada@example.com",
        "Re: Refund",
        "m2@x",
        "In-Reply-To: <m1@x>\r\n",
        "Any news?",
    );
    // A plain agent may not ingest at all: it writes into private cases.
    let ann = t.host.as_agent("ann").expect("ann");
    assert!(matches!(
        ann.ingest_email(&reply),
        Err(Error::PermissionDenied {
            permission: dossier_sdk::Permission::IngestEmail,
            ..
        })
    ));
    assert!(ann.ingest_emails(&[("a", &reply)])[0].is_err());
    // The MTA's agent ingests, and is not told the private case's number.
    let mta = t.host.as_agent("mta").expect("mta");
    assert_eq!(
        mta.ingest_email(&reply).expect("ingested"),
        Ingested::StoredUnseen
    );
    let (follow_ups, _) = t
        .host
        .follow_ups(
            case,
            dossier_host::Page {
                offset: 0,
                limit: 50,
            },
        )
        .expect("list");
    assert!(
        follow_ups.iter().any(|f| f.body.contains("Any news?")),
        "the email joined bob's case"
    );
    // A new public case it may see is named.
    let (opened, _, new_case, _) = stored(
        mta.ingest_email(&mail("grace@example.com", "Hello", "g1@x", "", "Hi"))
            .expect("ingested"),
    );
    assert!(new_case);
    assert_ne!(opened, case);
}

#[test]
fn a_reference_threads_only_mail_from_the_threads_participants() {
    let t = store();
    t.agents(&["ann", "bob"]);
    let case = bobs_private_case(&t, "p1@x");
    // A stranger quoting the case's Message-ID does not join it.
    let (opened, f, new_case, note) = stored(
        t.host
            .ingest_email(&mail(
                "eve@evil.test",
                "Re: Refund",
                "e1@x",
                "In-Reply-To: <p1@x>\r\nReferences: <p1@x>\r\n",
                "Send the refund to me instead.",
            ))
            .expect("eve"),
    );
    assert!(new_case, "{note}");
    assert_ne!(opened, case);
    assert!(note.contains("not on its thread"), "{note}");
    assert!(
        !note.contains(&format!("case {case}")),
        "the note names no case: {note}"
    );
    // The ingest record names the case referred to, for those who may see it.
    let referred = |host: &Host| {
        host.follow_up(f)
            .expect("follow-up")
            .email
            .and_then(|e| e.referred_case)
    };
    assert_eq!(referred(&t.host), Some(case));
    assert_eq!(referred(&t.host.as_agent("bob").expect("bob")), Some(case));
    assert_eq!(
        referred(&t.host.as_agent("ann").expect("ann")),
        None,
        "ann may not see bob's private case"
    );
    // Having written once, eve is still not on the case's thread: a
    // guessable case number from her is not trusted either.
    let (_, _, new_case, note) = stored(
        t.host
            .ingest_email(&mail(
                "eve@evil.test",
                &format!("About [Case #{}]", case.0),
                "e2@x",
                "",
                "Hello?",
            ))
            .expect("eve again"),
    );
    assert!(new_case, "{note}");
    // The customer's own reply joins the case.
    let (joined, _, new_case, _) = stored(
        t.host
            .ingest_email(&mail(
                "ada@example.com",
                "Re: Refund",
                "p2@x",
                "In-Reply-To: <p1@x>\r\n",
                "Any news?",
            ))
            .expect("ada again"),
    );
    assert_eq!((joined, new_case), (case, false));
}

/// Ada's email `message_id` (ingested as the system) opens a case, which
/// bob then takes private.
fn bobs_private_case(t: &TestStore, message_id: &str) -> dossier_sdk::CaseNumber {
    let (case, ..) = stored(
        t.host
            .ingest_email(&mail(
                "ada@example.com",
                "Refund",
                message_id,
                "",
                "Please.",
            ))
            .expect("ada"),
    );
    t.host
        .modify_case(case, "private", |c| {
            c.visibility = dossier_sdk::Visibility::Private;
            c.owner = Some("bob".into());
            Ok(())
        })
        .expect("private");
    case
}

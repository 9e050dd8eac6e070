//! The notification hook: checks before and after handlers, changes, vetoes.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use dossier_host::{Ctx, Error, Handler, Page};
use dossier_sdk::{
    Audience, CaseNumber, Cause, Event, FollowUpKind, Mailbox, NewCase, Notification, Outcome,
};
use dossier_tests::smtp::{DownPort, SmtpServer};
use mail_parser::MessageParser;

use crate::built::dossier_bin;
use crate::pop::{INTERACT, add_customer};
use crate::reminders::mail_config;
use crate::util::TestStore;

fn mailbox(address: &str) -> Mailbox {
    Mailbox {
        name: None,
        address: address.into(),
    }
}

pub(crate) fn notice() -> Notification {
    Notification {
        case_number: Some(CaseNumber(7)),
        audience: Audience::Customer,
        cause: Cause::Manual,
        from: Mailbox {
            name: Some("Support".into()),
            address: "Support@Example.com".into(),
        },
        to: vec![mailbox("Grace@Navy.MIL")],
        cc: Vec::new(),
        bcc: Vec::new(),
        message_id: None,
        in_reply_to: None,
        references: Vec::new(),
        thread_token: None,
        attachments: Vec::new(),
        subject: "Your case 7".into(),
        body: "We fixed it.".into(),
        html: None,
        signature: None,
        review: false,
    }
}

#[test]
fn addresses_are_normalized_and_bad_notifications_are_refused_with_the_field() {
    let t = TestStore::new(INTERACT);
    let sent = t.host.notify(notice()).unwrap();
    assert_eq!(sent.from.address, "support@example.com");
    assert_eq!(sent.to[0].address, "grace@navy.mil");

    let long = format!("{}@example.com", "a".repeat(243));
    assert_eq!(long.len(), 255);
    // 254 characters within RFC 5321's other limits: a local part of 64,
    // domain labels of at most 63.
    let just_fits = format!(
        "{}@{}.{}.{}.com",
        "a".repeat(64),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(57)
    );
    type Change = Box<dyn Fn(&mut Notification)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "bad sender",
            Box::new(|n| n.from.address = "support".into()),
        ),
        (
            "second recipient",
            Box::new(|n| n.to.push(mailbox("not an address"))),
        ),
        (
            "bcc too long",
            Box::new(move |n| n.bcc = vec![mailbox(&long)]),
        ),
        ("nobody to send to", Box::new(|n| n.to.clear())),
        (
            "header injection",
            Box::new(|n| n.subject = "Hi\r\nBcc: all@example.com".into()),
        ),
        (
            "display name injection",
            Box::new(|n| n.to[0].name = Some("Grace\nBcc: x@example.com".into())),
        ),
    ];
    let mut out = String::new();
    for (name, change) in cases {
        let mut n = notice();
        change(&mut n);
        let err = t.host.notify(n).unwrap_err();
        assert!(matches!(err, Error::InvalidNotification { .. }), "{err:?}");
        out.push_str(&format!("{name}: {err}\n"));
    }
    insta::assert_snapshot!(out);
    let mut n = notice();
    n.cc = vec![mailbox(&just_fits)];
    assert_eq!(t.host.notify(n).unwrap().cc[0].address.len(), 254);
}

/// The compliance integration: signs everything, copies the case's
/// supervisor, refuses mail to competitors, and once misbehaves by writing
/// an invalid recipient.
struct Compliance;

impl Handler for Compliance {
    fn name(&self) -> &str {
        "compliance"
    }

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::Notification(_))
    }

    fn handle(&self, _ctx: &mut Ctx, event: &mut Event) -> dossier_host::Result<Outcome> {
        let Event::Notification(n) = event else {
            return Ok(Outcome::Continue);
        };
        if n.to
            .iter()
            .any(|m| m.address.ends_with("@competitor.example"))
        {
            return Ok(Outcome::Veto("we do not write to competitors".into()));
        }
        if n.subject == "broken" {
            n.cc.push(mailbox("supervisor"));
        }
        n.signature = Some("-- \nThe Support Team".into());
        n.bcc.push(mailbox("Archive@Example.com"));
        Ok(Outcome::Continue)
    }
}

#[test]
fn handlers_change_the_notification_which_is_checked_again_or_veto_it() {
    let mut t = TestStore::new(INTERACT);
    t.set_handlers(vec![Arc::new(Compliance)]);
    let sent = t.host.notify(notice()).unwrap();
    assert_eq!(sent.signature.as_deref(), Some("-- \nThe Support Team"));
    assert_eq!(
        sent.bcc,
        vec![mailbox("archive@example.com")],
        "normalized after the hook"
    );

    let mut n = notice();
    n.to = vec![mailbox("ceo@competitor.example")];
    let err = t.host.notify(n).unwrap_err();
    assert!(matches!(&err, Error::Vetoed { by, .. } if by == "compliance"));
    assert_eq!(
        err.to_string(),
        "vetoed by compliance: we do not write to competitors"
    );

    let mut n = notice();
    n.subject = "broken".into();
    insta::assert_snapshot!(t.host.notify(n).unwrap_err(), @"notification is invalid: cc[0] has `supervisor`, which is not an email address: it has no `@` (after the notification hooks)");
}

/// A notice on a real case of Grace's, to her and to `cc`.
fn case_notice(t: &TestStore, cc: &str) -> Notification {
    let grace = add_customer(&t.host, "AC-000002", "Grace Hopper", "+12125550100", "");
    let case = t.host.open_case(NewCase::new(grace, "Printer")).unwrap();
    Notification {
        case_number: Some(case.number),
        cc: vec![mailbox(cc)],
        signature: Some("The Support Team".into()),
        ..notice()
    }
}

#[test]
fn with_email_smtp_a_notification_is_mailed_after_commit_and_a_refused_recipient_is_noted_on_the_case()
 {
    let server = SmtpServer::builder()
        .refuse("nobody@example.org", 550, "5.1.1 no such user")
        .start();
    let t = TestStore::new(&mail_config(server.port()));
    let n = case_notice(&t, "Nobody@Example.org");
    let case = n.case_number.unwrap();
    let sent = t.host.notify(n).unwrap();
    let id = sent.message_id.clone().expect("queued with a Message-ID");

    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let mail = &messages[0];
    assert_eq!(mail.mail_from, "support@example.com");
    assert_eq!(
        mail.rcpt_to,
        vec!["grace@navy.mil"],
        "the other one is refused"
    );
    let parsed = MessageParser::default().parse(&mail.data).expect("parses");
    assert_eq!(parsed.message_id(), Some(id.as_str()));
    assert_eq!(
        parsed.header_raw("Auto-Submitted"),
        None,
        "an agent's manual notice is no automatic mail"
    );
    assert!(parsed.cc().expect("Cc").contains("nobody@example.org"));
    assert_eq!(
        parsed.body_text(0).as_deref(),
        Some("We fixed it.\r\n\r\n-- \r\nThe Support Team\r\n")
    );
    assert!(t.host.pending_outbox().unwrap().is_empty(), "delivered");

    let (notes, total) = t.host.follow_ups(case, Page::default()).unwrap();
    assert_eq!(total, 1, "{notes:?}");
    assert_eq!(notes[0].kind, FollowUpKind::System);
    assert_eq!(
        notes[0].body,
        format!(
            "Email <{id}> was delivered to grace@navy.mil, and refused for nobody@example.org (550 5.1.1 no such user)."
        )
    );
}

#[test]
fn a_notice_for_review_or_without_email_smtp_is_not_sent_and_one_to_cc_only_is() {
    let server = SmtpServer::start();
    let t = TestStore::new(&mail_config(server.port()));
    let mut review = notice();
    review.review = true;
    let kept = t.host.notify(review).unwrap();
    assert_eq!(kept.message_id, None);
    assert!(t.host.pending_outbox().unwrap().is_empty());
    assert!(server.messages().is_empty(), "it waits for QA review");

    let mut cc_only = notice();
    cc_only.cc = std::mem::take(&mut cc_only.to);
    t.host.notify(cc_only).unwrap();
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].rcpt_to, vec!["grace@navy.mil"]);

    let plain = TestStore::new(INTERACT);
    assert_eq!(plain.host.notify(notice()).unwrap().message_id, None);
    assert!(plain.host.pending_outbox().unwrap().is_empty());
}

fn dossier(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(dossier_bin())
        .current_dir(dir)
        .args(args)
        .env_remove("DOSSIER_LOG")
        .env_remove("DOSSIER_CONFIG")
        .output()
        .expect("run dossier");
    assert!(
        out.status.success(),
        "dossier {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn dossier_notify_mails_through_the_outbox_and_outbox_retry_sends_what_failed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let down = DownPort::new();
    let port = down.port();
    std::fs::write(d.join("dossier.toml"), mail_config(port)).expect("config");
    crate::util::create_store(d);
    let send = [
        "notify",
        "--from",
        "support@example.com",
        "--to",
        "ann@example.org",
        "--subject",
        "Your printer",
        "--body",
        "Fixed.",
    ];

    // The server is down: queued, the first attempt failed.
    let out = dossier(d, &send);
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("(checked and passed the notification hooks; queued as <")
            && last.contains("not sent yet: email not sent (temporary failure) connecting: ")
            && last.ends_with(
                "the outbox tries again (`dossier outbox list`, `dossier outbox retry 1`))"
            ),
        "{out}"
    );
    let list = dossier(d, &["outbox", "list"]);
    assert!(
        list.starts_with("#1 ") && list.contains(" to smtp: failed 1×"),
        "{list}"
    );

    // Up again: `outbox retry` sends it, once.
    let server = SmtpServer::builder().on(down).start();
    assert_eq!(
        dossier(d, &["outbox", "retry"]),
        "retried 1 deliveries; 0 still failing or dead\n"
    );
    assert_eq!(
        dossier(d, &["outbox", "list"]),
        "the outbox is empty: every delivery was made\n"
    );
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].rcpt_to, vec!["ann@example.org"]);

    // With the server up, it is sent at once.
    let out = dossier(d, &send);
    let parsed_id = {
        let last = out.lines().last().unwrap_or_default();
        let id = last
            .strip_prefix("(checked and passed the notification hooks; sent over SMTP as <")
            .and_then(|rest| rest.strip_suffix(">)"))
            .unwrap_or_else(|| panic!("{out}"));
        id.to_owned()
    };
    let messages = server.messages();
    assert_eq!(messages.len(), 2);
    let parsed = MessageParser::default()
        .parse(&messages[1].data)
        .expect("parses");
    assert_eq!(parsed.message_id(), Some(parsed_id.as_str()));
    assert_eq!(
        dossier(d, &["outbox", "retry"]),
        "retried 0 deliveries; 0 still failing or dead\n"
    );
    assert_eq!(server.messages().len(), 2);

    // Without [email.smtp], the CLI says nothing is sent.
    std::fs::write(d.join("dossier.toml"), INTERACT).expect("config");
    let out = dossier(d, &send);
    assert!(
        out.ends_with("(checked and passed the notification hooks; not sent: [email.smtp] is not configured)\n"),
        "{out}"
    );
}

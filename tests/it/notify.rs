//! The notification hook: checks before and after handlers, changes, vetoes.

use std::sync::Arc;

use dossier_host::{Ctx, Error, Handler};
use dossier_sdk::{Audience, CaseNumber, Cause, Event, Mailbox, Notification, Outcome};

use crate::pop::INTERACT;
use crate::util::TestStore;

fn mailbox(address: &str) -> Mailbox {
    Mailbox {
        name: None,
        address: address.into(),
    }
}

fn notice() -> Notification {
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

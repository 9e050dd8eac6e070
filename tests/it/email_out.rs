//! Outbound email end to end: drafts sent by agents through the host's
//! outbox to a real SMTP server on 127.0.0.1 (`dossier_tests::smtp`), and
//! the customer's answer threaded back by ingest.

use dossier_host::{AgentChange, CaseAfterDiscard, DraftStart, Error, Host, NotifyOutcome};
use dossier_sdk::{
    Audience, Cause, DraftChange, DraftState, FollowUpId, FollowUpKind, Ingested, Mailbox,
    NewAgent, Notification, Permission, Role, SignatureOwner,
};
use dossier_tests::smtp::{Received, SmtpServer};
use mail_parser::{MessageParser, MimeHeaders};

use crate::util::{FIELDS, TestStore};

fn config(server: &SmtpServer, tls: &str) -> String {
    format!(
        "{FIELDS}\n[email]\naddresses = [\"support@dossier.test\"]\n\
         [email.smtp]\nhost = \"127.0.0.1\"\nport = {}\nhello_name = \"crm.dossier.test\"\n{tls}\n",
        server.port()
    )
}

/// A store sending to `server`, with agents ann (the first admin's helper)
/// and ben, and one inbound email from Ada that opened case 1.
fn desk(server: &SmtpServer, tls: &str) -> (TestStore, Host, FollowUpId) {
    desk_with(&config(server, tls))
}

/// [`desk`] on the store of `config`.
fn desk_with(config: &str) -> (TestStore, Host, FollowUpId) {
    let t = TestStore::new(config);
    let root = t.host.first_admin("root").expect("admin").expect("made");
    let root = t.host.as_agent(&root.login).expect("root");
    for login in ["ann", "ben"] {
        root.add_agent(NewAgent {
            login: login.into(),
            display_name: format!("{login} Agent"),
            email: Some(format!("{login}@dossier.test")),
            role: Role::Agent,
            groups: Vec::new(),
        })
        .expect("agent");
    }
    let raw = "From: Ada Lovelace <ada@example.com>\r\nTo: Support <support@dossier.test>\r\n\
        Cc: Charles <charles@example.com>, Support Copy <support@dossier.test>\r\n\
        Subject: Printer on fire\r\nMessage-ID: <ada-1@example.com>\r\n\
        Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\nIt is on fire.\r\n.A line starting with a dot.\r\n";
    let f = match t.host.ingest_email(raw.as_bytes()).expect("ingest") {
        Ingested::Stored { follow_up, .. } => follow_up,
        other => panic!("{other:?}"),
    };
    let ann = t.host.as_agent("ann").expect("ann");
    (t, ann, f)
}

fn parsed(m: &Received) -> mail_parser::Message<'_> {
    MessageParser::default().parse(&m.data).expect("a message")
}

/// A text notification on case 1 from `from` to `to`.
fn notice(cause: Cause, from: &str, to: &str, subject: &str) -> Notification {
    let mailbox = |address: &str| Mailbox {
        name: None,
        address: address.into(),
    };
    Notification {
        case_number: Some(dossier_sdk::CaseNumber(1)),
        audience: Audience::Customer,
        cause,
        from: mailbox(from),
        to: vec![mailbox(to)],
        cc: Vec::new(),
        bcc: Vec::new(),
        message_id: None,
        in_reply_to: None,
        references: Vec::new(),
        thread_token: None,
        attachments: Vec::new(),
        subject: subject.into(),
        body: "Hi".into(),
        html: None,
        signature: None,
        review: false,
    }
}

#[test]
fn a_reply_goes_out_after_commit_with_its_headers_and_the_answer_threads_back() {
    let server = SmtpServer::start();
    let (t, ann, email) = desk(&server, "security = \"none\"");
    let draft = ann.start_draft(DraftStart::Reply(email)).expect("draft");
    assert_eq!(draft.subject, "Re: Printer on fire");
    assert_eq!(draft.to[0].address, "ada@example.com");
    assert_eq!(
        draft.from.as_ref().map(|m| m.address.as_str()),
        Some("ann@dossier.test")
    );
    assert!(draft.body.contains("> It is on fire."), "{}", draft.body);
    assert!(
        ann.my_workbin(false)
            .expect("bin")
            .iter()
            .any(|i| i.draft == Some(draft.id)),
        "the draft waits in the workbin"
    );
    ann.edit_draft(
        draft.id,
        DraftChange {
            body: Some(format!("We are on our way.\n.Bring water.\n{}", draft.body)),
            ..Default::default()
        },
    )
    .expect("edit");
    let sent = ann.send_draft(draft.id).expect("send");
    assert_eq!(sent.state, DraftState::Sent);
    assert!(
        !ann.my_workbin(false)
            .expect("bin")
            .iter()
            .any(|i| i.draft == Some(draft.id))
    );

    let messages = server.messages();
    assert_eq!(messages.len(), 1, "delivered once, right after the commit");
    let m = &messages[0];
    assert_eq!(m.mail_from, "ann@dossier.test");
    assert_eq!(m.rcpt_to, ["ada@example.com"]);
    let p = parsed(m);
    let token = t
        .host
        .thread_token(dossier_sdk::CaseNumber(1))
        .expect("token");
    assert_eq!(
        p.subject(),
        Some(format!("Re: Printer on fire [#{token}]").as_str())
    );
    assert!(p.date().is_some());
    assert_eq!(p.header_raw("MIME-Version").map(str::trim), Some("1.0"));
    assert_eq!(p.in_reply_to().as_text(), Some("ada-1@example.com"));
    assert_eq!(p.references().as_text(), Some("ada-1@example.com"));
    assert_eq!(
        p.header_raw("X-Dossier-Thread").map(str::trim),
        Some(token.as_str())
    );
    let text = p.body_text(0).expect("text");
    assert!(
        text.contains("\n.Bring water."),
        "dot-stuffing undone: {text}"
    );
    let message_id = p.message_id().expect("Message-ID").to_owned();

    let out = t
        .host
        .follow_up(sent.follow_up.expect("follow-up"))
        .expect("email_out");
    assert_eq!(out.kind, FollowUpKind::EmailOut);
    assert_eq!(out.author, "ann");
    assert_eq!(
        out.email.as_ref().and_then(|e| e.message_id.as_deref()),
        Some(message_id.as_str())
    );

    // Ada answers from a client that keeps only In-Reply-To.
    let answer = format!(
        "From: ada@example.com\r\nTo: support@dossier.test\r\nSubject: thanks\r\n\
         Message-ID: <ada-2@example.com>\r\nIn-Reply-To: <{message_id}>\r\n\r\nThank you!\r\n"
    );
    match t.host.ingest_email(answer.as_bytes()).expect("answer") {
        Ingested::Stored {
            case_number,
            new_case,
            workbin,
            ..
        } => {
            assert_eq!(case_number.0, 1);
            assert!(!new_case);
            assert_eq!(
                workbin.as_deref(),
                Some("ann"),
                "the last agent on the case"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn sending_without_from_or_to_is_refused_naming_the_field_and_the_draft_stays() {
    let server = SmtpServer::start();
    let (_t, ann, email) = desk(&server, "security = \"none\"");
    let draft = ann.start_draft(DraftStart::Reply(email)).expect("draft");
    ann.edit_draft(
        draft.id,
        DraftChange {
            to: Some(Vec::new()),
            ..Default::default()
        },
    )
    .expect("edit");
    let err = ann.send_draft(draft.id).expect_err("no To");
    assert!(
        matches!(&err, Error::InvalidNotification { field, .. } if field == "to"),
        "{err}"
    );
    let kept = ann.draft(draft.id).expect("draft");
    assert_eq!(kept.state, DraftState::Draft);
    assert_eq!(kept.body, draft.body);
    assert!(server.messages().is_empty());

    let bad = ann.edit_draft(
        draft.id,
        DraftChange {
            to: Some(vec![Mailbox {
                name: None,
                address: "a;b@c.com".into(),
            }]),
            ..Default::default()
        },
    );
    let err = bad
        .and_then(|_| ann.send_draft(draft.id))
        .expect_err("bad address");
    assert!(err.to_string().contains("a;b@c.com"), "{err}");
    assert_eq!(ann.draft(draft.id).expect("draft").state, DraftState::Draft);

    // Another agent cannot send ann's draft.
    let ben = ann.as_agent("ben").expect("ben");
    assert!(ben.send_draft(draft.id).is_err());
}

#[test]
fn reply_all_copies_everyone_but_us_and_one_refused_recipient_spares_the_others() {
    let server = SmtpServer::builder()
        .refuse("charles@example.com", 550, "no such user")
        .start();
    let (t, ann, email) = desk(&server, "security = \"none\"");
    let draft = ann.start_draft(DraftStart::ReplyAll(email)).expect("draft");
    let cc: Vec<&str> = draft.cc.iter().map(|m| m.address.as_str()).collect();
    assert_eq!(cc, ["charles@example.com"], "support@ (ours) left out");
    ann.edit_draft(
        draft.id,
        DraftChange {
            cc: Some(vec![
                Mailbox {
                    name: None,
                    address: "charles@example.com".into(),
                },
                Mailbox {
                    name: None,
                    address: "dana@example.com".into(),
                },
            ]),
            ..Default::default()
        },
    )
    .expect("edit");
    ann.send_draft(draft.id).expect("send");
    let m = &server.messages()[0];
    assert_eq!(m.rcpt_to, ["ada@example.com", "dana@example.com"]);
    let (notes, _) = t
        .host
        .follow_ups(
            dossier_sdk::CaseNumber(1),
            dossier_host::Page {
                offset: 0,
                limit: 20,
            },
        )
        .expect("list");
    assert!(
        notes.iter().any(|f| f.kind == FollowUpKind::System
            && f.body.contains("refused for charles@example.com (550")),
        "the refusal is on the case"
    );
}

#[test]
fn a_forward_carries_the_note_above_and_the_attachments_along_over_tls() {
    let server = SmtpServer::builder().starttls().start();
    let dir = tempfile::tempdir().expect("dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, server.ca_pem().expect("a CA")).expect("ca");
    let (t, ann, _) = desk(
        &server,
        &format!(
            "security = \"starttls\"\nca_file = {:?}",
            ca.display().to_string()
        ),
    );
    let raw = "From: ada@example.com\r\nTo: support@dossier.test\r\nSubject: The log\r\n\
        Message-ID: <log@example.com>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
        See the log.\r\n--b\r\nContent-Type: text/plain; name=\"app.log\"\r\n\
        Content-Disposition: attachment; filename=\"app.log\"\r\n\r\nERROR 42\r\n--b--\r\n";
    let Ingested::Stored { follow_up, .. } = t.host.ingest_email(raw.as_bytes()).expect("in")
    else {
        panic!("not stored")
    };
    let draft = ann
        .start_draft(DraftStart::Forward(follow_up))
        .expect("forward");
    assert_eq!(draft.subject, "Fwd: The log");
    assert_eq!(draft.attachments.len(), 1);
    ann.edit_draft(
        draft.id,
        DraftChange {
            to: Some(vec![Mailbox {
                name: None,
                address: "vendor@partner.example".into(),
            }]),
            body: Some(format!("Could you look at this?{}", draft.body)),
            ..Default::default()
        },
    )
    .expect("edit");
    ann.send_draft(draft.id).expect("send");
    let messages = server.messages();
    let m = &messages[0];
    assert!(m.tls, "sent over STARTTLS with the test's own certificate");
    let p = parsed(m);
    let text = p.body_text(0).expect("text");
    let note = text.find("Could you look at this?").expect("note");
    let quoted = text
        .find("---------- Forwarded message")
        .expect("forwarded");
    assert!(note < quoted, "the note goes above the message");
    let attachment = p.attachments().next().expect("attachment");
    assert_eq!(attachment.attachment_name(), Some("app.log"));
    assert_eq!(attachment.contents(), b"ERROR 42");
}

#[test]
fn an_agent_sends_only_from_their_own_their_groups_or_shared_addresses_without_send_as() {
    let server = SmtpServer::start();
    let (t, ann, email) = desk(&server, "security = \"none\"");
    let root = t.host.as_agent("root").expect("root");
    root.add_group("billing", Some("billing@dossier.test".into()))
        .expect("group");
    root.update_agent(
        "ann",
        AgentChange {
            groups: Some(vec!["billing".into()]),
            ..Default::default()
        },
    )
    .expect("group");
    let from = |address: &str| DraftChange {
        from: Some(Mailbox {
            name: None,
            address: address.into(),
        }),
        ..Default::default()
    };
    // Someone else's address: refused in the host, the draft kept.
    let draft = ann.start_draft(DraftStart::Reply(email)).expect("draft");
    ann.edit_draft(draft.id, from("ceo@dossier.test"))
        .expect("edit");
    let err = ann.send_draft(draft.id).expect_err("not hers");
    assert!(
        matches!(&err, Error::PermissionDenied { permission: Permission::SendAs, login, .. } if login == "ann"),
        "{err}"
    );
    assert!(err.to_string().contains("ceo@dossier.test"), "{err}");
    assert_eq!(ann.draft(draft.id).expect("kept").state, DraftState::Draft);
    // And through notify, as a script or the API would.
    let notice = notice(
        Cause::Manual,
        "ceo@dossier.test",
        "ada@example.com",
        "Hello",
    );
    assert!(matches!(
        ann.notify(notice.clone()),
        Err(Error::PermissionDenied {
            permission: Permission::SendAs,
            ..
        })
    ));
    assert!(server.messages().is_empty());
    // Her own, her group's and the shared address (any +tag) are hers.
    for ok in [
        "ann@dossier.test",
        "Billing@Dossier.test",
        "support+case-1@dossier.test",
    ] {
        let mut n = notice.clone();
        n.from.address = ok.into();
        ann.notify(n).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    assert_eq!(server.messages().len(), 3);
    // With `send_as`, any address; the system is not checked.
    root.update_agent(
        "ann",
        AgentChange {
            grant: vec![(Permission::SendAs, true)],
            ..Default::default()
        },
    )
    .expect("grant");
    ann.notify(notice.clone()).expect("send_as");
    t.host.notify(notice).expect("system");
    assert_eq!(server.messages().len(), 5);
}

#[test]
fn transfer_needs_its_permission_and_lands_in_the_other_workbin() {
    let server = SmtpServer::start();
    let (t, ann, email) = desk(&server, "security = \"none\"");
    let root = t.host.as_agent("root").expect("root");
    root.update_agent(
        "ann",
        AgentChange {
            grant: vec![(Permission::TransferEmail, false)],
            ..Default::default()
        },
    )
    .expect("revoke");
    let err = ann
        .transfer_email(email, Some("ben"), None, "billing question")
        .expect_err("refused");
    assert!(
        matches!(
            &err,
            Error::PermissionDenied {
                permission: Permission::TransferEmail,
                ..
            }
        ),
        "{err}"
    );
    root.update_agent(
        "ann",
        AgentChange {
            reset: vec![Permission::TransferEmail],
            ..Default::default()
        },
    )
    .expect("grant");
    ann.transfer_email(email, Some("ben"), None, "billing question")
        .expect("transfer");
    let ben = t.host.as_agent("ben").expect("ben");
    let bin = ben.my_workbin(false).expect("bin");
    assert_eq!(bin.len(), 1);
    assert_eq!(bin[0].follow_up, Some(email));
    assert!(
        bin[0]
            .reason
            .contains("transferred by ann: billing question")
    );
    let (list, _) = t
        .host
        .follow_ups(
            dossier_sdk::CaseNumber(1),
            dossier_host::Page {
                offset: 0,
                limit: 20,
            },
        )
        .expect("list");
    assert!(
        list.iter()
            .any(|f| f.body.contains("ann transferred email"))
    );
}

#[test]
fn a_consulted_colleagues_answer_is_an_internal_note_the_customer_never_sees() {
    let server = SmtpServer::start();
    let (t, ann, email) = desk(&server, "security = \"none\"");
    let asked = ann
        .consult(email, "ben", "Is this covered by the warranty?")
        .expect("consult");
    assert_eq!(asked.kind, FollowUpKind::Note);
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].rcpt_to,
        ["ben@dossier.test"],
        "only the colleague"
    );
    let p = parsed(&messages[0]);
    let question_id = p.message_id().expect("id").to_owned();
    assert!(p.body_text(0).expect("text").contains("It is on fire."));

    let answer = format!(
        "From: Ben <ben@dossier.test>\r\nTo: ann@dossier.test\r\nSubject: Re: Consultation\r\n\
         Message-ID: <ben-1@dossier.test>\r\nIn-Reply-To: <{question_id}>\r\n\r\nYes, two years.\r\n"
    );
    let Ingested::Stored {
        follow_up,
        case_number,
        workbin,
        ..
    } = t.host.ingest_email(answer.as_bytes()).expect("answer")
    else {
        panic!("not stored")
    };
    assert_eq!(case_number.0, 1);
    assert_eq!(workbin.as_deref(), Some("ann"));
    let note = t.host.follow_up(follow_up).expect("note");
    assert_eq!(
        note.kind,
        FollowUpKind::Note,
        "internal, not an email on the thread"
    );
    assert_eq!(note.author, "ben");
    assert_eq!(server.messages().len(), 1, "nothing went to the customer");

    // Someone on the thread who was not consulted (Charles, copied on the
    // customer's email) answering the consultation's Message-ID: an
    // outside email on the case, not a note in a colleague's name.
    let spoof = format!(
        "From: Charles <charles@example.com>\r\nTo: ann@dossier.test\r\nSubject: Re: Consultation\r\n\
         Message-ID: <charles-1@example.com>\r\nIn-Reply-To: <{question_id}>\r\n\r\nIt is covered, trust me.\r\n"
    );
    let Ingested::Stored { follow_up, .. } = t.host.ingest_email(spoof.as_bytes()).expect("spoof")
    else {
        panic!("not stored")
    };
    let outside = t.host.follow_up(follow_up).expect("follow-up");
    assert_eq!(outside.kind, FollowUpKind::EmailIn, "{outside:?}");
    assert_eq!(outside.author, "customer");

    // Ben's answer carrying the case's thread token as well (the token
    // rule decides the case): still his note, recognised by the
    // consultation's Message-ID.
    let token = ann.thread_token(dossier_sdk::CaseNumber(1)).expect("token");
    let answer = format!(
        "From: Ben <ben@dossier.test>\r\nTo: ann@dossier.test\r\nSubject: Re: Consultation [#{token}]\r\n\
         Message-ID: <ben-2@dossier.test>\r\nIn-Reply-To: <{question_id}>\r\n\r\nAnd the battery too.\r\n"
    );
    let Ingested::Stored { follow_up, .. } =
        t.host.ingest_email(answer.as_bytes()).expect("answer")
    else {
        panic!("not stored")
    };
    let note = t.host.follow_up(follow_up).expect("note");
    assert_eq!(
        (note.kind, note.author.as_str()),
        (FollowUpKind::Note, "ben")
    );
}

#[test]
fn an_automatic_notice_answering_automatic_mail_is_never_sent_but_a_persons_reply_is() {
    let server = SmtpServer::start();
    let t = TestStore::new(&config(&server, "security = \"none\""));
    t.host
        .ingest_email(
            b"From: robot@example.com\r\nSubject: away\r\nX-Autoreply: yes\r\nMessage-ID: <r1@e>\r\n\r\nout\r\n",
        )
        .expect("robot");
    let notice = |cause| Notification {
        in_reply_to: Some("r1@e".into()),
        references: vec!["r1@e".into()],
        ..notice(
            cause,
            "support@dossier.test",
            "robot@example.com",
            "Re: away",
        )
    };
    for cause in [Cause::System, Cause::Acknowledgement, Cause::Reminder] {
        let n = t.host.notify(notice(cause)).expect("notify");
        assert!(
            matches!(
                t.host.notification_outcome(&n).expect("outcome"),
                NotifyOutcome::NotSent
            ),
            "{cause:?}"
        );
    }
    assert!(server.messages().is_empty(), "nothing answered the robot");
    // A person may still answer it.
    let n = t.host.notify(notice(Cause::Manual)).expect("notify");
    assert!(matches!(
        t.host.notification_outcome(&n).expect("outcome"),
        NotifyOutcome::Sent { .. }
    ));
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn every_html_body_is_sanitized_at_send_and_signatures_use_the_same_policy() {
    let server = SmtpServer::start();
    let t = TestStore::new(&config(&server, "security = \"none\""));
    // HTML set by the caller of `Host::notify` (a hook or plugin alike):
    // cleaned on the way out, with the policy inbound mail is read with.
    let n = t
        .host
        .notify(Notification {
            case_number: None,
            html: Some(
                "<p onclick=\"steal()\">Hi</p><script>alert(1)</script>\
                 <img src=\"cid:logo\" alt=\"logo\"><a href=\"javascript:x()\">x</a>"
                    .into(),
            ),
            ..notice(
                Cause::Manual,
                "support@dossier.test",
                "ada@example.com",
                "Hello",
            )
        })
        .expect("notify");
    assert!(n.message_id.is_some());
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let html = parsed(&messages[0])
        .body_html(0)
        .expect("an html part")
        .into_owned();
    for gone in ["<script", "onclick", "alert(1)", "javascript:"] {
        assert!(!html.contains(gone), "{gone} went out: {html}");
    }
    assert!(html.contains("cid:logo"), "inline images stay: {html}");
    // A signature's HTML keeps what mail keeps (an inline image by cid:),
    // and loses what mail loses.
    let root = t.host.first_admin("root").expect("admin").expect("made");
    let sig = t
        .host
        .as_agent(&root.login)
        .expect("root")
        .add_signature(
            &SignatureOwner::Agent(root.login.clone()),
            "main",
            "Root",
            Some("<img src=\"cid:sig\"><b onmouseover=\"x()\">Root</b>"),
            true,
        )
        .expect("signature");
    let sig_html = sig.html.expect("html");
    assert!(sig_html.contains("cid:sig"), "{sig_html}");
    assert!(!sig_html.contains("onmouseover"), "{sig_html}");
}

#[test]
fn an_acknowledgement_is_marked_auto_submitted_and_automatic_mail_gets_none() {
    let server = SmtpServer::start();
    let t = TestStore::new(
        &config(&server, "security = \"none\"")
            .replace("[email]\n", "[email]\nacknowledge = true\n"),
    );
    t.host
        .ingest_email(b"From: x@example.com\r\nSubject: hi\r\nMessage-ID: <x1@e>\r\n\r\nhello\r\n")
        .expect("person");
    t.host
        .ingest_email(
            b"From: y@example.com\r\nSubject: away\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <y1@e>\r\n\r\nout\r\n",
        )
        .expect("robot");
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].rcpt_to, ["x@example.com"]);
    let p = parsed(&messages[0]);
    assert_eq!(
        p.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
}

/// `[email.smtp] transport = "file"`: a reply and a notification go through
/// the outbox like any mail and land as `.eml` files, `0600`, named so they
/// sort by time; nothing waits in the outbox.
#[test]
fn with_the_file_transport_a_reply_and_a_notification_land_as_files() {
    let (t, ann, email) = desk_with(&format!(
        "{FIELDS}\n[email]\naddresses = [\"support@dossier.test\"]\n\
         [email.smtp]\ntransport = \"file\"\nfolder = \"outbox-mail\"\n"
    ));
    let folder = t.dir.path().join("outbox-mail");
    let files = || {
        let mut names: Vec<std::path::PathBuf> = match std::fs::read_dir(&folder) {
            Ok(entries) => entries.map(|e| e.expect("entry").path()).collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    };
    assert!(files().is_empty(), "nothing is written before a send");

    let draft = ann.start_draft(DraftStart::Reply(email)).expect("draft");
    ann.edit_draft(
        draft.id,
        DraftChange {
            body: Some(format!("We are on our way.\n{}", draft.body)),
            bcc: Some(vec![Mailbox {
                name: None,
                address: "audit@dossier.test".into(),
            }]),
            ..Default::default()
        },
    )
    .expect("edit");
    let sent = ann.send_draft(draft.id).expect("send");
    let reply = t
        .host
        .follow_up(sent.follow_up.expect("a follow-up"))
        .expect("follow-up");
    let reply_id = reply
        .email
        .and_then(|e| e.message_id)
        .expect("a Message-ID");

    t.clock.advance(chrono::Duration::seconds(5));
    let n = t
        .host
        .notify(notice(
            Cause::Manual,
            "support@dossier.test",
            "ada@example.com",
            "Your printer",
        ))
        .expect("notify");
    assert!(matches!(
        t.host.notification_outcome(&n).expect("outcome"),
        NotifyOutcome::Sent { .. }
    ));
    assert!(t.host.pending_outbox().expect("outbox").is_empty());

    let written = files();
    assert_eq!(written.len(), 2, "{written:?}");
    let read = |i: usize| std::fs::read(&written[i]).expect("read");
    let (first, second) = (read(0), read(1));
    let first = MessageParser::default().parse(&first).expect("a message");
    let second = MessageParser::default().parse(&second).expect("a message");
    // Sorted by name is sorted by time: the reply, then the notification.
    assert_eq!(first.message_id(), Some(reply_id.as_str()));
    assert!(
        first
            .subject()
            .is_some_and(|s| s.starts_with("Re: Printer on fire [#")),
        "{:?}",
        first.subject()
    );
    assert_eq!(first.in_reply_to().as_text(), Some("ada-1@example.com"));
    assert!(
        first
            .body_text(0)
            .expect("text")
            .contains("We are on our way."),
        "{first:?}"
    );
    assert!(first.header("Bcc").is_none(), "Bcc is in no header");
    assert_eq!(second.subject(), Some("Your printer"));
    assert_eq!(second.message_id(), n.message_id.as_deref());
    #[cfg(unix)]
    for path in &written {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

/// A draft started for a customer found by search (`draft new --customer`)
/// opens a case for itself; discarding the draft closes that case when it
/// holds nothing else, with a system note saying why. A case holding
/// anything more (a follow-up, another draft, a task) stays, and a draft
/// on an existing case never touches it.
#[test]
fn discarding_a_new_email_draft_closes_the_case_opened_only_for_it() {
    let server = SmtpServer::start();
    let (t, ann, _) = desk(&server, "security = \"none\"");
    let grace = t
        .host
        .create_customer(dossier_sdk::NewCustomer {
            account: "AC-000009".into(),
            name: "Grace Hopper".into(),
            emails: vec![dossier_sdk::Email {
                label: "work".into(),
                address: "grace@example.com".into(),
            }],
            ..Default::default()
        })
        .expect("customer");
    let start = || {
        ann.start_draft(DraftStart::Customer(grace.id))
            .expect("a new email")
    };

    // Alone: closed with the draft, and the note says why.
    let alone = start();
    assert!(alone.opened_case);
    let discarded = ann.discard_draft(alone.id).expect("discard");
    assert_eq!(discarded.draft.state, DraftState::Discarded);
    assert_eq!(
        discarded.case,
        CaseAfterDiscard::Closed {
            number: alone.case_number,
            status: "closed".into()
        }
    );
    let case = t.host.case(alone.case_number).expect("case");
    assert_eq!(case.status, "closed");
    let (notes, total) = t
        .host
        .follow_ups(alone.case_number, Default::default())
        .expect("follow-ups");
    assert_eq!(total, 1);
    assert_eq!(notes[0].kind, FollowUpKind::System);
    assert_eq!(
        notes[0].body,
        format!(
            "Case {} was opened for email draft {} only, which ann discarded; it is closed.",
            alone.case_number, alone.id
        )
    );

    // A note on the case: it stays open.
    let noted = start();
    ann.add_follow_up(dossier_sdk::NewFollowUp::note(
        noted.case_number,
        "ann",
        "Grace asked for a quote by phone.",
    ))
    .expect("note");
    assert_eq!(
        ann.discard_draft(noted.id).expect("discard").case,
        CaseAfterDiscard::Kept {
            number: noted.case_number
        }
    );
    assert_eq!(t.host.case(noted.case_number).expect("case").status, "open");

    // Another draft on the same case: it stays open; discarding that one,
    // started on the existing case, leaves the case alone too.
    let first = start();
    let second = ann
        .start_draft(DraftStart::Case(first.case_number))
        .expect("a second draft");
    assert!(!second.opened_case);
    assert_eq!(
        ann.discard_draft(first.id).expect("discard").case,
        CaseAfterDiscard::Kept {
            number: first.case_number
        }
    );
    assert_eq!(
        ann.discard_draft(second.id).expect("discard").case,
        CaseAfterDiscard::Untouched
    );
    assert_eq!(t.host.case(first.case_number).expect("case").status, "open");

    // A task on the case: it stays open.
    let planned = start();
    ann.add_task(dossier_sdk::NewTask {
        customer: None,
        case: Some(planned.case_number),
        kind: dossier_sdk::TaskKind::Call,
        subject: "Call Grace back".into(),
        due_at: t.host.now() + chrono::Duration::hours(1),
        reminder_minutes: None,
        assignee: Some("ann".into()),
        custom: Default::default(),
    })
    .expect("task");
    assert_eq!(
        ann.discard_draft(planned.id).expect("discard").case,
        CaseAfterDiscard::Kept {
            number: planned.case_number
        }
    );

    // A sent draft's case is the customer's email: never closed by a discard.
    let sent = start();
    ann.edit_draft(
        sent.id,
        DraftChange {
            body: Some("Your quote is attached.".into()),
            ..Default::default()
        },
    )
    .expect("edit");
    ann.send_draft(sent.id).expect("send");
    assert!(
        ann.discard_draft(sent.id).is_err(),
        "a sent draft is not discarded"
    );
    assert_eq!(t.host.case(sent.case_number).expect("case").status, "open");
}

/// Refuses every case close, as `require_resolution.rhai` does without a
/// resolution.
struct NoClosing;

impl dossier_host::Handler for NoClosing {
    fn name(&self) -> &str {
        "no-closing"
    }

    fn handles(&self, event: &dossier_sdk::Event) -> bool {
        matches!(event, dossier_sdk::Event::BeforeSave(_))
    }

    fn handle(
        &self,
        _ctx: &mut dossier_host::Ctx,
        event: &mut dossier_sdk::Event,
    ) -> dossier_host::Result<dossier_sdk::Outcome> {
        if let dossier_sdk::Event::BeforeSave(save) = event
            && let dossier_sdk::Record::Case(case) = &save.record
            && case.status == "closed"
        {
            return Ok(dossier_sdk::Outcome::Veto("no case closes today".into()));
        }
        Ok(dossier_sdk::Outcome::Continue)
    }
}

/// When the case's hooks refuse the close, the discard stands and the case
/// stays open, untouched (no note), and the refusal is reported.
#[test]
fn a_refused_close_leaves_the_case_open_and_the_draft_discarded() {
    let server = SmtpServer::start();
    let (mut t, _, _) = desk(&server, "security = \"none\"");
    t.set_handlers(vec![std::sync::Arc::new(NoClosing)]);
    let ann = t.host.as_agent("ann").expect("ann");
    let customer = t.customer("AC-000009", "+33 6 11 22 33 44");
    let draft = ann
        .start_draft(DraftStart::Customer(customer))
        .expect("a new email");
    let discarded = ann.discard_draft(draft.id).expect("discarded all the same");
    assert_eq!(discarded.draft.state, DraftState::Discarded);
    let CaseAfterDiscard::Refused { number, reason } = discarded.case else {
        panic!("{:?}", discarded.case);
    };
    assert_eq!(number, draft.case_number);
    assert!(reason.contains("no case closes today"), "{reason}");
    assert_eq!(t.host.case(number).expect("case").status, "open");
    let (_, total) = t
        .host
        .follow_ups(number, Default::default())
        .expect("follow-ups");
    assert_eq!(total, 0, "the note rolled back with the close");
}

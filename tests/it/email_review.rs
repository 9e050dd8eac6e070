//! QA review of outbound email through the Host, against the loopback SMTP
//! server: review by config, by a hook, and the reject → edit → approve
//! cycle with its record.

use dossier_host::{DraftStart, Error, EventScope, Host};
use dossier_sdk::{DraftChange, DraftState, Ingested, NewAgent, Permission, Role};
use dossier_tests::smtp::SmtpServer;
use mail_parser::MessageParser;

use crate::util::{FIELDS, TestStore};

fn desk(server: &SmtpServer, review: &str, script: Option<&str>) -> (TestStore, Host, Host) {
    let scripts = if script.is_some() {
        "[scripts]\nfiles = [\"hold.rhai\"]\n"
    } else {
        ""
    };
    let config = format!(
        "{scripts}{FIELDS}\n[email]\naddresses = [\"support@dossier.test\"]\n\
         [email.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
         [email.review]\n{review}\n",
        server.port()
    );
    let t = TestStore::new(&config.replace(scripts, ""));
    if let Some(script) = script {
        std::fs::create_dir_all(t.dir.path().join("scripts")).expect("scripts");
        std::fs::write(t.dir.path().join("scripts/hold.rhai"), script).expect("script");
    }
    let host = t.reopen(&config).expect("reopen");
    let t = TestStore { host, ..t };
    let root = t.host.first_admin("root").expect("admin").expect("made");
    let root = t.host.as_agent(&root.login).expect("root");
    for (login, role) in [
        ("ann", Role::Agent),
        ("ben", Role::Agent),
        ("sue", Role::Supervisor),
    ] {
        root.add_agent(NewAgent {
            login: login.into(),
            display_name: login.into(),
            email: Some(format!("{login}@dossier.test")),
            role,
            groups: Vec::new(),
        })
        .expect("agent");
    }
    let raw =
        b"From: Ada <ada@example.com>\r\nTo: support@dossier.test\r\nSubject: Refund please\r\n\
        Message-ID: <r1@example.com>\r\n\r\nMy order arrived broken.\r\n";
    assert!(matches!(
        t.host.ingest_email(raw).expect("ingest"),
        Ingested::Stored { .. }
    ));
    let ann = t.host.as_agent("ann").expect("ann");
    let sue = t.host.as_agent("sue").expect("sue");
    (t, ann, sue)
}

fn reply(ann: &Host, body: &str) -> i64 {
    let draft = ann
        .start_draft(DraftStart::Reply(dossier_sdk::FollowUpId(1)))
        .expect("draft");
    ann.edit_draft(
        draft.id,
        DraftChange {
            body: Some(body.to_owned()),
            ..Default::default()
        },
    )
    .expect("edit");
    draft.id
}

#[test]
fn a_rejected_draft_is_edited_reviewed_again_and_sent_once_approved() {
    let server = SmtpServer::start();
    let (t, ann, sue) = desk(&server, "all = true", None);
    let id = reply(&ann, "Refund sent.");
    assert_eq!(
        ann.send_draft(id).expect("submit").state,
        DraftState::InReview
    );
    assert!(
        server.messages().is_empty(),
        "nothing goes out before review"
    );

    let ben = t.host.as_agent("ben").expect("ben");
    assert!(matches!(
        ben.approve_draft(id),
        Err(Error::PermissionDenied {
            permission: Permission::ReviewEmail,
            ..
        })
    ));
    assert_eq!(sue.review_queue().expect("queue").len(), 1);
    sue.reject_draft(id, "Say when the refund arrives.")
        .expect("reject");
    let bin = ann.my_workbin(false).expect("bin");
    let entry = bin
        .iter()
        .find(|i| i.draft == Some(id))
        .expect("back in the workbin");
    assert!(
        entry
            .reason
            .contains("rejected by sue: Say when the refund arrives.")
    );
    let draft = ann.draft(id).expect("draft");
    assert_eq!(draft.state, DraftState::Rejected);
    assert_eq!(
        draft.remarks.as_deref(),
        Some("Say when the refund arrives.")
    );

    ann.edit_draft(
        id,
        DraftChange {
            body: Some("Refund sent; it arrives within 5 days.".into()),
            ..Default::default()
        },
    )
    .expect("edit");
    assert_eq!(
        ann.send_draft(id).expect("resubmit").state,
        DraftState::InReview
    );
    assert!(server.messages().is_empty());
    // The reviewer edits before approving.
    sue.edit_draft(
        id,
        DraftChange {
            body: Some("Refund sent; it arrives within 5 working days.".into()),
            ..Default::default()
        },
    )
    .expect("reviewer edit");
    assert!(
        ann.edit_draft(id, DraftChange::default()).is_err(),
        "in review: not the agent's to edit"
    );
    let sent = sue.approve_draft(id).expect("approve");
    assert_eq!(sent.state, DraftState::Sent);
    // Ann's screen was told each decision and her workbin's changes, in
    // the event log; sue's events are not ann's to read.
    let told = ann
        .events_after(EventScope::Agent("ann"), 0, 100)
        .expect("ann's events");
    let decisions: Vec<String> = told
        .iter()
        .filter(|e| e.kind == "review")
        .map(|e| {
            let data: serde_json::Value = serde_json::from_str(&e.data).expect("json");
            assert_eq!(data["draft"], id, "{data}");
            data["decision"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(decisions, ["rejected", "edited", "approved"]);
    let rejected = told.iter().find(|e| e.kind == "review").expect("review");
    assert!(rejected.data.contains("Say when the refund arrives."));
    assert!(
        told.iter()
            .any(|e| e.kind == "workbin" && e.data.contains("\"added\"")),
        "{told:?}"
    );
    assert!(
        told.iter().all(|e| !e.data.contains("Refund please")),
        "no subject in the events: the screen rereads its workbin: {told:?}"
    );
    assert!(matches!(
        ann.events_after(EventScope::Agent("sue"), 0, 100),
        Err(Error::Hidden { .. })
    ));
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let p = MessageParser::default()
        .parse(&messages[0].data)
        .expect("parse");
    assert!(
        p.body_text(0)
            .expect("text")
            .contains("within 5 working days")
    );
    assert_eq!(messages[0].mail_from, "ann@dossier.test");

    let steps: Vec<(String, String)> = ann
        .review_history(id)
        .expect("history")
        .into_iter()
        .map(|s| (s.step, s.by))
        .collect();
    let expected = [
        ("submitted", "ann"),
        ("rejected", "sue"),
        ("submitted", "ann"),
        ("edited", "sue"),
        ("approved", "sue"),
        ("sent", "sue"),
    ];
    assert_eq!(
        steps,
        expected.map(|(a, b)| (a.to_owned(), b.to_owned())).to_vec()
    );
}

const HOLD: &str = r#"
// Anything about refunds is checked by a supervisor first.
fn on_notification(n) {
    if n.subject.to_lower().contains("refund") {
        n.review = true;
    }
}
"#;

#[test]
fn a_hook_can_require_review_of_a_message_that_would_not_need_it() {
    let server = SmtpServer::start();
    let (_t, ann, sue) = desk(&server, "all = false", Some(HOLD));
    let id = reply(&ann, "Refund sent.");
    let held = ann.send_draft(id).expect("send");
    assert_eq!(held.state, DraftState::InReview);
    assert!(server.messages().is_empty());
    assert!(held.follow_up.is_none(), "no email_out before approval");
    let history = ann.review_history(id).expect("history");
    assert_eq!(
        history[0].remarks.as_deref(),
        Some("a notification hook requires review")
    );
    sue.approve_draft(id).expect("approve");
    assert_eq!(
        server.messages().len(),
        1,
        "the hook ran again on the approved send, which went out"
    );
}

/// A draft is seen with its case: a reviewer or supervisor who may not see
/// a private case neither lists, reads, edits, approves nor rejects its
/// drafts, nor reads its entries in anyone's workbin; the refusal is the
/// case's own (`hidden`), as for a draft that does not exist.
#[test]
fn drafts_and_workbins_of_a_private_case_are_hidden_from_reviewers_who_may_not_see_it() {
    use dossier_host::AgentChange;
    use dossier_sdk::Visibility;

    let server = SmtpServer::start();
    let (t, ann, sue) = desk(&server, "all = true", None);
    let mut case = t.host.case(dossier_sdk::CaseNumber(1)).expect("case");
    case.visibility = Visibility::Private;
    case.owner = Some("ann".into());
    t.host.update_case(case).expect("private");
    // Sue supervises without `see_all_private`; ben reviews mail.
    t.host
        .update_agent(
            "sue",
            AgentChange {
                grant: vec![(Permission::SeeAllPrivate, false)],
                ..Default::default()
            },
        )
        .expect("sue");
    t.host
        .update_agent(
            "ben",
            AgentChange {
                grant: vec![(Permission::ReviewEmail, true)],
                ..Default::default()
            },
        )
        .expect("ben");
    let ben = t.host.as_agent("ben").expect("ben");
    let id = reply(&ann, "Refund sent.");
    let open = reply(&ann, "Still writing.");
    ann.send_draft(id).expect("submit");

    for reviewer in [&sue, &ben] {
        assert!(reviewer.review_queue().expect("queue").is_empty());
        let hidden = |r: Result<_, Error>| match r {
            Err(e @ Error::Hidden { .. }) => e.to_string(),
            other => panic!("expected hidden, got {other:?}"),
        };
        let absent = hidden(reviewer.draft(999).map(|_| ()));
        let refusal = hidden(reviewer.draft(id).map(|_| ()));
        assert_eq!(absent.replace("999", &id.to_string()), refusal);
        hidden(reviewer.draft(open).map(|_| ()));
        hidden(reviewer.review_history(id).map(|_| ()));
        hidden(
            reviewer
                .edit_draft(
                    id,
                    DraftChange {
                        body: Some("Peeked.".into()),
                        ..Default::default()
                    },
                )
                .map(|_| ()),
        );
        hidden(reviewer.approve_draft(id).map(|_| ()));
        hidden(reviewer.reject_draft(id, "Peeked.").map(|_| ()));
    }
    // Without `review_email` either, the refusal is the same: a draft in
    // review on a case one may not see does not tell its state.
    t.host
        .add_agent(NewAgent {
            login: "cal".into(),
            ..Default::default()
        })
        .expect("cal");
    let cal = t.host.as_agent("cal").expect("cal");
    for draft in [id, open] {
        assert!(matches!(
            cal.edit_draft(draft, DraftChange::default()),
            Err(Error::Hidden { .. })
        ));
    }
    // Sue may read ann's workbin, but not what waits there on ann's case.
    let anns = t.host.workbin("ann").expect("ann's workbin");
    assert!(!anns.is_empty());
    assert!(sue.workbin("ann").expect("workbin").is_empty());
    for item in &anns {
        assert!(matches!(
            sue.workbin_entry(item.id),
            Err(Error::Hidden { .. })
        ));
        assert!(matches!(
            sue.workbin_done(item.id),
            Err(Error::Hidden { .. })
        ));
    }
    assert_eq!(ann.my_workbin(false).expect("own").len(), anns.len());
    assert_eq!(ann.draft(id).expect("own").body, "Refund sent.");
    assert!(server.messages().is_empty(), "nothing was sent");

    // Once the case is sue's team's to see, she reviews it.
    t.host
        .update_agent(
            "sue",
            AgentChange {
                reset: vec![Permission::SeeAllPrivate],
                ..Default::default()
            },
        )
        .expect("sue");
    assert_eq!(sue.review_queue().expect("queue").len(), 1);
    assert_eq!(sue.workbin("ann").expect("workbin").len(), anns.len());
    sue.approve_draft(id).expect("approve");
    assert_eq!(server.messages().len(), 1);
}

/// Transferring a private case's email to someone who may not see the case
/// would show them its subject in their workbin: refused, naming who and
/// why; it goes through once they may see it.
#[test]
fn an_email_on_a_private_case_is_transferred_only_to_agents_who_may_see_it() {
    use dossier_sdk::{FollowUpId, Visibility};

    let server = SmtpServer::start();
    let (t, ann, _sue) = desk(&server, "all = false", None);
    t.host.add_group("tier2", None).expect("group");
    let mut case = t.host.case(dossier_sdk::CaseNumber(1)).expect("case");
    case.visibility = Visibility::Private;
    case.owner = Some("ann".into());
    t.host.update_case(case.clone()).expect("private");
    t.host
        .update_agent(
            "ben",
            dossier_host::AgentChange {
                groups: Some(vec!["tier2".into()]),
                ..Default::default()
            },
        )
        .expect("ben");
    let email = FollowUpId(1);
    match ann.transfer_email(email, Some("ben"), None, "can you take it?") {
        Err(e @ Error::RecipientCannotSee { .. }) => {
            assert_eq!(e.code(), "recipient_cannot_see");
            assert_eq!(
                e.to_string(),
                "agent ben may not see case 1: it is private; give them the case (as its owner or group) first, or hand it to someone who may see it"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(matches!(
        ann.transfer_email(email, None, Some("tier2"), "anyone?"),
        Err(Error::RecipientCannotSee { ref recipient, .. })
            if recipient == "group tier2 (its member ben)"
    ));
    let ben = t.host.as_agent("ben").expect("ben");
    assert!(ben.my_workbin(false).expect("bin").is_empty());
    // A supervisor may see every case: the email goes to her.
    ann.transfer_email(email, Some("sue"), None, "please check")
        .expect("to sue");

    // Once the case is tier2's, ben and his group may take it.
    case.group = Some("tier2".into());
    t.host.update_case(case).expect("tier2's");
    ann.transfer_email(email, Some("ben"), None, "yours now")
        .expect("to ben");
    ann.transfer_email(email, None, Some("tier2"), "the team's")
        .expect("to tier2");
    assert!(
        ben.my_workbin(false)
            .expect("bin")
            .iter()
            .any(|i| i.follow_up == Some(email))
    );
}

//! The admin's daily scripts (issue 34): scripts read agents, groups and
//! the mail settings in every hook, format times in the store's zone, and
//! write reminder mail and signatures the host sends as they meant, on a
//! real store with a real SMTP server.

use chrono::Duration;
use dossier_host::{Config, DeliveryState, DraftStart, Error, Host};
use dossier_sdk::{
    Audience, CaseNumber, Cause, Channel, DraftChange, FollowUpKind, Interaction, Mailbox,
    NewAgent, NewCase, NewTask, Notification, Role, SignatureOwner, TaskKind,
};
use dossier_tests::smtp::SmtpServer;
use mail_parser::MessageParser;
use tempfile::TempDir;

use crate::pop::{INTERACT, add_customer};

/// A store in Paris time with two own addresses, `[reminders] from`, the
/// SMTP server at `smtp` if any, and `scripts` (file name, source) in its
/// `scripts/` folder.
fn desk(smtp: Option<&SmtpServer>, scripts: &[(&str, &str)]) -> (TempDir, Host) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("scripts")).expect("scripts dir");
    for (name, text) in scripts {
        std::fs::write(dir.path().join("scripts").join(name), text).expect("script");
    }
    let mut config = format!(
        "{INTERACT}\n[time]\nzone = \"Europe/Paris\"\n\n[reminders]\nfrom = \"reminders@dossier.test\"\n\n\
         [email]\naddresses = [\"support@dossier.test\", \"sales@dossier.test\"]\n"
    );
    if let Some(server) = smtp {
        config.push_str(&format!(
            "\n[email.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n",
            server.port()
        ));
    }
    let path = dir.path().join("dossier.toml");
    std::fs::write(&path, config).expect("config");
    let host = Host::builder(Config::load(&path).expect("config loads"))
        .clock(std::sync::Arc::new(crate::util::clock()))
        .create_if_missing()
        .open()
        .expect("host opens");
    (dir, host)
}

fn agent(login: &str, name: &str, email: Option<&str>, groups: &[&str]) -> NewAgent {
    NewAgent {
        login: login.into(),
        display_name: name.into(),
        email: email.map(Into::into),
        role: Role::Supervisor,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

fn notice(to: &str, subject: &str) -> Notification {
    Notification {
        case_number: None,
        audience: Audience::Customer,
        cause: Cause::Manual,
        from: Mailbox {
            name: None,
            address: "support@dossier.test".into(),
        },
        to: vec![Mailbox {
            name: None,
            address: to.into(),
        }],
        cc: Vec::new(),
        bcc: Vec::new(),
        message_id: None,
        in_reply_to: None,
        references: Vec::new(),
        thread_token: None,
        attachments: Vec::new(),
        subject: subject.into(),
        body: "Hello".into(),
        html: None,
        signature: None,
        review: false,
    }
}

const LOOKUPS: &str = r#"
fn who(login) {
    let a = agent(login);
    if a == () { return "nobody"; }
    let line = `${a.login}: ${a.name} <${a.email}> ${a.role} in ${a.groups.len()}`;
    if a.groups.len() > 0 { line += " " + a.groups[0]; }
    if a.disabled { line += " (disabled)"; }
    line
}

fn team(name) {
    let g = group(name);
    if g == () { return "no team"; }
    let line = `${g.name} <${g.email}> with ${g.members.len()}`;
    for m in g.members { line += " " + m; }
    line
}

fn before_save_case(c) {
    c.description = who("zoe") + " | " + team("night") + " | " + who("ghost") + " | " + team("ghosts");
}

fn on_screen_pop(pop) {
    pop.reason = who("zoe") + " | " + team("night");
}

fn on_notification(n) {
    let m = mail_settings();
    n.subject += ` | ${m.default_from} | ${m.addresses.len()} ${m.addresses[1]} | ${m.reminder_from}`;
}
"#;

#[test]
fn scripts_read_agents_groups_and_mail_settings_in_every_hook_and_inside_the_write() {
    let (_dir, host) = desk(None, &[("lookups.rhai", LOOKUPS)]);
    let grace = add_customer(&host, "AC-000002", "Grace Hopper", "+33 1 23 45 67 89", "");

    // Added in the same transaction as the case: the case's before-save
    // hook reads them through that transaction.
    let case = host
        .transaction("onboard the night desk", |h| {
            h.add_group("night", Some("Night@Dossier.test".into()))?;
            h.add_agent(agent(
                "zoe",
                "Zoe Night",
                Some("zoe@dossier.test"),
                &["night"],
            ))?;
            h.add_agent(agent("yves", "Yves", None, &["night"]))?;
            h.open_case(NewCase::new(grace, "Late call"))
        })
        .expect("committed");
    assert_eq!(
        case.description,
        "zoe: Zoe Night <zoe@dossier.test> supervisor in 1 night | \
         night <night@dossier.test> with 2 yves zoe | nobody | no team"
    );

    // A screen-pop's hooks run in a transaction of their own.
    host.add_agent(agent("xena", "Xena", Some("xena@dossier.test"), &["night"]))
        .expect("xena");
    let pop = host
        .screen_pop(Interaction {
            caller: Some("+33 1 23 45 67 89".into()),
            ..Interaction::new(Channel::Phone)
        })
        .expect("pop");
    assert_eq!(
        pop.reason,
        "zoe: Zoe Night <zoe@dossier.test> supervisor in 1 night | \
         night <night@dossier.test> with 3 xena yves zoe"
    );

    let sent = host
        .notify(notice("grace@example.com", "Hello"))
        .expect("notified");
    assert_eq!(
        sent.subject,
        "Hello | support@dossier.test | 2 sales@dossier.test | reminders@dossier.test"
    );
}

const TIMES: &str = r#"
fn before_save_task(t) {
    if t.subject == "bad" {
        t.subject = format_time(t.due_at, "%Y-%Q");
        return;
    }
    t.subject += " at " + format_time(t.due_at, "%Y-%m-%d %H:%M %:z") + " / " + format_time("2026-12-24", "%d %b %H:%M");
}
"#;

#[test]
fn format_time_writes_in_the_stores_zone_and_a_bad_format_is_an_error_naming_it() {
    let (_dir, host) = desk(None, &[("times.rhai", TIMES)]);
    let grace = add_customer(&host, "AC-000002", "Grace Hopper", "", "");
    let plan = |subject: &str, due: &str| {
        host.add_task(NewTask {
            customer: Some(grace),
            case: None,
            kind: TaskKind::Call,
            subject: subject.into(),
            due_at: due.parse().expect("time"),
            reminder_minutes: None,
            assignee: None,
            custom: Default::default(),
        })
    };
    // Winter and summer time in Paris; a date is midnight UTC.
    let winter = plan("Call", "2026-11-23T09:30:00Z").expect("planned");
    assert_eq!(
        winter.subject,
        "Call at 2026-11-23 10:30 +01:00 / 24 Dec 01:00"
    );
    let summer = plan("Call", "2027-07-01T09:30:00Z").expect("planned");
    assert!(
        summer
            .subject
            .starts_with("Call at 2027-07-01 11:30 +02:00"),
        "{}",
        summer.subject
    );
    let err = plan("bad", "2026-11-23T09:30:00Z").expect_err("refused");
    let message = err.to_string();
    assert!(matches!(err, Error::Script { .. }), "{err:?}");
    assert!(
        message.contains("format_time: `%Y-%Q` is not a time format"),
        "{message}"
    );
}

/// Mails a task's reminder to the agent it is assigned to, with the due
/// time in the store's zone, leaving `from` to the host.
const REMINDER_MAIL: &str = include_str!("../../scripts/cookbook/reminder_mail.rhai");

const DESK_CLOSED: &str = r#"
fn on_notification(n) {
    throw "the desk is closed";
}
"#;

fn plan_for(host: &Host, customer: dossier_sdk::CustomerId, assignee: &str) -> dossier_sdk::Task {
    host.add_task(NewTask {
        customer: Some(customer),
        case: None,
        kind: TaskKind::Call,
        subject: "Call Grace".into(),
        due_at: host.now() + Duration::minutes(30),
        reminder_minutes: Some(30),
        assignee: Some(assignee.into()),
        custom: Default::default(),
    })
    .expect("planned")
}

#[test]
fn a_reminder_whose_notification_fails_is_retried_by_the_outbox_and_mailed_once_fixed() {
    let server = SmtpServer::start();
    let (dir, host) = desk(
        Some(&server),
        &[
            ("a_reminder.rhai", REMINDER_MAIL),
            ("desk.rhai", DESK_CLOSED),
        ],
    );
    host.add_agent(agent("zoe", "Zoe Night", Some("zoe@dossier.test"), &[]))
        .expect("zoe");
    let grace = add_customer(&host, "AC-000002", "Grace Hopper", "", "");
    let task = plan_for(&host, grace, "zoe");

    let tick = host.tick().expect("pass");
    assert_eq!(tick.fired.len(), 1);
    let fired = &tick.fired[0];
    assert!(
        fired
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("the desk is closed")),
        "{fired:?}"
    );
    let entry = fired.retry.expect("the outbox retries it");
    assert!(server.messages().is_empty());
    let pending = host.pending_outbox().expect("outbox");
    assert_eq!(pending.len(), 1, "{pending:?}");
    let d = &pending[0];
    assert_eq!(
        (d.entry, d.handler.as_str(), d.hook.as_str()),
        (entry, "task_reminder", "on_task_reminder")
    );
    assert_eq!(d.record, format!("task {}", task.id));
    assert_eq!(
        d.state,
        DeliveryState::Failed,
        "tried again at once, in vain"
    );
    assert!(
        d.last_error
            .as_deref()
            .is_some_and(|e| e.contains("the desk is closed")),
        "{d:?}"
    );
    // The reminder itself does not fire again.
    assert_eq!(host.count_due_reminders(host.now()).expect("count"), 0);

    // The admin fixes the script; the next attempt mails the notice.
    std::fs::remove_file(dir.path().join("scripts/desk.rhai")).expect("removed");
    host.reload_scripts().expect("reloaded");
    host.retry_outbox(None).expect("retried");
    assert!(host.pending_outbox().expect("outbox").is_empty());
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let mail = &messages[0];
    assert_eq!(mail.mail_from, "reminders@dossier.test", "[reminders] from");
    assert_eq!(mail.rcpt_to, ["zoe@dossier.test"]);
    let parsed = MessageParser::default().parse(&mail.data).expect("parses");
    assert_eq!(
        parsed.subject(),
        Some("Reminder: Call Grace (Monday 23 November, 10:30)"),
        "due at 09:30 UTC, written in Paris time"
    );
    let to = parsed.to().and_then(|a| a.first()).expect("To");
    assert_eq!(to.name(), Some("Zoe Night"));

    // Nothing more on later passes.
    assert_eq!(host.tick().expect("pass").delivered, 0);
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn a_vetoed_reminder_is_not_retried() {
    let (_dir, host) = desk(
        None,
        &[(
            "veto.rhai",
            "fn on_task_reminder(r) { veto(\"no reminders today\"); }",
        )],
    );
    let grace = add_customer(&host, "AC-000002", "Grace Hopper", "", "");
    plan_for(&host, grace, "ann@example.com");
    let fired = host.due_reminders(host.now()).expect("pass");
    assert!(
        fired[0]
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("no reminders today"))
    );
    assert_eq!(fired[0].retry, None);
    assert!(host.pending_outbox().expect("outbox").is_empty());
}

#[test]
fn a_reminder_for_an_agent_login_goes_to_the_agents_profile_address() {
    let server = SmtpServer::start();
    let (_dir, host) = desk(Some(&server), &[]);
    host.add_agent(agent("zoe", "Zoe Night", Some("zoe@dossier.test"), &[]))
        .expect("zoe");
    host.add_agent(agent("yves", "Yves", None, &[]))
        .expect("yves");
    let grace = add_customer(&host, "AC-000002", "Grace Hopper", "", "");
    let to_zoe = plan_for(&host, grace, "zoe");
    plan_for(&host, grace, "yves");
    plan_for(&host, grace, "nobody");

    let fired = host.due_reminders(host.now()).expect("pass");
    assert_eq!(fired.len(), 3);
    for f in &fired {
        assert_eq!(f.problem, None);
        let n = f.reminder.notification.as_ref();
        if f.reminder.task.id == to_zoe.id {
            let n = n.expect("a notice for zoe");
            assert_eq!(n.to[0].address, "zoe@dossier.test");
            assert_eq!(n.to[0].name.as_deref(), Some("Zoe Night"));
            assert_eq!(n.from.address, "reminders@dossier.test");
        } else {
            assert_eq!(n, None, "no address to mail: {:?}", f.reminder.task);
        }
    }
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].rcpt_to, ["zoe@dossier.test"]);

    // A disabled agent is told nothing.
    host.disable_agent("zoe").expect("disabled");
    plan_for(&host, grace, "zoe");
    let fired = host.due_reminders(host.now()).expect("pass");
    assert_eq!(fired[0].reminder.notification, None);
}

const SIGNATURE: &str = r#"
fn on_notification(n) {
    if n.body.contains("Ann Lee") {
        throw "the body already holds the signature: " + n.body;
    }
    if n.signature != "Ann Lee\nSupport" {
        throw "the hook sees the signature " + n.signature;
    }
    if n.subject.contains("night") {
        n.signature = "The Night Desk";
    }
}
"#;

#[test]
fn a_notification_hook_sees_the_signature_apart_and_what_it_leaves_is_added_once() {
    let server = SmtpServer::start();
    let (_dir, host) = desk(Some(&server), &[("signature.rhai", SIGNATURE)]);
    host.add_agent(NewAgent {
        role: Role::Agent,
        ..agent("ann", "Ann", Some("ann@dossier.test"), &[])
    })
    .expect("ann");
    host.ingest_email(
        b"From: ada@example.com\r\nSubject: Help\r\nMessage-ID: <h1@e>\r\n\r\nhelp\r\n",
    )
    .expect("ingest");
    let ann = host.as_agent("ann").expect("ann");
    ann.add_signature(
        &SignatureOwner::Agent("ann".into()),
        "full",
        "Ann Lee\nSupport",
        Some("<p><b>Ann Lee</b><br>Support</p>"),
        true,
    )
    .expect("signature");
    let send = |subject: &str| {
        let id = ann
            .start_draft(DraftStart::Reply(dossier_sdk::FollowUpId(1)))
            .expect("draft")
            .id;
        ann.edit_draft(
            id,
            DraftChange {
                subject: Some(subject.into()),
                body: Some("Hello.".into()),
                html: Some(Some("<p>Hello.</p>".into())),
                ..Default::default()
            },
        )
        .expect("edit");
        ann.send_draft(id).expect("sent")
    };
    send("Your question");
    send("From the night desk");

    let parts: Vec<(String, String)> = server
        .messages()
        .iter()
        .map(|m| {
            let p = MessageParser::default().parse(&m.data).expect("parse");
            (
                p.body_text(0).expect("text").replace("\r\n", "\n"),
                p.body_html(0).expect("html").into_owned(),
            )
        })
        .collect();
    assert_eq!(parts.len(), 2);
    let (text, html) = &parts[0];
    assert!(
        text.trim_end().ends_with("Hello.\n\n-- \nAnn Lee\nSupport"),
        "{text:?}"
    );
    assert_eq!(text.matches("Ann Lee").count(), 1, "{text}");
    assert_eq!(html.matches("<b>Ann Lee</b>").count(), 1, "{html}");
    let (text, html) = &parts[1];
    assert!(text.contains("Hello.\n\n-- \nThe Night Desk"), "{text:?}");
    assert!(!text.contains("Ann Lee"), "one signature only: {text}");
    assert!(
        html.contains("The Night Desk") && !html.contains("Ann Lee"),
        "{html}"
    );

    // The follow-up records what went out, signature included.
    let (follow_ups, _) = host
        .follow_ups(CaseNumber(1), dossier_host::Page::default())
        .expect("follow-ups");
    let out: Vec<&str> = follow_ups
        .iter()
        .filter(|f| f.kind == FollowUpKind::EmailOut)
        .map(|f| f.body.as_str())
        .collect();
    assert_eq!(out.len(), 2);
    assert!(
        out.iter().any(|b| b.ends_with("-- \nThe Night Desk")),
        "{out:?}"
    );
    assert!(
        out.iter().any(|b| b.ends_with("-- \nAnn Lee\nSupport")),
        "{out:?}"
    );
}

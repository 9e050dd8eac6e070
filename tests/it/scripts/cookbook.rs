//! The cookbook of docs/scripting.md: every recipe in `scripts/cookbook/`,
//! run end to end through the `Host` with the fields `dossier init` writes.

use chrono::Duration;
use dossier_host::{Error, Scripts};
use dossier_sdk::{
    Audience, CaseNumber, Cause, Channel, Email, FieldValue, FollowUpKind, Interaction, Mailbox,
    NewCase, NewCustomer, NewFollowUp, NewTask, Notification, Phone, TaskKind,
};

use super::{Env, all_tasks};

const COOKBOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/cookbook");
const GUIDE: &str = include_str!("../../../docs/scripting.md");

fn recipe(name: &str) -> String {
    let path = std::path::Path::new(COOKBOOK).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn recipes() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(COOKBOOK)
        .expect("cookbook directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rhai"))
        .collect();
    names.sort();
    names
}

/// A Dossier directory with the `dossier init` template and one recipe.
fn env_with(name: &str) -> Env {
    let template =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/cli/src/dossier.toml");
    let env = Env::new("", &[]);
    std::fs::copy(&template, env.config_path()).expect("copy the init template");
    env.write_script(name, &recipe(name));
    env
}

fn customer(
    host: &dossier_host::Host,
    account: &str,
    tier: &str,
    email: &str,
) -> dossier_sdk::Customer {
    host.create_customer(NewCustomer {
        account: account.into(),
        name: format!("Customer {account}"),
        emails: vec![Email {
            label: "work".into(),
            address: email.into(),
        }],
        phones: vec![Phone {
            label: "mobile".into(),
            number: "+33 6 12 34 56 78".into(),
        }],
        custom: [("tier".to_owned(), FieldValue::Choice(tier.into()))].into(),
        ..Default::default()
    })
    .expect("customer saved")
}

fn notice(case: Option<CaseNumber>, to: &[&str]) -> Notification {
    let mailbox = |a: &str| Mailbox {
        name: None,
        address: a.into(),
    };
    Notification {
        case_number: case,
        audience: Audience::Customer,
        cause: Cause::EmailReply,
        from: mailbox("support@example.com"),
        to: to.iter().map(|a| mailbox(a)).collect(),
        cc: Vec::new(),
        bcc: Vec::new(),
        message_id: None,
        in_reply_to: None,
        references: Vec::new(),
        thread_token: None,
        attachments: Vec::new(),
        subject: "About your case".into(),
        body: "Hello".into(),
        html: None,
        signature: None,
        review: false,
    }
}

#[test]
fn the_cookbook_has_a_dozen_recipes_each_in_the_guide_and_clean_for_check() {
    let names = recipes();
    assert!(names.len() >= 12, "{names:?}");
    for name in &names {
        assert!(
            GUIDE.contains(&format!("`scripts/cookbook/{name}`")),
            "docs/scripting.md's cookbook does not list {name}"
        );
        let env = env_with(name);
        let report = Scripts::check(&env.config()).expect("check runs");
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        assert!(report.findings.is_empty(), "{name}: {:?}", report.findings);
        assert!(
            report
                .scripts
                .iter()
                .all(|s| s.warnings.is_empty() && !s.hooks.is_empty()),
            "{name}: {:?}",
            report.scripts
        );
    }
}

#[test]
fn route_by_keyword() {
    let env = env_with("route_by_keyword.rhai");
    let host = env.host();
    let c = customer(&host, "AC-1", "bronze", "a@example.com");
    let open = |subject: &str| host.open_case(NewCase::new(c.id, subject)).expect("saved");
    assert_eq!(
        open("Refund for last invoice").group.as_deref(),
        Some("billing")
    );
    assert_eq!(
        open("Locked out after 2FA reset").group.as_deref(),
        Some("accounts")
    );
    assert_eq!(open("Portal is down").group.as_deref(), Some("incidents"));
    assert_eq!(open("A question").group.as_deref(), Some("first-line"));
    let chosen = host
        .open_case(NewCase {
            group: Some("sales".into()),
            ..NewCase::new(c.id, "Refund")
        })
        .expect("saved");
    assert_eq!(
        chosen.group.as_deref(),
        Some("sales"),
        "an agent's choice stands"
    );
}

#[test]
fn sla_deadline() {
    let env = env_with("sla_deadline.rhai");
    let host = env.host();
    let c = customer(&host, "AC-1", "bronze", "a@example.com");
    let case = host
        .open_case(NewCase {
            priority: Some("high".into()),
            ..NewCase::new(c.id, "Slow portal")
        })
        .expect("saved");
    let deadline = match case.custom.get("callback_by") {
        Some(FieldValue::Datetime(t)) => *t,
        other => panic!("no deadline: {other:?}"),
    };
    assert_eq!(deadline - case.created_at, Duration::hours(4));
    host.deliver_outbox().expect("delivered");
    let tasks = all_tasks(&host);
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].subject,
        format!("SLA: answer case {} (high)", case.number)
    );
    // Raising the priority plans a new check; another save does not.
    host.modify_case(case.number, "raise", |c| {
        c.priority = "urgent".into();
        Ok(())
    })
    .expect("saved");
    host.modify_case(case.number, "edit", |c| {
        c.description = "more details".into();
        Ok(())
    })
    .expect("saved");
    host.deliver_outbox().expect("delivered");
    let subjects: Vec<String> = all_tasks(&host).into_iter().map(|t| t.subject).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects.contains(&format!("SLA: answer case {} (urgent)", case.number)));
}

#[test]
fn validate_customer() {
    let env = env_with("validate_customer.rhai");
    let host = env.host();
    let saved = customer(&host, "AC-1", "bronze", "a@example.com");
    assert_eq!(saved.name, "Customer AC-1");
    let padded = host
        .create_customer(NewCustomer {
            account: "AC-2".into(),
            name: "  Grace Hopper ".into(),
            emails: vec![Email {
                label: "home".into(),
                address: "grace@example.com".into(),
            }],
            ..Default::default()
        })
        .expect("saved");
    assert_eq!(padded.name, "Grace Hopper");
    let unreachable = host.create_customer(NewCustomer {
        account: "AC-3".into(),
        name: "Nobody".into(),
        ..Default::default()
    });
    assert!(
        matches!(&unreachable, Err(Error::Vetoed { message, .. }) if message.contains("phone number or an email")),
        "{unreachable:?}"
    );
    let throwaway = host.create_customer(NewCustomer {
        account: "AC-4".into(),
        name: "Spammer".into(),
        emails: vec![Email {
            label: "x".into(),
            address: "x@mailinator.com".into(),
        }],
        ..Default::default()
    });
    assert!(
        matches!(throwaway, Err(Error::Vetoed { .. })),
        "{throwaway:?}"
    );
}

#[test]
fn field_named_validation() {
    let env = env_with("field_named_validation.rhai");
    let host = env.host();
    let saved = customer(&host, "AC-000001", "bronze", "a@example.com");
    assert_eq!(saved.account, "AC-000001");
    let err = host
        .create_customer(NewCustomer {
            account: "AC-12".into(),
            name: "Short Account".into(),
            ..Default::default()
        })
        .expect_err("refused");
    assert_eq!(err.code(), "validation");
    assert!(
        matches!(&err, Error::Validation { object: dossier_sdk::ObjectKind::Customer, field, rule }
            if field == "account" && rule == "must match AC-000000 (AC- and six digits)"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "customer is invalid: field `account` must match AC-000000 (AC- and six digits)"
    );
    let err = host
        .create_customer(NewCustomer {
            account: "AC-000002".into(),
            name: "Personal".into(),
            emails: vec![Email {
                label: "work".into(),
                address: "me@gmail.com".into(),
            }],
            ..Default::default()
        })
        .expect_err("refused");
    assert!(
        matches!(&err, Error::Validation { field, .. } if field == "email"),
        "{err:?}"
    );
    // Nothing of either refused save was written.
    let all = host
        .list_customers(dossier_host::Page {
            offset: 0,
            limit: 10,
        })
        .expect("list");
    assert_eq!(all.len(), 1);
}

#[test]
fn vip_priority() {
    let env = env_with("vip_priority.rhai");
    let host = env.host();
    let gold = customer(&host, "AC-G", "gold", "g@example.com");
    let bronze = customer(&host, "AC-B", "bronze", "b@example.com");
    let vip = host
        .open_case(NewCase::new(gold.id, "Help"))
        .expect("saved");
    assert_eq!(
        (vip.priority.as_str(), vip.group.as_deref()),
        ("high", Some("vip"))
    );
    let urgent = host
        .open_case(NewCase {
            priority: Some("urgent".into()),
            ..NewCase::new(gold.id, "Down")
        })
        .expect("saved");
    assert_eq!(urgent.priority, "urgent", "never lowered");
    let other = host
        .open_case(NewCase::new(bronze.id, "Help"))
        .expect("saved");
    assert_eq!((other.priority.as_str(), other.group), ("normal", None));
}

#[test]
fn vip_screen_pop() {
    let env = env_with("vip_screen_pop.rhai");
    let host = env.host();
    customer(&host, "AC-G", "gold", "g@example.com");
    let pop = host
        .screen_pop(Interaction {
            caller: Some("06 12 34 56 78".into()),
            ..Interaction::new(Channel::Phone)
        })
        .expect("pop");
    assert!(
        pop.reason.starts_with("VIP: Customer AC-G (gold). "),
        "{}",
        pop.reason
    );
    let unknown = host
        .screen_pop(Interaction {
            caller: Some("+1 212 555 0199".into()),
            ..Interaction::new(Channel::Phone)
        })
        .expect("pop");
    assert!(!unknown.reason.starts_with("VIP"), "{}", unknown.reason);
}

#[test]
fn notify_customers_only() {
    let env = env_with("notify_customers_only.rhai");
    let host = env.host();
    customer(&host, "AC-1", "bronze", "ada@example.com");
    let sent = host
        .notify(notice(None, &["ada@example.com", "stranger@example.com"]))
        .expect("sent");
    let to: Vec<&str> = sent.to.iter().map(|m| m.address.as_str()).collect();
    assert_eq!(to, ["ada@example.com"]);
    let err = host
        .notify(notice(None, &["stranger@example.com"]))
        .expect_err("nobody left");
    assert!(matches!(err, Error::Vetoed { .. }), "{err}");
    let internal = host
        .notify(Notification {
            audience: Audience::Agent,
            ..notice(None, &["stranger@example.com"])
        })
        .expect("agents' notices are left alone");
    assert_eq!(internal.to.len(), 1);
}

#[test]
fn urgent_cc_supervisor() {
    let env = env_with("urgent_cc_supervisor.rhai");
    let host = env.host();
    let c = customer(&host, "AC-1", "bronze", "ada@example.com");
    let urgent = host
        .open_case(NewCase {
            priority: Some("urgent".into()),
            ..NewCase::new(c.id, "Down")
        })
        .expect("saved");
    let calm = host
        .open_case(NewCase::new(c.id, "Question"))
        .expect("saved");
    let sent = host
        .notify(notice(Some(urgent.number), &["ada@example.com"]))
        .expect("sent");
    let cc: Vec<&str> = sent.cc.iter().map(|m| m.address.as_str()).collect();
    assert_eq!(cc, ["supervisors@example.com"]);
    let sent = host
        .notify(notice(Some(calm.number), &["ada@example.com"]))
        .expect("sent");
    assert!(sent.cc.is_empty());
}

#[test]
fn note_before_closing() {
    let env = env_with("note_before_closing.rhai");
    let host = env.host();
    let c = customer(&host, "AC-1", "bronze", "ada@example.com");
    let case = host
        .open_case(NewCase::new(c.id, "Printer"))
        .expect("saved");
    let err = host.close_case(case.number).expect_err("no note yet");
    assert!(matches!(err, Error::Vetoed { .. }), "{err}");
    host.add_follow_up(NewFollowUp::note(case.number, "ann", "Replaced the tray"))
        .expect("note");
    host.close_case(case.number).expect("closed");
    host.modify_case(case.number, "edit", |c| {
        c.subject = "Printer (done)".into();
        Ok(())
    })
    .expect("saving a closed case is not closing it");
}

#[test]
fn survey_on_close() {
    let env = env_with("survey_on_close.rhai");
    let host = env.host();
    let c = customer(&host, "AC-1", "bronze", "ada@example.com");
    let case = host
        .open_case(NewCase::new(c.id, "Printer"))
        .expect("saved");
    host.deliver_outbox().expect("delivered");
    assert!(all_tasks(&host).is_empty());
    let closed = host.close_case(case.number).expect("closed");
    host.modify_case(case.number, "edit", |c| {
        c.subject = "Printer (done)".into();
        Ok(())
    })
    .expect("saved");
    host.deliver_outbox().expect("delivered");
    let tasks = all_tasks(&host);
    assert_eq!(tasks.len(), 1, "one survey, for the save that closed it");
    assert_eq!(tasks[0].kind, TaskKind::Call);
    assert_eq!(tasks[0].due_at, closed.updated_at + Duration::days(1));
}

#[test]
fn reply_on_closed_case() {
    let env = env_with("reply_on_closed_case.rhai");
    let host = env.host();
    let c = customer(&host, "AC-1", "bronze", "ada@example.com");
    let case = host
        .open_case(NewCase::new(c.id, "Printer"))
        .expect("saved");
    let email = |body: &str| NewFollowUp {
        kind: FollowUpKind::EmailIn,
        ..NewFollowUp::note(case.number, "customer", body)
    };
    host.add_follow_up(email("Still broken?")).expect("saved");
    host.deliver_outbox().expect("delivered");
    assert!(all_tasks(&host).is_empty(), "an open case is being handled");
    host.close_case(case.number).expect("closed");
    host.add_follow_up(email("It broke again")).expect("saved");
    host.deliver_outbox().expect("delivered");
    let tasks = all_tasks(&host);
    assert_eq!(tasks.len(), 1);
    assert!(
        tasks[0]
            .subject
            .starts_with("Customer wrote on closed case")
    );
}

#[test]
fn callback_disposition() {
    let env = env_with("callback_disposition.rhai");
    let host = env.host();
    let c = customer(&host, "AC-1", "bronze", "ada@example.com");
    let case = host
        .open_case(NewCase::new(c.id, "Printer"))
        .expect("saved");
    let call = |case_number| Interaction {
        case_number,
        agent: Some("ann".into()),
        ..Interaction::new(Channel::Phone)
    };
    host.dispose(
        call(Some(case.number)),
        "callback",
        Some("after 5pm".into()),
    )
    .expect("recorded");
    let tasks = all_tasks(&host);
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].subject, "Call back: after 5pm");
    assert_eq!(tasks[0].assignee.as_deref(), Some("ann"));
    let err = host
        .dispose(call(None), "callback", None)
        .expect_err("no case");
    assert!(matches!(err, Error::Vetoed { .. }), "{err}");
}

#[test]
fn order_number() {
    let env = env_with("order_number.rhai");
    let host = env.host();
    let c = customer(&host, "AC-1", "bronze", "ada@example.com");
    let case = host
        .open_case(NewCase::new(c.id, "Refund for order #4521"))
        .expect("saved");
    assert_eq!(
        case.custom.get("contract_ref"),
        Some(&FieldValue::Text("SO-4521".into()))
    );
    assert_eq!(
        case.custom.get("product"),
        Some(&FieldValue::Choice("billing".into()))
    );
    let plain = host
        .open_case(NewCase::new(c.id, "Question"))
        .expect("saved");
    assert!(!plain.custom.contains_key("contract_ref"));
}

#[test]
fn reminder_to_owner() {
    let env = env_with("reminder_to_owner.rhai");
    let host = env.host();
    let c = customer(&host, "AC-1", "bronze", "ada@example.com");
    let case = host
        .open_case(NewCase {
            owner: Some("lead@example.com".into()),
            ..NewCase::new(c.id, "Printer")
        })
        .expect("saved");
    let due = host.now() + Duration::hours(1);
    let plan = |subject: &str| NewTask {
        customer: Some(c.id),
        case: Some(case.number),
        kind: TaskKind::Call,
        subject: subject.into(),
        due_at: due,
        reminder_minutes: Some(10),
        assignee: Some("ann@example.com".into()),
        custom: Default::default(),
    };
    host.add_task(plan("Call back")).expect("planned");
    let fired = host.due_reminders(due).expect("fired");
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].problem, None);
    let n = fired[0].reminder.notification.as_ref().expect("a notice");
    let cc: Vec<&str> = n.cc.iter().map(|m| m.address.as_str()).collect();
    assert_eq!(cc, ["lead@example.com"]);
}

#[test]
fn supervisors_bcc() {
    let env = env_with("supervisors_bcc.rhai");
    let host = env.host();
    // No such group yet: nothing is added.
    let sent = host
        .notify(notice(None, &["ada@example.com"]))
        .expect("sent");
    assert!(sent.bcc.is_empty());
    host.add_group("supervisors", Some("Leads@Example.com".into()))
        .expect("group");
    let sent = host
        .notify(notice(None, &["ada@example.com"]))
        .expect("sent");
    let bcc: Vec<&str> = sent.bcc.iter().map(|m| m.address.as_str()).collect();
    assert_eq!(bcc, ["leads@example.com"]);
    // Already there: once.
    let mut again = notice(None, &["ada@example.com"]);
    again.bcc = sent.bcc.clone();
    let sent = host.notify(again).expect("sent");
    assert_eq!(sent.bcc.len(), 1);
    // Agents' notices are left alone.
    let internal = host
        .notify(Notification {
            audience: Audience::Agent,
            ..notice(None, &["ann@example.com"])
        })
        .expect("sent");
    assert!(internal.bcc.is_empty());
}

#[test]
fn reminder_mail() {
    let env = env_with("reminder_mail.rhai");
    let host = env.host();
    host.add_agent(dossier_sdk::NewAgent {
        login: "ann".into(),
        display_name: "Ann Lee".into(),
        email: Some("ann@example.com".into()),
        role: dossier_sdk::Role::Agent,
        groups: Vec::new(),
    })
    .expect("ann");
    let c = customer(&host, "AC-1", "bronze", "ada@example.com");
    let due: chrono::DateTime<chrono::Utc> = "2030-01-02T14:05:00Z".parse().expect("time");
    let plan = |assignee: &str| NewTask {
        customer: Some(c.id),
        case: None,
        kind: TaskKind::Call,
        subject: "Call Ada".into(),
        due_at: due,
        reminder_minutes: Some(10),
        assignee: Some(assignee.into()),
        custom: Default::default(),
    };
    host.add_task(plan("ann")).expect("planned");
    host.add_task(plan("nobody")).expect("planned");
    let fired = host.due_reminders(due).expect("fired");
    assert_eq!(fired.len(), 2);
    assert!(fired.iter().all(|f| f.problem.is_none()), "{fired:?}");
    let n = fired[0].reminder.notification.as_ref().expect("a notice");
    assert_eq!(n.to[0].address, "ann@example.com");
    assert_eq!(n.to[0].name.as_deref(), Some("Ann Lee"));
    // The template's `[reminders] from`, since the recipe leaves it out.
    assert_eq!(n.from.address, "dossier@localhost.localdomain");
    // The template's zone is UTC.
    assert_eq!(n.subject, "Reminder: Call Ada (Wednesday 2 January, 14:05)");
    assert!(n.body.starts_with("Hello Ann Lee,"), "{}", n.body);
    assert_eq!(fired[1].reminder.notification, None);
}

//! `dossier demo`: a short contact-centre session on a throw-away store,
//! using the same config `dossier init` writes.

use std::path::PathBuf;

use clap::Args;
use dossier_sdk::{
    Channel, CustomerQuery, Email, FieldValue, FollowUpKind, Interaction, NewAgent, NewCase,
    NewCustomer, NewFollowUp, NewTask, Phone, Role, TaskKind, Visibility,
};

use super::Out;
use super::init::TEMPLATE;
use super::output;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::store::SearchFilter;

/// The example scripts the demo installs (from `scripts/`).
const DEMO_SCRIPTS: [(&str, &str); 2] = [
    ("sla.rhai", include_str!("../../../scripts/sla.rhai")),
    (
        "require_resolution.rhai",
        include_str!("../../../scripts/require_resolution.rhai"),
    ),
];

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Keep the demo's files in this directory instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
}

pub(crate) fn run(args: DemoArgs, out: &Out) -> Result<()> {
    let temp;
    let dir = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                what: "cannot create directory",
                path: dir.clone(),
                source,
            })?;
            dir.clone()
        }
        None => {
            temp = tempfile::tempdir().map_err(|source| Error::Io {
                what: "cannot create a temporary directory in",
                path: std::env::temp_dir(),
                source,
            })?;
            temp.path().to_owned()
        }
    };
    let config_path = dir.join("dossier.toml");
    std::fs::write(&config_path, TEMPLATE).map_err(|source| Error::Io {
        what: "cannot write",
        path: config_path.clone(),
        source,
    })?;
    // Two of the example admin scripts: a computed field and a validation.
    let scripts = dir.join("scripts");
    for (name, text) in DEMO_SCRIPTS {
        std::fs::create_dir_all(&scripts)
            .and_then(|()| std::fs::write(scripts.join(name), text))
            .map_err(|source| Error::Io {
                what: "cannot write",
                path: scripts.join(name),
                source,
            })?;
    }
    let host = Host::open(Config::load(&config_path)?)?;
    out.say(format!(
        "Store and config in {}; scripts loaded: {}",
        dir.display(),
        DEMO_SCRIPTS.map(|(name, _)| name).join(", ")
    ))?;
    let step = |title: &str| out.say(format!("\n== {title}"));

    step("A customer calls in for the first time; the agent creates the record")?;
    let ada = host.create_customer(NewCustomer {
        account: "AC-000001".into(),
        name: "Ada Lovelace".into(),
        phones: vec![Phone {
            label: "mobile".into(),
            number: "+33 6 12 34 56 78".into(),
        }],
        emails: vec![Email {
            label: "work".into(),
            address: "Ada@Example.com".into(),
        }],
        custom: [("tier".to_owned(), FieldValue::Choice("gold".into()))].into(),
        ..Default::default()
    })?;
    out.say(output::customer(&ada).trim_end())?;
    out.say("(phone normalized to E.164, email lower-cased, `loyalty_id` left empty)")?;

    let grace = host.create_customer(NewCustomer {
        account: "AC-000002".into(),
        name: "Grace Hopper".into(),
        phones: vec![Phone {
            label: "office".into(),
            number: "+1 212 555 0100".into(),
        }],
        ..Default::default()
    })?;
    out.say(output::customer(&grace).trim_end())?;
    out.say("(no tier given: the field's default `bronze` was filled in)")?;

    step("Bad input is refused with the field and the rule")?;
    let refused = host.create_customer(NewCustomer {
        account: "AC-000003".into(),
        name: "Charles Babbage".into(),
        custom: [("loyalty_id".to_owned(), FieldValue::Text("card 42".into()))].into(),
        ..Default::default()
    });
    match refused {
        Err(e) => out.say(format!("refused: {e}"))?,
        Ok(_) => {
            return Err(Error::Refused(
                "the demo expected a validation error".into(),
            ));
        }
    }

    step("She calls again: the agent finds her by phone, typed any way")?;
    let found = host.find_customers(&CustomerQuery {
        phone: Some("06 12 34 56 78".into()),
        ..Default::default()
    })?;
    for c in &found {
        out.say(format!("found #{} {} by phone", c.id, c.name))?;
    }
    let gold = host.find_customers(&CustomerQuery {
        field: Some(("tier".into(), "gold".into())),
        ..Default::default()
    })?;
    out.say(format!(
        "gold-tier customers (indexed custom field): {}",
        gold.iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))?;

    step("The phone rings: screen-pop picks the record to show")?;
    let call = Interaction {
        caller: Some("06 12 34 56 78".into()),
        queue: Some("support".into()),
        ..Interaction::new(Channel::Phone)
    };
    out.say(super::pop::describe(&host, &host.screen_pop(call.clone())?).trim_end())?;
    let stranger = Interaction {
        caller: Some("+44 20 7946 0958".into()),
        ..Interaction::new(Channel::Phone)
    };
    out.say(super::pop::describe(&host, &host.screen_pop(stranger)?).trim_end())?;

    step("A case is opened and worked (sla.rhai computes its SLA)")?;
    let mut new = NewCase::new(ada.id, "Jet scheduling problem");
    new.custom
        .insert("product".into(), FieldValue::Choice("scheduler".into()));
    let case = host.open_case(new)?;
    out.say(output::case(&case).trim_end())?;
    host.add_follow_up(NewFollowUp::note(
        case.number,
        "agent.smith",
        "Customer called about the schedule; reproduced the problem.",
    ))?;
    let mut reply = NewFollowUp::note(case.number, "agent.smith", "Sent the workaround by email.");
    reply.kind = FollowUpKind::EmailOut;
    host.add_follow_up(reply)?;
    let case = host.assign_case(
        case.number,
        Some("agent.smith".into()),
        Some("tier2".into()),
    )?;
    out.say(format!(
        "case {} assigned to {} ({})",
        case.number,
        case.owner.as_deref().unwrap_or("-"),
        case.group.as_deref().unwrap_or("-")
    ))?;
    let (items, total) = host.follow_ups(case.number, crate::store::Page::default())?;
    out.say(format!("{total} follow-ups, newest first:"))?;
    for f in &items {
        out.say(output::follow_up(f, &jiff::tz::TimeZone::UTC).trim_end())?;
    }

    step("A callback is planned; its reminder comes due")?;
    let task = host.add_task(NewTask {
        customer: None,
        case: Some(case.number),
        kind: TaskKind::Call,
        subject: "Check the workaround helped".into(),
        due_at: host.now() + chrono::Duration::minutes(10),
        reminder_minutes: Some(15),
        assignee: Some("agent.smith".into()),
        custom: Default::default(),
    })?;
    out.say(output::task(&task, &jiff::tz::TimeZone::UTC).trim_end())?;
    for fired in host.due_reminders(host.now())? {
        out.say(format!(
            "reminder fired for task #{}: {}",
            fired.reminder.task.id, fired.reminder.task.subject
        ))?;
    }
    out.say(format!(
        "polling again fires nothing: {} due",
        host.due_reminders(host.now())?.len()
    ))?;

    step("The call ends with disposition `resolved`, which closes the case")?;
    let ending = Interaction {
        case_number: Some(case.number),
        agent: Some("agent.smith".into()),
        ..call
    };
    match host.dispose(ending.clone(), "resolved", None) {
        Err(e) => out.say(format!("refused, nothing written: {e}"))?,
        Ok(_) => {
            return Err(Error::Refused(
                "the demo expected require_resolution.rhai to refuse".into(),
            ));
        }
    }
    host.modify_case(case.number, "record resolution", |c| {
        c.custom.insert(
            "resolution".into(),
            FieldValue::Text("Workaround sent; customer confirmed.".into()),
        );
        Ok(())
    })?;
    let disposed = host.dispose(ending, "resolved", Some("Customer happy".into()))?;
    if let Some(closed) = &disposed.case {
        out.say(format!(
            "case {} is now {} (last disposition: {})",
            closed.number,
            closed.status,
            closed.last_disposition.as_deref().unwrap_or("-")
        ))?;
    }
    if let Some(f) = &disposed.follow_up {
        out.say(output::follow_up(f, &jiff::tz::TimeZone::UTC).trim_end())?;
    }
    if let Err(e) = host.assign_case(case.number, Some("agent.jones".into()), None) {
        out.say(format!("refused: {e}"))?;
    }

    step("Agents: a private case is seen by its owner, their group and supervisors only")?;
    host.add_group("tier2", None)?;
    for (login, role, groups) in [
        ("agent.smith", Role::Agent, vec!["tier2".to_owned()]),
        ("agent.jones", Role::Agent, Vec::new()),
        ("agent.lee", Role::Supervisor, Vec::new()),
    ] {
        host.add_agent(NewAgent {
            login: login.into(),
            role,
            groups,
            ..Default::default()
        })?;
    }
    let private = host.open_case(NewCase {
        visibility: Visibility::Private,
        owner: Some("agent.smith".into()),
        group: Some("tier2".into()),
        description: "Renegotiating Grace's support contract".into(),
        ..NewCase::new(grace.id, "Contract renegotiation")
    })?;
    let jones = host.as_agent("agent.jones")?;
    if let Err(e) = jones.case(private.number) {
        out.say(format!("agent.jones: {e}"))?;
    }
    let lee = host.as_agent("agent.lee")?;
    let seen = lee.case(private.number)?;
    out.say(format!(
        "agent.lee (supervisor) sees case {}: {}",
        seen.number, seen.subject
    ))?;

    step("Search: every word must appear, best match first, only what the agent may see")?;
    for (who, agent) in [("agent.jones", &jones), ("agent.lee", &lee)] {
        let hits = agent.search("contract", &SearchFilter::default(), 5)?;
        out.say(format!(
            "{who} searching `contract`: {} result(s)",
            hits.len()
        ))?;
        for hit in hits {
            out.say(format!("  {} {}: {}", hit.kind, hit.id, hit.snippet))?;
        }
    }
    let hits = jones.search("schedule", &SearchFilter::default(), 5)?;
    for hit in hits {
        out.say(format!(
            "agent.jones searching `schedule`: {} {}: {}",
            hit.kind, hit.id, hit.snippet
        ))?;
    }

    step("Chat: a simulated morning, replayed with a manual clock (`dossier chat simulate`)")?;
    let day = crate::chat::simulate::simulate(
        &crate::chat::simulate::SimulateOptions {
            agents: 6,
            chats: 120,
            queues: 2,
            hours: 3,
            seed: 1,
        },
        &dir.join("chat-simulation.db"),
    )?;
    out.say(super::chat::describe_day(&day).trim_end())?;

    if out.json() {
        let summary = serde_json::json!({
            "customers": host.list_customers(crate::store::Page::default())?,
            "case": host.case(case.number)?,
            "follow_ups": items,
            "task": task,
        });
        out.one(&summary, |_| String::new())?;
    }
    match &args.keep {
        Some(dir) => out.say(format!(
            "\nThe demo store is in {}; try `dossier --config {} case show {}`.",
            dir.display(),
            config_path.display(),
            case.number
        ))?,
        None => out.say("\nDone. Run `dossier init` to start a store of your own.")?,
    }
    Ok(())
}

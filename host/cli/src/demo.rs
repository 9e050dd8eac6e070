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
use dossier_host::Host;
use dossier_host::SearchFilter;
use dossier_host::config::Config;
use dossier_host::{Error, Result};

/// The example scripts the demo installs (from `scripts/`).
const DEMO_SCRIPTS: [(&str, &str); 2] = [
    ("sla.rhai", include_str!("../../../scripts/sla.rhai")),
    (
        "require_resolution.rhai",
        include_str!("../../../scripts/require_resolution.rhai"),
    ),
];

/// Where the demo's outgoing mail is written, beside its store.
const MAIL_FOLDER: &str = "outbox-mail";

/// The chat queue of the demo's chat story (and of `--serve`'s visitors).
pub(crate) const CHAT_QUEUE: &str = "web";

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Keep the demo's files in this directory instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// After the story, serve the demo store to browsers (the agent desktop
    /// and the chat widget), with calls and chats arriving on their own,
    /// until Ctrl-C.
    #[arg(long)]
    pub(crate) serve: bool,
    /// Where `--serve` listens.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8440",
        requires = "serve"
    )]
    pub(crate) listen: std::net::SocketAddr,
    /// With `--serve`: a call or a chat arrives every this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 20, requires = "serve",
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) every: u64,
}

/// The folder a throw-away session works in: `keep` (created if needed),
/// or a temporary one, removed when the returned guard drops.
pub(crate) fn work_dir(
    keep: Option<&std::path::Path>,
) -> Result<(Option<tempfile::TempDir>, PathBuf)> {
    match keep {
        Some(dir) => {
            dossier_host::files::create_dir_all(dir)?;
            Ok((None, dir.to_owned()))
        }
        None => {
            let temp = tempfile::tempdir().map_err(|source| Error::Io {
                what: "cannot create a temporary directory in",
                path: std::env::temp_dir(),
                source,
            })?;
            let dir = temp.path().to_owned();
            Ok((Some(temp), dir))
        }
    }
}

pub(crate) fn run(args: DemoArgs, out: &Out) -> Result<()> {
    let (_temp, dir) = super::demo::work_dir(args.keep.as_deref())?;
    let config_path = dir.join("dossier.toml");
    // No mail server comes with the demo: outbound mail goes through the
    // outbox as it would to a relay, and lands as `.eml` files in a folder
    // beside the store (`transport = "file"`).
    let config = format!(
        "{TEMPLATE}\n[email.smtp]\ntransport = \"file\"\nfolder = \"{MAIL_FOLDER}\"\n\n[email.review]\nagents = [\"agent.jones\"]\n\n[email.queues.support]\nmembers = [\"agent.smith\"]\n\n[email.routing]\ndefault = \"support\"\n"
    );
    dossier_host::files::write(&config_path, config.as_bytes())?;
    // Two of the example admin scripts: a computed field and a validation.
    let scripts = dir.join("scripts");
    for (name, text) in DEMO_SCRIPTS {
        dossier_host::files::create_dir_all(&scripts)?;
        dossier_host::files::write(&scripts.join(name), text.as_bytes())?;
    }
    let host = Host::builder(Config::load(&config_path)?)
        .create_if_missing()
        .open()?;
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
    let (items, total) = host.follow_ups(case.number, dossier_host::Page::default())?;
    out.say(format!("{total} follow-ups, newest first:"))?;
    for f in &items {
        out.say(
            output::follow_up(f, &jiff::tz::TimeZone::UTC, &output::ShortIds::new()).trim_end(),
        )?;
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
        out.say(
            output::follow_up(f, &jiff::tz::TimeZone::UTC, &output::ShortIds::new()).trim_end(),
        )?;
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

    step("Email: a customer writes in, the email opens a case, and his reply joins it")?;
    let first = "From: Alan Turing <alan@example.org>\r\nTo: support@example.com\r\n\
        Subject: Enigma rotor order\r\nMessage-ID: <rotor-1@example.org>\r\n\
        Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\nThe rotor order on my invoice is wrong.\r\n";
    let outcome = host.ingest_email(first.as_bytes())?;
    out.say(format!("email 1: {}", super::email::describe(&outcome)))?;
    let dossier_sdk::Ingested::Stored { case_number, .. } = outcome else {
        return Err(Error::Refused(
            "the demo's first email was not stored".into(),
        ));
    };
    let smith = host.as_agent("agent.smith")?;
    out.say("the new case waits in email queue `support` until a member is available")?;
    let (_, routed) = smith.set_chat_state(dossier_host::AgentState::Available)?;
    let Some(offer) = routed.emails.first() else {
        return Err(Error::Refused(
            "the demo's email was not offered to agent.smith".into(),
        ));
    };
    out.say(format!(
        "agent.smith becomes available: email offer {} (case {}, \"{}\") offered to agent.smith",
        offer.id, offer.case_number, offer.subject
    ))?;
    let (_, item) = smith.accept_email(offer.id)?;
    out.say(format!(
        "agent.smith accepts: case {} is his, workbin entry {}",
        offer.case_number, item.id
    ))?;
    smith.add_follow_up(NewFollowUp::note(
        case_number,
        "agent.smith",
        "Asked Alan for the invoice number.",
    ))?;
    out.say("agent.smith adds a note on the case")?;
    // His mail client keeps only In-Reply-To, and rewrites the subject.
    let reply = "From: Alan Turing <alan@example.org>\r\nTo: support@example.com\r\n\
        Subject: invoice number\r\nMessage-ID: <rotor-2@example.org>\r\n\
        In-Reply-To: <rotor-1@example.org>\r\n\r\nIt is INV-1936.\r\n";
    let outcome = host.ingest_email(reply.as_bytes())?;
    out.say(format!("email 2: {}", super::email::describe(&outcome)))?;
    for item in smith.my_workbin(false)? {
        out.say(format!(
            "agent.smith's workbin: entry {} on case {} from {}",
            item.id,
            item.case_number,
            item.from.as_ref().map(output::mailbox).unwrap_or_default()
        ))?;
    }
    let again = host.ingest_email(reply.as_bytes())?;
    out.say(format!("email 2 again: {}", super::email::describe(&again)))?;

    step("agent.smith replies; the reply is committed, then sent, and Alan's answer threads back")?;
    let mut bin = smith.my_workbin(false)?;
    let Some(email) = bin.pop().and_then(|item| item.follow_up) else {
        return Err(Error::Refused(
            "the demo's email is not in the workbin".into(),
        ));
    };
    let draft = smith.start_draft(dossier_host::DraftStart::Reply(email))?;
    let draft = smith.edit_draft(
        draft.id,
        dossier_sdk::DraftChange {
            body: Some(format!(
                "Thank you, Alan: INV-1936 is corrected.{}",
                draft.body
            )),
            ..Default::default()
        },
    )?;
    let sent = smith.send_draft(draft.id)?;
    let out_email = host.follow_up(
        sent.follow_up
            .ok_or_else(|| Error::Refused("the demo's reply has no follow-up".into()))?,
    )?;
    let headers = out_email.email.clone().unwrap_or_default();
    out.say(format!(
        "sent as follow-up #{}: \"{}\" to {}, Message-ID <{}>",
        out_email.id,
        headers.subject,
        headers
            .to
            .iter()
            .map(output::mailbox)
            .collect::<Vec<_>>()
            .join(", "),
        headers.message_id.clone().unwrap_or_default()
    ))?;
    let mail = host.config().resolve(std::path::Path::new(MAIL_FOLDER));
    out.say(format!(
        "after the commit the outbox delivered it: {} in {MAIL_FOLDER}/ (transport = \"file\"), \
         the bytes an SMTP server would have received; {} waiting in the outbox",
        plural(eml_files(&mail)?.len(), "message file"),
        host.pending_outbox()?.len()
    ))?;
    let answer = format!(
        "From: Alan Turing <alan@example.org>\r\nTo: support@example.com\r\n\
         Subject: {}\r\nMessage-ID: <rotor-3@example.org>\r\nIn-Reply-To: <{}>\r\n\r\nPerfect, thanks.\r\n",
        headers.subject,
        headers.message_id.unwrap_or_default()
    );
    let outcome = host.ingest_email(answer.as_bytes())?;
    out.say(format!(
        "Alan's answer: {}",
        super::email::describe(&outcome)
    ))?;
    step(
        "Chat: a visitor asks in queue `web`; offered, accepted, answered, ended, logged as a case",
    )?;
    chat_story(&host, &smith, out)?;

    step("Chat: a simulated morning, replayed with a manual clock (`dossier chat simulate`)")?;
    let day = crate::simulate::simulate(
        &crate::simulate::SimulateOptions {
            agents: 6,
            chats: 120,
            queues: 2,
            hours: 3,
            seed: 1,
        },
        &dir.join("chat-simulation.db"),
    )?;
    out.say(super::chat::describe_day(&day).trim_end())?;

    step("QA review: agent.jones is new, so a supervisor checks his email before it goes out")?;
    let draft = jones.start_draft(dossier_host::DraftStart::Case(case_number))?;
    jones.edit_draft(
        draft.id,
        dossier_sdk::DraftChange {
            body: Some("Your invoice is fixed.".into()),
            ..Default::default()
        },
    )?;
    let held = jones.send_draft(draft.id)?;
    out.say(format!(
        "agent.jones sends draft {}: {}",
        held.id,
        held.state.as_str()
    ))?;
    let rejected = lee.reject_draft(held.id, "Say which invoice, and thank him.")?;
    out.say(format!(
        "agent.lee rejects it: {}",
        rejected.remarks.unwrap_or_default()
    ))?;
    jones.edit_draft(
        held.id,
        dossier_sdk::DraftChange {
            body: Some("Thank you, Alan: invoice INV-1936 is fixed.".into()),
            ..Default::default()
        },
    )?;
    jones.send_draft(held.id)?;
    let approved = lee.approve_draft(held.id)?;
    out.say(format!(
        "agent.lee approves the new text: draft {} is {}",
        approved.id,
        approved.state.as_str()
    ))?;
    for s in jones.review_history(held.id)? {
        out.say(format!(
            "  review: {} by {}{}",
            s.step,
            s.by,
            s.remarks.map(|r| format!(" ({r})")).unwrap_or_default()
        ))?;
    }

    out.say(format!(
        "{} in {MAIL_FOLDER}/ now: the reply, and the approved email",
        plural(eml_files(&mail)?.len(), "message file")
    ))?;

    if out.json() {
        let summary = serde_json::json!({
            "customers": host.list_customers(dossier_host::Page::default())?,
            "case": host.case(case.number)?,
            "follow_ups": items,
            "task": task,
        });
        out.one(&summary, |_| String::new())?;
    }
    if args.serve {
        return super::demo_serve::serve(host, &args, out);
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

/// One chat from arrival to its logged case: Ada, known by her email,
/// writes in queue `web`; agent.smith (available since the email step) is
/// offered it, accepts, answers, and ends it with `follow_up`, which saves
/// the transcript as a case of hers (open: `answered` would close it, and
/// `require_resolution.rhai` wants a resolution first).
fn chat_story(host: &Host, smith: &Host, out: &Out) -> Result<()> {
    host.add_queue(CHAT_QUEUE, None, &["agent.smith".to_owned()])?;
    let chat_server = host.as_chat_server()?;
    let mut visitor = Interaction::new(Channel::Chat);
    visitor.queue = Some(CHAT_QUEUE.into());
    visitor.email = Some("ada@example.com".into());
    visitor.ip = Some("203.0.113.7".into());
    visitor.context.insert("name".into(), "Ada".into());
    let arrived = chat_server.chat_arrived(visitor)?;
    out.say(format!(
        "chat {} arrives from Ada (ada@example.com, IP 203.0.113.7)",
        arrived.chat
    ))?;
    let Some(offer) = arrived
        .routed
        .offers
        .iter()
        .find(|o| o.chat == arrived.chat)
    else {
        return Err(Error::Refused(
            "the demo's chat was not offered to agent.smith".into(),
        ));
    };
    let chat = host.chat(arrived.chat)?;
    out.say(format!(
        "offered to {} ({}), the longest-idle available member; pop: {}",
        offer.agent,
        offer.queue,
        chat.pop
            .as_ref()
            .map_or_else(|| "none".to_owned(), |p| p.reason.to_string())
    ))?;
    smith.accept_chat(arrived.chat)?;
    out.say("agent.smith accepts")?;
    chat_server.customer_message(arrived.chat, "Hello, is my scheduler fix still valid?")?;
    smith.chat_message(
        arrived.chat,
        "Yes: the workaround stays until the next release.",
    )?;
    chat_server.customer_message(arrived.chat, "Great, thank you!")?;
    for m in host.chat_transcript(arrived.chat)? {
        out.say(format!(
            "  {} ({}): {}",
            m.author,
            m.sender.as_str(),
            m.text
        ))?;
    }
    let ended = smith.end_chat(
        arrived.chat,
        Some("follow_up"),
        Some("Check after the release".into()),
    )?;
    let Some(log) = &ended.log else {
        return Err(Error::Refused(
            "the demo's chat log was not saved as a case".into(),
        ));
    };
    out.say(format!(
        "agent.smith ends it with disposition `follow_up`: its log is case {} of customer #{} \
         (\"{}\", {}), with the transcript as its `{}` follow-up",
        log.case.number,
        log.case.customer,
        log.case.subject,
        log.case.status,
        log.follow_up.kind.as_str()
    ))?;
    Ok(())
}

/// The `.eml` files in `folder` (none when it does not exist yet).
fn eml_files(folder: &std::path::Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Io {
                what: "cannot read the folder",
                path: folder.to_owned(),
                source,
            });
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| Error::Io {
                what: "cannot read the folder",
                path: folder.to_owned(),
                source,
            })?
            .path();
        if path.extension().is_some_and(|e| e == "eml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// `n thing` or `n things`.
fn plural(n: usize, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

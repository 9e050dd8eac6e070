//! `dossier chat …`: an agent's chat desk (state, accept, reject, send,
//! end, log, list, show), the customer's side as a test and demo tool
//! (`arrive`, `send --customer`; real visitors come through `dossier
//! serve`'s visitor endpoint), and `simulate`, a generated day.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use dossier_sdk::{Channel, Email, Interaction, NewCustomer};

use super::Out;
use super::input::Input;
use super::output::Column;
use crate::simulate::{SimulateOptions, Simulation, simulate};
use dossier_host::Host;
use dossier_host::{
    AgentState, AgentStatus, Chat, ChatState, ChatTick, LogCustomer, LogState, Routed,
};
use dossier_host::{Error, Result};

#[derive(Debug, Subcommand)]
pub(crate) enum ChatCmd {
    /// Set your chat state: available, break, offline or logged-out.
    State {
        /// available, break, offline or logged-out.
        #[arg(value_parser = parse_state)]
        state: AgentState,
        /// Set this agent's state instead (needs manage_agents).
        #[arg(long)]
        agent: Option<String>,
    },
    /// Show agents' chat states, loads and capacities (yours, or everyone's with --all).
    Status {
        /// This agent [default: you].
        login: Option<String>,
        /// Every enabled agent.
        #[arg(long, conflicts_with = "login")]
        all: bool,
        /// Also list the agent's recorded state changes, newest first.
        #[arg(long, conflicts_with = "all")]
        history: bool,
    },
    /// Accept the chat offered to you.
    Accept {
        /// The chat's id.
        id: i64,
    },
    /// Reject the chat offered to you (needs reject_chat): you go on break.
    Reject {
        /// The chat's id.
        id: i64,
    },
    /// Send a message in your chat (at most 1940 characters).
    Send(SendArgs),
    /// End your chat with a disposition code (see [dispositions.chat]).
    End {
        /// The chat's id.
        id: i64,
        /// The disposition code (required when [dispositions.chat] says so).
        #[arg(long)]
        disposition: Option<String>,
        /// Your note.
        #[arg(long)]
        note: Option<String>,
    },
    /// Save an ended chat's log as a case: pick the customer or create one.
    Log(LogArgs),
    /// List chats: yours that are offered, active or need a customer, or all of them.
    List {
        /// Every chat (newest first), not only yours.
        #[arg(long)]
        all: bool,
        /// Only chats in this state: waiting, offered, active or ended.
        #[arg(long, value_parser = parse_chat_state)]
        state: Option<ChatState>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show a chat and its transcript.
    Show {
        /// The chat's id.
        id: i64,
    },
    /// A chat arrives in a queue (a test and demo tool: real visitors start chats through `dossier serve`).
    Arrive(ArriveArgs),
    /// Replay a generated day of chats on a throw-away store and print per-agent counts,
    /// waiting times and timeouts.
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The chat's id.
    id: i64,
    /// The message (`-` reads it from stdin).
    #[arg(
        long,
        required_unless_present = "text_file",
        conflicts_with = "text_file"
    )]
    text: Option<String>,
    /// Read the message from this file (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    text_file: Option<PathBuf>,
    /// Send it as the customer (a test and demo tool, like `chat arrive`).
    #[arg(long)]
    customer: bool,
    /// Insert FAQ answers: each /shortcut naming an FAQ entry becomes its text or its link.
    #[arg(long, value_name = "text|link", conflicts_with = "customer")]
    expand: Option<dossier_sdk::ExpandMode>,
}

#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// The chat's id.
    id: i64,
    /// An existing customer, by account number [default: the one the pop found].
    #[arg(long, conflicts_with = "new_account")]
    customer: Option<String>,
    /// Create a customer with this account number (with --name, --email).
    #[arg(long, requires = "name")]
    new_account: Option<String>,
    /// The new customer's name.
    #[arg(long, requires = "new_account")]
    name: Option<String>,
    /// The new customer's email address.
    #[arg(long, requires = "new_account")]
    email: Option<String>,
    /// Log this text instead of the transcript (your edited version; `-` for stdin).
    /// Without it, the draft kept with --draft is logged, if there is one.
    #[arg(long, value_name = "PATH")]
    text_file: Option<PathBuf>,
    /// Keep the --text-file text as a draft of the log, to finish later
    /// (no customer needed yet); nothing is logged.
    #[arg(long, requires = "text_file", conflicts_with_all = ["customer", "new_account"])]
    draft: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ArriveArgs {
    /// The queue (one of [chat.queues]).
    #[arg(long)]
    queue: String,
    /// The customer's name, as the chat form gave it.
    #[arg(long)]
    name: Option<String>,
    /// The customer's email address.
    #[arg(long)]
    email: Option<String>,
    /// The customer's IP address.
    #[arg(long)]
    ip: Option<String>,
    /// An account number the customer gave.
    #[arg(long)]
    account: Option<String>,
    /// A case number the customer gave.
    #[arg(long)]
    case: Option<i64>,
}

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// How many agents.
    #[arg(long, default_value_t = 10)]
    agents: u32,
    /// How many chats arrive.
    #[arg(long, default_value_t = 200)]
    chats: u32,
    /// How many queues.
    #[arg(long, default_value_t = 2)]
    queues: u32,
    /// Over how many hours the chats arrive.
    #[arg(long, default_value_t = 8)]
    hours: u32,
    /// The generator's seed: the same seed replays the same day.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep the simulated store in this directory instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
}

fn parse_state(s: &str) -> std::result::Result<AgentState, String> {
    AgentState::parse(s).ok_or_else(|| {
        format!("unknown chat state `{s}` (expected available, break, offline or logged-out)")
    })
}

fn parse_chat_state(s: &str) -> std::result::Result<ChatState, String> {
    ChatState::parse(s).ok_or_else(|| {
        format!("unknown chat state `{s}` (expected waiting, offered, active or ended)")
    })
}

/// Entry point of `dossier chat simulate`, which needs no config.
pub(crate) fn simulate_cmd(args: SimulateArgs, out: &Out) -> Result<()> {
    let (_temp, dir) = super::demo::work_dir(args.keep.as_deref())?;
    let options = SimulateOptions {
        agents: args.agents,
        chats: args.chats,
        queues: args.queues,
        hours: args.hours,
        seed: args.seed,
    };
    let day = simulate(&options, &dir.join("simulated.db"))?;
    out.one(&day, describe_day)
}

/// A simulated day, for people.
pub(crate) fn describe_day(day: &Simulation) -> String {
    let mut s = format!(
        "{} chats in {} queues over {} hour{}, {} agents: {} offers, {} timed out, {} rejected, \
         {} ended ({} logged as cases at once), {} never offered\n",
        day.chats,
        day.queues,
        day.hours,
        if day.hours == 1 { "" } else { "s" },
        day.agents,
        day.offers,
        day.timeouts,
        day.rejections,
        day.ended,
        day.logged,
        day.never_offered
    );
    s.push_str(&format!(
        "waiting from arrival to first offer: median {:.0} s, p99 {:.0} s, longest {:.0} s\n",
        day.wait.p50, day.wait.p99, day.wait.max
    ));
    let shown = 12;
    s.push_str(&format!(
        "{:<12} {:>7} {:>8} {:>8} {:>9} {:>5}\n",
        "agent", "offered", "accepted", "rejected", "timed out", "ended"
    ));
    for a in day.per_agent.iter().take(shown) {
        s.push_str(&format!(
            "{:<12} {:>7} {:>8} {:>8} {:>9} {:>5}\n",
            a.login, a.offered, a.accepted, a.rejected, a.timed_out, a.ended
        ));
    }
    if day.per_agent.len() > shown {
        let mut ended: Vec<u32> = day.per_agent.iter().map(|a| a.ended).collect();
        ended.sort_unstable();
        s.push_str(&format!(
            "… and {} more agents; chats ended per agent: fewest {}, median {}, most {}\n",
            day.per_agent.len() - shown,
            ended[0],
            ended[ended.len() / 2],
            ended[ended.len() - 1]
        ));
    }
    s
}

/// Entry point of `dossier chat …` (but `simulate`).
pub(crate) fn run(host: &Host, cmd: ChatCmd, out: &Out) -> Result<()> {
    match cmd {
        ChatCmd::State { state, agent } => {
            let (status, routed) = match agent {
                Some(login) => host.set_agent_state(&login, state)?,
                None => host.set_chat_state(state)?,
            };
            out.one(&status, |s| {
                format!("{}{}", describe_status(s), describe_routed(&routed))
            })
        }
        ChatCmd::Status {
            login,
            all,
            history,
        } => {
            if all {
                let statuses = host.chat_statuses()?;
                return status_table(out, &statuses);
            }
            let login = login.unwrap_or_else(|| super::records::acting_login(host));
            let status = host.chat_status(&login)?;
            if history {
                let changes = host.chat_history(&login, 50)?;
                let zone = host.config().time.time_zone();
                out.one(&changes, |changes| {
                    let mut s = describe_status(&status);
                    for c in changes {
                        s.push_str(&format!(
                            "  {} {}{}\n",
                            dossier_host::time::show_seconds(c.at, &zone),
                            c.state,
                            c.reason
                                .as_deref()
                                .map(|r| format!(" ({r})"))
                                .unwrap_or_default()
                        ));
                    }
                    s
                })
            } else {
                out.one(&status, describe_status)
            }
        }
        ChatCmd::Accept { id } => {
            let chat = host.accept_chat(id)?;
            out.one(&chat, |c| {
                format!(
                    "accepted chat {} from {}\n",
                    c.id,
                    c.visitor_name().unwrap_or("the customer")
                )
            })
        }
        ChatCmd::Reject { id } => {
            let returned = host.reject_chat(id)?;
            out.one(&returned, |r| {
                format!(
                    "rejected chat {}: {} is on break now\n{}",
                    r.chat,
                    r.agent,
                    describe_routed(&r.routed)
                )
            })
        }
        ChatCmd::Send(args) => send(host, args, out),
        ChatCmd::End {
            id,
            disposition,
            note,
        } => {
            let ended = host.end_chat(id, disposition.as_deref(), note)?;
            out.one(&ended, |e| {
                let mut s = format!("chat {} ended", e.chat.id);
                match (&e.log, e.chat.log) {
                    (Some(log), _) => s.push_str(&format!(
                        "; its log is case {} ({})",
                        log.case.number, log.case.status
                    )),
                    (None, LogState::NeedsCustomer) => s.push_str(&format!(
                        "; the customer is not known: save its log with \
                         `dossier chat log {} --customer ACCOUNT` or --new-account",
                        e.chat.id
                    )),
                    (None, _) => s.push_str("; nothing was logged"),
                }
                s.push('\n');
                s.push_str(&describe_routed(&e.routed));
                s
            })
        }
        ChatCmd::Log(args) if args.draft => {
            let text = match &args.text_file {
                Some(path) => Input::default().file("--text-file", path)?,
                None => {
                    return Err(Error::input(
                        "--draft",
                        "give the edited log with --text-file",
                    ));
                }
            };
            let chat = host.save_chat_log_draft(args.id, text)?;
            out.one(&chat, |c| {
                format!(
                    "chat {}: your edit of its log is kept as a draft; save it with \
                     `dossier chat log {} --customer ACCOUNT` or --new-account\n",
                    c.id, c.id
                )
            })
        }
        ChatCmd::Log(args) => {
            let who = match (args.customer, args.new_account) {
                (Some(account), _) => LogCustomer::Existing(host.customer_by_account(&account)?.id),
                (None, Some(account)) => LogCustomer::New(Box::new(NewCustomer {
                    account,
                    name: args.name.unwrap_or_default(),
                    emails: args
                        .email
                        .map(|address| Email {
                            label: "main".into(),
                            address,
                        })
                        .into_iter()
                        .collect(),
                    ..Default::default()
                })),
                (None, None) => LogCustomer::Popped,
            };
            let edited = match args.text_file {
                Some(path) => Some(Input::default().file("--text-file", &path)?),
                None => None,
            };
            let saved = host.save_chat_log(args.id, who, edited)?;
            out.one(&saved, |s| {
                format!(
                    "chat {} logged as case {} ({}) for customer #{}\n",
                    args.id, s.case.number, s.case.status, s.case.customer
                )
            })
        }
        ChatCmd::List { all, state, limit } => {
            let agent = (!all).then(|| super::records::acting_login(host));
            let chats = host.chat_worklist(agent, state, limit)?;
            chat_table(host, out, &chats)
        }
        ChatCmd::Show { id } => {
            let chat = host.chat(id)?;
            let transcript = host.chat_transcript(id)?;
            let zone = host.config().time.time_zone();
            let shown = serde_json::json!({ "chat": chat, "transcript": transcript });
            out.one(&shown, |_| {
                let mut s = describe_chat(&chat, &zone);
                for m in &transcript {
                    s.push_str(&format!(
                        "  [{}] {} ({}): {}\n",
                        dossier_host::time::show_seconds(m.at, &zone),
                        m.author,
                        m.sender.as_str(),
                        m.text
                    ));
                }
                s
            })
        }
        ChatCmd::Arrive(args) => {
            let mut interaction = Interaction::new(Channel::Chat);
            interaction.queue = Some(args.queue);
            interaction.email = args.email;
            interaction.ip = args.ip;
            interaction.account = args.account;
            interaction.case_number = args.case.map(dossier_sdk::CaseNumber);
            if let Some(name) = args.name {
                interaction.context.insert("name".into(), name);
            }
            let arrived = host.as_chat_server()?.chat_arrived(interaction)?;
            out.one(&arrived, |a| {
                let mut s = format!("chat {} arrived\n", a.chat);
                s.push_str(&describe_routed(&a.routed));
                if !a.routed.offers.iter().any(|o| o.chat == a.chat) {
                    s.push_str("it waits in line for an agent\n");
                }
                s
            })
        }
        ChatCmd::Simulate(args) => simulate_cmd(args, out),
    }
}

fn send(host: &Host, args: SendArgs, out: &Out) -> Result<()> {
    let input = Input::default();
    let (option, text) = match (args.text, &args.text_file) {
        (Some(text), _) => ("--text", input.text("--text", text)?),
        (None, Some(path)) => ("--text-file", input.file("--text-file", path)?),
        (None, None) => return Err(Error::input("--text", "give the message or --text-file")),
    };
    let sent = if args.customer {
        host.as_chat_server()?.customer_message(args.id, text)
    } else {
        match args.expand {
            Some(mode) => host.chat_message_with_faq(args.id, text, mode),
            None => host.chat_message(args.id, text),
        }
    };
    let message = match sent {
        Ok(message) => message,
        Err(Error::MessageTooLong { chars, max, text }) => {
            // Keep what was typed: it may have come from stdin. Each
            // refusal gets its own file, so none overwrites another.
            let path = keep_refused(host, args.id, &text)?;
            return Err(Error::input(
                option,
                format!(
                    "a chat message holds at most {max} characters; this one has {chars}. \
                     It was saved to {}: shorten it there and send it with --text-file {}",
                    path.display(),
                    path.display()
                ),
            ));
        }
        Err(e) => return Err(e),
    };
    out.one(&message, |m| {
        format!("sent in chat {} as {}\n", m.chat, m.author)
    })
}

/// Keeps a message too long to send beside the store, in a new file
/// `chat-ID-refused-N.txt` (N from 1, the first free), and returns its path.
fn keep_refused(host: &Host, chat: i64, text: &str) -> Result<PathBuf> {
    use std::io::Write as _;
    let store = host.config().store_path();
    let dir = store.parent().map(PathBuf::from).unwrap_or_default();
    for n in 1..=100_000u32 {
        let path = dir.join(format!("chat-{chat}-refused-{n}.txt"));
        let mut file =
            match dossier_host::files::create(&path, dossier_host::files::Existing::Refuse) {
                Ok(file) => file,
                Err(Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            };
        file.write_all(text.as_bytes())
            .map_err(|source| Error::Io {
                what: "cannot write",
                path: path.clone(),
                source,
            })?;
        return Ok(path);
    }
    Err(Error::Refused(format!(
        "no free file name for a refused message of chat {chat} in {}",
        dir.display()
    )))
}

fn describe_status(s: &AgentStatus) -> String {
    let mut line = format!(
        "{}: {}{} — {} active, {} offered, capacity {}",
        s.login,
        s.state,
        if s.busy { " (busy: at capacity)" } else { "" },
        s.active,
        s.pending,
        s.capacity
    );
    if let Some(reason) = &s.reason {
        line.push_str(&format!(" ({reason})"));
    }
    if s.queues.is_empty() {
        line.push_str("; in no chat queue");
    } else {
        line.push_str(&format!("; queues {}", s.queues.join(", ")));
    }
    line.push('\n');
    line
}

pub(crate) fn describe_routed(routed: &Routed) -> String {
    let mut s = String::new();
    for offer in &routed.offers {
        s.push_str(&format!(
            "chat {} offered to {} ({})\n",
            offer.chat, offer.agent, offer.queue
        ));
    }
    for offer in &routed.emails {
        s.push_str(&format!(
            "email offer {} offered to {} ({})\n",
            offer.id,
            offer.agent.as_deref().unwrap_or(""),
            offer.queue
        ));
    }
    for problem in &routed.problems {
        s.push_str(&format!("not offered: {problem}\n"));
    }
    s
}

fn describe_chat(c: &Chat, zone: &jiff::tz::TimeZone) -> String {
    let mut s = format!("chat {} in {}: {}", c.id, c.queue, c.state);
    if let Some(agent) = &c.agent {
        s.push_str(&format!(" ({agent})"));
    }
    s.push('\n');
    let who = [
        c.visitor_name().map(str::to_owned),
        c.interaction.email.clone(),
        c.interaction.ip.as_ref().map(|ip| format!("IP {ip}")),
    ];
    let who: Vec<String> = who.into_iter().flatten().collect();
    if !who.is_empty() {
        s.push_str(&format!("  customer: {}\n", who.join(", ")));
    }
    if let Some(pop) = &c.pop {
        s.push_str(&format!("  pop: {}\n", pop.reason));
    }
    s.push_str(&format!(
        "  arrived {}",
        dossier_host::time::show_seconds(c.arrived_at, zone)
    ));
    if let Some(deadline) = c.deadline {
        s.push_str(&format!(
            ", offer expires {}",
            dossier_host::time::show_seconds(deadline, zone)
        ));
    }
    s.push('\n');
    if let Some(case) = c.case_number {
        s.push_str(&format!("  logged as case {case}\n"));
    } else if c.log == LogState::NeedsCustomer {
        s.push_str("  its log needs a customer: dossier chat log\n");
    }
    if let Some(draft) = &c.log_draft {
        s.push_str(&format!(
            "  a draft of its log is kept ({} characters): `dossier chat log {}` saves it\n",
            draft.chars().count(),
            c.id
        ));
    }
    s
}

fn status_table(out: &Out, statuses: &[AgentStatus]) -> Result<()> {
    let login = |s: &AgentStatus| s.login.clone();
    let state = |s: &AgentStatus| {
        if s.busy {
            "busy".to_owned()
        } else {
            s.state.to_string()
        }
    };
    let load = |s: &AgentStatus| format!("{}+{}/{}", s.active, s.pending, s.capacity);
    let queues = |s: &AgentStatus| s.queues.join(", ");
    let columns: [Column<'_, AgentStatus>; 4] = [
        ("agent", &login),
        ("state", &state),
        ("active+offered/capacity", &load),
        ("queues", &queues),
    ];
    out.table(statuses, &columns, "no agents")
}

fn chat_table(host: &Host, out: &Out, chats: &[Chat]) -> Result<()> {
    let zone = host.config().time.time_zone();
    let id = |c: &Chat| c.id.to_string();
    let queue = |c: &Chat| c.queue.clone();
    let state = |c: &Chat| match (c.state, c.log) {
        (ChatState::Ended, LogState::NeedsCustomer) if c.log_draft.is_some() => {
            "ended, log needs a customer (draft kept)".to_owned()
        }
        (ChatState::Ended, LogState::NeedsCustomer) => "ended, log needs a customer".to_owned(),
        (state, _) => state.to_string(),
    };
    let agent = |c: &Chat| c.agent.clone().unwrap_or_default();
    let customer = |c: &Chat| {
        c.visitor_name()
            .map(str::to_owned)
            .or_else(|| c.interaction.email.clone())
            .unwrap_or_default()
    };
    let arrived = |c: &Chat| dossier_host::time::show_seconds(c.arrived_at, &zone);
    let columns: [Column<'_, Chat>; 6] = [
        ("chat", &id),
        ("queue", &queue),
        ("state", &state),
        ("agent", &agent),
        ("customer", &customer),
        ("arrived", &arrived),
    ];
    out.table(chats, &columns, "no chats")
}

/// What a `dossier run` pass did for chat: for people, or one JSON line
/// per missed offer (`"outcome": "timed_out"`) with `--json`.
pub(crate) fn print_tick(tick: &ChatTick, out: &Out) -> Result<()> {
    for returned in &tick.timed_out {
        if out.json() {
            let line = serde_json::json!({ "outcome": "timed_out", "chat": returned });
            super::output::emit(&format!("{line}\n"))?;
            continue;
        }
        out.say(format!(
            "chat {}: {} did not answer in time and is on break",
            returned.chat, returned.agent
        ))?;
        let routed = describe_routed(&returned.routed);
        if !routed.is_empty() {
            out.say(routed.trim_end())?;
        }
    }
    if !tick.recovered.offers.is_empty() {
        out.say(describe_routed(&tick.recovered).trim_end())?;
    }
    for offer in &tick.email_timed_out {
        let agent = offer.agent.as_deref().unwrap_or("");
        if out.json() {
            let line = serde_json::json!({ "outcome": "email_timed_out", "offer": offer });
            super::output::emit(&format!("{line}\n"))?;
        } else {
            out.say(format!(
                "email offer {}: {agent} did not answer in time and is on break",
                offer.id
            ))?;
        }
    }
    for offer in &tick.email_offered {
        let agent = offer.agent.as_deref().unwrap_or("");
        if out.json() {
            let line = serde_json::json!({ "outcome": "email_offered", "offer": offer });
            super::output::emit(&format!("{line}\n"))?;
        } else {
            out.say(format!(
                "email offer {} (case {}) offered to {agent} ({})",
                offer.id, offer.case_number, offer.queue
            ))?;
        }
    }
    Ok(())
}

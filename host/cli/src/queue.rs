//! `dossier queue …`: queues kept in the store. Admins (`manage_agents`)
//! list, add and remove queues and members; an agent holding
//! `manage_own_queues` switches their own assigned queues on and off.

use clap::Subcommand;
use serde::Serialize;

use super::Out;
use super::chat::describe_routed;
use dossier_host::{Host, Queue, QueueChannel, Result, Routed};

fn parse_channel(s: &str) -> std::result::Result<QueueChannel, String> {
    QueueChannel::parse(s).ok_or_else(|| format!("`{s}` is not a channel (chat or email)"))
}

#[derive(Debug, Subcommand)]
pub(crate) enum QueueCmd {
    /// List the queues: every one for an admin, the ones you are assigned to for an agent.
    List,
    /// Show a queue and its members.
    Show {
        /// The queue's name.
        queue: String,
    },
    /// Create a queue, or change one: its capacity, and members to assign (needs manage_agents).
    Add {
        /// The queue's name: 1 to 64 letters, digits, `.`, `_`, `-` or `@`.
        queue: String,
        /// What it holds: `chat` (the default) or `email` (new emails' cases, offered to a member).
        #[arg(long, default_value = "chat", value_parser = parse_channel)]
        channel: QueueChannel,
        /// The most chats a member has at once in this queue (1 to 100; the lower of this and the agent's own applies).
        #[arg(long)]
        capacity: Option<u32>,
        /// An agent to assign, switched on; repeat for several.
        #[arg(long = "member", value_name = "LOGIN")]
        members: Vec<String>,
    },
    /// Remove members from a queue, or the queue itself when no --member is given (needs manage_agents).
    Remove {
        /// The queue's name.
        queue: String,
        /// An agent to unassign; repeat for several.
        #[arg(long = "member", value_name = "LOGIN")]
        members: Vec<String>,
    },
    /// Switch on a queue you are assigned to: its chats are offered to you again (needs manage_own_queues).
    Join {
        /// The queue's name.
        queue: String,
        /// Another agent's membership (needs manage_agents).
        #[arg(long, value_name = "LOGIN")]
        agent: Option<String>,
    },
    /// Switch off a queue you are assigned to: no more of its chats are offered to you (needs manage_own_queues).
    Leave {
        /// The queue's name.
        queue: String,
        /// Another agent's membership (needs manage_agents).
        #[arg(long, value_name = "LOGIN")]
        agent: Option<String>,
    },
}

/// A queue and the offers its change made, as `--json` prints it.
#[derive(Serialize)]
struct Changed<'a> {
    queue: &'a Queue,
    routed: &'a Routed,
}

fn line(q: &Queue) -> String {
    let on = q.members.iter().filter(|m| m.joined).count();
    let capacity = q
        .capacity
        .map(|c| format!(", capacity {c}"))
        .unwrap_or_default();
    format!(
        "{} ({}{capacity}): {on} of {} members on, from {}\n",
        q.name,
        q.channel,
        q.members.len(),
        q.source.as_str()
    )
}

fn detail(q: &Queue) -> String {
    let mut s = line(q);
    if q.members.is_empty() {
        s.push_str("  no members\n");
    }
    for m in &q.members {
        let state = if m.joined { "on" } else { "off" };
        s.push_str(&format!(
            "  {} {state} (assigned by {})\n",
            m.login,
            m.source.as_str()
        ));
    }
    s
}

/// Entry point of `dossier queue`.
pub(crate) fn run(host: &Host, cmd: QueueCmd, out: &Out) -> Result<()> {
    let changed = |queue: &Queue, routed: &Routed| {
        out.one(&Changed { queue, routed }, |c| {
            format!("{}{}", detail(c.queue), describe_routed(c.routed))
        })
    };
    match cmd {
        QueueCmd::List => out.many(&host.queues()?, line, "no queues"),
        QueueCmd::Show { queue } => out.one(&host.queue(&queue)?, detail),
        QueueCmd::Add {
            queue,
            channel,
            capacity,
            members,
        } => {
            let (queue, routed) = host.add_queue_of(&queue, channel, capacity, &members)?;
            changed(&queue, &routed)
        }
        QueueCmd::Remove { queue, members } => match host.remove_queue(&queue, &members)? {
            Some(left) => out.one(&left, detail),
            None => out.one(&serde_json::json!({ "removed": queue }), |_| {
                format!("removed queue {queue}\n")
            }),
        },
        QueueCmd::Join { queue, agent } => switch(host, &queue, agent.as_deref(), true, &changed),
        QueueCmd::Leave { queue, agent } => switch(host, &queue, agent.as_deref(), false, &changed),
    }
}

/// Switches `agent`'s membership (the acting agent's without it).
fn switch(
    host: &Host,
    queue: &str,
    agent: Option<&str>,
    joined: bool,
    changed: &dyn Fn(&Queue, &Routed) -> Result<()>,
) -> Result<()> {
    let (queue, routed) = match agent {
        Some(login) => host.switch_queue(queue, login, joined)?,
        None => host.join_queue(queue, joined)?,
    };
    changed(&queue, &routed)
}

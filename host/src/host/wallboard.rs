//! The supervisor's wallboard: each queue's line, the agents' states and
//! loads, what timed out lately and how arrivals and waits went over the
//! last hours, read at one instant.

use chrono::{DateTime, Duration, DurationRound, Utc};
use dossier_sdk::Permission;
use dossier_types::queues::QueueChannel;
use serde::Serialize;

use super::Host;
use crate::chat::AgentStatus;
use dossier_types::Result;

/// How many hours the wallboard's charts cover.
pub const WALLBOARD_HOURS: u32 = 8;

/// One queue on the wallboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueBoard {
    /// The queue.
    pub name: String,
    /// `chat` or `email`.
    pub channel: QueueChannel,
    /// Items waiting for an agent.
    pub waiting: u32,
    /// How long the item waiting longest has waited, in seconds.
    pub longest_wait_seconds: u64,
    /// Members whose membership is switched on.
    pub members_on: u32,
    /// Of those, the members available now.
    pub members_available: u32,
}

/// One hour of the wallboard's charts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourBoard {
    /// When the hour starts.
    pub start: DateTime<Utc>,
    /// Chats that arrived in it.
    pub chats: u32,
    /// New emails that arrived in it.
    pub emails: u32,
    /// The mean wait, arrival to acceptance, of those accepted, in seconds.
    pub mean_wait_seconds: Option<u64>,
}

/// What a supervisor's wallboard shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wallboard {
    /// When it was read.
    pub at: DateTime<Utc>,
    /// The store's time zone (`[time] zone`, an IANA name), to show times in.
    pub time_zone: String,
    /// Every queue, by name.
    pub queues: Vec<QueueBoard>,
    /// Every enabled agent's chat state, load and capacity.
    pub agents: Vec<AgentStatus>,
    /// Chat offers that timed out in the last hour.
    pub timed_out_last_hour: u64,
    /// Drafts waiting for QA review (absent for a watcher who may not read
    /// the review queue).
    pub review_queue: Option<u32>,
    /// The last [`WALLBOARD_HOURS`] hours, oldest first, the current one
    /// last.
    pub hours: Vec<HourBoard>,
}

impl Host {
    /// The wallboard now. Needs `reassign_cases` (supervisors and admins):
    /// it names every agent and queue.
    pub fn wallboard(&self) -> Result<Wallboard> {
        let ctx = self.ctx()?;
        self.rt
            .require(&ctx, Permission::ReassignCases, "watch the wallboard")?;
        let now = self.rt.now();
        let hour = Duration::hours(1);
        let current = now.duration_trunc(hour).unwrap_or(now);
        let first = current - hour * i32::try_from(WALLBOARD_HOURS - 1).unwrap_or(0);
        let (queues, lines, arrivals, timed_out) = self.rt.read(|tx, _| {
            Ok((
                tx.queues()?,
                tx.queue_lines()?,
                tx.arrivals_since(first)?,
                tx.events_since("timed_out", now - hour)?,
            ))
        })?;
        let agents = self.chat_statuses()?;
        let available = |login: &str| {
            agents
                .iter()
                .any(|a| a.login == login && a.state == crate::chat::AgentState::Available)
        };
        let boards = queues
            .iter()
            .map(|q| {
                let line = lines
                    .iter()
                    .find(|l| l.queue == q.name && l.channel == q.channel);
                let on: Vec<&str> = q
                    .members
                    .iter()
                    .filter(|m| m.joined)
                    .map(|m| m.login.as_str())
                    .collect();
                QueueBoard {
                    name: q.name.clone(),
                    channel: q.channel,
                    waiting: line.map_or(0, |l| l.waiting),
                    longest_wait_seconds: line
                        .and_then(|l| l.oldest)
                        .map_or(0, |o| u64::try_from((now - o).num_seconds()).unwrap_or(0)),
                    members_on: u32::try_from(on.len()).unwrap_or(u32::MAX),
                    members_available: u32::try_from(on.iter().filter(|l| available(l)).count())
                        .unwrap_or(u32::MAX),
                }
            })
            .collect();
        let hours = (0..WALLBOARD_HOURS)
            .map(|i| {
                let start = first + hour * i32::try_from(i).unwrap_or(0);
                let inside: Vec<_> = arrivals
                    .iter()
                    .filter(|a| a.arrived_at >= start && a.arrived_at < start + hour)
                    .collect();
                let waits: Vec<i64> = inside
                    .iter()
                    .filter_map(|a| a.accepted_at.map(|t| (t - a.arrived_at).num_seconds()))
                    .collect();
                let count = |channel| {
                    u32::try_from(inside.iter().filter(|a| a.channel == channel).count())
                        .unwrap_or(u32::MAX)
                };
                HourBoard {
                    start,
                    chats: count(QueueChannel::Chat),
                    emails: count(QueueChannel::Email),
                    mean_wait_seconds: (!waits.is_empty()).then(|| {
                        u64::try_from(waits.iter().sum::<i64>() / waits.len() as i64).unwrap_or(0)
                    }),
                }
            })
            .collect();
        Ok(Wallboard {
            at: now,
            time_zone: self
                .config()
                .time
                .time_zone()
                .iana_name()
                .unwrap_or("UTC")
                .to_owned(),
            queues: boards,
            agents,
            timed_out_last_hour: timed_out,
            review_queue: self.review_count(),
            hours,
        })
    }

    #[cfg(feature = "email")]
    fn review_count(&self) -> Option<u32> {
        self.review_queue()
            .ok()
            .map(|q| u32::try_from(q.len()).unwrap_or(u32::MAX))
    }

    #[cfg(not(feature = "email"))]
    fn review_count(&self) -> Option<u32> {
        None
    }
}

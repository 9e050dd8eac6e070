//! What `Host::subscribe` streams: the pushes an agent's desktop (or a
//! customer's chat window) must show.
//!
//! Every push that follows from a committed change (an offer and its pop, a
//! message, an accept, a timeout, a state change, an end) is written to the
//! store's event log in the transaction that made the change: the
//! transactional outbox, the same pattern as the after-save outbox, but read
//! by every subscriber rather than claimed by one deliverer, since each
//! desktop must see it. A pump reads the feed in sequence order (commit
//! order) on a reader, after this process's chat operations commit and at
//! every `Host::tick` (which is how pushes written by other processes
//! arrive), and hands each subscriber what matches it, in order.
//!
//! A subscriber's channel holds [`CHANNEL`] pushes. When it is full the
//! pump stops for that subscriber and leaves its place: the pushes wait in
//! the store, and the next pump resumes from there, so a slow subscriber
//! gets every committed push, in order, late. Events are kept a day by
//! default (`[events] keep_hours`); one that far behind gets a
//! [`ChatPush::Missed`] saying which it lost. Typing indicators are never
//! stored: they go straight to the matching subscribers of this process and
//! are dropped for a subscriber whose channel is full.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use super::{Chat, ChatPush, Sender};
use dossier_core::runtime::Runtime;
use dossier_store::{EventScope, LoggedEvent, Tx};
use dossier_types::Result;

/// How many pushes a subscriber's channel holds before the pump waits for it.
pub const CHANNEL: usize = 1024;

/// How many feed rows one read of a pump takes.
const PAGE: u32 = 500;

/// Whose pushes a subscriber gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// An agent's desktop: their offers, the messages and typing of their
    /// chats, their timeouts and state changes.
    Agent(String),
    /// A customer's chat window: the agent joining, messages, the agent
    /// typing, the end.
    Chat(i64),
}

impl Who {
    fn wants(&self, row: &LoggedEvent, push: &ChatPush) -> bool {
        match self {
            Who::Agent(login) => row.agent.as_deref() == Some(login.as_str()),
            Who::Chat(id) => {
                row.chat == Some(*id)
                    && matches!(
                        push,
                        ChatPush::Accepted { .. }
                            | ChatPush::Message { .. }
                            | ChatPush::Ended { .. }
                    )
            }
        }
    }
}

struct Sub {
    who: Who,
    tx: SyncSender<ChatPush>,
    /// The last feed row this subscriber was given (or skipped).
    cursor: i64,
}

/// This process's subscribers.
#[derive(Default)]
pub struct Subscribers {
    subs: Mutex<Vec<Sub>>,
    /// One pump at a time, so two threads never hand out rows out of order.
    pumping: Mutex<()>,
}

/// Keeps `push` in the event log for `agent`'s and `chat`'s subscribers,
/// in the transaction `tx` belongs to; the event's kind is the push's tag.
pub fn feed(
    tx: &dyn Tx,
    agent: Option<&str>,
    chat: Option<i64>,
    push: &ChatPush,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.log_event(agent, chat, push.kind(), &dossier_store::to_json(push), now)
        .map(drop)
}

impl Subscribers {
    /// A new subscriber, getting the pushes committed from now on.
    pub fn subscribe(&self, rt: &Runtime, who: Who) -> Result<Receiver<ChatPush>> {
        let last = rt.store().read(|tx| tx.event_log_bounds())?.last;
        let (tx, rx) = sync_channel(CHANNEL);
        self.subs.lock().push(Sub {
            who,
            tx,
            cursor: last,
        });
        Ok(rx)
    }

    /// Whether anyone subscribed.
    pub fn any(&self) -> bool {
        !self.subs.lock().is_empty()
    }

    /// Hands subscribers the committed pushes they have not had; returns
    /// how many pushes went out. Does nothing inside a write transaction
    /// (what it would read there is not committed yet).
    pub fn pump(&self, rt: &Runtime) -> Result<usize> {
        if !self.any() || rt.store().in_write() {
            return Ok(0);
        }
        let _one = self.pumping.lock();
        let mut sent = 0;
        loop {
            let Some(from) = self.subs.lock().iter().map(|s| s.cursor).min() else {
                return Ok(sent);
            };
            let rows = rt
                .store()
                .read(|tx| tx.events_after(from, EventScope::All, PAGE))?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                return Ok(sent);
            };
            let decoded: Vec<(LoggedEvent, Option<ChatPush>)> = rows
                .into_iter()
                .map(|row| {
                    // Events other than chat pushes are not for these subscribers.
                    let push = serde_json::from_str::<ChatPush>(&row.data).ok();
                    (row, push)
                })
                .collect();
            let mut moved = false;
            let mut subs = self.subs.lock();
            subs.retain_mut(|sub| {
                let before = sub.cursor;
                let alive = deliver(sub, &decoded, &mut sent);
                moved |= sub.cursor != before;
                alive
            });
            let behind = subs.iter().any(|s| s.cursor < last);
            drop(subs);
            if !moved || !behind && decoded.len() < PAGE as usize {
                return Ok(sent);
            }
        }
    }

    /// Hands a typing indicator to the other side's subscribers, now.
    pub fn typing(&self, chat: &Chat, from: Sender) {
        let push = ChatPush::Typing {
            chat: chat.id,
            from,
        };
        self.subs.lock().retain(|sub| {
            let wants = match (&sub.who, from) {
                (Who::Agent(login), Sender::Customer) => chat.agent.as_deref() == Some(login),
                (Who::Chat(id), Sender::Agent) => *id == chat.id,
                _ => false,
            };
            !wants
                || !matches!(
                    sub.tx.try_send(push.clone()),
                    Err(TrySendError::Disconnected(_))
                )
        });
    }
}

/// Gives `sub` the rows after its cursor that it wants, until its channel
/// is full; false when its receiver is gone.
fn deliver(sub: &mut Sub, rows: &[(LoggedEvent, Option<ChatPush>)], sent: &mut usize) -> bool {
    for (row, push) in rows {
        if row.seq <= sub.cursor {
            continue;
        }
        if row.seq > sub.cursor + 1 {
            // Sequence numbers have no holes but those pruning makes.
            let missed = ChatPush::Missed {
                after: sub.cursor,
                resumed_at: row.seq,
            };
            match sub.tx.try_send(missed) {
                Ok(()) => *sent += 1,
                Err(TrySendError::Full(_)) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
            }
        }
        if let Some(push) = push
            && sub.who.wants(row, push)
        {
            match sub.tx.try_send(push.clone()) {
                Ok(()) => *sent += 1,
                Err(TrySendError::Full(_)) => {
                    // Step back before the hole we may just have reported,
                    // so the row is retried, not reported again as missed.
                    sub.cursor = row.seq - 1;
                    return true;
                }
                Err(TrySendError::Disconnected(_)) => return false,
            }
        }
        sub.cursor = row.seq;
    }
    true
}

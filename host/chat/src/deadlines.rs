//! Acceptance deadlines: an offer not accepted in `[chat] accept_seconds`
//! puts the agent on break and goes to the next agent.
//!
//! Deadlines are stored with the offer. `Host::tick` (the `dossier run`
//! loop) fires each one due: a conditional write puts the chat back in line
//! only if it is still offered to that agent and its deadline has passed,
//! so an accept that got there first wins, and two hosts ticking at once
//! fire it once.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::email_offers::EmailOffers;
use super::push::feed;
use super::states::put_on_break;
use super::{ChatPush, Returned};
use crate::prelude::*;
use dossier_core::runtime::{Runtime, system};
use dossier_types::Result;

/// How many deadlines one tick fires at most; the rest wait for the next.
const PER_TICK: u32 = 1000;

/// Acceptance deadlines coming due, on the runtime.
pub trait ChatDeadlines {
    /// Fires the acceptance deadlines due at `now`; returns those this call
    /// fired (not those another host fired first).
    fn fire_chat_deadlines(self: &Arc<Self>, now: DateTime<Utc>) -> Result<Vec<Returned>>;

    /// What `Host::tick` does for chat: fires due deadlines, routes every
    /// queue once per process (chats a crash left waiting), prunes old
    /// pushes, and hands subscribers what other processes committed.
    fn chat_tick(self: &Arc<Self>, now: DateTime<Utc>) -> Result<super::ChatTick>;

    /// Hands subscribers what was committed; failures are logged (a
    /// subscriber's pushes wait in the store for the next pump).
    fn chat_pump(&self);
}

impl ChatDeadlines for Runtime {
    fn fire_chat_deadlines(self: &Arc<Self>, now: DateTime<Utc>) -> Result<Vec<Returned>> {
        let ids = self.store().read(|tx| tx.due_chat_offers(now, PER_TICK))?;
        let ctx = system(self);
        let mut fired = Vec::new();
        for id in ids {
            let Some(chat) = self.store().read(|tx| tx.chat(id))? else {
                continue;
            };
            let Some(agent) = chat.agent.clone() else {
                continue;
            };
            let claimed = self.store().write("chat deadline", |tx| {
                if !tx.chat_return(id, &agent, Some(now))? {
                    return Ok(false);
                }
                tx.chat_agent_settle(&agent, false)?;
                put_on_break(tx, &agent, &format!("no answer to chat {id}"), now)?;
                feed(
                    tx,
                    Some(&agent),
                    Some(id),
                    &ChatPush::TimedOut {
                        chat: id,
                        agent: agent.clone(),
                    },
                    now,
                )?;
                Ok(true)
            })?;
            if claimed {
                let routed = self.route_queues(&ctx, std::slice::from_ref(&chat.queue));
                fired.push(Returned {
                    chat: id,
                    agent,
                    routed,
                });
            }
        }
        Ok(fired)
    }

    fn chat_tick(self: &Arc<Self>, now: DateTime<Utc>) -> Result<super::ChatTick> {
        let mut tick = super::ChatTick {
            timed_out: self.fire_chat_deadlines(now)?,
            ..Default::default()
        };
        let chats = self.chats();
        if !chats
            .recovered
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            let queues = super::offers::all_queues(self)?;
            if !queues.is_empty() {
                tick.recovered = self.route_queues(&system(self), &queues);
            }
        }
        tick.email_timed_out = self.fire_email_deadlines(now)?;
        let routed = self.route_email(None);
        for problem in routed.problems {
            tracing::warn!("email routing: {problem}");
        }
        tick.email_offered = routed.offers;
        tick.pushed = chats.subscribers.pump(self)?;
        let (chat, email) = self
            .store()
            .read(|tx| Ok((tx.next_chat_deadline()?, tx.next_email_deadline()?)))?;
        tick.next_deadline = match (chat, email) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(tick)
    }

    fn chat_pump(&self) {
        if let Err(e) = self.chats().subscribers.pump(self) {
            tracing::warn!("chat push failed: {e}");
        }
    }
}

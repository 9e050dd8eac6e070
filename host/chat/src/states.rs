//! Agents' chat states. An agent sets their own (available, break,
//! offline, logged out); rejecting an offer or letting it expire puts them
//! on break; "busy" is derived: available, at capacity in every queue they
//! belong to. Every change, derived ones included, is recorded with its time
//! (`chat_agent_log`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use dossier_sdk::Permission;

use super::email_offers::EmailOffers;
use super::push::feed;
use super::queues::{QueueView, ReadAt};
use super::{AgentState, AgentStatus, ChatPush, Routed, StateChange};
use crate::prelude::*;
use dossier_core::events::{Actor, Ctx};
use dossier_core::runtime::Runtime;
use dossier_store::{ChatAgentRow, Tx};
use dossier_types::Result;

/// An agent with no chat row yet: logged out since ever.
fn status_of(view: &QueueView, login: &str, row: Option<ChatAgentRow>) -> AgentStatus {
    let members = &view.members;
    let most = members.most(login);
    let queues = members.queues_of(login).to_vec();
    match row {
        Some(row) => AgentStatus {
            login: login.to_owned(),
            state: row.state,
            busy: row.state == AgentState::Available && row.active + row.pending >= most,
            active: row.active,
            pending: row.pending,
            capacity: most,
            queues,
            since: row.state_since,
            reason: row.reason,
            idle_since: row.idle_since,
        },
        None => AgentStatus {
            login: login.to_owned(),
            state: AgentState::LoggedOut,
            busy: false,
            active: 0,
            pending: 0,
            capacity: most,
            queues,
            since: DateTime::<Utc>::UNIX_EPOCH,
            reason: None,
            idle_since: DateTime::<Utc>::UNIX_EPOCH,
        },
    }
}

/// After a change of load: records `busy` when the agent just reached
/// capacity, `available` when they just left it, while available.
pub fn note_load(
    rt: &Runtime,
    tx: &dyn Tx,
    before: u32,
    row: &ChatAgentRow,
    now: DateTime<Utc>,
) -> Result<()> {
    if row.state != AgentState::Available {
        return Ok(());
    }
    let view = rt.chats().view_in(&rt.config().chat, tx, ReadAt::now(rt))?;
    note_load_in(&view, tx, before, row, now)
}

/// [`note_load`] with the queues as this transaction already read them
/// (the offer's claim, made right after the offer read them).
pub fn note_load_in(
    view: &QueueView,
    tx: &dyn Tx,
    before: u32,
    row: &ChatAgentRow,
    now: DateTime<Utc>,
) -> Result<()> {
    if row.state != AgentState::Available {
        return Ok(());
    }
    let most = view.members.most(&row.login);
    let after = row.active + row.pending;
    if before < most && after >= most {
        tx.chat_agent_log(&row.login, "busy", Some("at capacity"), now)?;
    } else if before >= most && after < most {
        tx.chat_agent_log(&row.login, "available", Some("below capacity"), now)?;
    }
    Ok(())
}

/// Puts an available agent on break (a rejected or missed offer) and tells
/// their desktop. An agent who already left (break, offline, logged out)
/// keeps the state they chose.
pub fn put_on_break(tx: &dyn Tx, login: &str, reason: &str, now: DateTime<Utc>) -> Result<()> {
    let current = tx.chat_agent(login)?.map(|r| r.state);
    if current != Some(AgentState::Available) {
        return Ok(());
    }
    tx.chat_agent_set_state(login, AgentState::Break, Some(reason), now)?;
    feed(
        tx,
        Some(login),
        None,
        &ChatPush::State {
            agent: login.to_owned(),
            state: AgentState::Break,
            reason: Some(reason.to_owned()),
        },
        now,
    )
}

/// Agents' chat states, on the runtime.
pub trait ChatStates {
    /// Sets `login`'s chat state; an agent may set their own, and changing
    /// someone else's needs `manage_agents`. Becoming available offers them
    /// the waiting chats of their queues.
    fn set_chat_state(
        self: &Arc<Self>,
        ctx: &Ctx,
        login: &str,
        state: AgentState,
    ) -> Result<(AgentStatus, Routed)>;

    /// Where `login` stands for chat.
    fn chat_status(&self, login: &str) -> Result<AgentStatus>;

    /// The chat status of every enabled agent, by login.
    fn chat_statuses(&self) -> Result<Vec<AgentStatus>>;

    /// `login`'s recorded state changes, newest first.
    fn chat_history(&self, login: &str, limit: u32) -> Result<Vec<StateChange>>;
}

impl ChatStates for Runtime {
    fn set_chat_state(
        self: &Arc<Self>,
        ctx: &Ctx,
        login: &str,
        state: AgentState,
    ) -> Result<(AgentStatus, Routed)> {
        if let Actor::Agent(me) = ctx.actor()
            && me != login
        {
            self.require(
                ctx,
                Permission::ManageAgents,
                &format!("change the chat state of {login}"),
            )?;
        }
        self.acting_agent(login)?;
        let now = self.now();
        let changed = self.store().write("chat state", |tx| {
            let current = tx.chat_agent(login)?.map(|r| r.state);
            if current.unwrap_or_default() == state && current.is_some() {
                return Ok(false);
            }
            if current.is_none() && state == AgentState::LoggedOut {
                return Ok(false);
            }
            tx.chat_agent_set_state(login, state, None, now)?;
            feed(
                tx,
                Some(login),
                None,
                &ChatPush::State {
                    agent: login.to_owned(),
                    state,
                    reason: None,
                },
                now,
            )?;
            Ok(true)
        })?;
        let routed = if changed && state == AgentState::Available {
            let view = super::queues::view(self)?;
            let mut routed = self.route_queues(ctx, view.members.queues_of(login));
            let emails = self.email_queues_of(login)?;
            if !emails.is_empty() {
                let offered = self.route_email(Some(&emails));
                routed.emails = offered.offers;
                routed.problems.extend(offered.problems);
            }
            routed
        } else {
            Routed::default()
        };
        self.chat_pump();
        Ok((self.chat_status(login)?, routed))
    }

    fn chat_status(&self, login: &str) -> Result<AgentStatus> {
        self.agent(login)?;
        let view = super::queues::view(self)?;
        let row = self.store().read(|tx| tx.chat_agent(login))?;
        Ok(status_of(&view, login, row))
    }

    fn chat_statuses(&self) -> Result<Vec<AgentStatus>> {
        let agents = self.list_agents()?;
        let view = super::queues::view(self)?;
        self.store().read(|tx| {
            agents
                .iter()
                .filter(|a| !a.disabled)
                .map(|a| Ok(status_of(&view, &a.login, tx.chat_agent(&a.login)?)))
                .collect()
        })
    }

    fn chat_history(&self, login: &str, limit: u32) -> Result<Vec<StateChange>> {
        self.agent(login)?;
        self.store().read(|tx| tx.chat_agent_history(login, limit))
    }
}

//! Arrivals, offers, accept and reject, and routing the waiting chats.
//!
//! Routing is event-driven: it runs when a chat arrives, when an agent
//! becomes available, when a chat ends (capacity freed), and when an offer
//! is rejected or expires (the chat is back in line). Each time it offers
//! the waiting chats of the queues concerned, oldest arrival first, each to
//! the agent the longest-idle rule picks, until a queue has no ready agent
//! left. There is no periodic sweep; the first `Host::tick` of a process
//! routes every queue once, for chats a crash left waiting between a commit
//! and the routing that follows it.
//!
//! One offer is one write transaction, the `chat_offered` step of the
//! runner: bring the routing cache up to date, pick the agent, claim the
//! agent's capacity and the chat (both conditional writes), run the
//! `chat_offered` hooks (which may give the offer to another member of the
//! queue, or veto it: the chat then keeps its place in line), run the
//! screen-pop for the agent, keep the pop and the push for their desktop.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use dossier_sdk::{ChatEvent, Event, EventKind, Interaction, Permission, PopTarget};

use super::push::feed;
use super::queues::{QueueView, ReadAt};
use super::states::{note_load, note_load_in, put_on_break};
use super::{Arrived, Chat, ChatPush, ChatState, Offer, Returned, Routed, capacity};
use crate::prelude::*;
use dossier_core::events::{Actor, Ctx, Step};
use dossier_core::runtime::Runtime;
use dossier_interact::prelude::*;
use dossier_store::to_json;
use dossier_types::{Error, Result};

/// How many agents one offer tries when claims fail (the cache was behind).
const MAX_TRIES: usize = 8;

/// What one claim attempt found.
#[derive(Debug)]
enum Claim {
    Offered(Offer),
    /// The agent could not take it (the cache was wrong about them).
    AgentGone,
    /// Someone else offered the chat, or it left the line.
    ChatGone,
}

/// What offering one waiting chat came to.
#[derive(Debug)]
pub enum Attempt {
    /// Offered; the next chat in its queue's line, if any.
    Offered(Offer, Option<(DateTime<Utc>, i64)>),
    /// No ready agent in its queue.
    NoAgent,
    /// The chat is no longer waiting.
    Gone,
}

/// What routing knows of a queue's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// Not read yet.
    Unknown,
    /// Nothing waits.
    Empty,
    /// The oldest waiting chat: its arrival and id.
    At(DateTime<Utc>, i64),
}

impl From<Option<(DateTime<Utc>, i64)>> for Head {
    fn from(found: Option<(DateTime<Utc>, i64)>) -> Head {
        match found {
            Some((at, id)) => Head::At(at, id),
            None => Head::Empty,
        }
    }
}

/// The `chat_offered` step: claims, hooks, pop, push, in one transaction.
struct OfferStep {
    chat: Chat,
    agent: String,
    capacity: u32,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
    /// The queues as the offer's transaction read them before the claim.
    view: Arc<QueueView>,
    /// Set by `built_in` when a claim failed.
    failed: Option<Claim>,
}

impl OfferStep {
    fn interaction_for(&self, agent: &str) -> Interaction {
        let mut interaction = self.chat.interaction.clone();
        interaction.agent = Some(agent.to_owned());
        interaction.queue = Some(self.chat.queue.clone());
        interaction
    }
}

impl Step for OfferStep {
    type Out = Claim;

    fn kind(&self) -> EventKind {
        EventKind::ChatOffered
    }

    fn label(&self) -> &str {
        "chat offer"
    }

    fn writes(&self) -> bool {
        true
    }

    fn built_in(&mut self, rt: &Arc<Runtime>, _ctx: &Ctx) -> Result<Option<Event>> {
        let interaction = self.interaction_for(&self.agent);
        let json = to_json(&interaction);
        let claimed = rt.store().write("chat offer", |tx| {
            let Some(row) = tx.chat_agent_claim(&self.agent, self.capacity, self.now)? else {
                return Ok(Some(Claim::AgentGone));
            };
            if !tx.chat_claim_offer(self.chat.id, &self.agent, &json, self.now, self.deadline)? {
                tx.chat_agent_settle(&self.agent, false)?;
                return Ok(Some(Claim::ChatGone));
            }
            let load = row.active + row.pending;
            note_load_in(&self.view, tx, load.saturating_sub(1), &row, self.now)?;
            Ok(None)
        })?;
        if let Some(failed) = claimed {
            self.failed = Some(failed);
            return Ok(None);
        }
        Ok(Some(Event::ChatOffered(ChatEvent {
            chat: self.chat.id,
            interaction,
            agent: Some(self.agent.clone()),
            transcript: None,
        })))
    }

    fn recheck(
        &mut self,
        rt: &Arc<Runtime>,
        _ctx: &Ctx,
        built: &Event,
        event: &mut Event,
    ) -> Result<()> {
        let (Event::ChatOffered(offer), Event::ChatOffered(built)) = (&mut *event, built) else {
            return Err(Error::Refused(
                "a chat_offered hook replaced the event".into(),
            ));
        };
        if offer.chat != built.chat
            || offer.interaction != built.interaction
            || offer.transcript != built.transcript
        {
            return Err(Error::Refused(
                "a chat_offered hook may change only `agent`, the agent the chat is offered to"
                    .into(),
            ));
        }
        let Some(to) = offer.agent.clone().filter(|a| *a != self.agent) else {
            if offer.agent.is_none() {
                return Err(Error::Refused(
                    "a chat_offered hook cleared `agent`; to leave the chat in line, veto the offer"
                        .into(),
                ));
            }
            return Ok(());
        };
        let view = super::queues::view(rt)?;
        let config = &view.config;
        let queue = &self.chat.queue;
        let member = config
            .queues
            .get(queue)
            .is_some_and(|q| q.members.contains(&to));
        if !member {
            return Err(Error::Refused(format!(
                "a chat_offered hook offered chat {} to `{to}`, who is not a member of queue {queue}",
                self.chat.id
            )));
        }
        let capacity = capacity::limit(config, &to, queue);
        let interaction = self.interaction_for(&to);
        let json = to_json(&interaction);
        rt.store().write("chat offer", |tx| {
            let Some(claimed) = tx.chat_agent_claim(&to, capacity, self.now)? else {
                return Err(Error::Refused(format!(
                    "a chat_offered hook offered chat {} to {to}, who is not available with capacity left",
                    self.chat.id
                )));
            };
            let load = claimed.active + claimed.pending;
            note_load(rt, tx, load.saturating_sub(1), &claimed, self.now)?;
            let released = tx.chat_agent_settle(&self.agent, false)?;
            let load = released.active + released.pending;
            note_load(rt, tx, load + 1, &released, self.now)?;
            if !tx.chat_move_offer(self.chat.id, &self.agent, &to, &json)? {
                return Err(Error::Refused(format!(
                    "chat {} is no longer offered to {}",
                    self.chat.id, self.agent
                )));
            }
            Ok(())
        })?;
        offer.interaction = interaction;
        self.agent = to;
        self.capacity = capacity;
        Ok(())
    }

    fn finish(self, rt: &Arc<Runtime>, ctx: &Ctx, event: Option<Event>) -> Result<Claim> {
        let Some(Event::ChatOffered(offer)) = event else {
            return Ok(self.failed.unwrap_or(Claim::ChatGone));
        };
        // The pop is the agent's: what they may see, their hooks' actor.
        let pop_ctx = Ctx::resumed(
            rt.clone(),
            Actor::Agent(self.agent.clone()),
            ctx.depth(),
            ctx.chain().to_vec(),
            None,
        );
        let pop = rt.screen_pop(&pop_ctx, offer.interaction.clone())?;
        let customer = match &pop.target {
            PopTarget::Customer { customer } | PopTarget::Case { customer, .. } => Some(*customer),
            PopTarget::Candidates { .. } | PopTarget::NewCustomer { .. } => None,
        };
        let now = self.now;
        let name = match (self.chat.visitor_name(), customer) {
            (Some(name), _) => Some(name.to_owned()),
            (None, Some(id)) => rt
                .store()
                .read(|tx| tx.customer_brief(id))?
                .map(|(_, name)| name),
            (None, None) => None,
        };
        let push = ChatPush::Offered {
            chat: self.chat.id,
            queue: self.chat.queue.clone(),
            agent: self.agent.clone(),
            deadline: self.deadline,
            name,
            email: offer.interaction.email.clone(),
            ip: offer.interaction.ip.clone(),
            pop: Box::new(pop.clone()),
        };
        rt.store().write("chat offer", |tx| {
            tx.chat_set_pop(self.chat.id, &to_json(&pop), customer)?;
            feed(tx, Some(&self.agent), Some(self.chat.id), &push, now)
        })?;
        Ok(Claim::Offered(Offer {
            chat: self.chat.id,
            queue: self.chat.queue.clone(),
            agent: self.agent,
            deadline: self.deadline,
        }))
    }
}

/// The chat channel's arrivals, offers and routing, on the runtime.
pub trait ChatOffers {
    /// A chat arrived in its queue (`interaction.queue`): it joins the
    /// line, and routing offers what it can.
    fn chat_arrived(self: &Arc<Self>, ctx: &Ctx, interaction: Interaction) -> Result<Arrived>;

    /// Offers the waiting chats of `queues`, oldest first, until each queue
    /// has no ready agent or no waiting chat. A chat whose offer a hook
    /// vetoed or failed keeps its place and is skipped until the next
    /// routing; what went wrong is reported in [`Routed::problems`].
    fn route_queues(self: &Arc<Self>, ctx: &Ctx, queues: &[String]) -> Routed;

    /// [`Runtime::route_queues`] starting from the heads of line already
    /// known.
    fn route(self: &Arc<Self>, ctx: &Ctx, heads: BTreeMap<String, Head>) -> Routed;

    /// Offers one waiting chat to the agent the rule picks, in its own
    /// transaction (or the caller's, when one is open); with the offer, the
    /// next chat in that queue's line (read in the same transaction).
    fn offer_one(self: &Arc<Self>, ctx: &Ctx, id: i64, skipped: &[i64]) -> Result<Attempt>;

    /// The agent acting on chat `id`: the acting agent, or, for `system`,
    /// the chat's own agent.
    fn chat_agent_of(ctx: &Ctx, chat: &Chat) -> Result<String>;

    /// One chat.
    fn chat(&self, id: i64) -> Result<Chat>;

    /// The agent accepts the chat offered to them (before the deadline).
    fn accept_chat(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<Chat>;

    /// The agent rejects the chat offered to them: needs `reject_chat`
    /// (refused, the offer standing, without it). They go on break; the
    /// chat goes to the next agent.
    fn reject_chat(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<Returned>;

    /// The chats matching `filter` that `ctx`'s actor may see (a chat
    /// logged to a case is seen with the case), newest first.
    fn list_chats(&self, ctx: &Ctx, filter: &super::ChatFilter) -> Result<Vec<Chat>>;
}

impl ChatOffers for Runtime {
    fn chat_arrived(self: &Arc<Self>, ctx: &Ctx, mut interaction: Interaction) -> Result<Arrived> {
        let queue = interaction
            .queue
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        interaction.channel = dossier_sdk::Channel::Chat;
        interaction.queue = Some(queue.clone());
        interaction.agent = None;
        let now = self.now();
        let json = to_json(&interaction);
        let chats = self.chats();
        // The queue is checked in the arrival's own transaction, before it
        // writes (committed rows, unless a caller's transaction is open).
        let at = ReadAt::now(self);
        let (id, head) = self.store().write("chat arrival", |tx| {
            let view = chats.view_in(&self.config().chat, tx, at)?;
            if !view.has(&queue) {
                return Err(Error::UnknownQueue {
                    queue: queue.clone(),
                    known: view.names(),
                });
            }
            let id = tx.insert_chat(&queue, &json, now)?;
            Ok((id, tx.oldest_waiting(&queue, &[])?))
        })?;
        let routed = self.route(ctx, BTreeMap::from([(queue, Head::from(head))]));
        self.chat_pump();
        Ok(Arrived { chat: id, routed })
    }

    fn route_queues(self: &Arc<Self>, ctx: &Ctx, queues: &[String]) -> Routed {
        self.route(
            ctx,
            queues.iter().map(|q| (q.clone(), Head::Unknown)).collect(),
        )
    }

    fn route(self: &Arc<Self>, ctx: &Ctx, mut heads: BTreeMap<String, Head>) -> Routed {
        let mut routed = Routed::default();
        let mut skipped: Vec<i64> = Vec::new();
        loop {
            for (queue, head) in heads.iter_mut() {
                if *head == Head::Unknown {
                    match self.store().read(|tx| tx.oldest_waiting(queue, &skipped)) {
                        Ok(found) => *head = Head::from(found),
                        Err(e) => {
                            routed.problems.push(format!("queue {queue}: {e}"));
                            *head = Head::Empty;
                        }
                    }
                }
            }
            heads.retain(|_, head| *head != Head::Empty);
            let Some((queue, id)) = heads
                .iter()
                .filter_map(|(q, h)| match h {
                    Head::At(at, id) => Some(((*at, *id), q)),
                    _ => None,
                })
                .min()
                .map(|((_, id), q)| (q.clone(), id))
            else {
                return routed;
            };
            match self.offer_one(ctx, id, &skipped) {
                Ok(Attempt::Offered(offer, next)) => {
                    routed.offers.push(offer);
                    heads.insert(queue, Head::from(next));
                }
                Ok(Attempt::NoAgent) => {
                    heads.remove(&queue);
                }
                Ok(Attempt::Gone) => {
                    heads.insert(queue, Head::Unknown);
                }
                Err(e) => {
                    routed.problems.push(format!("chat {id}: {e}"));
                    skipped.push(id);
                    heads.insert(queue, Head::Unknown);
                }
            }
        }
    }

    fn offer_one(self: &Arc<Self>, ctx: &Ctx, id: i64, skipped: &[i64]) -> Result<Attempt> {
        let fresh = !self.store().in_write();
        self.transaction("chat offer", || {
            let chats = self.chats();
            let Some(chat) = self.store().read(|tx| tx.chat(id))? else {
                return Ok(Attempt::Gone);
            };
            if chat.state != ChatState::Waiting {
                return Ok(Attempt::Gone);
            }
            let at = if fresh {
                ReadAt::Committed
            } else {
                ReadAt::now(self)
            };
            let view = self.store().read(|tx| {
                let view = chats.view_in(&self.config().chat, tx, at)?;
                let mut router = chats.router.lock();
                router.follow(&view);
                router.sync(tx, at)?;
                Ok(view)
            })?;
            let now = self.now();
            let deadline = now + Duration::seconds(i64::from(self.config().chat.accept_seconds));
            for _ in 0..MAX_TRIES {
                let picked = chats
                    .router
                    .lock()
                    .pick(&chat.queue)
                    .map(|(login, cap)| (login.to_owned(), cap));
                let Some((agent, capacity)) = picked else {
                    return Ok(Attempt::NoAgent);
                };
                let step = OfferStep {
                    chat: chat.clone(),
                    agent: agent.clone(),
                    capacity,
                    now,
                    deadline,
                    view: view.clone(),
                    failed: None,
                };
                match self.run(ctx, step)? {
                    Claim::Offered(offer) => {
                        let next = self
                            .store()
                            .read(|tx| tx.oldest_waiting(&chat.queue, skipped))?;
                        return Ok(Attempt::Offered(offer, next));
                    }
                    Claim::ChatGone => return Ok(Attempt::Gone),
                    Claim::AgentGone => {
                        let row = self.store().read(|tx| tx.chat_agent(&agent))?;
                        chats.router.lock().claim_failed(&agent, row.as_ref());
                    }
                }
            }
            Ok(Attempt::NoAgent)
        })
    }

    fn chat_agent_of(ctx: &Ctx, chat: &Chat) -> Result<String> {
        match ctx.actor() {
            Actor::Agent(login) => Ok(login.clone()),
            Actor::System => chat.agent.clone().ok_or_else(|| {
                Error::Refused(format!("chat {} has no agent ({})", chat.id, chat.state))
            }),
        }
    }

    fn chat(&self, id: i64) -> Result<Chat> {
        self.store()
            .read(|tx| tx.chat(id))?
            .ok_or(Error::UnknownChat { id })
    }

    fn accept_chat(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<Chat> {
        let now = self.now();
        let chat = self.store().write("accept chat", |tx| {
            let chat = tx.chat(id)?.ok_or(Error::UnknownChat { id })?;
            let login = Self::chat_agent_of(ctx, &chat)?;
            check_offered_to(&chat, &login, "accept")?;
            if !tx.chat_accept(id, &login, now)? {
                return Err(Error::Refused(format!(
                    "the offer of chat {id} to {login} expired at {}; it goes to the next agent",
                    chat.deadline.map(dossier_store::ts).unwrap_or_default()
                )));
            }
            tx.chat_agent_settle(&login, true)?;
            feed(
                tx,
                Some(&login),
                Some(id),
                &ChatPush::Accepted {
                    chat: id,
                    agent: login.clone(),
                },
                now,
            )?;
            tx.chat(id)?.ok_or(Error::UnknownChat { id })
        })?;
        self.chat_pump();
        Ok(chat)
    }

    fn reject_chat(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<Returned> {
        let chat = self.chat(id)?;
        let login = Self::chat_agent_of(ctx, &chat)?;
        self.require(ctx, Permission::RejectChat, &format!("reject chat {id}"))?;
        let now = self.now();
        let queue = self.store().write("reject chat", |tx| {
            let chat = tx.chat(id)?.ok_or(Error::UnknownChat { id })?;
            check_offered_to(&chat, &login, "reject")?;
            if !tx.chat_return(id, &login, None)? {
                return Err(Error::Refused(format!(
                    "chat {id} is no longer offered to {login}"
                )));
            }
            tx.chat_agent_settle(&login, false)?;
            put_on_break(tx, &login, &format!("rejected chat {id}"), now)?;
            feed(
                tx,
                Some(&login),
                Some(id),
                &ChatPush::Rejected {
                    chat: id,
                    agent: login.clone(),
                },
                now,
            )?;
            Ok(chat.queue)
        })?;
        let routed = self.route_queues(ctx, &[queue]);
        self.chat_pump();
        Ok(Returned {
            chat: id,
            agent: login,
            routed,
        })
    }

    fn list_chats(&self, ctx: &Ctx, filter: &super::ChatFilter) -> Result<Vec<Chat>> {
        self.store().read(|tx| {
            let viewer = dossier_core::runtime::viewer_in(tx, ctx)?;
            tx.list_chats(filter, &viewer)
        })
    }
}

/// Refuses unless `chat` is offered to `login`.
fn check_offered_to(chat: &Chat, login: &str, action: &str) -> Result<()> {
    match (chat.state, chat.agent.as_deref()) {
        (ChatState::Offered, Some(agent)) if agent == login => Ok(()),
        (ChatState::Offered, Some(agent)) => Err(Error::Refused(format!(
            "{login} cannot {action} chat {}: it is offered to {agent}",
            chat.id
        ))),
        (state, _) => Err(Error::Refused(format!(
            "{login} cannot {action} chat {}: it is {state}, not offered",
            chat.id
        ))),
    }
}

/// The queue of `chat` and every queue, for routing after a restart.
pub fn all_queues(rt: &Runtime) -> Result<Vec<String>> {
    Ok(super::queues::view(rt)?.names())
}

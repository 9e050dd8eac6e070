//! Email offers: a new email's case waiting in an email queue is offered to
//! one member at a time, as a chat is, and lands in their workbin as theirs
//! when they accept.
//!
//! **Who gets it.** The members of the queue who are switched on, enabled,
//! available (the one agent state of `chat state`), and below their email
//! capacity (`[email] capacity`, lowered by the queue's `capacity`; open
//! items are the offers pending and the accepted ones whose workbin item is
//! not done): the one with the fewest open items, then the one idle longest
//! from email (the earliest last offer or finished item; never offered
//! first), then by login. The pick and the claim are one write transaction
//! (SQLite's single writer makes them one step across processes), and the
//! claim is conditional (`… WHERE state = 'waiting'`), so an email is
//! offered to one agent at a time whatever runs beside.
//!
//! **What follows.** Accept (before the deadline) adds a workbin item for
//! the agent and makes them the case's owner, in one transaction. Reject
//! (`reject_chat`, as for chat) or a missed deadline puts the agent on break
//! and the email back in line, keeping its place, for the next member. The
//! item stays open against the agent's capacity until the workbin item is
//! done (a trigger marks the offer done). Routing runs after the change that
//! may let an offer through (a new email, an agent available, a queue
//! switched on, a reject, a missed deadline, a workbin item done), and on
//! every `Host::tick` for what other paths freed.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use dossier_sdk::{Permission, WorkbinItem};
use serde::Serialize;

use super::ChatPush;
use super::push::feed;
use super::states::put_on_break;
use crate::prelude::*;
use dossier_core::events::{Actor, Ctx};
use dossier_core::runtime::Runtime;
use dossier_store::NewWorkbinItem;
use dossier_types::queues::{EmailOffer, EmailOfferState, QueueChannel};
use dossier_types::{Error, Result};

/// How many offers one routing pass makes in a queue at most.
const PER_PASS: usize = 1000;

/// What a routing pass offered, and what stopped an offer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EmailRouted {
    /// The offers made, as they stand after the claim.
    pub offers: Vec<EmailOffer>,
    /// Offers that failed, with why (the email keeps its place).
    pub problems: Vec<String>,
}

impl EmailRouted {
    fn extend(&mut self, other: EmailRouted) {
        self.offers.extend(other.offers);
        self.problems.extend(other.problems);
    }
}

/// Email offers, on the runtime.
pub trait EmailOffers {
    /// Offers the waiting emails of `queues` (every email queue when
    /// `None`) to their members while someone qualifies.
    fn route_email(self: &Arc<Self>, queues: Option<&[String]>) -> EmailRouted;

    /// The email queues `login` is switched on in.
    fn email_queues_of(&self, login: &str) -> Result<Vec<String>>;

    /// The acting agent's email offers: offered to them, or accepted and
    /// not done.
    fn my_email_offers(&self, ctx: &Ctx) -> Result<Vec<EmailOffer>>;

    /// The acting agent accepts email offer `id` before its deadline: a
    /// workbin item for them, and the case theirs.
    fn accept_email(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<(EmailOffer, WorkbinItem)>;

    /// The acting agent rejects email offer `id` (needs `reject_chat`):
    /// they go on break, and the email goes to the next member.
    fn reject_email(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<EmailRouted>;

    /// Puts the offers whose deadline is due at `now` back in line (their
    /// agents on break); what this call fired. `Host::tick` routes them
    /// again next.
    fn fire_email_deadlines(self: &Arc<Self>, now: DateTime<Utc>) -> Result<Vec<EmailOffer>>;
}

fn acting(ctx: &Ctx, action: &str) -> Result<String> {
    match ctx.actor() {
        Actor::Agent(login) => Ok(login.clone()),
        Actor::System => Err(Error::Refused(format!(
            "system cannot {action}: email offers are answered by the agent they are offered to"
        ))),
    }
}

fn offered_to(offer: &EmailOffer, login: &str, action: &str) -> Result<()> {
    match (offer.state, offer.agent.as_deref()) {
        (EmailOfferState::Offered, Some(agent)) if agent == login => Ok(()),
        (EmailOfferState::Offered, Some(agent)) => Err(Error::Refused(format!(
            "{login} cannot {action} email offer {}: it is offered to {agent}",
            offer.id
        ))),
        (state, _) => Err(Error::Refused(format!(
            "{login} cannot {action} email offer {}: it is {state}, not offered",
            offer.id
        ))),
    }
}

/// One queue's pass: offers until no email waits or no member qualifies.
fn route_email_queue(rt: &Arc<Runtime>, queue: &str) -> Result<EmailRouted> {
    let mut routed = EmailRouted::default();
    let cfg = &rt.config().email;
    for _ in 0..PER_PASS {
        let now = rt.now();
        let deadline = now + Duration::seconds(i64::from(cfg.accept_seconds));
        let made = rt.store().write("email offer", |tx| {
            let Some((_, own)) = tx.queue_capacity(queue)? else {
                return Ok(None);
            };
            // Two: whether another waits after this one. An email that
            // arrives after this transaction routes itself after its commit.
            let waiting = tx.waiting_email_offers(queue, 2)?;
            let Some(&id) = waiting.first() else {
                return Ok(None);
            };
            let more = waiting.len() > 1;
            let capacity = own.map_or(cfg.capacity, |c| c.min(cfg.capacity));
            let Some(agent) = tx.pick_email_agent(queue, capacity)? else {
                return Ok(None);
            };
            if !tx.claim_email_offer(id, &agent, now, deadline)? {
                return Ok(None);
            }
            let offer = tx
                .email_offer(id)?
                .ok_or_else(|| Error::Corrupt(format!("email offer {id} vanished")))?;
            feed(
                tx,
                Some(&agent),
                None,
                &ChatPush::EmailOffered {
                    offer: id,
                    queue: queue.to_owned(),
                    agent: agent.clone(),
                    case_number: offer.case_number,
                    subject: offer.subject.clone(),
                    sender: offer.sender.clone(),
                    // As stored (to the microsecond), so the push and
                    // `email offers` name the same instant.
                    deadline: offer.deadline.unwrap_or(deadline),
                },
                now,
            )?;
            Ok(Some((offer, more)))
        })?;
        match made {
            Some((offer, more)) => {
                routed.offers.push(offer);
                if !more {
                    break;
                }
            }
            None => break,
        }
    }
    Ok(routed)
}

impl EmailOffers for Runtime {
    fn route_email(self: &Arc<Self>, queues: Option<&[String]>) -> EmailRouted {
        let names = match queues {
            Some(names) => names.to_vec(),
            // Read on the writer's connection (`guard` takes no write lock
            // for a read): routing follows a write (ingest, a tick), and a
            // pooled reader would first re-read the pages that write
            // changed, which cost more than the routing's own reads.
            None => match self
                .store()
                .guard("email queues", |tx| tx.queue_names(QueueChannel::Email))
            {
                Ok(names) => names,
                Err(e) => {
                    return EmailRouted {
                        offers: Vec::new(),
                        problems: vec![format!("cannot read the email queues: {e}")],
                    };
                }
            },
        };
        let mut routed = EmailRouted::default();
        for name in names {
            match route_email_queue(self, &name) {
                Ok(made) => routed.extend(made),
                Err(e) => routed.problems.push(format!("email queue {name}: {e}")),
            }
        }
        if !routed.offers.is_empty() {
            self.chat_pump();
        }
        routed
    }

    fn email_queues_of(&self, login: &str) -> Result<Vec<String>> {
        // From the queues routing keeps (read again when `queue_rev`
        // moves), not every queue's members read at each call.
        Ok(super::queues::view(self)?.email_queues_of(login).to_vec())
    }

    fn my_email_offers(&self, ctx: &Ctx) -> Result<Vec<EmailOffer>> {
        let login = acting(ctx, "list email offers")?;
        self.store().read(|tx| tx.email_offers_of(&login))
    }

    fn accept_email(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<(EmailOffer, WorkbinItem)> {
        let login = acting(ctx, "accept an email offer")?;
        let now = self.now();
        self.transaction("email accept", || {
            let offer = self
                .store()
                .read(|tx| tx.email_offer(id))?
                .ok_or_else(|| Error::Refused(format!("there is no email offer {id}")))?;
            offered_to(&offer, &login, "accept")?;
            let item = self.store().write("email accept", |tx| {
                let item = tx.insert_workbin(&NewWorkbinItem {
                    agent: Some(&login),
                    group: None,
                    case_number: offer.case_number,
                    follow_up: offer.follow_up,
                    draft: None,
                    reason: &format!("a new email you accepted from queue {}", offer.queue),
                    at: now,
                })?;
                if !tx.accept_email_offer(id, &login, now, item)? {
                    return Err(Error::Refused(format!(
                        "email offer {id} can no longer be accepted: its deadline passed"
                    )));
                }
                Ok(item)
            })?;
            self.modify_case(ctx, offer.case_number, "email accept", |case| {
                case.owner = Some(login.clone());
                Ok(())
            })?;
            let accepted = self
                .store()
                .read(|tx| tx.email_offer(id))?
                .ok_or_else(|| Error::Corrupt(format!("email offer {id} vanished")))?;
            let item = self
                .store()
                .read(|tx| tx.workbin_item(item))?
                .ok_or_else(|| Error::Corrupt(format!("workbin item {item} vanished")))?;
            Ok((accepted, item))
        })
    }

    fn reject_email(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<EmailRouted> {
        let login = acting(ctx, "reject an email offer")?;
        self.require(
            ctx,
            Permission::RejectChat,
            &format!("reject email offer {id}"),
        )?;
        let now = self.now();
        let offer = self
            .store()
            .read(|tx| tx.email_offer(id))?
            .ok_or_else(|| Error::Refused(format!("there is no email offer {id}")))?;
        offered_to(&offer, &login, "reject")?;
        self.store().write("email reject", |tx| {
            if !tx.return_email_offer(id, &login, None)? {
                return Err(Error::Refused(format!(
                    "email offer {id} is no longer offered to {login}"
                )));
            }
            put_on_break(tx, &login, &format!("rejected email offer {id}"), now)
        })?;
        Ok(self.route_email(Some(std::slice::from_ref(&offer.queue))))
    }

    fn fire_email_deadlines(self: &Arc<Self>, now: DateTime<Utc>) -> Result<Vec<EmailOffer>> {
        let ids = self.store().read(|tx| tx.due_email_offers(now, 1000))?;
        let mut fired = Vec::new();
        for id in ids {
            let Some(offer) = self.store().read(|tx| tx.email_offer(id))? else {
                continue;
            };
            let Some(agent) = offer.agent.clone() else {
                continue;
            };
            let returned = self.store().write("email deadline", |tx| {
                if !tx.return_email_offer(id, &agent, Some(now))? {
                    return Ok(false);
                }
                put_on_break(tx, &agent, &format!("no answer to email offer {id}"), now)?;
                Ok(true)
            })?;
            if returned {
                fired.push(offer);
            }
        }
        Ok(fired)
    }
}

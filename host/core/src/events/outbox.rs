//! After-save events past the commit: queued in the write's transaction,
//! one delivery per (event, handler), delivered after commit, each retried
//! on its own with growing backoff, and declared dead when its chain ran
//! out of depth or it failed too often.

use std::cell::Cell;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use dossier_sdk::{Event, Notification, Record, SaveEvent, SaveOp};
use serde::Serialize;

use super::context::{Actor, Ctx};
use super::pipeline;
use crate::runtime::Runtime;
use dossier_store::DueDelivery;
use dossier_types::{Error, Result};

/// How long a claimed delivery is reserved for the process delivering it.
const LEASE_SECONDS: i64 = 60;
/// After this many failed attempts a delivery is declared dead.
pub const MAX_ATTEMPTS: u32 = 20;
/// Deliveries one call attempts at most; the rest wait for the next call.
const PER_CALL: usize = 1000;

thread_local! {
    /// Set while this thread delivers, so that commits made by handlers
    /// during delivery leave their new entries to the loop already running
    /// instead of recursing into it.
    static DELIVERING: Cell<bool> = const { Cell::new(false) };
}

/// What a [`Delivery`] does with one attempt's result.
pub enum Attempt {
    /// Done.
    Delivered,
    /// Try again later (with the outbox's backoff).
    Retry(String),
    /// Never try again.
    Dead(String),
}

/// A way out of the host for notifications: the mail channel registers one
/// (SMTP). The `notification` step hands it every notification the hooks
/// let through, inside the transaction that caused it; it queues an outbox
/// entry for itself there, and the outbox calls it back after commit, once
/// per attempt. The core names no channel: without a delivery, a
/// notification is checked, run through its hooks and returned, never sent.
pub trait Delivery: Send + Sync {
    /// The handler key of its outbox deliveries (`smtp`); never a handler's
    /// name.
    fn name(&self) -> &str;

    /// Queues `n` (as the hooks left it) in the transaction open on this
    /// thread. Returns the notification as queued (it may add a Message-ID
    /// or a thread token) and whether it will be sent.
    fn queue(&self, rt: &Arc<Runtime>, ctx: &Ctx, n: Notification) -> Result<(Notification, bool)>;

    /// One attempt at delivering `event`, queued by [`Delivery::queue`],
    /// outside any transaction.
    fn deliver(&self, rt: &Arc<Runtime>, event: &Event, now: DateTime<Utc>) -> Attempt;
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not tried yet.
    Pending,
    /// Tried and failed; tried again at `next_attempt_at`.
    Failed,
    /// Given up on: out of causal depth, too many failures, or a handler
    /// that is no longer loaded. Only `dossier outbox retry` revives it.
    Dead,
    /// Done.
    Delivered,
}

/// One after-save event's delivery to one handler.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxDelivery {
    /// The delivery's id (what `dossier outbox retry ID` takes).
    pub id: i64,
    /// The outbox entry (the event) it belongs to.
    pub entry: i64,
    /// The handler it goes to.
    pub handler: String,
    /// The entry's idempotency key, the same for every handler and attempt.
    pub idempotency_key: String,
    /// The hook it runs (`after_save_case`).
    pub hook: String,
    /// The record concerned (`case 12`).
    pub record: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it is tried next (pending and failed deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last failure.
    pub last_error: Option<String>,
    /// The causal depth of the write that queued it.
    pub depth: u32,
    /// When the event was queued.
    pub created_at: DateTime<Utc>,
}

impl Runtime {
    /// Queues the `after_save` event of a write made with `ctx`, one
    /// delivery per handler that wants it; nothing when none does. Hands
    /// `record` back.
    pub fn queue_after_save(
        &self,
        ctx: &Ctx,
        op: SaveOp,
        record: Record,
        old: Option<&Record>,
    ) -> Result<Record> {
        if self.pipeline().is_empty() {
            return Ok(record);
        }
        // The record goes into the event and comes back out, never copied.
        let mut event = Event::AfterSave(SaveEvent::new(op, record));
        let back = |event: Event| match event {
            Event::AfterSave(save) => Ok(save.record),
            _ => Err(Error::Refused(
                "internal error: an after-save event lost its record".into(),
            )),
        };
        // Listing the changed fields serializes both records: only for an
        // event some handler may take.
        if !self.pipeline().may_handle(&event) {
            return back(event);
        }
        if let Event::AfterSave(save) = &mut event {
            save.changed = Record::changed_fields(old, &save.record);
        }
        let handlers: Vec<&str> = self
            .pipeline()
            .handling(&event)
            .map(|r| r.key.as_str())
            .collect();
        if handlers.is_empty() {
            return back(event);
        }
        let op_name = match op {
            SaveOp::Create => "create",
            SaveOp::Update => "update",
        };
        let json = dossier_store::to_json(&event);
        let chain = dossier_store::to_json(&ctx.chain());
        let actor = dossier_store::to_json(ctx.actor());
        let now = self.now();
        let (kind, id) = match &event {
            Event::AfterSave(save) => (save.record.kind(), save.record.id()),
            _ => return back(event),
        };
        self.store().write("queue after-save", |tx| {
            let id_ = tx.outbox_next_id()?;
            let key = format!("{kind}:{id}:{op_name}:{id_}");
            tx.outbox_enqueue(
                id_,
                &key,
                &json,
                ctx.depth(),
                &chain,
                &actor,
                now,
                &handlers,
            )
        })?;
        self.note_queued();
        back(event)
    }

    /// Delivers due after-save deliveries; returns how many succeeded.
    /// Failures are retried later with exponential backoff.
    pub fn deliver_outbox(self: &Arc<Self>) -> Result<usize> {
        if DELIVERING.with(Cell::get) {
            return Ok(0);
        }
        DELIVERING.with(|d| d.set(true));
        let result = self.deliver_rounds();
        DELIVERING.with(|d| d.set(false));
        result
    }

    fn deliver_rounds(self: &Arc<Self>) -> Result<usize> {
        let mut delivered = 0;
        let mut tried = 0;
        // Every round's deliveries leave the due list (delivered, failed
        // with backoff, dead, or leased to someone), so this ends.
        while tried < PER_CALL {
            let now = self.now();
            let due = self.store().read(|tx| tx.outbox_due(now, 100))?;
            if due.is_empty() {
                break;
            }
            for d in due {
                tried += 1;
                if self.deliver_one(d, now)? {
                    delivered += 1;
                }
            }
        }
        Ok(delivered)
    }

    fn deliver_one(self: &Arc<Self>, d: DueDelivery, now: DateTime<Utc>) -> Result<bool> {
        let lease = now + Duration::seconds(LEASE_SECONDS);
        let claimed = self
            .store()
            .write("outbox claim", |tx| tx.outbox_claim(d.id, now, lease))?;
        if !claimed {
            return Ok(false);
        }
        let dead = |message: String| {
            self.store().write("outbox delivery", |tx| {
                tx.outbox_mark_dead(d.id, &message, now)
            })
        };
        let Some(entry) = self.store().read(|tx| tx.outbox_entry(d.entry))? else {
            dead(format!("outbox entry {} is missing", d.entry))?;
            return Ok(false);
        };
        let parsed = serde_json::from_str::<Event>(&entry.event)
            .map_err(|e| format!("outbox entry {} cannot be read: {e}", d.entry))
            .and_then(|event| {
                let actor = serde_json::from_str::<Actor>(&entry.actor).map_err(|e| {
                    format!("outbox entry {} has an unreadable actor: {e}", d.entry)
                })?;
                let chain = serde_json::from_str::<Vec<String>>(&entry.chain).map_err(|e| {
                    format!("outbox entry {} has an unreadable chain: {e}", d.entry)
                })?;
                Ok((event, actor, chain))
            });
        let (mut event, actor, chain) = match parsed {
            Ok(parts) => parts,
            Err(message) => {
                dead(message)?;
                return Ok(false);
            }
        };
        if d.handler == "*" {
            // Queued before deliveries were kept per handler: split it.
            let handlers: Vec<&str> = self
                .pipeline()
                .handling(&event)
                .map(|r| r.key.as_str())
                .collect();
            self.store().write("outbox split", |tx| {
                tx.outbox_expand(d.id, d.entry, &handlers, now)
            })?;
            return Ok(false);
        }
        if let Some(delivery) = self.delivery().filter(|x| x.name() == d.handler) {
            let attempt = d.attempts + 1;
            return match delivery.deliver(self, &event, now) {
                Attempt::Delivered => {
                    self.store()
                        .write("outbox delivery", |tx| tx.outbox_mark_delivered(d.id, now))?;
                    Ok(true)
                }
                Attempt::Dead(message) => {
                    dead(message)?;
                    Ok(false)
                }
                Attempt::Retry(message) if attempt >= MAX_ATTEMPTS => {
                    dead(format!("{message} (gave up after {attempt} attempts)"))?;
                    Ok(false)
                }
                Attempt::Retry(message) => {
                    tracing::warn!(key = %entry.key, attempt, "email delivery failed: {message}");
                    let backoff = Duration::seconds(1i64 << d.attempts.min(12));
                    self.store().write("outbox delivery", |tx| {
                        tx.outbox_mark_failed(d.id, &message, now + backoff)
                    })?;
                    Ok(false)
                }
            };
        }
        let Some(registered) = self.pipeline().by_key(&d.handler) else {
            dead(format!(
                "handler `{}` is not loaded any more (it was when the event was queued)",
                d.handler
            ))?;
            return Ok(false);
        };
        let mut ctx = Ctx::resumed(
            self.clone(),
            actor,
            entry.depth,
            chain,
            Some(entry.key.clone()),
        );
        let outcome = pipeline::call(&mut ctx, registered, &mut event);
        match outcome {
            Ok(()) => {
                self.store()
                    .write("outbox delivery", |tx| tx.outbox_mark_delivered(d.id, now))?;
                Ok(true)
            }
            Err(e) => {
                let attempt = d.attempts + 1;
                if ctx.exhausted() || matches!(e, Error::ChainTooDeep { .. }) {
                    dead(e.to_string())?;
                } else if attempt >= MAX_ATTEMPTS {
                    dead(format!("{e} (gave up after {attempt} attempts)"))?;
                } else {
                    let backoff = Duration::seconds(1i64 << d.attempts.min(12));
                    self.store().write("outbox delivery", |tx| {
                        tx.outbox_mark_failed(d.id, &e.to_string(), now + backoff)
                    })?;
                }
                tracing::warn!(
                    key = %entry.key,
                    handler = %d.handler,
                    attempt,
                    "after-save delivery {} to {} failed (attempt {attempt}): {e}",
                    entry.key,
                    d.handler
                );
                Ok(false)
            }
        }
    }

    /// Undelivered deliveries (pending, failed and dead), oldest first.
    pub fn undelivered(&self) -> Result<Vec<OutboxDelivery>> {
        let rows = self.store().read(|tx| tx.outbox_undelivered(10_000))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let (hook, record) = match serde_json::from_str::<Event>(&row.event) {
                    Ok(event) => {
                        let record = match &event {
                            Event::AfterSave(e) | Event::BeforeSave(e) => {
                                format!("{} {}", e.record.kind(), e.record.id())
                            }
                            other => other.kind().to_string(),
                        };
                        (event.hook_name(), record)
                    }
                    Err(_) => ("?".to_owned(), "unreadable event".to_owned()),
                };
                let state = if row.delivered_at.is_some() {
                    DeliveryState::Delivered
                } else if row.dead_at.is_some() {
                    DeliveryState::Dead
                } else if row.attempts > 0 {
                    DeliveryState::Failed
                } else {
                    DeliveryState::Pending
                };
                OutboxDelivery {
                    id: row.id,
                    entry: row.entry,
                    handler: row.handler,
                    idempotency_key: row.key,
                    hook,
                    record,
                    state,
                    attempts: row.attempts,
                    next_attempt_at: matches!(
                        state,
                        DeliveryState::Pending | DeliveryState::Failed
                    )
                    .then_some(row.next_attempt_at),
                    last_error: row.last_error,
                    depth: row.depth,
                    created_at: row.created_at,
                }
            })
            .collect())
    }

    /// Makes failed and dead deliveries (or the one with `id`) due now and
    /// delivers what is due; returns how many deliveries were revived.
    pub fn retry_outbox(self: &Arc<Self>, id: Option<i64>) -> Result<usize> {
        let now = self.now();
        let revived = self
            .store()
            .write("outbox retry", |tx| tx.outbox_retry(id, now))?;
        if let Some(id) = id
            && revived == 0
        {
            return Err(Error::Refused(format!(
                "outbox delivery {id} does not exist or was already delivered"
            )));
        }
        self.deliver_outbox()?;
        Ok(revived)
    }
}

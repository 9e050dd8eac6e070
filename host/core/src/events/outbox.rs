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
use super::lease::Held;
use super::pipeline;
use crate::runtime::Runtime;
use dossier_store::{DueDelivery, Failed};
use dossier_types::{Error, Result};

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
    /// Try again later (with the outbox's backoff): nothing went out.
    Retry(String),
    /// Try again later, though the message may have gone out (no reply to
    /// SMTP's final dot): the retry counts a possible duplicate.
    Uncertain(String),
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
    /// outside any transaction, under `lease`: call [`Lease::sending`]
    /// just before the message is handed over (SMTP DATA), and do not send
    /// when it says the lease was lost.
    fn deliver(
        &self,
        rt: &Arc<Runtime>,
        event: &Event,
        now: DateTime<Utc>,
        lease: &Lease<'_>,
    ) -> Attempt;
}

/// Work the host queued in the outbox itself because its first attempt
/// failed after what it stands for was settled (a reminder whose hooks or
/// notification failed after its claim, `dossier-interact`'s reminders):
/// the outbox attempts it again after commit like any delivery, with the
/// same backoff, attempt count, dead state and `dossier outbox retry`. The
/// core names no such work; the facade registers each
/// ([`Runtime::with_redo`]).
pub trait Redo: Send + Sync {
    /// The handler key of its outbox deliveries (`task_reminder`); never a
    /// handler's name.
    fn name(&self) -> &str;

    /// One attempt at the work `event` describes, with a context resumed
    /// at the depth and chain of the write that queued it, outside any
    /// transaction (open one: the attempt's writes commit together). `Ok`
    /// marks the delivery done; an error is retried with backoff, or dead
    /// when the chain ran out of depth.
    fn redo(&self, rt: &Arc<Runtime>, ctx: &Ctx, event: &Event) -> Result<()>;
}

/// The claim one delivery attempt runs under: held by this process until
/// the attempt records its outcome, and renewed meanwhile (see
/// `dossier_store::OutboxTx::outbox_claim` for the contract).
pub struct Lease<'a> {
    rt: &'a Arc<Runtime>,
    id: i64,
    holder: String,
    _renewed: Held,
}

impl Lease<'_> {
    /// Records that the attempt is about to hand its message over (a
    /// crash from here on leaves the delivery marked sending, and its
    /// retry counts a possible duplicate). False when this process no
    /// longer holds the lease (another took the delivery over after it ran
    /// out): the attempt must then stop without sending.
    pub fn sending(&self) -> bool {
        let now = self.rt.now();
        match self.rt.store().write("outbox sending", |tx| {
            tx.outbox_mark_sending(self.id, &self.holder, now)
        }) {
            Ok(held) => {
                if !held {
                    tracing::warn!(
                        "outbox delivery {}: the lease ran out and another process took it over; \
                         not sending from here",
                        self.id
                    );
                }
                held
            }
            Err(e) => {
                tracing::warn!("outbox delivery {}: cannot record sending: {e}", self.id);
                false
            }
        }
    }
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
    /// An attempt reached the point of sending and has not recorded how it
    /// ended: it is running now, or it was interrupted (then the message
    /// may have gone out, and the retry counts a possible duplicate).
    Sending,
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
    /// Until when a process holds it (an attempt is running, or one was
    /// interrupted and the lease has not run out yet).
    pub leased_until: Option<DateTime<Utc>>,
    /// How many attempts were made after one that may have sent it: each
    /// may have delivered it a second time.
    pub possible_duplicates: u32,
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

    /// Queues `event`, an after-event of a write made with `ctx` (a
    /// `directory_changed`), in the transaction open on this thread, one
    /// delivery per handler that wants it; nothing when none does. `what`
    /// names its subject in the idempotency key (`agent:ann`). Delivered
    /// after the outermost commit, like `after_save`: a failing delivery is
    /// retried and never undoes the write.
    pub fn queue_after_event(&self, ctx: &Ctx, event: &Event, what: &str) -> Result<()> {
        let handlers: Vec<&str> = self
            .pipeline()
            .handling(event)
            .map(|r| r.key.as_str())
            .collect();
        if handlers.is_empty() {
            return Ok(());
        }
        let json = dossier_store::to_json(event);
        let chain = dossier_store::to_json(&ctx.chain());
        let actor = dossier_store::to_json(ctx.actor());
        let now = self.now();
        let kind = event.kind();
        self.store().write("queue after-event", |tx| {
            let id = tx.outbox_next_id()?;
            let key = format!("{kind}:{what}:{id}");
            tx.outbox_enqueue(id, &key, &json, ctx.depth(), &chain, &actor, now, &handlers)
        })?;
        self.note_queued();
        Ok(())
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
            let due = self.store().read(|tx| tx.outbox_due(self.now(), 100))?;
            if due.is_empty() {
                break;
            }
            for d in due {
                tried += 1;
                if self.deliver_one(d)? {
                    delivered += 1;
                }
            }
        }
        Ok(delivered)
    }

    /// Claims `d` for this process and makes one attempt at it; true when
    /// it was delivered. Each claim has its own lease, taken at the claim's
    /// time and renewed while the attempt runs; its outcome is recorded
    /// only while the lease is still this claim's.
    fn deliver_one(self: &Arc<Self>, d: DueDelivery) -> Result<bool> {
        let holder = lease_holder()?;
        let now = self.now();
        let until = now + self.lease_duration();
        let Some(claim) = self.store().write("outbox claim", |tx| {
            tx.outbox_claim(d.id, &holder, now, until)
        })?
        else {
            return Ok(false);
        };
        if claim.possible_duplicate {
            tracing::warn!(
                "outbox delivery {} to {}: an earlier attempt was interrupted while sending; \
                 trying again, which may deliver it twice",
                d.id,
                d.handler
            );
        }
        let lease = Lease {
            rt: self,
            id: d.id,
            _renewed: self.leases().hold(self, d.id, &holder)?,
            holder,
        };
        let outcome = self.attempt(&d, &lease)?;
        let now = self.now();
        let recorded = self.store().write("outbox delivery", |tx| match &outcome {
            Outcome::Delivered => tx.outbox_mark_delivered(d.id, &lease.holder, now),
            Outcome::Dead(message) => tx.outbox_mark_dead(d.id, &lease.holder, message, now),
            Outcome::Failed {
                message,
                maybe_sent,
            } => {
                let backoff = Duration::seconds(1i64 << d.attempts.min(12));
                let failure = Failed {
                    error: message,
                    retry_at: now + backoff,
                    maybe_sent: *maybe_sent,
                };
                tx.outbox_mark_failed(d.id, &lease.holder, failure)
            }
            Outcome::Recorded => Ok(true),
        })?;
        if !recorded {
            tracing::warn!(
                "outbox delivery {} to {}: the lease ran out during the attempt and another \
                 process took it over; this attempt's outcome is not recorded{}",
                d.id,
                d.handler,
                if matches!(outcome, Outcome::Delivered) {
                    " (it was delivered: the other attempt may deliver it again)"
                } else {
                    ""
                }
            );
        }
        Ok(recorded && matches!(outcome, Outcome::Delivered))
    }

    /// One attempt at a claimed delivery.
    fn attempt(self: &Arc<Self>, d: &DueDelivery, lease: &Lease<'_>) -> Result<Outcome> {
        let Some(entry) = self.store().read(|tx| tx.outbox_entry(d.entry))? else {
            return Ok(Outcome::Dead(format!(
                "outbox entry {} is missing",
                d.entry
            )));
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
            Err(message) => return Ok(Outcome::Dead(message)),
        };
        let attempt = d.attempts + 1;
        let failed = |message: String, maybe_sent: bool| {
            if attempt >= MAX_ATTEMPTS {
                Outcome::Dead(format!("{message} (gave up after {attempt} attempts)"))
            } else {
                Outcome::Failed {
                    message,
                    maybe_sent,
                }
            }
        };
        if d.handler == "*" {
            // Queued before deliveries were kept per handler: split it.
            let handlers: Vec<&str> = self
                .pipeline()
                .handling(&event)
                .map(|r| r.key.as_str())
                .collect();
            let now = self.now();
            self.store().write("outbox split", |tx| {
                tx.outbox_expand(d.id, &lease.holder, d.entry, &handlers, now)
            })?;
            return Ok(Outcome::Recorded);
        }
        if let Some(delivery) = self.delivery().filter(|x| x.name() == d.handler) {
            let outcome = match delivery.deliver(self, &event, self.now(), lease) {
                Attempt::Delivered => Outcome::Delivered,
                Attempt::Dead(message) => Outcome::Dead(message),
                Attempt::Retry(message) => failed(message, false),
                Attempt::Uncertain(message) => failed(message, true),
            };
            if let Outcome::Failed { message, .. } = &outcome {
                tracing::warn!(key = %entry.key, attempt, "email delivery failed: {message}");
            }
            return Ok(outcome);
        }
        if let Some(redo) = self.redo_for(&d.handler).cloned() {
            if !lease.sending() {
                return Ok(Outcome::Recorded);
            }
            let ctx = Ctx::resumed(
                self.clone(),
                actor,
                entry.depth,
                chain,
                Some(entry.key.clone()),
            );
            return Ok(match redo.redo(self, &ctx, &event) {
                Ok(()) => Outcome::Delivered,
                Err(e) => {
                    tracing::warn!(
                        key = %entry.key,
                        handler = %d.handler,
                        attempt,
                        "retry failed: {e}"
                    );
                    if ctx.exhausted() || matches!(e, Error::ChainTooDeep { .. }) {
                        Outcome::Dead(e.to_string())
                    } else {
                        failed(e.to_string(), false)
                    }
                }
            });
        }
        let Some(registered) = self.pipeline().by_key(&d.handler) else {
            return Ok(Outcome::Dead(format!(
                "handler `{}` is not loaded any more (it was when the event was queued)",
                d.handler
            )));
        };
        if !lease.sending() {
            return Ok(Outcome::Recorded);
        }
        let mut ctx = Ctx::resumed(
            self.clone(),
            actor,
            entry.depth,
            chain,
            Some(entry.key.clone()),
        );
        match pipeline::call(&mut ctx, registered, &mut event) {
            Ok(()) => Ok(Outcome::Delivered),
            Err(e) => {
                tracing::warn!(
                    key = %entry.key,
                    handler = %d.handler,
                    attempt,
                    "after-save delivery {} to {} failed (attempt {attempt}): {e}",
                    entry.key,
                    d.handler
                );
                if ctx.exhausted() || matches!(e, Error::ChainTooDeep { .. }) {
                    Ok(Outcome::Dead(e.to_string()))
                } else {
                    Ok(failed(e.to_string(), false))
                }
            }
        }
    }

    /// Undelivered deliveries (pending, failed and dead), oldest first.
    pub fn undelivered(&self) -> Result<Vec<OutboxDelivery>> {
        let now = self.now();
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
                            Event::TaskReminder(r) => format!("task {}", r.task.id),
                            Event::DirectoryChanged(d) => match (&d.agent, &d.group) {
                                (Some(a), _) => format!("agent {}", a.login),
                                (None, Some(g)) => format!("group {}", g.name),
                                (None, None) => "directory".to_owned(),
                            },
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
                } else if row.sending_at.is_some() {
                    DeliveryState::Sending
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
                    leased_until: row.lease_until.filter(|until| *until > now),
                    possible_duplicates: row.possible_duplicates,
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

/// How an attempt ended, as recorded under its lease.
enum Outcome {
    Delivered,
    Failed {
        message: String,
        maybe_sent: bool,
    },
    Dead(String),
    /// Already recorded (a split), or not this claim's to record (the lease
    /// was lost before sending).
    Recorded,
}

/// A token new for each claim: who holds a lease.
fn lease_holder() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Refused(format!("cannot draw an outbox lease token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

//! Task reminders: each fires exactly once, however many hosts poll the file.
//!
//! A task with `reminder_minutes` has a reminder time (`due_at` minus those
//! minutes). Firing one is a write transaction that first *claims* it (an
//! `UPDATE … WHERE reminded_at IS NULL`, which only one transaction can win:
//! SQLite serializes writers, across processes too), then runs the
//! `task_reminder` hooks and the notification they leave, and commits all of
//! it together. So:
//!
//! - a crash before commit leaves the reminder unclaimed, and it fires after
//!   restart, with none of the first attempt's writes;
//! - two hosts polling at once each see a reminder or not, never both;
//! - a hook that vetoes or fails, or a notification that fails, has its
//!   writes rolled back; the reminder is then claimed on its own and
//!   reported with the problem, so a broken hook cannot make a reminder
//!   fire again at every poll. A failure (not a veto) also queues an outbox
//!   delivery to `task_reminder` in that transaction: the outbox runs the
//!   reminder's hooks and notification again after commit, with its
//!   backoff, until they pass or it gives up (`dossier outbox list` shows
//!   it, `dossier outbox retry` revives it), so a script fixed meanwhile
//!   still sends the notice.

use std::cell::Cell;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use dossier_sdk::{
    Audience, Cause, Event, EventKind, Mailbox, Notification, Task, TaskId, TaskReminder,
};
use serde::Serialize;

use crate::prelude::*;
use dossier_core::events::{Actor, Ctx, Redo, Step};
use dossier_core::runtime::Runtime;
use dossier_types::contact::normalize_email;
use dossier_types::{Error, Result};

/// One reminder that fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FiredReminder {
    /// The event as the hooks left it. Its `notification` is the one that
    /// passed the `notification` hooks: with `[email.smtp]`, queued in the
    /// claim's transaction (with its Message-ID) and mailed after commit.
    pub reminder: TaskReminder,
    /// Set when a `task_reminder` or `notification` hook vetoed or failed,
    /// or the notification was refused: what the hooks wrote was rolled
    /// back, and the reminder still counts as fired.
    pub problem: Option<String>,
    /// Set when the outbox tries the hooks and the notification again: the
    /// id of that outbox entry (a veto is not retried).
    pub retry: Option<i64>,
}

/// The outbox handler key of reminders whose hooks or notification failed
/// (see the module's documentation).
pub const REMINDER_RETRY: &str = "task_reminder";

/// The `task_reminder` step: claim, hooks, the notification they leave,
/// all in one transaction.
struct Remind<'c> {
    id: TaskId,
    /// When it fired.
    now: DateTime<Utc>,
    /// Whether this run claims the reminder (it fires) or runs again one
    /// already claimed (an outbox retry).
    claims: bool,
    /// Set once the claim succeeded (inside the transaction): a failure
    /// after it means the hooks failed, not the claim.
    claimed: &'c Cell<bool>,
    task: Option<Task>,
}

impl Step for Remind<'_> {
    type Out = Option<TaskReminder>;

    fn kind(&self) -> EventKind {
        EventKind::TaskReminder
    }

    fn label(&self) -> &str {
        "task reminder"
    }

    fn writes(&self) -> bool {
        true
    }

    fn built_in(&mut self, rt: &Arc<Runtime>, ctx: &Ctx) -> Result<Option<Event>> {
        if self.claims && !claim(rt, self.id, self.now)? {
            return Ok(None);
        }
        self.claimed.set(true);
        let task = rt.task(ctx, self.id)?;
        let notification = draft_reminder_notification(rt, ctx, &task)?;
        self.task = Some(task.clone());
        Ok(Some(Event::TaskReminder(TaskReminder {
            task,
            fired_at: self.now,
            notification,
        })))
    }

    fn recheck(
        &mut self,
        _rt: &Arc<Runtime>,
        _ctx: &Ctx,
        _built: &Event,
        event: &mut Event,
    ) -> Result<()> {
        let Event::TaskReminder(reminder) = event else {
            return Err(Error::Refused(
                "a task_reminder hook replaced the event".into(),
            ));
        };
        if Some(&reminder.task) != self.task.as_ref() || reminder.fired_at != self.now {
            return Err(Error::Refused(
                "a task_reminder hook may change only `notification`; to change the task, update it with the task functions".into(),
            ));
        }
        Ok(())
    }

    fn finish(self, rt: &Arc<Runtime>, ctx: &Ctx, event: Option<Event>) -> Result<Self::Out> {
        let Some(Event::TaskReminder(mut reminder)) = event else {
            return Ok(None);
        };
        if let Some(mut n) = reminder.notification.take() {
            // A hook that writes the notice itself may leave the sender out.
            if n.from.address.trim().is_empty() {
                n.from = reminder_from(rt);
            }
            reminder.notification = Some(rt.notify(ctx, n)?);
        }
        Ok(Some(reminder))
    }
}

/// Task reminders, on the runtime.
pub trait Reminders {
    /// One reminder pass at `now`, firing at most `limit` reminders: see
    /// `Host::due_reminders`.
    fn due_reminders(
        self: &Arc<Self>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<FiredReminder>>;

    /// [`Reminders::due_reminders`], handing each fired reminder to
    /// `on_fired` as soon as its transaction committed (a process killed
    /// mid-pass has reported every reminder it fired but the last).
    fn due_reminders_each(
        self: &Arc<Self>,
        now: DateTime<Utc>,
        limit: u32,
        on_fired: &mut dyn FnMut(&FiredReminder),
    ) -> Result<Vec<FiredReminder>>;

    /// Claims and fires one reminder; `None` if someone else had it.
    fn fire_reminder(
        self: &Arc<Self>,
        id: TaskId,
        now: DateTime<Utc>,
    ) -> Result<Option<FiredReminder>>;
}

/// How many reminders a pass fires between two pauses for other writers.
const YIELD_EVERY: usize = 20;

impl Reminders for Runtime {
    fn due_reminders(
        self: &Arc<Self>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<FiredReminder>> {
        self.due_reminders_each(now, limit, &mut |_| {})
    }

    fn due_reminders_each(
        self: &Arc<Self>,
        now: DateTime<Utc>,
        limit: u32,
        on_fired: &mut dyn FnMut(&FiredReminder),
    ) -> Result<Vec<FiredReminder>> {
        // The pass fires the reminders due when it starts. One that a hook
        // plans during the pass (a snooze to a time already past) is not in
        // the list: it fires on a later pass, so a pass always ends.
        let ids = self.store().read(|tx| tx.due_reminder_ids(now, limit))?;
        let mut fired = Vec::new();
        for (i, id) in ids.into_iter().enumerate() {
            // Each reminder is its own transaction; between batches, let
            // writers of other processes in (an agent's note beside a pass
            // of thousands).
            if i > 0 && i % YIELD_EVERY == 0 {
                self.store().yield_to_writers();
            }
            if let Some(one) = self.fire_reminder(id, now)? {
                on_fired(&one);
                fired.push(one);
            }
        }
        Ok(fired)
    }

    fn fire_reminder(
        self: &Arc<Self>,
        id: TaskId,
        now: DateTime<Utc>,
    ) -> Result<Option<FiredReminder>> {
        // A reminder is its own origin, unless a hook planned the task: then
        // it continues that hook's chain, which bounds snooze loops.
        let (depth, chain) = self.store().read(|tx| tx.task_origin(id))?;
        let ctx = Ctx::resumed(self.clone(), Actor::System, depth, chain, None);
        let claimed = Cell::new(false);
        let attempt = self.run(
            &ctx,
            Remind {
                id,
                now,
                claims: true,
                claimed: &claimed,
                task: None,
            },
        );
        match attempt {
            Ok(reminder) => Ok(reminder.map(|reminder| FiredReminder {
                reminder,
                problem: None,
                retry: None,
            })),
            Err(problem) if claimed.get() => {
                // Everything the hooks wrote is rolled back; the reminder
                // still fires, once, without them. A failure (not a veto:
                // the admin's refusal stands) goes to the outbox, which
                // tries the hooks and the notification again after commit.
                let retried = !matches!(problem, Error::Vetoed { .. } | Error::ChainTooDeep { .. });
                let fired = self.transaction("task reminder without hooks", || {
                    if !claim(self, id, now)? {
                        return Ok(None);
                    }
                    let task = self.task(&ctx, id)?;
                    let reminder = TaskReminder {
                        task,
                        fired_at: now,
                        notification: None,
                    };
                    let retry = if retried {
                        Some(queue_retry(self, &ctx, &reminder)?)
                    } else {
                        None
                    };
                    Ok(Some((reminder, retry)))
                })?;
                Ok(fired.map(|(reminder, retry)| FiredReminder {
                    reminder,
                    problem: Some(problem.to_string()),
                    retry,
                }))
            }
            Err(e) => Err(e),
        }
    }
}

/// Queues the outbox entry that runs `reminder`'s hooks and notification
/// again after commit (in the transaction open on this thread); returns
/// the entry's id. The pass reports it (`FiredReminder::retry`), so it
/// logs nothing itself.
fn queue_retry(rt: &Runtime, ctx: &Ctx, reminder: &TaskReminder) -> Result<i64> {
    let json = dossier_store::to_json(&Event::TaskReminder(reminder.clone()));
    let chain = dossier_store::to_json(&ctx.chain());
    let actor = dossier_store::to_json(ctx.actor());
    let now = rt.now();
    let task = reminder.task.id;
    let id = rt.store().write("queue reminder retry", |tx| {
        let id = tx.outbox_next_id()?;
        tx.outbox_enqueue(
            id,
            &format!("task_reminder:{task}:{id}"),
            &json,
            ctx.depth(),
            &chain,
            &actor,
            now,
            &[REMINDER_RETRY],
        )?;
        Ok(id)
    })?;
    rt.note_queued();
    Ok(id)
}

/// The outbox's second chance for a reminder whose hooks or notification
/// failed when it fired: runs them again, without claiming (it was), at
/// the time it fired. A veto this time ends it: the admin's hook refused
/// the reminder.
pub struct ReminderRetry;

impl Redo for ReminderRetry {
    fn name(&self) -> &str {
        REMINDER_RETRY
    }

    fn redo(&self, rt: &Arc<Runtime>, ctx: &Ctx, event: &Event) -> Result<()> {
        let Event::TaskReminder(fired) = event else {
            return Err(Error::Refused(format!(
                "a {REMINDER_RETRY} outbox entry holds a {} event",
                event.kind()
            )));
        };
        let claimed = Cell::new(false);
        let again = rt.run(
            ctx,
            Remind {
                id: fired.task.id,
                now: fired.fired_at,
                claims: false,
                claimed: &claimed,
                task: None,
            },
        );
        match again {
            Ok(_) => Ok(()),
            Err(Error::Vetoed { by, message }) => {
                tracing::info!(
                    "the retried reminder of task {} was vetoed by {by}: {message}",
                    fired.task.id
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// The sender a reminder's notice gets when its hooks leave none:
/// `[reminders] from`.
fn reminder_from(rt: &Runtime) -> Mailbox {
    Mailbox {
        name: Some("Dossier".to_owned()),
        address: rt.config().reminders.from.clone(),
    }
}

/// The notice the assignee gets when `[reminders] notify_assignee` is on
/// (the default) and the assignee is an email address, or the login of an
/// enabled agent whose profile has one.
fn draft_reminder_notification(
    rt: &Runtime,
    _ctx: &Ctx,
    task: &Task,
) -> Result<Option<Notification>> {
    let config = &rt.config().reminders;
    let Some(assignee) = task.assignee.as_deref().filter(|_| config.notify_assignee) else {
        return Ok(None);
    };
    let (name, address) = match normalize_email(assignee) {
        Ok(address) => (None, address),
        // Read inside the reminder's transaction (the store reads through
        // the write this thread holds).
        Err(_) => match rt.store().read(|tx| tx.agent(assignee))? {
            Some(agent) if !agent.disabled => match agent.email {
                Some(address) => (Some(agent.display_name), address),
                None => return Ok(None),
            },
            _ => return Ok(None),
        },
    };
    let customer = match task.customer {
        Some(id) => rt
            .store()
            .read(|tx| tx.customer_brief(id))?
            .map(|(account, name)| format!("{name} ({account})")),
        None => None,
    };
    let due = task.due_at.format("%Y-%m-%d %H:%M UTC");
    let mut body = format!(
        "Task #{}: {} {}\nDue: {due}\n",
        task.id,
        task.kind.as_str(),
        task.subject
    );
    if let Some(customer) = customer {
        body.push_str(&format!("Customer: {customer}\n"));
    }
    if let Some(case) = task.case {
        body.push_str(&format!("Case: {case}\n"));
    }
    Ok(Some(Notification {
        case_number: task.case,
        audience: Audience::Agent,
        cause: Cause::Reminder,
        from: reminder_from(rt),
        to: vec![Mailbox { name, address }],
        cc: Vec::new(),
        bcc: Vec::new(),
        message_id: None,
        in_reply_to: None,
        references: Vec::new(),
        thread_token: None,
        attachments: Vec::new(),
        subject: format!("Reminder: {} at {due}", task.subject),
        body,
        html: None,
        signature: None,
        review: false,
    }))
}

/// Claims the reminder of task `id` (false when another host had it) and,
/// in the same transaction, tells the assignee's screen when the assignee
/// is an agent: a `reminder` event in the event log.
fn claim(rt: &Runtime, id: TaskId, now: DateTime<Utc>) -> Result<bool> {
    let schema = rt.schema();
    rt.store().write("claim reminder", move |tx| {
        if !tx.claim_reminder(id, now)? {
            return Ok(false);
        }
        let task = tx.get_task(schema, id)?;
        if let Some(login) = task.assignee.as_deref()
            && tx.agent(login)?.is_some()
        {
            let event = serde_json::json!({
                "task": task.id,
                "subject": task.subject,
                "kind": task.kind.as_str(),
                "due_at": task.due_at,
                "case": task.case,
                "customer": task.customer,
                "fired_at": now,
            });
            tx.log_event(Some(login), None, "reminder", &event.to_string(), now)?;
        }
        Ok(true)
    })
}

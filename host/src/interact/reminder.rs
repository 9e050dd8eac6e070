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
//! - a hook that vetoes or fails has its writes rolled back; the reminder is
//!   then claimed on its own and reported with the problem, so a broken hook
//!   cannot make a reminder fire again at every poll.

use chrono::{DateTime, Utc};
use dossier_sdk::{Audience, Cause, Event, Mailbox, Notification, Task, TaskId, TaskReminder};
use serde::Serialize;

use crate::contact::normalize_email;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::store;

/// Reminders listed per round; [`Host::due_reminders`] keeps going until none is due.
const BATCH: u32 = 100;

/// One reminder that fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FiredReminder {
    /// The event as the hooks left it. Its `notification` is the one that
    /// passed the `notification` hooks, what a sending plugin (smtp-notify) was handed.
    pub reminder: TaskReminder,
    /// Set when a `task_reminder` or `notification` hook vetoed or failed:
    /// what the hooks wrote was rolled back, and the reminder still counts
    /// as fired.
    pub problem: Option<String>,
}

/// What one pass of the reminder loop ([`Host::tick`]) did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tick {
    /// The host clock's time at the start of the pass.
    pub at: DateTime<Utc>,
    /// The reminders this pass fired (not those another host fired).
    pub fired: Vec<FiredReminder>,
    /// Outbox entries delivered.
    pub delivered: usize,
    /// When the next unfired reminder is due, if any: the loop may sleep until then.
    pub next_reminder: Option<DateTime<Utc>>,
}

impl Host {
    /// Fires every reminder due at `now` that has not fired yet, and returns
    /// those this call fired. Each reminder fires exactly once across all
    /// hosts sharing the store, and across restarts (see the module docs).
    pub fn due_reminders(&self, now: DateTime<Utc>) -> Result<Vec<FiredReminder>> {
        let mut fired = Vec::new();
        // A listed reminder leaves the listing once anyone claims it, so
        // this ends even while other hosts are claiming the same ones.
        loop {
            let ids = self
                .store()
                .read(|conn| store::due_reminder_ids(conn, now, BATCH))?;
            if ids.is_empty() {
                return Ok(fired);
            }
            for id in ids {
                fired.extend(self.fire_reminder(id, now)?);
            }
        }
    }

    /// How many reminders are due at `now` and have not fired.
    pub fn count_due_reminders(&self, now: DateTime<Utc>) -> Result<u64> {
        self.store()
            .read(|conn| store::count_due_reminders(conn, now))
    }

    /// When the next unfired reminder is due, if any.
    pub fn next_reminder_at(&self) -> Result<Option<DateTime<Utc>>> {
        self.store().read(store::next_reminder_at)
    }

    /// One pass of the `dossier run` loop at the host clock's time: fires
    /// due reminders, delivers the outbox, and says when the next reminder
    /// is due.
    pub fn tick(&self) -> Result<Tick> {
        let at = self.now();
        let fired = self.due_reminders(at)?;
        let delivered = self.deliver_outbox()?;
        let next_reminder = self.next_reminder_at()?;
        Ok(Tick {
            at,
            fired,
            delivered,
            next_reminder,
        })
    }

    /// Claims and fires one reminder; `None` if someone else had it.
    fn fire_reminder(&self, id: TaskId, now: DateTime<Utc>) -> Result<Option<FiredReminder>> {
        let mut hook_failed = false;
        let attempt = self.transaction("task reminder", |host| {
            if !claim(host, id, now)? {
                return Ok(None);
            }
            let task = host.task(id)?;
            let notification = host.draft_reminder_notification(&task)?;
            let event = Event::TaskReminder(TaskReminder {
                task,
                fired_at: now,
                notification,
            });
            let hooks = host.fire(event).and_then(|event| match event {
                Event::TaskReminder(mut reminder) => {
                    if let Some(n) = reminder.notification.take() {
                        reminder.notification = Some(host.notify(n)?);
                    }
                    Ok(reminder)
                }
                other => Err(Error::Refused(format!(
                    "a task_reminder hook replaced the event with a {} event",
                    other.kind()
                ))),
            });
            hook_failed = hooks.is_err();
            hooks.map(Some)
        });
        match attempt {
            Ok(reminder) => Ok(reminder.map(|reminder| FiredReminder {
                reminder,
                problem: None,
            })),
            Err(problem) if hook_failed => {
                // Everything the hooks wrote is rolled back; the reminder
                // still fires, once, without them.
                let claimed =
                    self.transaction("task reminder without hooks", |host| claim(host, id, now))?;
                if !claimed {
                    return Ok(None);
                }
                Ok(Some(FiredReminder {
                    reminder: TaskReminder {
                        task: self.task(id)?,
                        fired_at: now,
                        notification: None,
                    },
                    problem: Some(problem.to_string()),
                }))
            }
            Err(e) => Err(e),
        }
    }

    /// The notice the assignee gets when the assignee is an email address
    /// and `[reminders] notify_assignee` is on (the default).
    fn draft_reminder_notification(&self, task: &Task) -> Result<Option<Notification>> {
        let config = &self.config().reminders;
        let address = match task.assignee.as_deref().map(normalize_email) {
            Some(Ok(address)) if config.notify_assignee => address,
            _ => return Ok(None),
        };
        let customer = match task.customer {
            Some(id) => self
                .store()
                .read(|conn| store::customer_brief(conn, id))?
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
            from: Mailbox {
                name: Some("Dossier".to_owned()),
                address: config.from.clone(),
            },
            to: vec![Mailbox {
                name: None,
                address,
            }],
            cc: Vec::new(),
            bcc: Vec::new(),
            subject: format!("Reminder: {} at {due}", task.subject),
            body,
            html: None,
            signature: None,
            review: false,
        }))
    }
}

fn claim(host: &Host, id: TaskId, now: DateTime<Utc>) -> Result<bool> {
    host.store().write("claim reminder", |conn| {
        store::claim_reminder(conn, id, now)
    })
}

//! The facade's interaction operations: screen-pop, dispositions,
//! notifications and reminders (the work is in `crate::interact`).

use chrono::{DateTime, Utc};
use dossier_sdk::{Channel, Interaction, Notification, ScreenPop};

use super::Host;
use crate::Actor;
use crate::config::{ChannelDispositions, DispositionCode};
use crate::interact::{self, Disposed, FiredReminder};
use crate::prelude::*;
use dossier_types::Result;
use serde::Serialize;

/// What one pass of the background loop ([`Host::tick`]) did: reminders,
/// the outbox, chat deadlines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tick {
    /// The host clock's time at the start of the pass.
    pub at: DateTime<Utc>,
    /// The reminders this pass fired (not those another host fired).
    pub fired: Vec<FiredReminder>,
    /// Whether reminders that were due remain unfired (the pass hit its
    /// limit, [`Host::tick_limited`]).
    pub more: bool,
    /// Outbox entries delivered.
    pub delivered: usize,
    /// When the next unfired reminder is due, if any: the loop may sleep until then.
    pub next_reminder: Option<DateTime<Utc>>,
    /// Chat: missed offers fired, pushes handed out, the next deadline.
    #[cfg(feature = "chat")]
    pub chat: crate::chat::ChatTick,
}

impl Host {
    /// Decides what to show the agent for `interaction` (see
    /// `docs/interactions.md` for the order: case number, account, phone,
    /// email, then a new-customer form), then runs `screen_pop` so scripts
    /// and plugins may replace the target, add candidates or prefill the
    /// form. The result names a target that exists, with the reason it was
    /// chosen; a veto is returned as [`Error::Vetoed`](crate::Error::Vetoed).
    ///
    /// Hooks run inside a transaction, so a veto rolls back whatever they
    /// wrote; it takes the write lock only when a hook writes, and without
    /// hooks a pop only reads.
    ///
    /// A phone or email matching one customer pops that customer, never one
    /// of their cases, even if they have exactly one open case: a caller is
    /// as likely to ring about something new, and a case pop invites notes
    /// on the wrong case. The customer's open cases come with the pop
    /// (`open_cases`), one click away; a hook can pop the case instead.
    pub fn screen_pop(&self, interaction: Interaction) -> Result<ScreenPop> {
        self.rt.screen_pop(&self.ctx()?, interaction)
    }

    /// The disposition settings of `channel` (empty when not configured).
    pub fn dispositions(&self, channel: Channel) -> ChannelDispositions {
        interact::dispositions(self.config(), channel)
    }

    /// The configured code `code` of `channel`, or
    /// [`Error::UnknownDisposition`](crate::Error::UnknownDisposition)
    /// listing the codes the channel accepts.
    pub fn disposition_code(&self, channel: Channel, code: &str) -> Result<DispositionCode> {
        interact::disposition_code(self.config(), channel, code)
    }

    /// Ends `interaction` with disposition `code` and the agent's `note`.
    ///
    /// Validates the code against the channel's configured codes, then, in
    /// one write transaction: runs `disposition` (hooks may create a task,
    /// add a follow-up, change the case, change `close_case`, or veto),
    /// checks the code again if a hook changed it, and, when there is a
    /// case, records the code as the case's `last_disposition`, closes the
    /// case if `close_case` is set, and appends a `system` follow-up saying
    /// so. A veto or any failure rolls all of it back.
    pub fn dispose(
        &self,
        interaction: Interaction,
        code: &str,
        note: Option<String>,
    ) -> Result<Disposed> {
        self.rt.dispose(&self.ctx()?, interaction, code, note)
    }

    /// Ends `interaction` without a disposition code. Refused with
    /// [`Error::DispositionRequired`](crate::Error::DispositionRequired)
    /// (listing the valid codes) when the channel's
    /// `[dispositions.<channel>]` says `required = true`; otherwise there is
    /// nothing to record.
    pub fn finish_interaction(&self, interaction: &Interaction) -> Result<()> {
        interact::finish_interaction(self.config(), interaction)
    }

    /// Checks `notification`, runs `notification` so scripts and plugins may
    /// change it or veto it, checks it again and returns it as it may be
    /// sent.
    ///
    /// Checks: every address (sender and recipients) is a valid email address
    /// of at most 254 characters, lower-cased on the way; there is at least
    /// one recipient (to, cc or bcc); the subject and display names are one
    /// line each (no header injection). A failed check is
    /// [`Error::InvalidNotification`](crate::Error::InvalidNotification)
    /// naming the field; a veto is [`Error::Vetoed`](crate::Error::Vetoed)
    /// naming the script or plugin. The hooks run in a write transaction
    /// (joining the caller's, if any), so what they write is kept only if
    /// the notification passes.
    pub fn notify(&self, notification: Notification) -> Result<Notification> {
        self.rt.notify(&self.ctx()?, notification)
    }

    /// What became of `notification`, as [`Host::notify`] returned it:
    /// not sent (and why), sent, or queued after a failed first attempt
    /// (the outbox retries it).
    pub fn notification_outcome(&self, notification: &Notification) -> Result<NotifyOutcome> {
        if self.config().email.smtp.is_none() {
            return Ok(NotifyOutcome::NoSmtp);
        }
        if notification.review {
            return Ok(NotifyOutcome::InReview);
        }
        let Some(id) = &notification.message_id else {
            return Ok(NotifyOutcome::NotSent);
        };
        // `email:ENTRY:MESSAGE-ID`; entries queued before 0.2 are keyed
        // `email:MESSAGE-ID`.
        let is_this = |key: &str| {
            key.strip_prefix("email:").is_some_and(|rest| {
                rest == id
                    || rest
                        .split_once(':')
                        .is_some_and(|(entry, mid)| entry.parse::<i64>().is_ok() && mid == id)
            })
        };
        Ok(
            // The delivery of this very notification only: no
            // `manage_agents` needed, unlike the whole outbox.
            match self
                .rt
                .undelivered()?
                .into_iter()
                .find(|d| is_this(&d.idempotency_key))
            {
                None => NotifyOutcome::Sent {
                    message_id: id.clone(),
                },
                Some(d) => NotifyOutcome::Queued {
                    message_id: id.clone(),
                    delivery: d.id,
                    error: d.last_error,
                },
            },
        )
    }

    /// Fires every reminder due at `now` that has not fired yet, and returns
    /// those this call fired. Each reminder fires exactly once across all
    /// hosts sharing the store, and across restarts. A reminder that a
    /// reminder hook plans during the call, even one already due, fires on
    /// a later call, so a call always ends.
    ///
    /// Reminders fire for everyone, whoever calls; an agent is shown only
    /// those of tasks they may see (of no case, or of a case they may see).
    pub fn due_reminders(&self, now: DateTime<Utc>) -> Result<Vec<FiredReminder>> {
        let fired = self.rt.due_reminders(now, u32::MAX)?;
        if matches!(self.actor(), Actor::System) {
            return Ok(fired);
        }
        let ctx = self.ctx()?;
        let mut shown = Vec::with_capacity(fired.len());
        for f in fired {
            if self.rt.task_visible(&ctx, &f.reminder.task)? {
                shown.push(f);
            }
        }
        Ok(shown)
    }

    /// How many reminders are due at `now` and have not fired.
    pub fn count_due_reminders(&self, now: DateTime<Utc>) -> Result<u64> {
        self.rt.store().read(|tx| tx.count_due_reminders(now))
    }

    /// When the next unfired reminder is due, if any.
    pub fn next_reminder_at(&self) -> Result<Option<DateTime<Utc>>> {
        self.rt.store().read(|tx| tx.next_reminder_at())
    }

    /// One pass of the `dossier run` loop at the host clock's time: fires
    /// due reminders and chat acceptance deadlines, delivers the outbox,
    /// prunes the event log (at most hourly), hands chat subscribers what
    /// other processes committed, and says when the next reminder and
    /// deadline are due.
    pub fn tick(&self) -> Result<Tick> {
        self.tick_limited(u32::MAX)
    }

    /// [`Host::tick`] firing at most `max_reminders` reminders, so that a
    /// server can let other writes in between passes: when
    /// [`Tick::more`] is set, reminders remain due and the next pass should
    /// follow at once.
    pub fn tick_limited(&self, max_reminders: u32) -> Result<Tick> {
        self.tick_reporting(max_reminders, &mut |_| {})
    }

    /// [`Host::tick_limited`], handing each fired reminder to `on_fired` as
    /// soon as its transaction commits, before the pass goes on (`dossier
    /// run --json` prints it there, so a process killed mid-pass has
    /// reported what it fired). The [`Tick`] lists them all again.
    pub fn tick_reporting(
        &self,
        max_reminders: u32,
        on_fired: &mut dyn FnMut(&FiredReminder),
    ) -> Result<Tick> {
        let at = self.now();
        let fired = self.rt.due_reminders_each(at, max_reminders, on_fired)?;
        let more = fired.len() as u64 >= u64::from(max_reminders);
        #[cfg(feature = "chat")]
        let chat = self.rt.chat_tick(at)?;
        let delivered = self.deliver_outbox()?;
        self.prune_event_log_hourly(at)?;
        let next_reminder = self.next_reminder_at()?;
        Ok(Tick {
            at,
            fired,
            more,
            delivered,
            next_reminder,
            #[cfg(feature = "chat")]
            chat,
        })
    }
}

/// What became of a notification once its hooks passed it
/// ([`Host::notification_outcome`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NotifyOutcome {
    /// Not sent: `[email.smtp]` is not configured.
    NoSmtp,
    /// Not sent: it waits for QA review.
    InReview,
    /// Not sent: nothing asked for it to go out.
    NotSent,
    /// Sent over SMTP, or written to the folder of `transport = "file"`.
    Sent {
        /// Its Message-ID.
        message_id: String,
    },
    /// Queued: the first attempt failed, or none was made yet; the outbox
    /// tries again.
    Queued {
        /// Its Message-ID.
        message_id: String,
        /// The outbox delivery carrying it.
        delivery: i64,
        /// Why the last attempt failed, if one did.
        error: Option<String>,
    },
}

impl std::fmt::Display for NotifyOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotifyOutcome::NoSmtp => f.write_str("not sent: [email.smtp] is not configured"),
            NotifyOutcome::InReview => f.write_str("not sent: it waits for QA review"),
            NotifyOutcome::NotSent => f.write_str("not sent"),
            NotifyOutcome::Sent { message_id } => write!(f, "sent over SMTP as <{message_id}>"),
            NotifyOutcome::Queued {
                message_id,
                delivery,
                error,
            } => write!(
                f,
                "queued as <{message_id}>, not sent yet: {}; the outbox tries again (delivery {delivery})",
                error.as_deref().unwrap_or("not tried yet")
            ),
        }
    }
}

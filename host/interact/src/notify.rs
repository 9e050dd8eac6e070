//! The notification hook: the last stop of anything sent to a customer or
//! an agent, where scripts and plugins may change recipients, subject, body
//! and signature, or veto.
//!
//! `Host::notify` decides what may be sent and whether it may be.
//! With `[email.smtp]`, what passes is queued in the outbox in the same
//! transaction and sent over SMTP after commit (`email::send`); without it
//! nothing is sent, though a `notification` handler still sees it.

use std::sync::Arc;

use dossier_sdk::{Event, EventKind, Mailbox, Notification};

use dossier_core::events::{Actor, Ctx, Step};
use dossier_core::runtime::Runtime;
use dossier_types::contact::normalize_email;
use dossier_types::{Error, Result};

/// The `notification` step: check, let hooks change or veto, check again.
struct Notify {
    notification: Option<Notification>,
    /// Whether the host sends mail itself (`[email.smtp]`).
    sends: bool,
    /// Whether a reviewer approved it (a hook's `review` no longer holds it).
    approved: bool,
}

impl Step for Notify {
    type Out = Notification;

    fn kind(&self) -> EventKind {
        EventKind::Notification
    }

    fn label(&self) -> &str {
        "notification"
    }

    fn writes(&self) -> bool {
        // Mail is queued in the outbox in the same transaction.
        self.sends
    }

    fn built_in(&mut self, rt: &Arc<Runtime>, ctx: &Ctx) -> Result<Option<Event>> {
        let mut notification = self
            .notification
            .take()
            .ok_or_else(|| Error::Refused("internal error: a notification ran twice".into()))?;
        check(&mut notification)?;
        check_sender(rt, ctx, &notification)?;
        Ok(Some(Event::Notification(notification)))
    }

    fn recheck(
        &mut self,
        rt: &Arc<Runtime>,
        ctx: &Ctx,
        _built: &Event,
        event: &mut Event,
    ) -> Result<()> {
        let Event::Notification(notification) = event else {
            return Err(Error::Refused(
                "a notification hook replaced the event".into(),
            ));
        };
        check(notification).map_err(|e| match e {
            Error::InvalidNotification { field, rule } => Error::InvalidNotification {
                field,
                rule: format!("{rule} (after the notification hooks)"),
            },
            other => other,
        })?;
        check_sender(rt, ctx, notification)
    }

    fn finish(self, rt: &Arc<Runtime>, ctx: &Ctx, event: Option<Event>) -> Result<Notification> {
        match event {
            Some(Event::Notification(n)) if n.review && !self.approved => Ok(n),
            Some(Event::Notification(n)) => match rt.delivery() {
                Some(delivery) => Ok(delivery.queue(rt, ctx, n)?.0),
                None => Ok(n),
            },
            _ => Err(Error::Refused(
                "internal error: a notification lost its event".into(),
            )),
        }
    }
}

/// Notifications, on the runtime.
pub trait Notifications {
    /// Checks `notification`, runs the `notification` hooks, checks again:
    /// see `Host::notify`.
    fn notify(self: &Arc<Self>, ctx: &Ctx, notification: Notification) -> Result<Notification>;

    /// [`Runtime::notify`]; a notification with `review` set is checked
    /// and returned, not queued, unless `approved` (a reviewer approved it).
    fn notify_as(
        self: &Arc<Self>,
        ctx: &Ctx,
        notification: Notification,
        approved: bool,
    ) -> Result<Notification>;
}

impl Notifications for Runtime {
    fn notify(self: &Arc<Self>, ctx: &Ctx, notification: Notification) -> Result<Notification> {
        self.notify_as(ctx, notification, false)
    }

    fn notify_as(
        self: &Arc<Self>,
        ctx: &Ctx,
        notification: Notification,
        approved: bool,
    ) -> Result<Notification> {
        self.run(
            ctx,
            Notify {
                notification: Some(notification),
                sends: self.config().email.smtp.is_some(),
                approved,
            },
        )
    }
}

/// An agent's mail goes out from an address that is theirs
/// (`Runtime::require_from`); the system's is not checked.
fn check_sender(rt: &Runtime, ctx: &Ctx, n: &Notification) -> Result<()> {
    match ctx.actor() {
        Actor::Agent(login) => rt.require_from(login, &n.from.address),
        Actor::System => Ok(()),
    }
}

fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Error {
    Error::InvalidNotification {
        field: field.into(),
        rule: rule.into(),
    }
}

fn check_mailbox(field: &str, mailbox: &mut Mailbox) -> Result<()> {
    mailbox.address = normalize_email(&mailbox.address).map_err(|rule| invalid(field, rule))?;
    if let Some(name) = &mailbox.name
        && name.contains(['\r', '\n'])
    {
        return Err(invalid(field, "has a display name with a line break"));
    }
    Ok(())
}

/// Normalizes the addresses in place and checks the rules listed on
/// `Host::notify`.
fn check(n: &mut Notification) -> Result<()> {
    check_mailbox("from", &mut n.from)?;
    for (list, mailboxes) in [("to", &mut n.to), ("cc", &mut n.cc), ("bcc", &mut n.bcc)] {
        for (i, mailbox) in mailboxes.iter_mut().enumerate() {
            check_mailbox(&format!("{list}[{i}]"), mailbox)?;
        }
    }
    if n.to.is_empty() && n.cc.is_empty() && n.bcc.is_empty() {
        return Err(invalid("to", "is empty: a notification needs a recipient"));
    }
    if n.subject.contains(['\r', '\n']) {
        return Err(invalid("subject", "must be one line"));
    }
    Ok(())
}

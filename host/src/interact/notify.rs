//! The notification hook: the last stop of anything sent to a customer or
//! an agent, where scripts and plugins may change recipients, subject, body
//! and signature, or veto.
//!
//! [`Host::notify`] decides what may be sent and whether it may be; the
//! sending itself is a `notification` handler's job (the `smtp-notify`
//! plugin).

use dossier_sdk::{Event, Mailbox, Notification};

use crate::contact::normalize_email;
use crate::error::{Error, Result};
use crate::host::Host;

impl Host {
    /// Checks `notification`, fires `notification` so scripts and plugins may
    /// change it or veto it, checks it again and returns it as it may be sent.
    ///
    /// Checks: every address (sender and recipients) is a valid email address
    /// of at most 254 characters, lower-cased on the way; there is at least
    /// one recipient (to, cc or bcc); the subject and display names are one
    /// line each (no header injection). A failed check is
    /// [`Error::InvalidNotification`] naming the field; a veto is
    /// [`Error::Vetoed`] naming the script or plugin. The hooks run in a
    /// write transaction (joining the caller's, if any), so what they write
    /// is kept only if the notification passes.
    pub fn notify(&self, notification: Notification) -> Result<Notification> {
        let mut notification = notification;
        check(&mut notification)?;
        let event = Event::Notification(notification);
        if !self.pipeline().any_handles(&event) {
            return into_notification(event);
        }
        self.transaction("notification", |host| {
            let mut notification = into_notification(host.fire(event)?)?;
            check(&mut notification).map_err(|e| match e {
                Error::InvalidNotification { field, rule } => Error::InvalidNotification {
                    field,
                    rule: format!("{rule} (after the notification hooks)"),
                },
                other => other,
            })?;
            Ok(notification)
        })
    }
}

fn into_notification(event: Event) -> Result<Notification> {
    match event {
        Event::Notification(n) => Ok(n),
        other => Err(Error::Refused(format!(
            "a notification hook replaced the event with a {} event",
            other.kind()
        ))),
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
/// [`Host::notify`].
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

//! The notification hook: the last stop of anything sent to a customer or
//! an agent, where scripts and plugins may change recipients, subject, body
//! and signature, or veto. The signature stays apart from the body while
//! the hooks run and is appended after them.
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

/// The line that separates a signature from the message (RFC 3676's
/// "dash dash space").
pub const SEPARATOR: &str = "-- ";

/// `body` with `signature_text` appended after the signature separator,
/// unless the body already holds that text (so a signature is never
/// inserted twice) or the signature is blank.
pub fn insert_signature_once(body: &str, signature_text: &str) -> String {
    let signature = signature_text.trim();
    if signature.is_empty() || body.contains(signature) {
        return body.to_owned();
    }
    let body = body.trim_end();
    if body.is_empty() {
        format!("{SEPARATOR}\n{signature}")
    } else {
        format!("{body}\n\n{SEPARATOR}\n{signature}")
    }
}

/// The HTML form of the signature a caller puts in a notification's
/// `signature` (an agent's signature with HTML): used in the HTML body
/// when the hooks leave that signature as it was.
#[derive(Debug, Clone)]
pub struct RichSignature {
    /// The text it goes with.
    pub text: String,
    /// Its HTML (sanitized when it was saved).
    pub html: String,
}

/// Appends `n.signature`, as the hooks left it, to the body (once) and to
/// the HTML body, if any: `rich`'s HTML when the signature is still its
/// text, else the text escaped.
fn sign(n: &mut Notification, rich: Option<&RichSignature>) {
    let Some(signature) = n.signature.as_deref().map(str::trim) else {
        return;
    };
    if signature.is_empty() {
        return;
    }
    n.body = insert_signature_once(&n.body, signature);
    if let Some(html) = &n.html {
        let block = match rich {
            Some(rich) if rich.text.trim() == signature => rich.html.clone(),
            _ => escape_html(signature).replace('\n', "<br>"),
        };
        if !html.contains(&block) {
            n.html = Some(format!("{html}<div class=\"signature\">{block}</div>"));
        }
    }
}

/// `text` safe inside HTML.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `notification` step: check, let hooks change or veto, check again,
/// sign.
struct Notify {
    notification: Option<Notification>,
    /// Whether the host sends mail itself (`[email.smtp]`).
    sends: bool,
    /// Whether a reviewer approved it (a hook's `review` no longer holds it).
    approved: bool,
    /// The HTML form of the caller's signature, if it has one.
    rich: Option<RichSignature>,
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
        // Signed after the hooks: they saw the signature apart from the
        // body, and whatever they left in `signature` is what is added.
        let event = match event {
            Some(Event::Notification(mut n)) => {
                sign(&mut n, self.rich.as_ref());
                Some(Event::Notification(n))
            }
            other => other,
        };
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

    /// [`Notifications::notify_as`] for a notification whose `signature`
    /// has an HTML form (`rich`), used in its HTML body unless a hook
    /// changed the signature.
    fn notify_signed(
        self: &Arc<Self>,
        ctx: &Ctx,
        notification: Notification,
        approved: bool,
        rich: Option<RichSignature>,
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
        self.notify_signed(ctx, notification, approved, None)
    }

    fn notify_signed(
        self: &Arc<Self>,
        ctx: &Ctx,
        notification: Notification,
        approved: bool,
        rich: Option<RichSignature>,
    ) -> Result<Notification> {
        self.run(
            ctx,
            Notify {
                notification: Some(notification),
                sends: self.config().email.smtp.is_some(),
                approved,
                rich,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(body: &str, html: Option<&str>, signature: Option<&str>) -> Notification {
        Notification {
            case_number: None,
            audience: dossier_sdk::Audience::Customer,
            cause: dossier_sdk::Cause::Manual,
            from: Mailbox::default(),
            to: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            message_id: None,
            in_reply_to: None,
            references: Vec::new(),
            thread_token: None,
            attachments: Vec::new(),
            subject: String::new(),
            body: body.into(),
            html: html.map(Into::into),
            signature: signature.map(Into::into),
            review: false,
        }
    }

    fn rich() -> RichSignature {
        RichSignature {
            text: "Ann\nSupport".into(),
            html: "<p><b>Ann</b></p>".into(),
        }
    }

    #[test]
    fn the_signature_left_by_the_hooks_is_appended_once_to_text_and_html() {
        let mut n = notice("Hello.\n", Some("<p>Hello.</p>"), Some("Ann\nSupport"));
        sign(&mut n, Some(&rich()));
        assert_eq!(n.body, "Hello.\n\n-- \nAnn\nSupport");
        assert_eq!(
            n.html.as_deref(),
            Some("<p>Hello.</p><div class=\"signature\"><p><b>Ann</b></p></div>")
        );
        let again = n.clone();
        sign(&mut n, Some(&rich()));
        assert_eq!(n, again, "never twice");
    }

    #[test]
    fn a_signature_a_hook_changed_goes_into_the_html_as_escaped_text() {
        let mut n = notice("Hi", Some("<p>Hi</p>"), Some("Night <desk>\n& co"));
        sign(&mut n, Some(&rich()));
        assert_eq!(n.body, "Hi\n\n-- \nNight <desk>\n& co");
        assert_eq!(
            n.html.as_deref(),
            Some("<p>Hi</p><div class=\"signature\">Night &lt;desk&gt;<br>&amp; co</div>")
        );
    }

    #[test]
    fn no_signature_or_a_blank_one_changes_nothing() {
        for signature in [None, Some("  ")] {
            let mut n = notice("Hi", Some("<p>Hi</p>"), signature);
            let before = n.clone();
            sign(&mut n, Some(&rich()));
            assert_eq!(n, before);
        }
    }
}

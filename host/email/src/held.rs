//! Held mail: an inbound email that could not be stored is kept whole,
//! with the reason, never dropped.
//!
//! Ingest stores an email, drops it (a blocked sender, an
//! `on_email_received` veto), finds it seen before, or fails. A failure
//! that may pass if tried again (the store busy, I/O, a script out of
//! time: [`Error::may_pass`]) goes back to the caller, so a mail server
//! retries it; a message that is not an email is
//! [`Error::BadEmail`]. Every other failure between the parse and the
//! commit (a hook vetoing the new customer or case, a rule refusing it,
//! a script error, a message over the size limit) holds the message: its
//! bytes and the reason are written to `held_emails`, the `email_held`
//! event fires (its handlers may change who is told), the addresses it
//! leaves (`[email] held_notify`'s by default) are told with a
//! notification of cause `email_held` (which `on_notification` hooks see),
//! and an admin lists, reads, releases (ingests it again, normally) or
//! discards it. The hold stands whatever the event's handlers or the
//! notice do.

use std::sync::Arc;

use dossier_sdk::{
    Audience, Cause, Event, EventKind, HeldEmail, HeldState, Ingested, Mailbox, Notification,
};

use super::parse;
use dossier_core::events::{Ctx, Step};
use dossier_core::runtime::Runtime;
use dossier_interact::prelude::*;
use dossier_store::NewHeldEmail;
use dossier_types::{Error, Result};

/// Held mail, on the runtime.
pub trait EmailHeld {
    /// What becomes of message `raw` (from `source`) whose ingest failed
    /// with `error`: the error itself when it may pass if tried again or
    /// the message is not an email, else the message held with the error
    /// as the reason ([`Ingested::Held`]).
    fn hold_failed(
        self: &Arc<Self>,
        ctx: &Ctx,
        raw: &[u8],
        source: &str,
        error: Error,
    ) -> Result<Ingested>;

    /// Holds message `raw` (from `source`) for `reason`, firing
    /// `email_held` and telling whom its handlers leave in `notify`
    /// (`[email] held_notify` by default). A message already held under the
    /// same key keeps its id, with the new reason.
    fn hold_email(
        self: &Arc<Self>,
        ctx: &Ctx,
        raw: &[u8],
        source: &str,
        reason: &str,
    ) -> Result<Ingested>;

    /// Held mail, oldest first: what still waits, or everything with `all`.
    fn held_emails(&self, all: bool) -> Result<Vec<HeldEmail>>;

    /// Held email `id` with the message as received.
    fn held_email(&self, id: i64) -> Result<(HeldEmail, Vec<u8>)>;

    /// Marks held email `id`, still waiting, released or discarded by
    /// `by`; returns it as it is now.
    fn close_held_email(&self, id: i64, state: HeldState, by: &str) -> Result<HeldEmail>;
}

impl EmailHeld for Runtime {
    fn hold_failed(
        self: &Arc<Self>,
        ctx: &Ctx,
        raw: &[u8],
        source: &str,
        error: Error,
    ) -> Result<Ingested> {
        if error.may_pass() || matches!(error, Error::BadEmail { .. }) {
            return Err(error);
        }
        self.hold_email(ctx, raw, source, &error.to_string())
    }

    fn hold_email(
        self: &Arc<Self>,
        ctx: &Ctx,
        raw: &[u8],
        source: &str,
        reason: &str,
    ) -> Result<Ingested> {
        // Only the headers are read (a held message may be too large to
        // parse); one too damaged to show them is still held, under the
        // hash of its bytes.
        let (message_id, sender, subject) = match parse::parse(header_block(raw), source) {
            Ok(email) => (
                email.headers.message_id,
                email.headers.from.address,
                email.headers.subject,
            ),
            Err(_) => (None, String::new(), String::new()),
        };
        let key = message_id.unwrap_or_else(|| parse::content_key(raw));
        let now = self.now();
        let id = self.transaction("hold email", || {
            let id = self.store().write("hold email", |tx| {
                tx.hold_email(&NewHeldEmail {
                    key: &key,
                    source,
                    sender: &sender,
                    subject: &subject,
                    reason,
                    raw,
                    at: now,
                })
            })?;
            // The mail is held whatever becomes of the event: a handler's
            // failure or veto, or the notice's, rolls back only the
            // handlers' writes and the notice.
            let told = self.store().savepoint("email held event", |_| {
                self.run(ctx, Hold { id, held: None })
            });
            if let Err(e) = told {
                if e.may_pass() {
                    return Err(e);
                }
                tracing::warn!(
                    "held email #{id}: the email_held event failed, no notice was sent: {e}"
                );
            }
            Ok(id)
        })?;
        Ok(Ingested::Held {
            id,
            reason: reason.to_owned(),
        })
    }

    fn held_emails(&self, all: bool) -> Result<Vec<HeldEmail>> {
        self.store().read(|tx| tx.held_emails(all))
    }

    fn held_email(&self, id: i64) -> Result<(HeldEmail, Vec<u8>)> {
        self.store()
            .read(|tx| tx.held_email(id))?
            .ok_or_else(|| not_found(id))
    }

    fn close_held_email(&self, id: i64, state: HeldState, by: &str) -> Result<HeldEmail> {
        let now = self.now();
        self.store().write("close held email", |tx| {
            let (held, _) = tx.held_email(id)?.ok_or_else(|| not_found(id))?;
            if !tx.close_held_email(id, state, by, now)? {
                return Err(Error::Refused(format!(
                    "held email #{id} was {} already",
                    held.state.as_str()
                )));
            }
            tx.held_email(id)?
                .map(|(h, _)| h)
                .ok_or_else(|| not_found(id))
        })
    }
}

/// The message's header block with the blank line that ends it (at most
/// the first 1 MB), or the whole message when it has no body.
fn header_block(raw: &[u8]) -> &[u8] {
    let head = &raw[..raw.len().min(1024 * 1024)];
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
        .or_else(|| head.windows(2).position(|w| w == b"\n\n").map(|at| at + 2));
    match end {
        Some(end) => &head[..end],
        None => head,
    }
}

/// The `email_held` step: the held row is written already (it stands
/// whatever handlers do); the event says who `[email] held_notify` tells,
/// handlers may change that, and finish sends the notice.
struct Hold {
    /// The held email's id.
    id: i64,
    /// The held email as the event showed it.
    held: Option<HeldEmail>,
}

impl Step for Hold {
    type Out = ();

    fn kind(&self) -> EventKind {
        EventKind::EmailHeld
    }

    fn label(&self) -> &str {
        "email held"
    }

    fn writes(&self) -> bool {
        true
    }

    fn built_in(&mut self, rt: &Arc<Runtime>, _ctx: &Ctx) -> Result<Option<Event>> {
        let (held, _) = rt
            .store()
            .read(|tx| tx.held_email(self.id))?
            .ok_or_else(|| not_found(self.id))?;
        self.held = Some(held.clone());
        Ok(Some(Event::EmailHeld(dossier_sdk::EmailHeld {
            held,
            notify: rt.config().email.held_notify.clone(),
        })))
    }

    fn recheck(
        &mut self,
        _rt: &Arc<Runtime>,
        _ctx: &Ctx,
        _built: &Event,
        event: &mut Event,
    ) -> Result<()> {
        let Event::EmailHeld(e) = event else {
            return Err(Error::Refused(
                "an email_held hook replaced the event".into(),
            ));
        };
        if Some(&e.held) != self.held.as_ref() {
            return Err(Error::Refused(
                "an email_held hook may change only `notify`; the held email is as it arrived"
                    .into(),
            ));
        }
        for (i, address) in e.notify.iter_mut().enumerate() {
            let checked = dossier_types::address::check_rule(address).map_err(|rule| {
                Error::InvalidNotification {
                    field: format!("notify[{i}]"),
                    rule,
                }
            })?;
            *address = checked.to_owned();
        }
        Ok(())
    }

    fn finish(self, rt: &Arc<Runtime>, ctx: &Ctx, event: Option<Event>) -> Result<()> {
        let Some(Event::EmailHeld(e)) = event else {
            return Ok(());
        };
        let Some(ours) = rt.config().email.addresses.first() else {
            return Ok(());
        };
        if e.notify.is_empty() {
            return Ok(());
        }
        let held = e.held;
        let id = held.id;
        let notice = Notification {
            case_number: None,
            audience: Audience::Internal,
            cause: Cause::EmailHeld,
            from: Mailbox {
                name: None,
                address: ours.clone(),
            },
            to: e
                .notify
                .into_iter()
                .map(|address| Mailbox {
                    name: None,
                    address,
                })
                .collect(),
            cc: Vec::new(),
            bcc: Vec::new(),
            message_id: None,
            in_reply_to: None,
            references: Vec::new(),
            thread_token: None,
            attachments: Vec::new(),
            subject: format!("Inbound email held (#{id})"),
            body: format!(
                "An inbound email could not be stored and is held as #{id}.\n\
                 From: {}\nSubject: {}\nWhy: {}\n\n\
                 `dossier email held show {id}` shows it; once the cause is \
                 fixed, `dossier email held release {id}` ingests it again.",
                held.sender,
                crate::ingest::echo(&held.subject),
                held.reason
            ),
            html: None,
            signature: None,
            review: false,
        };
        rt.notify(ctx, notice).map(drop)
    }
}

fn not_found(id: i64) -> Error {
    Error::InvalidInput {
        what: format!("held email #{id}"),
        message: "there is no held email with this id (see `dossier email held list --all`)"
            .to_owned(),
    }
}

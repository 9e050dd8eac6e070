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
//! bytes and the reason are written to `held_emails`, `[email]
//! held_notify` is told with a notification of cause `email_held` (which
//! `on_notification` hooks see), and an admin lists, reads, releases
//! (ingests it again, normally) or discards it.

use std::sync::Arc;

use dossier_sdk::{Audience, Cause, HeldEmail, HeldState, Ingested, Mailbox, Notification};

use super::parse;
use dossier_core::events::Ctx;
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

    /// Holds message `raw` (from `source`) for `reason`, telling `[email]
    /// held_notify`. A message already held under the same key keeps its
    /// id, with the new reason.
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
        let cfg = &self.config().email;
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
            if let (false, Some(ours)) = (cfg.held_notify.is_empty(), cfg.addresses.first()) {
                let notice = Notification {
                    case_number: None,
                    audience: Audience::Internal,
                    cause: Cause::EmailHeld,
                    from: Mailbox {
                        name: None,
                        address: ours.clone(),
                    },
                    to: cfg
                        .held_notify
                        .iter()
                        .map(|a| Mailbox {
                            name: None,
                            address: a.clone(),
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
                         From: {}\nSubject: {}\nWhy: {reason}\n\n\
                         `dossier email held show {id}` shows it; once the cause is \
                         fixed, `dossier email held release {id}` ingests it again.",
                        sender,
                        crate::ingest::echo(&subject)
                    ),
                    html: None,
                    signature: None,
                    review: false,
                };
                // The mail is held whatever becomes of the notice: its
                // failure or veto rolls back only the notice.
                let told = self
                    .store()
                    .savepoint("held email notice", |_| self.notify(ctx, notice));
                if let Err(e) = told {
                    if e.may_pass() {
                        return Err(e);
                    }
                    tracing::warn!("held email #{id}: the held_notify notice was not sent: {e}");
                }
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

fn not_found(id: i64) -> Error {
    Error::InvalidInput {
        what: format!("held email #{id}"),
        message: "there is no held email with this id (see `dossier email held list --all`)"
            .to_owned(),
    }
}

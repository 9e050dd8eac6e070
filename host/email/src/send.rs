//! Outbound mail: every email the host sends is a [`Notification`] that
//! passed the `notification` hooks. Before commit it is queued in the
//! outbox (one delivery to the built-in `smtp` deliverer), in the same
//! transaction as whatever caused it (an agent's `email_out` follow-up, a
//! reminder's claim); after commit the outbox delivers it over SMTP with
//! lettre (`smtp.rs`), or writes it into a folder with `transport = "file"`
//! (`smtp/file.rs`), retrying transient failures with the outbox's
//! backoff. A retry reuses the Message-ID made at queue time.
//!
//! Delivery is at-least-once: once the server's acceptance of the final dot
//! has been received, the delivery is marked done and never sent again; but
//! if the connection drops after the final dot, the outcome cannot be known
//! and the message is sent again.
//!
//! The loop guard: an automatic notification (an acknowledgement, a
//! reminder, a system notice) that would answer mail the inbound side
//! marked automatic (auto-submitted, bulk, a bounce, our own) is not sent.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use dossier_sdk::{Cause, Event, Mailbox, Notification};

use super::smtp::{self, Failure, InlineImage, OutgoingAttachment, OutgoingEmail, SmtpSettings};
use dossier_core::config::TokenPlace;
use dossier_core::events::{Attempt, Ctx, Delivery, Lease};
use dossier_core::runtime::Runtime;
use dossier_store as store;
use dossier_types::{Error, Result};

/// The outbox handler name of the built-in SMTP deliverer.
pub const SMTP_DELIVERY: &str = "smtp";

/// The mail channel's way out: notifications queued for, and sent through,
/// `[email.smtp]`.
pub struct Smtp;

impl Delivery for Smtp {
    fn name(&self) -> &str {
        SMTP_DELIVERY
    }

    fn queue(&self, rt: &Arc<Runtime>, ctx: &Ctx, n: Notification) -> Result<(Notification, bool)> {
        rt.queue_mail(ctx, n)
    }

    fn deliver(
        &self,
        rt: &Arc<Runtime>,
        event: &Event,
        now: DateTime<Utc>,
        lease: &Lease<'_>,
    ) -> Attempt {
        rt.deliver_mail(event, now, lease)
    }
}

/// Whether `cause` is something no person decided at that moment.
fn is_automatic(cause: Cause) -> bool {
    matches!(
        cause,
        Cause::Acknowledgement
            | Cause::Reminder
            | Cause::System
            | Cause::Disposition
            | Cause::EmailHeld
    )
}

/// A Message-ID for mail from `from`: random, at the sender's domain.
pub fn new_message_id(from: &str) -> Result<String> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Refused(format!("cannot draw a random Message-ID: {e}")))?;
    let local: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let domain = from.rsplit_once('@').map_or("localhost", |(_, d)| d);
    Ok(format!("{local}@{domain}"))
}

/// Outbound email through the outbox, on the runtime.
pub trait EmailSend {
    /// The `[email.smtp]` settings with `ca_file` resolved against the
    /// config's folder, when the host sends mail.
    fn smtp_settings(&self) -> Option<SmtpSettings>;

    /// Queues `n` (as the hooks left it) for delivery after commit, in the
    /// transaction open on this thread. Gives it a Message-ID if it has
    /// none, and puts the thread token in the subject when `[email]
    /// thread_token` lists `subject`. Returns the notification as queued,
    /// or as it was when the loop guard or a missing `[email.smtp]` keeps
    /// it from being sent (`queued` false). (`review` is decided before:
    /// the `notification` step does not queue what waits for QA review.)
    fn queue_mail(&self, ctx: &Ctx, n: Notification) -> Result<(Notification, bool)>;

    /// `n` as the message SMTP carries. With `with_bytes`, attachments
    /// carry their content from the blob store (without, empty: enough to
    /// check every header before commit).
    fn outgoing(
        &self,
        n: &Notification,
        date: DateTime<Utc>,
        with_bytes: bool,
    ) -> Result<OutgoingEmail>;

    /// One delivery attempt of a queued email (outside any transaction),
    /// under the outbox's `lease`: marked sending just before DATA, and
    /// not sent when the lease was lost.
    fn deliver_mail(
        self: &Arc<Self>,
        event: &Event,
        date: DateTime<Utc>,
        lease: &Lease<'_>,
    ) -> Attempt;
}

impl EmailSend for Runtime {
    fn smtp_settings(&self) -> Option<SmtpSettings> {
        self.config().smtp_settings()
    }

    fn queue_mail(&self, ctx: &Ctx, mut n: Notification) -> Result<(Notification, bool)> {
        if self.config().email.smtp.is_none()
            || (n.to.is_empty() && n.cc.is_empty() && n.bcc.is_empty())
        {
            return Ok((n, false));
        }
        if is_automatic(n.cause)
            && let Some(answered) = &n.in_reply_to
            && let Some(f) = self.read(|tx, schema| tx.follow_up_by_message_id(schema, answered))?
            && let Some(why) = f.email.and_then(|e| e.automatic)
        {
            tracing::info!(
                "not sending the {} notification: it would answer automatic mail ({why})",
                n.cause
            );
            return Ok((n, false));
        }
        if n.message_id.is_none() {
            n.message_id = Some(new_message_id(&n.from.address)?);
        }
        if let Some(token) = &n.thread_token
            && self
                .config()
                .email
                .thread_token
                .contains(&TokenPlace::Subject)
            && !n.subject.contains(&format!("[#{token}]"))
        {
            n.subject = format!("{} [#{token}]", n.subject.trim_end());
        }
        // Built now, so an email that cannot be sent is refused before
        // commit, naming the field, instead of dying in the outbox.
        self.outgoing(&n, Utc::now(), false)?.to_bytes()?;
        let json = store::to_json(&Event::Notification(n.clone()));
        let chain = store::to_json(&ctx.chain());
        let actor = store::to_json(ctx.actor());
        let now = self.now();
        let key_id = n.message_id.clone().unwrap_or_default();
        self.store().write("queue email", |tx| {
            let id = tx.outbox_next_id()?;
            // The entry id makes the key unique whatever the Message-ID
            // (a hook may set one; a frozen clock repeats nothing here).
            let key = format!("email:{id}:{key_id}");
            tx.outbox_enqueue(
                id,
                &key,
                &json,
                ctx.depth(),
                &chain,
                &actor,
                now,
                &[SMTP_DELIVERY],
            )
        })?;
        self.note_queued();
        Ok((n, true))
    }

    fn outgoing(
        &self,
        n: &Notification,
        date: DateTime<Utc>,
        with_bytes: bool,
    ) -> Result<OutgoingEmail> {
        let cfg = &self.config().email;
        let mut headers = Vec::new();
        let mut reply_to = None;
        if let Some(token) = &n.thread_token {
            if cfg.thread_token.contains(&TokenPlace::Header) {
                headers.push(("X-Dossier-Thread".to_owned(), token.clone()));
            }
            if cfg.thread_token.contains(&TokenPlace::PlusAddress)
                && let Some((local, domain)) = n.from.address.rsplit_once('@')
                && cfg
                    .addresses
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&n.from.address))
            {
                reply_to = Some(Mailbox {
                    name: n.from.name.clone(),
                    address: format!("{local}+{token}@{domain}"),
                });
            }
        }
        match n.cause {
            Cause::Acknowledgement => {
                headers.push(("Auto-Submitted".to_owned(), "auto-replied".to_owned()));
            }
            c if is_automatic(c) => {
                headers.push(("Auto-Submitted".to_owned(), "auto-generated".to_owned()));
            }
            _ => {}
        }
        let mut attachments = Vec::new();
        let mut inline = Vec::new();
        for a in &n.attachments {
            let Some(blob) = &a.blob else { continue };
            let bytes = if with_bytes {
                self.blobs().get(blob)?
            } else {
                Vec::new()
            };
            match (&a.content_id, &n.html) {
                (Some(cid), Some(_)) => inline.push(InlineImage {
                    content_id: cid.clone(),
                    content_type: a.content_type.clone(),
                    bytes,
                }),
                _ => attachments.push(OutgoingAttachment {
                    name: a.name.clone(),
                    content_type: a.content_type.clone(),
                    bytes,
                }),
            }
        }
        // The `notification` step signed the body already; an entry queued
        // before it did is signed here, never twice.
        let text = match &n.signature {
            Some(sig) => dossier_interact::notify::insert_signature_once(&n.body, sig),
            None => n.body.clone(),
        };
        Ok(OutgoingEmail {
            from: n.from.clone(),
            to: n.to.clone(),
            cc: n.cc.clone(),
            bcc: n.bcc.clone(),
            reply_to,
            subject: n.subject.clone(),
            text,
            // One policy for every HTML body that leaves, whoever set it
            // (a draft, `Host::notify`, a hook, a plugin): the one inbound
            // mail is cleaned with.
            html: n.html.as_deref().map(super::parse::html::sanitize),
            attachments,
            inline,
            message_id: n.message_id.clone().unwrap_or_default(),
            in_reply_to: n.in_reply_to.clone(),
            references: n.references.clone(),
            date,
            headers,
        })
    }

    fn deliver_mail(
        self: &Arc<Self>,
        event: &Event,
        date: DateTime<Utc>,
        lease: &Lease<'_>,
    ) -> Attempt {
        let Event::Notification(n) = event else {
            return Attempt::Dead("an smtp delivery holds no notification".into());
        };
        let Some(settings) = self.smtp_settings() else {
            return Attempt::Retry("[email.smtp] is not configured in this process".into());
        };
        let email = match self.outgoing(n, date, true) {
            Ok(email) => email,
            Err(e) => return Attempt::Dead(format!("the message cannot be built: {e}")),
        };
        if settings.transport == smtp::Transport::File {
            let Some(folder) = &settings.folder else {
                return Attempt::Dead("[email.smtp] transport = \"file\" names no folder".into());
            };
            if !lease.sending() {
                return Attempt::Retry(
                    "this process no longer holds the delivery (its lease ran out); not writing"
                        .into(),
                );
            }
            return match smtp::file::write(folder, &email, date) {
                Ok(path) => {
                    tracing::debug!("email {} written to {}", email.message_id, path.display());
                    Attempt::Delivered
                }
                Err(e @ Error::InvalidInput { .. }) => {
                    Attempt::Dead(format!("the message cannot be built: {e}"))
                }
                Err(e) => Attempt::Retry(format!("email not written: {e}")),
            };
        }
        match smtp::send_checked(&settings, &email, &mut || lease.sending()) {
            Ok(delivery) => {
                if !delivery.refused.is_empty() {
                    let refused: Vec<String> = delivery
                        .refused
                        .iter()
                        .map(|r| format!("{} ({} {})", r.address, r.reply.code, r.reply.text))
                        .collect();
                    tracing::warn!(
                        "email {} was refused for {}",
                        email.message_id,
                        refused.join(", ")
                    );
                    if let Some(case) = n.case_number {
                        let note = format!(
                            "Email <{}> was delivered to {}, and refused for {}.",
                            email.message_id,
                            delivery.accepted.join(", "),
                            refused.join(", ")
                        );
                        let ctx = dossier_core::runtime::system(self);
                        if let Err(e) = self.add_follow_up(
                            &ctx,
                            dossier_sdk::NewFollowUp {
                                kind: dossier_sdk::FollowUpKind::System,
                                ..dossier_sdk::NewFollowUp::note(case, "system", note)
                            },
                        ) {
                            tracing::warn!("cannot record the refused recipients: {e}");
                        }
                    }
                }
                Attempt::Delivered
            }
            Err(e) => match e.failure {
                Failure::Permanent => Attempt::Dead(e.to_string()),
                Failure::Transient => Attempt::Retry(e.to_string()),
                Failure::Unknown => Attempt::Uncertain(format!(
                    "{e} (the server may have accepted it: sending again, at least once)"
                )),
            },
        }
    }
}

//! The facade's email operations (the work is in `crate::email`).

use dossier_sdk::{
    CaseNumber, Draft, DraftChange, FollowUp, FollowUpId, HeldEmail, HeldState, Ingested,
    ThreadToken, WorkbinItem,
};

use crate::email::drafts::DraftStart;

use super::Host;
use crate::email::parse;
use crate::events::{Actor, Ctx};
use crate::prelude::*;
use dossier_types::Result;

impl Host {
    fn system_ctx(&self) -> Result<Ctx> {
        Ctx::for_call(&self.rt, &Actor::System)
    }

    /// Ingests one raw RFC 5322 message: it becomes an `email_in`
    /// follow-up on the case it threads onto (thread token, then
    /// In-Reply-To/References, then a trusted case number in the subject),
    /// or on a new case for the sender's customer; see `docs/email.md`.
    /// Runs as `system`; an agent's handle needs the `ingest_email`
    /// permission (the MTA's pipe runs as an agent holding it), and is told
    /// [`Ingested::StoredUnseen`] for a case they may not see.
    ///
    /// Ingesting the same message again writes nothing
    /// ([`Ingested::Duplicate`]); a blocked sender or a hook's veto drops it
    /// with the reason recorded ([`Ingested::Dropped`]). A message that
    /// cannot be read is [`Error::BadEmail`](crate::Error::BadEmail).
    pub fn ingest_email(&self, raw: &[u8]) -> Result<Ingested> {
        self.ingest_email_from(raw, "message")
    }

    /// [`Host::ingest_email`], naming where the message came from (a file
    /// name, `stdin`) in errors.
    pub fn ingest_email_from(&self, raw: &[u8], source_name: &str) -> Result<Ingested> {
        self.may_ingest()?;
        let ctx = self.system_ctx()?;
        if let Some(reason) = self.rt.config().email.too_large(raw.len()) {
            let outcome = self.rt.hold_email(&ctx, raw, source_name, &reason)?;
            return self.as_seen(outcome);
        }
        let mut email = parse::parse(raw, source_name)?;
        self.rt.write_blobs(&mut email)?;
        let outcome = match self.rt.ingest_email(&ctx, &email) {
            Ok(outcome) => outcome,
            Err(e) => self.rt.hold_failed(&ctx, raw, source_name, e)?,
        };
        self.offer_new_cases(std::slice::from_ref(&outcome));
        self.as_seen(outcome)
    }

    /// After new emails opened cases: offers what waits in the email
    /// queues (a failed offer keeps its place for the next routing, and
    /// is logged).
    fn offer_new_cases(&self, outcomes: &[Ingested]) {
        #[cfg(feature = "chat")]
        if outcomes
            .iter()
            .any(|o| matches!(o, Ingested::Stored { new_case: true, .. }))
        {
            use crate::chat::email_offers::EmailOffers;
            for problem in self.rt.route_email(None).problems {
                tracing::warn!("email routing: {problem}");
            }
        }
        #[cfg(not(feature = "chat"))]
        let _ = outcomes;
    }

    /// An agent ingests only with `ingest_email`; the system always may.
    fn may_ingest(&self) -> Result<()> {
        self.rt.require(
            &self.ctx()?,
            dossier_sdk::Permission::IngestEmail,
            "ingest email",
        )
    }

    /// What the acting agent may be told of an ingest: the number of a
    /// case they may not see is not theirs to learn.
    fn as_seen(&self, outcome: Ingested) -> Result<Ingested> {
        match outcome {
            Ingested::Stored { case_number, .. } if matches!(self.actor, Actor::Agent(_)) => {
                match self.case(case_number) {
                    Ok(_) => Ok(outcome),
                    Err(crate::Error::Hidden { .. }) => Ok(Ingested::StoredUnseen),
                    Err(e) => Err(e),
                }
            }
            other => Ok(other),
        }
    }

    /// Ingests several messages, committing them together when all
    /// succeed; when one fails, each is ingested on its own so the others
    /// are kept. Returns one result per message, in order.
    pub fn ingest_emails(&self, messages: &[(&str, &[u8])]) -> Vec<Result<Ingested>> {
        // A message over `[email] max_message_mb` is not parsed: it is held.
        let cfg = &self.rt.config().email;
        if messages
            .iter()
            .any(|(_, raw)| cfg.too_large(raw.len()).is_some())
        {
            let (small, large): (Vec<_>, Vec<_>) = messages
                .iter()
                .enumerate()
                .partition(|(_, (_, raw))| cfg.too_large(raw.len()).is_none());
            let kept: Vec<(&str, &[u8])> = small.iter().map(|(_, m)| **m).collect();
            let mut out: Vec<Option<Result<Ingested>>> = Vec::with_capacity(messages.len());
            out.resize_with(messages.len(), || None);
            for ((i, _), result) in small.iter().zip(self.ingest_emails(&kept)) {
                out[*i] = Some(result);
            }
            for (i, (name, raw)) in large {
                let reason = cfg.too_large(raw.len()).unwrap_or_default();
                out[i] = Some(
                    self.may_ingest()
                        .and_then(|()| self.system_ctx())
                        .and_then(|ctx| self.rt.hold_email(&ctx, raw, name, &reason))
                        .and_then(|o| self.as_seen(o)),
                );
            }
            return out
                .into_iter()
                .map(|r| {
                    r.unwrap_or_else(|| {
                        Err(crate::Error::Refused(
                            "internal error: a message was not ingested".into(),
                        ))
                    })
                })
                .collect();
        }
        let held =
            |ctx: &Ctx, (name, raw): &(&str, &[u8]), e| self.rt.hold_failed(ctx, raw, name, e);
        let system = self.system_ctx();
        let allowed = self.may_ingest().is_ok();
        let results: Vec<Result<Ingested>> = self
            .ingest_emails_unseen(messages)
            .into_iter()
            .zip(messages)
            .map(|(r, message)| match (r, &system) {
                // Each message's own transaction is over: what failed is held.
                (Err(e), Ok(ctx)) if allowed => held(ctx, message, e),
                (r, _) => r,
            })
            .collect();
        let stored: Vec<Ingested> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().cloned())
            .collect();
        self.offer_new_cases(&stored);
        let results = results
            .into_iter()
            .map(|r| r.and_then(|outcome| self.as_seen(outcome)))
            .collect();
        // A maildir run calls this batch after batch: let other writers in.
        self.rt.store().yield_to_writers();
        results
    }

    fn ingest_emails_unseen(&self, messages: &[(&str, &[u8])]) -> Vec<Result<Ingested>> {
        let ctx = match self.may_ingest().and_then(|()| self.system_ctx()) {
            Ok(ctx) => ctx,
            Err(e) => {
                let message = e.to_string();
                return messages
                    .iter()
                    .map(|_| Err(crate::Error::Refused(message.clone())))
                    .collect();
            }
        };
        // Parsed and their attachments written before the batch's
        // transaction takes them.
        let read = |name: &str, raw: &[u8]| {
            parse::parse(raw, name).and_then(|mut email| {
                self.rt.write_blobs(&mut email)?;
                Ok(email)
            })
        };
        let parse_here = || {
            let (send, receive) = std::sync::mpsc::channel();
            for (name, raw) in messages {
                // The receiver is alive: it is right here.
                let _ = send.send(read(name, raw));
            }
            drop(send);
            self.rt.ingest_batch(&ctx, messages.len(), &receive)
        };
        if messages.len() < 2 {
            return parse_here();
        }
        // Parsing (MIME, charsets, HTML sanitizing, attachment blobs) runs
        // ahead on a second thread while this one threads and stores what
        // is parsed already; the store's transaction commits rather than
        // wait for the parser (`ingest_batch`). The channel is unbounded:
        // the batch is in memory already, and a parser that waited for room
        // would be woken once per message.
        std::thread::scope(|scope| {
            let (send, receive) = std::sync::mpsc::channel();
            let parser = std::thread::Builder::new()
                .name("dossier-email-parse".into())
                .spawn_scoped(scope, move || {
                    for (name, raw) in messages {
                        if send.send(read(name, raw)).is_err() {
                            break;
                        }
                    }
                });
            match parser {
                Ok(parser) => {
                    let results = self.rt.ingest_batch(&ctx, messages.len(), &receive);
                    // A parser that panicked left the rest unread: those
                    // messages say so (`ingest_batch` fills them), and the
                    // panic stops here rather than in the caller.
                    let _ = parser.join();
                    results
                }
                // No thread to be had: parse here.
                Err(_) => parse_here(),
            }
        })
    }

    /// Held mail, oldest first: inbound email that could not be stored,
    /// kept whole with the reason. What still waits, or everything with
    /// `all`. Needs `ingest_email`.
    pub fn held_emails(&self, all: bool) -> Result<Vec<HeldEmail>> {
        self.may_hold("read held mail")?;
        self.rt.held_emails(all)
    }

    /// Held email `id` and the message as received. Needs `ingest_email`.
    pub fn held_email(&self, id: i64) -> Result<(HeldEmail, Vec<u8>)> {
        self.may_hold("read held mail")?;
        self.rt.held_email(id)
    }

    /// Ingests held email `id` again, as if it had just arrived (after the
    /// rule that refused it was fixed), and marks it released: stored,
    /// dropped, seen before, or held again with the new reason (a new
    /// held email when the old one is released). A failure that may pass
    /// (the store busy) leaves it held. Needs `ingest_email`.
    pub fn release_held_email(&self, id: i64) -> Result<Ingested> {
        self.may_hold("release held mail")?;
        let (held, raw) = self.rt.held_email(id)?;
        if held.state != HeldState::Held {
            return Err(crate::Error::Refused(format!(
                "held email #{id} was {} already",
                held.state.as_str()
            )));
        }
        let ctx = self.system_ctx()?;
        let source = format!("held email #{id}");
        if let Some(reason) = self.rt.config().email.too_large(raw.len()) {
            return Err(crate::Error::Refused(format!("held email #{id}: {reason}")));
        }
        let mut email = parse::parse(&raw, &source)?;
        self.rt.write_blobs(&mut email)?;
        let outcome = match self.rt.ingest_email(&ctx, &email) {
            Ok(outcome) => outcome,
            Err(e) if e.may_pass() => return Err(e),
            Err(e) => {
                // Held again, for the new reason: this row is released and
                // the message waits under a new id.
                self.rt
                    .close_held_email(id, HeldState::Released, &self.who())?;
                return self
                    .rt
                    .hold_failed(&ctx, &raw, &held.source, e)
                    .and_then(|o| self.as_seen(o));
            }
        };
        self.rt
            .close_held_email(id, HeldState::Released, &self.who())?;
        self.offer_new_cases(std::slice::from_ref(&outcome));
        self.as_seen(outcome)
    }

    /// Throws held email `id` away (it stays listed, as discarded, with
    /// who did it). Needs `ingest_email`.
    pub fn discard_held_email(&self, id: i64) -> Result<HeldEmail> {
        self.may_hold("discard held mail")?;
        self.rt
            .close_held_email(id, HeldState::Discarded, &self.who())
    }

    /// The acting agent's login, or `system`.
    fn who(&self) -> String {
        match &self.actor {
            Actor::Agent(login) => login.clone(),
            Actor::System => "system".to_owned(),
        }
    }

    fn may_hold(&self, action: &str) -> Result<()> {
        self.rt
            .require(&self.ctx()?, dossier_sdk::Permission::IngestEmail, action)
    }

    /// Case `number`'s thread token, made and saved on the case the first
    /// time it is asked for (the first outbound email asks). Inbound mail
    /// carrying it, as `[#TOKEN]` in the subject, an `X-Dossier-Thread`
    /// header or a plus-address, joins the case.
    pub fn thread_token(&self, number: CaseNumber) -> Result<ThreadToken> {
        self.rt.thread_token(&self.ctx()?, number)
    }

    /// What waits in the acting agent's workbin, oldest first (their own
    /// entries and their groups'); done entries too with `include_done`.
    pub fn my_workbin(&self, include_done: bool) -> Result<Vec<WorkbinItem>> {
        self.rt.workbin(&self.ctx()?, None, include_done)
    }

    /// What waits in `agent`'s workbin. Reading another agent's needs
    /// `reassign_cases`.
    pub fn workbin(&self, agent: &str) -> Result<Vec<WorkbinItem>> {
        self.rt.workbin(&self.ctx()?, Some(agent), false)
    }

    /// One workbin entry the actor may see.
    pub fn workbin_entry(&self, id: i64) -> Result<WorkbinItem> {
        self.rt.workbin_entry(&self.ctx()?, id)
    }

    /// Marks workbin entry `id` done: it leaves the workbin.
    pub fn workbin_done(&self, id: i64) -> Result<WorkbinItem> {
        let done = self.rt.workbin_done(&self.ctx()?, id)?;
        // An accepted email offer's item done frees its agent's capacity.
        #[cfg(feature = "chat")]
        if let Some(agent) = &done.agent {
            use crate::chat::email_offers::EmailOffers;
            let queues = self.rt.email_queues_of(agent)?;
            if !queues.is_empty() {
                self.rt.route_email(Some(&queues));
            }
        }
        Ok(done)
    }

    /// Saves follow-up `follow_up` (an email) to the acting agent's workbin
    /// for later.
    pub fn save_to_workbin(&self, follow_up: FollowUpId) -> Result<WorkbinItem> {
        self.rt.save_to_workbin(&self.ctx()?, follow_up)
    }

    /// The bytes of an attachment, by the id its follow-up lists
    /// ([`Attachment::blob`](dossier_sdk::Attachment::blob)), when the actor
    /// may see that follow-up.
    /// `blob` may also be a short id: a prefix of at least four hex digits
    /// no other stored attachment's id starts with (see
    /// [`Host::short_attachment_id`]); an ambiguous one is refused,
    /// listing the ids it could be.
    pub fn attachment(&self, blob: &str) -> Result<Vec<u8>> {
        self.rt.attachment(&self.ctx()?, blob)
    }

    /// The short form of attachment id `blob` people are shown and may
    /// type: its shortest prefix, at least eight hex digits, that no other
    /// stored attachment's id starts with (as git shortens commit hashes).
    /// It may grow as more attachments are stored; the whole id always
    /// works.
    pub fn short_attachment_id(&self, blob: &str) -> Result<String> {
        self.rt.short_attachment_id(blob)
    }

    /// Starts a draft for the acting agent: a new message on a case or to a
    /// customer (a case is opened for it), or a reply, reply-all or
    /// forward of an inbound email. From is the agent's profile address,
    /// else the case group's, else the first of `[email] addresses`; a
    /// reply quotes the email and answers its sender (reply-all also
    /// copies everyone else on it but us); a forward carries its
    /// attachments. The draft waits in the agent's workbin.
    pub fn start_draft(&self, start: DraftStart) -> Result<Draft> {
        self.rt.start_draft(&self.ctx()?, start)
    }

    /// One draft (its agent's, or anyone's with `reassign_cases`).
    pub fn draft(&self, id: i64) -> Result<Draft> {
        self.rt.draft(&self.ctx()?, id)
    }

    /// The acting agent's drafts still being written.
    pub fn my_drafts(&self) -> Result<Vec<Draft>> {
        self.rt.my_drafts(&self.ctx()?)
    }

    /// Edits a draft: each field `change` sets replaces the draft's.
    pub fn edit_draft(&self, id: i64, change: DraftChange) -> Result<Draft> {
        self.rt.edit_draft(&self.ctx()?, id, change)
    }

    /// Attaches a file to a draft (at most 20 MB; a larger one is refused
    /// naming the limit, and nothing else in the draft changes).
    pub fn attach_to_draft(
        &self,
        id: i64,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<Draft> {
        self.rt
            .attach_to_draft(&self.ctx()?, id, name, content_type, bytes)
    }

    /// Adds an image shown inside a draft's HTML body (at most 10 MB;
    /// downscaled and recompressed when its long side is over `[email]
    /// max_image_px`), with its alt text; it goes where the HTML names
    /// `cid:NAME`, else at the end.
    pub fn attach_inline_image(
        &self,
        id: i64,
        name: &str,
        bytes: &[u8],
        alt: &str,
    ) -> Result<Draft> {
        self.rt
            .attach_inline_image(&self.ctx()?, id, name, bytes, alt)
    }

    /// Expands the FAQ shortcuts (`/shortcut`) in a draft's text into
    /// their entries' text or link, as `mode` says.
    pub fn expand_draft_faq(&self, id: i64, mode: dossier_sdk::ExpandMode) -> Result<Draft> {
        self.rt.expand_draft_faq(&self.ctx()?, id, mode)
    }

    /// Keeps a draft on its case as a saved message (`email_saved`), not sent.
    pub fn save_draft(&self, id: i64) -> Result<Draft> {
        self.rt.save_draft(&self.ctx()?, id)
    }

    /// Sends a draft: in one transaction the `notification` hooks run (and
    /// may change or veto it), the `email_out` follow-up is written and the
    /// message is queued; after commit it goes out over `[email.smtp]`. The
    /// case's thread token is made on its first outbound email. Refused,
    /// the draft unchanged, when From or To is missing
    /// ([`Error::InvalidNotification`](crate::Error::InvalidNotification)
    /// naming the field).
    pub fn send_draft(&self, id: i64) -> Result<Draft> {
        self.rt.send_draft(&self.ctx()?, id)
    }

    /// Throws a draft away. A case opened for it alone
    /// ([`DraftStart::Customer`], [`Draft::opened_case`]) is closed with it
    /// when nothing else was written on it (no follow-up, no other draft,
    /// no task), with a `system` note saying why: see
    /// [`CaseAfterDiscard`](crate::CaseAfterDiscard).
    pub fn discard_draft(&self, id: i64) -> Result<crate::Discarded> {
        self.rt.discard_draft(&self.ctx()?, id)
    }

    /// Starts, edits and sends a draft in one step.
    pub fn send_email(&self, start: DraftStart, change: DraftChange) -> Result<Draft> {
        let draft = self.start_draft(start)?;
        self.edit_draft(draft.id, change)?;
        self.send_draft(draft.id)
    }

    /// Transfers an inbound email to another agent's or a group's workbin
    /// with a note; needs `transfer_email`, and is recorded on the case.
    pub fn transfer_email(
        &self,
        email: FollowUpId,
        to_agent: Option<&str>,
        to_group: Option<&str>,
        note: &str,
    ) -> Result<()> {
        self.rt
            .transfer_email(&self.ctx()?, email, to_agent, to_group, note)
    }

    /// Sends colleague `colleague` an inbound email with a question. Their
    /// answer (a reply to that message, ingested like any mail) becomes an
    /// internal note on the case, in the asking agent's workbin; the
    /// customer never sees it. Returns the note recording the question.
    pub fn consult(&self, email: FollowUpId, colleague: &str, question: &str) -> Result<FollowUp> {
        self.rt.consult(&self.ctx()?, email, colleague, question)
    }

    /// Drafts waiting for QA review, oldest first (needs `review_email`).
    pub fn review_queue(&self) -> Result<Vec<Draft>> {
        self.rt.review_queue(&self.ctx()?)
    }

    /// A draft's review record: each step (submitted, rejected with
    /// remarks, edited, approved, sent) with who and when.
    pub fn review_history(&self, id: i64) -> Result<Vec<dossier_sdk::ReviewStep>> {
        self.rt.review_history(&self.ctx()?, id)
    }

    /// Approves a draft in review: it is sent (the `notification` hooks
    /// run on that send). Needs `review_email`. A reviewer may
    /// [`edit_draft`](Host::edit_draft) before approving.
    pub fn approve_draft(&self, id: i64) -> Result<Draft> {
        self.rt.approve_draft(&self.ctx()?, id)
    }

    /// Sends a draft in review back to its agent with `remarks`; it shows
    /// as rejected in their workbin, and is reviewed again when resent.
    /// Needs `review_email`.
    pub fn reject_draft(&self, id: i64, remarks: &str) -> Result<Draft> {
        self.rt.reject_draft(&self.ctx()?, id, remarks)
    }
}

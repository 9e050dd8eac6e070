//! Drafts and the three ways out (keep, save, send), and the agent's
//! actions on an inbound email: transfer, consult, context.
//!
//! A draft belongs to the agent who started it and sits in their workbin
//! until it is saved, sent or discarded. Sending is one transaction: the
//! `notification` hooks (which may change or veto it), the `email_out`
//! follow-up, the outbox entry the SMTP deliverer sends after commit, and
//! the draft's new state.

use std::sync::Arc;

use serde::Serialize;

use dossier_sdk::{
    Attachment, Audience, CaseNumber, Cause, CustomerId, Draft, DraftChange, DraftKind, DraftState,
    EmailHeaders, FollowUp, FollowUpId, FollowUpKind, Mailbox, NewCase, NewFollowUp, Notification,
    ObjectKind, Permission,
};

use super::ingest::MAX_ATTACHMENT;
use crate::prelude::*;
use dossier_core::events::{Actor, Ctx};
use dossier_core::runtime::Runtime;
use dossier_interact::notify::RichSignature;
use dossier_interact::prelude::*;
use dossier_store::{NewWorkbinItem, Tx, Viewer};
use dossier_types::{Error, Result};

/// A discarded draft, and what became of a case opened for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Discarded {
    /// The draft, now discarded.
    pub draft: Draft,
    /// Its case, when the case was opened for the draft.
    pub case: CaseAfterDiscard,
}

/// What discarding a draft did to its case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CaseAfterDiscard {
    /// Nothing: the case was not opened for the draft (or is closed already).
    Untouched,
    /// The case was opened for the draft and held nothing else: it is
    /// closed, with a `system` note saying why.
    Closed {
        /// The case.
        number: CaseNumber,
        /// Its status now.
        status: String,
    },
    /// The case was opened for the draft but holds something else now (a
    /// follow-up, another draft, a task): it stays as it is.
    Kept {
        /// The case.
        number: CaseNumber,
    },
    /// The case would be closed, but its hooks refused the close: it stays
    /// open.
    Refused {
        /// The case.
        number: CaseNumber,
        /// Why, in one sentence.
        reason: String,
    },
}

/// Where a draft starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftStart {
    /// A new message on a case (also from a pop during a call).
    Case(CaseNumber),
    /// A new message to a customer found by search: a case is opened for it.
    Customer(CustomerId),
    /// A reply to an inbound email (a follow-up).
    Reply(FollowUpId),
    /// A reply to everyone on an inbound email, except us.
    ReplyAll(FollowUpId),
    /// The email forwarded to an outside address.
    Forward(FollowUpId),
}

fn quote(f: &FollowUp) -> String {
    let from = f
        .email
        .as_ref()
        .map(|e| mailbox_text(&e.from))
        .unwrap_or_else(|| f.author.clone());
    let mut s = format!(
        "\n\nOn {}, {from} wrote:\n",
        f.created_at.format("%Y-%m-%d %H:%M UTC")
    );
    for line in f.body.lines() {
        s.push_str("> ");
        s.push_str(line);
        s.push('\n');
    }
    s
}

fn mailbox_text(m: &Mailbox) -> String {
    match &m.name {
        Some(n) if !n.is_empty() => format!("{n} <{}>", m.address),
        _ => m.address.clone(),
    }
}

fn prefixed(prefix: &str, subject: &str) -> String {
    let lower = subject.to_ascii_lowercase();
    if lower.starts_with(&format!("{}:", prefix.to_ascii_lowercase())) {
        subject.to_owned()
    } else {
        format!("{prefix}: {subject}")
    }
}

/// Drafts, QA review and sending, on the runtime.
pub trait EmailDrafts {
    #[doc(hidden)]
    fn agent_of(ctx: &Ctx, action: &str) -> Result<String>;

    /// The default From of `login` on `case`: their profile's address, else
    /// the case group's, else the first of `[email] addresses`.
    fn default_from(&self, login: &str, case: &dossier_sdk::Case) -> Result<Option<Mailbox>>;

    #[doc(hidden)]
    fn our_address(&self, address: &str, login: &str) -> bool;

    /// Starts a draft for the acting agent.
    fn start_draft(self: &Arc<Self>, ctx: &Ctx, start: DraftStart) -> Result<Draft>;

    /// Draft `id`, if the actor may see it (its agent, or a holder of
    /// `reassign_cases`).
    fn draft(&self, ctx: &Ctx, id: i64) -> Result<Draft>;

    /// The acting agent's drafts still being written.
    fn my_drafts(&self, ctx: &Ctx) -> Result<Vec<Draft>>;

    /// The acting agent's own draft `id`, still being written.
    fn own_open_draft(&self, ctx: &Ctx, id: i64, action: &str) -> Result<Draft>;

    /// Draft `id` in the review queue, for a reviewer (`review_email`).
    fn draft_in_review(&self, ctx: &Ctx, id: i64, action: &str) -> Result<Draft>;

    #[doc(hidden)]
    fn actor_name(ctx: &Ctx) -> String;

    #[doc(hidden)]
    fn review_step(&self, draft: i64, step: &str, by: &str, remarks: Option<&str>) -> Result<()>;

    /// Whether `[email.review]` sends `agent`'s email to review.
    fn review_required(&self, agent: &str) -> Result<bool>;

    /// Puts `draft` in the review queue (`why` says what required it).
    fn submit_for_review(&self, draft: Draft, why: &str) -> Result<Draft>;

    /// Drafts waiting for review, oldest first (needs `review_email`).
    fn review_queue(&self, ctx: &Ctx) -> Result<Vec<Draft>>;

    /// Draft `id`'s review record: submitted, rejected (with remarks),
    /// edited, approved, sent, each with who and when.
    fn review_history(&self, ctx: &Ctx, id: i64) -> Result<Vec<dossier_sdk::ReviewStep>>;

    /// Sends draft `id` back to its agent with `remarks`; it shows as
    /// rejected, with the remarks, in their workbin.
    fn reject_draft(&self, ctx: &Ctx, id: i64, remarks: &str) -> Result<Draft>;

    /// Approves draft `id`, which is then sent (its `notification` hooks
    /// run on that send, as `system` on the agent's behalf).
    fn approve_draft(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<Draft>;

    /// Edits draft `id` (its own agent only, while it is a draft).
    fn edit_draft(&self, ctx: &Ctx, id: i64, change: DraftChange) -> Result<Draft>;

    /// Attaches a file to draft `id`: at most 20 MB; a larger one is
    /// refused naming the limit, and the draft keeps everything else.
    fn attach_to_draft(
        &self,
        ctx: &Ctx,
        id: i64,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<Draft>;

    /// Adds an image shown inside the draft's HTML body: at most 10 MB; a
    /// picture whose long side is over `[email] max_image_px` is
    /// downscaled and recompressed. Its `<img src="cid:…" alt="…">` goes
    /// where the HTML names `cid:NAME` already, else at the end; the alt
    /// text and its place are kept. Needs `[email] rich_text`.
    fn attach_inline_image(
        &self,
        ctx: &Ctx,
        id: i64,
        name: &str,
        bytes: &[u8],
        alt: &str,
    ) -> Result<Draft>;

    /// Expands the FAQ shortcuts (`/shortcut`) in draft `id`'s text: each
    /// becomes its entry's text, or its link, as `mode` says; unknown
    /// `/words` stay as typed.
    fn expand_draft_faq(&self, ctx: &Ctx, id: i64, mode: dossier_sdk::ExpandMode) -> Result<Draft>;

    /// Throws draft `id` away.
    fn discard_draft(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<Discarded>;

    /// After discarding `draft`, whose case was opened for it: closes that
    /// case when nothing else was written on it (no follow-up, no other
    /// draft, no task), with a `system` note saying why.
    fn close_draft_case(self: &Arc<Self>, ctx: &Ctx, draft: &Draft) -> Result<CaseAfterDiscard>;

    /// The headers of the email `draft` makes, and the thread it answers.
    fn draft_headers(&self, ctx: &Ctx, draft: &Draft) -> Result<(EmailHeaders, Vec<String>)>;

    /// Saves draft `id` on its case as a saved message (`email_saved`),
    /// not sent.
    fn save_draft(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<Draft>;

    /// Sends draft `id`: see the module docs. Refused, with the draft left
    /// as it was, when From or To is missing or an address is malformed.
    /// When `[email.review]` covers the agent, or a `notification` hook
    /// sets `review`, the draft goes to the review queue instead.
    fn send_draft(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<Draft>;

    #[doc(hidden)]
    fn check_sendable(&self, draft: &Draft) -> Result<Mailbox>;

    /// The send itself (after review when `approved`).
    fn deliver_draft(self: &Arc<Self>, ctx: &Ctx, draft: Draft, approved: bool) -> Result<Draft>;

    /// Transfers the email follow-up `email` to another agent's (or a
    /// group's) workbin, with a note. Needs `transfer_email`; recorded as
    /// a system follow-up. Refused with `Error::RecipientCannotSee` when
    /// the agent, or a member of the group, may not see the email's case.
    fn transfer_email(
        self: &Arc<Self>,
        ctx: &Ctx,
        email: FollowUpId,
        to_agent: Option<&str>,
        to_group: Option<&str>,
        note: &str,
    ) -> Result<()>;

    /// Sends a colleague the email follow-up `email` with a question. Their
    /// answer, a reply to that message, comes back as an internal note on
    /// the case (ingest recognises it); the customer never sees it.
    fn consult(
        self: &Arc<Self>,
        ctx: &Ctx,
        email: FollowUpId,
        colleague: &str,
        question: &str,
    ) -> Result<FollowUp>;
}

impl EmailDrafts for Runtime {
    fn agent_of(ctx: &Ctx, action: &str) -> Result<String> {
        match ctx.actor() {
            Actor::Agent(login) => Ok(login.clone()),
            Actor::System => Err(Error::Refused(format!(
                "{action} needs an agent (`--as LOGIN`): drafts belong to the agent writing them"
            ))),
        }
    }

    fn default_from(&self, login: &str, case: &dossier_sdk::Case) -> Result<Option<Mailbox>> {
        let agent = self.acting_agent(login)?;
        if let Some(address) = agent.email {
            return Ok(Some(Mailbox {
                name: Some(agent.display_name),
                address,
            }));
        }
        if let Some(group) = &case.group
            && let Some(g) = self.store().read(|tx| tx.group(group))?
            && let Some(address) = g.email
        {
            return Ok(Some(Mailbox {
                name: Some(g.name),
                address,
            }));
        }
        Ok(self.config().email.addresses.first().map(|a| Mailbox {
            name: None,
            address: a.clone(),
        }))
    }

    fn our_address(&self, address: &str, login: &str) -> bool {
        self.config()
            .email
            .addresses
            .iter()
            .any(|a| a.eq_ignore_ascii_case(address))
            || self
                .acting_agent(login)
                .ok()
                .and_then(|a| a.email)
                .is_some_and(|e| e.eq_ignore_ascii_case(address))
    }

    fn start_draft(self: &Arc<Self>, ctx: &Ctx, start: DraftStart) -> Result<Draft> {
        let login = Self::agent_of(ctx, "starting a draft")?;
        let now = self.now();
        let answered = match &start {
            DraftStart::Reply(f) | DraftStart::ReplyAll(f) | DraftStart::Forward(f) => {
                let f = self.follow_up(ctx, *f)?;
                if f.email.is_none() {
                    return Err(Error::Refused(format!(
                        "follow-up {} is a {}, not an email: only emails are answered or forwarded",
                        f.id,
                        f.kind.as_str()
                    )));
                }
                Some(f)
            }
            _ => None,
        };
        let case = match (&start, &answered) {
            (DraftStart::Case(n), _) => self.case(ctx, *n)?,
            (DraftStart::Customer(c), _) => {
                let customer = self.customer(ctx, *c)?;
                self.open_case(ctx, NewCase::new(customer.id, "(new email)"))?
            }
            (_, Some(f)) => self.case(ctx, f.case)?,
            _ => {
                return Err(Error::Refused(
                    "internal error: a draft without a case".into(),
                ));
            }
        };
        let customer = self.customer(ctx, case.customer)?;
        let from = self.default_from(&login, &case)?;
        let mut draft = Draft {
            id: 0,
            agent: login.clone(),
            case_number: case.number,
            kind: DraftKind::New,
            answers: answered.as_ref().map(|f| f.id),
            from,
            to: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            subject: case.subject.clone(),
            body: String::new(),
            html: None,
            attachments: Vec::new(),
            state: DraftState::Draft,
            follow_up: None,
            remarks: None,
            signature: None,
            opened_case: matches!(start, DraftStart::Customer(_)),
            created_at: now,
            updated_at: now,
        };
        match (&start, &answered) {
            (DraftStart::Case(_) | DraftStart::Customer(_), _) => {
                draft.to = customer
                    .emails
                    .first()
                    .map(|e| Mailbox {
                        name: Some(customer.name.clone()),
                        address: e.address.clone(),
                    })
                    .into_iter()
                    .collect();
            }
            (DraftStart::Reply(_) | DraftStart::ReplyAll(_), Some(f)) => {
                let e = f.email.clone().unwrap_or_default();
                draft.kind = if matches!(start, DraftStart::Reply(_)) {
                    DraftKind::Reply
                } else {
                    DraftKind::ReplyAll
                };
                draft.subject = prefixed("Re", &e.subject);
                draft.body = quote(f);
                draft.to = vec![e.from.clone()];
                if draft.kind == DraftKind::ReplyAll {
                    let mut seen: Vec<String> = vec![e.from.address.to_lowercase()];
                    if let Some(from) = &draft.from {
                        seen.push(from.address.to_lowercase());
                    }
                    for m in e.to.iter().chain(&e.cc) {
                        let a = m.address.to_lowercase();
                        if seen.contains(&a) || self.our_address(&a, &login) {
                            continue;
                        }
                        seen.push(a);
                        draft.cc.push(m.clone());
                    }
                }
            }
            (DraftStart::Forward(_), Some(f)) => {
                let e = f.email.clone().unwrap_or_default();
                draft.kind = DraftKind::Forward;
                draft.subject = prefixed("Fwd", &e.subject);
                let list =
                    |l: &[Mailbox]| l.iter().map(mailbox_text).collect::<Vec<_>>().join(", ");
                draft.body = format!(
                    "\n\n---------- Forwarded message ----------\nFrom: {}\nDate: {}\nSubject: {}\nTo: {}\n{}\n{}",
                    mailbox_text(&e.from),
                    e.date.unwrap_or(f.created_at).format("%Y-%m-%d %H:%M UTC"),
                    e.subject,
                    list(&e.to),
                    if e.cc.is_empty() {
                        String::new()
                    } else {
                        format!("Cc: {}\n", list(&e.cc))
                    },
                    f.body
                );
                draft.attachments = f
                    .attachments
                    .iter()
                    .filter(|a| a.blob.is_some())
                    .cloned()
                    .collect();
            }
            _ => {}
        }
        let reason = format!("draft: {}", draft.subject);
        let id = self.store().write("start draft", |tx| {
            let id = tx.insert_draft(&draft)?;
            for blob in draft.attachments.iter().filter_map(|a| a.blob.as_deref()) {
                tx.add_blob_ref(blob, "draft", id)?;
            }
            tx.insert_workbin(&NewWorkbinItem {
                agent: Some(&login),
                group: None,
                case_number: draft.case_number,
                follow_up: None,
                draft: Some(id),
                reason: &reason,
                at: now,
            })?;
            Ok(id)
        })?;
        draft.id = id;
        Ok(draft)
    }

    fn draft(&self, ctx: &Ctx, id: i64) -> Result<Draft> {
        let viewer = self.viewer(ctx)?;
        // An agent who may not see every case is told the same whether the
        // draft does not exist, is someone else's, or sits on a case they
        // may not see: like the case itself, it is hidden.
        let missing = || match ctx.actor() {
            Actor::Agent(login) if viewer != Viewer::All => Error::Hidden {
                what: format!("draft {id}"),
                login: login.clone(),
            },
            _ => Error::not_found(ObjectKind::Case, format!("draft {id}")),
        };
        let (draft, visible) = self
            .store()
            .read(|tx| match tx.draft(id)? {
                Some(d) => {
                    let visible = tx.case_visible(d.case_number, &viewer)?;
                    Ok(Some((d, visible)))
                }
                None => Ok(None),
            })?
            .ok_or_else(missing)?;
        if !visible {
            return Err(missing());
        }
        if let Actor::Agent(login) = ctx.actor()
            && *login != draft.agent
        {
            let agent = self.acting_agent(login)?;
            // A reviewer reads what waits in the review queue.
            let reviews = draft.state == DraftState::InReview && agent.has(Permission::ReviewEmail);
            if !agent.has(Permission::ReassignCases) && !reviews {
                return Err(missing());
            }
        }
        Ok(draft)
    }

    fn my_drafts(&self, ctx: &Ctx) -> Result<Vec<Draft>> {
        let login = Self::agent_of(ctx, "listing drafts")?;
        let viewer = self.viewer(ctx)?;
        self.store()
            .read(|tx| visible_drafts(tx, tx.open_drafts(&login)?, &viewer))
    }

    fn own_open_draft(&self, ctx: &Ctx, id: i64, action: &str) -> Result<Draft> {
        let login = Self::agent_of(ctx, action)?;
        let draft = self.draft(ctx, id)?;
        if draft.agent != login {
            return Err(Error::Refused(format!(
                "draft {id} is {}'s: only they can {action}",
                draft.agent
            )));
        }
        if !matches!(draft.state, DraftState::Draft | DraftState::Rejected) {
            return Err(Error::Refused(format!(
                "draft {id} is {} already",
                draft.state.as_str().replace('_', " ")
            )));
        }
        Ok(draft)
    }

    fn draft_in_review(&self, ctx: &Ctx, id: i64, action: &str) -> Result<Draft> {
        self.require(ctx, Permission::ReviewEmail, action)?;
        let draft = self.draft(ctx, id)?;
        if draft.state != DraftState::InReview {
            return Err(Error::Refused(format!(
                "draft {id} is not waiting for review (it is {})",
                draft.state.as_str().replace('_', " ")
            )));
        }
        Ok(draft)
    }

    fn actor_name(ctx: &Ctx) -> String {
        match ctx.actor() {
            Actor::Agent(l) => l.clone(),
            Actor::System => "system".to_owned(),
        }
    }

    fn review_step(&self, draft: i64, step: &str, by: &str, remarks: Option<&str>) -> Result<()> {
        let step = dossier_sdk::ReviewStep {
            step: step.to_owned(),
            by: by.to_owned(),
            at: self.now(),
            remarks: remarks.map(str::to_owned),
        };
        self.store()
            .write("review step", |tx| tx.add_review_step(draft, &step))
    }

    fn review_required(&self, agent: &str) -> Result<bool> {
        let cfg = &self.config().email.review;
        if cfg.all || cfg.agents.iter().any(|a| a == agent) {
            return Ok(true);
        }
        if cfg.groups.is_empty() {
            return Ok(false);
        }
        let agent = self.acting_agent(agent)?;
        Ok(agent.groups.iter().any(|g| cfg.groups.contains(g)))
    }

    fn submit_for_review(&self, mut draft: Draft, why: &str) -> Result<Draft> {
        draft.state = DraftState::InReview;
        draft.updated_at = self.now();
        let by = draft.agent.clone();
        let id = draft.id;
        self.store().write("submit for review", |tx| {
            tx.update_draft(&draft)?;
            tx.workbin_done_for_draft(id, &by, draft.updated_at)
        })?;
        self.review_step(id, "submitted", &by, Some(why))?;
        Ok(draft)
    }

    fn review_queue(&self, ctx: &Ctx) -> Result<Vec<Draft>> {
        self.require(ctx, Permission::ReviewEmail, "read the review queue")?;
        let viewer = self.viewer(ctx)?;
        self.store()
            .read(|tx| visible_drafts(tx, tx.review_queue()?, &viewer))
    }

    fn review_history(&self, ctx: &Ctx, id: i64) -> Result<Vec<dossier_sdk::ReviewStep>> {
        self.draft(ctx, id)?;
        self.store().read(|tx| tx.review_steps(id))
    }

    fn reject_draft(&self, ctx: &Ctx, id: i64, remarks: &str) -> Result<Draft> {
        let mut draft = self.draft_in_review(ctx, id, "reject email in review")?;
        let by = Self::actor_name(ctx);
        draft.state = DraftState::Rejected;
        draft.remarks = Some(remarks.to_owned());
        draft.updated_at = self.now();
        let reason = format!("rejected by {by}: {remarks}");
        self.store().write("reject draft", |tx| {
            tx.update_draft(&draft)?;
            tx.insert_workbin(&NewWorkbinItem {
                agent: Some(&draft.agent),
                group: None,
                case_number: draft.case_number,
                follow_up: None,
                draft: Some(id),
                reason: &reason,
                at: draft.updated_at,
            })?;
            Ok(())
        })?;
        self.review_step(id, "rejected", &by, Some(remarks))?;
        Ok(draft)
    }

    fn approve_draft(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<Draft> {
        let draft = self.draft_in_review(ctx, id, "approve email in review")?;
        let by = Self::actor_name(ctx);
        self.review_step(id, "approved", &by, None)?;
        let system = dossier_core::runtime::system(self);
        let sent = self.deliver_draft(&system, draft, true)?;
        self.review_step(id, "sent", &by, None)?;
        Ok(sent)
    }

    fn edit_draft(&self, ctx: &Ctx, id: i64, change: DraftChange) -> Result<Draft> {
        // Read as the actor, so that a draft they may not see is refused
        // before its state decides which refusal they would get.
        let in_review = self.draft(ctx, id)?.state == DraftState::InReview;
        let mut draft = if in_review {
            let d = self.draft_in_review(ctx, id, "edit email in review")?;
            self.review_step(id, "edited", &Self::actor_name(ctx), None)?;
            d
        } else {
            self.own_open_draft(ctx, id, "edit it")?
        };
        if let Some(from) = change.from {
            draft.from = Some(from);
        }
        if let Some(to) = change.to {
            draft.to = to;
        }
        if let Some(cc) = change.cc {
            draft.cc = cc;
        }
        if let Some(bcc) = change.bcc {
            draft.bcc = bcc;
        }
        if let Some(subject) = change.subject {
            draft.subject = subject;
        }
        if let Some(body) = change.body {
            draft.body = body;
        }
        if let Some(signature) = change.signature {
            draft.signature = signature;
        }
        if let Some(html) = change.html {
            draft.html = match html {
                Some(_) if !self.config().email.rich_text => {
                    return Err(Error::input(
                        "html",
                        "rich text is off ([email] rich_text = false): this draft takes text only",
                    ));
                }
                // Sanitized when saved: what the draft keeps is safe to show.
                Some(h) => Some(super::parse::html::sanitize(&h)),
                None => None,
            };
        }
        draft.updated_at = self.now();
        self.store()
            .write("edit draft", |tx| tx.update_draft(&draft))?;
        Ok(draft)
    }

    fn attach_to_draft(
        &self,
        ctx: &Ctx,
        id: i64,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<Draft> {
        let mut draft = self.own_open_draft(ctx, id, "attach files to it")?;
        if bytes.len() > MAX_ATTACHMENT {
            return Err(Error::input(
                "attachment",
                format!(
                    "`{name}` is {:.1} MB; an attachment may be at most {} MB",
                    bytes.len() as f64 / (1024.0 * 1024.0),
                    MAX_ATTACHMENT / (1024 * 1024)
                ),
            ));
        }
        draft.updated_at = self.now();
        self.store().write("attach to draft", |tx| {
            let blob = self.blobs().put(bytes)?;
            tx.add_blob_ref(&blob, "draft", id)?;
            draft.attachments.push(Attachment {
                name: name.to_owned(),
                content_type: content_type.to_owned(),
                size: bytes.len() as u64,
                blob: Some(blob),
                refused: None,
                content_id: None,
            });
            tx.update_draft(&draft)
        })?;
        Ok(draft)
    }

    fn attach_inline_image(
        &self,
        ctx: &Ctx,
        id: i64,
        name: &str,
        bytes: &[u8],
        alt: &str,
    ) -> Result<Draft> {
        let mut draft = self.own_open_draft(ctx, id, "add images to it")?;
        if !self.config().email.rich_text {
            return Err(Error::input(
                "image",
                "rich text is off ([email] rich_text = false): images need an HTML body",
            ));
        }
        if bytes.len() > MAX_INLINE_IMAGE {
            return Err(Error::input(
                "image",
                format!(
                    "`{name}` is {:.1} MB; an inline image may be at most {} MB",
                    bytes.len() as f64 / (1024.0 * 1024.0),
                    MAX_INLINE_IMAGE / (1024 * 1024)
                ),
            ));
        }
        let (bytes, content_type) = fit_image(name, bytes, self.config().email.max_image_px)?;
        let content_id = format!(
            "{}.{}@dossier",
            name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.', "-"),
            draft.attachments.len()
        );
        let img = format!(
            "<img src=\"cid:{content_id}\" alt=\"{}\">",
            alt.replace('&', "&amp;")
                .replace('"', "&quot;")
                .replace('<', "&lt;")
        );
        let html = draft.html.take().unwrap_or_default();
        let placeholder = format!("cid:{name}");
        let html = if html.contains(&placeholder) {
            html.replace(&placeholder, &format!("cid:{content_id}"))
        } else {
            format!("{html}<p>{img}</p>")
        };
        draft.html = Some(super::parse::html::sanitize(&html));
        draft.updated_at = self.now();
        self.store().write("attach image to draft", |tx| {
            let blob = self.blobs().put(&bytes)?;
            tx.add_blob_ref(&blob, "draft", id)?;
            draft.attachments.push(Attachment {
                name: name.to_owned(),
                content_type: content_type.clone(),
                size: bytes.len() as u64,
                blob: Some(blob),
                refused: None,
                content_id: Some(content_id.clone()),
            });
            tx.update_draft(&draft)
        })?;
        Ok(draft)
    }

    fn expand_draft_faq(&self, ctx: &Ctx, id: i64, mode: dossier_sdk::ExpandMode) -> Result<Draft> {
        let mut draft = self.own_open_draft(ctx, id, "insert FAQ entries in it")?;
        draft.body = self.expand_shortcuts(&draft.body, mode)?;
        draft.updated_at = self.now();
        self.store()
            .write("expand draft", |tx| tx.update_draft(&draft))?;
        Ok(draft)
    }

    fn discard_draft(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<Discarded> {
        let mut draft = self.own_open_draft(ctx, id, "discard it")?;
        draft.state = DraftState::Discarded;
        draft.updated_at = self.now();
        let by = draft.agent.clone();
        self.store().write("discard draft", |tx| {
            tx.update_draft(&draft)?;
            tx.workbin_done_for_draft(id, &by, draft.updated_at)
        })?;
        let case = if draft.opened_case {
            self.close_draft_case(ctx, &draft)?
        } else {
            CaseAfterDiscard::Untouched
        };
        Ok(Discarded { draft, case })
    }

    fn close_draft_case(self: &Arc<Self>, ctx: &Ctx, draft: &Draft) -> Result<CaseAfterDiscard> {
        let number = draft.case_number;
        let case = self.case(ctx, number)?;
        let (follow_ups, drafts, tasks) = self.read(|tx, schema| {
            Ok((
                tx.count_follow_ups(number)?,
                tx.other_drafts_on_case(number, draft.id)?,
                tx.list_tasks(
                    schema,
                    &dossier_store::TaskFilter {
                        case: Some(number),
                        ..Default::default()
                    },
                    dossier_store::Page::default(),
                    &Viewer::All,
                )?
                .len(),
            ))
        })?;
        if follow_ups > 0 || drafts > 0 || tasks > 0 {
            return Ok(CaseAfterDiscard::Kept { number });
        }
        if !self.config().case.is_open(&case.status) {
            return Ok(CaseAfterDiscard::Untouched);
        }
        let status = self.config().case.closing_status().to_owned();
        let note = format!(
            "Case {number} was opened for email draft {} only, which {} discarded; it is closed.",
            draft.id, draft.agent
        );
        // The note and the close are one write; the case's hooks run as for
        // any close, and when they refuse it the case stays open (the
        // discard stands: it committed before).
        let closed = self.transaction("close the case of a discarded draft", || {
            self.add_follow_up(
                ctx,
                NewFollowUp {
                    kind: FollowUpKind::System,
                    ..NewFollowUp::note(number, "system", note.clone())
                },
            )?;
            self.modify_case(ctx, number, "close case", |c| {
                c.status = status.clone();
                Ok(())
            })
        });
        Ok(match closed {
            Ok(case) => CaseAfterDiscard::Closed {
                number,
                status: case.status,
            },
            Err(e) => {
                tracing::info!("the case of discarded draft {} stays open: {e}", draft.id);
                CaseAfterDiscard::Refused {
                    number,
                    reason: e.to_string(),
                }
            }
        })
    }

    fn draft_headers(&self, ctx: &Ctx, draft: &Draft) -> Result<(EmailHeaders, Vec<String>)> {
        let mut references = Vec::new();
        let mut in_reply_to = None;
        if let Some(f) = draft.answers
            && matches!(draft.kind, DraftKind::Reply | DraftKind::ReplyAll)
        {
            let f = self.follow_up(ctx, f)?;
            if let Some(e) = f.email {
                references = e.references.clone();
                if let Some(id) = &e.message_id {
                    references.push(id.clone());
                    in_reply_to = Some(id.clone());
                }
            }
        }
        Ok((
            EmailHeaders {
                from: draft.from.clone().unwrap_or_default(),
                to: draft.to.clone(),
                cc: draft.cc.clone(),
                bcc: draft.bcc.clone(),
                subject: draft.subject.clone(),
                date: Some(self.now()),
                message_id: None,
                in_reply_to,
                references: references.clone(),
                ..Default::default()
            },
            references,
        ))
    }

    fn save_draft(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<Draft> {
        let mut draft = self.own_open_draft(ctx, id, "save it")?;
        let (headers, _) = self.draft_headers(ctx, &draft)?;
        self.transaction("save draft", || {
            let f = self.add_follow_up(
                ctx,
                NewFollowUp {
                    case: draft.case_number,
                    kind: FollowUpKind::EmailSaved,
                    author: draft.agent.clone(),
                    body: draft.body.clone(),
                    html: draft.html.clone(),
                    email: Some(headers),
                    attachments: draft.attachments.clone(),
                    custom: Default::default(),
                },
            )?;
            draft.state = DraftState::Saved;
            draft.follow_up = Some(f.id);
            draft.updated_at = self.now();
            let by = draft.agent.clone();
            self.store().write("save draft", |tx| {
                for blob in draft.attachments.iter().filter_map(|a| a.blob.as_deref()) {
                    tx.add_blob_ref(blob, "follow_up", f.id.0)?;
                }
                tx.update_draft(&draft)?;
                tx.workbin_done_for_draft(id, &by, draft.updated_at)
            })
        })?;
        Ok(draft)
    }

    fn send_draft(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<Draft> {
        let draft = self.own_open_draft(ctx, id, "send it")?;
        if self.review_required(&draft.agent)? {
            self.check_sendable(&draft)?;
            return self.submit_for_review(draft, "[email.review] covers this agent");
        }
        self.deliver_draft(ctx, draft, false)
    }

    fn check_sendable(&self, draft: &Draft) -> Result<Mailbox> {
        let id = draft.id;
        let missing = |field: &str| Error::InvalidNotification {
            field: field.to_owned(),
            rule: format!("is missing: draft {id} cannot be sent without it"),
        };
        let from = draft.from.clone().ok_or_else(|| missing("from"))?;
        if from.address.trim().is_empty() {
            return Err(missing("from"));
        }
        if draft.to.is_empty() {
            return Err(missing("to"));
        }
        // The draft's author answers for its From, whoever sends it on
        // (a reviewer approving it sends as the system).
        self.require_from(&draft.agent, &from.address)?;
        if self.config().email.smtp.is_none() {
            return Err(Error::Refused(
                "this store sends no mail: configure [email.smtp] in dossier.toml".into(),
            ));
        }
        Ok(from)
    }

    fn deliver_draft(
        self: &Arc<Self>,
        ctx: &Ctx,
        mut draft: Draft,
        approved: bool,
    ) -> Result<Draft> {
        let id = draft.id;
        let from = self.check_sendable(&draft)?;
        if let Some(html) = &draft.html
            && draft.body.trim().is_empty()
        {
            // The text part of multipart/alternative, made from the HTML.
            draft.body = super::parse::html::to_text(html);
        }
        // The signature goes with the notification, apart from the body:
        // the `notification` hooks see it as `signature` (and may change
        // it), and the step appends it after them, never twice.
        let group = self
            .read(|tx, schema| tx.get_case(schema, draft.case_number))?
            .group;
        let signature =
            self.signature_for(&draft.agent, draft.signature.as_deref(), group.as_deref())?;
        let rich = signature.as_ref().and_then(|sig| {
            sig.html.as_ref().map(|html| RichSignature {
                text: sig.text.clone(),
                html: html.clone(),
            })
        });
        let signature = signature.map(|sig| sig.text);
        let token = self.thread_token(ctx, draft.case_number)?;
        let (mut headers, references) = self.draft_headers(ctx, &draft)?;
        let cause = match draft.kind {
            DraftKind::Reply | DraftKind::ReplyAll => Cause::EmailReply,
            _ => Cause::Manual,
        };
        let audience = if draft.kind == DraftKind::Forward {
            Audience::Internal
        } else {
            Audience::Customer
        };
        let held = self.transaction("send draft", || {
            let sent = self.notify_signed(
                ctx,
                Notification {
                    case_number: Some(draft.case_number),
                    audience,
                    cause,
                    from: from.clone(),
                    to: draft.to.clone(),
                    cc: draft.cc.clone(),
                    bcc: draft.bcc.clone(),
                    message_id: None,
                    in_reply_to: headers.in_reply_to.clone(),
                    references: references.clone(),
                    thread_token: Some(token.as_str().to_owned()),
                    attachments: draft.attachments.clone(),
                    subject: draft.subject.clone(),
                    body: draft.body.clone(),
                    html: draft.html.clone(),
                    signature: signature.clone(),
                    review: false,
                },
                approved,
                rich.clone(),
            )?;
            if sent.review && !approved {
                // A hook asked for review: nothing was queued.
                return Ok(true);
            }
            // What went out, as the hooks left it.
            headers.from = sent.from.clone();
            headers.to = sent.to.clone();
            headers.cc = sent.cc.clone();
            headers.bcc = sent.bcc.clone();
            headers.subject = sent.subject.clone();
            headers.message_id = sent.message_id.clone();
            let f = self.add_follow_up(
                ctx,
                NewFollowUp {
                    case: draft.case_number,
                    kind: FollowUpKind::EmailOut,
                    author: draft.agent.clone(),
                    body: sent.body.clone(),
                    html: sent.html.clone(),
                    email: Some(headers.clone()),
                    attachments: sent.attachments.clone(),
                    custom: Default::default(),
                },
            )?;
            draft.state = DraftState::Sent;
            draft.follow_up = Some(f.id);
            draft.updated_at = self.now();
            let by = draft.agent.clone();
            self.store().write("send draft", |tx| {
                for blob in draft.attachments.iter().filter_map(|a| a.blob.as_deref()) {
                    tx.add_blob_ref(blob, "follow_up", f.id.0)?;
                }
                tx.update_draft(&draft)?;
                tx.workbin_done_for_draft(id, &by, draft.updated_at)
            })?;
            Ok(false)
        })?;
        if held {
            return self.submit_for_review(draft, "a notification hook requires review");
        }
        Ok(draft)
    }

    fn transfer_email(
        self: &Arc<Self>,
        ctx: &Ctx,
        email: FollowUpId,
        to_agent: Option<&str>,
        to_group: Option<&str>,
        note: &str,
    ) -> Result<()> {
        self.require(ctx, Permission::TransferEmail, "transfer emails")?;
        let f = self.follow_up(ctx, email)?;
        if let Some(agent) = to_agent {
            self.acting_agent(agent)?;
        }
        if let Some(group) = to_group
            && self.store().read(|tx| tx.group(group))?.is_none()
        {
            return Err(Error::Refused(format!("there is no group `{group}`")));
        }
        // The workbin would show the case's subject: whoever receives it
        // must be able to open the case (every member, for a group).
        self.store().read(|tx| {
            let mut recipients = Vec::new();
            if let Some(agent) = to_agent {
                recipients.push((agent.to_owned(), format!("agent {agent}")));
            }
            if let Some(group) = to_group {
                for member in tx.group_members(group)? {
                    let why = format!("group {group} (its member {member})");
                    recipients.push((member, why));
                }
            }
            for (login, recipient) in recipients {
                let viewer = match tx.agent_holds(&login, Permission::SeeAllPrivate)? {
                    Some(true) => Viewer::All,
                    Some(false) => Viewer::Agent(login),
                    // Disabled: reads nothing until enabled again.
                    None => continue,
                };
                if !tx.case_visible(f.case, &viewer)? {
                    return Err(Error::RecipientCannotSee {
                        recipient,
                        case: f.case,
                    });
                }
            }
            Ok(())
        })?;
        let by = match ctx.actor() {
            Actor::Agent(l) => l.clone(),
            Actor::System => "system".to_owned(),
        };
        let whom = match (to_agent, to_group) {
            (Some(a), _) => a.to_owned(),
            (None, Some(g)) => format!("group {g}"),
            (None, None) => {
                return Err(Error::input(
                    "transfer",
                    "name an agent or a group to transfer to",
                ));
            }
        };
        let now = self.now();
        let reason = format!("transferred by {by}: {note}");
        self.transaction("transfer email", || {
            self.store().write("transfer email", |tx| {
                // The email leaves the transferring agent's workbin.
                for item in tx.workbin(&by, &[], false)? {
                    if item.follow_up == Some(f.id) {
                        tx.workbin_done(item.id, &by, now)?;
                    }
                }
                tx.insert_workbin(&NewWorkbinItem {
                    agent: to_agent,
                    group: to_group,
                    case_number: f.case,
                    follow_up: Some(f.id),
                    draft: None,
                    reason: &reason,
                    at: now,
                })?;
                Ok(())
            })?;
            self.add_follow_up(
                ctx,
                NewFollowUp {
                    kind: FollowUpKind::System,
                    ..NewFollowUp::note(
                        f.case,
                        "system",
                        format!("{by} transferred email #{} to {whom}: {note}", f.id),
                    )
                },
            )?;
            Ok(())
        })
    }

    fn consult(
        self: &Arc<Self>,
        ctx: &Ctx,
        email: FollowUpId,
        colleague: &str,
        question: &str,
    ) -> Result<FollowUp> {
        let login = Self::agent_of(ctx, "consulting a colleague")?;
        let f = self.follow_up(ctx, email)?;
        let case = self.case(ctx, f.case)?;
        let mate = self.acting_agent(colleague)?;
        let Some(address) = mate.email.clone() else {
            return Err(Error::Refused(format!(
                "agent {colleague} has no email address to consult them by"
            )));
        };
        let from = self.default_from(&login, &case)?.ok_or_else(|| {
            Error::Refused(
                "no From address: give your profile an email, or set [email] addresses".into(),
            )
        })?;
        if self.config().email.smtp.is_none() {
            return Err(Error::Refused(
                "this store sends no mail: configure [email.smtp] in dossier.toml".into(),
            ));
        }
        let e = f.email.clone().unwrap_or_default();
        let body = format!(
            "{question}\n\n---------- The customer's email ----------\nFrom: {}\nSubject: {}\n\n{}",
            mailbox_text(&e.from),
            e.subject,
            f.body
        );
        let subject = format!("Consultation: {}", e.subject);
        self.transaction("consult", || {
            let sent = self.notify(
                ctx,
                Notification {
                    case_number: Some(f.case),
                    audience: Audience::Internal,
                    cause: Cause::Manual,
                    from: from.clone(),
                    to: vec![Mailbox {
                        name: Some(mate.display_name.clone()),
                        address: address.clone(),
                    }],
                    cc: Vec::new(),
                    bcc: Vec::new(),
                    message_id: None,
                    in_reply_to: None,
                    references: Vec::new(),
                    thread_token: None,
                    attachments: f.attachments.clone(),
                    subject: subject.clone(),
                    body: body.clone(),
                    html: None,
                    signature: None,
                    review: false,
                },
            )?;
            // The consultation itself is an internal note carrying the
            // Message-ID the answer will reply to.
            self.add_follow_up(
                ctx,
                NewFollowUp {
                    case: f.case,
                    kind: FollowUpKind::Note,
                    author: login.clone(),
                    body: format!("Consulted {colleague}: {question}"),
                    html: None,
                    email: Some(EmailHeaders {
                        from: sent.from.clone(),
                        to: sent.to.clone(),
                        subject: sent.subject.clone(),
                        date: Some(self.now()),
                        message_id: sent.message_id.clone(),
                        threaded_by: Some(CONSULTATION.to_owned()),
                        referred_case: None,
                        ..Default::default()
                    }),
                    attachments: Vec::new(),
                    custom: Default::default(),
                },
            )
        })
    }
}

/// `drafts` without those on a case `viewer` may not see.
fn visible_drafts(tx: &dyn Tx, drafts: Vec<Draft>, viewer: &Viewer) -> Result<Vec<Draft>> {
    let mut seen = Vec::with_capacity(drafts.len());
    for d in drafts {
        if tx.case_visible(d.case_number, viewer)? {
            seen.push(d);
        }
    }
    Ok(seen)
}

/// The largest inline image accepted, in bytes (10 MB).
pub const MAX_INLINE_IMAGE: usize = 10 * 1024 * 1024;

/// `bytes` as an image whose long side is at most `max_px`: unchanged when
/// it is already, else downscaled and recompressed in its own format.
/// Returns the bytes and their MIME type.
pub(crate) fn fit_image(name: &str, bytes: &[u8], max_px: u32) -> Result<(Vec<u8>, String)> {
    let bad = |e: image::ImageError| {
        Error::input(
            "image",
            format!("`{name}` is not an image this host reads (PNG, JPEG): {e}"),
        )
    };
    let format = image::guess_format(bytes).map_err(bad)?;
    let content_type = match format {
        image::ImageFormat::Png => "image/png",
        image::ImageFormat::Jpeg => "image/jpeg",
        other => {
            return Err(Error::input(
                "image",
                format!("`{name}` is {other:?}; inline images may be PNG or JPEG"),
            ));
        }
    };
    let picture = image::load_from_memory_with_format(bytes, format).map_err(bad)?;
    if picture.width().max(picture.height()) <= max_px {
        return Ok((bytes.to_vec(), content_type.to_owned()));
    }
    let smaller = picture.resize(max_px, max_px, image::imageops::FilterType::Triangle);
    let mut out = std::io::Cursor::new(Vec::new());
    match format {
        image::ImageFormat::Jpeg => {
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
            smaller.write_with_encoder(encoder).map_err(bad)?;
        }
        _ => smaller.write_to(&mut out, format).map_err(bad)?,
    }
    Ok((out.into_inner(), content_type.to_owned()))
}

/// What marks a consultation note, so that ingest files the colleague's
/// answer as an internal note.
pub const CONSULTATION: &str = "consultation of a colleague (internal)";

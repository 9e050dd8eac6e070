//! Ingest: one parsed email becomes an `email_in` follow-up on the case it
//! threads onto, or on a new case, in one write transaction.
//!
//! The `email_received` step, through the runner:
//!
//! 1. built in: the ingest log says whether this key was seen before
//!    (nothing new is written then); a blocked sender is dropped with the
//!    reason logged; otherwise the threading rules propose `{case, rule}`;
//! 2. `on_email_received` hooks may replace the case, set the case's
//!    priority and fields, or veto (the caller logs the veto as a drop);
//! 3. finish: the screen-pop runs by the sender's address (so
//!    `on_screen_pop` scripts apply to email too) and names the customer of
//!    a new case, creating one named from the display name for an unknown
//!    sender; the attachments go to the blob store (at most 20 MB each, a
//!    larger one is refused with the reason on the follow-up); the
//!    follow-up, the log entry and the workbin entry are written; an
//!    acknowledgement is sent through `notification` when configured and
//!    the mail is not automatic.

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use dossier_sdk::{
    Attachment, Audience, CaseNumber, Cause, Channel, CustomFields, CustomerId, Draft, DraftKind,
    DraftState, Email, EmailHeaders, EmailReceived, Event, EventKind, FieldValue, FollowUpKind,
    Ingested, Interaction, Mailbox, NewCase, NewCustomer, NewFollowUp, Notification, ObjectKind,
    PopTarget,
};

use super::parse::ParsedEmail;
use super::thread::{self, Proposal};
use crate::prelude::*;
use dossier_core::config::{Config, EmailConfig, OnClosed, WorkbinRoute};
use dossier_core::events::{Ctx, Step};
use dossier_core::runtime::Runtime;
use dossier_interact::prelude::*;
use dossier_store::NewWorkbinItem;
use dossier_types::contact::address_without_tag;
use dossier_types::{Error, Result};

/// The largest attachment kept, in bytes (20 MB).
pub const MAX_ATTACHMENT: usize = 20 * 1024 * 1024;

/// The `email_received` step: see the module docs.
struct Ingest<'e> {
    email: &'e ParsedEmail,
    /// The sender's address, lower case.
    sender: String,
    /// Why the sender's address is not one a customer can have
    /// (`root@localhost`, `moderator`), when it is not: the email is still
    /// the customer's, kept with the raw address.
    bad_sender: Option<String>,
    /// Why the email must never get an automatic answer, if it must not.
    automatic: Option<String>,
    /// What the built-in step decided without handlers (a duplicate, a
    /// blocked sender).
    early: Option<Early>,
    proposal: Option<Proposal>,
    /// The event's `fields`, typed by the case schema.
    case_fields: CustomFields,
    /// Set once the `on_email_received` hooks have passed: a veto after it
    /// (of the new customer, the case) holds the email instead of dropping it.
    hooks_passed: &'e std::cell::Cell<bool>,
}

/// `fields` typed by the `[fields.case]` schema, naming the field a value
/// does not fit.
fn case_fields(
    schema: &dossier_types::schema::Schema,
    fields: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Result<CustomFields> {
    let mut out = CustomFields::new();
    for (name, value) in fields {
        let def = schema.require_field(ObjectKind::Case, name)?;
        let typed = FieldValue::from_plain_json(def.ty, value)
            .map_err(|rule| Error::invalid(ObjectKind::Case, name, rule))?;
        out.insert(name.clone(), typed);
    }
    Ok(out)
}

enum Early {
    Duplicate(Ingested),
    Blocked(String),
}

impl Step for Ingest<'_> {
    type Out = Ingested;

    fn kind(&self) -> EventKind {
        EventKind::EmailReceived
    }

    fn label(&self) -> &str {
        "email ingest"
    }

    fn writes(&self) -> bool {
        true
    }

    fn built_in(&mut self, rt: &Arc<Runtime>, _ctx: &Ctx) -> Result<Option<Event>> {
        let cfg = &rt.config().email;
        let rules = rt.email_rules();
        let case_number = rules.case_number()?;
        let key = self.email.key.clone();
        let found = rt.read(|tx, schema| {
            if let Some(seen) = tx.inbound(&key)? {
                return Ok(Err(Early::Duplicate(Ingested::Duplicate {
                    follow_up: seen.follow_up,
                    dropped: seen.dropped,
                })));
            }
            // A message we sent ourselves coming back (a Bcc to support).
            if let Some((id, _, _)) = tx.message_follow_up(&key)? {
                return Ok(Err(Early::Duplicate(Ingested::Duplicate {
                    follow_up: Some(id),
                    dropped: None,
                })));
            }
            if let Some(reason) = blocked(cfg, &self.sender) {
                return Ok(Err(Early::Blocked(reason)));
            }
            thread::propose(tx, schema, cfg, case_number, self.email, &self.sender).map(Ok)
        })?;
        let proposal = match found {
            Ok(p) => p,
            Err(early) => {
                self.early = Some(early);
                return Ok(None);
            }
        };
        let event = EmailReceived {
            headers: self.headers(None),
            body: self.email.text.clone(),
            case_number: proposal.case,
            rule: proposal.rule.to_owned(),
            priority: None,
            fields: Default::default(),
            attachments: self.attachment_meta(),
            queue: match proposal.case {
                None => routed_queue(cfg, self.email),
                Some(_) => None,
            },
        };
        self.proposal = Some(proposal);
        Ok(Some(Event::EmailReceived(event)))
    }

    fn recheck(
        &mut self,
        rt: &Arc<Runtime>,
        _ctx: &Ctx,
        built: &Event,
        event: &mut Event,
    ) -> Result<()> {
        let (Event::EmailReceived(e), Event::EmailReceived(built)) = (event, built) else {
            return Err(Error::Refused(
                "an email_received hook replaced the event".into(),
            ));
        };
        // The email itself is what arrived: hooks decide where it goes, not
        // what it says.
        e.headers = built.headers.clone();
        e.body = built.body.clone();
        e.rule = built.rule.clone();
        e.attachments = built.attachments.clone();
        if let Some(number) = e.case_number
            && e.case_number != built.case_number
            && !rt.read(|tx, _| tx.case_exists(number))?
        {
            return Err(Error::invalid(
                ObjectKind::Case,
                "case_number",
                format!("{number} chosen by an email_received hook does not exist"),
            ));
        }
        if e.queue != built.queue
            && let Some(queue) = &e.queue
        {
            let known = rt.read(|tx, _| tx.queue(queue))?;
            if known.is_none_or(|q| q.channel != dossier_types::queues::QueueChannel::Email) {
                return Err(Error::invalid(
                    ObjectKind::Case,
                    "queue",
                    format!("`{queue}` chosen by an email_received hook is not an email queue"),
                ));
            }
        }
        self.case_fields = case_fields(rt.schema(), &e.fields)?;
        if let Some(p) = &e.priority
            && !rt.config().case.priorities.contains(p)
        {
            return Err(Error::invalid(
                ObjectKind::Case,
                "priority",
                format!(
                    "`{p}` set by an email_received hook is not one of the priorities ({})",
                    rt.config().case.priorities.join(", ")
                ),
            ));
        }
        if e.case_number != built.case_number
            && let Some(p) = &mut self.proposal
        {
            p.note = match e.case_number {
                Some(n) => format!(
                    "an email_received hook chose case {n} (built in: {})",
                    p.note
                ),
                None => format!(
                    "an email_received hook chose a new case (built in: {})",
                    p.note
                ),
            };
        }
        Ok(())
    }

    fn finish(mut self, rt: &Arc<Runtime>, ctx: &Ctx, event: Option<Event>) -> Result<Ingested> {
        self.hooks_passed.set(true);
        match (event, self.early.take()) {
            (None, Some(Early::Duplicate(seen))) => Ok(seen),
            (None, Some(Early::Blocked(reason))) => {
                record_drop(rt, self.email, &self.sender, &reason)?;
                Ok(Ingested::Dropped { reason })
            }
            (Some(Event::EmailReceived(e)), None) => {
                let proposal = self.proposal.clone().ok_or_else(lost)?;
                store(rt, ctx, self, e, proposal)
            }
            _ => Err(lost()),
        }
    }
}

fn lost() -> Error {
    Error::Refused("internal error: an email ingest lost its event".into())
}

impl Ingest<'_> {
    fn headers(&self, threaded_by: Option<String>) -> dossier_sdk::EmailHeaders {
        let mut headers = self.email.headers.clone();
        headers.threaded_by = threaded_by;
        headers.automatic = self.automatic.clone();
        headers.notes = self.email.warnings.clone();
        if let Some(rule) = &self.bad_sender {
            headers.notes.push(bad_sender_note(&self.sender, rule));
        }
        headers
    }

    fn attachment_meta(&self) -> Vec<Attachment> {
        self.email
            .attachments
            .iter()
            .map(|a| Attachment {
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                size: a.bytes.len() as u64,
                blob: None,
                refused: (a.bytes.len() > MAX_ATTACHMENT).then(|| too_large(a.bytes.len())),
                content_id: None,
            })
            .collect()
    }
}

/// The note an email from a sender that is not a customer address carries.
fn bad_sender_note(sender: &str, rule: &str) -> String {
    format!(
        "the sender `{sender}` is not a customer address ({rule}): it is kept as it came, \
         the customer has no email address from it, and no acknowledgement is sent"
    )
}

fn too_large(size: usize) -> String {
    format!(
        "not kept: {:.1} MB is over the {} MB limit for an attachment",
        size as f64 / (1024.0 * 1024.0),
        MAX_ATTACHMENT / (1024 * 1024)
    )
}

/// Why mail from `sender` is dropped, if `[email] blocked` lists it: an
/// address, `@domain` (that domain exactly) or `@*.domain` (any of its
/// subdomains, at any depth, but not the domain itself).
fn blocked(cfg: &EmailConfig, sender: &str) -> Option<String> {
    let domain = sender.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    cfg.blocked.iter().find_map(|entry| {
        let hit = match entry.strip_prefix('@') {
            Some(d) => match d.strip_prefix("*.") {
                Some(parent) => {
                    domain.len() > parent.len() + 1 && {
                        let (sub, tail) = domain.split_at(domain.len() - parent.len());
                        sub.ends_with('.') && tail.eq_ignore_ascii_case(parent)
                    }
                }
                None => d.eq_ignore_ascii_case(domain),
            },
            None => entry.eq_ignore_ascii_case(sender),
        };
        hit.then(|| format!("the sender {sender} is blocked by `{entry}` in [email] blocked"))
    })
}

/// Logs `email` as dropped for `reason`, so ingesting it again does nothing.
fn record_drop(rt: &Arc<Runtime>, email: &ParsedEmail, sender: &str, reason: &str) -> Result<()> {
    let now = rt.now();
    rt.store().write("email drop", |tx| {
        tx.insert_inbound(
            &email.key,
            None,
            sender,
            &email.headers.subject,
            Some(reason),
            now,
        )
    })
}

/// Writes the email where the event says.
fn store(
    rt: &Arc<Runtime>,
    ctx: &Ctx,
    step: Ingest<'_>,
    event: EmailReceived,
    proposal: Proposal,
) -> Result<Ingested> {
    let cfg = &rt.config().email;
    let from = &step.email.headers.from;
    let mut interaction = Interaction::new(Channel::Email);
    // An address no customer can have finds no one by email.
    interaction.email = step.bad_sender.is_none().then(|| step.sender.clone());
    interaction.case_number = event.case_number;
    // The target decides the customer; the open cases are not needed here
    // (listed only if an on_screen_pop handler may see the pop).
    let pop = rt.screen_pop_target(ctx, interaction)?;

    let (case, new_case) = match event.case_number {
        Some(number) => {
            let case = if event.priority.is_some() || !step.case_fields.is_empty() {
                rt.modify_case(ctx, number, "email ingest", |case| {
                    if let Some(p) = &event.priority {
                        case.priority = p.clone();
                    }
                    case.custom.extend(step.case_fields.clone());
                    Ok(())
                })?
            } else {
                rt.read(|tx, schema| tx.get_case(schema, number))?
            };
            (case, false)
        }
        None => {
            let customer = match pop.target {
                PopTarget::Case { customer, .. } | PopTarget::Customer { customer } => customer,
                PopTarget::Candidates { customers } if !customers.is_empty() => customers[0],
                _ => new_customer(rt, ctx, from, &step.sender, step.bad_sender.is_some())?,
            };
            let subject = if step.email.headers.subject.trim().is_empty() {
                "(no subject)".to_owned()
            } else {
                step.email.headers.subject.clone()
            };
            let mut new = NewCase::new(customer, subject);
            new.priority = event.priority.clone();
            new.custom = step.case_fields.clone();
            (rt.open_case(ctx, new)?, true)
        }
    };

    // A colleague's answer to a consultation is an internal note for the
    // agent who asked, never an email on the customer's thread: it answers
    // the consultation's Message-ID (whichever rule threaded it: the reply
    // may carry the case's token too) and comes from the address consulted.
    // Anyone else answering it is an outside email on the case.
    let consulted = match &step.email.headers.in_reply_to {
        // Only a note can be a consultation: the others are not read whole.
        // Threading already looked the header up when it matched on it (a
        // follow-up, once written, never changes).
        Some(id) => rt
            .read(|tx, schema| {
                let replied = match proposal.in_reply_to {
                    Some((follow_up, kind)) => Some((follow_up, kind)),
                    None => tx
                        .message_follow_up(id)?
                        .filter(|(_, on, _)| *on == case.number)
                        .map(|(f, _, kind)| (f, kind)),
                };
                match replied {
                    Some((note, FollowUpKind::Note)) => tx.get_follow_up(schema, note).map(Some),
                    _ => Ok(None),
                }
            })?
            .filter(|f| {
                f.email.as_ref().is_some_and(|e| {
                    e.threaded_by.as_deref() == Some(super::drafts::CONSULTATION)
                        && e.to
                            .iter()
                            .any(|m| m.address.eq_ignore_ascii_case(&step.sender))
                })
            }),
        None => None,
    };

    // A customer writing on a closed case: reopen it, or open a new case
    // naming it (`[email] on_closed`); a system follow-up says which.
    let mut closed_note = None;
    let (case, new_case) = if consulted.is_none()
        && !new_case
        && !rt.config().case.is_open(&case.status)
    {
        let old = case.number;
        let was = case.status.clone();
        match cfg.on_closed {
            OnClosed::Reopen => {
                let status = rt.config().case.initial_status().to_owned();
                let reopened = rt.modify_case(ctx, old, "email reopens a closed case", |c| {
                    c.status = status;
                    Ok(())
                })?;
                closed_note = Some((
                    old,
                    format!(
                        "Reopened: the customer wrote on this case while it was {was} ([email] on_closed = \"reopen\")."
                    ),
                ));
                (reopened, false)
            }
            OnClosed::NewCase => {
                let subject = if step.email.headers.subject.trim().is_empty() {
                    "(no subject)".to_owned()
                } else {
                    step.email.headers.subject.clone()
                };
                let mut new = NewCase::new(case.customer, subject);
                new.priority = event.priority.clone();
                new.custom = step.case_fields.clone();
                let opened = rt.open_case(ctx, new)?;
                closed_note = Some((
                    opened.number,
                    format!(
                        "Opened for an email on case {old}, which was {was} ([email] on_closed = \"new_case\")."
                    ),
                ));
                (opened, true)
            }
        }
    } else {
        (case, new_case)
    };

    // The bytes were written before the transaction (`write_blobs`); a
    // caller that did not is served here.
    let mut attachments = event.attachments;
    for (meta, parsed) in attachments.iter_mut().zip(&step.email.attachments) {
        if meta.refused.is_none() {
            meta.blob = Some(match &parsed.blob {
                Some(blob) => blob.clone(),
                None => rt.blobs().put(&parsed.bytes)?,
            });
        }
    }
    let colleague = match &consulted {
        Some(_) => rt
            .read(|tx, _| tx.list_agents())?
            .into_iter()
            .find(|a| {
                a.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&step.sender))
            })
            .map(|a| a.login),
        None => None,
    };
    // The event's copy of the headers is the email's (hooks cannot change
    // them): it becomes the follow-up's, with the threading note.
    let mut headers = event.headers;
    headers.threaded_by = Some(proposal.note.clone());
    headers.referred_case = match (&closed_note, cfg.on_closed) {
        (Some(_), OnClosed::NewCase) => event.case_number,
        _ => proposal.referred.filter(|_| new_case),
    };
    let follow_up = rt.add_follow_up(
        ctx,
        NewFollowUp {
            case: case.number,
            kind: if consulted.is_some() {
                FollowUpKind::Note
            } else {
                FollowUpKind::EmailIn
            },
            author: match (&consulted, colleague) {
                (Some(_), Some(login)) => login,
                (Some(_), None) => step.sender.clone(),
                (None, _) => "customer".to_owned(),
            },
            body: step.email.text.clone(),
            html: step.email.html.clone(),
            email: Some(headers),
            attachments: attachments.clone(),
            custom: Default::default(),
        },
    )?;

    if let Some((on, text)) = closed_note {
        rt.add_follow_up(
            ctx,
            NewFollowUp {
                kind: FollowUpKind::System,
                ..NewFollowUp::note(on, "system", text)
            },
        )?;
    }

    let now = rt.now();
    // A new case waits in its email queue, to be offered to a member once
    // this commits.
    let queue = event
        .queue
        .clone()
        .filter(|_| new_case && consulted.is_none());
    let workbin = match &consulted {
        Some(question) => Some((
            Some(question.author.clone()),
            None,
            "a colleague answered your consultation".to_owned(),
        )),
        None if new_case => None,
        None => workbin_target(rt, cfg, &case)?,
    };
    rt.store().write("email ingest", |tx| {
        for blob in attachments.iter().filter_map(|a| a.blob.as_deref()) {
            tx.add_blob_ref(blob, "follow_up", follow_up.id.0)?;
        }
        tx.insert_inbound(
            &step.email.key,
            Some(follow_up.id),
            &step.sender,
            &step.email.headers.subject,
            None,
            now,
        )?;
        if let Some(queue) = &queue {
            let queued = tx.insert_email_offer(
                queue,
                case.number,
                Some(follow_up.id),
                &step.email.headers.subject,
                &step.sender,
                now,
            )?;
            if queued.is_none() {
                tracing::warn!(
                    "case {} waits in no queue: email queue `{queue}`, which the routing names, does not exist (dossier queue list)",
                    case.number
                );
            }
        }
        if let Some((agent, group, why)) = &workbin {
            tx.insert_workbin(&NewWorkbinItem {
                agent: agent.as_deref(),
                group: group.as_deref(),
                case_number: case.number,
                follow_up: Some(follow_up.id),
                draft: None,
                reason: why,
                at: now,
            })?;
        }
        Ok(())
    })?;

    if new_case && cfg.acknowledge && step.automatic.is_none() && step.bad_sender.is_none() {
        // The email is kept whatever becomes of its acknowledgement: a
        // failure or a veto rolls back only what the acknowledgement wrote,
        // and a system note on the case says why none was sent.
        let sent = rt.store().savepoint("email acknowledgement", |_| {
            acknowledge(rt, ctx, cfg, &step, case.number)
        });
        if let Err(e) = sent {
            if e.may_pass() {
                return Err(e);
            }
            rt.add_follow_up(
                ctx,
                NewFollowUp {
                    case: case.number,
                    kind: FollowUpKind::System,
                    author: SYSTEM.to_owned(),
                    body: format!("No acknowledgement was sent for this email: {e}"),
                    html: None,
                    email: None,
                    attachments: Vec::new(),
                    custom: Default::default(),
                },
            )?;
        }
    }

    Ok(Ingested::Stored {
        case_number: case.number,
        follow_up: follow_up.id,
        new_case,
        threaded_by: proposal.note,
        workbin: workbin.map(|(agent, group, _)| match (agent, group) {
            (Some(a), _) => a,
            (None, Some(g)) => format!("group {g}"),
            (None, None) => String::new(),
        }),
    })
}

/// A customer for an unknown sender, named from the display name (or the
/// address's local part), with an account number made from the address.
/// A sender whose address no customer can have (`bad`) gets the customer
/// `[email] catch_all_account` names, else the one made from that same
/// address before, else a new one without an email address.
fn new_customer(
    rt: &Arc<Runtime>,
    ctx: &Ctx,
    from: &Mailbox,
    sender: &str,
    bad: bool,
) -> Result<CustomerId> {
    if bad && let Some(account) = &rt.config().email.catch_all_account {
        return rt
            .read(|tx, _| tx.customer_id_by_account(account))?
            .ok_or_else(|| Error::NotFound {
                object: ObjectKind::Customer,
                key: format!("account `{account}` ([email] catch_all_account)"),
            });
    }
    let name = from
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| sender.split('@').next().unwrap_or(sender).to_owned());
    let digest = dossier_store::blobs::blob_id(sender.as_bytes());
    let base = format!("EM-{}", digest[..8].to_ascii_uppercase());
    if bad && let Some(seen) = rt.read(|tx, _| tx.customer_id_by_account(&base))? {
        return Ok(seen);
    }
    let mut account = base.clone();
    let mut n = 1;
    while rt
        .read(|tx, _| tx.customer_id_by_account(&account))?
        .is_some()
    {
        n += 1;
        account = format!("{base}-{n}");
    }
    let customer = rt.create_customer(
        ctx,
        NewCustomer {
            account,
            name,
            emails: if bad {
                Vec::new()
            } else {
                vec![Email {
                    label: "email".to_owned(),
                    address: sender.to_owned(),
                }]
            },
            ..Default::default()
        },
    )?;
    Ok(customer.id)
}

/// A workbin an email goes to: `(agent, group, why)`.
type WorkbinTarget = (Option<String>, Option<String>, String);

/// Whose workbin an email joining `case` goes to.
fn workbin_target(
    rt: &Arc<Runtime>,
    cfg: &EmailConfig,
    case: &dossier_sdk::Case,
) -> Result<Option<WorkbinTarget>> {
    for route in &cfg.workbin {
        match route {
            WorkbinRoute::LastAgent => {
                if let Some(agent) = rt.read(|tx, _| tx.last_agent_on_case(case.number))? {
                    let why = "an email joined the case (the last agent on it)".to_owned();
                    return Ok(Some((Some(agent), None, why)));
                }
            }
            WorkbinRoute::Owner => {
                if let Some(owner) = &case.owner {
                    let why = "an email joined the case (its owner)".to_owned();
                    return Ok(Some((Some(owner.clone()), None, why)));
                }
            }
            WorkbinRoute::Group => {
                if let Some(group) = &case.group {
                    let why = "an email joined the case (its group)".to_owned();
                    return Ok(Some((None, Some(group.clone()), why)));
                }
            }
        }
    }
    Ok(None)
}

/// The most of a sender's subject an automatic message echoes back, in
/// characters: whoever forged the sender chose the subject.
pub const MAX_ECHOED_SUBJECT: usize = 200;

/// `subject` as an automatic message quotes it: cut to
/// [`MAX_ECHOED_SUBJECT`] characters, with `…` when it was cut.
pub(crate) fn echo(subject: &str) -> String {
    match subject.char_indices().nth(MAX_ECHOED_SUBJECT) {
        Some((at, _)) => format!("{}…", &subject[..at]),
        None => subject.to_owned(),
    }
}

/// Answers the email that opened case `number`.
fn acknowledge(
    rt: &Arc<Runtime>,
    ctx: &Ctx,
    cfg: &EmailConfig,
    step: &Ingest<'_>,
    number: CaseNumber,
) -> Result<()> {
    let Some(ours) = cfg.addresses.first() else {
        return Ok(());
    };
    let subject = echo(&step.email.headers.subject);
    let sent = rt.notify(
        ctx,
        Notification {
            case_number: Some(number),
            audience: Audience::Customer,
            cause: Cause::Acknowledgement,
            from: Mailbox {
                name: None,
                address: ours.clone(),
            },
            to: vec![step.email.headers.from.clone()],
            cc: Vec::new(),
            bcc: Vec::new(),
            message_id: None,
            in_reply_to: None,
            references: Vec::new(),
            thread_token: None,
            attachments: Vec::new(),
            subject: format!("Re: {subject} [Case #{number}]"),
            body: format!(
                "We received your message and opened case {number}. \
                 Reply to this email to add to it."
            ),
            html: None,
            signature: None,
            review: false,
        },
    )?;
    if sent.review {
        // A hook asked for QA review: nothing was queued, so the
        // acknowledgement waits in the review queue as a draft.
        let now = rt.now();
        let draft = Draft {
            id: 0,
            agent: SYSTEM.to_owned(),
            case_number: number,
            kind: DraftKind::New,
            answers: None,
            from: Some(sent.from),
            to: sent.to,
            cc: sent.cc,
            bcc: sent.bcc,
            subject: sent.subject,
            body: sent.body,
            html: sent.html,
            attachments: Vec::new(),
            state: DraftState::Draft,
            follow_up: None,
            remarks: None,
            signature: None,
            opened_case: false,
            created_at: now,
            updated_at: now,
        };
        let id = rt
            .store()
            .write("acknowledgement draft", |tx| tx.insert_draft(&draft))?;
        rt.submit_for_review(
            Draft { id, ..draft },
            "a notification hook requires review of the acknowledgement",
        )?;
        return Ok(());
    }
    // The acknowledgement is part of the case's thread, like any outbound
    // mail (with its Message-ID when it is sent, so an answer to it joins).
    rt.add_follow_up(
        ctx,
        NewFollowUp {
            case: number,
            kind: FollowUpKind::EmailOut,
            author: SYSTEM.to_owned(),
            body: sent.body,
            html: sent.html,
            email: Some(EmailHeaders {
                from: sent.from,
                to: sent.to,
                cc: sent.cc,
                bcc: sent.bcc,
                subject: sent.subject,
                date: Some(rt.now()),
                message_id: sent.message_id,
                in_reply_to: sent.in_reply_to,
                references: sent.references,
                automatic: Some("acknowledgement".to_owned()),
                ..Default::default()
            }),
            attachments: Vec::new(),
            custom: Default::default(),
        },
    )?;
    Ok(())
}

/// Who writes what the host does on its own (the acknowledgement, notes).
const SYSTEM: &str = "system";

/// Why `email` must never be answered automatically, if it must not: what
/// its headers say, or that it comes from one of our own addresses (those
/// of `[email] addresses` and the reminders' From, in any case and with
/// any `+tag`).
fn automatic(config: &Config, email: &ParsedEmail, sender: &str) -> Option<String> {
    use super::parse::AutoReason;
    if let Some(reason) = &email.auto {
        return Some(match reason {
            AutoReason::AutoSubmitted(v) => format!("auto-submitted: {v}"),
            AutoReason::Precedence(v) => format!("precedence: {v}"),
            AutoReason::Marker(header) => format!("autoresponder marker: {header}"),
            AutoReason::Bounce(why) => format!("bounce: {why}"),
        });
    }
    let sender = address_without_tag(sender);
    config
        .email
        .addresses
        .iter()
        .chain(std::iter::once(&config.reminders.from))
        .any(|ours| address_without_tag(ours) == sender)
        .then(|| "from our own address".to_owned())
}

/// Inbound email, on the runtime.
pub trait EmailIngest {
    /// Ingests one parsed email as `system`: see the module docs. An
    /// `on_email_received` veto drops the email, logging the reason; any
    /// later failure is returned, for the caller to hold the email
    /// ([`EmailHeld::hold_failed`](crate::held::EmailHeld::hold_failed)).
    fn ingest_email(self: &Arc<Self>, ctx: &Ctx, email: &ParsedEmail) -> Result<Ingested>;

    /// Writes `email`'s attachments (those within [`MAX_ATTACHMENT`]) to
    /// the blob store and notes each blob on its attachment, so that the
    /// ingest's write transaction only writes rows: hashing and writing
    /// thousands of files never holds the store's write lock. Call it
    /// outside any write (`gc` keeps a blob written in the hour before it
    /// starts, referenced or not, so one whose rows commit later is safe).
    fn write_blobs(&self, email: &mut ParsedEmail) -> Result<()>;

    /// Ingests `count` messages, received from `parsed` in order (a
    /// failed parse is that message's result), a run of them in one
    /// transaction: each is stored as it arrives, and the transaction
    /// commits when the next message is not parsed yet, so it never waits
    /// for the parser while holding the write lock (it waits, for the
    /// first of the next run, between transactions). When one fails, its
    /// run is rolled back and each of that run's messages is ingested in
    /// its own transaction, so one bad email (a failing hook, a veto)
    /// never costs the others. Messages the parser never sent (it stopped)
    /// are refused, and none is lost.
    fn ingest_batch(
        self: &Arc<Self>,
        ctx: &Ctx,
        count: usize,
        parsed: &Receiver<Result<ParsedEmail>>,
    ) -> Vec<Result<Ingested>>;
}

impl EmailIngest for Runtime {
    fn write_blobs(&self, email: &mut ParsedEmail) -> Result<()> {
        for a in &mut email.attachments {
            if a.blob.is_none() && a.bytes.len() <= MAX_ATTACHMENT {
                a.blob = Some(self.blobs().put(&a.bytes)?);
            }
        }
        Ok(())
    }

    fn ingest_email(self: &Arc<Self>, ctx: &Ctx, email: &ParsedEmail) -> Result<Ingested> {
        let sender = email.headers.from.address.trim().to_lowercase();
        let bad_sender = dossier_types::address::check_rule(&sender).err();
        let automatic = automatic(self.config(), email, &sender);
        let key = email.key.clone();
        let subject = email.headers.subject.clone();
        let hooks_passed = std::cell::Cell::new(false);
        let step = Ingest {
            email,
            sender: sender.clone(),
            bad_sender,
            automatic,
            early: None,
            proposal: None,
            case_fields: CustomFields::new(),
            hooks_passed: &hooks_passed,
        };
        match self.run(ctx, step) {
            // An `on_email_received` veto drops the email, as the admin
            // asked; a later one (of its customer or case) fails the ingest,
            // and the caller holds the email (`held.rs`).
            Err(Error::Vetoed { by, message })
                if !hooks_passed.get() && !self.store().in_write() =>
            {
                let reason = format!("vetoed by {by}: {message}");
                let now = self.now();
                self.transaction("email drop", || {
                    self.store().write("email drop", |tx| {
                        if tx.inbound(&key)?.is_none() {
                            tx.insert_inbound(&key, None, &sender, &subject, Some(&reason), now)?;
                        }
                        Ok(())
                    })
                })?;
                Ok(Ingested::Dropped { reason })
            }
            other => other,
        }
    }

    fn ingest_batch(
        self: &Arc<Self>,
        ctx: &Ctx,
        count: usize,
        parsed: &Receiver<Result<ParsedEmail>>,
    ) -> Vec<Result<Ingested>> {
        let mut out: Vec<Option<Result<Ingested>>> = Vec::with_capacity(count);
        out.resize_with(count, || None);
        let mut next = 0;
        // Waits, outside any transaction, for the first message of a run.
        while next < count {
            let Ok(first) = parsed.recv() else { break };
            let mut run: Vec<(usize, ParsedEmail)> = Vec::new();
            let mut arrived = Some(first);
            let together = self.transaction("email ingest batch", || {
                let mut done = Vec::new();
                while next < count {
                    let message = match arrived.take() {
                        Some(message) => message,
                        // Only what is parsed already: the transaction
                        // commits rather than wait for the parser.
                        None => match parsed.try_recv() {
                            Ok(message) => message,
                            Err(_) => break,
                        },
                    };
                    let i = next;
                    next += 1;
                    match message {
                        Ok(email) => {
                            let result = self.ingest_email(ctx, &email);
                            run.push((i, email));
                            done.push(result?);
                        }
                        Err(e) => out[i] = Some(Err(e)),
                    }
                }
                Ok(done)
            });
            match together {
                Ok(done) => {
                    for ((i, _), result) in run.iter().zip(done) {
                        out[*i] = Some(Ok(result));
                    }
                }
                // One failed: each of the run on its own, so the others
                // are kept.
                Err(_) => {
                    for (i, email) in &run {
                        out[*i] = Some(self.ingest_email(ctx, email));
                    }
                }
            }
        }
        out.into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(Error::Refused(
                        "the message was not read: the email parser stopped".into(),
                    ))
                })
            })
            .collect()
    }
}

/// The email queue `[email.routing]` gives a new email: the queue of the
/// first of its To and Cc addresses (without a `+tag`) that has one, else
/// the default.
fn routed_queue(cfg: &EmailConfig, email: &ParsedEmail) -> Option<String> {
    if cfg.queues.is_empty() {
        return None;
    }
    let headers = &email.headers;
    headers
        .to
        .iter()
        .chain(&headers.cc)
        .find_map(|m| {
            let address = address_without_tag(&m.address);
            cfg.routing
                .to
                .iter()
                .find(|(rule, _)| address_without_tag(rule) == address)
                .map(|(_, queue)| queue.clone())
        })
        .or_else(|| cfg.routing.default.clone())
}

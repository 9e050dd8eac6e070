//! `dossier email ingest`, `dossier workbin …` and `dossier attachment get`.
//!
//! `email ingest` is what a mail transfer agent pipes mail into (as with
//! rt-mailgate), so its exit codes follow sysexits(3): 0 when every message
//! was stored, dropped or seen before; 65 (`EX_DATAERR`) when a message
//! cannot be read as an email, which the MTA bounces; 64 (`EX_USAGE`) for
//! a wrong argument; 75 (`EX_TEMPFAIL`) for anything else (the store, a
//! failing script, a missing config), which the MTA retries later, so a
//! setup problem never bounces mail.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use dossier_sdk::{Draft, DraftChange, FollowUpId, HeldEmail, Ingested, Mailbox, WorkbinItem};

use super::Out;
use super::input::Input;
use super::output::{self, mailbox};
use dossier_host::DraftStart;
use dossier_host::Host;
use dossier_host::{Error, Result};

/// `Name <address>` or an address, as lettre reads a mailbox.
fn parse_mailbox(option: &str, text: &str) -> Result<Mailbox> {
    let m: lettre::message::Mailbox = text
        .trim()
        .parse()
        .map_err(|e| Error::input(option, format!("`{text}` is not an email address: {e}")))?;
    Ok(Mailbox {
        name: m.name.filter(|n| !n.is_empty()),
        address: m.email.to_string(),
    })
}

fn mailboxes(option: &str, list: &[String]) -> Result<Option<Vec<Mailbox>>> {
    if list.is_empty() {
        return Ok(None);
    }
    list.iter()
        .map(|t| parse_mailbox(option, t))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// Applies `content` to draft `id`: the edit, then the files.
fn apply(host: &Host, id: i64, content: Content, input: &Input) -> Result<Draft> {
    let current = host.draft(id)?;
    let mut body =
        input.inline_or_file(("--body", content.body), ("--body-file", content.body_file))?;
    if let Some(note) = content.note {
        let note = input.text("--note", note)?;
        body = Some(format!("{note}{}", body.unwrap_or(current.body)));
    }
    let change = DraftChange {
        from: content
            .from
            .as_deref()
            .map(|f| parse_mailbox("--from", f))
            .transpose()?,
        to: mailboxes("--to", &content.to)?,
        cc: mailboxes("--cc", &content.cc)?,
        bcc: mailboxes("--bcc", &content.bcc)?,
        subject: content.subject,
        body,
        html: input
            .inline_or_file(("--html", content.html), ("--html-file", content.html_file))?
            .map(Some),
        signature: content.signature.map(Some),
    };
    let mut draft = host.edit_draft(id, change)?;
    if let Some(mode) = content.expand {
        draft = host.expand_draft_faq(id, mode)?;
    }
    for path in content.attach {
        let bytes = std::fs::read(&path).map_err(|e| io_error("cannot read", &path, e))?;
        let name = path.file_name().map_or_else(
            || "attachment".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let content_type = mime_guess::from_path(&path)
            .first_or_octet_stream()
            .essence_str()
            .to_owned();
        draft = host.attach_to_draft(id, &name, &content_type, &bytes)?;
    }
    for path in content.inline {
        let bytes = std::fs::read(&path).map_err(|e| io_error("cannot read", &path, e))?;
        let name = path
            .file_name()
            .map_or_else(|| "image".to_owned(), |n| n.to_string_lossy().into_owned());
        draft = host.attach_inline_image(id, &name, &bytes, &content.alt)?;
    }
    Ok(draft)
}

/// A draft, for people.
/// What discarding a draft did to a case opened for it, for people.
fn describe_case_after_discard(case: &dossier_host::CaseAfterDiscard) -> String {
    use dossier_host::CaseAfterDiscard as C;
    match case {
        C::Untouched => String::new(),
        C::Closed { number, status } => format!(
            "case {number}, opened for this draft and holding nothing else, is {status} now\n"
        ),
        C::Kept { number } => format!(
            "case {number} was opened for this draft but holds more now: it stays as it is\n"
        ),
        C::Refused { number, reason } => {
            format!(
                "case {number}, opened for this draft, stays open: closing it was refused: {reason}\n"
            )
        }
    }
}

fn describe_draft(d: &Draft) -> String {
    let list = |l: &[Mailbox]| l.iter().map(mailbox).collect::<Vec<_>>().join(", ");
    let mut s = format!(
        "draft {} ({}, {}) on case {} by {}\n  from: {}\n  to: {}\n",
        d.id,
        d.kind.as_str(),
        d.state.as_str(),
        d.case_number,
        d.agent,
        d.from.as_ref().map(mailbox).unwrap_or_default(),
        list(&d.to)
    );
    if !d.cc.is_empty() {
        s.push_str(&format!("  cc: {}\n", list(&d.cc)));
    }
    if !d.bcc.is_empty() {
        s.push_str(&format!("  bcc: {}\n", list(&d.bcc)));
    }
    s.push_str(&format!("  subject: {}\n", d.subject));
    for line in d.body.lines() {
        s.push_str(&format!("  | {line}\n"));
    }
    for a in &d.attachments {
        s.push_str(&format!(
            "  attachment: {} ({}, {} bytes)\n",
            a.name, a.content_type, a.size
        ));
    }
    if let Some(f) = d.follow_up {
        s.push_str(&format!("  follow-up: #{f}\n"));
    }
    if let Some(r) = &d.remarks {
        s.push_str(&format!("  reviewer's remarks: {r}\n"));
    }
    s
}

fn draft_cmd(host: &Host, cmd: DraftCmd, out: &Out) -> Result<()> {
    let input = Input::default();
    let started = |start: DraftStart, content: Content| -> Result<Draft> {
        let draft = host.start_draft(start)?;
        apply(host, draft.id, content, &input)
    };
    let draft = match cmd {
        DraftCmd::New {
            case,
            customer,
            content,
        } => {
            let start = match (case, customer) {
                (Some(n), _) => DraftStart::Case(dossier_sdk::CaseNumber(n)),
                (None, Some(account)) => {
                    DraftStart::Customer(host.customer_by_account(&account)?.id)
                }
                (None, None) => return Err(Error::input("--case", "name a case or a customer")),
            };
            started(start, content)?
        }
        DraftCmd::Reply { email, content } => {
            started(DraftStart::Reply(FollowUpId(email)), content)?
        }
        DraftCmd::ReplyAll { email, content } => {
            started(DraftStart::ReplyAll(FollowUpId(email)), content)?
        }
        DraftCmd::Forward { email, content } => {
            started(DraftStart::Forward(FollowUpId(email)), content)?
        }
        DraftCmd::Edit { id, content } => apply(host, id, content, &input)?,
        DraftCmd::Show { id } => host.draft(id)?,
        DraftCmd::List => {
            let drafts = host.my_drafts()?;
            return out.table(
                &drafts,
                &[
                    ("ID", &|d: &Draft| d.id.to_string()),
                    ("CASE", &|d: &Draft| d.case_number.to_string()),
                    ("KIND", &|d: &Draft| d.kind.as_str().to_owned()),
                    ("TO", &|d: &Draft| {
                        d.to.iter().map(mailbox).collect::<Vec<_>>().join(", ")
                    }),
                    ("SUBJECT", &|d: &Draft| d.subject.clone()),
                ],
                "no drafts",
            );
        }
        DraftCmd::Save { id } => host.save_draft(id)?,
        DraftCmd::Send { id } => host.send_draft(id)?,
        DraftCmd::Discard { id } => {
            let discarded = host.discard_draft(id)?;
            let case = describe_case_after_discard(&discarded.case);
            return out.one(&discarded.draft, |d| format!("{}{case}", describe_draft(d)));
        }
    };
    out.one(&draft, describe_draft)
}

#[derive(Debug, Subcommand)]
pub(crate) enum EmailCmd {
    /// Ingest raw emails (RFC 5322 files, `-` for stdin, or a maildir's new/ folder): each becomes a follow-up on its case.
    Ingest(IngestArgs),
    /// Drafts: start (new, reply, reply-all, forward), edit, show, list, save, send, discard.
    #[command(subcommand)]
    Draft(DraftCmd),
    /// Write and send an email in one step (a new one on a case, or a reply).
    Send(SendArgs),
    /// Transfer an inbound email to another agent's or a group's workbin (needs transfer_email).
    Transfer {
        /// The email (follow-up id).
        email: i64,
        /// The agent to transfer it to.
        #[arg(
            long = "to-agent",
            value_name = "LOGIN",
            required_unless_present = "to_group"
        )]
        to_agent: Option<String>,
        /// The group to transfer it to.
        #[arg(long = "to-group", value_name = "GROUP")]
        to_group: Option<String>,
        /// Why (`-` reads stdin).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Send a colleague an email with a question; their answer comes back as an internal note.
    Consult {
        /// The email (follow-up id).
        email: i64,
        /// The colleague's login.
        #[arg(long)]
        colleague: String,
        /// The question (`-` reads stdin).
        #[arg(long)]
        question: String,
    },
    /// Show an email's context: its headers, its case's and customer's custom fields.
    Context {
        /// The email (follow-up id).
        email: i64,
    },
    /// Held mail (inbound email that could not be stored, kept with why): list, show, release, discard (needs ingest_email).
    #[command(subcommand)]
    Held(HeldCmd),
    /// New emails offered to you from your email queues, and those you accepted and have not finished.
    Offers,
    /// Accept a new email offered to you: it joins your workbin and its case becomes yours.
    Accept {
        /// The offer's id (`dossier email offers`).
        offer: i64,
    },
    /// Reject a new email offered to you (needs reject_chat): you go on break and it goes to the next member.
    Reject {
        /// The offer's id.
        offer: i64,
    },
}

/// One email offer, as people read it.
fn describe_offer(o: &dossier_host::EmailOffer) -> String {
    let until = match (o.state, o.deadline) {
        (dossier_host::EmailOfferState::Offered, Some(d)) => {
            format!(" until {}", d.format("%H:%M:%S UTC"))
        }
        _ => String::new(),
    };
    format!(
        "offer {} ({}): case {} from {}: {}{until}\n",
        o.id, o.state, o.case_number, o.sender, o.subject
    )
}

#[derive(Debug, Subcommand)]
pub(crate) enum HeldCmd {
    /// Held mail waiting for an admin, oldest first.
    List {
        /// Include mail already released or discarded.
        #[arg(long)]
        all: bool,
    },
    /// One held email: why it is held, and the message as received.
    Show {
        /// The held email's id.
        id: i64,
        /// Print only the message as received (to stdout), byte for byte.
        #[arg(long)]
        raw: bool,
    },
    /// Ingest a held email again, as if it had just arrived (once the cause is fixed).
    Release {
        /// The held email's id.
        id: i64,
    },
    /// Throw a held email away (it stays listed as discarded).
    Discard {
        /// The held email's id.
        id: i64,
    },
}

#[derive(Debug, Args)]
pub(crate) struct Content {
    /// From (`Name <address>` or an address).
    #[arg(long)]
    from: Option<String>,
    /// To; repeat for several (replaces the draft's list).
    #[arg(long)]
    to: Vec<String>,
    /// Cc; repeat for several.
    #[arg(long)]
    cc: Vec<String>,
    /// Bcc; repeat for several.
    #[arg(long)]
    bcc: Vec<String>,
    /// Subject.
    #[arg(long)]
    subject: Option<String>,
    /// The text (`-` reads stdin); replaces the draft's.
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Read the text from this file (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    body_file: Option<PathBuf>,
    /// Put this text above what the draft holds (a reply's quote, a forward).
    #[arg(long)]
    note: Option<String>,
    /// Attach a file (at most 20 MB); repeat for several.
    #[arg(long, value_name = "FILE")]
    attach: Vec<PathBuf>,
    /// An HTML body (`-` reads stdin), sanitized when saved; needs [email] rich_text.
    #[arg(long, conflicts_with = "html_file")]
    html: Option<String>,
    /// Read the HTML body from this file (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    html_file: Option<PathBuf>,
    /// Show this PNG or JPEG inside the HTML body (at most 10 MB; large ones are downscaled).
    #[arg(long, value_name = "FILE")]
    inline: Vec<PathBuf>,
    /// The alt text of the --inline images.
    #[arg(long, default_value = "")]
    alt: String,
    /// Expand FAQ shortcuts (`/shortcut`) in the text, into their entry's text or link.
    #[arg(long, value_name = "text|link")]
    expand: Option<dossier_sdk::ExpandMode>,
    /// The signature to insert on send, by name (default: yours, else your group's).
    #[arg(long, value_name = "NAME")]
    signature: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DraftCmd {
    /// Start a new draft on a case (or to a customer), for you.
    New {
        /// The case.
        #[arg(long, required_unless_present = "customer")]
        case: Option<i64>,
        /// A customer (account number): a case is opened for the email (discarding
        /// the draft closes that case again while it holds nothing else).
        #[arg(long, conflicts_with = "case")]
        customer: Option<String>,
        #[command(flatten)]
        content: Content,
    },
    /// Start a reply to an inbound email.
    Reply {
        /// The email (follow-up id).
        #[arg(long)]
        email: i64,
        #[command(flatten)]
        content: Content,
    },
    /// Start a reply to everyone on an inbound email, except us.
    ReplyAll {
        /// The email (follow-up id).
        #[arg(long)]
        email: i64,
        #[command(flatten)]
        content: Content,
    },
    /// Start forwarding an inbound email (with its attachments) to an outside address.
    Forward {
        /// The email (follow-up id).
        #[arg(long)]
        email: i64,
        #[command(flatten)]
        content: Content,
    },
    /// Change a draft.
    Edit {
        /// The draft's id.
        id: i64,
        #[command(flatten)]
        content: Content,
    },
    /// Show a draft.
    Show {
        /// The draft's id.
        id: i64,
    },
    /// Your drafts still being written.
    List,
    /// Keep a draft on its case as a saved message, without sending it.
    Save {
        /// The draft's id.
        id: i64,
    },
    /// Send a draft.
    Send {
        /// The draft's id.
        id: i64,
    },
    /// Throw a draft away.
    Discard {
        /// The draft's id.
        id: i64,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// A new email on this case.
    #[arg(long, required_unless_present = "reply")]
    case: Option<i64>,
    /// A reply to this email (follow-up id).
    #[arg(long, conflicts_with = "case")]
    reply: Option<i64>,
    #[command(flatten)]
    content: Content,
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// Message files; `-` reads one message from stdin (an MTA pipe).
    #[arg(required_unless_present = "maildir")]
    files: Vec<PathBuf>,
    /// Ingest every message in DIR/new, moving each to DIR/cur once its
    /// batch has committed.
    #[arg(long, value_name = "DIR", conflicts_with = "files")]
    maildir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum WorkbinCmd {
    /// What waits in your workbin (or another agent's, with --agent).
    List {
        /// Another agent's workbin (needs reassign_cases).
        #[arg(long)]
        agent: Option<String>,
        /// Include entries marked done.
        #[arg(long)]
        all: bool,
    },
    /// One entry, with its email.
    Show {
        /// The entry's id.
        id: i64,
    },
    /// Mark an entry done: it leaves the workbin.
    Done {
        /// The entry's id.
        id: i64,
    },
    /// Save an email (a follow-up) to your workbin for later.
    Save {
        /// The follow-up's id.
        #[arg(long = "follow-up", value_name = "ID")]
        follow_up: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReviewCmd {
    /// Drafts waiting for review, oldest first.
    List,
    /// A draft in review, with its review record.
    Show {
        /// The draft's id.
        id: i64,
    },
    /// Approve a draft: it is sent. (Edit it first with `email draft edit`.)
    Approve {
        /// The draft's id.
        id: i64,
    },
    /// Send a draft back to its agent with remarks.
    Reject {
        /// The draft's id.
        id: i64,
        /// What to change (`-` reads stdin).
        #[arg(long)]
        remarks: String,
    },
}

/// Entry point of `dossier review`.
pub(crate) fn review(host: &Host, cmd: ReviewCmd, out: &Out) -> Result<()> {
    match cmd {
        ReviewCmd::List => {
            let queue = host.review_queue()?;
            out.table(
                &queue,
                &[
                    ("ID", &|d: &Draft| d.id.to_string()),
                    ("AGENT", &|d: &Draft| d.agent.clone()),
                    ("CASE", &|d: &Draft| d.case_number.to_string()),
                    ("TO", &|d: &Draft| {
                        d.to.iter().map(mailbox).collect::<Vec<_>>().join(", ")
                    }),
                    ("SUBJECT", &|d: &Draft| d.subject.clone()),
                ],
                "nothing waits for review",
            )
        }
        ReviewCmd::Show { id } => {
            let draft = host.draft(id)?;
            let steps = host.review_history(id)?;
            let both = serde_json::json!({ "draft": draft, "review": steps });
            out.one(&both, |_| {
                let mut s = describe_draft(&draft);
                for step in &steps {
                    s.push_str(&format!(
                        "  review: {} by {} at {}{}\n",
                        step.step,
                        step.by,
                        step.at.format("%Y-%m-%d %H:%M"),
                        step.remarks
                            .as_ref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    ));
                }
                s
            })
        }
        ReviewCmd::Approve { id } => {
            let draft = host.approve_draft(id)?;
            out.one(&draft, describe_draft)
        }
        ReviewCmd::Reject { id, remarks } => {
            let remarks = Input::default().text("--remarks", remarks)?;
            let draft = host.reject_draft(id, &remarks)?;
            out.one(&draft, describe_draft)
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum AttachmentCmd {
    /// Write an attachment's bytes to a file, or to stdout.
    Get {
        /// The attachment's id as `followup show` and `followup list` show
        /// it: a short prefix (at least 4 hex digits) that only one
        /// attachment's id starts with, or the whole id.
        id: String,
        /// The file to write [default: stdout].
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// The sysexits(3) code for a failed `email ingest`.
pub(crate) fn exit_code(error: &Error) -> u8 {
    match error {
        Error::BadEmail { .. } => 65,
        Error::InvalidInput { .. } => 64,
        _ => 75,
    }
}

/// What became of one message, for people.
pub(crate) fn describe(outcome: &Ingested) -> String {
    match outcome {
        Ingested::Stored {
            case_number,
            follow_up,
            new_case,
            threaded_by,
            workbin,
        } => {
            let case = if *new_case {
                format!("opened case {case_number}")
            } else {
                format!("joined case {case_number}")
            };
            let bin = workbin
                .as_ref()
                .map(|w| format!(", in {w}'s workbin"))
                .unwrap_or_default();
            format!("{case} as follow-up #{follow_up}{bin}: {threaded_by}")
        }
        Ingested::Duplicate { follow_up, dropped } => match (follow_up, dropped) {
            (Some(f), _) => format!("seen before: follow-up #{f}; nothing new written"),
            (None, Some(why)) => format!("seen before and dropped ({why}); nothing new written"),
            (None, None) => "seen before; nothing new written".to_owned(),
        },
        Ingested::Dropped { reason } => format!("dropped: {reason}"),
        Ingested::StoredUnseen => "stored on a case you may not see".to_owned(),
        Ingested::Held { id, reason } => format!(
            "held as #{id} (`dossier email held show {id}`): {}",
            output::printable(reason)
        ),
    }
}

fn describe_held(h: &HeldEmail) -> String {
    let mut s = format!(
        "held email #{} ({}) from {}\n  subject: {}\n  source: {}, {} bytes, held at {}\n  why: {}\n",
        h.id,
        h.state.as_str(),
        output::printable(&h.sender),
        output::printable(&h.subject),
        output::printable(&h.source),
        h.size,
        h.held_at.format("%Y-%m-%d %H:%M"),
        output::printable(&h.reason)
    );
    if let (Some(by), Some(at)) = (&h.closed_by, h.closed_at) {
        s.push_str(&format!(
            "  {} by {by} at {}\n",
            h.state.as_str(),
            at.format("%Y-%m-%d %H:%M")
        ));
    }
    s
}

fn held_cmd(host: &Host, cmd: HeldCmd, out: &Out) -> Result<()> {
    match cmd {
        HeldCmd::List { all } => {
            let held = host.held_emails(all)?;
            out.table(
                &held,
                &[
                    ("ID", &|h: &HeldEmail| format!("#{}", h.id)),
                    ("STATE", &|h: &HeldEmail| h.state.as_str().to_owned()),
                    ("FROM", &|h: &HeldEmail| output::printable(&h.sender)),
                    ("SUBJECT", &|h: &HeldEmail| output::printable(&h.subject)),
                    ("WHY", &|h: &HeldEmail| output::printable(&h.reason)),
                ],
                "no held mail",
            )
        }
        HeldCmd::Show { id, raw } => {
            let (held, bytes) = host.held_email(id)?;
            if raw {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                return stdout
                    .write_all(&bytes)
                    .and_then(|()| stdout.flush())
                    .map_err(|e| io_error("cannot write to", Path::new(output::STDOUT), e));
            }
            out.one(&held, |h| {
                let mut s = describe_held(h);
                s.push_str("  message:\n");
                for line in String::from_utf8_lossy(&bytes).lines() {
                    s.push_str(&format!("  | {}\n", output::printable(line)));
                }
                s
            })
        }
        HeldCmd::Release { id } => {
            let outcome = host.release_held_email(id)?;
            out.one(&outcome, |o| {
                format!("held email #{id} released: {}\n", describe(o))
            })
        }
        HeldCmd::Discard { id } => {
            let held = host.discard_held_email(id)?;
            out.one(&held, describe_held)
        }
    }
}

fn io_error(what: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Entry point of `dossier email`.
pub(crate) fn email(host: &Host, cmd: EmailCmd, out: &Out) -> Result<()> {
    match cmd {
        EmailCmd::Ingest(args) => match args.maildir {
            Some(dir) => maildir(host, &dir, out),
            None => files(host, &args.files, out),
        },
        EmailCmd::Draft(cmd) => draft_cmd(host, cmd, out),
        EmailCmd::Held(cmd) => held_cmd(host, cmd, out),
        EmailCmd::Send(args) => {
            let input = Input::default();
            let start = match (args.case, args.reply) {
                (_, Some(f)) => DraftStart::Reply(FollowUpId(f)),
                (Some(n), None) => DraftStart::Case(dossier_sdk::CaseNumber(n)),
                (None, None) => {
                    return Err(Error::input(
                        "--case",
                        "name a case or an email to reply to",
                    ));
                }
            };
            let draft = host.start_draft(start)?;
            apply(host, draft.id, args.content, &input)?;
            let sent = host.send_draft(draft.id)?;
            out.one(&sent, describe_draft)
        }
        EmailCmd::Transfer {
            email,
            to_agent,
            to_group,
            note,
        } => {
            let note = Input::default().text("--note", note)?;
            host.transfer_email(
                FollowUpId(email),
                to_agent.as_deref(),
                to_group.as_deref(),
                &note,
            )?;
            out.say(format!(
                "email #{email} transferred to {}",
                to_agent.unwrap_or_else(|| format!("group {}", to_group.unwrap_or_default()))
            ))
        }
        EmailCmd::Consult {
            email,
            colleague,
            question,
        } => {
            let question = Input::default().text("--question", question)?;
            let note = host.consult(FollowUpId(email), &colleague, &question)?;
            out.one(&note, |n| {
                format!(
                    "asked {colleague}; their answer will come back as a note on case {}\n",
                    n.case
                )
            })
        }
        EmailCmd::Offers => out.many(&host.email_offers()?, describe_offer, "no email offers"),
        EmailCmd::Accept { offer } => {
            let (offer, item) = host.accept_email(offer)?;
            out.one(
                &serde_json::json!({ "offer": offer, "workbin": item }),
                |_| {
                    format!(
                        "accepted: case {} is yours; workbin item {}\n",
                        offer.case_number, item.id
                    )
                },
            )
        }
        EmailCmd::Reject { offer } => {
            let routed = host.reject_email(offer)?;
            out.one(&routed, |r| {
                let mut s = format!("rejected offer {offer}; you are on break\n");
                for o in &r.offers {
                    s.push_str(&format!(
                        "offer {} offered to {}\n",
                        o.id,
                        o.agent.as_deref().unwrap_or("")
                    ));
                }
                s
            })
        }
        EmailCmd::Context { email } => {
            let f = host.follow_up(FollowUpId(email))?;
            let case = host.case(f.case)?;
            let customer = host.customer(case.customer)?;
            let context = serde_json::json!({
                "email": f.email,
                "case": { "number": case.number, "status": case.status, "custom": case.custom },
                "customer": { "account": customer.account, "name": customer.name, "custom": customer.custom },
            });
            let ids = if out.json() {
                output::ShortIds::new()
            } else {
                output::short_ids(host, [&f])?
            };
            out.one(&context, |_| {
                let zone = host.config().time.time_zone();
                format!(
                    "{}case {}: {}\n  fields: {}\ncustomer {} ({}):\n  fields: {}\n",
                    output::follow_up(&f, &zone, &ids),
                    case.number,
                    case.subject,
                    output::custom_inline(&case.custom),
                    customer.name,
                    customer.account,
                    output::custom_inline(&customer.custom)
                )
            })
        }
    }
}

/// What a run over several messages returns when some failed (each was
/// reported as it went): still a `BadEmail` when every failure was one, so
/// the exit code keeps its meaning.
fn summary(mut failures: Vec<Error>, total: usize, several: bool) -> Result<()> {
    if failures.is_empty() {
        return Ok(());
    }
    if !several {
        // One message: its own error is the command's (already unprinted).
        return Err(failures.swap_remove(0));
    }
    let first = &failures[0];
    let n = failures.len();
    if failures.iter().all(|e| matches!(e, Error::BadEmail { .. })) {
        Err(Error::BadEmail {
            source_name: format!("input ({n} of {total} messages)"),
            reason: "they are not emails; see the errors above".to_owned(),
        })
    } else {
        Err(Error::Refused(format!(
            "{n} of {total} messages were not ingested (first: {first})"
        )))
    }
}

/// One line per message: its name and what became of it. A failure is
/// printed here only when there are several messages (a single one's error
/// is the command's).
fn report(out: &Out, name: &str, result: &Result<Ingested>, several: bool) -> Result<()> {
    match result {
        Ok(outcome) => {
            if out.json() {
                output::emit(&format!(
                    "{}\n",
                    serde_json::json!({ "source": name, "result": outcome })
                ))
            } else {
                out.say(format!("{name}: {}", describe(outcome)))
            }
        }
        Err(e) => {
            if several {
                note!("error: {}", output::printable(&e.to_string()));
            }
            Ok(())
        }
    }
}

fn files(host: &Host, paths: &[PathBuf], out: &Out) -> Result<()> {
    let mut failures = Vec::new();
    for path in paths {
        let (name, bytes) = if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| io_error("cannot read", Path::new("stdin"), e))?;
            ("stdin".to_owned(), bytes)
        } else {
            let bytes = std::fs::read(path).map_err(|e| io_error("cannot read", path, e))?;
            (path.display().to_string(), bytes)
        };
        let result = host.ingest_email_from(&bytes, &name);
        report(out, &name, &result, paths.len() > 1)?;
        if let Err(e) = result {
            failures.push(e);
        }
    }
    summary(failures, paths.len(), paths.len() > 1)
}

/// How many messages of a maildir run became what.
#[derive(Default)]
struct Tally {
    new_cases: usize,
    joined: usize,
    seen_before: usize,
    dropped: usize,
    held: usize,
}

impl Tally {
    fn add(&mut self, outcome: &Ingested) {
        match outcome {
            Ingested::Stored { new_case: true, .. } => self.new_cases += 1,
            Ingested::Stored { .. } | Ingested::StoredUnseen => self.joined += 1,
            Ingested::Duplicate { .. } => self.seen_before += 1,
            Ingested::Dropped { .. } => self.dropped += 1,
            Ingested::Held { .. } => self.held += 1,
        }
    }

    /// `: 3 opened cases, 2 joined cases, ...`, naming only what happened.
    fn describe(&self) -> String {
        let parts: Vec<String> = [
            (self.new_cases, "opened a case"),
            (self.joined, "joined a case"),
            (self.seen_before, "seen before"),
            (self.dropped, "dropped"),
            (self.held, "held (`dossier email held list`)"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }
}

/// Ingests DIR/new in batches of `[email] maildir_batch`; a message moves
/// to DIR/cur only after the transaction holding it has committed, so a
/// crash leaves it in new/ (and ingesting it again finds it already
/// stored). A message that cannot be read stays in new/ and is reported.
fn maildir(host: &Host, dir: &Path, out: &Out) -> Result<()> {
    let new = dir.join("new");
    let cur = dir.join("cur");
    dossier_host::files::create_dir_all(&cur)?;
    let mut names: Vec<String> = std::fs::read_dir(&new)
        .map_err(|e| io_error("cannot list", &new, e))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    let batch = host.config().email.maildir_batch;
    let mut failures = Vec::new();
    let mut stored = 0usize;
    let mut tally = Tally::default();
    // A line per message would be thousands of lines: people get a bar
    // (on a terminal) and one summary line; JSON keeps a line per message.
    let bar = crate::progress::Bar::new();
    let total = names.len() as u64;
    for chunk in names.chunks(batch) {
        let mut messages = Vec::with_capacity(chunk.len());
        for name in chunk {
            let path = new.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => messages.push((name.as_str(), bytes)),
                // Taken by another ingest meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("cannot read", &path, e)),
            }
        }
        let refs: Vec<(&str, &[u8])> = messages.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let results = host.ingest_emails(&refs);
        for ((name, _), result) in messages.iter().zip(results) {
            if out.json() {
                report(out, name, &result, true)?;
            } else if let Err(e) = &result {
                bar.suspend(|| note!("error: {name}: {}", output::printable(&e.to_string())));
            }
            match result {
                Ok(outcome) => {
                    tally.add(&outcome);
                    stored += 1;
                    let flagged = if name.contains(":2,") {
                        (*name).to_owned()
                    } else {
                        format!("{name}:2,S")
                    };
                    let (from, to) = (new.join(name), cur.join(flagged));
                    match std::fs::rename(&from, &to) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io_error("cannot move", &from, e)),
                    }
                }
                Err(e) => failures.push(e),
            }
            bar.step("messages", (stored + failures.len()) as u64, total);
        }
    }
    bar.finish();
    out.say(format!(
        "{stored} message(s) ingested from {}{}{}",
        new.display(),
        tally.describe(),
        if failures.is_empty() {
            String::new()
        } else {
            format!(", {} left in new/ (see the errors above)", failures.len())
        }
    ))?;
    let total = stored + failures.len();
    summary(failures, total, true)
}

fn describe_item(item: &WorkbinItem) -> String {
    let whose = match (&item.agent, &item.group) {
        (Some(a), _) => a.clone(),
        (None, Some(g)) => format!("group {g}"),
        (None, None) => String::new(),
    };
    let mut s = format!(
        "workbin entry {} ({whose}): case {} — {}\n  {}\n",
        item.id, item.case_number, item.subject, item.reason
    );
    if let Some(from) = &item.from {
        s.push_str(&format!("  from: {}\n", mailbox(from)));
    }
    if let Some(f) = item.follow_up {
        s.push_str(&format!("  email: follow-up #{f}\n"));
    }
    if let (Some(at), Some(by)) = (item.done_at, &item.done_by) {
        s.push_str(&format!("  done by {by} at {at}\n"));
    }
    s
}

/// Entry point of `dossier workbin`.
pub(crate) fn workbin(host: &Host, cmd: WorkbinCmd, out: &Out) -> Result<()> {
    match cmd {
        WorkbinCmd::List { agent, all } => {
            let items = match agent {
                Some(a) if !all => host.workbin(&a)?,
                Some(a) => host.workbin(&a)?.into_iter().collect(),
                None => host.my_workbin(all)?,
            };
            out.table(
                &items,
                &[
                    ("ID", &|i: &WorkbinItem| i.id.to_string()),
                    ("CASE", &|i: &WorkbinItem| i.case_number.to_string()),
                    ("FROM", &|i: &WorkbinItem| {
                        i.from.as_ref().map(mailbox).unwrap_or_default()
                    }),
                    ("SUBJECT", &|i: &WorkbinItem| i.subject.clone()),
                    ("WHY", &|i: &WorkbinItem| i.reason.clone()),
                    ("DONE", &|i: &WorkbinItem| {
                        i.done_by.clone().unwrap_or_default()
                    }),
                ],
                "your workbin is empty",
            )
        }
        WorkbinCmd::Show { id } => {
            let item = host.workbin_entry(id)?;
            out.one(&item, describe_item)?;
            if let (Some(f), false) = (item.follow_up, out.json()) {
                let zone = host.config().time.time_zone();
                let f = host.follow_up(f)?;
                let ids = output::short_ids(host, [&f])?;
                output::show(&output::follow_up(&f, &zone, &ids))?;
            }
            Ok(())
        }
        WorkbinCmd::Done { id } => {
            let item = host.workbin_done(id)?;
            out.one(&item, |i| format!("workbin entry {} done\n", i.id))
        }
        WorkbinCmd::Save { follow_up } => {
            let item = host.save_to_workbin(FollowUpId(follow_up))?;
            out.one(&item, describe_item)
        }
    }
}

/// Entry point of `dossier attachment`.
pub(crate) fn attachment(host: &Host, cmd: AttachmentCmd, out: &Out) -> Result<()> {
    match cmd {
        AttachmentCmd::Get { id, output } => {
            let bytes = host.attachment(&id)?;
            match output {
                Some(path) => {
                    dossier_host::files::write(&path, &bytes)?;
                    out.say(format!(
                        "{} bytes written to {}",
                        bytes.len(),
                        path.display()
                    ))
                }
                None => {
                    use std::io::Write;
                    let mut stdout = std::io::stdout().lock();
                    stdout
                        .write_all(&bytes)
                        .and_then(|()| stdout.flush())
                        .map_err(|e| io_error("cannot write to", Path::new(output::STDOUT), e))
                }
            }
        }
    }
}

//! `dossier notify`: run a notification through the checks and the
//! `notification` hooks and show the result. With `[email.smtp]` the host
//! queues it in the outbox in the same transaction and, once that commits,
//! sends it over SMTP; the last line says how that went. Without it nothing
//! is sent.

use clap::Args;
use dossier_sdk::{Audience, CaseNumber, Cause, Mailbox, Notification};

use super::Out;
use dossier_host::Result;
use dossier_host::{Host, NotifyOutcome};

#[derive(Debug, Args)]
pub(crate) struct NotifyArgs {
    /// Sender address [default: [reminders] from].
    #[arg(long)]
    from: Option<String>,
    /// Recipient (repeatable).
    #[arg(long)]
    to: Vec<String>,
    /// Carbon-copy recipient (repeatable).
    #[arg(long)]
    cc: Vec<String>,
    /// Blind carbon-copy recipient (repeatable).
    #[arg(long)]
    bcc: Vec<String>,
    /// Subject line.
    #[arg(long)]
    subject: String,
    /// Plain-text body (`-` reads it from stdin).
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Read the body from this file (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    body_file: Option<std::path::PathBuf>,
    /// Signature.
    #[arg(long)]
    signature: Option<String>,
    /// The case it concerns.
    #[arg(long)]
    case: Option<i64>,
    /// Whom it is for.
    #[arg(long, default_value_t = Audience::Customer, value_parser = named(Audience::ALL, Audience::as_str))]
    audience: Audience,
    /// What caused it.
    #[arg(long, default_value_t = Cause::Manual, value_parser = named(Cause::ALL, Cause::as_str))]
    cause: Cause,
}

/// A parser accepting the `name`s of `values` (listed in `--help` and in
/// errors), so the option's choices come from the SDK's own list.
fn named<T>(
    values: &'static [T],
    name: fn(T) -> &'static str,
) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: Copy + Send + Sync + std::str::FromStr<Err = String> + 'static,
{
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(values.iter().map(|v| name(*v)))
        .try_map(|chosen| chosen.parse::<T>())
}

fn mailboxes(addresses: Vec<String>) -> Vec<Mailbox> {
    addresses
        .into_iter()
        .map(|address| Mailbox {
            name: None,
            address,
        })
        .collect()
}

/// Entry point of `dossier notify`.
pub(crate) fn run(host: &Host, args: NotifyArgs, out: &Out) -> Result<()> {
    let body = super::input::Input::default()
        .inline_or_file(("--body", args.body), ("--body-file", args.body_file))?
        .unwrap_or_default();
    let notification = Notification {
        case_number: args.case.map(CaseNumber),
        audience: args.audience,
        cause: args.cause,
        from: Mailbox {
            name: None,
            address: args
                .from
                .unwrap_or_else(|| host.config().reminders.from.clone()),
        },
        to: mailboxes(args.to),
        cc: mailboxes(args.cc),
        bcc: mailboxes(args.bcc),
        message_id: None,
        in_reply_to: None,
        references: Vec::new(),
        thread_token: None,
        attachments: Vec::new(),
        subject: args.subject,
        body,
        html: None,
        signature: args.signature,
        review: false,
    };
    let checked = host.notify(notification)?;
    let status = sending(host, &checked)?;
    out.one(&checked, |n| {
        let list = |m: &[Mailbox]| {
            m.iter()
                .map(|m| m.address.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut s = format!("from: {}\nto: {}\n", n.from.address, list(&n.to));
        if !n.cc.is_empty() {
            s.push_str(&format!("cc: {}\n", list(&n.cc)));
        }
        if !n.bcc.is_empty() {
            s.push_str(&format!("bcc: {}\n", list(&n.bcc)));
        }
        s.push_str(&format!("subject: {}\n\n{}\n", n.subject, n.body));
        if let Some(sig) = &n.signature {
            s.push_str(&format!("{sig}\n"));
        }
        s.push_str(&format!(
            "(checked and passed the notification hooks; {status})\n"
        ));
        s
    })?;
    Ok(())
}

/// What became of `n` after the hooks, as people read it: the CLI names
/// the commands that show and retry a queued delivery.
fn sending(host: &Host, n: &Notification) -> Result<String> {
    Ok(match host.notification_outcome(n)? {
        NotifyOutcome::Queued {
            message_id,
            delivery,
            error,
        } => format!(
            "queued as <{message_id}>, not sent yet: {}; the outbox tries again (`dossier outbox list`, `dossier outbox retry {delivery}`)",
            error.as_deref().unwrap_or("not tried yet")
        ),
        other => other.to_string(),
    })
}

//! `dossier pop`: the screen-pop an interaction would produce.

use std::fmt::Write as _;

use clap::Args;
use dossier_sdk::{CaseNumber, Channel, Direction, Interaction, PopTarget, ScreenPop};

use super::Out;
use dossier_host::Host;
use dossier_host::Result;

#[derive(Debug, Args)]
pub(crate) struct PopArgs {
    /// The customer's phone number: the caller's, or the dialled one with --outbound.
    #[arg(long)]
    phone: Option<String>,
    /// The customer's email address.
    #[arg(long)]
    email: Option<String>,
    /// A case number the customer gave.
    #[arg(long)]
    case: Option<i64>,
    /// An account number the customer gave.
    #[arg(long)]
    account: Option<String>,
    /// phone, chat or email [default: email when only --email is given, else phone].
    #[arg(long)]
    channel: Option<Channel>,
    /// The contact centre called the customer.
    #[arg(long)]
    outbound: bool,
    /// The queue the interaction arrived in.
    #[arg(long)]
    queue: Option<String>,
    /// The agent handling it.
    #[arg(long)]
    agent: Option<String>,
    /// The chat visitor's IP address.
    #[arg(long)]
    ip: Option<String>,
    /// Context data, KEY=VALUE (repeatable); customer field keys prefill the new-customer form.
    #[arg(long = "context", value_parser = key_value)]
    context: Vec<(String, String)>,
}

fn key_value(s: &str) -> std::result::Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

/// Entry point of `dossier pop`.
pub(crate) fn run(host: &Host, args: PopArgs, out: &Out) -> Result<()> {
    let channel = args.channel.unwrap_or(match (&args.email, &args.phone) {
        (Some(_), None) => Channel::Email,
        _ => Channel::Phone,
    });
    let direction = if args.outbound {
        Direction::Outbound
    } else {
        Direction::Inbound
    };
    let (caller, dialled) = match direction {
        Direction::Inbound => (args.phone, None),
        Direction::Outbound => (None, args.phone),
    };
    let interaction = Interaction {
        direction,
        caller,
        dialled,
        email: args.email,
        account: args.account,
        case_number: args.case.map(CaseNumber),
        ip: args.ip,
        queue: args.queue,
        agent: args.agent,
        context: args.context.into_iter().collect(),
        ..Interaction::new(channel)
    };
    let pop = host.screen_pop(interaction)?;
    let human = describe(host, &pop);
    out.one(&pop, |_| human)?;
    Ok(())
}

/// The pop for people: what to show, the open cases, why.
pub(crate) fn describe(host: &Host, pop: &ScreenPop) -> String {
    let name = |id| match host.customer(id) {
        Ok(c) => format!("#{} {} — {}", c.id, c.account, c.name),
        Err(_) => format!("#{id}"),
    };
    let mut s = match &pop.target {
        PopTarget::Case {
            case_number: case,
            customer,
        } => {
            let subject = host.case(*case).map(|c| c.subject).unwrap_or_default();
            format!(
                "pop case {case} {subject}\n  customer {}\n",
                name(*customer)
            )
        }
        PopTarget::Customer { customer } => format!("pop customer {}\n", name(*customer)),
        PopTarget::Candidates { customers } => {
            let mut s = format!("choose among {} customers\n", customers.len());
            for id in customers {
                let _ = writeln!(s, "  {}", name(*id));
            }
            s
        }
        PopTarget::NewCustomer { prefill } => {
            let mut s = "new customer form\n".to_owned();
            for (k, v) in prefill {
                let _ = writeln!(s, "  {k}: {v}");
            }
            s
        }
    };
    if !pop.open_cases.is_empty() {
        let cases: Vec<String> = pop.open_cases.iter().map(|c| c.to_string()).collect();
        let _ = writeln!(s, "  open cases: {}", cases.join(", "));
    }
    let _ = writeln!(s, "  why: {}", pop.reason);
    s
}

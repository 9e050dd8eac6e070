//! `dossier search`: full-text search over cases, follow-ups and customers.

use clap::Args;

use super::Out;
use dossier_host::Actor;
use dossier_host::Host;
use dossier_host::{Error, Result};
use dossier_host::{SearchFilter, SearchHit};

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// The words to look for; every one must appear.
    #[arg(required = true)]
    words: Vec<String>,
    /// Only cases in this status (and their follow-ups).
    #[arg(long)]
    status: Option<String>,
    /// Only this customer (account number), their cases and follow-ups.
    #[arg(long)]
    customer: Option<String>,
    /// Only cases you own (and their follow-ups).
    #[arg(long)]
    mine: bool,
    /// Only cases of this group (and their follow-ups).
    #[arg(long)]
    group: Option<String>,
    /// How many results at most.
    #[arg(long, default_value_t = 20)]
    limit: u32,
}

fn describe(hit: &SearchHit) -> String {
    let what = match (hit.kind.as_str(), hit.case_number) {
        ("case", Some(n)) => format!("case {n}"),
        ("follow_up", Some(n)) => format!("follow-up #{} on case {n}", hit.id),
        _ => format!("customer #{}", hit.id),
    };
    format!("{what}: {}\n", hit.snippet.replace('\n', " "))
}

/// Entry point of `dossier search`.
pub(crate) fn run(host: &Host, args: SearchArgs, out: &Out) -> Result<()> {
    let customer = match &args.customer {
        Some(account) => Some(host.customer_by_account(account)?.id),
        None => None,
    };
    let owner = if args.mine {
        match host.actor() {
            Actor::Agent(login) => Some(login.clone()),
            Actor::System => {
                return Err(Error::Refused(
                    "--mine needs an agent: pass --as LOGIN (this store has no agents yet)".into(),
                ));
            }
        }
    } else {
        None
    };
    let filter = SearchFilter {
        status: args.status,
        customer,
        owner,
        group: args.group,
    };
    let hits = host.search(&args.words.join(" "), &filter, args.limit)?;
    out.many(&hits, describe, "nothing found")
}

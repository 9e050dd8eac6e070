//! `dossier outbox list|retry`: what after-save deliveries are waiting,
//! failing or dead, and giving them another attempt.

use clap::Subcommand;

use super::Out;
use dossier_host::Host;
use dossier_host::Result;
use dossier_host::{DeliveryState, OutboxDelivery};

#[derive(Debug, Subcommand)]
pub(crate) enum OutboxCmd {
    /// Deliveries not yet made: pending, failed (with attempts and the last error) and dead.
    List,
    /// Make failed and dead deliveries due now and deliver them: all, or the one with ID.
    Retry {
        /// A delivery id from `dossier outbox list`.
        id: Option<i64>,
    },
}

/// Entry point of `dossier outbox`.
pub(crate) fn run(host: &Host, cmd: OutboxCmd, out: &Out) -> Result<()> {
    match cmd {
        OutboxCmd::List => {
            let deliveries = host.pending_outbox()?;
            let zone = host.config().time.time_zone();
            out.many(
                &deliveries,
                |d| describe(d, &zone),
                "the outbox is empty: every delivery was made",
            )?;
        }
        OutboxCmd::Retry { id } => {
            let revived = host.retry_outbox(id)?;
            let left = host.pending_outbox()?;
            let failing = left
                .iter()
                .filter(|d| d.state != DeliveryState::Pending)
                .count();
            let summary = serde_json::json!({ "retried": revived, "still_failing": failing });
            out.one(&summary, |_| {
                format!("retried {revived} deliveries; {failing} still failing or dead\n")
            })?;
        }
    }
    Ok(())
}

fn describe(d: &OutboxDelivery, zone: &jiff::tz::TimeZone) -> String {
    let state = match d.state {
        DeliveryState::Pending => "pending".to_owned(),
        DeliveryState::Failed => format!("failed {}×", d.attempts),
        DeliveryState::Dead => format!("dead after {} attempts", d.attempts),
        DeliveryState::Delivered => "delivered".to_owned(),
        DeliveryState::Sending if d.leased_until.is_some() => "sending now".to_owned(),
        DeliveryState::Sending => "interrupted while sending (may have gone out)".to_owned(),
    };
    let mut s = format!(
        "#{} {} of {} to {}: {state}\n",
        d.id, d.hook, d.record, d.handler
    );
    if let Some(next) = d
        .next_attempt_at
        .filter(|_| d.state == DeliveryState::Failed)
    {
        s.push_str(&format!(
            "    next attempt {}\n",
            dossier_host::time::show_seconds(next, zone)
        ));
    }
    if let Some(until) = d.leased_until {
        s.push_str(&format!(
            "    held by a process until {}\n",
            dossier_host::time::show_seconds(until, zone)
        ));
    }
    if d.possible_duplicates > 0 {
        s.push_str(&format!(
            "    {} attempt(s) after one interrupted while sending: may have been sent twice\n",
            d.possible_duplicates
        ));
    }
    if let Some(error) = &d.last_error {
        s.push_str(&format!("    last error: {error}\n"));
    }
    s.push_str(&format!(
        "    key {}, depth {}\n",
        d.idempotency_key, d.depth
    ));
    s
}

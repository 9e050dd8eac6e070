//! `dossier run` (the long-running loop that fires reminders as they come
//! due and delivers the outbox) and `dossier task reminders` (one pass).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use clap::Args;
use jiff::tz::TimeZone;

use super::Out;
use super::output::emit;
use super::records::parse_when;
use dossier_host::FiredReminder;
use dossier_host::Host;
use dossier_host::Tick;
use dossier_host::{Error, Result};

/// Never wait less than this between passes, so a reminder that another
/// process is claiming at the same moment cannot make the loop spin.
const MIN_WAIT: Duration = Duration::from_millis(200);

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Do one pass (fire due reminders, deliver the outbox) and exit.
    #[arg(long)]
    once: bool,
    /// Stop at this time: +30m, +1h30m, "tomorrow 18:00", "2030-01-02 18:00"
    /// (in the [time] zone) or RFC 3339.
    #[arg(long, conflicts_with = "once", allow_hyphen_values = true)]
    until: Option<String>,
    /// Look for work at least every this many seconds [default: [reminders] poll_seconds].
    #[arg(long)]
    poll: Option<u64>,
}

/// Entry point of `dossier run`.
pub(crate) fn run(host: &Host, args: RunArgs, out: &Out) -> Result<()> {
    let until = args
        .until
        .as_deref()
        .map(|u| parse_when(host, "--until", u))
        .transpose()?;
    let zone = host.config().time.time_zone();
    let poll = Duration::from_secs(
        args.poll
            .unwrap_or(host.config().reminders.poll_seconds)
            .max(1),
    );
    let (stop, stopped) = mpsc::channel();
    if !args.once {
        // Ctrl-C (SIGINT), and SIGTERM and SIGHUP as service managers send
        // them (ctrlc's `termination` feature). The handler only asks the
        // loop to stop; the loop finishes the pass it is in (each reminder
        // is its own transaction) and returns, so the process exits 0.
        ctrlc::set_handler(move || {
            let _ = stop.send(());
        })
        .map_err(|e| Error::Refused(format!("cannot watch for Ctrl-C and SIGTERM: {e}")))?;
        note!("dossier run: firing reminders and delivering the outbox; SIGTERM or Ctrl-C stops");
    }
    loop {
        let pass = || -> Result<Tick> {
            // Admins edit scripts while the loop runs: pick up changed
            // files; a script that no longer compiles keeps its previous
            // version running.
            let reload = host.reload_scripts_if_changed()?;
            for name in &reload.reloaded {
                note!("dossier run: reloaded {name}");
            }
            for name in &reload.removed {
                note!("dossier run: dropped {name} (its file is gone)");
            }
            for e in &reload.errors {
                note!("dossier run: kept the previous version: {e}");
            }
            // Each reminder is printed as soon as it is committed.
            let mut printing = Ok(());
            let tick = host.tick_reporting(u32::MAX, &mut |fired| {
                if printing.is_ok() {
                    printing = print_fired(fired, out, &zone);
                }
            })?;
            printing.map(|()| tick)
        };
        let tick = match pass() {
            Ok(tick) => tick,
            // A service keeps going: the store locked by another writer
            // for longer than `[store] busy_timeout_ms`, a database error,
            // a hook's failure are logged, and the next pass tries again.
            Err(e) if !args.once => {
                note!(
                    "dossier run: this pass failed ({}): {e}; trying again in {} s",
                    e.code(),
                    poll.as_secs()
                );
                match stopped.recv_timeout(poll) {
                    Err(RecvTimeoutError::Timeout) => continue,
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                        note!("dossier run: stopped");
                        return Ok(());
                    }
                }
            }
            Err(e) => return Err(e),
        };
        print_tick_rest(&tick, out)?;
        if args.once {
            return failed(&tick.fired);
        }
        let now = host.now();
        if until.is_some_and(|u| now >= u) {
            note!("dossier run: reached --until, stopped");
            return Ok(());
        }
        let until_next = |t: chrono::DateTime<chrono::Utc>| (t - now).to_std().unwrap_or_default();
        let wait = [tick.next_reminder, tick.chat.next_deadline, until]
            .into_iter()
            .flatten()
            .map(until_next)
            .fold(poll, Duration::min)
            .max(MIN_WAIT);
        match stopped.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                note!("dossier run: stopped");
                return Ok(());
            }
        }
    }
}

/// Entry point of `dossier task reminders`: fires what is due now, once.
pub(crate) fn reminders_once(host: &Host, out: &Out) -> Result<()> {
    let fired = host.due_reminders(host.now())?;
    let zone = host.config().time.time_zone();
    let reported: Vec<Reported<'_>> = fired.iter().map(Reported::from).collect();
    out.many(&reported, |r| describe(r.fired, &zone), "no reminders due")?;
    failed(&fired)
}

/// A fired reminder as printed in JSON: the reminder, plus whether its
/// hooks succeeded (`fired`) or failed and were undone (`failed`).
#[derive(serde::Serialize)]
struct Reported<'a> {
    outcome: &'static str,
    #[serde(flatten)]
    fired: &'a FiredReminder,
}

impl<'a> From<&'a FiredReminder> for Reported<'a> {
    fn from(fired: &'a FiredReminder) -> Self {
        Reported {
            outcome: if fired.problem.is_some() {
                "failed"
            } else {
                "fired"
            },
            fired,
        }
    }
}

/// The error of a one-pass command when some reminder's hooks failed, so
/// that a scheduler running it sees a non-zero exit.
fn failed(fired: &[FiredReminder]) -> Result<()> {
    let retried = fired.iter().filter(|f| f.retry.is_some()).count();
    match fired.iter().filter(|f| f.problem.is_some()).count() {
        0 => Ok(()),
        n => Err(Error::Refused(format!(
            "{n} reminder{} failed: {} hooks were undone, and {} counts as fired, so it will not fire again{}",
            if n == 1 { "" } else { "s" },
            if n == 1 { "its" } else { "their" },
            if n == 1 { "it" } else { "each" },
            match retried {
                0 => String::new(),
                r if r == n =>
                    "; the outbox runs the hooks and the notification again (`dossier outbox list`)"
                        .to_owned(),
                r => format!(
                    "; the outbox runs the hooks and the notification of {r} of them again (`dossier outbox list`)"
                ),
            }
        ))),
    }
}

/// One pass: each fired reminder (a JSON line each with `--json`) and the
/// outbox deliveries.
/// One fired reminder: a JSON line, or for people.
fn print_fired(fired: &FiredReminder, out: &Out, zone: &TimeZone) -> Result<()> {
    if out.json() {
        emit(&format!(
            "{}\n",
            serde_json::to_string(&Reported::from(fired)).unwrap_or_default()
        ))
    } else {
        super::output::show(&describe(fired, zone))
    }
}

/// What a pass did besides firing reminders.
fn print_tick_rest(tick: &Tick, out: &Out) -> Result<()> {
    if tick.delivered > 0 {
        out.say(format!("delivered {} outbox entries", tick.delivered))?;
    }
    super::chat::print_tick(&tick.chat, out)
}

/// A fired reminder, for people.
fn describe(fired: &FiredReminder, zone: &TimeZone) -> String {
    let task = &fired.reminder.task;
    let mut s = format!(
        "{}: task #{} {} {} — due {}",
        if fired.problem.is_some() {
            "reminder FAILED"
        } else {
            "reminder"
        },
        task.id,
        task.kind.as_str(),
        task.subject,
        dossier_host::time::show(task.due_at, zone)
    );
    if let Some(a) = &task.assignee {
        s.push_str(&format!(", for {a}"));
    }
    s.push('\n');
    if let Some(n) = &fired.reminder.notification {
        let to: Vec<&str> = n.to.iter().map(|m| m.address.as_str()).collect();
        s.push_str(&format!("  notify {}: {}\n", to.join(", "), n.subject));
    }
    if let Some(problem) = &fired.problem {
        s.push_str(&format!(
            "  hooks failed, their changes were undone: {problem}\n"
        ));
    }
    if let Some(entry) = fired.retry {
        s.push_str(&format!(
            "  the outbox runs the hooks and the notification again (outbox entry {entry})\n"
        ));
    }
    s
}

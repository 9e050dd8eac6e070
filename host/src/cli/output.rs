//! How commands print: for people, or as JSON.

use std::fmt::Write as _;
use std::path::PathBuf;

use dossier_sdk::{Case, Customer, FollowUp, Task};
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::error::{Error, Result};

/// Where and how a command prints its results.
pub(crate) struct Out {
    json: bool,
}

/// Where [`emit`] writes, as its errors name it.
pub(crate) const STDOUT: &str = "stdout";

/// Writes to stdout. A failed write ends the command with an error;
/// [`closed_pipe`] tells `run` which ones mean the reader went away
/// (`dossier ... | head`), so the program ends quietly, as other Unix tools do.
pub(crate) fn emit(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|source| Error::Io {
            what: "cannot write to",
            path: PathBuf::from(STDOUT),
            source,
        })
}

/// Whether `error` is [`emit`] finding stdout closed by its reader.
pub(crate) fn closed_pipe(error: &Error) -> bool {
    matches!(
        error,
        Error::Io { path, source, .. }
            if path.as_os_str() == STDOUT && source.kind() == std::io::ErrorKind::BrokenPipe
    )
}

impl Out {
    pub(crate) fn new(json: bool) -> Out {
        Out { json }
    }

    /// Whether `--json` was given.
    pub(crate) fn json(&self) -> bool {
        self.json
    }

    /// Prints one value: as pretty JSON, or with `human`.
    pub(crate) fn one<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce(&T) -> String,
    ) -> Result<()> {
        if self.json {
            emit(&format!("{}\n", to_json(value)))
        } else {
            emit(&human(value))
        }
    }

    /// Prints a list: a JSON array, or one `human` block per item.
    pub(crate) fn many<T: Serialize>(
        &self,
        values: &[T],
        human: impl Fn(&T) -> String,
        empty: &str,
    ) -> Result<()> {
        if self.json {
            emit(&format!("{}\n", to_json(&values)))
        } else if values.is_empty() {
            emit(&format!("{empty}\n"))
        } else {
            values.iter().try_for_each(|v| emit(&human(v)))
        }
    }

    /// Prints a line for people; nothing in JSON mode.
    pub(crate) fn say(&self, line: impl AsRef<str>) -> Result<()> {
        if self.json {
            Ok(())
        } else {
            emit(&format!("{}\n", line.as_ref()))
        }
    }
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn custom_lines(out: &mut String, custom: &dossier_sdk::CustomFields) {
    for (k, v) in custom {
        let _ = writeln!(out, "  {k}: {v}");
    }
}

/// A customer, for people.
pub(crate) fn customer(c: &Customer) -> String {
    let mut s = format!("customer #{} {} — {}\n", c.id, c.account, c.name);
    for p in &c.phones {
        let _ = writeln!(s, "  phone ({}): {}", p.label, p.number);
    }
    for e in &c.emails {
        let _ = writeln!(s, "  email ({}): {}", e.label, e.address);
    }
    if !c.address.is_empty() {
        let a = &c.address;
        let parts: Vec<&str> = [
            &a.line1,
            &a.line2,
            &a.postal_code,
            &a.city,
            &a.region,
            &a.country,
        ]
        .into_iter()
        .map(String::as_str)
        .filter(|p| !p.is_empty())
        .collect();
        let _ = writeln!(s, "  address: {}", parts.join(", "));
    }
    custom_lines(&mut s, &c.custom);
    s
}

/// A case, for people.
pub(crate) fn case(c: &Case) -> String {
    let mut s = format!(
        "case {} [{}] {} — customer #{}\n  severity {}, priority {}, {}",
        c.number,
        c.status,
        c.subject,
        c.customer,
        c.severity,
        c.priority,
        c.visibility.as_str()
    );
    if let Some(o) = &c.owner {
        let _ = write!(s, ", owner {o}");
    }
    if let Some(g) = &c.group {
        let _ = write!(s, ", group {g}");
    }
    s.push('\n');
    if !c.description.is_empty() {
        let _ = writeln!(s, "  {}", c.description);
    }
    if let Some(d) = &c.last_disposition {
        let _ = writeln!(s, "  last disposition: {d}");
    }
    if let Some(t) = &c.thread_token {
        let _ = writeln!(s, "  thread: {t}");
    }
    custom_lines(&mut s, &c.custom);
    s
}

/// A follow-up, for people.
pub(crate) fn follow_up(f: &FollowUp, zone: &TimeZone) -> String {
    let mut s = format!(
        "follow-up #{} on case {} — {} by {} at {}\n",
        f.id,
        f.case,
        f.kind.as_str(),
        f.author,
        crate::time::show_short(f.created_at, zone)
    );
    if let Some(e) = &f.email {
        let _ = writeln!(s, "  subject: {}", e.subject);
    }
    for line in f.body.lines() {
        let _ = writeln!(s, "  | {line}");
    }
    custom_lines(&mut s, &f.custom);
    s
}

/// A task, for people.
pub(crate) fn task(t: &Task, zone: &TimeZone) -> String {
    let mut s = format!(
        "task #{} [{}] {} {} — due {}",
        t.id,
        t.status.as_str(),
        t.kind.as_str(),
        t.subject,
        crate::time::show(t.due_at, zone)
    );
    if let Some(m) = t.reminder_minutes {
        let _ = write!(s, ", reminder {m} min before");
    }
    if let Some(a) = &t.assignee {
        let _ = write!(s, ", for {a}");
    }
    s.push('\n');
    custom_lines(&mut s, &t.custom);
    s
}

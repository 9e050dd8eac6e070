//! How commands print: for people, or as JSON.

use std::fmt::Write as _;

use dossier_sdk::{Case, Customer, FollowUp, Task};
use serde::Serialize;

/// Where and how a command prints its results.
pub(crate) struct Out {
    json: bool,
}

/// Writes to stdout. A closed pipe (`dossier ... | head`) ends the program
/// quietly instead of panicking, as other Unix tools do.
pub(crate) fn emit(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
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
    pub(crate) fn one<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        if self.json {
            emit(&format!("{}\n", to_json(value)));
        } else {
            emit(&human(value));
        }
    }

    /// Prints a list: a JSON array, or one `human` block per item.
    pub(crate) fn many<T: Serialize>(
        &self,
        values: &[T],
        human: impl Fn(&T) -> String,
        empty: &str,
    ) {
        if self.json {
            emit(&format!("{}\n", to_json(&values)));
        } else if values.is_empty() {
            emit(&format!("{empty}\n"));
        } else {
            for v in values {
                emit(&human(v));
            }
        }
    }

    /// Prints a line for people; nothing in JSON mode.
    pub(crate) fn say(&self, line: impl AsRef<str>) {
        if !self.json {
            emit(&format!("{}\n", line.as_ref()));
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
pub(crate) fn follow_up(f: &FollowUp) -> String {
    let mut s = format!(
        "follow-up #{} on case {} — {} by {} at {}\n",
        f.id,
        f.case,
        f.kind.as_str(),
        f.author,
        f.created_at.format("%Y-%m-%d %H:%M")
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
pub(crate) fn task(t: &Task) -> String {
    let mut s = format!(
        "task #{} [{}] {} {} — due {}",
        t.id,
        t.status.as_str(),
        t.kind.as_str(),
        t.subject,
        t.due_at.format("%Y-%m-%d %H:%M UTC")
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

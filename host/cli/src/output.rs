//! How commands print: for people, or as JSON.

use std::fmt::Write as _;
use std::path::PathBuf;

use dossier_sdk::{Case, Customer, FollowUp, Task};
use jiff::tz::TimeZone;
use serde::Serialize;

use dossier_host::{Error, Result};

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

/// Writes text for people to stdout: [`emit`] after [`printable`], so that
/// what customers and colleagues typed (a subject, a name, a chat message)
/// cannot drive the terminal. Every human form goes through here; JSON and
/// generated files (completions, the manual, script docs) use [`emit`].
pub(crate) fn show(text: &str) -> Result<()> {
    emit(&printable(text))
}

/// `text` safe for a terminal: every control character but the line break
/// and the tab (C0 such as ESC and CR, DEL, C1 such as CSI) and the
/// bidirectional overrides and isolates are shown escaped (`\u{1b}`), so an
/// escape sequence or a carriage return in a record prints as text instead
/// of moving the cursor, recolouring or rewriting the line. JSON keeps
/// the text as stored.
pub(crate) fn printable(text: &str) -> String {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
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
            show(&human(value))
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
            show(&format!("{empty}\n"))
        } else {
            values.iter().try_for_each(|v| show(&human(v)))
        }
    }

    /// Prints a line for people; nothing in JSON mode.
    pub(crate) fn say(&self, line: impl AsRef<str>) -> Result<()> {
        if self.json {
            Ok(())
        } else {
            show(&format!("{}\n", line.as_ref()))
        }
    }
}

/// One column of a table: its header and how a row shows in it.
pub(crate) type Column<'a, T> = (&'static str, &'a dyn Fn(&T) -> String);

impl Out {
    /// Prints a list: a JSON array (exactly as [`Out::many`]), or an aligned
    /// table with a header row, in colour on a terminal.
    pub(crate) fn table<T: Serialize>(
        &self,
        values: &[T],
        columns: &[Column<'_, T>],
        empty: &str,
    ) -> Result<()> {
        if self.json {
            emit(&format!("{}\n", to_json(&values)))
        } else if values.is_empty() {
            show(&format!("{empty}\n"))
        } else {
            emit(&table(values, columns, colour()))
        }
    }
}

/// Whether to colour what goes to stdout: never when `NO_COLOR` is set to
/// anything (no-color.org), always when `CLICOLOR_FORCE` is set to other
/// than `0`, otherwise when stdout is a terminal.
pub(crate) fn colour() -> bool {
    use std::io::IsTerminal as _;
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        false
    } else {
        set("CLICOLOR_FORCE") || std::io::stdout().is_terminal()
    }
}

/// `values` as an aligned table, one line per row (more when a cell holds
/// several lines), with trailing spaces trimmed. In colour, the header is
/// bold and the first column, the record's key, cyan.
fn table<T>(values: &[T], columns: &[Column<'_, T>], colour: bool) -> String {
    use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    if colour {
        table
            .enforce_styling()
            .set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        table.force_no_tty();
    }
    table.set_header(columns.iter().map(|(header, _)| {
        let cell = Cell::new(header);
        if colour {
            cell.add_attribute(Attribute::Bold)
        } else {
            cell
        }
    }));
    for value in values {
        table.add_row(columns.iter().enumerate().map(|(i, (_, show))| {
            // Each cell made printable here, before the table's own
            // colours are added around it.
            let cell = Cell::new(printable(&show(value)));
            if colour && i == 0 {
                cell.fg(Color::Cyan)
            } else {
                cell
            }
        }));
    }
    // No padding on the left, two spaces between columns.
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    let mut text = String::new();
    for line in table.lines() {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// A record's custom fields on one line: `tier=gold, loyalty_id=LC-1`.
pub(crate) fn custom_inline(custom: &dossier_sdk::CustomFields) -> String {
    custom
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
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
        dossier_host::time::show_short(f.created_at, zone)
    );
    if let Some(via) = &f.via {
        let _ = writeln!(s, "  written by the hook {via}");
    }
    if let Some(e) = &f.email {
        email_lines(&mut s, e, zone);
    }
    for line in f.shown_text().lines() {
        let _ = writeln!(s, "  | {line}");
    }
    for a in &f.attachments {
        let stored = match (&a.blob, &a.refused) {
            (_, Some(why)) => why.clone(),
            (Some(blob), None) => format!("`dossier attachment get {blob}`"),
            (None, None) => "not stored".to_owned(),
        };
        let _ = writeln!(
            s,
            "  attachment: {} ({}, {} bytes): {stored}",
            a.name, a.content_type, a.size
        );
    }
    custom_lines(&mut s, &f.custom);
    s
}

/// `Name <address>`, or the address alone.
pub(crate) fn mailbox(m: &dossier_sdk::Mailbox) -> String {
    match &m.name {
        Some(name) if !name.is_empty() => format!("{name} <{}>", m.address),
        _ => m.address.clone(),
    }
}

/// The headers the thread view shows.
fn email_lines(s: &mut String, e: &dossier_sdk::EmailHeaders, zone: &TimeZone) {
    let list = |l: &[dossier_sdk::Mailbox]| l.iter().map(mailbox).collect::<Vec<_>>().join(", ");
    let _ = writeln!(s, "  from: {}", mailbox(&e.from));
    if !e.to.is_empty() {
        let _ = writeln!(s, "  to: {}", list(&e.to));
    }
    if !e.cc.is_empty() {
        let _ = writeln!(s, "  cc: {}", list(&e.cc));
    }
    if let Some(date) = e.date {
        let _ = writeln!(s, "  date: {}", dossier_host::time::show_short(date, zone));
    }
    let _ = writeln!(s, "  subject: {}", e.subject);
    if let Some(how) = &e.threaded_by {
        let _ = writeln!(s, "  threaded by: {how}");
    }
    if let Some(why) = &e.automatic {
        let _ = writeln!(s, "  automatic: {why} (never answered automatically)");
    }
    for note in &e.notes {
        let _ = writeln!(s, "  read with care: {note}");
    }
}

/// A task, for people.
pub(crate) fn task(t: &Task, zone: &TimeZone) -> String {
    let mut s = format!(
        "task #{} [{}] {} {} — due {}",
        t.id,
        t.status.as_str(),
        t.kind.as_str(),
        t.subject,
        dossier_host::time::show(t.due_at, zone)
    );
    if let Some(m) = t.reminder_minutes {
        let _ = write!(s, ", reminder {m} min before");
    }
    if let Some(a) = &t.assignee {
        let _ = write!(s, ", for {a}");
    }
    if let Some(via) = &t.via {
        let _ = write!(s, ", planned by the hook {via}");
    }
    s.push('\n');
    custom_lines(&mut s, &t.custom);
    s
}

/// A list of customers: a table for people, a JSON array with `--json`.
pub(crate) fn customers(out: &Out, list: &[Customer], empty: &str) -> Result<()> {
    out.table(
        list,
        &[
            ("ID", &|c: &Customer| format!("#{}", c.id)),
            ("ACCOUNT", &|c: &Customer| c.account.clone()),
            ("NAME", &|c: &Customer| c.name.clone()),
            ("PHONE", &|c: &Customer| {
                c.phones
                    .first()
                    .map(|p| p.number.clone())
                    .unwrap_or_default()
            }),
            ("EMAIL", &|c: &Customer| {
                c.emails
                    .first()
                    .map(|e| e.address.clone())
                    .unwrap_or_default()
            }),
            ("FIELDS", &|c: &Customer| custom_inline(&c.custom)),
        ],
        empty,
    )
}

/// A list of cases.
pub(crate) fn cases(out: &Out, list: &[Case], empty: &str) -> Result<()> {
    out.table(
        list,
        &[
            ("CASE", &|c: &Case| c.number.to_string()),
            ("STATUS", &|c: &Case| c.status.clone()),
            ("SEVERITY", &|c: &Case| c.severity.clone()),
            ("PRIORITY", &|c: &Case| c.priority.clone()),
            ("CUSTOMER", &|c: &Case| format!("#{}", c.customer)),
            ("OWNER", &|c: &Case| c.owner.clone().unwrap_or_default()),
            ("SUBJECT", &|c: &Case| c.subject.clone()),
        ],
        empty,
    )
}

/// A list of follow-ups, with their whole text.
pub(crate) fn follow_ups(out: &Out, list: &[FollowUp], zone: &TimeZone, empty: &str) -> Result<()> {
    out.table(
        list,
        &[
            ("ID", &|f: &FollowUp| format!("#{}", f.id)),
            ("AT", &|f: &FollowUp| {
                dossier_host::time::show_short(f.created_at, zone)
            }),
            ("KIND", &|f: &FollowUp| f.kind.as_str().to_owned()),
            ("AUTHOR", &|f: &FollowUp| match &f.via {
                Some(via) => format!("{} via {via}", f.author),
                None => f.author.clone(),
            }),
            ("TEXT", &|f: &FollowUp| match &f.email {
                Some(e) => format!("subject: {}\n{}", e.subject, f.shown_text()),
                None => f.shown_text().to_owned(),
            }),
        ],
        empty,
    )
}

/// A list of tasks.
pub(crate) fn tasks(out: &Out, list: &[Task], zone: &TimeZone, empty: &str) -> Result<()> {
    out.table(
        list,
        &[
            ("ID", &|t: &Task| format!("#{}", t.id)),
            ("STATUS", &|t: &Task| t.status.as_str().to_owned()),
            ("KIND", &|t: &Task| t.kind.as_str().to_owned()),
            ("DUE", &|t: &Task| dossier_host::time::show(t.due_at, zone)),
            ("REMINDER", &|t: &Task| {
                t.reminder_minutes
                    .map(|m| format!("{m} min before"))
                    .unwrap_or_default()
            }),
            ("ASSIGNEE", &|t: &Task| {
                t.assignee.clone().unwrap_or_default()
            }),
            ("SUBJECT", &|t: &Task| t.subject.clone()),
        ],
        empty,
    )
}

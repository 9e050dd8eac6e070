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

/// The width tables fit in when stdout is a terminal that reports none
/// (some CI runners and editors' shells say 0 columns).
const FALLBACK_WIDTH: usize = 100;

/// The width tables are cut to: `$COLUMNS` when it holds a positive number
/// (as ls and git read it), else the terminal's on a terminal, or
/// [`FALLBACK_WIDTH`] when the terminal reports none; `None` (whole
/// lines) when stdout is not a terminal, so that a pipe or a file gets
/// every character.
fn table_width() -> Option<usize> {
    use std::io::IsTerminal as _;
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok());
    let terminal = std::io::stdout().is_terminal().then(|| {
        console::Term::stdout()
            .size_checked()
            .map(|(_, cols)| usize::from(cols))
    });
    fit_width(columns, terminal)
}

/// [`table_width`] from what it read: `$COLUMNS`, and, on a terminal, the
/// width it reports (`Some(None)` when it reports none).
fn fit_width(columns: Option<usize>, terminal: Option<Option<usize>>) -> Option<usize> {
    match (columns.filter(|&c| c > 0), terminal) {
        (Some(c), _) => Some(c),
        (None, Some(Some(w))) if w > 0 => Some(w),
        (None, Some(_)) => Some(FALLBACK_WIDTH),
        (None, None) => None,
    }
}

/// Two spaces between columns.
const GAP: usize = 2;

/// The narrowest a column is cut to (its first letters and `…`).
const MIN_COLUMN: usize = 4;

/// The column widths that fit `natural` (each column's widest line) in
/// `width`: when they do not all fit, the widest columns are cut to one
/// common limit, the largest that fits, no column below [`MIN_COLUMN`]
/// (or its natural width, when smaller). The first column, the record's
/// key, is never cut.
fn fit_columns(natural: &[usize], width: Option<usize>) -> Vec<usize> {
    let Some(width) = width else {
        return natural.to_vec();
    };
    let gaps = GAP * natural.len().saturating_sub(1);
    let total = |cap: usize| -> usize {
        natural
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                if i == 0 {
                    w
                } else {
                    w.min(cap.max(MIN_COLUMN))
                }
            })
            .sum::<usize>()
            + gaps
    };
    let widest = natural.iter().copied().max().unwrap_or(0);
    if total(widest) <= width {
        return natural.to_vec();
    }
    // The largest cap that fits (or the smallest there is).
    let (mut lo, mut hi) = (MIN_COLUMN, widest);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if total(mid) <= width {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    natural
        .iter()
        .enumerate()
        .map(|(i, &w)| if i == 0 { w } else { w.min(lo.max(MIN_COLUMN)) })
        .collect()
}

/// `values` as an aligned table, one line per row (more when a cell holds
/// several lines), two spaces between columns, trailing spaces trimmed.
/// Lines longer than their column are cut, ending in `…`, so that the
/// table fits [`table_width`]. In colour, the header is bold and the
/// first column, the record's key, cyan.
fn table<T>(values: &[T], columns: &[Column<'_, T>], colour: bool) -> String {
    render_table(values, columns, colour, table_width())
}

/// [`table`] fitted to `width` (whole lines when `None`).
fn render_table<T>(
    values: &[T],
    columns: &[Column<'_, T>],
    colour: bool,
    width: Option<usize>,
) -> String {
    // Each cell made printable here, before colours are added around it.
    let mut rows: Vec<Vec<Vec<String>>> = vec![
        columns
            .iter()
            .map(|(header, _)| vec![(*header).to_owned()])
            .collect(),
    ];
    for value in values {
        rows.push(
            columns
                .iter()
                .map(|(_, show)| {
                    let text = printable(&show(value)).replace('\t', " ");
                    text.lines().map(str::to_owned).collect()
                })
                .collect(),
        );
    }
    let natural: Vec<usize> = (0..columns.len())
        .map(|i| {
            rows.iter()
                .flat_map(|row| row[i].iter())
                .map(|line| console::measure_text_width(line))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let widths = fit_columns(&natural, width);
    let mut text = String::new();
    for (r, row) in rows.iter().enumerate() {
        let height = row.iter().map(Vec::len).max().unwrap_or(0).max(1);
        for l in 0..height {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let part = cell.get(l).map(String::as_str).unwrap_or("");
                let cut = console::truncate_str(part, widths[i], "…");
                let pad = widths[i].saturating_sub(console::measure_text_width(&cut));
                let styled = match (colour, r, i) {
                    (false, _, _) => cut.into_owned(),
                    (true, 0, _) => format!("\u{1b}[1m{cut}\u{1b}[0m"),
                    (true, _, 0) if !cut.is_empty() => format!("\u{1b}[36m{cut}\u{1b}[0m"),
                    (true, _, _) => cut.into_owned(),
                };
                line.push_str(&styled);
                if i + 1 < row.len() {
                    line.push_str(&" ".repeat(pad + GAP));
                }
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
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

/// Attachment ids and the short forms people are shown and type
/// (`Host::short_attachment_id`); an id missing here is shown whole.
pub(crate) type ShortIds = std::collections::BTreeMap<String, String>;

/// The short forms of the ids of the attachments `follow_ups` carry.
pub(crate) fn short_ids<'a>(
    host: &dossier_host::Host,
    follow_ups: impl IntoIterator<Item = &'a FollowUp>,
) -> Result<ShortIds> {
    let mut ids = ShortIds::new();
    for f in follow_ups {
        for blob in f.attachments.iter().filter_map(|a| a.blob.as_ref()) {
            if !ids.contains_key(blob) {
                ids.insert(blob.clone(), host.short_attachment_id(blob)?);
            }
        }
    }
    Ok(ids)
}

/// One attachment of `f` on one line: its name, type and size, and the
/// command that gets it (with its short id) or why it was not kept.
fn attachment_line(a: &dossier_sdk::Attachment, ids: &ShortIds) -> String {
    let stored = match (&a.blob, &a.refused) {
        (_, Some(why)) => why.clone(),
        (Some(blob), None) => format!("`dossier attachment get {}`", ids.get(blob).unwrap_or(blob)),
        (None, None) => "not stored".to_owned(),
    };
    format!(
        "attachment: {} ({}, {} bytes): {stored}",
        a.name, a.content_type, a.size
    )
}

/// A follow-up, for people.
pub(crate) fn follow_up(f: &FollowUp, zone: &TimeZone, ids: &ShortIds) -> String {
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
        let _ = writeln!(s, "  {}", attachment_line(a, ids));
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

/// A list of follow-ups, with their whole text and their attachments.
pub(crate) fn follow_ups(
    out: &Out,
    list: &[FollowUp],
    zone: &TimeZone,
    ids: &ShortIds,
    empty: &str,
) -> Result<()> {
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
            ("TEXT", &|f: &FollowUp| {
                let mut text = match &f.email {
                    Some(e) => format!("subject: {}\n{}", e.subject, f.shown_text()),
                    None => f.shown_text().to_owned(),
                };
                for a in &f.attachments {
                    text.push('\n');
                    text.push_str(&attachment_line(a, ids));
                }
                text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_reporting_no_width_gets_the_fallback_and_a_pipe_whole_lines() {
        assert_eq!(fit_width(None, Some(None)), Some(FALLBACK_WIDTH));
        assert_eq!(fit_width(None, Some(Some(0))), Some(FALLBACK_WIDTH));
        assert_eq!(fit_width(None, Some(Some(72))), Some(72));
        assert_eq!(fit_width(Some(0), Some(Some(72))), Some(72));
        assert_eq!(fit_width(Some(60), Some(Some(72))), Some(60));
        assert_eq!(fit_width(Some(60), None), Some(60));
        assert_eq!(fit_width(None, None), None);
    }

    #[test]
    fn long_cells_are_cut_with_an_ellipsis_never_below_a_few_letters() {
        let rows = ["a short one", "a much longer subject that cannot fit"];
        let columns: [Column<'_, &str>; 2] = [
            ("ID", &|s: &&str| s.len().to_string()),
            ("SUBJECT", &|s: &&str| (*s).to_owned()),
        ];
        assert_eq!(
            render_table(&rows, &columns, false, Some(20)),
            "ID  SUBJECT\n11  a short one\n37  a much longer s…\n"
        );
        // Far too narrow: each column keeps a few letters rather than one.
        assert_eq!(
            render_table(&rows, &columns, false, Some(3)),
            "ID  SUB…\n11  a s…\n37  a m…\n"
        );
        // Wide enough: nothing is cut; colour wraps the header and keys.
        assert_eq!(
            render_table(&rows[..1], &columns, true, Some(100)),
            "\u{1b}[1mID\u{1b}[0m  \u{1b}[1mSUBJECT\u{1b}[0m\n\u{1b}[36m11\u{1b}[0m  a short one\n"
        );
    }
}

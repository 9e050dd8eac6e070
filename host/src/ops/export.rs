//! `Host::export`: every customer, case or follow-up as CSV or JSON lines.
//!
//! The store is walked in keyset pages ([`Host::customers_after`] and the
//! like) and each page is written as it comes, so memory holds one page
//! whatever the store's size; only what the acting agent may see is
//! written. The CSV reads back in through [`Host::import_csv`]: contacts
//! as `label:value;label:value`, a case's customer by account number, the
//! columns the store sets (`id`, `created_at`, ...) skipped on the way in.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use dossier_sdk::{CaseNumber, CustomFields, CustomerId, FollowUpId, ObjectKind};

use super::import::CUSTOM_PREFIX;
use crate::host::Host;
use dossier_types::{Error, Result};

/// What [`Host::export`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportKind {
    /// Every customer.
    Customers,
    /// Every case the acting agent may see.
    Cases,
    /// Every follow-up on a case the acting agent may see.
    FollowUps,
}

/// How [`Host::export`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportFormat {
    /// A header row, then one row per record; custom fields are columns.
    /// Free-text cells (names, subjects, bodies, text custom fields) that a
    /// spreadsheet would read as a formula are guarded with a leading `'`
    /// (OWASP); [`Host::import_csv`] takes the guard off again.
    Csv,
    /// [`ExportFormat::Csv`] without the formula guard: every cell exactly
    /// as stored, for programs rather than spreadsheets.
    RawCsv,
    /// One JSON object per line, the record as `--json` prints it (the
    /// sdk type's serde form).
    Jsonl,
}

/// Whether a spreadsheet would read a cell as a formula (OWASP's list:
/// `=`, `+`, `-`, `@`, tab, carriage return), or the cell is a guard
/// quote in front of such a cell (so that a value really starting with
/// `'=` survives the round trip).
fn formula_like(cell: &str) -> bool {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => true,
        Some('\'') => formula_like(&cell[1..]),
        _ => false,
    }
}

/// A free-text cell as a CSV export writes it: with a `'` in front when a
/// spreadsheet would read it as a formula (`=HYPERLINK(...)` becomes
/// `'=HYPERLINK(...)`), as is otherwise. [`unguard`] undoes it exactly.
pub(crate) fn guard(cell: String) -> String {
    if formula_like(&cell) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// A cell as [`guard`] received it: the guard quote taken off when the
/// cell carries one, as is otherwise.
pub(crate) fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(rest) => rest,
        _ => cell,
    }
}

/// Records per page read from the store.
const EXPORT_PAGE: u32 = 500;

/// The writer an export goes to, with the name its errors carry.
struct Sink<'a> {
    out: &'a mut dyn Write,
    path: PathBuf,
}

impl Sink<'_> {
    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            what: "cannot write to",
            path: self.path.clone(),
            source,
        }
    }
}

/// The header names of `object`'s custom fields: their names, or
/// `custom.NAME` when a standard column has the same name.
fn custom_headers(host: &Host, object: ObjectKind, standard: &[&str]) -> Vec<(String, String)> {
    host.schema()
        .fields(object)
        .iter()
        .map(|f| {
            let header = if standard.contains(&f.name.as_str()) {
                format!("{CUSTOM_PREFIX}{}", f.name)
            } else {
                f.name.clone()
            };
            (f.name.clone(), header)
        })
        .collect()
}

/// The custom field cells, text fields through `text` (the guard or not).
fn custom_cells(
    custom: &CustomFields,
    fields: &[(String, String)],
    text: fn(String) -> String,
) -> Vec<String> {
    fields
        .iter()
        .map(|(name, _)| match custom.get(name) {
            Some(v @ dossier_sdk::FieldValue::Text(_)) => text(v.to_string()),
            Some(v) => v.to_string(),
            None => String::new(),
        })
        .collect()
}

/// `label:value;label:value`, as import reads it back.
fn joined<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    items
        .map(|(label, value)| format!("{label}:{value}"))
        .collect::<Vec<_>>()
        .join(";")
}

impl Host {
    /// Writes every record of kind `what` that the acting agent may see to
    /// `out`, in `format`, page by page as the store is read, and flushes
    /// it; returns how many records were written. `dest` names `out` in
    /// errors ([`Error::Io`](crate::Error::Io): a file's path, or `stdout`).
    ///
    /// Customers come by id, cases by number, follow-ups by id. The CSV has
    /// the standard columns, then one per custom field (`custom.NAME` when
    /// a standard column has the name), then the times; a case names its
    /// customer by account number, which survives a move to another store
    /// where ids do not.
    pub fn export(
        &self,
        what: ExportKind,
        format: ExportFormat,
        out: &mut dyn Write,
        dest: &Path,
    ) -> Result<u64> {
        let mut sink = Sink {
            out,
            path: dest.to_owned(),
        };
        let count = match format {
            ExportFormat::Csv => export_csv(self, what, &mut sink, guard)?,
            ExportFormat::RawCsv => export_csv(self, what, &mut sink, |cell| cell)?,
            ExportFormat::Jsonl => export_jsonl(self, what, &mut sink)?,
        };
        sink.out.flush().map_err(|e| sink.io(e))?;
        Ok(count)
    }
}

/// Walks every record of `what` the acting agent may see, page by page,
/// calling `each` on it; returns how many.
fn walk(
    host: &Host,
    what: ExportKind,
    each: &mut dyn FnMut(Record<'_>) -> Result<()>,
) -> Result<u64> {
    match what {
        ExportKind::Customers => paged(
            CustomerId(0),
            |after| host.customers_after(after, EXPORT_PAGE),
            |c| c.id,
            &mut |c| each(Record::Customer(c)),
        ),
        ExportKind::Cases => paged(
            CaseNumber(0),
            |after| host.cases_after(after, EXPORT_PAGE),
            |c| c.number,
            &mut |c| each(Record::Case(c)),
        ),
        ExportKind::FollowUps => paged(
            FollowUpId(0),
            |after| host.follow_ups_after(after, EXPORT_PAGE),
            |f| f.id,
            &mut |f| each(Record::FollowUp(f)),
        ),
    }
}

/// Calls `each` on every item of the keyset pages `page(after)` returns,
/// from `after = start`, then after the `key` of each page's last item,
/// until a page comes back empty; returns how many items there were.
fn paged<K, T>(
    start: K,
    page: impl Fn(K) -> Result<Vec<T>>,
    key: impl Fn(&T) -> K,
    each: &mut dyn FnMut(&T) -> Result<()>,
) -> Result<u64> {
    let mut count = 0u64;
    let mut after = start;
    loop {
        let items = page(after)?;
        let Some(last) = items.last() else { break };
        after = key(last);
        for item in &items {
            each(item)?;
            count += 1;
        }
    }
    Ok(count)
}

/// One record being exported.
enum Record<'a> {
    Customer(&'a dossier_sdk::Customer),
    Case(&'a dossier_sdk::Case),
    FollowUp(&'a dossier_sdk::FollowUp),
}

fn export_jsonl(host: &Host, what: ExportKind, sink: &mut Sink<'_>) -> Result<u64> {
    walk(host, what, &mut |record| {
        let line = match record {
            Record::Customer(c) => serde_json::to_string(c),
            Record::Case(c) => serde_json::to_string(c),
            Record::FollowUp(f) => serde_json::to_string(f),
        }
        .map_err(|e| Error::Refused(format!("internal error: a record as JSON: {e}")))?;
        sink.out
            .write_all(line.as_bytes())
            .and_then(|()| sink.out.write_all(b"\n"))
            .map_err(|e| sink.io(e))
    })
}

const CUSTOMER_EXPORT: &[&str] = &[
    "id",
    "account",
    "name",
    "phone",
    "email",
    "street",
    "line2",
    "postal_code",
    "city",
    "region",
    "country",
];
const CASE_EXPORT: &[&str] = &[
    "number",
    "customer",
    "subject",
    "description",
    "status",
    "severity",
    "priority",
    "visibility",
    "owner",
    "group",
    "last_disposition",
];
const FOLLOW_UP_EXPORT: &[&str] = &["id", "case", "kind", "author", "body"];
const TIMES: &[&str] = &["created_at", "updated_at"];

/// Writes the CSV; free-text cells go through `text` ([`guard`], or as is
/// for [`ExportFormat::RawCsv`]). Phones, emails, numbers, times, kinds and
/// logins never do.
fn export_csv(
    host: &Host,
    what: ExportKind,
    sink: &mut Sink<'_>,
    text: fn(String) -> String,
) -> Result<u64> {
    let (object, standard, times) = match what {
        ExportKind::Customers => (ObjectKind::Customer, CUSTOMER_EXPORT, TIMES),
        ExportKind::Cases => (ObjectKind::Case, CASE_EXPORT, TIMES),
        ExportKind::FollowUps => (ObjectKind::FollowUp, FOLLOW_UP_EXPORT, &TIMES[..1]),
    };
    let fields = custom_headers(host, object, standard);
    let path = sink.path.clone();
    let mut writer = csv::Writer::from_writer(&mut sink.out);
    let to_error = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::Io {
            what: "cannot write to",
            path: path.clone(),
            source,
        },
        other => Error::Io {
            what: "cannot write to",
            path: path.clone(),
            source: std::io::Error::other(format!("{other:?}")),
        },
    };
    let mut header: Vec<String> = standard.iter().map(|s| (*s).to_owned()).collect();
    header.extend(fields.iter().map(|(_, h)| h.clone()));
    header.extend(times.iter().map(|s| (*s).to_owned()));
    writer.write_record(&header).map_err(to_error)?;
    // Cases name their customer by account number, which survives a move
    // to another store where ids do not; a bounded cache saves the lookups.
    let mut accounts: HashMap<CustomerId, String> = HashMap::new();
    let count = walk(host, what, &mut |record| {
        let mut cells: Vec<String> = match record {
            Record::Customer(c) => vec![
                c.id.to_string(),
                text(c.account.clone()),
                text(c.name.clone()),
                joined(
                    c.phones
                        .iter()
                        .map(|p| (p.label.as_str(), p.number.as_str())),
                ),
                joined(
                    c.emails
                        .iter()
                        .map(|e| (e.label.as_str(), e.address.as_str())),
                ),
                text(c.address.line1.clone()),
                text(c.address.line2.clone()),
                text(c.address.postal_code.clone()),
                text(c.address.city.clone()),
                text(c.address.region.clone()),
                text(c.address.country.clone()),
            ],
            Record::Case(c) => {
                if accounts.len() > 10_000 {
                    accounts.clear();
                }
                let account = match accounts.get(&c.customer) {
                    Some(a) => a.clone(),
                    None => {
                        let a = host.customer(c.customer)?.account;
                        accounts.insert(c.customer, a.clone());
                        a
                    }
                };
                vec![
                    c.number.to_string(),
                    text(account),
                    text(c.subject.clone()),
                    text(c.description.clone()),
                    c.status.clone(),
                    c.severity.clone(),
                    c.priority.clone(),
                    c.visibility.as_str().to_owned(),
                    c.owner.clone().unwrap_or_default(),
                    c.group.clone().unwrap_or_default(),
                    c.last_disposition.clone().unwrap_or_default(),
                ]
            }
            Record::FollowUp(f) => vec![
                f.id.to_string(),
                f.case.to_string(),
                f.kind.as_str().to_owned(),
                text(f.author.clone()),
                text(f.body.clone()),
            ],
        };
        let (custom, created, updated) = match record {
            Record::Customer(c) => (&c.custom, c.created_at, Some(c.updated_at)),
            Record::Case(c) => (&c.custom, c.created_at, Some(c.updated_at)),
            Record::FollowUp(f) => (&f.custom, f.created_at, None),
        };
        cells.extend(custom_cells(custom, &fields, text));
        cells.push(crate::time::stored(created));
        cells.extend(updated.map(crate::time::stored));
        writer.write_record(&cells).map_err(to_error)
    })?;
    writer.flush().map_err(|e| Error::Io {
        what: "cannot write to",
        path: path.clone(),
        source: e,
    })?;
    Ok(count)
}

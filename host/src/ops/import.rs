//! `Host::import_csv`: customers or cases from CSV, as a stream.
//!
//! The header row is mapped to standard and custom fields before any row
//! is read (an unknown column is an error, with the nearest name
//! suggested), then rows are written in batches, one write transaction per
//! batch, through the host's normal create paths, so every row is
//! validated and its hooks run like any write (a host opened without
//! scripts and plugins runs none: `dossier import --no-hooks`). Each row
//! runs in a savepoint ([`Host::savepoint`]): a bad row is rolled back
//! alone and reported (row, field, reason), and the rest of its batch
//! commits. Memory holds one row and the first rejections, whatever the
//! input's size.

use std::io::Read;

use dossier_sdk::{
    Address, CustomFields, CustomerId, NewCase, NewCustomer, ObjectKind, Visibility,
};
use serde::Serialize;

use super::csv_scan as scan;
use crate::host::Host;
use crate::typed::{closest, emails_from, phones_from};
use dossier_types::{Error, Result};

/// Rows per write transaction unless the caller says otherwise
/// (`dossier import --batch`).
pub const DEFAULT_BATCH: u32 = 500;

/// How many rejected rows an import keeps in its report; all of them go to
/// `on_reject` (and from there to `--rejects`).
const KEPT_REJECTS: usize = 100;

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    /// The line of the file the row starts on (the header is line 1).
    pub row: u64,
    /// The field that is wrong, when one is (`phone`, `tier`); empty when
    /// the row as a whole was refused (a hook's veto).
    pub field: String,
    /// Why.
    pub reason: String,
    /// The row's cells as read (trimmed), in the file's column order, so
    /// that it can be written back, fixed and imported again; as many as
    /// the row had, which for a row refused for its number of cells is not
    /// the header's.
    #[serde(skip)]
    pub cells: Vec<String>,
}

/// The columns a rejects file adds after the imported file's own, which
/// an import reads and ignores: a rejects file, fixed, imports as it is.
pub const REJECT_COLUMNS: [&str; 3] = ["rejected.row", "rejected.field", "rejected.reason"];

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Rows written.
    pub imported: u64,
    /// Rows refused.
    pub rejected: u64,
    /// The first rejected rows, at most 100 (all of them go to
    /// `on_reject`, and from there to `--rejects`).
    pub rejects: Vec<Reject>,
    /// Columns that were read but not imported (set by the store: `id`,
    /// `created_at`, ...).
    pub ignored_columns: Vec<String>,
}

/// What one column of the file fills.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Account,
    Name,
    Phone,
    Email,
    Street,
    Line2,
    PostalCode,
    City,
    Region,
    Country,
    Customer,
    Subject,
    Description,
    Severity,
    Priority,
    Visibility,
    Owner,
    Group,
    Status,
    Custom(String),
    Ignored,
}

const CUSTOMER_COLUMNS: &[(&str, Column)] = &[
    ("account", Column::Account),
    ("name", Column::Name),
    ("phone", Column::Phone),
    ("email", Column::Email),
    ("street", Column::Street),
    ("line2", Column::Line2),
    ("postal_code", Column::PostalCode),
    ("city", Column::City),
    ("region", Column::Region),
    ("country", Column::Country),
];
const CUSTOMER_REQUIRED: &[&str] = &["account", "name"];
/// Columns an export writes that the store sets itself.
const CUSTOMER_IGNORED: &[&str] = &["id", "created_at", "updated_at"];

const CASE_COLUMNS: &[(&str, Column)] = &[
    ("customer", Column::Customer),
    ("subject", Column::Subject),
    ("description", Column::Description),
    ("severity", Column::Severity),
    ("priority", Column::Priority),
    ("visibility", Column::Visibility),
    ("owner", Column::Owner),
    ("group", Column::Group),
    ("status", Column::Status),
];
const CASE_REQUIRED: &[&str] = &["customer", "subject"];
const CASE_IGNORED: &[&str] = &["number", "last_disposition", "created_at", "updated_at"];

/// The prefix that names a custom field whose name is also a standard column.
pub(crate) const CUSTOM_PREFIX: &str = "custom.";

/// Maps the header row to columns, refusing unknown, repeated or missing
/// ones; `source` names the file in errors.
fn map_header(
    host: &Host,
    object: ObjectKind,
    header: &csv::StringRecord,
    source: &str,
) -> Result<(Vec<Column>, Vec<String>)> {
    let (standard, required, ignored) = match object {
        ObjectKind::Customer => (CUSTOMER_COLUMNS, CUSTOMER_REQUIRED, CUSTOMER_IGNORED),
        _ => (CASE_COLUMNS, CASE_REQUIRED, CASE_IGNORED),
    };
    let schema = host.schema();
    let what = format!("{source} header");
    let mut columns = Vec::new();
    let mut ignored_names = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for name in header {
        if REJECT_COLUMNS.contains(&name) {
            // What a rejects file adds: read and ignored (not reported).
            columns.push(Column::Ignored);
            continue;
        }
        if seen.contains(&name) {
            return Err(Error::input(
                &what,
                format!("column `{name}` appears twice"),
            ));
        }
        seen.push(name);
        let custom = name.strip_prefix(CUSTOM_PREFIX).unwrap_or(name);
        let column = if let Some((_, c)) = standard.iter().find(|(n, _)| *n == name) {
            c.clone()
        } else if schema.field(object, custom).is_some() {
            Column::Custom(custom.to_owned())
        } else if ignored.contains(&name) {
            ignored_names.push(name.to_owned());
            Column::Ignored
        } else {
            let mut known: Vec<&str> = standard.iter().map(|(n, _)| *n).collect();
            known.extend(schema.fields(object).iter().map(|f| f.name.as_str()));
            let hint = match closest(name, &known) {
                Some(near) => format!("; did you mean `{near}`?"),
                None => String::new(),
            };
            return Err(Error::input(
                &what,
                format!(
                    "column `{name}` is neither a standard {object} field nor a custom one{hint} \
                     (columns: {})",
                    known.join(", ")
                ),
            ));
        };
        columns.push(column);
    }
    for name in required {
        if !seen.contains(name) {
            return Err(Error::input(
                &what,
                format!("the required column `{name}` is missing"),
            ));
        }
    }
    Ok((columns, ignored_names))
}

/// Whether an error stops the import rather than rejecting one row: the
/// store or a file failed, so the next row would fail alike.
fn fatal(e: &Error) -> bool {
    matches!(
        e,
        Error::Db(_) | Error::Io { .. } | Error::Corrupt(_) | Error::SchemaTooNew { .. }
    )
}

/// Why the CSV reader could not read a row, in the words of the summary.
fn unreadable(e: csv::Error) -> String {
    format!("cannot be read as CSV: {:?}", e.into_kind())
}

/// A row's cells as text, each not UTF-8 shown with replacement characters.
fn lossy(row: &csv::ByteRecord) -> Vec<String> {
    row.iter()
        .map(|cell| String::from_utf8_lossy(cell).into_owned())
        .collect()
}

/// The reason a row read as `raw` (which the scan saw as `seen`) cannot be
/// imported whatever its values, if there is one; otherwise the row as text.
fn readable(
    raw: &csv::ByteRecord,
    seen: Option<scan::Record>,
    width: usize,
) -> std::result::Result<csv::StringRecord, String> {
    if seen.is_some_and(|s| s.unclosed) {
        return Err(
            "has a quoted cell that does not close (a `\"` opens it, and no `\"` \
                    ends it before the next cell): the lines after it were read into this row; \
                    close the quote, or double a quote meant as text (`\"\"`)"
                .to_owned(),
        );
    }
    if raw.len() != width {
        return Err(format!(
            "has {} cells where the header has {width}",
            raw.len()
        ));
    }
    csv::StringRecord::from_byte_record(raw.clone()).map_err(|e| {
        format!(
            "is not UTF-8 text (cell {}, byte {})",
            e.utf8_error().field() + 1,
            e.utf8_error().valid_up_to()
        )
    })
}

/// The field and reason a row's error is reported with.
fn rejection(row: u64, e: &Error, cells: &csv::StringRecord) -> Reject {
    let (field, reason) = match e {
        Error::Validation { field, rule, .. } => (field.clone(), rule.clone()),
        Error::Duplicate { .. } => ("account".to_owned(), e.to_string()),
        Error::NotFound {
            object: ObjectKind::Customer,
            ..
        } => ("customer".to_owned(), e.to_string()),
        _ => (String::new(), e.to_string()),
    };
    Reject {
        row,
        field,
        reason,
        cells: cells.iter().map(str::to_owned).collect(),
    }
}

/// Parses `text` as `object`'s custom field `name` into `custom`.
fn custom_value(
    host: &Host,
    object: ObjectKind,
    custom: &mut CustomFields,
    name: &str,
    text: &str,
) -> Result<()> {
    custom.insert(
        name.to_owned(),
        host.schema().parse_value(object, name, text)?,
    );
    Ok(())
}

/// A cell's value with an export's formula guard taken off
/// ([`super::export::unguard`]), so that export and import round-trip;
/// phones and emails are never guarded and are taken as they are.
fn unguarded(column: &Column, value: &str) -> String {
    match column {
        Column::Phone | Column::Email => value.to_owned(),
        _ => super::export::unguard(value).to_owned(),
    }
}

/// The customer a row describes.
fn customer_row(host: &Host, columns: &[Column], row: &csv::StringRecord) -> Result<NewCustomer> {
    let mut new = NewCustomer {
        account: String::new(),
        name: String::new(),
        address: Address::default(),
        phones: Vec::new(),
        emails: Vec::new(),
        custom: CustomFields::new(),
    };
    for (column, value) in columns.iter().zip(row) {
        if value.is_empty() {
            continue;
        }
        let value = unguarded(column, value);
        match column {
            Column::Account => new.account = value,
            Column::Name => new.name = value,
            Column::Phone => new.phones = phones_from(value.split(';').map(str::trim)),
            Column::Email => new.emails = emails_from(value.split(';').map(str::trim)),
            Column::Street => new.address.line1 = value,
            Column::Line2 => new.address.line2 = value,
            Column::PostalCode => new.address.postal_code = value,
            Column::City => new.address.city = value,
            Column::Region => new.address.region = value,
            Column::Country => new.address.country = value,
            Column::Custom(name) => {
                custom_value(host, ObjectKind::Customer, &mut new.custom, name, &value)?
            }
            _ => {}
        }
    }
    Ok(new)
}

/// Opens the case a row describes (and moves it to its `status`).
fn case_row(host: &Host, columns: &[Column], row: &csv::StringRecord) -> Result<()> {
    let mut customer = None;
    let mut status = None;
    let mut new = NewCase::new(CustomerId(0), "");
    for (column, value) in columns.iter().zip(row) {
        if value.is_empty() {
            continue;
        }
        let value = unguarded(column, value);
        match column {
            Column::Customer => customer = Some(host.customer_by_key(&value)?.id),
            Column::Subject => new.subject = value,
            Column::Description => new.description = value,
            Column::Severity => new.severity = Some(value),
            Column::Priority => new.priority = Some(value),
            Column::Visibility => {
                new.visibility = value.parse::<Visibility>().map_err(|_| {
                    Error::invalid(
                        ObjectKind::Case,
                        "visibility",
                        format!("must be public or private, not `{value}`"),
                    )
                })?
            }
            Column::Owner => new.owner = Some(value),
            Column::Group => new.group = Some(value),
            Column::Status => status = Some(value),
            Column::Custom(name) => {
                custom_value(host, ObjectKind::Case, &mut new.custom, name, &value)?
            }
            _ => {}
        }
    }
    new.customer =
        customer.ok_or_else(|| Error::invalid(ObjectKind::Case, "customer", "is required"))?;
    let case = host.open_case(new)?;
    if let Some(status) = status
        && status != case.status
    {
        host.modify_case(case.number, "import case status", |c| {
            c.status = status;
            Ok(())
        })?;
    }
    Ok(())
}

impl Host {
    /// Imports the CSV `input` (header row first) as records of `object`,
    /// customers or cases, `batch` rows per write transaction.
    ///
    /// Customers' columns are account, name, phone, email, street, line2,
    /// postal_code, city, region and country; cases' are customer (account
    /// or `#ID`), subject, description, severity, priority, visibility,
    /// owner, group and status. Both take their custom fields by name (or
    /// `custom.NAME` where a standard column has the name), and skip the
    /// columns an export writes that the store sets (`id`, `created_at`,
    /// ...). An unknown, repeated or missing required column refuses the
    /// whole input before any row, with
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) naming the
    /// nearest column.
    ///
    /// Each row is written through the normal create path, in its own
    /// savepoint, so its hooks run and a bad row rolls back alone. A row
    /// with a quoted cell that does not close (which would take the rows
    /// after it in), with another number of cells than the header, or not
    /// UTF-8, is rejected as it is. Each rejected row goes to `on_reject`,
    /// with the header row as read, as soon as its batch commits (an error
    /// from it ends the import); `on_progress` gets the bytes read and rows
    /// done after each batch. `source` names the input in errors. A store
    /// or I/O error ends the import; the batches committed before it stay.
    /// The [`REJECT_COLUMNS`] a rejects file adds are read and ignored.
    pub fn import_csv(
        &self,
        object: ObjectKind,
        input: impl Read,
        source: &str,
        batch: usize,
        on_reject: &mut dyn FnMut(&[String], &Reject) -> Result<()>,
        on_progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ImportReport> {
        if !matches!(object, ObjectKind::Customer | ObjectKind::Case) {
            return Err(Error::Refused(format!(
                "{object} records cannot be imported; import customers or cases"
            )));
        }
        // Flexible: a row with too many or too few cells is read (and
        // rejected with its cells) rather than only reported.
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(scan::Scan::new(input));
        let header = reader
            .headers()
            .map_err(|e| Error::input(format!("{source} header"), e.to_string()))?
            .clone();
        if reader.get_mut().next_record().is_some_and(|h| h.unclosed) {
            return Err(Error::input(
                format!("{source} header"),
                "a quoted column name does not close, so the rows were read into the header",
            ));
        }
        let (columns, ignored) = map_header(self, object, &header, source)?;
        let header_cells: Vec<String> = header.iter().map(str::to_owned).collect();
        let mut report = ImportReport {
            ignored_columns: ignored,
            ..Default::default()
        };
        let mut raw = csv::ByteRecord::new();
        let mut done = false;
        while !done {
            let mut imported = 0;
            let mut rejected = Vec::new();
            self.transaction("import", |host| {
                for _ in 0..batch.max(1) {
                    let read = reader.read_byte_record(&mut raw);
                    let seen = match read {
                        Ok(false) => {
                            done = true;
                            break;
                        }
                        _ => reader.get_mut().next_record(),
                    };
                    let at = seen.map_or(0, |s| s.line);
                    if let Err(e) = read {
                        rejected.push(Reject {
                            row: at,
                            field: String::new(),
                            reason: unreadable(e),
                            cells: Vec::new(),
                        });
                        continue;
                    }
                    let row = match readable(&raw, seen, header.len()) {
                        Ok(row) => row,
                        Err(reason) => {
                            rejected.push(Reject {
                                row: at,
                                field: String::new(),
                                reason,
                                cells: lossy(&raw),
                            });
                            continue;
                        }
                    };
                    let written = host.savepoint("import row", |host| match object {
                        ObjectKind::Customer => {
                            host.create_customer(customer_row(host, &columns, &row)?)?;
                            Ok(())
                        }
                        _ => case_row(host, &columns, &row),
                    });
                    match written {
                        Ok(()) => imported += 1,
                        Err(e) if fatal(&e) => return Err(e),
                        Err(e) => rejected.push(rejection(at, &e, &row)),
                    }
                }
                Ok(())
            })?;
            // Reported once the batch committed, so the report never counts a
            // row that a failed commit took back.
            report.imported += imported;
            for r in rejected {
                on_reject(&header_cells, &r)?;
                report.rejected += 1;
                if report.rejects.len() < KEPT_REJECTS {
                    report.rejects.push(r);
                }
            }
            on_progress(reader.position().byte(), report.imported + report.rejected);
        }
        Ok(report)
    }
}

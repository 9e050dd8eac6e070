//! `dossier import customers|cases FILE.csv` and `dossier export
//! customers|cases|follow-ups`.
//!
//! **Import** reads a CSV file (or stdin) as a stream: the header row is
//! mapped to standard and custom fields before any row is read (an unknown
//! column is an error, with the nearest name suggested), then rows are
//! written in batches, one write transaction per batch, through the host's
//! normal create paths, so every row is validated and its hooks run like
//! any write (unless `--no-hooks`). Each row runs in a savepoint
//! ([`Host::savepoint`]): a bad row is rolled back alone and reported (row,
//! field, reason), and the rest of its batch commits. Memory holds one row
//! and the first rejections, whatever the file's size.
//!
//! **Export** walks the store in keyset pages (`Host::customers_after` and
//! the like) and writes each page as it comes, CSV or JSON lines, showing
//! only what the acting agent may see.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use dossier_sdk::{
    Address, CaseNumber, CustomFields, CustomerId, FollowUpId, NewCase, NewCustomer, ObjectKind,
    Visibility,
};
use serde::Serialize;

use super::Out;
use super::progress::Bar;
use super::records::{closest, emails_from, find_customer, phones_from};
use dossier_host::Host;
use dossier_host::{Error, Result};

/// Rows per write transaction unless `--batch` says otherwise.
pub const DEFAULT_BATCH: u32 = 500;

/// How many rejected rows an import keeps to print; all of them go to the
/// `--rejects` file.
const KEPT_REJECTS: usize = 100;

/// How many rejected rows the summary for people lists.
const SHOWN_REJECTS: usize = 20;

#[derive(Debug, Subcommand)]
pub(crate) enum ImportCmd {
    /// Import customers: columns account, name, phone, email, street, line2, postal_code, city,
    /// region, country and custom fields.
    Customers(ImportArgs),
    /// Import cases: columns customer (account or #ID), subject, description, severity,
    /// priority, visibility, owner, group, status and custom fields.
    Cases(ImportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The CSV file, header row first (`-` reads stdin).
    #[arg(value_name = "FILE.csv")]
    file: PathBuf,
    /// Don't run the admin's scripts and plugins on these rows (admins only).
    #[arg(long)]
    no_hooks: bool,
    /// Also write every rejected row (row, field, reason) to this CSV file.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
    /// Rows per write transaction.
    #[arg(long, default_value_t = DEFAULT_BATCH, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch: u32,
}

impl ImportCmd {
    /// Whether `--no-hooks` was given (the host is then opened without
    /// scripts and plugins).
    pub(crate) fn no_hooks(&self) -> bool {
        match self {
            ImportCmd::Customers(a) | ImportCmd::Cases(a) => a.no_hooks,
        }
    }
}

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
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Rows written.
    pub imported: u64,
    /// Rows refused.
    pub rejected: u64,
    /// The first rejected rows (all of them go to `--rejects`).
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
const CUSTOM_PREFIX: &str = "custom.";

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
    match e.into_kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} cells where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "is not UTF-8 text (cell {}, byte {})",
            err.field() + 1,
            err.valid_up_to()
        ),
        other => format!("cannot be read as CSV: {other:?}"),
    }
}

/// The field and reason a row's error is reported with.
fn rejection(row: u64, e: &Error) -> Reject {
    let (field, reason) = match e {
        Error::Validation { field, rule, .. } => (field.clone(), rule.clone()),
        Error::Duplicate { .. } => ("account".to_owned(), e.to_string()),
        Error::NotFound {
            object: ObjectKind::Customer,
            ..
        } => ("customer".to_owned(), e.to_string()),
        _ => (String::new(), e.to_string()),
    };
    Reject { row, field, reason }
}

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
        let value = value.to_owned();
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
        let value = value.to_owned();
        match column {
            Column::Customer => customer = Some(find_customer(host, &value)?.id),
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

/// Imports the CSV `input` as records of `object` (customers or cases)
/// through `host`, `batch` rows per transaction. Each rejected row goes to
/// `on_reject` as it is found; `on_progress` gets the bytes read and rows
/// done after each batch. `source` names the input in errors.
///
/// The project's benchmark calls this directly (`test_support`).
pub fn import_csv(
    host: &Host,
    object: ObjectKind,
    input: impl Read,
    source: &str,
    batch: usize,
    on_reject: &mut dyn FnMut(&Reject) -> Result<()>,
    on_progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportReport> {
    if !matches!(object, ObjectKind::Customer | ObjectKind::Case) {
        return Err(Error::Refused(format!(
            "{object} records cannot be imported; import customers or cases"
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = reader
        .headers()
        .map_err(|e| Error::input(format!("{source} header"), e.to_string()))?
        .clone();
    let (columns, ignored) = map_header(host, object, &header, source)?;
    let mut report = ImportReport {
        ignored_columns: ignored,
        ..Default::default()
    };
    let mut row = csv::StringRecord::new();
    let mut done = false;
    while !done {
        let mut imported = 0;
        let mut rejected = Vec::new();
        host.transaction("import", |host| {
            for _ in 0..batch.max(1) {
                let line = reader.position().line() + 1;
                match reader.read_record(&mut row) {
                    Ok(false) => {
                        done = true;
                        break;
                    }
                    Ok(true) => {}
                    Err(e) => {
                        let at = e.position().map_or(line, |p| p.line());
                        rejected.push(Reject {
                            row: at,
                            field: String::new(),
                            reason: unreadable(e),
                        });
                        continue;
                    }
                }
                let at = row.position().map_or(line, |p| p.line());
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
                    Err(e) => rejected.push(rejection(at, &e)),
                }
            }
            Ok(())
        })?;
        // Reported once the batch committed, so the report never counts a
        // row that a failed commit took back.
        report.imported += imported;
        for r in rejected {
            on_reject(&r)?;
            report.rejected += 1;
            if report.rejects.len() < KEPT_REJECTS {
                report.rejects.push(r);
            }
        }
        on_progress(reader.position().byte(), report.imported + report.rejected);
    }
    Ok(report)
}

/// Entry point of `dossier import`; `host` was opened without scripts and
/// plugins when `--no-hooks` was given.
pub(crate) fn import(host: &Host, cmd: ImportCmd, out: &Out) -> Result<()> {
    let (object, args) = match cmd {
        ImportCmd::Customers(a) => (ObjectKind::Customer, a),
        ImportCmd::Cases(a) => (ObjectKind::Case, a),
    };
    if args.no_hooks {
        host.require_admin("import without hooks")?;
    }
    let mut rejects = match &args.rejects {
        Some(path) => Some(csv::Writer::from_writer(create_private(path)?)),
        None => None,
    };
    let rejects_path = args.rejects.clone().unwrap_or_default();
    let write_error = |e: csv::Error| Error::Io {
        what: "cannot write",
        path: rejects_path.clone(),
        source: std::io::Error::other(e),
    };
    if let Some(w) = &mut rejects {
        w.write_record(["row", "field", "reason"])
            .map_err(write_error)?;
    }
    let mut on_reject = |r: &Reject| -> Result<()> {
        if let Some(w) = &mut rejects {
            w.write_record([r.row.to_string().as_str(), &r.field, &r.reason])
                .map_err(write_error)?;
        }
        Ok(())
    };
    let bar = Bar::new();
    let stdin = args.file.as_os_str() == super::input::STDIN;
    let (input, source, size): (Box<dyn Read>, String, u64) = if stdin {
        (Box::new(std::io::stdin().lock()), "stdin".to_owned(), 0)
    } else {
        let file = std::fs::File::open(&args.file).map_err(|source| Error::Io {
            what: "cannot read",
            path: args.file.clone(),
            source,
        })?;
        let size = file.metadata().map_or(0, |m| m.len());
        (Box::new(file), args.file.display().to_string(), size)
    };
    let mut on_progress = |bytes: u64, _rows: u64| {
        if size > 0 {
            bar.step("importing", bytes, size);
        }
    };
    let report = import_csv(
        host,
        object,
        std::io::BufReader::with_capacity(64 * 1024, input),
        &source,
        args.batch as usize,
        &mut on_reject,
        &mut on_progress,
    )?;
    if let Some(mut w) = rejects {
        w.flush().map_err(|source| Error::Io {
            what: "cannot write",
            path: rejects_path.clone(),
            source,
        })?;
    }
    bar.finish();
    if out.json() {
        return out.one(&report, |_| String::new());
    }
    let plural = match object {
        ObjectKind::Customer => "customers",
        _ => "cases",
    };
    out.say(format!(
        "imported {} {plural} from {source}; {} row(s) rejected",
        report.imported, report.rejected
    ))?;
    if !report.ignored_columns.is_empty() {
        out.say(format!(
            "ignored columns (the store sets them): {}",
            report.ignored_columns.join(", ")
        ))?;
    }
    if report.rejected > 0 {
        let shown = &report.rejects[..report.rejects.len().min(SHOWN_REJECTS)];
        out.table(
            shown,
            &[
                ("ROW", &|r: &Reject| r.row.to_string()),
                ("FIELD", &|r: &Reject| r.field.clone()),
                ("REASON", &|r: &Reject| r.reason.clone()),
            ],
            "",
        )?;
        let more = report.rejected - shown.len() as u64;
        match (&args.rejects, more) {
            (Some(path), _) => out.say(format!("every rejected row is in {}", path.display()))?,
            (None, 0) => {}
            (None, more) => {
                out.say(format!("… and {more} more; --rejects FILE writes them all"))?
            }
        }
    }
    Ok(())
}

/// Creates (or truncates) `path`, readable by its owner only: imports and
/// exports hold customers' details.
fn create_private(path: &Path) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|source| Error::Io {
        what: "cannot create",
        path: path.to_owned(),
        source,
    })
}

// ----- export --------------------------------------------------------------

/// What `dossier export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportWhat {
    /// Every customer.
    Customers,
    /// Every case the acting agent may see.
    Cases,
    /// Every follow-up on a case the acting agent may see.
    FollowUps,
}

/// How `dossier export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// A header row, then one row per record; custom fields are columns.
    Csv,
    /// One JSON object per line, the record as `--json` prints it.
    Jsonl,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// customers, cases or follow-ups.
    what: ExportWhat,
    /// csv or jsonl.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// Write to this file instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Records per page read from the store.
const EXPORT_PAGE: u32 = 500;

/// The writer an export goes to, with the name its errors carry.
struct Sink {
    out: Box<dyn Write>,
    path: PathBuf,
}

impl Sink {
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

fn custom_cells(custom: &CustomFields, fields: &[(String, String)]) -> Vec<String> {
    fields
        .iter()
        .map(|(name, _)| custom.get(name).map(|v| v.to_string()).unwrap_or_default())
        .collect()
}

/// `label:value;label:value`, as import reads it back.
fn joined<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    items
        .map(|(label, value)| format!("{label}:{value}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// Entry point of `dossier export`.
pub(crate) fn export(host: &Host, args: ExportArgs) -> Result<()> {
    let sink = match &args.output {
        Some(path) => Sink {
            out: Box::new(std::io::BufWriter::new(create_private(path)?)),
            path: path.clone(),
        },
        None => Sink {
            out: Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            path: PathBuf::from(super::output::STDOUT),
        },
    };
    let mut sink = sink;
    let count = match args.format {
        Format::Csv => export_csv(host, args.what, &mut sink)?,
        Format::Jsonl => export_jsonl(host, args.what, &mut sink)?,
    };
    sink.out.flush().map_err(|e| sink.io(e))?;
    if let Some(path) = &args.output {
        let what = match args.what {
            ExportWhat::Customers => "customers",
            ExportWhat::Cases => "cases",
            ExportWhat::FollowUps => "follow-ups",
        };
        eprintln!("exported {count} {what} to {}", path.display());
    }
    Ok(())
}

/// Walks every record of `what` the acting agent may see, page by page,
/// calling `each` on it; returns how many.
fn walk(
    host: &Host,
    what: ExportWhat,
    each: &mut dyn FnMut(Record<'_>) -> Result<()>,
) -> Result<u64> {
    let mut count = 0u64;
    match what {
        ExportWhat::Customers => {
            let mut after = CustomerId(0);
            loop {
                let page = host.customers_after(after, EXPORT_PAGE)?;
                let Some(last) = page.last() else { break };
                after = last.id;
                for c in &page {
                    each(Record::Customer(c))?;
                    count += 1;
                }
            }
        }
        ExportWhat::Cases => {
            let mut after = CaseNumber(0);
            loop {
                let page = host.cases_after(after, EXPORT_PAGE)?;
                let Some(last) = page.last() else { break };
                after = last.number;
                for c in &page {
                    each(Record::Case(c))?;
                    count += 1;
                }
            }
        }
        ExportWhat::FollowUps => {
            let mut after = FollowUpId(0);
            loop {
                let page = host.follow_ups_after(after, EXPORT_PAGE)?;
                let Some(last) = page.last() else { break };
                after = last.id;
                for f in &page {
                    each(Record::FollowUp(f))?;
                    count += 1;
                }
            }
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

fn export_jsonl(host: &Host, what: ExportWhat, sink: &mut Sink) -> Result<u64> {
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

fn export_csv(host: &Host, what: ExportWhat, sink: &mut Sink) -> Result<u64> {
    let (object, standard, times) = match what {
        ExportWhat::Customers => (ObjectKind::Customer, CUSTOMER_EXPORT, TIMES),
        ExportWhat::Cases => (ObjectKind::Case, CASE_EXPORT, TIMES),
        ExportWhat::FollowUps => (ObjectKind::FollowUp, FOLLOW_UP_EXPORT, &TIMES[..1]),
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
                c.account.clone(),
                c.name.clone(),
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
                c.address.line1.clone(),
                c.address.line2.clone(),
                c.address.postal_code.clone(),
                c.address.city.clone(),
                c.address.region.clone(),
                c.address.country.clone(),
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
                    account,
                    c.subject.clone(),
                    c.description.clone(),
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
                f.author.clone(),
                f.body.clone(),
            ],
        };
        let (custom, created, updated) = match record {
            Record::Customer(c) => (&c.custom, c.created_at, Some(c.updated_at)),
            Record::Case(c) => (&c.custom, c.created_at, Some(c.updated_at)),
            Record::FollowUp(f) => (&f.custom, f.created_at, None),
        };
        cells.extend(custom_cells(custom, &fields));
        cells.push(dossier_host::time::stored(created));
        cells.extend(updated.map(dossier_host::time::stored));
        writer.write_record(&cells).map_err(to_error)
    })?;
    writer.flush().map_err(|e| Error::Io {
        what: "cannot write to",
        path: path.clone(),
        source: e,
    })?;
    Ok(count)
}

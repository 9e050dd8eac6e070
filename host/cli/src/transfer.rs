//! `dossier import customers|cases FILE.csv` and `dossier export
//! customers|cases|follow-ups`: their arguments, the files they read and
//! write, the progress bar and the summary. The engine is the facade's:
//! [`Host::import_csv`] reads the CSV as a stream (the header mapped before
//! any row, each row in a savepoint, so a bad row is rolled back alone and
//! reported while the rest commit; `--no-hooks` opens the host without
//! scripts and plugins) and [`Host::export`] walks the store in keyset
//! pages, writing only what the acting agent may see.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use dossier_host::{DEFAULT_BATCH, ExportFormat, ExportKind, Host, REJECT_COLUMNS, Reject};
use dossier_host::{Error, Result};
use dossier_sdk::ObjectKind;

use super::Out;
use super::progress::Bar;

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
    /// Also write every rejected row to this CSV file, as read, with why (rejected.row,
    /// rejected.field, rejected.reason): fixed, it imports as it is.
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
    if let Some(path) = &args.rejects {
        host.refuse_store_file(path, "--rejects")?;
        if args.file != Path::new("-") && same_file(path, &args.file) {
            return Err(Error::Refused(format!(
                "--rejects {} is the file being imported: writing it would wipe the input; \
                 choose another file",
                path.display()
            )));
        }
    }
    // Flexible: a row rejected for its number of cells is written with
    // the cells it had.
    let mut rejects = match &args.rejects {
        Some(path) => Some(
            csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(create_private(path)?),
        ),
        None => None,
    };
    let rejects_path = args.rejects.clone().unwrap_or_default();
    let write_error = |e: csv::Error| Error::Io {
        what: "cannot write",
        path: rejects_path.clone(),
        source: std::io::Error::other(e),
    };
    // Each rejected row as it was read, then why: fixed, the file imports
    // as it is (the import ignores the REJECT_COLUMNS). The header goes
    // before the first row.
    let mut headed = false;
    let mut on_reject = |header: &[String], r: &Reject| -> Result<()> {
        if let Some(w) = &mut rejects {
            if !headed {
                let columns = header.iter().map(String::as_str).chain(REJECT_COLUMNS);
                w.write_record(columns).map_err(write_error)?;
                headed = true;
            }
            let row = r.row.to_string();
            let reason = [row.as_str(), &r.field, &r.reason];
            let cells = r.cells.iter().map(String::as_str).chain(reason);
            w.write_record(cells).map_err(write_error)?;
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
    let report = host.import_csv(
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

/// Whether `a` and `b` name the same existing file (links and `..`
/// resolved).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Creates (or truncates) `path`, readable by its owner only: imports and
/// exports hold customers' details.
fn create_private(path: &Path) -> Result<std::fs::File> {
    dossier_host::files::create(path, dossier_host::files::Existing::Replace)
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
    /// CSV cells exactly as stored, for programs: no `'` guarding a
    /// free-text cell a spreadsheet would read as a formula (`=`, `+`, `-`,
    /// `@`, tab, CR first).
    #[arg(long)]
    raw_csv: bool,
}

impl From<ExportWhat> for ExportKind {
    fn from(what: ExportWhat) -> ExportKind {
        match what {
            ExportWhat::Customers => ExportKind::Customers,
            ExportWhat::Cases => ExportKind::Cases,
            ExportWhat::FollowUps => ExportKind::FollowUps,
        }
    }
}

impl From<Format> for ExportFormat {
    fn from(format: Format) -> ExportFormat {
        match format {
            Format::Csv => ExportFormat::Csv,
            Format::Jsonl => ExportFormat::Jsonl,
        }
    }
}

/// Entry point of `dossier export`.
pub(crate) fn export(host: &Host, args: ExportArgs) -> Result<()> {
    if let Some(path) = &args.output {
        host.refuse_store_file(path, "export -o")?;
    }
    let (mut out, dest): (Box<dyn Write>, PathBuf) = match &args.output {
        Some(path) => (
            Box::new(std::io::BufWriter::new(create_private(path)?)),
            path.clone(),
        ),
        None => (
            Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            PathBuf::from(super::output::STDOUT),
        ),
    };
    let format = match args.format {
        Format::Csv if args.raw_csv => ExportFormat::RawCsv,
        format => format.into(),
    };
    let count = host.export(args.what.into(), format, &mut out, &dest)?;
    if let Some(path) = &args.output {
        let what = match args.what {
            ExportWhat::Customers => "customers",
            ExportWhat::Cases => "cases",
            ExportWhat::FollowUps => "follow-ups",
        };
        note!("exported {count} {what} to {}", path.display());
    }
    Ok(())
}

//! Import and export through the facade, on a real store file: a bad row
//! is reported (row, field, reason) while the others commit; an unknown
//! column is refused before any row, naming the nearest one; an export
//! reads back in as it was, and writes only what the acting agent may see.
//! (The command line's tests cover the same through the binary: files,
//! `--rejects`, the summary.)

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use dossier_sdk::{CaseNumber, Customer, CustomerId, NewAgent, NewFollowUp, ObjectKind, Role};
use tempfile::TempDir;

use crate::{Config, Error, ExportFormat, ExportKind, Host, ImportReport, ManualClock, Reject};

const FIELDS: &str = r#"
[scripts]
enabled = false

[fields.customer.tier]
type = "choice"
choices = [{ key = "gold" }, { key = "silver" }, { key = "bronze" }]
default = "bronze"

[fields.case.product]
type = "text"
"#;

/// Customers with one bad row (a phone that is no phone) between good ones.
const CUSTOMERS: &str = "\
account,name,phone,email,tier,city
AC-1,\"Lovelace, Ada\",+33123456789,Ada@Example.com,gold,Paris
AC-2,Bad Phone,not a phone,bob@example.com,silver,
AC-3,Cy,mobile:+33612345678;work:01 23 45 67 80,,,Lyon
";

/// A host on a fresh store file in a temp dir, its clock stopped, so two
/// stores given the same rows hold the same records, times included.
fn open() -> (TempDir, Host) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::parse(FIELDS, &dir.path().join("dossier.toml")).expect("config");
    let start = DateTime::parse_from_rfc3339("2026-11-23T09:00:00.123456Z")
        .expect("a time")
        .with_timezone(&Utc);
    let host = Host::builder(config)
        .clock(Arc::new(ManualClock::new(start)))
        .create_if_missing()
        .open()
        .expect("host opens");
    (dir, host)
}

/// Imports `csv` as `object` in batches of two, so a bad row shares its
/// transaction with a good one; returns the report and every rejection
/// `on_reject` saw.
fn import(host: &Host, object: ObjectKind, csv: &str) -> (ImportReport, Vec<Reject>) {
    let mut seen = Vec::new();
    let report = host
        .import_csv(
            object,
            csv.as_bytes(),
            "test.csv",
            2,
            &mut |_, r| {
                seen.push(r.clone());
                Ok(())
            },
            &mut |_, _| {},
        )
        .expect("import runs");
    (report, seen)
}

/// Imports `csv` (named `typo.csv`) as `object`, minding no callback.
fn quietly(host: &Host, object: ObjectKind, csv: &str) -> crate::Result<ImportReport> {
    host.import_csv(
        object,
        csv.as_bytes(),
        "typo.csv",
        500,
        &mut |_, _| Ok(()),
        &mut |_, _| {},
    )
}

/// What `host` exports of `what` in `format`, as text.
fn export(host: &Host, what: ExportKind, format: ExportFormat) -> String {
    let mut out = Vec::new();
    let count = host
        .export(what, format, &mut out, Path::new("test output"))
        .expect("export runs");
    let text = String::from_utf8(out).expect("UTF-8");
    let records = match format {
        ExportFormat::Csv | ExportFormat::RawCsv => text.lines().count() - 1,
        ExportFormat::Jsonl => text.lines().count(),
    };
    assert_eq!(count, records as u64, "{text}");
    text
}

fn customers(host: &Host) -> Vec<Customer> {
    host.customers_after(CustomerId(0), 100).expect("customers")
}

#[test]
fn a_bad_row_is_reported_and_the_others_commit() {
    let (_dir, host) = open();
    let (report, seen) = import(&host, ObjectKind::Customer, CUSTOMERS);
    assert_eq!(report.imported, 2, "{report:?}");
    assert_eq!(report.rejected, 1);
    let reject = Reject {
        row: 3,
        field: "phone".into(),
        reason: "has `not a phone`, which is not a phone number (not a number)".into(),
        cells: [
            "AC-2",
            "Bad Phone",
            "not a phone",
            "bob@example.com",
            "silver",
            "",
        ]
        .map(String::from)
        .to_vec(),
    };
    assert_eq!(seen, [reject]);
    assert_eq!(report.rejects, seen);
    assert!(report.ignored_columns.is_empty());

    let stored = customers(&host);
    let accounts: Vec<&str> = stored.iter().map(|c| c.account.as_str()).collect();
    assert_eq!(accounts, ["AC-1", "AC-3"]);
    // Written like any write: normalized, labelled, defaults filled.
    assert_eq!(stored[0].name, "Lovelace, Ada");
    assert_eq!(stored[0].emails[0].address, "ada@example.com");
    assert_eq!(stored[0].address.city, "Paris");
    assert_eq!(stored[1].phones[1].label, "work");
    assert_eq!(stored[1].phones[1].number, "+33123456780");
    assert_eq!(
        stored[1].custom.get("tier").map(ToString::to_string),
        Some("bronze".to_owned())
    );
}

#[test]
fn an_unknown_column_is_refused_before_any_row_naming_the_nearest() {
    let (_dir, host) = open();
    let result = quietly(
        &host,
        ObjectKind::Customer,
        "account,name,tierr\nAC-1,Ada,gold\n",
    );
    match result {
        Err(Error::InvalidInput { what, message }) => {
            assert_eq!(what, "typo.csv header");
            assert!(message.contains("did you mean `tier`?"), "{message}");
        }
        other => panic!("not refused as it should be: {other:?}"),
    }
    assert!(customers(&host).is_empty());
    // Follow-ups are not imported at all.
    let refused = quietly(&host, ObjectKind::FollowUp, "case,body\n1,hello\n");
    assert!(matches!(refused, Err(Error::Refused(_))), "{refused:?}");
}

#[test]
fn customers_exported_as_csv_and_jsonl_read_back_as_they_were() {
    let (_dir, host) = open();
    import(&host, ObjectKind::Customer, CUSTOMERS);
    let csv = export(&host, ExportKind::Customers, ExportFormat::Csv);
    assert!(
        csv.starts_with(
            "id,account,name,phone,email,street,line2,postal_code,city,region,country,tier,\
             created_at,updated_at\n"
        ),
        "{csv}"
    );

    // Into another store: the same records, the columns the store sets
    // skipped and named.
    let (_other_dir, other) = open();
    let (report, _) = import(&other, ObjectKind::Customer, &csv);
    assert_eq!(report.imported, 2, "{report:?}");
    assert_eq!(report.rejected, 0, "{report:?}");
    assert_eq!(
        report.ignored_columns,
        ["id", "created_at", "updated_at"].map(String::from)
    );
    assert_eq!(customers(&other), customers(&host));
    assert_eq!(
        export(&other, ExportKind::Customers, ExportFormat::Csv),
        csv
    );

    // JSON lines: one record per line, as serde writes it.
    let jsonl = export(&host, ExportKind::Customers, ExportFormat::Jsonl);
    let read: Vec<Customer> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("a customer"))
        .collect();
    assert_eq!(read, customers(&host));
}

#[test]
fn an_export_holds_only_what_the_acting_agent_may_see() {
    let (_dir, host) = open();
    import(&host, ObjectKind::Customer, CUSTOMERS);
    let cases = "customer,subject,visibility,status,product\n\
                 AC-1,Printer jam,public,,laser\n\
                 #2,Private matter,private,,\n\
                 AC-1,Old ticket,,closed,\n";
    let (report, _) = import(&host, ObjectKind::Case, cases);
    assert_eq!(report.imported, 3, "{report:?}");
    assert_eq!(
        host.case(CaseNumber(3)).expect("case 3").status,
        host.config().case.closing_status()
    );
    host.add_agent(NewAgent {
        login: "ann".into(),
        role: Role::Agent,
        ..Default::default()
    })
    .expect("agent");
    for (case, words) in [(2, "private words"), (1, "public words")] {
        host.add_follow_up(NewFollowUp::note(CaseNumber(case), "system", words))
            .expect("note");
    }

    let all = export(&host, ExportKind::Cases, ExportFormat::Csv);
    assert_eq!(all.lines().count(), 4, "{all}");
    assert!(all.contains("Private matter"));
    let ann = host.as_agent("ann").expect("ann");
    let hers = export(&ann, ExportKind::Cases, ExportFormat::Csv);
    assert_eq!(hers.lines().count(), 3, "{hers}");
    assert!(!hers.contains("Private matter"), "{hers}");
    assert!(
        hers.contains("Printer jam,") && hers.contains(",laser,"),
        "{hers}"
    );
    let notes = export(&ann, ExportKind::FollowUps, ExportFormat::Jsonl);
    assert_eq!(notes.lines().count(), 1, "{notes}");
    assert!(notes.contains("public words") && !notes.contains("private words"));
    let notes = export(&host, ExportKind::FollowUps, ExportFormat::Jsonl);
    assert_eq!(notes.lines().count(), 2, "{notes}");
}

/// Cells a spreadsheet would run: names, addresses, subjects, text fields.
const FORMULAS: &str = "\
account,name,phone,street,city,tier
AC-1,\"=HYPERLINK(\"\"http://evil.test/\"\",\"\"click\"\")\",+33123456789,@SUM(A1),+cmd,gold
AC-2,''=already quoted,mobile:+33612345678,-2+3,Paris,
AC-3,Plain Name,,,,
";

#[test]
fn free_text_cells_a_spreadsheet_would_run_are_guarded_and_read_back_exactly() {
    let (_dir, host) = open();
    let (report, _) = import(&host, ObjectKind::Customer, FORMULAS);
    assert_eq!(report.imported, 3, "{report:?}");
    let stored = customers(&host);
    assert_eq!(
        stored[0].name,
        "=HYPERLINK(\"http://evil.test/\",\"click\")"
    );
    assert_eq!(stored[1].name, "'=already quoted");
    host.open_case(dossier_sdk::NewCase {
        description: "\tindented".into(),
        custom: [(
            "product".to_owned(),
            dossier_sdk::FieldValue::Text("-rm -rf".into()),
        )]
        .into_iter()
        .collect(),
        ..dossier_sdk::NewCase::new(stored[0].id, "=1+1")
    })
    .expect("case");

    let csv = export(&host, ExportKind::Customers, ExportFormat::Csv);
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .collect::<std::result::Result<_, _>>()
        .expect("rows");
    // name, phone, street, city of each row.
    let cells = |r: &csv::StringRecord| [2, 3, 5, 8].map(|i| r[i].to_owned());
    assert_eq!(
        cells(&rows[0]),
        [
            "'=HYPERLINK(\"http://evil.test/\",\"click\")",
            "main:+33123456789",
            "'@SUM(A1)",
            "'+cmd"
        ]
    );
    assert_eq!(
        cells(&rows[1]),
        ["''=already quoted", "mobile:+33612345678", "'-2+3", "Paris"]
    );
    assert_eq!(cells(&rows[2]), ["Plain Name", "", "", ""]);
    let cases = export(&host, ExportKind::Cases, ExportFormat::Csv);
    let case = csv::Reader::from_reader(cases.as_bytes())
        .records()
        .next()
        .expect("a case")
        .expect("a row");
    assert_eq!(&case[2], "'=1+1");
    assert_eq!(&case[3], "'\tindented");
    assert_eq!(&case[11], "'-rm -rf", "product, a text field");
    assert_eq!(&case[0], "1", "numbers untouched");

    // Raw: every cell as stored.
    let raw = export(&host, ExportKind::Customers, ExportFormat::RawCsv);
    assert!(
        raw.contains("\n1,AC-1,\"=HYPERLINK(\"\"http://evil.test/\"\",\"\"click\"\")\",main:+33123456789,,@SUM(A1),,,+cmd,"),
        "{raw}"
    );

    // The guard comes off on import: the same records, the same bytes.
    let (_other_dir, other) = open();
    let (report, _) = import(&other, ObjectKind::Customer, &csv);
    assert_eq!(report.imported, 3, "{report:?}");
    assert_eq!(customers(&other), stored);
    assert_eq!(
        export(&other, ExportKind::Customers, ExportFormat::Csv),
        csv
    );
    let (report, _) = import(&other, ObjectKind::Case, &cases);
    assert_eq!(report.imported, 1, "{report:?}");
    assert_eq!(export(&other, ExportKind::Cases, ExportFormat::Csv), cases);
}

#[test]
fn crlf_rows_are_numbered_by_the_line_they_start_on() {
    let (_dir, host) = open();
    let crlf = CUSTOMERS.replace('\n', "\r\n");
    let (report, seen) = import(&host, ObjectKind::Customer, &crlf);
    assert_eq!(report.imported, 2, "{report:?}");
    assert_eq!(seen.iter().map(|r| r.row).collect::<Vec<_>>(), [3]);
    // A quoted cell over two lines: the row after it starts two lines on.
    let text = "account,name\r\nAC-4,\"Two\r\nlines\"\r\nAC-4,Again\r\n";
    let (report, seen) = import(&host, ObjectKind::Customer, text);
    assert_eq!(report.imported, 1, "{report:?}");
    assert_eq!(seen.iter().map(|r| r.row).collect::<Vec<_>>(), [4]);
}

#[test]
fn a_quote_that_does_not_close_rejects_its_row_instead_of_swallowing_the_next() {
    let (_dir, host) = open();
    // The quote runs to the end of the file: the rows after it were read
    // into Ada's name, and nothing said so.
    let text = "account,name\nAC-1,\"Ada\nAC-2,Grace\nAC-3,Cy\n";
    let (report, seen) = import(&host, ObjectKind::Customer, text);
    assert_eq!((report.imported, report.rejected), (0, 1), "{report:?}");
    assert_eq!(seen[0].row, 2);
    assert!(
        seen[0]
            .reason
            .starts_with("has a quoted cell that does not close"),
        "{}",
        seen[0].reason
    );
    assert_eq!(seen[0].cells, ["AC-1", "Ada\nAC-2,Grace\nAC-3,Cy"]);
    // A later quote "closes" it, with more text after: the rows between
    // are in the bad row, the row after it imports.
    let text = "account,name\nAC-1,\"Ada\nAC-2,\"Grace\"\nAC-3,Cy\n";
    let (report, seen) = import(&host, ObjectKind::Customer, text);
    assert_eq!((report.imported, report.rejected), (1, 1), "{report:?}");
    assert_eq!(seen[0].row, 2);
    let accounts: Vec<String> = customers(&host).into_iter().map(|c| c.account).collect();
    assert_eq!(accounts, ["AC-3"]);
    // A file whose header takes the quote in is refused before any row.
    let err = quietly(&host, ObjectKind::Customer, "account,\"name\nAC-9,X\n").unwrap_err();
    assert!(err.to_string().contains("does not close"), "{err}");
}

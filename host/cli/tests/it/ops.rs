//! `dossier import`, `export`, `backup`, `restore` and `gc` as a user runs
//! them: bad rows reported and skipped while the good ones land, headers
//! checked before any row, hooks run unless `--no-hooks`, exports that read
//! back in, and the operator's commands end to end.

use std::path::Path;

use crate::util::{dossier, failure, json};

fn init(d: &Path) {
    assert!(dossier(d, &["init"]).status.success());
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A file of good and bad customers: a bad row in the middle of each batch
/// of two, so good rows share a transaction with bad ones.
const CUSTOMERS: &str = "\
account,name,phone,email,tier,loyalty_id,city,id
AC-1,Ada Lovelace,+33123456789,Ada@Example.com,gold,LC-000001,Paris,17
AC-2,Bad Phone,not a phone,bob@example.com,silver,,,
AC-3,Cy,01 23 45 67 80,cy@example.com,bronze,,Lyon,
AC-1,Duplicate Account,,,,,,
AC-5,Eve,,eve@example.com,platinum,,,
AC-6,Fay,mobile:+33612345678;work:+33123456700,,,,,
AC-7,,,,,,,
AC-8,Gus,,not an email,,,,
AC-9,Too,many,cells,,,,,,,
AC-10,Hal,,hal@example.com,,LC-12,,
AC-11,Veto Me,,,,,,
AC-12,Ivy,,ivy@example.com,,,,
";

const VETO: &str = r#"
fn before_save_customer(c) {
    if c.name.contains("Veto") {
        veto("names with Veto are refused");
    }
}
"#;

/// The template runs every `scripts/*.rhai`.
fn with_veto_script(d: &Path) {
    std::fs::create_dir_all(d.join("scripts")).unwrap();
    std::fs::write(d.join("scripts/veto.rhai"), VETO).unwrap();
}

#[test]
fn an_import_reports_bad_rows_and_keeps_every_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d);
    with_veto_script(d);
    std::fs::write(d.join("customers.csv"), CUSTOMERS).unwrap();
    let out = dossier(
        d,
        &[
            "import",
            "customers",
            "customers.csv",
            "--batch",
            "2",
            "--rejects",
            "rejects.csv",
        ],
    );
    // No progress bar when stderr is not a terminal, and nothing else.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!(stdout(&out));
    insta::assert_snapshot!(std::fs::read_to_string(d.join("rejects.csv")).unwrap());

    let customers = json(d, &["customer", "list", "--per-page", "100"]);
    let accounts: Vec<&str> = customers
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["AC-1", "AC-3", "AC-6", "AC-12"]);
    // Rows are written like any write: normalized, defaults filled.
    assert_eq!(customers[0]["emails"][0]["address"], "ada@example.com");
    assert_eq!(customers[1]["phones"][0]["number"], "+33123456780");
    assert_eq!(customers[2]["phones"][1]["label"], "work");
    assert_eq!(customers[3]["custom"]["tier"]["choice"], "bronze");
    assert_eq!(customers[0]["address"]["city"], "Paris");

    // As JSON, the same report.
    std::fs::write(
        d.join("more.csv"),
        "account,name\nAC-20,Jo\nAC-21,Veto Again\n",
    )
    .unwrap();
    let report = json(d, &["import", "customers", "more.csv"]);
    assert_eq!(report["imported"], 1);
    assert_eq!(report["rejected"], 1);
    assert_eq!(report["rejects"][0]["row"], 3);
    assert!(
        report["rejects"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("names with Veto are refused"),
        "{report}"
    );
    // Without hooks the veto does not run; only admins may skip them.
    std::fs::write(d.join("veto.csv"), "account,name\nAC-30,Veto Three\n").unwrap();
    json(d, &["agent", "add", "ann", "--role", "agent"]);
    let refused = failure(
        d,
        &[
            "--as",
            "ann",
            "import",
            "customers",
            "veto.csv",
            "--no-hooks",
        ],
    );
    assert!(refused.contains("only admins"), "{refused}");
    let report = json(d, &["import", "customers", "veto.csv", "--no-hooks"]);
    assert_eq!(report["imported"], 1, "{report}");
}

#[test]
fn an_unknown_column_is_refused_before_any_row_with_the_nearest_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d);
    std::fs::write(d.join("typo.csv"), "account,name,tierr\nAC-1,Ada,gold\n").unwrap();
    std::fs::write(d.join("missing.csv"), "account,phone\nAC-1,+33123456789\n").unwrap();
    std::fs::write(d.join("twice.csv"), "account,name,name\nAC-1,Ada,Ada\n").unwrap();
    std::fs::write(d.join("cases.csv"), "customer,subjet\nAC-1,Printer\n").unwrap();
    insta::assert_snapshot!(
        [
            failure(d, &["import", "customers", "typo.csv"]),
            failure(d, &["import", "customers", "missing.csv"]),
            failure(d, &["import", "customers", "twice.csv"]),
            failure(d, &["import", "cases", "cases.csv"]),
            failure(d, &["import", "customers", "nowhere.csv"]),
        ]
        .join("\n\n")
    );
    assert_eq!(json(d, &["customer", "list"]), serde_json::json!([]));
}

fn pipe_in(d: &Path, args: &[&str], input: &str) -> std::process::Output {
    crate::util::with_stdin(d, args, input.as_bytes())
}

#[test]
fn an_export_reads_back_in_and_shows_only_what_the_agent_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d);
    // Read from stdin with `-`; a custom field may be named `custom.NAME`,
    // and a case's customer `#ID`.
    let out = pipe_in(
        d,
        &["--json", "import", "customers", "-"],
        "account,name,phone,email,custom.tier,city\n\
         AC-1,\"Lovelace, Ada\",+33123456789,ada@example.com,gold,Paris\n\
         AC-2,Bob,mobile:+33612345678;+33123456700,,,\n",
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["imported"],
        2
    );
    let cases = "customer,subject,priority,visibility,status,product\n\
                 AC-1,Printer jam,high,public,,\n\
                 #2,Private matter,,private,,\n\
                 AC-1,Old ticket,,,closed,\n";
    std::fs::write(d.join("cases.csv"), cases).unwrap();
    let report = json(d, &["import", "cases", "cases.csv"]);
    assert_eq!(report["imported"], 3, "{report}");
    assert_eq!(json(d, &["case", "show", "3"])["status"], "closed");

    let customers = stdout(&dossier(d, &["export", "customers"]));
    let cases = stdout(&dossier(d, &["export", "cases", "--format", "csv"]));
    let redact = |s: &str| {
        s.lines()
            .map(|l| {
                let cells: Vec<&str> = l.split(',').collect();
                // The last two cells are created_at and updated_at.
                let keep = cells.len().saturating_sub(2);
                if l.starts_with("id,") || l.starts_with("number,") {
                    l.to_owned()
                } else {
                    format!("{},[time],[time]", cells[..keep].join(","))
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!(format!("{}\n\n{}", redact(&customers), redact(&cases)));

    // What was exported imports into another store as it was.
    let other = tempfile::tempdir().unwrap();
    let o = other.path();
    init(o);
    std::fs::write(o.join("customers.csv"), &customers).unwrap();
    let report = json(o, &["import", "customers", "customers.csv"]);
    assert_eq!(report["imported"], 2, "{report}");
    assert_eq!(
        report["ignored_columns"],
        serde_json::json!(["id", "created_at", "updated_at"])
    );
    std::fs::write(o.join("cases.csv"), &cases).unwrap();
    assert_eq!(json(o, &["import", "cases", "cases.csv"])["imported"], 3);
    let again = stdout(&dossier(o, &["export", "customers"]));
    assert_eq!(redact(&again), redact(&customers));
    let again = stdout(&dossier(o, &["export", "cases"]));
    assert_eq!(redact(&again), redact(&cases));

    // JSON lines: one record per line, as --json prints it.
    let lines = stdout(&dossier(d, &["export", "customers", "--format", "jsonl"]));
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first, json(d, &["customer", "show", "AC-1"]));
    assert_eq!(lines.lines().count(), 2);

    // An agent without see_all_private sees neither the private case nor
    // its follow-ups.
    json(d, &["agent", "add", "ann", "--role", "agent"]);
    json(
        d,
        &["followup", "add", "--case", "2", "--note", "private words"],
    );
    json(
        d,
        &["followup", "add", "--case", "1", "--note", "public words"],
    );
    let as_ann = stdout(&dossier(d, &["--as", "ann", "export", "cases"]));
    assert_eq!(as_ann.lines().count(), 3, "{as_ann}");
    assert!(!as_ann.contains("Private matter"));
    let notes = stdout(&dossier(
        d,
        &["--as", "ann", "export", "follow-ups", "--format", "jsonl"],
    ));
    assert_eq!(notes.lines().count(), 1, "{notes}");
    assert!(notes.contains("public words"));
    let notes = stdout(&dossier(d, &["export", "follow-ups", "-o", "all.jsonl"]));
    assert!(notes.is_empty());
    assert_eq!(
        std::fs::read_to_string(d.join("all.jsonl"))
            .unwrap()
            .lines()
            .count(),
        3,
        "a header and two follow-ups (CSV, the default)"
    );
}

#[test]
fn backup_restore_and_gc_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d);
    json(
        d,
        &["customer", "add", "--account", "AC-1", "--name", "Ada"],
    );
    let manifest = json(d, &["backup", "saved"]);
    assert_eq!(manifest["format"], "dossier-backup");
    assert_eq!(manifest["files"][0]["path"], "dossier.db");
    json(
        d,
        &["customer", "add", "--account", "AC-2", "--name", "Bob"],
    );
    insta::assert_snapshot!(
        [
            failure(d, &["backup", "saved"]),
            failure(d, &["restore", "."]),
        ]
        .join("\n\n")
    );
    let restored = json(d, &["restore", "saved"]);
    assert_eq!(
        restored["manifest"]["schema_version"],
        manifest["schema_version"]
    );
    let accounts = json(d, &["customer", "list"]);
    assert_eq!(accounts.as_array().unwrap().len(), 1);
    let gc = json(d, &["gc"]);
    assert_eq!(gc["removed"], 0);
    let human = stdout(&dossier(d, &["gc"]));
    assert_eq!(
        human,
        "removed 0 unreferenced attachment(s); kept 0 referenced and 0 written in the last hour\n"
    );
}

#[test]
fn only_an_admin_restores_a_store_that_exists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d);
    json(d, &["agent", "add", "ann"]);
    json(
        d,
        &["customer", "add", "--account", "AC-1", "--name", "Ada"],
    );
    json(d, &["backup", "saved"]);
    json(
        d,
        &["customer", "add", "--account", "AC-2", "--name", "Bob"],
    );
    for who in ["ann", "nobody"] {
        let out = dossier(d, &["--as", who, "restore", "saved"]);
        assert!(!out.status.success(), "{who} restored the store");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("only admins may")
                || err.contains("unknown agent")
                || err.contains("nobody"),
            "{who}: {err}"
        );
    }
    assert_eq!(
        json(d, &["customer", "list"]).as_array().unwrap().len(),
        2,
        "nothing was lost"
    );
    json(d, &["restore", "saved"]);
    assert_eq!(json(d, &["customer", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn exports_and_rejects_never_overwrite_the_store_or_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d);
    json(
        d,
        &["customer", "add", "--account", "AC-1", "--name", "Ada"],
    );
    let db = std::fs::read(d.join("dossier.db")).unwrap();
    std::fs::create_dir_all(d.join("dossier.blobs")).unwrap();
    for target in [
        "dossier.db",
        "dossier.db-wal",
        "dossier.db-shm",
        "dossier.blobs/x",
        "./sub/../dossier.db",
    ] {
        std::fs::create_dir_all(d.join("sub")).unwrap();
        let out = dossier(d, &["export", "customers", "-o", target]);
        assert!(!out.status.success(), "export -o {target} was allowed");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("part of the store itself"), "{target}: {err}");
    }
    assert_eq!(std::fs::read(d.join("dossier.db")).unwrap().len(), db.len());
    assert_eq!(
        json(d, &["customer", "list"]).as_array().unwrap().len(),
        1,
        "the store is intact"
    );

    let csv = "account,name\nAC-2,Bob\n";
    std::fs::write(d.join("in.csv"), csv).unwrap();
    let out = dossier(d, &["import", "customers", "in.csv", "--rejects", "in.csv"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the file being imported"));
    assert_eq!(
        std::fs::read_to_string(d.join("in.csv")).unwrap(),
        csv,
        "the input is intact"
    );
    let out = dossier(
        d,
        &["import", "customers", "in.csv", "--rejects", "dossier.db"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("part of the store itself"));
    json(
        d,
        &["import", "customers", "in.csv", "--rejects", "bad.csv"],
    );
}

#[test]
fn a_rejects_file_holds_each_row_as_read_and_imports_once_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d);
    with_veto_script(d);
    // CRLF line ends, as spreadsheets write them: the rows keep their lines.
    std::fs::write(d.join("customers.csv"), CUSTOMERS.replace('\n', "\r\n")).unwrap();
    let args = [
        "import",
        "customers",
        "customers.csv",
        "--rejects",
        "rejects.csv",
    ];
    let report = json(d, &args);
    assert_eq!(
        (report["imported"].as_u64(), report["rejected"].as_u64()),
        (Some(4), Some(8))
    );
    let rows: Vec<u64> = report["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [3, 5, 6, 8, 9, 10, 11, 12]);
    let rejects = std::fs::read_to_string(d.join("rejects.csv")).unwrap();
    let mut lines = rejects.lines();
    assert_eq!(
        lines.next(),
        Some(
            "account,name,phone,email,tier,loyalty_id,city,id,\
             rejected.row,rejected.field,rejected.reason"
        )
    );
    assert_eq!(
        lines.next(),
        Some(
            "AC-2,Bad Phone,not a phone,bob@example.com,silver,,,,3,phone,\
             \"has `not a phone`, which is not a phone number (not a number)\""
        )
    );
    // Every row as it was read, then why.
    let too_many = format!(
        "AC-9,Too,many,cells{},10,,has 11 cells where the header has 8",
        ",".repeat(7)
    );
    assert!(rejects.lines().any(|l| l == too_many), "{rejects}");

    // Fixed where the reasons say (the row with too many cells is written
    // again), the file imports as it is, its reasons read and ignored.
    let fixed = rejects
        .replace("not a phone", "+33611111111")
        .replace("AC-1,Duplicate", "AC-4,Duplicate")
        .replace("platinum", "gold")
        .replace("AC-7,,", "AC-7,Gil,")
        .replace("not an email", "gus@example.com")
        .replace(&too_many, &too_many.replace("many,cells,,", ""))
        .replace("LC-12", "LC-000012")
        .replace("Veto Me", "Mel");
    std::fs::write(d.join("fixed.csv"), fixed).unwrap();
    let report = json(d, &["import", "customers", "fixed.csv"]);
    assert_eq!(report["rejected"], 0, "{report}");
    assert_eq!(report["imported"], 8, "{report}");
    assert_eq!(report["ignored_columns"], serde_json::json!(["id"]));
    let listed = json(d, &["customer", "list", "--per-page", "100"]);
    assert_eq!(listed.as_array().unwrap().len(), 12);
}

/// A validation script that refuses with a field, and a `[standard_fields]`
/// pattern: both land in the rejects' field column, as the built-in checks do.
#[test]
fn an_import_names_the_field_a_script_or_a_standard_field_pattern_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d);
    std::fs::create_dir_all(d.join("scripts")).unwrap();
    std::fs::write(
        d.join("scripts/account.rhai"),
        r#"
fn before_save_customer(c) {
    if !c.account.matches("AC-[0-9]{6}") {
        invalid("account", "must match AC-000000");
    }
}
"#,
    )
    .unwrap();
    let mut config = std::fs::read_to_string(d.join("dossier.toml")).unwrap();
    config.push_str("\n[standard_fields.customer.phone]\npattern = '\\+33[0-9]{9}'\n");
    std::fs::write(d.join("dossier.toml"), config).unwrap();
    std::fs::write(
        d.join("customers.csv"),
        "account,name,phone\nAC-000001,Ada,+33123456789\nAC-2,Bob,\nAC-000003,Cy,+442071838750\n",
    )
    .unwrap();
    let out = dossier(
        d,
        &[
            "import",
            "customers",
            "customers.csv",
            "--rejects",
            "rejects.csv",
        ],
    );
    stdout(&out);
    let rejects = std::fs::read_to_string(d.join("rejects.csv")).unwrap();
    let rows: Vec<&str> = rejects.lines().skip(1).collect();
    assert_eq!(
        rows,
        [
            "AC-2,Bob,,3,account,must match AC-000000",
            "AC-000003,Cy,+442071838750,4,phone,does not match the pattern \\+33[0-9]{9} ([standard_fields.customer.phone])",
        ],
        "{rejects}"
    );
    // The same refusal from a single write: the validation error's code.
    let err = failure(
        d,
        &[
            "--json",
            "customer",
            "add",
            "--account",
            "AC-9",
            "--name",
            "Di",
        ],
    );
    assert!(
        err.contains("\"code\":\"validation\"")
            && err.contains("customer is invalid: field `account` must match AC-000000"),
        "{err}"
    );
}

#[test]
fn a_standard_field_pattern_that_does_not_compile_is_a_config_error_naming_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d);
    let mut config = std::fs::read_to_string(d.join("dossier.toml")).unwrap();
    config.push_str("\n[standard_fields.customer.account]\npattern = 'AC-[0-9'\n");
    std::fs::write(d.join("dossier.toml"), &config).unwrap();
    let err = failure(d, &["customer", "list"]);
    assert!(
        err.contains("[standard_fields.customer.account] pattern `AC-[0-9` is invalid"),
        "{err}"
    );
    // Only account, phone and email take a pattern.
    config = config.replace("customer.account]", "customer.name]");
    std::fs::write(d.join("dossier.toml"), &config).unwrap();
    let err = failure(d, &["customer", "list"]);
    assert!(
        err.contains("unknown field `name`") && err.contains("`account`, `phone`, `email`"),
        "{err}"
    );
}

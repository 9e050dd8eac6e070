//! How `dossier` ends and what it leaves on stderr: exit codes, a closed
//! stdout, and log lines (script prints) filtered by `DOSSIER_LOG`.

use std::process::ExitCode;

use crate::util::{command, dossier, json};

#[test]
fn run_returns_the_exit_code_instead_of_ending_the_process() {
    // Were `cli::run` to call `process::exit`, this test binary would end here.
    let code = dossier_cli::run(["dossier", "customer", "add", "--account", "AC-1"]);
    assert_eq!(code, ExitCode::from(2), "a usage error");

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.toml");
    let code = dossier_cli::run([
        "dossier",
        "--config",
        missing.to_str().unwrap(),
        "customer",
        "list",
    ]);
    assert_eq!(code, ExitCode::FAILURE, "no config file");
}

#[test]
fn help_and_version_exit_zero_and_usage_errors_two() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [&["--help"][..], &["--version"], &["customer", "--help"]] {
        let out = dossier(d, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?} printed nothing");
    }
    let out = dossier(d, &["customer", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage:"));
}

#[test]
fn a_stdout_closed_by_its_reader_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    // The reading end is gone before `dossier` writes its first byte, as
    // with `dossier customer list | head -0`.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = command(d, &["customer", "list"])
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn a_full_or_closed_stderr_never_changes_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    // What each command exits with when its stderr works: an error (1), a
    // usage error (2), a success that says something on stderr (0).
    let cases: [(&[&str], i32); 3] = [
        (&["case", "show", "999"], 1),
        (&["case", "frobnicate"], 2),
        (&["export", "customers", "-o", "customers.csv"], 0),
    ];
    for (args, code) in cases {
        let normal = dossier(d, args);
        assert_eq!(normal.status.code(), Some(code), "{args:?}");
        assert!(
            !normal.stderr.is_empty(),
            "{args:?} says something on stderr"
        );
        let _ = std::fs::remove_file(d.join("customers.csv"));
        // /dev/full: every write fails with "no space left on device".
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = command(d, args).stderr(full).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?} with a full stderr");
        // A closed stderr: the reading end of its pipe is gone.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = command(d, args).stderr(writer).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?} with a closed stderr"
        );
        let _ = std::fs::remove_file(d.join("customers.csv"));
    }
}

const HELLO: &str = "fn before_save_customer(c) {
    print(`saving ${c.name}`);
    debug(c.account);
}
";

#[test]
fn script_prints_are_logged_on_stderr_naming_script_and_hook() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    std::fs::write(d.join("scripts/hello.rhai"), HELLO).unwrap();
    let add = |account: &str, log: Option<&str>| {
        let mut command = command(
            d,
            &[
                "--json",
                "customer",
                "add",
                "--account",
                account,
                "--name",
                "Ada",
            ],
        );
        if let Some(log) = log {
            command.env("DOSSIER_LOG", log);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        // stdout stays pure JSON: the log lines go to stderr.
        let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(record["account"], account);
        String::from_utf8(out.stderr).unwrap()
    };

    assert_eq!(
        add("AC-1", None),
        "info: script scripts/hello.rhai, hook before_save_customer: saving Ada\n\
         info: script scripts/hello.rhai, hook before_save_customer, line 3: \"AC-1\"\n"
    );
    assert_eq!(add("AC-2", Some("warn")), "", "below the level asked for");
    assert_eq!(
        add("AC-3", Some("warn,dossier_host::script=info")),
        "info: script scripts/hello.rhai, hook before_save_customer: saving Ada\n\
         info: script scripts/hello.rhai, hook before_save_customer, line 3: \"AC-3\"\n",
        "a target let through"
    );
    let typo = add("AC-4", Some("dossier_host=loud"));
    assert!(
        typo.starts_with("warning: ignoring DOSSIER_LOG=\"dossier_host=loud\" (")
            && typo.ends_with(
                "); logging at info\n\
                 info: script scripts/hello.rhai, hook before_save_customer: saving Ada\n\
                 info: script scripts/hello.rhai, hook before_save_customer, line 3: \"AC-4\"\n"
            ),
        "{typo}"
    );
    assert_eq!(
        json(d, &["customer", "list"]).as_array().map(Vec::len),
        Some(4)
    );
}

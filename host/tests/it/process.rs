//! How `dossier` ends: exit codes and a closed stdout.

use std::process::ExitCode;

use crate::util::{command, dossier};

#[test]
fn run_returns_the_exit_code_instead_of_ending_the_process() {
    // Were `cli::run` to call `process::exit`, this test binary would end here.
    let code = dossier_host::cli::run(["dossier", "customer", "add", "--account", "AC-1"]);
    assert_eq!(code, ExitCode::from(2), "a usage error");

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.toml");
    let code = dossier_host::cli::run([
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

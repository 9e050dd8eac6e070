//! Running the real `dossier` binary from tests.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// `dossier ARGS` in `dir`, as agent `agent.smith`, logging at its default
/// level, without colour and finding its config in `dir`, whatever the
/// environment running the tests says.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dossier"));
    command
        .args(args)
        .current_dir(dir)
        .env("DOSSIER_AGENT", "agent.smith")
        .env_remove("DOSSIER_LOG")
        .env_remove("DOSSIER_CONFIG")
        .env_remove("CLICOLOR_FORCE")
        .env("NO_COLOR", "1");
    command
}

/// Runs `dossier ARGS` in `dir`, as agent `agent.smith`.
pub fn dossier(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("dossier runs")
}

/// Runs a command that must succeed and returns its JSON output.
pub fn json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = dossier(dir, &all);
    assert!(
        out.status.success(),
        "dossier {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// Runs a command that must fail and returns `$ command`, then `exit code: stderr`.
pub fn failure(dir: &Path, args: &[&str]) -> String {
    let out = dossier(dir, args);
    assert!(!out.status.success(), "dossier {args:?} should have failed");
    assert!(out.stdout.is_empty(), "a failed command printed to stdout");
    format!(
        "$ dossier {}\nexit {}: {}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).trim_end()
    )
}

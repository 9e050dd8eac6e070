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

/// Runs `command` with `input` on its stdin and returns what it did. A
/// command may end without reading all its input (a refusal, an MTA
/// pipe's early exit): the broken pipe that leaves is not the test's
/// failure, the exit code and output are what it checks.
pub fn feed(command: &mut Command, input: &[u8]) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dossier starts");
    let written = child.stdin.take().expect("stdin").write_all(input);
    if let Err(e) = written {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing stdin: {e}"
        );
    }
    child.wait_with_output().expect("dossier ends")
}

/// `dossier ARGS` in `dir` (as [`command`]) with `input` on its stdin.
pub fn with_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    feed(&mut command(dir, args), input)
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

/// Creates the store the `dossier.toml` in `dir` names, as `dossier init`
/// would but without a first admin: for tests that write their own config
/// and then run the binary (which refuses a missing store).
pub fn create_store(dir: &Path) {
    let config = dossier_host::Config::load(&dir.join("dossier.toml")).expect("config");
    drop(
        dossier_host::Host::builder(config)
            .create_if_missing()
            .open()
            .expect("store created"),
    );
}

//! `dossier run` as a service manager runs it: SIGTERM (what systemd sends
//! on stop) ends it cleanly, with exit code 0, after the pass it is in.
//! (Ctrl-C, SIGINT, is `interact::run_stops_cleanly_on_ctrl_c`.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::util::{command, dossier};

/// Starts `dossier run` in a fresh store, waits for its start line on
/// stderr (printed once the signal handler is in place), sends `signal`
/// with the system's `kill`, and returns the exit status and the rest of
/// stderr.
fn run_then_signal(signal: &str) -> (std::process::ExitStatus, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    // A long poll: were the signal ignored, the loop would wait an hour,
    // and were it fatal the exit status would say so.
    let mut child = command(d, &["run", "--poll", "3600"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(
        first.starts_with("dossier run: firing reminders"),
        "{first}"
    );
    let kill = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success(), "kill -{signal}");
    let status = child.wait().unwrap();
    let mut rest = String::new();
    for line in stderr.lines() {
        rest.push_str(&line.unwrap());
        rest.push('\n');
    }
    (status, rest)
}

#[test]
fn sigterm_stops_dossier_run_cleanly() {
    let (status, rest) = run_then_signal("TERM");
    assert_eq!(status.code(), Some(0), "stderr: {rest}");
    assert!(rest.ends_with("dossier run: stopped\n"), "{rest}");
}

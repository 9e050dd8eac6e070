//! The operator's side of the server: tokens and passwords on the CLI,
//! and stopping `dossier serve` with SIGTERM.

use std::process::Command;

use super::serve::{Centre, serve};
use super::util::{dossier, json};

#[test]
fn tokens_are_listed_and_revoked_on_the_cli_and_bad_durations_named() {
    let c = Centre::new();
    let dir = c.dir.path();
    let made = json(
        dir,
        &[
            "--as",
            "boss",
            "agent",
            "token",
            "new",
            "ann",
            "--expires",
            "90d",
            "--label",
            "CTI",
        ],
    );
    let secret = made["token"].as_str().expect("token");
    assert!(secret.starts_with("dsr_") && secret.len() == 68, "{secret}");
    let expires: chrono::DateTime<chrono::Utc> = made["expires_at"]
        .as_str()
        .expect("expires")
        .parse()
        .expect("time");
    let days = (expires - chrono::Utc::now()).num_days();
    assert!((89..=90).contains(&days), "{days}");

    // Ann sees only her own tokens; the list never shows a secret.
    let out = dossier(dir, &["--as", "ann", "agent", "token", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        listed.contains("CTI") && listed.contains("live"),
        "{listed}"
    );
    assert!(!listed.contains(secret), "a listed token shows its secret");
    let id = made["id"].as_i64().expect("id").to_string();
    // Bob may not revoke Ann's token: to him it does not exist.
    let out = dossier(dir, &["--as", "bob", "agent", "token", "revoke", &id]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no token"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(dir, &["--as", "ann", "agent", "token", "revoke", &id]);
    let out = dossier(dir, &["--as", "ann", "agent", "token", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("revoked"));

    for bad in ["soon", "-5d", "0s"] {
        let flag = format!("--expires={bad}");
        let out = dossier(
            dir,
            &["--as", "boss", "agent", "token", "new", "ann", &flag],
        );
        assert!(!out.status.success(), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--expires"), "{bad}: {err}");
    }
    // A password shorter than 10 characters is refused, naming the rule.
    std::fs::write(dir.join("short"), "tiny\n").expect("file");
    let out = dossier(
        dir,
        &[
            "--as",
            "boss",
            "agent",
            "password",
            "ann",
            "--password-file",
            "short",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10"));
}

#[test]
fn sigterm_stops_the_server_cleanly_and_frees_the_store() {
    let dir = tempfile::tempdir().expect("dir");
    json(dir.path(), &["init"]);
    let mut served = serve(dir.path());
    let pid = served.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = served.child.wait().expect("wait");
    assert!(exit.success(), "dossier serve exited {exit:?} on SIGTERM");
    // The lock went with it: `dossier run` may start again.
    let out = dossier(dir.path(), &["run", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

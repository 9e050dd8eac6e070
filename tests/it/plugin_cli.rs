//! `dossier plugin list` and `dossier plugin inspect`, run as the real
//! binary on real built libraries.

use std::path::Path;
use std::process::{Command, Output};

use crate::built::{dossier_bin, entry, plugin, sha256};

/// `dossier ARGS` in `dir`, logging at its default level whatever the
/// environment running the tests says.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(dossier_bin());
    command
        .current_dir(dir)
        .args(args)
        .env_remove("DOSSIER_LOG")
        .env_remove("DOSSIER_CONFIG");
    command
}

fn dossier(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("run dossier")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Replaces the directory holding the built libraries and the SDK version,
/// which change between machines and releases. Snapshots also filter hashes.
fn redact(s: &str) -> String {
    let dir = plugin("noop-plugin")
        .parent()
        .expect("profile dir")
        .display()
        .to_string();
    s.replace(&dir, "[TARGET]").replace(
        &format!("dossier-sdk {}", dossier_sdk::SDK_VERSION),
        "dossier-sdk [SDK]",
    )
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({filters => vec![(r"\b[0-9a-f]{64}\b", "[SHA256]")]}, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

#[test]
fn list_shows_every_configured_plugin_and_fails_if_one_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let audit = plugin("audit-log-plugin");
    let noop = plugin("noop-plugin");
    let config = format!(
        "[[plugins]]\npath = {:?}\nsha256 = \"{}\"\n[plugins.config]\npath = \"audit.jsonl\"\n\n\
         [[plugins]]\npath = {:?}\ntrust = true\n\n\
         [[plugins]]\npath = {:?}\nsha256 = \"{}\"\n",
        audit.display().to_string(),
        sha256(&audit),
        noop.display().to_string(),
        noop.display().to_string(),
        "0".repeat(64),
    );
    std::fs::write(dir.path().join("dossier.toml"), config).expect("config");

    let out = dossier(dir.path(), &["plugin", "list"]);
    assert_eq!(out.status.code(), Some(1), "one plugin would be refused");
    snapshot!(
        "plugin_list",
        redact(&format!(
            "{}--- stderr\n{}",
            text(&out.stdout),
            text(&out.stderr)
        ))
    );

    let out = dossier(dir.path(), &["plugin", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(rows.as_array().map(Vec::len), Some(3));
    assert_eq!(rows[0]["info"]["name"], "audit-log");
    assert_eq!(rows[0]["hash"]["status"], "verified");
    assert_eq!(rows[1]["hash"]["status"], "trusted");
    assert_eq!(rows[1]["info"]["events"][0], "before_save");
    assert_eq!(rows[2]["hash"]["status"], "mismatch");
    assert_eq!(rows[2]["hash"]["actual"], sha256(&noop));
    assert!(rows[2]["info"].is_null());
    assert!(
        rows[2]["error"]
            .as_str()
            .is_some_and(|e| e.contains("refused"))
    );

    // Nothing was created: the audit plugin's file does not exist.
    assert!(!dir.path().join("audit.jsonl").exists());
}

#[test]
fn inspect_shows_the_handshake_and_the_lines_to_enable_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lib = plugin("webhook-plugin");
    let out = dossier(
        dir.path(),
        &["plugin", "inspect", &lib.display().to_string()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    snapshot!("plugin_inspect", redact(&text(&out.stdout)));

    let out = dossier(
        dir.path(),
        &["plugin", "inspect", "--json", &lib.display().to_string()],
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(info["name"], "webhook");
    assert_eq!(
        info["events"],
        serde_json::json!([
            "before_save",
            "after_save",
            "screen_pop",
            "disposition",
            "notification",
            "email_received",
            "email_held",
            "chat_offered",
            "chat_ended",
            "task_reminder",
            "directory_changed"
        ])
    );
    assert_eq!(info["thread_safe"], true);
    assert_eq!(info["sha256"], sha256(&lib));

    let bad = plugin("wrong-abi-plugin");
    let out = dossier(
        dir.path(),
        &["plugin", "inspect", &bad.display().to_string()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        redact(&text(&out.stderr)),
        "error: plugin [TARGET]/libwrong_abi_plugin.so: is incompatible: its plugin table speaks plugin ABI version 4, but this build speaks version 3; rebuild the plugin against dossier-sdk [SDK] (plugin ABI 3)\n"
    );
}

#[test]
fn outbox_list_shows_a_failing_plugin_delivery_and_retry_tries_it_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("dossier.toml"),
        crate::built::entry("probe-plugin", "fail_after_save = true"),
    )
    .expect("config");
    crate::util::create_store(dir.path());
    let added = dossier(
        dir.path(),
        &["customer", "add", "--account", "AC-1", "--name", "Ada"],
    );
    assert!(added.status.success(), "{}", text(&added.stderr));

    let out = dossier(dir.path(), &["outbox", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(
        listing.starts_with("#1 after_save_customer of customer 1 to probe: failed 1×\n"),
        "{listing}"
    );
    assert!(
        listing.contains("    last error: plugin probe: "),
        "{listing}"
    );
    assert!(
        listing.contains("    key customer:1:create:1, depth 0\n"),
        "{listing}"
    );

    let out = dossier(dir.path(), &["--json", "outbox", "retry", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(summary["retried"], 1);
    assert_eq!(summary["still_failing"], 1);
    let out = dossier(dir.path(), &["--json", "outbox", "list"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list[0]["attempts"], 2);
    assert_eq!(list[0]["state"], "failed");

    let out = dossier(dir.path(), &["outbox", "retry", "7"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .ends_with("error: outbox delivery 7 does not exist or was already delivered\n"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn plugin_log_lines_go_to_stderr_under_the_plugin_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The probe says `probe created` (at info) when the host creates it.
    std::fs::write(
        dir.path().join("dossier.toml"),
        entry("probe-plugin", "overlap_check = false"),
    )
    .expect("config");
    crate::util::create_store(dir.path());
    let list = |log: Option<&str>| {
        let mut command = command(dir.path(), &["--json", "customer", "list"]);
        if let Some(log) = log {
            command.env("DOSSIER_LOG", log);
        }
        let out = command.output().expect("run dossier");
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "[]\n", "stdout holds only the JSON");
        text(&out.stderr)
    };
    assert_eq!(list(None), "info: plugin probe: probe created\n");
    assert_eq!(list(Some("debug")), "info: plugin probe: probe created\n");
    assert_eq!(list(Some("warn")), "");
    assert_eq!(
        list(Some("error,dossier_host::plugin=info")),
        "info: plugin probe: probe created\n"
    );
}

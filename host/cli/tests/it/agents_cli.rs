//! `dossier agent`, `dossier group`, `--as` and the first admin, through
//! the real binary.

use crate::util::{create_store, dossier, json};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn init_makes_the_first_admin_who_then_manages_agents_and_groups() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    // The tests run as DOSSIER_AGENT=agent.smith: init makes them admin.
    let init = json(d, &["init"]);
    assert_eq!(init["admin"], "agent.smith");
    json(
        d,
        &["group", "add", "tier2", "--email", "Tier2@dossier.test"],
    );
    let ann = json(
        d,
        &[
            "agent", "add", "ann", "--name", "Ann Lee", "--group", "tier2",
        ],
    );
    assert_eq!(ann["role"], "agent");
    assert_eq!(ann["groups"][0], "tier2");
    let agents = json(d, &["agent", "list"]);
    let logins: Vec<&str> = agents
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["login"].as_str())
        .collect();
    assert_eq!(logins, vec!["agent.smith", "ann"]);
    assert_eq!(json(d, &["group", "members", "tier2"])[0], "ann");

    // Ann may not add agents; an unknown login may not act at all.
    let out = dossier(d, &["--as", "ann", "agent", "add", "bob"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: agent ann may not add agents: the `manage_agents` permission is missing\n"
    );
    let out = dossier(d, &["--as", "zed", "case", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: unknown agent `zed`: no enabled agent has this login\n"
    );
    let out = dossier(d, &["--json", "--as", "zed", "case", "list"]);
    let error: serde_json::Value = serde_json::from_slice(&out.stderr).expect("json error");
    assert_eq!(error["error"]["code"], "unknown_agent");

    // Permissions per agent, and disabling.
    let ann = json(d, &["agent", "update", "ann", "--grant", "reassign_cases"]);
    assert_eq!(ann["overrides"]["reassign_cases"], true);
    json(d, &["agent", "disable", "ann"]);
    assert!(
        !dossier(d, &["--as", "ann", "case", "list"])
            .status
            .success()
    );
    json(d, &["agent", "enable", "ann"]);
    assert!(
        dossier(d, &["--as", "ann", "case", "list"])
            .status
            .success()
    );
    let out = dossier(d, &["agent", "update", "ann", "--grant", "fly"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown permission `fly`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_store_without_agents_runs_as_system() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    std::fs::write(d.join("dossier.toml"), "").expect("config");
    create_store(d);
    // DOSSIER_AGENT names the default author only; nobody is checked.
    json(
        d,
        &["customer", "add", "--account", "AC-1", "--name", "Ada"],
    );
    json(d, &["agent", "add", "root", "--role", "admin"]);
    // Now the store has agents: agent.smith (the tests' DOSSIER_AGENT) is not one.
    let out = dossier(d, &["customer", "list"]);
    assert_eq!(
        stderr(&out),
        "error: unknown agent `agent.smith`: no enabled agent has this login\n"
    );
    assert!(
        dossier(d, &["--as", "root", "customer", "list"])
            .status
            .success()
    );
}

#[test]
fn search_from_the_command_line() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    json(d, &["init"]);
    json(
        d,
        &["customer", "add", "--account", "AC-1", "--name", "Ada"],
    );
    json(
        d,
        &[
            "case",
            "open",
            "--customer",
            "AC-1",
            "--subject",
            "Printer on fire",
        ],
    );
    json(
        d,
        &[
            "followup",
            "add",
            "--case",
            "1",
            "--note",
            "The printer smokes",
        ],
    );
    let hits = json(d, &["search", "printer"]);
    assert_eq!(hits.as_array().map(Vec::len), Some(2), "{hits}");
    let out = dossier(d, &["search", "smokes"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "follow-up #1 on case 1: The printer [smokes]\n"
    );
    json(d, &["case", "assign", "1", "--owner", "agent.smith"]);
    let mine = json(d, &["search", "--mine", "printer"]);
    assert_eq!(mine.as_array().map(Vec::len), Some(2), "{mine}");
    let mine = json(d, &["case", "list", "--mine", "--status", "open"]);
    assert_eq!(mine[0]["number"], 1);
    assert_eq!(
        json(d, &["case", "list", "--priority", "urgent"])
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    let out = dossier(d, &["search", "--customer", "AC-9", "printer"]);
    assert_eq!(out.status.code(), Some(1));
}

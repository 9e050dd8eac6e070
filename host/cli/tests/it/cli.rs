//! CLI sessions: JSON output and error messages, snapshotted with ids and
//! times redacted.

use crate::util::{dossier, failure, json};

macro_rules! assert_record {
    ($value:expr) => {
        insta::assert_json_snapshot!($value, {
            ".id" => "[id]",
            ".**.created_at" => "[time]",
            ".**.updated_at" => "[time]",
            "[].id" => "[id]",
        })
    };
}

#[test]
fn the_issue_session_works_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let init = dossier(d, &["init"]);
    assert!(init.status.success());
    assert!(d.join("dossier.toml").exists() && d.join("dossier.db").exists());

    assert_record!(json(
        d,
        &[
            "customer",
            "add",
            "--account",
            "AC-000001",
            "--name",
            "Ada Lovelace",
            "--phone",
            "+33 1 23 45 67 89",
            "--email",
            "Ada@Example.com",
        ]
    ));
    let found = json(d, &["customer", "find", "--phone", "+33123456789"]);
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    assert_eq!(found[0]["account"], "AC-000001");
    for (flag, value) in [
        ("--email", "ada@example.com"),
        ("--account", "AC-000001"),
        ("--field", "tier=bronze"),
        ("--phone", "01 23 45 67 89"),
    ] {
        let again = json(d, &["customer", "find", flag, value]);
        assert_eq!(again, found, "find {flag} {value}");
    }
    assert_record!(json(
        d,
        &[
            "case",
            "open",
            "--customer",
            "AC-000001",
            "--subject",
            "Jet scheduling problem"
        ]
    ));
    assert_record!(json(
        d,
        &[
            "followup",
            "add",
            "--case",
            "1",
            "--note",
            "Customer called about the schedule"
        ]
    ));
}

#[test]
fn records_can_be_updated_listed_and_closed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dossier(d, &["init"]);
    json(
        d,
        &[
            "customer",
            "add",
            "--account",
            "AC-1",
            "--name",
            "Ada",
            "--field",
            "tier=gold",
        ],
    );
    let updated = json(
        d,
        &[
            "customer",
            "update",
            "AC-1",
            "--name",
            "Ada Lovelace",
            "--phone",
            "mobile:06 12 34 56 78",
            "--field",
            "loyalty_id=LC-000001",
            "--city",
            "London",
        ],
    );
    assert_record!(updated);
    json(
        d,
        &[
            "case",
            "open",
            "--customer",
            "AC-1",
            "--subject",
            "First",
            "--field",
            "product=billing",
        ],
    );
    json(
        d,
        &[
            "case",
            "open",
            "--customer",
            "#1",
            "--subject",
            "Second",
            "--priority",
            "urgent",
        ],
    );
    json(d, &["agent", "add", "ann"]);
    let assigned = json(
        d,
        &["case", "assign", "2", "--owner", "ann", "--group", "tier2"],
    );
    assert_eq!(
        (assigned["owner"].as_str(), assigned["group"].as_str()),
        (Some("ann"), Some("tier2"))
    );
    let closed = json(d, &["case", "close", "1"]);
    assert_eq!(closed["status"], "closed");
    let open = json(d, &["case", "list", "--open"]);
    assert_eq!(open.as_array().map(Vec::len), Some(1));
    assert_eq!(open[0]["number"], 2);
    let status = json(
        d,
        &[
            "case",
            "update",
            "2",
            "--status",
            "pending_customer",
            "--field",
            "contract_ref=C-77",
        ],
    );
    assert_eq!(status["custom"]["contract_ref"]["text"], "C-77");

    json(d, &["followup", "add", "--case", "2", "--note", "one"]);
    json(
        d,
        &[
            "followup",
            "add",
            "--case",
            "2",
            "--kind",
            "email_out",
            "--body",
            "two",
        ],
    );
    let listed = json(d, &["followup", "list", "--case", "2"]);
    assert_eq!(listed[0]["body"], "two");
    assert_eq!(listed[1]["body"], "one");

    let task = json(
        d,
        &[
            "task",
            "add",
            "--case",
            "2",
            "--subject",
            "Call back",
            "--due",
            "2030-01-02 10:00",
            "--remind",
            "15",
        ],
    );
    assert_eq!(task["customer"], 1);
    let id = task["id"].to_string();
    let done = json(d, &["task", "done", &id]);
    assert_eq!(done["status"], "done");
    assert_eq!(
        json(d, &["task", "list", "--status", "planned"]),
        serde_json::json!([])
    );

    // The human form, for people at a terminal.
    let shown = dossier(d, &["case", "show", "2"]);
    insta::assert_snapshot!(String::from_utf8_lossy(&shown.stdout));
}

#[test]
fn errors_are_one_sentence_on_stderr_with_a_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rendered = vec![failure(d, &["customer", "list"])];
    dossier(d, &["init"]);
    json(
        d,
        &["customer", "add", "--account", "AC-1", "--name", "Ada"],
    );
    json(d, &["case", "open", "--customer", "AC-1", "--subject", "x"]);
    json(d, &["case", "close", "1"]);
    for args in [
        &["init"][..],
        &["customer", "add", "--account", "AC-1", "--name", "Again"],
        &[
            "customer",
            "add",
            "--account",
            "AC-2",
            "--name",
            "B",
            "--field",
            "tier=platinum",
        ],
        &[
            "customer",
            "add",
            "--account",
            "AC-2",
            "--name",
            "B",
            "--field",
            "shoe_size=42",
        ],
        &[
            "customer",
            "add",
            "--account",
            "AC-2",
            "--name",
            "B",
            "--phone",
            "not a phone",
        ],
        &["customer", "show", "AC-404"],
        &["customer", "find", "--field", "credit_limit=10"],
        &["case", "assign", "1", "--owner", "agent.smith"],
        &["case", "update", "1", "--severity", "apocalyptic"],
        &["case", "show", "99"],
        &["followup", "add", "--case", "99", "--note", "lost"],
        &[
            "task",
            "add",
            "--case",
            "1",
            "--subject",
            "x",
            "--due",
            "tomorrow-ish",
        ],
    ] {
        rendered.push(failure(d, args));
    }
    insta::assert_snapshot!(rendered.join("\n"));

    // A usage mistake gets clap's own message and exit code 2.
    let out = dossier(d, &["customer", "add", "--account", "AC-3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--name"));
}

#[test]
fn a_broken_config_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("dossier.toml"),
        "[store]\npath = \"x.db\"\nsize = 3\n",
    )
    .unwrap();
    insta::assert_snapshot!(failure(d, &["customer", "list"]));
}

/// The demo runs every step without a warning (its mail lands as files:
/// `[email.smtp] transport = "file"`), and its story reads as snapshotted:
/// records, pops, a case worked and closed, email threaded, one chat from
/// offer to logged case, a simulated day, QA review.
#[test]
fn the_demo_runs_on_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let out = dossier(dir.path(), &["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "the demo warns about nothing"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    insta::with_settings!({filters => vec![
        (r"Store and config in [^;]+;", "Store and config in [DIR];"),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "[TIME]"),
        (r"[0-9a-f]{24}@example\.com", "[MESSAGE-ID]"),
        (r"\[#[A-Z0-9]{12}\]", "[#TOKEN]"),
        (r"thread token [A-Z0-9]{12}", "thread token [TOKEN]"),
    ]}, {
        insta::assert_snapshot!(text);
    });
    // The demo leaves nothing behind in the working directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// With `--keep`, the demo's mail is there to read: one `0600` `.eml` file
/// per message sent, in `outbox-mail/`.
#[test]
fn the_demo_keeps_its_mail_as_files() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("demo");
    let out = dossier(dir.path(), &["demo", "--keep", keep.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(keep.join("outbox-mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let reply = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        reply.contains("\r\nSubject: Re: invoice number [#"),
        "{reply}"
    );
    assert!(
        reply.contains("\r\nTo: \"Alan Turing\" <alan@example.org>\r\n"),
        "{reply}"
    );
    assert!(
        reply.contains("Thank you, Alan: INV-1936 is corrected."),
        "{reply}"
    );
    #[cfg(unix)]
    for file in &files {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
}

#[test]
fn a_missing_store_is_refused_and_only_init_creates_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("dossier.toml"), "[store]\npath = \"crm.db\"\n").unwrap();
    for args in [
        &["customer", "list"][..],
        &["run", "--once"],
        &["agent", "list"],
    ] {
        let out = dossier(d, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "error: there is no store at crm.db: correct [store] path if the file was moved \
             or the path is misspelt, or create a new store with `dossier init`\n",
            "{args:?}"
        );
        assert!(!d.join("crm.db").exists(), "{args:?} created the store");
    }
    // init keeps a config whose store is missing and creates the store.
    let out = dossier(d, &["init"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("kept "));
    assert_eq!(
        std::fs::read_to_string(d.join("dossier.toml")).unwrap(),
        "[store]\npath = \"crm.db\"\n"
    );
    assert!(d.join("crm.db").is_file());
    assert!(dossier(d, &["customer", "list"]).status.success());
    // With both there, init refuses as before.
    assert!(String::from_utf8_lossy(&dossier(d, &["init"]).stderr).contains("pass --force"));
}

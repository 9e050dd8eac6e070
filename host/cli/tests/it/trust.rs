//! Issue 27's trust boundaries as the command line meets them: what an
//! agent is shown of tasks, which follow-ups they may write by hand.

use std::path::Path;

use crate::util::{dossier, json};

/// A store with admin `agent.smith`, agents `ann` and `bob`, customer
/// AC-1 with public case 1 and ann's private case 2, each with a task
/// whose reminder is due.
fn two_agents_and_a_private_case(d: &Path) {
    json(d, &["init"]);
    json(d, &["agent", "add", "ann"]);
    json(d, &["agent", "add", "bob"]);
    json(
        d,
        &["customer", "add", "--account", "AC-1", "--name", "Ada"],
    );
    json(
        d,
        &["case", "open", "--customer", "AC-1", "--subject", "Printer"],
    );
    json(
        d,
        &[
            "case",
            "open",
            "--customer",
            "AC-1",
            "--subject",
            "Private matter",
            "--private",
            "--owner",
            "ann",
        ],
    );
    for (case, subject) in [("1", "public call"), ("2", "secret call")] {
        json(
            d,
            &[
                "task",
                "add",
                "--case",
                case,
                "--subject",
                subject,
                "--due",
                "2020-01-02 10:00",
                "--remind",
                "15",
            ],
        );
    }
}

fn subjects(listed: &serde_json::Value) -> Vec<&str> {
    let mut s: Vec<&str> = listed
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|t| {
            t["subject"]
                .as_str()
                .or(t["reminder"]["task"]["subject"].as_str())
        })
        .collect();
    s.sort_unstable();
    s
}

#[test]
fn task_list_and_reminders_show_an_agent_only_the_tasks_of_cases_they_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_agents_and_a_private_case(d);
    let both = vec!["public call", "secret call"];
    assert_eq!(subjects(&json(d, &["task", "list"])), both);
    assert_eq!(subjects(&json(d, &["--as", "ann", "task", "list"])), both);
    for filter in [
        &["task", "list"][..],
        &["task", "list", "--case", "2"],
        &["task", "list", "--customer", "AC-1"],
        &["task", "list", "--status", "planned"],
    ] {
        let mut args = vec!["--as", "bob"];
        args.extend_from_slice(filter);
        let listed = json(d, &args);
        assert!(
            !subjects(&listed).contains(&"secret call"),
            "{filter:?}: {listed}"
        );
    }
    let human = dossier(d, &["--as", "bob", "task", "list"]);
    assert!(human.status.success());
    assert!(!String::from_utf8_lossy(&human.stdout).contains("secret"));

    // Bob's pass fires both reminders, and shows him his own.
    let fired = json(d, &["--as", "bob", "task", "reminders"]);
    assert_eq!(subjects(&fired), vec!["public call"], "{fired}");
    assert_eq!(
        json(d, &["--as", "bob", "task", "reminders"]),
        serde_json::json!([])
    );
}

#[test]
fn an_agent_may_not_write_system_or_email_in_follow_ups_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_agents_and_a_private_case(d);
    for kind in ["system", "email_in"] {
        for who in ["ann", "agent.smith"] {
            let out = dossier(
                d,
                &[
                    "--json", "--as", who, "followup", "add", "--case", "1", "--kind", kind,
                    "--body", "forged",
                ],
            );
            assert_eq!(out.status.code(), Some(1), "{who} {kind}");
            let error: serde_json::Value = serde_json::from_slice(&out.stderr).expect("json");
            assert_eq!(error["error"]["code"], "permission_denied");
            let message = error["error"]["message"].as_str().unwrap_or_default();
            assert_eq!(
                message,
                format!(
                    "agent {who} may not write a follow-up of kind `{kind}`: only Dossier itself writes {kind} follow-ups; write a note instead"
                )
            );
        }
    }
    let listed = json(d, &["followup", "list", "--case", "1"]);
    assert_eq!(listed, serde_json::json!([]));
    // The kinds an agent does write by hand still go in.
    for kind in ["note", "email_out", "chat_log"] {
        let written = json(
            d,
            &[
                "--as", "ann", "followup", "add", "--case", "1", "--kind", kind, "--body", "mine",
            ],
        );
        assert_eq!(written["kind"], kind);
    }
}

/// Whether `text` holds a character a terminal acts on (other than the
/// line break and the tab): C0, DEL, C1, bidirectional overrides.
fn drives_a_terminal(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

#[test]
fn human_output_escapes_control_characters_and_json_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    json(d, &["init"]);
    let name = "Eve\u{1b}]0;owned\u{7}";
    let subject = "\u{1b}[31mURGENT\u{1b}[0m\rrefund \u{9b}2J\u{7f} \u{202e}fdp.exe";
    let note = "line one\n\u{1b}[2Kline two\u{8}\u{8}";
    json(d, &["customer", "add", "--account", "AC-1", "--name", name]);
    json(
        d,
        &["case", "open", "--customer", "AC-1", "--subject", subject],
    );
    json(d, &["followup", "add", "--case", "1", "--note", note]);
    json(
        d,
        &[
            "task",
            "add",
            "--case",
            "1",
            "--subject",
            subject,
            "--due",
            "2030-01-02 10:00",
        ],
    );
    for args in [
        &["case", "show", "1"][..],
        &["case", "list"],
        &["customer", "show", "AC-1"],
        &["customer", "list"],
        &["followup", "list", "--case", "1"],
        &["task", "list"],
    ] {
        let out = dossier(d, args);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).expect("UTF-8");
        assert!(!drives_a_terminal(&text), "{args:?} printed raw: {text:?}");
        assert!(
            text.contains("\\u{1b}"),
            "{args:?} shows the escape: {text}"
        );
    }
    let shown = String::from_utf8(dossier(d, &["case", "show", "1"]).stdout).unwrap();
    assert!(
        shown.contains("\\u{1b}[31mURGENT\\u{1b}[0m\\rrefund \\u{9b}2J\\u{7f} \\u{202e}fdp.exe"),
        "{shown}"
    );
    // JSON keeps the text exactly as stored.
    assert_eq!(json(d, &["case", "show", "1"])["subject"], subject);
    assert_eq!(json(d, &["customer", "show", "AC-1"])["name"], name);
    assert_eq!(
        json(d, &["followup", "list", "--case", "1"])[0]["body"],
        note
    );
}

#[test]
fn a_csv_export_guards_formulas_unless_raw_and_reads_back_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    json(d, &["init"]);
    let formula = "=HYPERLINK(\"http://evil.test/\",\"click\")";
    json(
        d,
        &[
            "customer",
            "add",
            "--account",
            "AC-1",
            "--name",
            formula,
            "--phone",
            "+33123456789",
        ],
    );
    json(
        d,
        &[
            "case",
            "open",
            "--customer",
            "AC-1",
            "--subject",
            "+1 call me",
        ],
    );
    let export = |args: &[&str]| {
        let out = dossier(d, args);
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let customers = export(&["export", "customers"]);
    let row = customers.lines().nth(1).expect("a row");
    assert!(
        row.starts_with(
            "1,AC-1,\"'=HYPERLINK(\"\"http://evil.test/\"\",\"\"click\"\")\",main:+33123456789,"
        ),
        "{row}"
    );
    let raw = export(&["export", "customers", "--raw-csv"]);
    assert!(
        raw.lines()
            .nth(1)
            .expect("a row")
            .starts_with("1,AC-1,\"=HYPERLINK("),
        "{raw}"
    );
    let cases = export(&["export", "cases", "-o", "cases.csv"]);
    assert!(cases.is_empty());
    let cases = std::fs::read_to_string(d.join("cases.csv")).unwrap();
    assert!(cases.contains(",'+1 call me,"), "{cases}");

    // Into another store and out again: the same bytes but the times.
    let other = tempfile::tempdir().unwrap();
    let o = other.path();
    json(o, &["init"]);
    std::fs::write(o.join("customers.csv"), &customers).unwrap();
    std::fs::write(o.join("cases.csv"), &cases).unwrap();
    assert_eq!(
        json(o, &["import", "customers", "customers.csv"])["imported"],
        1
    );
    assert_eq!(json(o, &["import", "cases", "cases.csv"])["imported"], 1);
    assert_eq!(json(o, &["customer", "show", "AC-1"])["name"], formula);
    let untimed = |csv: &str| {
        csv.lines()
            .map(|l| l.rsplitn(3, ',').nth(2).unwrap_or(l).to_owned())
            .collect::<Vec<_>>()
    };
    let again = String::from_utf8(dossier(o, &["export", "customers"]).stdout).unwrap();
    assert_eq!(untimed(&again), untimed(&customers));
    let again = String::from_utf8(dossier(o, &["export", "cases"]).stdout).unwrap();
    assert_eq!(untimed(&again), untimed(&cases));
}

/// Every file under `dir` (itself included) with its mode, folders first.
#[cfg(unix)]
fn modes(dir: &Path) -> Vec<(std::path::PathBuf, bool, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(dir).unwrap();
    let mut out = vec![(
        dir.to_owned(),
        meta.is_dir(),
        meta.permissions().mode() & 0o777,
    )];
    if meta.is_dir() {
        for entry in std::fs::read_dir(dir).unwrap() {
            out.extend(modes(&entry.unwrap().path()));
        }
    }
    out
}

#[cfg(unix)]
#[test]
fn blobs_their_folders_saved_attachments_exports_and_backups_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    json(d, &["init"]);
    let raw = "From: Ada <ada@example.com>\r\nTo: support@example.com\r\nSubject: Logs\r\n\
        Message-ID: <logs@example.com>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain\r\n\r\nLogs attached.\r\n\
        --b\r\nContent-Type: text/plain; name=\"app.log\"\r\n\
        Content-Disposition: attachment; filename=\"app.log\"\r\n\r\nsecret log\r\n--b--\r\n";
    std::fs::write(d.join("logs.eml"), raw).unwrap();
    assert!(
        dossier(d, &["email", "ingest", "logs.eml"])
            .status
            .success()
    );
    let blob = json(d, &["followup", "list", "--case", "1"])[0]["attachments"][0]["blob"]
        .as_str()
        .expect("a blob")
        .to_owned();

    let blobs = modes(&d.join("dossier.blobs"));
    assert!(blobs.iter().any(|(_, is_dir, _)| !is_dir), "{blobs:?}");
    for (path, is_dir, mode) in &blobs {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{} is {mode:o}", path.display());
    }

    // `attachment get -o`: a new file, and one that was there, readable
    // by others, replaced.
    assert!(
        dossier(d, &["attachment", "get", &blob, "-o", "got.log"])
            .status
            .success()
    );
    std::fs::write(d.join("old.log"), "x").unwrap();
    std::fs::set_permissions(d.join("old.log"), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(
        dossier(d, &["attachment", "get", &blob, "-o", "old.log"])
            .status
            .success()
    );
    assert!(
        dossier(d, &["export", "customers", "-o", "customers.csv"])
            .status
            .success()
    );
    json(d, &["backup", "saved"]);
    let mut written = vec![
        (d.join("got.log"), false, 0),
        (d.join("old.log"), false, 0),
        (d.join("customers.csv"), false, 0),
    ];
    written.extend(modes(&d.join("saved")));
    for (path, is_dir, _) in written {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        let want = if is_dir { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{} is {mode:o}", path.display());
    }
    assert_eq!(std::fs::read(d.join("old.log")).unwrap(), b"secret log");
}

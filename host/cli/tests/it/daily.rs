//! An agent's daily path on the command line: their own profile, tasks
//! rescheduled and cancelled, a follow-up shown with its attachments by
//! short id, private cases they open, values checked against the config,
//! JSON errors, tables that fit the terminal and a maildir's summary.

use std::path::Path;

use crate::util::{command, dossier, failure, json};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A store run by admin agent.smith, with group tier2 (its own address),
/// agents ann (no address yet) and bob, and customer AC-1.
fn centre() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    json(
        d,
        &["group", "add", "tier2", "--email", "tier2@dossier.test"],
    );
    json(d, &["agent", "add", "ann", "--name", "Ann"]);
    json(d, &["agent", "add", "bob", "--email", "bob@dossier.test"]);
    json(
        d,
        &["customer", "add", "--account", "AC-1", "--name", "Ada"],
    );
    dir
}

/// Runs a command that must fail and returns its stderr.
fn refused(d: &Path, args: &[&str]) -> String {
    let out = dossier(d, args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: {}",
        text(&out.stdout)
    );
    text(&out.stderr)
}

#[test]
fn an_agent_sets_their_own_name_and_from_address_unless_an_admin_withholds_it() {
    let dir = centre();
    let d = dir.path();
    let ann = json(
        d,
        &[
            "--as",
            "ann",
            "agent",
            "profile",
            "--name",
            "Ann Lee",
            "--from",
            "Ann@Dossier.test",
        ],
    );
    assert_eq!(ann["display_name"], "Ann Lee");
    assert_eq!(ann["email"], "ann@dossier.test");
    // Her new address is her default From.
    json(
        d,
        &["case", "open", "--customer", "AC-1", "--subject", "Printer"],
    );
    let draft = json(d, &["--as", "ann", "email", "draft", "new", "--case", "1"]);
    assert_eq!(draft["from"]["address"], "ann@dossier.test");
    assert_eq!(draft["from"]["name"], "Ann Lee");

    let errors = [
        // A colleague's or a group's address would let her send as them.
        failure(
            d,
            &[
                "--as",
                "ann",
                "agent",
                "profile",
                "--email",
                "bob@dossier.test",
            ],
        ),
        failure(
            d,
            &[
                "--as",
                "ann",
                "agent",
                "profile",
                "--email",
                "TIER2@dossier.test",
            ],
        ),
        // Others' profiles and her own role stay the admins'.
        failure(
            d,
            &["--as", "ann", "agent", "update", "bob", "--name", "Robert"],
        ),
        failure(
            d,
            &["--as", "ann", "agent", "update", "ann", "--role", "admin"],
        ),
    ]
    .join("\n");
    assert!(
        refused(d, &["--as", "ann", "agent", "profile", "--name", " "])
            .contains("display name cannot be empty")
    );
    // The admin withholds it: she keeps what she has and changes nothing.
    json(
        d,
        &["agent", "update", "ann", "--withhold", "edit_own_profile"],
    );
    let withheld = failure(d, &["--as", "ann", "agent", "profile", "--name", "Z"]);
    insta::assert_snapshot!(format!("{errors}\n{withheld}"));
    assert_eq!(
        json(d, &["agent", "show", "ann"])["display_name"],
        "Ann Lee"
    );
    // Without options, it shows her profile.
    let shown = json(d, &["--as", "ann", "agent", "profile"]);
    assert_eq!(shown["login"], "ann");
}

#[test]
fn a_task_is_rescheduled_its_reminder_rearmed_reassigned_and_cancelled() {
    let dir = centre();
    let d = dir.path();
    json(
        d,
        &["case", "open", "--customer", "AC-1", "--subject", "Printer"],
    );
    let add = |assignee: &str| {
        dossier(
            d,
            &[
                "task",
                "add",
                "--case",
                "1",
                "--subject",
                "Call back",
                "--due",
                "+3m",
                "--remind",
                "5",
                "--assignee",
                assignee,
            ],
        )
    };
    let errors = [
        failure(
            d,
            &[
                "task",
                "add",
                "--case",
                "1",
                "--subject",
                "s",
                "--due",
                "+1h",
                "--assignee",
                "bobb",
            ],
        ),
        failure(
            d,
            &[
                "task",
                "add",
                "--case",
                "1",
                "--subject",
                "s",
                "--due",
                "+1h",
                "--assignee",
                "bob@",
            ],
        ),
        failure(d, &["case", "assign", "1", "--owner", "an"]),
        failure(
            d,
            &[
                "case",
                "open",
                "--customer",
                "AC-1",
                "--subject",
                "s",
                "--owner",
                "zed",
            ],
        ),
    ]
    .join("\n");
    insta::assert_snapshot!(errors);
    assert!(add("bob").status.success());

    // Due in 3 minutes, reminded 5 before: the reminder fires now, once.
    let fired = json(d, &["task", "reminders"]);
    assert_eq!(fired.as_array().map(Vec::len), Some(1));
    assert_eq!(
        json(d, &["task", "reminders"]).as_array().map(Vec::len),
        Some(0)
    );
    // Rescheduled to tomorrow: nothing due now.
    let moved = json(
        d,
        &[
            "task",
            "update",
            "1",
            "--due",
            "tomorrow 09:00",
            "--subject",
            "Call Ada",
        ],
    );
    assert_eq!(moved["subject"], "Call Ada");
    assert_eq!(moved["reminder_minutes"], 5);
    assert_eq!(
        json(d, &["task", "reminders"]).as_array().map(Vec::len),
        Some(0)
    );
    // Moved back to soon: the reminder is armed again and fires again.
    let back = json(
        d,
        &[
            "task",
            "update",
            "1",
            "--due",
            "+2m",
            "--assignee",
            "ann@example.com",
        ],
    );
    assert_eq!(back["assignee"], "ann@example.com");
    let fired = json(d, &["task", "reminders"]);
    assert_eq!(fired.as_array().map(Vec::len), Some(1));
    assert_eq!(fired[0]["reminder"]["task"]["subject"], "Call Ada");
    // No reminder, nobody: both can be taken away.
    let bare = json(d, &["task", "update", "1", "--no-remind", "--no-assignee"]);
    assert!(bare["reminder_minutes"].is_null() && bare["assignee"].is_null());

    // A cancelled task's reminder never fires.
    let task = json(
        d,
        &[
            "task",
            "add",
            "--case",
            "1",
            "--subject",
            "Visit",
            "--due",
            "+1m",
            "--remind",
            "10",
            "--assignee",
            "ann",
        ],
    );
    let id = task["id"].to_string();
    let cancelled = json(d, &["task", "cancel", &id]);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        json(d, &["task", "reminders"]).as_array().map(Vec::len),
        Some(0)
    );
    let listed = json(d, &["task", "list", "--status", "cancelled"]);
    assert_eq!(listed[0]["subject"], "Visit");
}

#[test]
fn a_private_case_an_agent_opens_is_theirs_unless_another_owner_is_named() {
    let dir = centre();
    let d = dir.path();
    let mine = json(
        d,
        &[
            "--as",
            "ann",
            "case",
            "open",
            "--customer",
            "AC-1",
            "--subject",
            "Mine",
            "--private",
        ],
    );
    assert_eq!(mine["owner"], "ann");
    assert_eq!(mine["visibility"], "private");
    let shown = json(d, &["--as", "ann", "case", "show", "1"]);
    assert_eq!(shown["subject"], "Mine");
    // Bob may not see it; a public case has no owner unless named.
    assert!(refused(d, &["--as", "bob", "case", "show", "1"]).contains("case 1"));
    let public = json(
        d,
        &[
            "--as",
            "ann",
            "case",
            "open",
            "--customer",
            "AC-1",
            "--subject",
            "Open",
        ],
    );
    assert!(public["owner"].is_null());
    let help = dossier(d, &["case", "open", "--help"]);
    let help = text(&help.stdout);
    assert!(
        help.contains("only its owner, its group's members") && !help.contains("from the customer"),
        "{help}"
    );
}

#[test]
fn unknown_values_are_refused_with_the_valid_ones_and_json_errors_stay_json() {
    let dir = centre();
    let d = dir.path();
    let errors = [
        failure(d, &["case", "list", "--status", "opne"]),
        failure(d, &["case", "list", "--priority", "hgh"]),
        failure(d, &["case", "list", "--owner", "bobby"]),
        failure(d, &["task", "list", "--status", "planed"]),
    ]
    .join("\n");
    insta::assert_snapshot!(errors);

    // A disabled agent's cases can still be listed.
    json(d, &["agent", "disable", "bob"]);
    assert_eq!(
        json(d, &["case", "list", "--owner", "bob"]),
        serde_json::json!([])
    );

    // With --json, a refusal and a usage error alike are one JSON object.
    for (args, code, exit) in [
        (
            &["--json", "case", "list", "--status", "opne"][..],
            "invalid_input",
            1,
        ),
        (&["--json", "case", "list", "--bogus"][..], "usage", 2),
        (&["case", "list", "--json", "--status"][..], "usage", 2),
        (
            &["--json", "task", "list", "--status", "planed"][..],
            "usage",
            2,
        ),
        (&["--json", "nonsense"][..], "usage", 2),
        (
            &[
                "--json", "email", "draft", "new", "--case", "1", "--expand", "txt",
            ][..],
            "usage",
            2,
        ),
    ] {
        let out = dossier(d, args);
        assert_eq!(out.status.code(), Some(exit), "{args:?}");
        assert!(out.stdout.is_empty());
        let error: serde_json::Value = serde_json::from_slice(&out.stderr)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&out.stderr)));
        assert_eq!(error["error"]["code"], code, "{args:?}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // Help stays text, on stdout, with success.
    let help = dossier(d, &["--json", "case", "list", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("Usage: dossier case list"));
}

/// Two contents whose attachment ids (their sha256) share the first four
/// hex digits, found by trying.
fn colliding_contents() -> (String, String) {
    use sha2::Digest as _;
    let mut seen = std::collections::HashMap::new();
    for i in 0.. {
        let content = format!("attachment body {i}");
        let hash = sha2::Sha256::digest(content.as_bytes());
        let prefix = format!("{:02x}{:02x}", hash[0], hash[1]);
        if let Some(other) = seen.insert(prefix, content.clone()) {
            return (other, content);
        }
    }
    unreachable!("the loop returns")
}

fn hex_id(content: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(content.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_follow_up_is_shown_with_short_attachment_ids_that_attachment_get_takes() {
    let dir = centre();
    let d = dir.path();
    let (one, two) = colliding_contents();
    let part = |name: &str, body: &str| {
        format!(
            "--b\r\nContent-Type: text/plain; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{body}\r\n"
        )
    };
    let raw = format!(
        "From: Ada Lovelace <ada@example.com>\r\nTo: Support <support@example.com>\r\n\
         Cc: Charles <charles@example.com>\r\nSubject: Logs\r\nMessage-ID: <logs@example.com>\r\n\
         Date: Mon, 23 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nLogs attached.\r\n{}{}--b--\r\n",
        part("one.log", &one),
        part("two.log", &two)
    );
    std::fs::write(d.join("logs.eml"), raw).expect("write");
    let out = dossier(d, &["email", "ingest", "logs.eml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let email = json(d, &["followup", "list", "--case", "1"])[0].clone();
    let id = email["id"].to_string();
    let (id_one, id_two) = (hex_id(&one), hex_id(&two));
    assert_eq!(email["attachments"][0]["blob"], id_one.as_str());
    let shared = id_one
        .chars()
        .zip(id_two.chars())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(shared >= 4);
    let short = |blob: &str| blob[..(shared + 1).max(8)].to_owned();

    // `followup show` and `followup list` show the short ids.
    let shown = dossier(d, &["followup", "show", &id]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let shown = text(&shown.stdout);
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}( UTC)?", "[time]"),
        (id_one.as_str(), "[id one]"),
        (id_two.as_str(), "[id two]"),
        (short(&id_one).as_str(), "[short one]"),
        (short(&id_two).as_str(), "[short two]"),
    ]}, {
        insta::assert_snapshot!(shown);
    });
    let listed = text(&dossier(d, &["followup", "list", "--case", "1"]).stdout);
    assert!(
        listed.contains(&format!("`dossier attachment get {}`", short(&id_one))),
        "{listed}"
    );
    assert!(
        listed.contains(&format!("`dossier attachment get {}`", short(&id_two))),
        "{listed}"
    );
    let context = text(&dossier(d, &["email", "context", &id]).stdout);
    assert!(
        context.contains(&short(&id_two)) && !context.contains(&id_two),
        "{context}"
    );
    let as_json = json(d, &["followup", "show", &id]);
    assert_eq!(as_json["attachments"][1]["blob"], id_two.as_str());

    // The short id, and any unique prefix, gets the bytes; so does the whole id.
    for typed in [
        short(&id_one),
        id_one[..shared + 1].to_owned(),
        id_one.clone(),
    ] {
        let out = dossier(d, &["attachment", "get", &typed]);
        assert!(out.status.success(), "{typed}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), one);
    }
    // An ambiguous prefix is refused, listing what it could be.
    let ambiguous = refused(d, &["attachment", "get", &id_one[..4]]);
    assert!(
        ambiguous.contains("is ambiguous")
            && ambiguous.contains(&id_one[..8])
            && ambiguous.contains(&id_two[..8]),
        "{ambiguous}"
    );
    let none = refused(d, &["attachment", "get", "0000000000"]);
    assert!(none.contains("not found"), "{none}");
    let short_typed = refused(d, &["attachment", "get", "abc"]);
    assert!(short_typed.contains("at least"), "{short_typed}");
    // An agent who may not see the case gets nothing by prefix either.
    json(d, &["case", "update", "1", "--visibility", "private"]);
    let hidden = refused(d, &["--as", "bob", "attachment", "get", &short(&id_one)]);
    assert!(hidden.contains("not found"), "{hidden}");
}

#[test]
fn tables_are_cut_to_the_width_with_an_ellipsis_and_a_maildir_prints_one_summary() {
    let dir = centre();
    let d = dir.path();
    json(
        d,
        &[
            "case",
            "open",
            "--customer",
            "AC-1",
            "--subject",
            "The jet scheduling problem that keeps coming back every Monday morning",
        ],
    );
    let listed = |columns: Option<&str>| {
        let mut c = command(d, &["case", "list"]);
        if let Some(columns) = columns {
            c.env("COLUMNS", columns);
        } else {
            c.env_remove("COLUMNS");
        }
        text(&c.output().expect("runs").stdout)
    };
    let narrow = listed(Some("80"));
    insta::assert_snapshot!(narrow);
    assert!(narrow.lines().all(|l| l.chars().count() <= 80), "{narrow}");
    assert!(narrow.contains('…'));
    // Not a terminal and no COLUMNS: whole lines, for pipes and files.
    let whole = listed(None);
    assert!(whole.contains("every Monday morning"), "{whole}");

    // 300 messages in a maildir: one summary line, not one per message.
    let maildir = d.join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    for n in 0..300 {
        let raw = format!(
            "From: c{n}@example.com\r\nTo: support@example.com\r\nSubject: Question {n}\r\n\
             Message-ID: <q{n}@example.com>\r\n\r\nBody {n}.\r\n"
        );
        std::fs::write(maildir.join("new").join(format!("{n:04}.host")), raw).expect("write");
    }
    std::fs::write(maildir.join("new").join("0999.host"), b"\x00 not mail").expect("write");
    let out = dossier(d, &["email", "ingest", "--maildir", "Maildir"]);
    assert_eq!(out.status.code(), Some(65));
    let said = text(&out.stdout);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.starts_with(
            "300 message(s) ingested from Maildir/new (300 opened a case), 1 left in new/"
        ),
        "{said}"
    );
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: 0999.host: cannot read email"),
        "{err}"
    );
    // With --json, a line per message stays, for scripts.
    std::fs::write(
        maildir.join("new").join("1000.host"),
        "From: z@example.com\r\nTo: support@example.com\r\nSubject: Z\r\nMessage-ID: <z@example.com>\r\n\r\nZ\r\n",
    )
    .expect("write");
    let out = dossier(d, &["--json", "email", "ingest", "--maildir", "Maildir"]);
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["source"], "1000.host");
}

/// The same daily path over HTTP: what `task update`, `agent profile` and
/// `case open --private` call.
#[test]
fn the_api_reschedules_tasks_edits_ones_profile_and_gives_a_private_case_its_opener() {
    use crate::serve::{Auth, Centre, call};
    use serde_json::json as body;
    let c = Centre::new();
    let ann = c.token("ann");
    let ann = Auth::Token(&ann);
    crate::util::json(
        c.dir.path(),
        &[
            "--as",
            "boss",
            "customer",
            "add",
            "--account",
            "AC-1",
            "--name",
            "Ada",
        ],
    );
    let (status, case) = call(
        &c,
        "POST",
        "/api/v1/cases",
        ann,
        Some(&body!({"customer": "AC-1", "subject": "Mine", "visibility": "private"})),
    );
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["owner"], "ann");
    let (status, task) = call(
        &c,
        "POST",
        "/api/v1/tasks",
        ann,
        Some(
            &body!({"case": 1, "kind": "call", "subject": "Call", "due_at": "2030-01-02T09:00:00Z", "reminder_minutes": 15}),
        ),
    );
    assert_eq!(status, 200, "{task}");
    let (status, task) = call(
        &c,
        "PATCH",
        "/api/v1/tasks/1",
        ann,
        Some(
            &body!({"due_at": "2030-01-03T10:00:00Z", "reminder_minutes": null, "assignee": "bob"}),
        ),
    );
    assert_eq!(status, 200, "{task}");
    assert_eq!(task["due_at"], "2030-01-03T10:00:00Z");
    assert!(task["reminder_minutes"].is_null());
    assert_eq!(task["assignee"], "bob");
    let (status, problem) = call(
        &c,
        "PATCH",
        "/api/v1/tasks/1",
        ann,
        Some(&body!({"assignee": "bobb"})),
    );
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did you mean `bob`")),
        "{problem}"
    );

    let (status, problem) = call(
        &c,
        "POST",
        "/api/v1/cases/1/assign",
        ann,
        Some(&body!({"owner": "an"})),
    );
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did you mean `ann`")),
        "{problem}"
    );

    let (status, me) = call(
        &c,
        "PATCH",
        "/api/v1/agents/ann",
        ann,
        Some(&body!({"name": "Ann Lee", "email": "ann@dossier.test"})),
    );
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "ann@dossier.test");
    let (status, _) = call(
        &c,
        "PATCH",
        "/api/v1/agents/bob",
        ann,
        Some(&body!({"name": "Robert"})),
    );
    assert_eq!(status, 403);
}

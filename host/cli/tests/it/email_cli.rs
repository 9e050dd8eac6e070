//! `dossier email ingest` as an MTA and a cron job run it: stdin with
//! sysexits codes, files, a maildir, and SIGKILL in the middle of a
//! maildir run; `workbin` and `attachment get`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{command, dossier, json, with_stdin};

fn init(d: &Path) {
    let out = dossier(d, &["init"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn message(n: usize, reply_to: Option<usize>) -> String {
    let threading = reply_to
        .map(|r| format!("In-Reply-To: <m{r}@example.com>\r\n"))
        .unwrap_or_default();
    format!(
        "From: Customer {c} <c{c}@example.com>\r\nTo: support@example.com\r\n\
         Subject: Question {n}\r\nMessage-ID: <m{n}@example.com>\r\n\
         Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n{threading}\r\nBody of message {n}.\r\n",
        c = reply_to.unwrap_or(n) % 50
    )
}

fn stdin_ingest(d: &Path, input: &[u8]) -> std::process::Output {
    with_stdin(d, &["email", "ingest", "-"], input)
}

#[test]
fn stdin_ingest_answers_an_mta_with_sysexits_codes() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();

    // No config yet: a setup problem is a temporary failure, so the MTA
    // keeps the mail and retries instead of bouncing it.
    let out = stdin_ingest(d, message(1, None).as_bytes());
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    init(d);
    let out = stdin_ingest(d, message(1, None).as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("stdin: opened case 1 as follow-up #1"),
        "{said}"
    );

    let out = stdin_ingest(d, message(1, None).as_bytes());
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("seen before"));

    // Not an email: bounced (65), one line naming the source.
    let out = stdin_ingest(d, b"");
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: cannot read email stdin:"), "{err}");
}

#[test]
fn files_and_a_maildir_are_ingested_and_each_message_moves_to_cur_once_committed() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    init(d);
    std::fs::write(d.join("one.eml"), message(1, None)).expect("write");
    std::fs::write(d.join("two.eml"), message(2, Some(1))).expect("write");
    let out = dossier(d, &["email", "ingest", "one.eml", "two.eml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("one.eml: opened case 1"), "{said}");
    assert!(said.contains("two.eml: joined case 1"), "{said}");

    let maildir = d.join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    for n in 3..13 {
        let reply = (n % 3 == 0).then_some(n - 1);
        std::fs::write(
            maildir.join("new").join(format!("{n:04}.host")),
            message(n, reply),
        )
        .expect("write");
    }
    std::fs::write(maildir.join("new").join("0099.host"), b"\x00\x01 not mail").expect("write");
    let out = dossier(d, &["email", "ingest", "--maildir", "Maildir"]);
    assert_eq!(
        out.status.code(),
        Some(65),
        "the unreadable message is reported"
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("10 message(s) ingested"), "{said}");
    assert!(said.contains("1 left in new/"), "{said}");
    let left: Vec<_> = std::fs::read_dir(maildir.join("new"))
        .expect("new")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, ["0099.host"]);
    assert!(maildir.join("cur").join("0003.host:2,S").is_file());
}

/// How many times each Message-ID is in the store, and whether SQLite
/// finds the file sound.
fn store_state(db: &Path) -> (std::collections::BTreeMap<String, i64>, String) {
    let conn = rusqlite::Connection::open(db).expect("db");
    let mut stmt = conn
        .prepare("SELECT message_id, count(*) FROM follow_ups WHERE kind = 'email_in' GROUP BY 1")
        .expect("prepare");
    let counts = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    (counts, check)
}

#[test]
fn sigkill_at_random_moments_of_a_maildir_run_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    init(d);
    // Small batches, so kills land between a batch's commit and its moves.
    let config = std::fs::read_to_string(d.join("dossier.toml")).expect("config");
    assert!(
        config.contains("maildir_batch = 100"),
        "the init template sets the batch"
    );
    std::fs::write(
        d.join("dossier.toml"),
        config.replace("maildir_batch = 100", "maildir_batch = 7"),
    )
    .expect("config");
    let maildir = d.join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    let total = 400;
    for n in 0..total {
        let reply = (n % 10 < 3 && n > 0).then(|| n - 1);
        std::fs::write(
            maildir.join("new").join(format!("{n:05}.host")),
            message(n, reply),
        )
        .expect("write");
    }
    // A fixed-seed generator: the same "random" moments on every run.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // What every run reported, message by message: a write counted twice
    // or an ingest error (a second write refused by the unique index)
    // would show a broken idempotency key; the store alone cannot.
    let mut said = String::new();
    let mut errors = String::new();
    let mut kills = 0;
    while kills < 20 {
        // With --json, each message's outcome is a line as it commits
        // (for people, one summary line at the end).
        let mut child = command(d, &["--json", "email", "ingest", "--maildir", "Maildir"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Let it run for a random number of reported messages (0: kill it
        // as it starts), then kill it without warning.
        let lines = next() % 40;
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let mut finished = false;
        for _ in 0..lines {
            line.clear();
            if stdout.read_line(&mut line).expect("read") == 0 {
                finished = true;
                break;
            }
            said.push_str(&line);
        }
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        let _ = child.wait();
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
        said.push_str(&rest);
        let mut stderr = String::new();
        let _ = child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr);
        errors.push_str(&stderr);
        if finished {
            break;
        }
        kills += 1;
        let (counts, check) = store_state(&d.join("dossier.db"));
        assert_eq!(check, "ok", "after kill {kills}");
        assert!(counts.values().all(|&c| c == 1), "a message stored twice");
        // Everything moved to cur/ is in the store.
        for entry in std::fs::read_dir(maildir.join("cur")).expect("cur") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            let n: usize = name[..5].parse().expect("number");
            assert!(
                counts.contains_key(&format!("m{n}@example.com")),
                "{name} lost"
            );
        }
    }
    // A last run to completion.
    let out = dossier(d, &["--json", "email", "ingest", "--maildir", "Maildir"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said.push_str(&String::from_utf8_lossy(&out.stdout));
    assert!(
        !errors.contains("error:"),
        "an ingest failed after a kill: {errors}"
    );
    let mut written = std::collections::BTreeMap::<String, usize>::new();
    let mut outcomes = std::collections::BTreeSet::new();
    for line in said.lines() {
        // A line cut by the kill is no outcome.
        let Ok(reported) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(name) = reported["source"].as_str() else {
            continue;
        };
        if name.ends_with(".host") {
            outcomes.insert(name.to_owned());
            if reported["result"]["outcome"] == "stored" {
                *written.entry(name.to_owned()).or_default() += 1;
            }
        }
    }
    assert!(
        written.values().all(|&n| n == 1),
        "a message written twice: {:?}",
        written.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    assert_eq!(
        outcomes.len(),
        total,
        "every message has its outcome reported"
    );
    let (counts, check) = store_state(&d.join("dossier.db"));
    assert_eq!(check, "ok");
    assert_eq!(counts.len(), total, "every message is in the store");
    assert!(counts.values().all(|&c| c == 1));
    assert_eq!(
        std::fs::read_dir(maildir.join("new")).expect("new").count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(maildir.join("cur")).expect("cur").count(),
        total
    );
    assert!(
        kills >= 5,
        "only {kills} kills landed before the run finished"
    );
}

#[test]
fn an_email_shows_its_headers_and_attachment_and_the_attachment_comes_back() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    init(d);
    let raw = "From: Ada Lovelace <ada@example.com>\r\nTo: Support <support@example.com>\r\n\
        Cc: Charles <charles@example.com>\r\nSubject: Logs\r\nMessage-ID: <logs@example.com>\r\n\
        Date: Mon, 23 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain\r\n\r\nLogs attached.\r\n\
        --b\r\nContent-Type: text/plain; name=\"app.log\"\r\n\
        Content-Disposition: attachment; filename=\"app.log\"\r\n\r\nline one\r\nline two\r\n--b--\r\n";
    std::fs::write(d.join("logs.eml"), raw).expect("write");
    assert!(
        dossier(d, &["email", "ingest", "logs.eml"])
            .status
            .success()
    );
    let list = json(d, &["followup", "list", "--case", "1"]);
    let blob = list[0]["attachments"][0]["blob"]
        .as_str()
        .expect("blob id")
        .to_owned();
    let shown = dossier(d, &["followup", "list", "--case", "1"]);
    assert!(shown.status.success());
    let out = dossier(d, &["attachment", "get", &blob, "-o", "got.log"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(d.join("got.log")).expect("read"),
        "line one\r\nline two"
    );
    let bad = dossier(d, &["attachment", "get", "../../etc/passwd"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not an attachment id"));

    let show = dossier(d, &["--json", "followup", "list", "--case", "1"]);
    let value: serde_json::Value = serde_json::from_slice(&show.stdout).expect("json");
    insta::assert_json_snapshot!("ingested_email_follow_up", value, {
        "[].created_at" => "[time]",
    });
}

#[test]
fn an_agent_drafts_a_reply_edits_it_from_stdin_and_saves_it_on_the_case() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    init(d);
    std::fs::write(d.join("in.eml"), message(1, None)).expect("write");
    assert!(dossier(d, &["email", "ingest", "in.eml"]).status.success());
    let draft = json(d, &["email", "draft", "reply", "--email", "1"]);
    let id = draft["id"].as_i64().expect("id").to_string();
    assert_eq!(draft["to"][0]["address"], "c1@example.com");
    assert_eq!(draft["subject"], "Re: Question 1");

    let out = with_stdin(
        d,
        &[
            "email",
            "draft",
            "edit",
            &id,
            "--body-file",
            "-",
            "--cc",
            "Boss <boss@example.com>",
        ],
        b"Here is the answer.\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    let shown = shown
        .lines()
        .filter(|l| !l.starts_with("draft "))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("edited_draft", shown);

    // This store has no [email.smtp]: sending is refused and the draft stays.
    let refused = dossier(d, &["email", "draft", "send", &id]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("[email.smtp]"));
    let saved = json(d, &["email", "draft", "save", &id]);
    assert_eq!(saved["state"], "saved");
    let list = json(d, &["followup", "list", "--case", "1"]);
    assert_eq!(list[0]["kind"], "email_saved");
    assert_eq!(list[0]["body"], "Here is the answer.\n");
    let again = dossier(d, &["email", "draft", "discard", &id]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("is saved already"));
}

/// A message whose subject is `subject`.
fn titled(subject: &str, id: &str) -> String {
    format!(
        "From: Ann <ann@example.com>\r\nTo: support@example.com\r\nSubject: {subject}\r\n\
         Message-ID: <{id}>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\nPlease help.\r\n"
    )
}

#[test]
fn held_mail_exits_0_and_is_listed_shown_released_and_discarded() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    init(d);
    std::fs::write(
        d.join("scripts/hold.rhai"),
        "fn before_save_case(c) { if c.subject.contains(\"HOLD\") { veto(\"cases about HOLD need a contract\"); } }\n",
    )
    .expect("script");
    let out = stdin_ingest(d, titled("HOLD my order", "h1@example.com").as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "a held email is kept: the MTA must not retry it\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("stdin: held as #1"), "{said}");
    assert!(said.contains("cases about HOLD need a contract"), "{said}");
    let out = stdin_ingest(d, titled("HOLD this too", "h2@example.com").as_bytes());
    assert_eq!(out.status.code(), Some(0));

    let list = dossier(d, &["email", "held", "list"]);
    assert!(list.status.success());
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains("HOLD my order") && listed.contains("HOLD this too"),
        "{listed}"
    );

    let show = dossier(d, &["email", "held", "show", "1"]);
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(
        shown.contains("held email #1 (held) from ann@example.com"),
        "{shown}"
    );
    assert!(shown.contains("  | Subject: HOLD my order"), "{shown}");
    let raw = dossier(d, &["email", "held", "show", "1", "--raw"]);
    assert_eq!(
        raw.stdout,
        titled("HOLD my order", "h1@example.com").as_bytes()
    );

    // The rule is fixed: the release stores it on a new case.
    std::fs::remove_file(d.join("scripts/hold.rhai")).expect("fix the rule");
    let out = dossier(d, &["email", "held", "release", "1"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.starts_with("held email #1 released: opened case 1"),
        "{said}"
    );
    let out = dossier(d, &["email", "held", "discard", "2"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("held email #2 (discarded)"));
    let list = dossier(d, &["email", "held", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("no held mail"));
    let all = json(d, &["email", "held", "list", "--all"]);
    assert_eq!(all[0]["state"], "released");
    assert_eq!(all[1]["state"], "discarded");
    let again = dossier(d, &["email", "held", "release", "2"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("was discarded already"));
}

#[test]
fn mail_with_no_text_is_stored_and_shown_as_no_text() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    init(d);
    let raw = "From: Scanner <scanner@office.example.com>\r\nTo: support@example.com\r\n\
        Subject: Scanned document\r\nMessage-ID: <scan@example.com>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";
    let out = stdin_ingest(d, raw.as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = dossier(d, &["followup", "list", "--case", "1"]);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(listed.contains("(no text)"), "{listed}");
    let show = dossier(d, &["email", "context", "1"]);
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(shown.contains("  | (no text)"), "{shown}");
    assert!(shown.contains("scan.pdf"), "{shown}");
}

/// `draft new --customer` opens a case for the email; `draft discard`
/// closes it again when nothing else was written on it, and says so.
#[test]
fn discarding_a_new_email_to_a_customer_closes_its_empty_case() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    init(d);
    let made = dossier(
        d,
        &[
            "customer",
            "add",
            "--account",
            "AC-000001",
            "--name",
            "Ada Lovelace",
            "--email",
            "ada@example.com",
        ],
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let draft = json(d, &["email", "draft", "new", "--customer", "AC-000001"]);
    assert_eq!(draft["opened_case"], true);
    let case = draft["case_number"].as_i64().expect("case").to_string();
    let id = draft["id"].as_i64().expect("id").to_string();
    let out = dossier(d, &["email", "draft", "discard", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout), @r"
    draft 1 (new, discarded) on case 1 by agent.smith
      from: support@example.com
      to: Ada Lovelace <ada@example.com>
      subject: (new email)
    case 1, opened for this draft and holding nothing else, is closed now
    ");
    let shown = json(d, &["case", "show", &case]);
    assert_eq!(shown["status"], "closed", "{shown}");
}

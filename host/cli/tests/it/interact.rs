//! `dossier pop`, `dispose`, `notify`, `task reminders` and `run`, as an
//! agent or admin runs them.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::{command, dossier, failure, json};

fn stdout(dir: &Path, args: &[&str]) -> String {
    let out = dossier(dir, args);
    assert!(
        out.status.success(),
        "dossier {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// A fresh directory with `dossier init` run and Grace Hopper added.
fn desk() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    json(
        d,
        &[
            "customer",
            "add",
            "--account",
            "AC-000002",
            "--name",
            "Grace Hopper",
            "--phone",
            "+1 212 555 0100",
        ],
    );
    dir
}

macro_rules! assert_pop {
    ($value:expr) => {
        insta::assert_json_snapshot!($value, {
            ".target.customer" => "[id]",
            ".target.customers[]" => "[id]",
        })
    };
}

#[test]
fn pop_by_phone_pops_the_customer_as_the_issue_shows() {
    let dir = desk();
    let d = dir.path();
    assert_pop!(json(d, &["pop", "--phone", "+12125550100"]));
    // Any format of the number, and the human form.
    let human = stdout(d, &["pop", "--phone", "+1 (212) 555-0100"]);
    assert!(
        human.starts_with("pop customer #1 AC-000002 — Grace Hopper\n"),
        "{human}"
    );
}

#[test]
fn pop_by_case_account_email_and_unknown_numbers() {
    let dir = desk();
    let d = dir.path();
    json(
        d,
        &[
            "case",
            "open",
            "--customer",
            "AC-000002",
            "--subject",
            "Compiler bug",
        ],
    );
    let by_case = json(d, &["pop", "--case", "1", "--phone", "+33 6 12 34 56 78"]);
    assert_eq!(by_case["target"]["pop"], "case");
    assert_eq!(by_case["target"]["case_number"], 1);
    assert_eq!(by_case["open_cases"], serde_json::json!([1]));
    let by_account = json(d, &["pop", "--account", "AC-000002"]);
    assert_eq!(by_account["target"]["pop"], "customer");
    assert_pop!(json(
        d,
        &[
            "pop",
            "--phone",
            "06 12 34 56 78",
            "--email",
            "Alan@Example.org",
            "--context",
            "name=Alan Turing",
            "--context",
            "tier=gold",
            "--context",
            "ivr=3",
        ]
    ));
}

#[test]
fn dispose_records_the_code_and_errors_list_the_valid_codes() {
    let dir = desk();
    let d = dir.path();
    json(
        d,
        &[
            "case",
            "open",
            "--customer",
            "AC-000002",
            "--subject",
            "Compiler bug",
        ],
    );
    let errors = [
        failure(d, &["dispose", "resolvd", "--case", "1"]),
        failure(d, &["dispose", "--none", "--case", "1"]),
        failure(
            d,
            &["dispose", "replied", "--channel", "chat", "--case", "1"],
        ),
        failure(d, &["dispose", "resolved", "--case", "9"]),
    ];
    insta::assert_snapshot!(errors.join("\n\n"));
    // Email does not require a code.
    let finished = json(d, &["dispose", "--none", "--channel", "email"]);
    assert_eq!(finished["finished"], true);

    let done = json(
        d,
        &["dispose", "resolved", "--case", "1", "--note", "Patched"],
    );
    assert_eq!(done["case"]["status"], "closed");
    assert_eq!(done["case"]["last_disposition"], "resolved");
    assert_eq!(done["follow_up"]["kind"], "system");
    let shown = json(d, &["case", "show", "1"]);
    assert_eq!(shown["last_disposition"], "resolved");
}

#[test]
fn notify_shows_the_checked_notification_or_says_what_is_wrong() {
    let dir = desk();
    let d = dir.path();
    let n = json(
        d,
        &[
            "notify",
            "--to",
            "Grace@Navy.MIL",
            "--subject",
            "Your case",
            "--body",
            "Fixed.",
        ],
    );
    assert_eq!(n["to"][0]["address"], "grace@navy.mil");
    assert_eq!(n["from"]["address"], "dossier@localhost.localdomain");
    insta::assert_snapshot!(failure(d, &["notify", "--subject", "Nobody"]), @r"
    $ dossier notify --subject Nobody
    exit 1: error: notification is invalid: to is empty: a notification needs a recipient
    ");
}

fn add_task(d: &Path, subject: &str, due: &str, remind: &str) {
    json(
        d,
        &[
            "task",
            "add",
            "--customer",
            "AC-000002",
            "--subject",
            subject,
            "--due",
            due,
            "--remind",
            remind,
            "--assignee",
            "ann@example.com",
        ],
    );
}

#[test]
fn task_reminders_fire_once_and_run_once_fires_what_came_due() {
    let dir = desk();
    let d = dir.path();
    add_task(d, "Call Grace back", "+10m", "10");
    add_task(d, "Next week", "+7d", "10");
    let fired = json(d, &["task", "reminders"]);
    let fired = fired.as_array().unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0]["reminder"]["task"]["subject"], "Call Grace back");
    assert_eq!(
        fired[0]["reminder"]["notification"]["to"][0]["address"],
        "ann@example.com"
    );
    assert_eq!(json(d, &["task", "reminders"]), serde_json::json!([]));

    // `run --once` prints JSON lines, one per reminder; here, the new one.
    add_task(d, "Right now", "+5m", "5");
    let lines = stdout(d, &["--json", "run", "--once"]);
    let subjects: Vec<String> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["reminder"]["task"]["subject"].to_string()
        })
        .collect();
    assert_eq!(subjects, vec!["\"Right now\""]);
    assert_eq!(stdout(d, &["--json", "run", "--once"]), "");
}

#[test]
fn run_until_now_does_one_pass_and_stops() {
    let dir = desk();
    let d = dir.path();
    add_task(d, "Call Grace back", "+1m", "1");
    let out = dossier(d, &["run", "--until", "+0m"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("reminder: task #1 call Call Grace back"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("reached --until, stopped"));
}

#[test]
fn run_stops_cleanly_on_ctrl_c() {
    let dir = desk();
    let d = dir.path();
    let mut child = command(d, &["run", "--poll", "3600"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dossier run starts");
    // The first line comes once the Ctrl-C handler is installed.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.contains("Ctrl-C stops"), "{first}");
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "exit {status:?}: {rest}");
    assert_eq!(rest.trim(), "dossier run: stopped");
}

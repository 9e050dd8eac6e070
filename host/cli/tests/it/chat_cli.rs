//! `dossier chat …` through the real binary: an agent's desk from state to
//! log, a message too long kept in a file, the reject permission, a missed
//! offer fired by `dossier run --once`, and `chat simulate`.

use std::io::Write;
use std::path::Path;

use crate::util::{dossier, failure, json};

/// A fresh store from `dossier init`, with a `sales` queue for ann and the
/// admin (the tests run as agent.smith), and ann added.
fn desk() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    json(d, &["init"]);
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(d.join("dossier.toml"))
        .expect("config");
    writeln!(
        config,
        "\n[chat.queues.sales]\nmembers = [\"ann\", \"agent.smith\"]"
    )
    .expect("queue");
    json(d, &["agent", "add", "ann", "--name", "Ann Lee"]);
    dir
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn with_stdin(d: &Path, args: &[&str], input: &str) -> std::process::Output {
    crate::util::with_stdin(d, args, input.as_bytes())
}

#[test]
fn an_agent_takes_a_chat_from_state_to_log() {
    let dir = desk();
    let d = dir.path();
    assert_eq!(
        stdout(&dossier(d, &["--as", "ann", "chat", "state", "available"])),
        "ann: available — 0 active, 0 offered, capacity 6; queues sales\n"
    );
    let arrived = json(
        d,
        &[
            "chat",
            "arrive",
            "--queue",
            "sales",
            "--name",
            "Ada",
            "--email",
            "ada@example.com",
            "--ip",
            "203.0.113.7",
        ],
    );
    assert_eq!(arrived["chat"], 1);
    assert_eq!(arrived["routed"]["offers"][0]["agent"], "ann");
    let list = stdout(&dossier(d, &["--as", "ann", "chat", "list"]));
    assert!(list.starts_with("chat"), "{list}");
    assert!(list.contains("offered") && list.contains("Ada"), "{list}");
    assert_eq!(
        stdout(&dossier(d, &["--as", "ann", "chat", "accept", "1"])),
        "accepted chat 1 from Ada\n"
    );
    assert_eq!(
        stdout(&dossier(
            d,
            &[
                "chat",
                "send",
                "1",
                "--customer",
                "--text",
                "My order is late."
            ]
        )),
        "sent in chat 1 as Ada\n"
    );
    let out = with_stdin(
        d,
        &["--as", "ann", "chat", "send", "1", "--text", "-"],
        "Sorry, Ada: it leaves today.",
    );
    assert_eq!(stdout(&out), "sent in chat 1 as ann\n");
    json(
        d,
        &[
            "faq",
            "add",
            "late",
            "--title",
            "Late orders",
            "--body",
            "Late orders ship first.",
        ],
    );
    let sent = json(
        d,
        &[
            "--as", "ann", "chat", "send", "1", "--expand", "text", "--text", "/late",
        ],
    );
    assert_eq!(sent["text"], "Late orders ship first.");
    insta::assert_snapshot!(
        failure(d, &["--as", "ann", "chat", "end", "1"]),
        @"
    $ dossier --as ann chat end 1
    exit 1: error: chat interactions must end with a disposition code; valid codes: answered, follow_up
    "
    );
    let ended = stdout(&dossier(
        d,
        &[
            "--as",
            "ann",
            "chat",
            "end",
            "1",
            "--disposition",
            "answered",
        ],
    ));
    assert_eq!(
        ended,
        "chat 1 ended; the customer is not known: save its log with \
         `dossier chat log 1 --customer ACCOUNT` or --new-account\n"
    );
    let logged = json(
        d,
        &[
            "--as",
            "ann",
            "chat",
            "log",
            "1",
            "--new-account",
            "AC-7",
            "--name",
            "Ada Lovelace",
            "--email",
            "ada@example.com",
        ],
    );
    assert_eq!(logged["case"]["status"], "closed", "`answered` closes");
    assert_eq!(logged["follow_up"]["kind"], "chat_log");
    let body = logged["follow_up"]["body"].as_str().expect("body");
    assert!(body.contains("Ada (customer): My order is late."), "{body}");
    assert!(
        body.contains("ann (agent): Sorry, Ada: it leaves today."),
        "{body}"
    );
    let shown = stdout(&dossier(d, &["chat", "show", "1"]));
    assert!(
        shown.starts_with(
            "chat 1 in sales: ended (ann)\n  customer: Ada, ada@example.com, IP 203.0.113.7\n"
        ),
        "{shown}"
    );
    assert!(shown.contains("logged as case 1"), "{shown}");
    let status = json(d, &["chat", "status", "ann", "--history"]);
    let states: Vec<&str> = status
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|c| c["state"].as_str())
        .collect();
    assert_eq!(states, vec!["available"]);
}

#[test]
fn a_message_too_long_is_saved_to_a_file_not_lost() {
    let dir = desk();
    let d = dir.path();
    stdout(&dossier(d, &["--as", "ann", "chat", "state", "available"]));
    json(d, &["chat", "arrive", "--queue", "sales"]);
    stdout(&dossier(d, &["--as", "ann", "chat", "accept", "1"]));
    let long = format!("{}\n", "word ".repeat(400));
    let out = with_stdin(
        d,
        &["--as", "ann", "chat", "send", "1", "--text", "-"],
        &long,
    );
    assert_eq!(out.status.code(), Some(1));
    let draft = d.join("chat-1-refused-1.txt");
    // Beside the store, named relative to where the command runs.
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: --text: a chat message holds at most 1940 characters; this one has 2001. \
         It was saved to chat-1-refused-1.txt: shorten it there and send it with \
         --text-file chat-1-refused-1.txt\n"
    );
    assert_eq!(std::fs::read_to_string(&draft).expect("draft"), long);
    // A second refusal is kept beside the first, which stays as it was.
    let other = format!("{}\n", "other ".repeat(400));
    let again = with_stdin(
        d,
        &["--as", "ann", "chat", "send", "1", "--text", "-"],
        &other,
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("It was saved to chat-1-refused-2.txt"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(std::fs::read_to_string(&draft).expect("first"), long);
    assert_eq!(
        std::fs::read_to_string(d.join("chat-1-refused-2.txt")).expect("second"),
        other
    );
    #[cfg(unix)]
    {
        // What the agent typed is readable by its owner only.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&draft)
            .expect("draft")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::write(&draft, "word ".repeat(10)).expect("shortened");
    let sent = json(
        d,
        &[
            "--as",
            "ann",
            "chat",
            "send",
            "1",
            "--text-file",
            draft.to_str().expect("path"),
        ],
    );
    assert_eq!(sent["text"], "word ".repeat(10));
}

#[test]
fn a_reject_without_the_permission_is_refused_and_a_missed_offer_fires_in_run() {
    let dir = desk();
    let d = dir.path();
    json(d, &["agent", "update", "ann", "--withhold", "reject_chat"]);
    stdout(&dossier(d, &["--as", "ann", "chat", "state", "available"]));
    json(d, &["chat", "arrive", "--queue", "sales", "--name", "Bo"]);
    insta::assert_snapshot!(
        failure(d, &["--as", "ann", "chat", "reject", "1"]),
        @"
    $ dossier --as ann chat reject 1
    exit 1: error: agent ann may not reject chat 1: the `reject_chat` permission is missing
    "
    );
    let chat = json(d, &["chat", "show", "1"]);
    assert_eq!(chat["chat"]["state"], "offered", "the offer stands");
    // The agent does not answer: move the deadline into the past (the
    // test cannot wait for the clock), and the loop's pass fires it.
    let conn = rusqlite::Connection::open(d.join("dossier.db")).expect("db");
    conn.execute(
        "UPDATE chats SET deadline = '2000-01-01T00:00:00.000000Z' WHERE id = 1",
        [],
    )
    .expect("deadline");
    let run = stdout(&dossier(d, &["run", "--once"]));
    assert_eq!(run, "chat 1: ann did not answer in time and is on break\n");
    let ann = json(d, &["chat", "status", "ann"]);
    assert_eq!(ann["state"], "break");
    assert_eq!(ann["reason"], "no answer to chat 1");
    // The admin takes the queue: the chat, back in line, goes to them.
    let admin = stdout(&dossier(d, &["chat", "state", "available"]));
    assert_eq!(
        admin,
        "agent.smith: available — 0 active, 1 offered, capacity 6; queues sales\n\
         chat 1 offered to agent.smith (sales)\n"
    );
    let table = stdout(&dossier(d, &["chat", "status", "--all"]));
    assert!(table.contains("ann") && table.contains("break"), "{table}");
    let out = dossier(d, &["--as", "ann", "chat", "state", "asleep"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "unknown chat state `asleep` (expected available, break, offline or logged-out)"
    ));
}

#[test]
fn simulate_replays_the_same_day_for_the_same_seed() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let args = [
        "chat", "simulate", "--agents", "4", "--chats", "60", "--hours", "1", "--seed", "7",
    ];
    let first = json(d, &args);
    let second = json(d, &args);
    let comparable = |v: &serde_json::Value| {
        let mut v = v.clone();
        for wall in ["wall_seconds", "offers_per_second", "arrival_to_offer_us"] {
            v[wall] = serde_json::Value::Null;
        }
        v
    };
    assert_eq!(comparable(&first), comparable(&second));
    assert_eq!(first["chats"], 60);
    assert_eq!(first["ended"], 60);
    assert_eq!(first["per_agent"].as_array().expect("agents").len(), 4);
    let offers = first["offers"].as_u64().expect("offers");
    let timeouts = first["timeouts"].as_u64().expect("timeouts");
    let rejections = first["rejections"].as_u64().expect("rejections");
    assert_eq!(
        offers,
        60 + timeouts + rejections,
        "each miss is offered again"
    );
    let people = stdout(&dossier(d, &args[..]));
    assert!(
        people.starts_with("60 chats in 2 queues over 1 hour, 4 agents: "),
        "{people}"
    );
    assert!(people.contains("agent00003"), "{people}");
}

#[test]
fn only_holders_of_cti_speak_for_a_chats_customer() {
    let dir = desk();
    let d = dir.path();
    stdout(&dossier(d, &["--as", "ann", "chat", "state", "available"]));
    // A plain agent may neither bring a chat in nor write as its customer.
    let refused = failure(d, &["--as", "ann", "chat", "arrive", "--queue", "sales"]);
    assert!(refused.contains("cti"), "{refused}");
    json(d, &["chat", "arrive", "--queue", "sales"]);
    stdout(&dossier(d, &["--as", "ann", "chat", "accept", "1"]));
    let refused = failure(
        d,
        &[
            "--as",
            "ann",
            "chat",
            "send",
            "1",
            "--customer",
            "--text",
            "refund me",
        ],
    );
    assert!(
        refused.contains("permission") && refused.contains("cti"),
        "{refused}"
    );
    // The admin (who holds cti) stands in for the chat front end.
    json(
        d,
        &[
            "chat",
            "send",
            "1",
            "--customer",
            "--text",
            "where is my parcel?",
        ],
    );
    let shown = stdout(&dossier(d, &["--as", "ann", "chat", "show", "1"]));
    assert!(shown.contains("where is my parcel?"), "{shown}");
    assert!(!shown.contains("refund me"), "{shown}");
}

/// An ended chat whose log waits for a customer is on its agent's `chat
/// list`, newer active chats or not; its edited log can be kept as a
/// draft (`chat log --draft`) and finished later, when the customer is
/// known, and then leaves the list.
#[test]
fn an_edited_log_is_kept_as_a_draft_and_the_chat_stays_listed_until_logged() {
    let dir = desk();
    let d = dir.path();
    stdout(&dossier(d, &["--as", "ann", "chat", "state", "available"]));
    for name in ["Ada", "Bob", "Cy"] {
        json(d, &["chat", "arrive", "--queue", "sales", "--name", name]);
    }
    for id in ["1", "2", "3"] {
        stdout(&dossier(d, &["--as", "ann", "chat", "accept", id]));
    }
    stdout(&dossier(
        d,
        &[
            "chat",
            "send",
            "1",
            "--customer",
            "--text",
            "Where is my parcel?",
        ],
    ));
    stdout(&dossier(
        d,
        &[
            "--as",
            "ann",
            "chat",
            "end",
            "1",
            "--disposition",
            "follow_up",
        ],
    ));
    let redact = |text: String| {
        text.lines()
            .map(|l| match l.find("2026-") {
                Some(at) => format!("{}[TIME]", &l[..at]),
                None => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!(redact(stdout(&dossier(d, &["--as", "ann", "chat", "list"]))), @r"
    chat  queue  state                        agent  customer  arrived
    3     sales  active                       ann    Cy        [TIME]
    2     sales  active                       ann    Bob       [TIME]
    1     sales  ended, log needs a customer  ann    Ada       [TIME]
    ");

    std::fs::write(d.join("edited.txt"), "Ada asked where her parcel is.\n").expect("write");
    insta::assert_snapshot!(
        failure(d, &["--as", "agent.smith", "chat", "log", "1", "--draft"]),
        @r"
    $ dossier --as agent.smith chat log 1 --draft
    exit 2: error: the following required arguments were not provided:
      --text-file <PATH>

    Usage: dossier chat log --text-file <PATH> --draft <ID>

    For more information, try '--help'.
    "
    );
    assert_eq!(
        stdout(&dossier(
            d,
            &[
                "--as",
                "ann",
                "chat",
                "log",
                "1",
                "--text-file",
                "edited.txt",
                "--draft"
            ]
        )),
        "chat 1: your edit of its log is kept as a draft; save it with \
         `dossier chat log 1 --customer ACCOUNT` or --new-account\n"
    );
    let list = stdout(&dossier(d, &["--as", "ann", "chat", "list"]));
    assert!(
        list.contains("ended, log needs a customer (draft kept)"),
        "{list}"
    );
    let shown = stdout(&dossier(d, &["--as", "ann", "chat", "show", "1"]));
    assert!(
        shown.contains(
            "  a draft of its log is kept (31 characters): `dossier chat log 1` saves it\n"
        ),
        "{shown}"
    );

    json(
        d,
        &[
            "customer",
            "add",
            "--account",
            "AC-1",
            "--name",
            "Ada Lovelace",
        ],
    );
    let logged = json(
        d,
        &["--as", "ann", "chat", "log", "1", "--customer", "AC-1"],
    );
    assert_eq!(
        logged["follow_up"]["body"],
        "Ada asked where her parcel is.\n"
    );
    assert_eq!(
        json(d, &["chat", "show", "1"])["chat"]["log_draft"],
        serde_json::Value::Null
    );
    let list = stdout(&dossier(d, &["--as", "ann", "chat", "list"]));
    assert!(!list.contains("Ada"), "logged: off the worklist\n{list}");
    let again = failure(
        d,
        &[
            "--as",
            "ann",
            "chat",
            "log",
            "1",
            "--text-file",
            "edited.txt",
            "--draft",
        ],
    );
    assert!(
        again.contains("the log of chat 1 is already saved as case 1"),
        "{again}"
    );
}

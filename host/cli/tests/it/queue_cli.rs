//! `dossier queue …` through the real binary: the config's queues kept in
//! the store, agents switching their own assigned queues when an admin lets
//! them, admins adding and removing queues and members, and a config change
//! that keeps what agents and admins did.

use std::path::Path;

use serde_json::Value;

use crate::util::{dossier, failure, json};

/// Rewrites the `[chat.queues.support]` members of `dir`'s config.
fn set_support_members(d: &Path, members: &[&str]) {
    let path = d.join("dossier.toml");
    let text = std::fs::read_to_string(&path).expect("config");
    let start = text.find("\n[chat.queues.support]").unwrap_or(text.len());
    let list: Vec<String> = members.iter().map(|m| format!("{m:?}")).collect();
    let text = format!(
        "{}\n[chat.queues.support]\nmembers = [{}]\n",
        &text[..start],
        list.join(", ")
    );
    std::fs::write(&path, text).expect("config written");
}

/// `(login, joined, source)` of each member of `queue`, as the admin sees it.
fn members(d: &Path, queue: &str) -> Vec<(String, bool, String)> {
    let q = json(d, &["queue", "show", queue]);
    q["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["login"].as_str().expect("login").to_owned(),
                m["joined"].as_bool().expect("joined"),
                m["source"].as_str().expect("source").to_owned(),
            )
        })
        .collect()
}

fn m(login: &str, joined: bool, source: &str) -> (String, bool, String) {
    (login.to_owned(), joined, source.to_owned())
}

#[test]
fn agents_switch_their_own_queues_when_allowed_and_a_config_change_keeps_it() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    json(d, &["init"]);
    set_support_members(d, &["ann", "bob"]);
    for login in ["ann", "bob", "cid"] {
        json(d, &["agent", "add", login]);
    }
    assert_eq!(
        members(d, "support"),
        [m("ann", true, "config"), m("bob", true, "config")]
    );

    // Agents may not switch their queues until an admin lets them.
    let refused = failure(d, &["--as", "ann", "queue", "leave", "support"]);
    assert!(
        refused.contains("manage_own_queues") && refused.contains("leave queue support"),
        "{refused}"
    );
    json(
        d,
        &["agent", "update", "ann", "--grant", "manage_own_queues"],
    );

    // Ann switches support off: a chat arriving there goes to no one while
    // she is the only one available, and to her once she switches it on.
    json(d, &["--as", "ann", "queue", "leave", "support"]);
    json(d, &["--as", "ann", "chat", "state", "available"]);
    let arrived = json(
        d,
        &["chat", "arrive", "--queue", "support", "--name", "Ada"],
    );
    assert_eq!(arrived["routed"]["offers"], Value::Array(Vec::new()));
    let joined = dossier(d, &["--as", "ann", "queue", "join", "support"]);
    let text = String::from_utf8_lossy(&joined.stdout);
    assert!(joined.status.success(), "{joined:?}");
    assert!(text.contains("chat 1 offered to ann (support)"), "{text}");
    json(d, &["--as", "ann", "queue", "leave", "support"]);

    // An agent sees only the queues they are assigned to, and switches only those.
    json(
        d,
        &["queue", "add", "vip", "--member", "bob", "--capacity", "2"],
    );
    let mine = json(d, &["--as", "ann", "queue", "list"]);
    let names: Vec<&str> = mine
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|q| q["name"].as_str())
        .collect();
    assert_eq!(names, ["support"]);
    let not_hers = failure(d, &["--as", "ann", "queue", "join", "vip"]);
    // She is told of her own queues only, not of vip's existence.
    assert!(
        not_hers.ends_with("error: unknown queue `vip`; queues: support"),
        "{not_hers}"
    );

    // The config changes: cid is added, bob removed. Ann's switch stays
    // off, and the admin's queue stays as the admin made it.
    set_support_members(d, &["ann", "cid"]);
    assert_eq!(
        members(d, "support"),
        [m("ann", false, "config"), m("cid", true, "config")]
    );
    let vip = json(d, &["queue", "show", "vip"]);
    assert_eq!(
        (vip["source"].as_str(), vip["capacity"].as_u64()),
        (Some("admin"), Some(2))
    );
    assert_eq!(members(d, "vip"), [m("bob", true, "admin")]);

    // Admins remove members, then the queue.
    json(d, &["queue", "remove", "vip", "--member", "bob"]);
    assert_eq!(members(d, "vip"), []);
    json(d, &["queue", "remove", "vip"]);
    let gone = failure(d, &["queue", "show", "vip"]);
    assert!(gone.contains("vip"), "{gone}");
    // A queue with a chat waiting stays.
    json(d, &["--as", "ann", "chat", "state", "offline"]);
    json(
        d,
        &["chat", "arrive", "--queue", "support", "--name", "Bea"],
    );
    let busy = failure(d, &["queue", "remove", "support"]);
    assert!(busy.contains("waiting"), "{busy}");
}

#[test]
fn bad_queue_commands_name_what_is_wrong() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    json(d, &["init"]);
    json(d, &["agent", "add", "ann"]);
    insta::assert_snapshot!(
        [
            failure(d, &["queue", "add", "no spaces"]),
            failure(d, &["queue", "add", "sales", "--capacity", "0"]),
            failure(d, &["queue", "add", "sales", "--member", "nobody"]),
            failure(d, &["--as", "ann", "queue", "add", "sales"]),
            failure(d, &["queue", "join", "nowhere", "--agent", "ann"]),
            failure(d, &["queue", "remove", "nowhere"]),
        ]
        .join("\n\n")
    );
}

/// A customer's email that opens a case, as an MTA hands it over.
fn customer_mail(d: &Path, id: u32, from: &str, to: &str, subject: &str) -> std::path::PathBuf {
    let path = d.join(format!("mail-{id}.eml"));
    let text = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <m{id}@customer.example>\r\n\
         Date: Mon, 7 Dec 2026 09:00:00 +0000\r\n\r\nPlease help with {subject}.\r\n"
    );
    std::fs::write(&path, text).expect("mail written");
    path
}

/// What ingesting `path` did (`--json`'s `result`).
fn ingest(d: &Path, path: &Path) -> Value {
    let file = path.display().to_string();
    json(d, &["email", "ingest", &file])["result"].clone()
}

/// `(id, state)` of the acting agent's email offers.
fn offers_of(d: &Path, login: &str) -> Vec<(i64, String)> {
    json(d, &["--as", login, "email", "offers"])
        .as_array()
        .expect("offers")
        .iter()
        .map(|o| {
            (
                o["id"].as_i64().expect("id"),
                o["state"].as_str().expect("state").to_owned(),
            )
        })
        .collect()
}

#[test]
fn new_email_is_offered_to_a_queue_member_accepted_rejected_and_timed_out() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    json(d, &["init"]);
    let path = d.join("dossier.toml");
    let text = std::fs::read_to_string(&path).expect("config");
    assert!(
        text.contains("\ncapacity = 5\n"),
        "the template sets [email] capacity"
    );
    let text = text.replacen("\ncapacity = 5\n", "\ncapacity = 2\n", 1)
        + "\n[email.queues.billing]\nmembers = [\"ann\", \"bob\"]\n\
           [email.queues.support]\nmembers = [\"cid\"]\n\
           [email.routing]\ndefault = \"support\"\n\
           [email.routing.to]\n\"billing@acme.example\" = \"billing\"\n";
    std::fs::write(&path, text).expect("config");
    for login in ["ann", "bob", "cid"] {
        json(d, &["agent", "add", login]);
    }
    for login in ["ann", "bob"] {
        json(d, &["--as", login, "chat", "state", "available"]);
    }

    // Sent to billing: offered to the member with the fewest open items,
    // then idle longest, then by login.
    let first = ingest(
        d,
        &customer_mail(
            d,
            1,
            "ada@customer.example",
            "billing+x@acme.example",
            "invoice 1",
        ),
    );
    assert_eq!(first["new_case"], true, "{first}");
    assert_eq!(offers_of(d, "ann"), [(1, "offered".to_owned())]);
    ingest(
        d,
        &customer_mail(
            d,
            2,
            "bo@customer.example",
            "billing@acme.example",
            "invoice 2",
        ),
    );
    assert_eq!(offers_of(d, "bob"), [(2, "offered".to_owned())]);
    // Not sent to billing: the default queue, whose member is not available.
    ingest(
        d,
        &customer_mail(d, 3, "cy@customer.example", "help@acme.example", "login"),
    );
    assert_eq!(offers_of(d, "cid"), []);

    // Ann accepts: the email joins her workbin and the case is hers.
    let accepted = json(d, &["--as", "ann", "email", "accept", "1"]);
    let case = accepted["offer"]["case_number"].as_i64().expect("case");
    assert_eq!(accepted["workbin"]["agent"], "ann");
    let shown = json(d, &["case", "show", &case.to_string()]);
    assert_eq!(shown["owner"], "ann", "{shown}");
    let workbin = json(d, &["--as", "ann", "workbin", "list"]);
    assert_eq!(workbin.as_array().map(Vec::len), Some(1), "{workbin}");
    // Someone else cannot accept it.
    let taken = failure(d, &["--as", "bob", "email", "accept", "1"]);
    assert!(taken.contains("not offered"), "{taken}");

    // Bob rejects: he goes on break, and the email goes to ann.
    let rejected = json(d, &["--as", "bob", "email", "reject", "2"]);
    assert_eq!(rejected["offers"][0]["agent"], "ann", "{rejected}");
    assert_eq!(json(d, &["chat", "status", "bob"])["state"], "break");
    assert_eq!(
        offers_of(d, "ann"),
        [(1, "accepted".to_owned()), (2, "offered".to_owned())]
    );

    // Ann lets it time out: `dossier run` puts her on break and the email
    // back in line, where no one available is left to take it.
    let conn = rusqlite::Connection::open(d.join("dossier.db")).expect("db");
    conn.execute(
        "UPDATE email_offers SET deadline = '2000-01-01T00:00:00.000000Z' WHERE id = 2",
        [],
    )
    .expect("deadline");
    let run = String::from_utf8_lossy(&dossier(d, &["run", "--once"]).stdout).into_owned();
    assert!(
        run.contains("email offer 2: ann did not answer in time and is on break"),
        "{run}"
    );
    assert_eq!(json(d, &["chat", "status", "ann"])["state"], "break");
    assert_eq!(offers_of(d, "ann"), [(1, "accepted".to_owned())]);

    // Ann is back, at capacity 2 with one open item: the email comes back to her.
    let back = dossier(d, &["--as", "ann", "chat", "state", "available"]);
    let back = String::from_utf8_lossy(&back.stdout);
    assert!(
        back.contains("email offer 2 offered to ann (billing)"),
        "{back}"
    );
    // At capacity (2 open items) she gets no more; bob leaves billing and
    // gets none either, so a new billing email waits.
    json(
        d,
        &["agent", "update", "bob", "--grant", "manage_own_queues"],
    );
    json(d, &["--as", "bob", "queue", "leave", "billing"]);
    json(d, &["--as", "bob", "chat", "state", "available"]);
    ingest(
        d,
        &customer_mail(
            d,
            4,
            "di@customer.example",
            "billing@acme.example",
            "invoice 4",
        ),
    );
    assert_eq!(offers_of(d, "bob"), []);
    assert_eq!(offers_of(d, "ann").len(), 2);
    // Ann finishes her first email: capacity frees and the waiting one is hers.
    let item = workbin[0]["id"].as_i64().expect("item");
    json(d, &["--as", "ann", "workbin", "done", &item.to_string()]);
    assert_eq!(
        offers_of(d, "ann"),
        [(2, "offered".to_owned()), (4, "offered".to_owned())]
    );
}

#[test]
fn a_reply_to_a_closed_case_reopens_it_or_opens_a_new_one() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    json(d, &["init"]);
    let first = ingest(
        d,
        &customer_mail(d, 1, "ada@customer.example", "help@acme.example", "printer"),
    );
    let case = first["case_number"].as_i64().expect("case").to_string();
    json(d, &["case", "close", &case]);
    let reply = |id: u32| {
        let path = d.join(format!("reply-{id}.eml"));
        std::fs::write(
            &path,
            format!(
                "From: ada@customer.example\r\nTo: help@acme.example\r\nSubject: Re: printer\r\n\
                 Message-ID: <r{id}@customer.example>\r\nIn-Reply-To: <m1@customer.example>\r\n\
                 Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\nIt broke again.\r\n"
            ),
        )
        .expect("reply");
        ingest(d, &path)
    };
    let reopened = reply(1);
    assert_eq!(
        reopened["case_number"].as_i64().map(|n| n.to_string()),
        Some(case.clone())
    );
    let shown = json(d, &["case", "show", &case]);
    assert_eq!(shown["status"], "open", "{shown}");
    let notes = json(d, &["followup", "list", "--case", &case]);
    let system: Vec<&str> = notes
        .as_array()
        .expect("follow-ups")
        .iter()
        .filter(|f| f["kind"] == "system")
        .filter_map(|f| f["body"].as_str())
        .collect();
    assert!(
        system
            .iter()
            .any(|b| b.starts_with("Reopened: the customer wrote on this case")),
        "{system:?}"
    );

    // With on_closed = "new_case", the next one opens a case naming the old.
    json(d, &["case", "close", &case]);
    let path = d.join("dossier.toml");
    let text = std::fs::read_to_string(&path).expect("config");
    std::fs::write(
        &path,
        text.replacen("on_closed = \"reopen\"", "on_closed = \"new_case\"", 1),
    )
    .expect("config");
    let fresh = reply(2);
    assert_eq!(fresh["new_case"], true, "{fresh}");
    let new_case = fresh["case_number"].as_i64().expect("case").to_string();
    assert_ne!(new_case, case);
    assert_eq!(json(d, &["case", "show", &case])["status"], "closed");
    let notes = json(d, &["followup", "list", "--case", &new_case]);
    assert!(
        notes
            .to_string()
            .contains(&format!("Opened for an email on case {case}")),
        "{notes}"
    );
}

#[test]
fn an_email_routed_to_a_queue_an_admin_removed_is_stored_in_no_queue() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    json(d, &["init"]);
    let path = d.join("dossier.toml");
    let text = std::fs::read_to_string(&path).expect("config")
        + "\n[email.queues.gone]\nmembers = [\"ann\"]\n[email.routing]\ndefault = \"gone\"\n";
    std::fs::write(&path, text).expect("config");
    json(d, &["agent", "add", "ann"]);
    json(d, &["queue", "remove", "gone"]);
    let stored = ingest(
        d,
        &customer_mail(d, 1, "ada@customer.example", "help@acme.example", "hello"),
    );
    assert_eq!(stored["new_case"], true, "{stored}");
    let conn = rusqlite::Connection::open(d.join("dossier.db")).expect("db");
    let offers: i64 = conn
        .query_row("SELECT count(*) FROM email_offers", [], |r| r.get(0))
        .expect("count");
    assert_eq!(offers, 0, "no offer in a queue that does not exist");
}

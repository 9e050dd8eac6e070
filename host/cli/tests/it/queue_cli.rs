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

/// `d`'s config with `extra` appended and `[email] capacity` / `accept_seconds`
/// set (the template's values are checked, so a changed template fails here
/// rather than silently testing the defaults).
fn email_config(d: &Path, capacity: u32, accept_seconds: u32, extra: &str) {
    let path = d.join("dossier.toml");
    let text = std::fs::read_to_string(&path).expect("config");
    assert!(
        text.contains("\ncapacity = 5\naccept_seconds = 120\n"),
        "the template sets [email] capacity and accept_seconds"
    );
    let text = text.replacen(
        "\ncapacity = 5\naccept_seconds = 120\n",
        &format!("\ncapacity = {capacity}\naccept_seconds = {accept_seconds}\n"),
        1,
    ) + extra;
    std::fs::write(&path, text).expect("config");
}

/// `(queue, state, agent)` of every email offer, in id order, read from
/// the store.
fn all_offers(d: &Path) -> Vec<(String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(d.join("dossier.db")).expect("db");
    let mut stmt = conn
        .prepare("SELECT queue, state, agent FROM email_offers ORDER BY id")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("offers")
}

fn offer(queue: &str, state: &str, agent: Option<&str>) -> (String, String, Option<String>) {
    (queue.to_owned(), state.to_owned(), agent.map(str::to_owned))
}

#[test]
fn an_on_email_received_hook_chooses_the_queue_a_new_email_waits_in() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    json(d, &["init"]);
    email_config(
        d,
        5,
        120,
        "\n[email.queues.billing]\nmembers = [\"ann\"]\n\
         [email.queues.support]\nmembers = [\"bob\"]\n\
         [email.routing]\ndefault = \"support\"\n",
    );
    std::fs::write(
        d.join("scripts/route.rhai"),
        r#"
fn on_email_received(e) {
    // The routing's choice is what the hook sees.
    if e.queue != "support" { veto("the hook saw queue " + e.queue); }
    if e.headers.subject.contains("invoice") { e.queue = "billing"; }
    if e.headers.subject.contains("newsletter") { e.queue = (); }
}
"#,
    )
    .expect("script");
    for login in ["ann", "bob"] {
        json(d, &["agent", "add", login]);
        json(d, &["--as", login, "chat", "state", "available"]);
    }

    // The rules alone would put each of these in support, bob's queue.
    let invoice = ingest(
        d,
        &customer_mail(
            d,
            1,
            "ada@customer.example",
            "help@acme.example",
            "invoice 7",
        ),
    );
    assert_eq!(invoice["new_case"], true, "{invoice}");
    assert_eq!(offers_of(d, "ann"), [(1, "offered".to_owned())]);
    assert_eq!(offers_of(d, "bob"), []);
    ingest(
        d,
        &customer_mail(d, 2, "bo@customer.example", "help@acme.example", "printer"),
    );
    // A hook clearing the queue: the case waits in no queue.
    let letter = ingest(
        d,
        &customer_mail(
            d,
            3,
            "cy@customer.example",
            "help@acme.example",
            "newsletter",
        ),
    );
    assert_eq!(letter["new_case"], true, "{letter}");
    assert_eq!(
        all_offers(d),
        [
            offer("billing", "offered", Some("ann")),
            offer("support", "offered", Some("bob")),
        ]
    );
}

#[test]
fn a_member_at_an_email_queues_capacity_gets_no_offer_the_next_member_or_the_line_does() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    json(d, &["init"]);
    // billing's own capacity (1) is below [email] capacity (2); support's
    // (3) is above it, so 2 applies there.
    email_config(
        d,
        2,
        120,
        "\n[email.queues.billing]\nmembers = [\"ann\", \"bob\"]\ncapacity = 1\n\
         [email.queues.support]\nmembers = [\"cid\"]\ncapacity = 3\n\
         [email.routing]\ndefault = \"support\"\n\
         [email.routing.to]\n\"billing@acme.example\" = \"billing\"\n",
    );
    for login in ["ann", "bob", "cid"] {
        json(d, &["agent", "add", login]);
    }
    json(d, &["--as", "ann", "chat", "state", "available"]);
    let to_billing = |id: u32| {
        ingest(
            d,
            &customer_mail(
                d,
                id,
                &format!("c{id}@customer.example"),
                "billing@acme.example",
                &format!("invoice {id}"),
            ),
        )
    };

    // Ann takes one; at billing's capacity of 1 she gets no second.
    to_billing(1);
    to_billing(2);
    assert_eq!(offers_of(d, "ann"), [(1, "offered".to_owned())]);
    assert_eq!(
        all_offers(d)[1],
        offer("billing", "waiting", None),
        "the second waits while the only available member is at capacity"
    );
    // Bob becomes available: the waiting email goes to him, not to ann.
    let bob = dossier(d, &["--as", "bob", "chat", "state", "available"]);
    let text = String::from_utf8_lossy(&bob.stdout);
    assert!(
        text.contains("email offer 2 offered to bob (billing)"),
        "{text}"
    );
    // Both at capacity: a third waits, even after ann accepts (an
    // accepted email still counts), until her workbin item is done.
    to_billing(3);
    let accepted = json(d, &["--as", "ann", "email", "accept", "1"]);
    assert_eq!(all_offers(d)[2], offer("billing", "waiting", None));
    let item = accepted["workbin"]["id"].as_i64().expect("item");
    json(d, &["--as", "ann", "workbin", "done", &item.to_string()]);
    assert_eq!(all_offers(d)[2], offer("billing", "offered", Some("ann")));

    // support: [email] capacity 2 is the lower, so cid's third waits.
    json(d, &["--as", "cid", "chat", "state", "available"]);
    for id in 4..=6 {
        ingest(
            d,
            &customer_mail(
                d,
                id,
                &format!("c{id}@customer.example"),
                "help@acme.example",
                "login",
            ),
        );
    }
    assert_eq!(
        all_offers(d)[3..],
        [
            offer("support", "offered", Some("cid")),
            offer("support", "offered", Some("cid")),
            offer("support", "waiting", None),
        ]
    );
}

#[test]
fn accept_seconds_sets_an_email_offers_deadline_and_a_late_accept_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    json(d, &["init"]);
    email_config(
        d,
        5,
        345,
        "\n[email.queues.support]\nmembers = [\"ann\"]\n[email.routing]\ndefault = \"support\"\n",
    );
    json(d, &["agent", "add", "ann"]);
    json(d, &["--as", "ann", "chat", "state", "available"]);
    ingest(
        d,
        &customer_mail(d, 1, "ada@customer.example", "help@acme.example", "printer"),
    );
    let offers = json(d, &["--as", "ann", "email", "offers"]);
    let deadline = offers[0]["deadline"].as_str().expect("deadline");
    let deadline = chrono::DateTime::parse_from_rfc3339(deadline).expect("a time");
    let conn = rusqlite::Connection::open(d.join("dossier.db")).expect("db");
    let offered_at: String = conn
        .query_row(
            "SELECT offered_at FROM email_offers WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .expect("offered_at");
    let offered_at = chrono::DateTime::parse_from_rfc3339(&offered_at).expect("a time");
    assert_eq!((deadline - offered_at).num_seconds(), 345);

    // Not due yet: a pass leaves the offer with ann.
    let run = String::from_utf8_lossy(&dossier(d, &["run", "--once"]).stdout).into_owned();
    assert!(!run.contains("email offer 1"), "{run}");
    assert_eq!(offers_of(d, "ann"), [(1, "offered".to_owned())]);

    // Time passes the deadline: accepting is refused, and the next pass
    // puts ann on break and the email back in line.
    conn.execute(
        "UPDATE email_offers SET deadline = '2000-01-01T00:00:00.000000Z' WHERE id = 1",
        [],
    )
    .expect("deadline");
    let late = failure(d, &["--as", "ann", "email", "accept", "1"]);
    assert!(late.contains("deadline passed"), "{late}");
    let run = String::from_utf8_lossy(&dossier(d, &["run", "--once"]).stdout).into_owned();
    assert!(
        run.contains("email offer 1: ann did not answer in time and is on break"),
        "{run}"
    );
    assert_eq!(all_offers(d), [offer("support", "waiting", None)]);
}

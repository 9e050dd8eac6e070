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
    assert!(
        not_hers.contains("unknown queue") || not_hers.contains("vip"),
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

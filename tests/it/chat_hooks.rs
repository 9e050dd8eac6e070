//! `on_chat_offered` and `on_chat_ended` through the runner, with a real
//! Rhai script and with the real built probe plugin: giving an offer to
//! another member of the queue, vetoing it (the chat keeps its place in
//! line), refusing a choice outside the queue, and changing the logged
//! transcript.

use dossier_host::{ChatState, Host, LogCustomer};
use dossier_sdk::NewCustomer;

use crate::built::entry;
use crate::chat::{CHAT, available, centre, visitor};
use crate::util::{TestStore, clock, open_with};

const HOOKS: &str = r#"
fn on_chat_offered(chat) {
    if chat.interaction.email == "vip@example.com" {
        chat.agent = "cid";
    }
    if chat.interaction.email == "spam@example.com" {
        veto("no spam, thanks");
    }
    if chat.interaction.email == "elsewhere@example.com" {
        chat.agent = "dan";
    }
}

fn on_chat_ended(chat) {
    chat.transcript = chat.transcript + "Reviewed by chat.rhai\n";
}
"#;

fn with_script() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("scripts")).expect("scripts dir");
    std::fs::write(dir.path().join("scripts/chat.rhai"), HOOKS).expect("script");
    let config = CHAT.replace("[scripts]\nenabled = false", "[scripts]\ndir = \"scripts\"");
    let clock = clock();
    let host = open_with(dir.path(), &config, &clock).expect("opens");
    let t = TestStore { dir, host, clock };
    for login in ["ann", "bob", "cid", "dan"] {
        t.host
            .add_agent(dossier_sdk::NewAgent {
                login: login.into(),
                ..Default::default()
            })
            .expect("agent");
    }
    t
}

fn staff(t: &TestStore) {
    for login in ["ann", "bob", "cid"] {
        available(&t.host, login);
        t.clock.advance(chrono::Duration::minutes(1));
    }
}

/// The hooks' effects, the same whichever kind of handler made them.
fn check_hooks(t: &TestStore, by: &str, footer: &str) {
    let host: &Host = &t.host;
    staff(t);
    // The rule would pick ann (idle longest); the hook gives it to cid.
    let vip = host
        .chat_arrived(visitor("sales", "Vip", "vip@example.com"))
        .expect("arrived");
    assert_eq!(vip.routed.offers.len(), 1, "{:?}", vip.routed);
    assert_eq!(vip.routed.offers[0].agent, "cid");
    let chat = host.chat(vip.chat).expect("chat");
    assert_eq!(chat.agent.as_deref(), Some("cid"));
    assert_eq!(chat.interaction.agent.as_deref(), Some("cid"));
    assert_eq!(host.chat_status("cid").expect("cid").pending, 1);
    assert_eq!(
        host.chat_status("ann").expect("ann").pending,
        0,
        "ann's claim was moved"
    );

    // A veto leaves the chat in line, in its place, and says why.
    let spam = host
        .chat_arrived(visitor("sales", "Spam", "spam@example.com"))
        .expect("arrival itself succeeds");
    assert!(spam.routed.offers.is_empty());
    assert_eq!(spam.routed.problems.len(), 1);
    let problem = &spam.routed.problems[0];
    assert!(
        problem.starts_with(&format!("chat {}: vetoed by", spam.chat)) && problem.contains(by),
        "{problem}"
    );
    assert_eq!(
        host.chat(spam.chat).expect("chat").state,
        ChatState::Waiting
    );
    assert_eq!(host.chat_status("ann").expect("ann").pending, 0);

    // The desk accepts cid's chat and ends it: the hook's line is logged.
    let cid = host.as_agent("cid").expect("cid");
    cid.accept_chat(vip.chat).expect("accepted");
    host.customer_message(vip.chat, "Hello").expect("sent");
    let ended = cid
        .end_chat(vip.chat, Some("answered"), None)
        .expect("ended");
    assert!(ended.transcript.ends_with(footer), "{}", ended.transcript);
    let saved = cid
        .save_chat_log(
            vip.chat,
            LogCustomer::New(Box::new(NewCustomer {
                account: "AC-VIP".into(),
                name: "Vip".into(),
                ..Default::default()
            })),
            None,
        )
        .expect("saved");
    assert!(
        saved.follow_up.body.ends_with(footer),
        "{}",
        saved.follow_up.body
    );
    assert!(saved.follow_up.body.contains("Vip (customer): Hello"));
}

#[test]
fn a_script_redirects_vetoes_and_annotates_chats() {
    let t = with_script();
    check_hooks(&t, "chat.rhai", "Reviewed by chat.rhai\n");
    // A member of another queue is refused; the chat stays in line.
    let away = t
        .host
        .chat_arrived(visitor("sales", "Elsewhere", "elsewhere@example.com"))
        .expect("arrived");
    assert!(away.routed.offers.is_empty());
    // Routing the queue again tried the spam chat first (it is older), and
    // the hook vetoed it again.
    assert_eq!(away.routed.problems.len(), 2, "{:?}", away.routed.problems);
    assert!(away.routed.problems[0].contains("no spam, thanks"));
    assert_eq!(
        away.routed.problems[1],
        format!(
            "chat {}: a chat_offered hook offered chat {} to `dan`, who is not a member of queue sales",
            away.chat, away.chat
        )
    );
    assert_eq!(
        t.host.chat(away.chat).expect("chat").state,
        ChatState::Waiting
    );
}

#[test]
fn a_native_plugin_redirects_vetoes_and_annotates_chats() {
    let config = format!(
        "{CHAT}{}",
        entry(
            "probe-plugin",
            "chat_agent = \"cid\"\nveto_chat_from = \"spam@example.com\"\nchat_footer = \"-- reviewed by probe\""
        )
    );
    let t = centre(&config);
    check_hooks(&t, "probe", "-- reviewed by probe\n");
}

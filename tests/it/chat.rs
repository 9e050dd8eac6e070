//! The chat channel on real store files: the longest-idle rule (across
//! several queues), capacity and the line, accept, reject and its
//! permission, missed offers fired by `Host::tick`, transcripts saved as
//! cases for known and new customers, messages and typing, what
//! `Host::subscribe` streams, and a restart in the middle of a day.

use std::sync::mpsc::Receiver;

use chrono::Duration;
use dossier_host::{
    AgentChange, AgentState, Arrived, ChatFilter, ChatPush, ChatState, Error, Host, LogCustomer,
    LogState, Page, Sender,
};
use dossier_sdk::{
    Channel, Email, ExpandMode, FollowUpKind, Interaction, NewAgent, NewCustomer, Permission,
    PopTarget, Role,
};

use dossier_host::test_support::chat_cache_reads;

use crate::util::TestStore;

/// Two queues; ann takes both.
pub const CHAT: &str = r#"
[scripts]
enabled = false

[dispositions.chat]
required = true
codes = [
    { code = "answered", label = "Question answered", closes_case = true },
    { code = "follow_up", label = "Needs a follow-up" },
]

[chat]
accept_seconds = 30

[chat.queues.sales]
members = ["ann", "bob", "cid"]

[chat.queues.billing]
members = ["ann", "dan"]
"#;

/// Small capacities: 2 each, 1 in queue `one_at_a_time`, 3 for bob.
const SMALL: &str = r#"
[scripts]
enabled = false

[chat]
capacity = 2
accept_seconds = 30

[chat.queues.one]
members = ["ann", "bob"]

[chat.queues.three]
members = ["ann"]

[chat.queues.one_at_a_time]
members = ["ann"]
capacity = 1

[chat.agents.bob]
capacity = 3
"#;

pub fn centre(config: &str) -> TestStore {
    let t = TestStore::new(config);
    for login in ["ann", "bob", "cid", "dan"] {
        t.host
            .add_agent(NewAgent {
                login: login.into(),
                ..Default::default()
            })
            .expect("agent added");
    }
    t
}

pub fn available(host: &Host, login: &str) -> Vec<(i64, String)> {
    let (status, routed) = host
        .as_agent(login)
        .expect(login)
        .set_chat_state(AgentState::Available)
        .expect("available");
    assert_eq!(status.state, AgentState::Available);
    routed
        .offers
        .into_iter()
        .map(|o| (o.chat, o.agent))
        .collect()
}

pub fn visitor(queue: &str, name: &str, email: &str) -> Interaction {
    let mut i = Interaction::new(Channel::Chat);
    i.queue = Some(queue.into());
    i.email = Some(email.into());
    i.ip = Some("203.0.113.7".into());
    i.context.insert("name".into(), name.into());
    i
}

/// A chat arrives; returns it and whom it was offered to at once.
pub fn arrive(host: &Host, queue: &str) -> (i64, Option<String>) {
    let arrived = host
        .chat_arrived(visitor(queue, "Visitor", "visitor@example.com"))
        .expect("arrived");
    (arrived.chat, offered_to(&arrived))
}

fn offered_to(arrived: &Arrived) -> Option<String> {
    arrived
        .routed
        .offers
        .iter()
        .find(|o| o.chat == arrived.chat)
        .map(|o| o.agent.clone())
}

fn desk(host: &Host, login: &str) -> Host {
    host.as_agent(login).expect(login)
}

fn pushes(rx: &Receiver<ChatPush>) -> Vec<ChatPush> {
    rx.try_iter().collect()
}

#[test]
fn a_chat_goes_to_the_agent_with_fewest_chats_then_idle_longest() {
    let t = centre(CHAT);
    let host = &t.host;
    available(host, "ann");
    t.clock.advance(Duration::minutes(1));
    available(host, "bob");
    t.clock.advance(Duration::minutes(1));
    available(host, "cid");
    let mut chats = Vec::new();
    for expected in ["ann", "bob", "cid", "ann"] {
        t.clock.advance(Duration::seconds(10));
        let (chat, to) = arrive(host, "sales");
        assert_eq!(to.as_deref(), Some(expected), "chat {}", chats.len() + 1);
        desk(host, expected).accept_chat(chat).expect("accepted");
        chats.push(chat);
    }
    // Bob ends his chat: fewest chats wins before idle time.
    t.clock.advance(Duration::minutes(1));
    let ended = desk(host, "bob")
        .end_chat(chats[1], Some("answered"), None)
        .expect("ended");
    assert!(ended.routed.offers.is_empty(), "nobody was waiting");
    let (_, to) = arrive(host, "sales");
    assert_eq!(
        to.as_deref(),
        Some("bob"),
        "0 chats beats ann's 2 and cid's 1"
    );
    // Bob and cid have 1 each; cid was last offered a chat longer ago.
    let (_, to) = arrive(host, "sales");
    assert_eq!(to.as_deref(), Some("cid"));
    let ann = host.chat_status("ann").expect("status");
    assert_eq!((ann.active, ann.pending, ann.busy), (2, 0, false));
}

#[test]
fn an_agent_in_two_queues_is_weighed_the_same_in_both() {
    let t = centre(CHAT);
    let host = &t.host;
    available(host, "ann");
    t.clock.advance(Duration::minutes(1));
    available(host, "dan");
    t.clock.advance(Duration::minutes(1));
    available(host, "bob");
    t.clock.advance(Duration::seconds(5));
    assert_eq!(arrive(host, "billing").1.as_deref(), Some("ann"));
    t.clock.advance(Duration::seconds(5));
    // Ann's billing offer counts in sales too: bob has none.
    assert_eq!(arrive(host, "sales").1.as_deref(), Some("bob"));
    t.clock.advance(Duration::seconds(5));
    assert_eq!(arrive(host, "billing").1.as_deref(), Some("dan"));
    t.clock.advance(Duration::seconds(5));
    // Ann and bob have one each; ann's was offered first, in billing.
    assert_eq!(arrive(host, "sales").1.as_deref(), Some("ann"));
    let ann = host.chat_status("ann").expect("status");
    assert_eq!(ann.pending, 2);
    assert_eq!(ann.queues, vec!["billing", "sales"]);
}

#[test]
fn capacity_counts_pending_offers_and_the_line_moves_oldest_first_as_agents_free_up() {
    let t = centre(SMALL);
    let host = &t.host;
    let ann = desk(host, "ann");
    available(host, "ann");
    let (o1, to1) = arrive(host, "one");
    let (o2, to2) = arrive(host, "one");
    assert_eq!((to1.as_deref(), to2.as_deref()), (Some("ann"), Some("ann")));
    let status = host.chat_status("ann").expect("status");
    assert_eq!((status.pending, status.capacity, status.busy), (2, 2, true));
    // Full, offers included: the next chats wait, in arrival order.
    t.clock.advance(Duration::seconds(1));
    let (w3, to) = arrive(host, "three");
    assert_eq!(to, None);
    t.clock.advance(Duration::seconds(1));
    let (w1, to) = arrive(host, "one");
    assert_eq!(to, None);
    t.clock.advance(Duration::seconds(1));
    let (single, to) = arrive(host, "one_at_a_time");
    assert_eq!(to, None);
    assert_eq!(host.chat(w3).expect("chat").state, ChatState::Waiting);
    ann.accept_chat(o1).expect("accept");
    ann.accept_chat(o2).expect("accept");
    // Accepting frees nothing. Ending does: the oldest waiting chat of
    // ann's queues is offered at once, whichever queue it is in.
    let ended = ann.end_chat(o1, None, None).expect("ended");
    let offered: Vec<(i64, String)> = ended
        .routed
        .offers
        .iter()
        .map(|o| (o.chat, o.agent.clone()))
        .collect();
    assert_eq!(offered, vec![(w3, "ann".to_owned())]);
    ann.accept_chat(w3).expect("accept");
    let ended = ann.end_chat(o2, None, None).expect("ended");
    assert_eq!(ended.routed.offers.len(), 1);
    assert_eq!(ended.routed.offers[0].chat, w1);
    // `one_at_a_time` allows one chat, so ann, with two, is not offered it
    // however long it waits; it is still in line.
    assert_eq!(host.chat(single).expect("chat").state, ChatState::Waiting);
    // Bob's own capacity is 3.
    let bob = host.chat_status("bob").expect("bob");
    assert_eq!(bob.capacity, 3);
    // History: busy when full, available again below.
    let history: Vec<String> = host
        .chat_history("ann", 20)
        .expect("history")
        .into_iter()
        .rev()
        .map(|c| c.state)
        .collect();
    assert_eq!(
        history,
        vec![
            "available",
            "busy",
            "available",
            "busy",
            "available",
            "busy"
        ]
    );
}

#[test]
fn an_unanswered_offer_puts_the_agent_on_break_and_goes_to_the_next_at_the_deadline() {
    let t = centre(CHAT);
    let host = &t.host;
    available(host, "ann");
    t.clock.advance(Duration::minutes(1));
    available(host, "bob");
    let ann_desk = host.subscribe("ann").expect("subscribe");
    let (chat, to) = arrive(host, "sales");
    assert_eq!(to.as_deref(), Some("ann"));
    let offer = host.chat(chat).expect("chat");
    assert_eq!(offer.deadline, Some(host.now() + Duration::seconds(30)));
    t.clock.advance(Duration::seconds(29));
    let tick = host.tick().expect("tick");
    assert!(tick.chat.timed_out.is_empty());
    assert_eq!(tick.chat.next_deadline, offer.deadline);
    t.clock.advance(Duration::seconds(1));
    // At the deadline it is too late to accept.
    let err = desk(host, "ann").accept_chat(chat).expect_err("too late");
    assert!(err.to_string().contains("expired"), "{err}");
    let tick = host.tick().expect("tick");
    assert_eq!(tick.chat.timed_out.len(), 1);
    let timed_out = &tick.chat.timed_out[0];
    assert_eq!((timed_out.chat, timed_out.agent.as_str()), (chat, "ann"));
    assert_eq!(timed_out.routed.offers[0].agent, "bob");
    // A second tick (another host) finds nothing left to fire.
    assert!(host.tick().expect("tick").chat.timed_out.is_empty());
    let ann = host.chat_status("ann").expect("ann");
    assert_eq!(ann.state, AgentState::Break);
    assert_eq!(
        ann.reason.as_deref(),
        Some(&*format!("no answer to chat {chat}"))
    );
    assert_eq!(ann.pending, 0);
    let err = desk(host, "ann").accept_chat(chat).expect_err("bob's now");
    assert_eq!(
        err.to_string(),
        format!("ann cannot accept chat {chat}: it is offered to bob")
    );
    desk(host, "bob").accept_chat(chat).expect("bob takes it");
    assert_eq!(host.chat(chat).expect("chat").offers, 2);
    let kinds: Vec<&'static str> = pushes(&ann_desk)
        .iter()
        .map(|p| match p {
            ChatPush::Offered { .. } => "offered",
            ChatPush::TimedOut { .. } => "timed_out",
            ChatPush::State {
                state: AgentState::Break,
                ..
            } => "break",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, vec!["offered", "break", "timed_out"]);
}

#[test]
fn rejecting_needs_the_permission_and_puts_the_agent_on_break() {
    let t = centre(CHAT);
    let host = &t.host;
    host.add_agent(NewAgent {
        login: "root".into(),
        role: Role::Admin,
        ..Default::default()
    })
    .expect("admin");
    desk(host, "root")
        .update_agent(
            "ann",
            AgentChange {
                grant: vec![(Permission::RejectChat, false)],
                ..Default::default()
            },
        )
        .expect("withheld");
    available(host, "ann");
    let (chat, to) = arrive(host, "sales");
    assert_eq!(to.as_deref(), Some("ann"));
    let err = desk(host, "ann").reject_chat(chat).expect_err("refused");
    assert!(
        matches!(
            &err,
            Error::PermissionDenied {
                permission: Permission::RejectChat,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("agent ann may not reject chat {chat}: the `reject_chat` permission is missing")
    );
    let still = host.chat(chat).expect("chat");
    assert_eq!(
        (still.state, still.agent.as_deref()),
        (ChatState::Offered, Some("ann"))
    );
    assert_eq!(
        host.chat_status("ann").expect("ann").state,
        AgentState::Available
    );
    desk(host, "ann")
        .accept_chat(chat)
        .expect("accepted after all");

    // Bob holds it by default: rejecting sends him on break, and the chat
    // to the next agent (ann, still available).
    t.clock.advance(Duration::minutes(1));
    available(host, "bob");
    let (second, to) = arrive(host, "sales");
    assert_eq!(to.as_deref(), Some("bob"));
    let returned = desk(host, "bob").reject_chat(second).expect("rejected");
    assert_eq!(returned.routed.offers[0].agent, "ann");
    let bob = host.chat_status("bob").expect("bob");
    assert_eq!(bob.state, AgentState::Break);
    assert_eq!(
        bob.reason.as_deref(),
        Some(&*format!("rejected chat {second}"))
    );
}

#[test]
fn a_known_customers_chat_is_saved_as_their_case_with_the_transcript_in_order() {
    let t = centre(CHAT);
    let host = &t.host;
    let ada = host
        .create_customer(NewCustomer {
            account: "AC-1".into(),
            name: "Ada Lovelace".into(),
            emails: vec![Email {
                label: "work".into(),
                address: "ada@example.com".into(),
            }],
            ..Default::default()
        })
        .expect("ada");
    available(host, "ann");
    let rx = host.subscribe("ann").expect("subscribe");
    let arrived = host
        .chat_arrived(visitor("sales", "Ada", "Ada@Example.com"))
        .expect("arrived");
    let chat = arrived.chat;
    let offered = host.chat(chat).expect("chat");
    assert_eq!(offered.customer, Some(ada.id));
    assert_eq!(
        offered.pop.as_ref().map(|p| &p.target),
        Some(&PopTarget::Customer { customer: ada.id })
    );
    match pushes(&rx).first() {
        Some(ChatPush::Offered {
            name,
            email,
            ip,
            pop,
            ..
        }) => {
            assert_eq!(name.as_deref(), Some("Ada"));
            assert_eq!(email.as_deref(), Some("Ada@Example.com"));
            assert_eq!(ip.as_deref(), Some("203.0.113.7"));
            assert_eq!(pop.target, PopTarget::Customer { customer: ada.id });
        }
        other => panic!("expected an offer, got {other:?}"),
    }
    host.customer_message(chat, "Hello, my invoice is wrong.")
        .expect("customer writes while waiting for the agent");
    let ann = desk(host, "ann");
    ann.accept_chat(chat).expect("accepted");
    t.clock.advance(Duration::seconds(20));
    ann.chat_message(chat, "Hi Ada, let me check.")
        .expect("sent");
    t.clock.advance(Duration::seconds(40));
    host.customer_message(chat, "Thanks!").expect("sent");
    let transcript = host.chat_transcript(chat).expect("transcript");
    let lines: Vec<(Sender, &str, &str)> = transcript
        .iter()
        .map(|m| (m.sender, m.author.as_str(), m.text.as_str()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (Sender::Customer, "Ada", "Hello, my invoice is wrong."),
            (Sender::Agent, "ann", "Hi Ada, let me check."),
            (Sender::Customer, "Ada", "Thanks!"),
        ]
    );
    assert!(transcript.windows(2).all(|w| w[0].at <= w[1].at));
    // The config requires a disposition: without one the chat stays active.
    let err = ann.end_chat(chat, None, None).expect_err("required");
    assert!(matches!(err, Error::DispositionRequired { .. }), "{err}");
    assert_eq!(host.chat(chat).expect("chat").state, ChatState::Active);
    let ended = ann
        .end_chat(chat, Some("answered"), Some("Refund issued".into()))
        .expect("ended");
    let log = ended.log.expect("saved at once");
    assert_eq!(log.case.customer, ada.id);
    assert_eq!(log.case.owner.as_deref(), Some("ann"));
    assert_eq!(log.case.status, "closed", "`answered` closes the case");
    assert_eq!(log.case.last_disposition.as_deref(), Some("answered"));
    assert_eq!(log.follow_up.kind, FollowUpKind::ChatLog);
    assert_eq!(log.follow_up.author, "ann");
    assert_eq!(log.follow_up.body, ended.transcript);
    insta::assert_snapshot!(log.follow_up.body, @r"
    Chat 1 in queue sales with Ada <Ada@Example.com> (IP 203.0.113.7), handled by ann, from 2026-11-23 09:00:00 UTC.
    [09:00:00] Ada (customer): Hello, my invoice is wrong.
    [09:00:20] ann (agent): Hi Ada, let me check.
    [09:01:00] Ada (customer): Thanks!
    ");
    let (follow_ups, _) = host
        .follow_ups(log.case.number, Page::default())
        .expect("follow-ups");
    let kinds: Vec<FollowUpKind> = follow_ups.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, vec![FollowUpKind::System, FollowUpKind::ChatLog]);
    let done = host.chat(chat).expect("chat");
    assert_eq!(
        (done.state, done.log, done.case_number),
        (ChatState::Ended, LogState::Saved, Some(log.case.number))
    );
    assert_eq!(done.disposition.as_deref(), Some("answered"));
    assert_eq!(host.chat_status("ann").expect("ann").active, 0);
    let err = ann
        .save_chat_log(chat, LogCustomer::Popped, None)
        .expect_err("saved already");
    assert_eq!(
        err.to_string(),
        format!(
            "the log of chat {chat} is already saved as case {}",
            log.case.number
        )
    );
}

#[test]
fn a_new_customers_log_waits_for_the_agent_to_create_the_customer_and_may_be_edited() {
    let t = centre(CHAT);
    let host = &t.host;
    available(host, "ann");
    let (chat, _) = arrive(host, "sales");
    assert!(matches!(
        host.chat(chat).expect("chat").pop.map(|p| p.target),
        Some(PopTarget::NewCustomer { .. })
    ));
    let ann = desk(host, "ann");
    ann.accept_chat(chat).expect("accepted");
    host.customer_message(chat, "I would like a quote.")
        .expect("sent");
    let ended = ann.end_chat(chat, Some("follow_up"), None).expect("ended");
    assert!(ended.log.is_none());
    assert_eq!(ended.chat.log, LogState::NeedsCustomer);
    assert!(ended.transcript.contains("I would like a quote."));
    let waiting = host
        .chats(&ChatFilter {
            needs_customer: true,
            ..Default::default()
        })
        .expect("list");
    assert_eq!(waiting.iter().map(|c| c.id).collect::<Vec<_>>(), vec![chat]);
    let err = ann
        .save_chat_log(chat, LogCustomer::Popped, None)
        .expect_err("no customer");
    assert_eq!(
        err.to_string(),
        format!("the pop of chat {chat} found no customer: pick one or create one")
    );
    let edited = "Visitor asked for a quote for 40 seats; sent the price list.".to_owned();
    let saved = ann
        .save_chat_log(
            chat,
            LogCustomer::New(Box::new(NewCustomer {
                account: "AC-9".into(),
                name: "Grace Hopper".into(),
                ..Default::default()
            })),
            Some(edited.clone()),
        )
        .expect("saved");
    let grace = host.customer_by_account("AC-9").expect("created");
    assert_eq!(saved.case.customer, grace.id);
    assert_eq!(saved.follow_up.body, edited);
    assert_eq!(saved.follow_up.kind, FollowUpKind::ChatLog);
    assert_eq!(saved.case.last_disposition.as_deref(), Some("follow_up"));
    assert_eq!(saved.case.status, "open", "`follow_up` does not close");
    // The stored transcript is unchanged by the edit.
    assert_eq!(
        host.chat_transcript(chat).expect("t")[0].text,
        "I would like a quote."
    );
    let done = host.chat(chat).expect("chat");
    assert_eq!(
        (done.log, done.case_number),
        (LogState::Saved, Some(saved.case.number))
    );
}

/// An edited log kept as a draft on the chat: only once the chat ended,
/// by its agent (or a holder of `manage_agents`), never empty; a later
/// draft replaces it, saving the log without a text saves the draft and
/// clears it, and an explicit text still wins.
#[test]
fn an_edited_log_is_kept_as_a_draft_until_the_customer_is_known() {
    let t = centre(CHAT);
    let host = &t.host;
    available(host, "ann");
    let (chat, _) = arrive(host, "sales");
    let ann = desk(host, "ann");
    let refused = ann
        .save_chat_log_draft(chat, "too early")
        .expect_err("not ended");
    assert_eq!(
        refused.to_string(),
        format!("chat {chat} has not ended: end it first")
    );
    ann.accept_chat(chat).expect("accepted");
    host.customer_message(chat, "I need 40 seats.")
        .expect("sent");
    ann.end_chat(chat, Some("follow_up"), None).expect("ended");

    let bob = desk(host, "bob");
    let refused = bob
        .save_chat_log_draft(chat, "not mine")
        .expect_err("bob did not handle it");
    assert!(refused.to_string().contains("manage_agents"), "{refused}");
    assert!(ann.save_chat_log_draft(chat, "  \n").is_err(), "empty");
    assert_eq!(host.chat(chat).expect("chat").log_draft, None);

    let kept = ann
        .save_chat_log_draft(chat, "Visitor wants 40 seats.")
        .expect("kept");
    assert_eq!(kept.log_draft.as_deref(), Some("Visitor wants 40 seats."));
    assert_eq!(kept.log, LogState::NeedsCustomer, "nothing logged yet");
    let kept = ann
        .save_chat_log_draft(chat, "Visitor wants 40 seats; price list sent.")
        .expect("replaced");
    assert_eq!(
        kept.log_draft.as_deref(),
        Some("Visitor wants 40 seats; price list sent.")
    );
    // Another process reads the same draft from the store.
    let other = t.reopen(CHAT).expect("reopen");
    assert_eq!(
        other.chat(chat).expect("chat").log_draft.as_deref(),
        Some("Visitor wants 40 seats; price list sent.")
    );

    let saved = ann
        .save_chat_log(
            chat,
            LogCustomer::New(Box::new(NewCustomer {
                account: "AC-40".into(),
                name: "Seat Buyer".into(),
                ..Default::default()
            })),
            None,
        )
        .expect("saved");
    assert_eq!(
        saved.follow_up.body,
        "Visitor wants 40 seats; price list sent."
    );
    let done = host.chat(chat).expect("chat");
    assert_eq!((done.log, done.log_draft), (LogState::Saved, None));
    let refused = ann
        .save_chat_log_draft(chat, "after the fact")
        .expect_err("saved already");
    assert_eq!(
        refused.to_string(),
        format!(
            "the log of chat {chat} is already saved as case {}",
            saved.case.number
        )
    );

    // An explicit edited text wins over a kept draft.
    let (second, _) = arrive(host, "sales");
    ann.accept_chat(second).expect("accepted");
    host.customer_message(second, "Hello?").expect("sent");
    ann.end_chat(second, Some("follow_up"), None)
        .expect("ended");
    ann.save_chat_log_draft(second, "the draft").expect("kept");
    let saved = ann
        .save_chat_log(
            second,
            LogCustomer::Existing(saved.case.customer),
            Some("the final text".into()),
        )
        .expect("saved");
    assert_eq!(saved.follow_up.body, "the final text");
}

#[test]
fn an_existing_customer_picked_for_a_log_and_auto_logging_off() {
    let config = CHAT.replace(
        "accept_seconds = 30",
        "accept_seconds = 30\nauto_log = false",
    );
    let t = centre(&config);
    let host = &t.host;
    let ada = host
        .create_customer(NewCustomer {
            account: "AC-1".into(),
            name: "Ada".into(),
            emails: vec![Email {
                label: "work".into(),
                address: "visitor@example.com".into(),
            }],
            ..Default::default()
        })
        .expect("ada");
    available(host, "ann");
    let (chat, _) = arrive(host, "sales");
    let ann = desk(host, "ann");
    ann.accept_chat(chat).expect("accepted");
    let ended = ann.end_chat(chat, Some("answered"), None).expect("ended");
    assert!(ended.log.is_none(), "auto_log is off");
    assert_eq!(ended.chat.log, LogState::NotLogged);
    assert!(host.cases_of(ada.id, false).expect("cases").is_empty());
    let saved = ann
        .save_chat_log(chat, LogCustomer::Existing(ada.id), None)
        .expect("saved by hand");
    assert_eq!(saved.case.customer, ada.id);
    assert!(
        saved
            .follow_up
            .body
            .starts_with(&format!("Chat {chat} in queue sales"))
    );
}

#[test]
fn a_message_too_long_is_refused_with_its_text_given_back() {
    let t = centre(CHAT);
    let host = &t.host;
    available(host, "ann");
    let (chat, _) = arrive(host, "sales");
    let ann = desk(host, "ann");
    ann.accept_chat(chat).expect("accepted");
    let long = "é".repeat(1941);
    let err = ann.chat_message(chat, long.clone()).expect_err("too long");
    match &err {
        Error::MessageTooLong { chars, max, text } => {
            assert_eq!((*chars, *max), (1941, 1940));
            assert_eq!(text, &long, "nothing typed is lost");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), "message_too_long");
    assert_eq!(
        err.to_string(),
        "a chat message holds at most 1940 characters; this one has 1941: shorten it (the text was kept)"
    );
    let fits = "é".repeat(1940);
    ann.chat_message(chat, fits.clone()).expect("1940 fit");
    assert_eq!(host.chat_transcript(chat).expect("t")[0].text, fits);
    let err = host
        .customer_message(chat, "x".repeat(1941))
        .expect_err("same rule");
    assert_eq!(err.code(), "message_too_long");
    // Only the agent on the chat writes in it; agents cannot speak for the customer.
    let err = desk(host, "bob")
        .chat_message(chat, "hi")
        .expect_err("not bob's");
    assert_eq!(
        err.to_string(),
        format!("bob cannot write in chat {chat}: it is active, handled by ann")
    );
    let err = ann
        .customer_message(chat, "hi")
        .expect_err("not the customer");
    assert!(
        err.to_string().contains("cannot speak for the customer"),
        "{err}"
    );
}

#[test]
fn typing_reaches_the_other_side_without_a_write_even_while_another_holds_the_lock() {
    let t = centre(CHAT);
    let host = &t.host;
    available(host, "ann");
    let (chat, _) = arrive(host, "sales");
    let ann = desk(host, "ann");
    ann.accept_chat(chat).expect("accepted");
    let agent_side = host.subscribe("ann").expect("subscribe");
    let customer_side = host.subscribe_chat(chat).expect("subscribe");
    let count = |conn: &rusqlite::Connection, table: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    };
    let raw = rusqlite::Connection::open(t.db_path()).expect("raw");
    let before = (count(&raw, "event_log"), count(&raw, "chat_messages"));
    // Another connection holds the write lock: a write would wait for it
    // (and fail after the 5 s busy timeout).
    raw.execute_batch(
        "BEGIN IMMEDIATE; INSERT INTO chat_agent_log (login, state, at) VALUES ('x', 'x', 'x');",
    )
    .expect("lock held");
    host.customer_typing(chat).expect("customer types");
    ann.agent_typing(chat).expect("agent types");
    raw.execute_batch("ROLLBACK").expect("released");
    assert_eq!(
        pushes(&agent_side),
        vec![ChatPush::Typing {
            chat,
            from: Sender::Customer
        }]
    );
    assert_eq!(
        pushes(&customer_side),
        vec![ChatPush::Typing {
            chat,
            from: Sender::Agent
        }]
    );
    assert_eq!(
        (count(&raw, "event_log"), count(&raw, "chat_messages")),
        before,
        "never stored"
    );
    let err = desk(host, "bob").agent_typing(chat).expect_err("not bob's");
    assert!(
        err.to_string().starts_with("bob cannot write in chat"),
        "{err}"
    );
}

#[test]
fn subscribers_get_every_committed_push_in_order_a_slow_one_late_another_process_at_its_tick() {
    let t = centre(CHAT);
    let host = &t.host;
    available(host, "ann");
    let (chat, _) = arrive(host, "sales");
    let ann = desk(host, "ann");
    ann.accept_chat(chat).expect("accepted");
    let slow = host.subscribe("ann").expect("subscribe");
    let window = host.subscribe_chat(chat).expect("subscribe");
    let other = t.reopen(CHAT).expect("a second host on the file");
    let elsewhere = other.subscribe("ann").expect("subscribe elsewhere");
    for i in 0..1100 {
        host.customer_message(chat, format!("message {i}"))
            .expect("sent");
    }
    ann.chat_message(chat, "done").expect("sent");
    // The channel holds 1024: the rest waits in the store.
    let first: Vec<ChatPush> = pushes(&slow);
    assert_eq!(first.len(), 1024);
    assert!(
        pushes(&elsewhere).is_empty(),
        "the other host has not looked yet"
    );
    host.tick().expect("tick");
    let rest = pushes(&slow);
    let texts: Vec<String> = first
        .iter()
        .chain(&rest)
        .map(|p| match p {
            ChatPush::Message { message } => message.text.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let expected: Vec<String> = (0..1100)
        .map(|i| format!("message {i}"))
        .chain(["done".to_owned()])
        .collect();
    assert_eq!(texts, expected, "none lost, none reordered");
    assert_eq!(
        pushes(&window).len(),
        1024,
        "the customer's window is slow too"
    );
    // The other host's subscriber gets them at its own tick.
    other.tick().expect("tick elsewhere");
    let got = pushes(&elsewhere).len();
    other.tick().expect("tick elsewhere");
    assert_eq!(got + pushes(&elsewhere).len(), 1101);
    let ended = ann.end_chat(chat, Some("answered"), None).expect("ended");
    host.tick().expect("tick");
    let window_rest = pushes(&window);
    assert!(matches!(window_rest.last(), Some(ChatPush::Ended { chat: c, .. }) if *c == chat));
    assert_eq!(window_rest.len(), 1101 - 1024 + 1);
    assert!(ended.log.is_none(), "the visitor is not a customer");
}

#[test]
fn a_restart_in_the_middle_of_the_day_loses_no_chat_and_no_place_in_line() {
    let mut t = centre(SMALL);
    available(&t.host, "ann");
    let (c1, _) = arrive(&t.host, "one");
    t.clock.advance(Duration::seconds(1));
    let (c2, _) = arrive(&t.host, "one");
    t.clock.advance(Duration::seconds(1));
    let (c3, to) = arrive(&t.host, "one");
    assert_eq!(to, None, "ann is full");
    desk(&t.host, "ann").accept_chat(c1).expect("accepted");
    desk(&t.host, "ann")
        .chat_message(c1, "Still there?")
        .expect("sent");
    // The host goes away mid-day; a new one opens the same file.
    let reopened = t.reopen(SMALL).expect("reopened");
    drop(std::mem::replace(&mut t.host, reopened));
    let host = &t.host;
    let states: Vec<ChatState> = [c1, c2, c3]
        .iter()
        .map(|c| host.chat(*c).expect("chat").state)
        .collect();
    assert_eq!(
        states,
        vec![ChatState::Active, ChatState::Offered, ChatState::Waiting]
    );
    let ann = host.chat_status("ann").expect("ann");
    assert_eq!(
        (ann.state, ann.active, ann.pending),
        (AgentState::Available, 1, 1)
    );
    assert_eq!(host.chat_transcript(c1).expect("t").len(), 1);
    // The stored deadline fires after the restart.
    t.clock.advance(Duration::seconds(31));
    let tick = host.tick().expect("tick");
    assert_eq!(
        tick.chat
            .timed_out
            .iter()
            .map(|r| (r.chat, r.agent.as_str()))
            .collect::<Vec<_>>(),
        vec![(c2, "ann")]
    );
    // c2 is back in line, ahead of c3 which arrived later: bob gets both, in order.
    let offered = available(host, "bob");
    assert_eq!(
        offered,
        vec![(c2, "bob".to_owned()), (c3, "bob".to_owned())]
    );
}

#[test]
fn an_unknown_queue_and_an_unknown_chat_are_refused_by_name() {
    let t = centre(CHAT);
    let err = t
        .host
        .chat_arrived(visitor("support", "Ada", "ada@example.com"))
        .expect_err("no such queue");
    assert_eq!(
        err.to_string(),
        "unknown queue `support`; queues: billing, sales"
    );
    assert_eq!(err.code(), "unknown_queue");
    let err = desk(&t.host, "ann").accept_chat(42).expect_err("no chat");
    assert_eq!(err.to_string(), "there is no chat 42");
    let err = desk(&t.host, "ann")
        .set_agent_state("bob", AgentState::Available)
        .expect_err("not hers");
    assert!(
        matches!(
            &err,
            Error::PermissionDenied {
                permission: Permission::ManageAgents,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn an_agent_disabled_while_available_is_refused_by_the_claim_and_skipped() {
    let t = centre(CHAT);
    let host = &t.host;
    available(host, "ann");
    t.clock.advance(Duration::minutes(1));
    available(host, "bob");
    // Ann's chat row still says available, and she is idle longest: the
    // routing index picks her, the claim (which checks the agent) refuses.
    host.disable_agent("ann").expect("disabled");
    let (chat, to) = arrive(host, "sales");
    assert_eq!(to.as_deref(), Some("bob"));
    assert_eq!(host.chat(chat).expect("chat").agent.as_deref(), Some("bob"));
    let (_, to) = arrive(host, "sales");
    assert_eq!(to.as_deref(), Some("bob"), "ann stays out");
}

#[test]
fn an_agent_inserts_faq_answers_by_shortcut() {
    let t = centre(CHAT);
    let host = &t.host;
    host.faq_add(dossier_sdk::NewFaqEntry {
        shortcut: "refund".into(),
        title: "Refunds".into(),
        body: "Refunds reach your card within 5 working days.".into(),
        link: Some("https://help.example.com/refunds".into()),
        html: None,
    })
    .expect("faq entry");
    available(host, "ann");
    let (chat, _) = arrive(host, "sales");
    let ann = desk(host, "ann");
    ann.accept_chat(chat).expect("accepted");
    let sent = ann
        .chat_message_with_faq(chat, "Good news: /refund Anything else?", ExpandMode::Text)
        .expect("sent");
    assert_eq!(
        sent.text,
        "Good news: Refunds reach your card within 5 working days. Anything else?"
    );
    let sent = ann
        .chat_message_with_faq(chat, "See /refund", ExpandMode::Link)
        .expect("sent");
    assert_eq!(sent.text, "See https://help.example.com/refunds");
    // Without asking, a shortcut is sent as typed; an unknown one is kept.
    let sent = ann.chat_message(chat, "/refund").expect("sent");
    assert_eq!(sent.text, "/refund");
    let sent = ann
        .chat_message_with_faq(chat, "/nosuch entry", ExpandMode::Text)
        .expect("sent");
    assert_eq!(sent.text, "/nosuch entry");
    // The length counts the inserted answer; the refusal gives back what was typed.
    let typed = format!("{} /refund", "x".repeat(1900));
    let err = ann
        .chat_message_with_faq(chat, typed.clone(), ExpandMode::Text)
        .expect_err("too long once expanded");
    assert!(
        matches!(&err, Error::MessageTooLong { text, .. } if *text == typed),
        "{err:?}"
    );
}

#[test]
fn a_subscriber_a_day_behind_is_told_which_pushes_it_missed() {
    let t = centre(CHAT);
    let host = &t.host;
    available(host, "ann");
    let (chat, _) = arrive(host, "sales");
    let ann = desk(host, "ann");
    ann.accept_chat(chat).expect("accepted");
    let slow = host.subscribe("ann").expect("subscribe");
    for i in 0..1030 {
        host.customer_message(chat, format!("m{i}")).expect("sent");
    }
    // A day later the six pushes it had no room for are pruned.
    t.clock.advance(Duration::hours(25));
    host.customer_message(chat, "a day later").expect("sent");
    host.tick().expect("tick: prunes");
    let first = pushes(&slow);
    assert_eq!(first.len(), 1024);
    host.tick().expect("tick: pumps");
    let rest = pushes(&slow);
    assert_eq!(rest.len(), 2, "{rest:?}");
    match (&first[1023], &rest[0], &rest[1]) {
        (
            ChatPush::Message { message: last },
            ChatPush::Missed { after, resumed_at },
            ChatPush::Message { message: next },
        ) => {
            assert_eq!(last.text, "m1023");
            assert_eq!(resumed_at - after, 7, "six pushes lost in between");
            assert_eq!(next.text, "a day later");
        }
        other => panic!("{other:?}"),
    }
}

/// Staffing a centre in one transaction: every agent added and made
/// available, then one chat each offered.
fn staff_in_one_transaction(agents: u32) -> (u64, u64) {
    let login = |i: u32| format!("a{i:03}");
    let members: Vec<String> = (0..agents).map(|i| format!("\"{}\"", login(i))).collect();
    let config = format!(
        "[scripts]\nenabled = false\n\n[chat.queues.big]\nmembers = [{}]\n",
        members.join(", ")
    );
    let t = TestStore::new(&config);
    let (reads, rebuilds) = chat_cache_reads(&t.host);
    t.host
        .transaction("staff", |host| {
            for i in 0..agents {
                host.add_agent(NewAgent {
                    login: login(i),
                    ..Default::default()
                })?;
            }
            for i in 0..agents {
                host.set_agent_state(&login(i), AgentState::Available)?;
            }
            for _ in 0..agents {
                let arrived = host.chat_arrived(visitor("big", "Visitor", "v@example.com"))?;
                assert_eq!(arrived.routed.offers.len(), 1, "offered at once");
            }
            Ok(())
        })
        .expect("staffed");
    // One more after the commit: the caches kept inside the transaction
    // are not trusted outside it.
    let (_, to) = arrive(&t.host, "big");
    assert!(to.is_some(), "offered at once");
    let (reads_after, rebuilds_after) = chat_cache_reads(&t.host);
    (reads_after - reads, rebuilds_after - rebuilds)
}

/// Inside one transaction the queues are read once and the routing index
/// built once, however many agents' states change: they used to be read
/// again at every change (issue 29's staffing: 1,095 s for 2 x 10,000
/// agents, quadratic in the agents). Counted, not timed.
#[test]
fn one_transaction_reads_the_queues_and_builds_the_index_once_however_many_agents_change() {
    let few = staff_in_one_transaction(3);
    let many = staff_in_one_transaction(60);
    assert_eq!(few, many, "the same reads for 3 agents and for 60");
    let (reads, rebuilds) = many;
    assert!(
        reads <= 2,
        "one read inside the transaction, one after: {reads}"
    );
    assert!(
        rebuilds <= 2,
        "one build inside the transaction, one after: {rebuilds}"
    );
}

/// A savepoint rolled back after changing the queues takes the queues
/// read inside it with it, although the queues' counter comes back to the
/// same value when the same number of changes is made again.
#[test]
fn queues_read_inside_a_rolled_back_savepoint_are_not_used_after_it() {
    let t = centre(CHAT);
    t.host
        .transaction("day", |host| {
            let undone = host.savepoint("vip for ann", |host| {
                host.add_queue("vip", None, &["ann".to_owned()])?;
                host.set_agent_state("ann", AgentState::Available)?;
                let arrived = host.chat_arrived(visitor("vip", "Vera", "vera@example.com"))?;
                assert_eq!(offered_to(&arrived).as_deref(), Some("ann"));
                Err::<(), _>(Error::Refused("changed my mind".into()))
            });
            assert!(undone.is_err());
            host.add_queue("vip", None, &["bob".to_owned()])?;
            host.set_agent_state("bob", AgentState::Available)?;
            let arrived = host.chat_arrived(visitor("vip", "Vera", "vera@example.com"))?;
            assert_eq!(offered_to(&arrived).as_deref(), Some("bob"));
            Ok(())
        })
        .expect("committed");
    let vip = t.host.queue("vip").expect("vip");
    let members: Vec<&str> = vip.members.iter().map(|m| m.login.as_str()).collect();
    assert_eq!(members, ["bob"]);
    let ann = t.host.chat_status("ann").expect("ann");
    assert_eq!(ann.state, AgentState::LoggedOut, "her change was undone");
    let (_, to) = arrive(&t.host, "vip");
    assert_eq!(to.as_deref(), Some("bob"));
}

//! Two hosts on one store file, driven by random interleavings of chat
//! arrivals, new emails, state changes, accepts, rejects, ends, finished
//! workbin items and clock jumps with ticks. After every step, read with
//! raw SQL: no agent is ever past their chat or email capacity, each
//! agent's counts are exactly their offered and active chats, every chat
//! and every email is offered to at most one agent, and nothing waits
//! while a member of its queue could take it (routing is event-driven and
//! misses nothing). Chats and emails share the agents' one state.

use std::collections::BTreeMap;

use chrono::Duration;
use dossier_host::{AgentState, ChatFilter, ChatState, Host};
use proptest::prelude::*;

use crate::chat::{centre, visitor};

const PROPS: &str = r#"
[scripts]
enabled = false

[chat]
capacity = 2
accept_seconds = 30

[chat.queues.q]
members = ["ann", "bob", "cid"]

[chat.queues.r]
members = ["bob", "cid"]
capacity = 1

[chat.agents.cid]
capacity = 3

[email]
capacity = 2
accept_seconds = 30

[email.queues.e]
members = ["ann", "bob"]

[email.routing]
default = "e"
"#;

/// The email capacity PROPS gives, and who is in email queue `e`.
const EMAIL_CAPACITY: i64 = 2;
const EMAIL_MEMBERS: [&str; 2] = ["ann", "bob"];

const AGENTS: [&str; 3] = ["ann", "bob", "cid"];
const QUEUES: [&str; 2] = ["q", "r"];

/// The capacity of each member in each queue, as PROPS configures it.
fn limit(agent: &str, queue: &str) -> i64 {
    match (agent, queue) {
        (_, "r") => 1,
        ("cid", _) => 3,
        _ => 2,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Arrive(usize, usize),
    State(usize, usize, AgentState),
    Accept(usize, usize),
    Reject(usize, usize),
    End(usize, usize),
    Wait(usize, i64),
    Email(usize),
    EmailAccept(usize, usize),
    EmailReject(usize, usize),
    EmailDone(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let host = 0..2usize;
    let agent = 0..AGENTS.len();
    let state = prop::sample::select(AgentState::ALL.to_vec());
    prop_oneof![
        3 => (host.clone(), 0..QUEUES.len()).prop_map(|(h, q)| Op::Arrive(h, q)),
        2 => (host.clone(), agent.clone(), state).prop_map(|(h, a, s)| Op::State(h, a, s)),
        3 => (host.clone(), agent.clone()).prop_map(|(h, a)| Op::Accept(h, a)),
        1 => (host.clone(), agent.clone()).prop_map(|(h, a)| Op::Reject(h, a)),
        2 => (host.clone(), agent.clone()).prop_map(|(h, a)| Op::End(h, a)),
        1 => (host.clone(), 5..40i64).prop_map(|(h, s)| Op::Wait(h, s)),
        2 => host.clone().prop_map(Op::Email),
        2 => (host.clone(), agent.clone()).prop_map(|(h, a)| Op::EmailAccept(h, a)),
        1 => (host.clone(), agent.clone()).prop_map(|(h, a)| Op::EmailReject(h, a)),
        2 => (host, agent).prop_map(|(h, a)| Op::EmailDone(h, a)),
    ]
}

fn first_chat(host: &Host, agent: &str, state: ChatState) -> Option<i64> {
    host.chats(&ChatFilter {
        agent: Some(agent.into()),
        states: vec![state],
        ..Default::default()
    })
    .expect("list")
    .last()
    .map(|c| c.id)
}

/// The acting agent's first email offer in `state`.
fn first_offer(host: &Host, state: dossier_host::EmailOfferState) -> Option<i64> {
    host.email_offers()
        .expect("offers")
        .into_iter()
        .find(|o| o.state == state)
        .map(|o| o.id)
}

static MAILS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn step(hosts: &[Host], clock: &dossier_host::ManualClock, op: &Op) {
    use dossier_host::EmailOfferState;
    match *op {
        Op::Email(h) => {
            let n = MAILS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let raw = format!(
                "From: c{n}@customer.example\r\nTo: help@acme.example\r\nSubject: question {n}\r\n\
                 Message-ID: <p{n}@customer.example>\r\n\r\nHello.\r\n"
            );
            hosts[h].ingest_email(raw.as_bytes()).expect("ingest");
        }
        Op::EmailAccept(h, a) => {
            let agent = hosts[h].as_agent(AGENTS[a]).expect("agent");
            if let Some(id) = first_offer(&agent, EmailOfferState::Offered) {
                agent.accept_email(id).expect("accept email");
            }
        }
        Op::EmailReject(h, a) => {
            let agent = hosts[h].as_agent(AGENTS[a]).expect("agent");
            if let Some(id) = first_offer(&agent, EmailOfferState::Offered) {
                agent.reject_email(id).expect("reject email");
            }
        }
        Op::EmailDone(h, a) => {
            let agent = hosts[h].as_agent(AGENTS[a]).expect("agent");
            if let Some(item) = agent
                .my_workbin(false)
                .expect("workbin")
                .into_iter()
                .find(|i| i.agent.as_deref() == Some(AGENTS[a]))
            {
                agent.workbin_done(item.id).expect("done");
            }
        }
        Op::Arrive(h, q) => {
            hosts[h]
                .chat_arrived(visitor(QUEUES[q], "V", "v@example.com"))
                .expect("arrive");
        }
        Op::State(h, a, state) => {
            hosts[h]
                .as_agent(AGENTS[a])
                .expect("agent")
                .set_chat_state(state)
                .expect("state");
        }
        Op::Accept(h, a) => {
            if let Some(id) = first_chat(&hosts[h], AGENTS[a], ChatState::Offered) {
                hosts[h]
                    .as_agent(AGENTS[a])
                    .expect("agent")
                    .accept_chat(id)
                    .expect("accept");
            }
        }
        Op::Reject(h, a) => {
            if let Some(id) = first_chat(&hosts[h], AGENTS[a], ChatState::Offered) {
                hosts[h]
                    .as_agent(AGENTS[a])
                    .expect("agent")
                    .reject_chat(id)
                    .expect("reject");
            }
        }
        Op::End(h, a) => {
            if let Some(id) = first_chat(&hosts[h], AGENTS[a], ChatState::Active) {
                hosts[h]
                    .as_agent(AGENTS[a])
                    .expect("agent")
                    .end_chat(id, None, None)
                    .expect("end");
            }
        }
        Op::Wait(h, secs) => {
            clock.advance(Duration::seconds(secs));
            hosts[h].tick().expect("tick");
        }
    }
}

fn check(db: &std::path::Path) -> Result<(), TestCaseError> {
    let conn = rusqlite::Connection::open(db).expect("raw");
    let mut rows = conn
        .prepare("SELECT login, state, active, pending FROM chat_agents")
        .expect("query");
    let agents: BTreeMap<String, (String, i64, i64)> = rows
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))
        .expect("rows")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    let count = |agent: &str, state: &str| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM chats WHERE agent = ?1 AND state = ?2",
            [agent, state],
            |r| r.get(0),
        )
        .expect("count")
    };
    for (login, (_, active, pending)) in &agents {
        prop_assert_eq!(*active, count(login, "active"), "{} active", login);
        prop_assert_eq!(*pending, count(login, "offered"), "{} pending", login);
        let most = if login == "cid" { 3 } else { 2 };
        prop_assert!(
            active + pending <= most,
            "{} has {} > {}",
            login,
            active + pending,
            most
        );
    }
    let misplaced: i64 = conn
        .query_row(
            "SELECT count(*) FROM chats
             WHERE (state IN ('offered', 'active') AND agent IS NULL)
                OR (state = 'waiting' AND agent IS NOT NULL)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    prop_assert_eq!(
        misplaced,
        0,
        "offered and active chats have an agent, waiting ones none"
    );
    // Emails: each offered or accepted one has an agent, waiting ones none;
    // no agent past the email capacity; nothing waits that a member could take.
    let misplaced: i64 = conn
        .query_row(
            "SELECT count(*) FROM email_offers
             WHERE (state IN ('offered', 'accepted') AND agent IS NULL)
                OR (state = 'waiting' AND agent IS NOT NULL)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    prop_assert_eq!(misplaced, 0, "email offers and their agents");
    let open_emails = |agent: &str| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM email_offers WHERE agent = ?1 AND state IN ('offered', 'accepted')",
            [agent],
            |r| r.get(0),
        )
        .expect("count")
    };
    let emails_waiting: i64 = conn
        .query_row(
            "SELECT count(*) FROM email_offers WHERE state = 'waiting'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    for login in AGENTS {
        let open = open_emails(login);
        prop_assert!(open <= EMAIL_CAPACITY, "{} has {} open emails", login, open);
        let available = agents.get(login).is_some_and(|(s, _, _)| s == "available");
        prop_assert!(
            !(emails_waiting > 0
                && EMAIL_MEMBERS.contains(&login)
                && available
                && open < EMAIL_CAPACITY),
            "{} emails waiting while {} could take one",
            emails_waiting,
            login
        );
    }
    // Nothing waits that a member could take.
    for queue in QUEUES {
        let waiting: i64 = conn
            .query_row(
                "SELECT count(*) FROM chats WHERE state = 'waiting' AND queue = ?1",
                [queue],
                |r| r.get(0),
            )
            .expect("count");
        if waiting == 0 {
            continue;
        }
        for (login, (state, active, pending)) in &agents {
            let member = queue == "q" || login != "ann";
            prop_assert!(
                !(member && state == "available" && active + pending < limit(login, queue)),
                "{} waiting in {} while {} could take one",
                waiting,
                queue,
                login
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(16),
        .. ProptestConfig::default()
    })]

    #[test]
    fn two_hosts_never_exceed_capacity_nor_offer_a_chat_or_an_email_twice(ops in prop::collection::vec(op(), 1..40)) {
        let t = centre(PROPS);
        let second = t.reopen(PROPS).expect("second host");
        let hosts = [t.host.clone(), second];
        for op in &ops {
            step(&hosts, &t.clock, op);
            check(&t.db_path())?;
        }
    }
}

/// The property above applies its steps one after another; here two hosts
/// (two threads, each its own connection to the file) bring chats in,
/// accept and end them at the same moments, released together by a
/// barrier each round. Afterwards, and between rounds, the raw invariants
/// hold: no agent past capacity, counts equal to the chats, no chat offered
/// to two agents or waiting while a member could take it.
#[test]
fn two_hosts_on_two_threads_at_the_same_moment_never_exceed_capacity() {
    let t = centre(PROPS);
    let second = t.reopen(PROPS).expect("second host");
    for agent in AGENTS {
        t.host
            .as_agent(agent)
            .expect("agent")
            .set_chat_state(AgentState::Available)
            .expect("available");
    }
    let hosts = [t.host.clone(), second];
    let barrier = std::sync::Barrier::new(hosts.len());
    for round in 0..25 {
        std::thread::scope(|scope| {
            for (h, host) in hosts.iter().enumerate() {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    host.chat_arrived(visitor(QUEUES[(round + h) % 2], "V", "v@example.com"))
                        .expect("arrive");
                    let agent = AGENTS[(round + h) % AGENTS.len()];
                    if let Some(id) = first_chat(host, agent, ChatState::Offered) {
                        // The other thread may have moved it meanwhile.
                        let _ = host.as_agent(agent).expect("agent").accept_chat(id);
                    }
                    if round % 3 == 2
                        && let Some(id) = first_chat(host, agent, ChatState::Active)
                    {
                        let _ = host
                            .as_agent(agent)
                            .expect("agent")
                            .end_chat(id, None, None);
                    }
                });
            }
        });
        if let Err(e) = check(&t.db_path()) {
            panic!("after round {round}: {e}");
        }
    }
}

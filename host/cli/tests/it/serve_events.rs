//! `dossier serve`, part 2, against a real server on 127.0.0.1: event
//! streams (Server-Sent Events) with `Last-Event-ID`, background work with
//! no other process, the CTI connector's pops and the chat visitor
//! endpoint.

use std::io::{BufRead, BufReader};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::serve::{Auth, Centre, call};
use super::util::json as cli_json;

/// One thing a stream sent: an event, or a heartbeat (a comment with an
/// id).
#[derive(Debug, Clone)]
pub(super) struct Sse {
    id: Option<String>,
    event: Option<String>,
    pub(super) data: Value,
}

/// An open event stream, read on its own thread.
pub(super) struct Stream {
    rx: Receiver<Sse>,
}

/// Opens `path` as a stream, authenticated with `bearer` (or not), from
/// `last_id` when given.
fn open(c: &Centre, path: &str, bearer: Option<&str>, last_id: Option<&str>) -> Stream {
    let mut headers = Vec::new();
    if let Some(t) = bearer {
        headers.push(("authorization", format!("Bearer {t}")));
    }
    if let Some(id) = last_id {
        headers.push(("last-event-id", id.to_owned()));
    }
    open_url(&c.http, &c.url(path), &headers)
}

/// Opens the stream at `url` with `headers` (a credential, `Last-Event-ID`).
pub(super) fn open_url(http: &ureq::Agent, url: &str, headers: &[(&str, String)]) -> Stream {
    let mut request = ureq::http::Request::builder()
        .method("GET")
        .uri(url)
        .header("accept", "text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let request = request.body(()).expect("request");
    let response = http.run(request).expect("the server answers");
    assert_eq!(response.status().as_u16(), 200, "{url}");
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let reader = BufReader::new(response.into_body().into_reader());
        let (mut id, mut event, mut data, mut comment) = (None, None, String::new(), false);
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if line.is_empty() {
                if !data.is_empty() || (comment && id.is_some()) {
                    let value = serde_json::from_str(&data).unwrap_or(Value::String(data.clone()));
                    if tx
                        .send(Sse {
                            id: id.take(),
                            event: event.take(),
                            data: value,
                        })
                        .is_err()
                    {
                        return;
                    }
                }
                (id, event, data, comment) = (None, None, String::new(), false);
            } else if let Some(v) = line.strip_prefix("id: ").or(line.strip_prefix("id:")) {
                id = Some(v.to_owned());
            } else if let Some(v) = line.strip_prefix("event: ").or(line.strip_prefix("event:")) {
                event = Some(v.to_owned());
            } else if let Some(v) = line.strip_prefix("data: ").or(line.strip_prefix("data:")) {
                data.push_str(v);
            } else if line.starts_with(':') {
                comment = true;
            }
        }
    });
    Stream { rx }
}

impl Stream {
    /// The next event (heartbeats skipped) within `wait`.
    fn next(&self, wait: Duration) -> Option<Sse> {
        let end = Instant::now() + wait;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(e) if e.event.is_none() && e.data == Value::String(String::new()) => continue,
                Ok(e) => return Some(e),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// The next event of kind `kind`, skipping others, within `wait`.
    pub(super) fn next_of(&self, kind: &str, wait: Duration) -> Sse {
        let end = Instant::now() + wait;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.next(left) {
                Some(e) if e.event.as_deref() == Some(kind) => return e,
                Some(_) => continue,
                None => panic!("no `{kind}` event within {wait:?}"),
            }
        }
    }
}

const WAIT: Duration = Duration::from_secs(10);

/// A customer whose phone and email a pop finds.
fn customer(c: &Centre, admin: &str) -> Value {
    let (status, ada) = call(
        c,
        "POST",
        "/api/v1/customers",
        Auth::Token(admin),
        Some(&json!({
            "account": "AC-000001", "name": "Ada Lovelace",
            "phones": [{"label": "work", "number": "+33 1 23 45 67 89"}],
            "emails": [{"label": "work", "address": "ada@example.com"}]
        })),
    );
    assert_eq!(status, 200, "{ada}");
    ada
}

fn cti(c: &Centre, token: &str, agent: &str, phone: &str) -> (u16, Value) {
    call(
        c,
        "POST",
        "/api/v1/interactions",
        Auth::Token(token),
        Some(&json!({"agent": agent, "channel": "phone", "phone": phone})),
    )
}

#[test]
fn a_cti_interaction_pops_on_the_right_agents_stream_and_on_no_other() {
    let c = Centre::new();
    let (boss, ann, bob) = (c.token("boss"), c.token("ann"), c.token("bob"));
    let ada = customer(&c, &boss);
    let ann_stream = open(&c, "/api/v1/events", Some(&ann), None);
    let bob_stream = open(&c, "/api/v1/events", Some(&bob), None);

    let (status, pushed) = cti(&c, &boss, "ann", "+33 1 23 45 67 89");
    assert_eq!(status, 201, "{pushed}");
    assert_eq!(pushed["agent"], "ann");
    assert_eq!(pushed["pop"]["target"]["customer"], ada["id"], "{pushed}");
    let popped = ann_stream.next_of("pop", WAIT);
    assert_eq!(popped.id, Some(pushed["event"].to_string()), "{popped:?}");
    assert_eq!(popped.data["pop"], pushed["pop"]);
    assert_eq!(popped.data["interaction"]["caller"], "+33 1 23 45 67 89");

    // Bob's stream is alive (his own pop arrives) and had nothing before it.
    let (status, his) = cti(&c, &boss, "bob", "+33 9 99 99 99 99");
    assert_eq!(status, 201, "{his}");
    let first = bob_stream.next(WAIT).expect("bob's pop");
    assert_eq!(first.event.as_deref(), Some("pop"));
    assert_eq!(
        first.id,
        Some(his["event"].to_string()),
        "bob got ann's pop"
    );

    // A plain agent may not push pops: `cti` is the admins'.
    let (status, refused) = cti(&c, &ann, "bob", "+33 1 23 45 67 89");
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("permission_denied")),
        "{refused}"
    );
    assert!(refused["detail"].as_str().unwrap_or("").contains("cti"));
    // Nor read another agent's stream: the stream is always the caller's.
    let (status, _) = call(&c, "GET", "/api/v1/events", Auth::None, None);
    assert_eq!(status, 401);
}

#[test]
fn a_stream_reconnecting_with_last_event_id_gets_exactly_what_it_missed() {
    let c = Centre::new();
    let (boss, ann) = (c.token("boss"), c.token("ann"));
    let first = open(&c, "/api/v1/events", Some(&ann), None);
    let mut seen = Vec::new();
    for n in 0..3 {
        let (status, p) = cti(&c, &boss, "ann", &format!("+33 1 00 00 00 0{n}"));
        assert_eq!(status, 201, "{p}");
        seen.push(first.next_of("pop", WAIT).id.expect("id"));
    }
    drop(first);
    // While ann is away: five pops for her, and others for bob in between.
    let mut missed = Vec::new();
    for n in 0..5 {
        let (_, p) = cti(&c, &boss, "ann", &format!("+33 2 00 00 00 0{n}"));
        missed.push(p["event"].to_string());
        cti(&c, &boss, "bob", &format!("+33 3 00 00 00 0{n}"));
    }
    let again = open(&c, "/api/v1/events", Some(&ann), Some(&seen[2]));
    let got: Vec<String> = (0..5)
        .map(|_| again.next_of("pop", WAIT).id.expect("id"))
        .collect();
    assert_eq!(got, missed, "exactly the missed events, in order");
    // Then live ones, with no duplicate in between.
    let (_, live) = cti(&c, &boss, "ann", "+33 4 00 00 00 00");
    let next = again.next(WAIT).expect("the live pop");
    assert_eq!(next.id, Some(live["event"].to_string()), "{next:?}");

    // An id the log never gave: a `reset`, then the stream carries on.
    let odd = open(&c, "/api/v1/events", Some(&ann), Some("999999999"));
    let reset = odd.next(WAIT).expect("reset");
    assert_eq!(reset.event.as_deref(), Some("reset"), "{reset:?}");
    let (_, after) = cti(&c, &boss, "ann", "+33 5 00 00 00 00");
    assert_eq!(
        odd.next_of("pop", WAIT).id,
        Some(after["event"].to_string())
    );
}

#[test]
fn an_offer_expires_with_no_other_process_running_and_the_next_agent_gets_it() {
    let c = Centre::with_edited_config(|text| {
        format!(
            "{}\n[chat.queues.sales]\nmembers = [\"ann\", \"bob\"]\n",
            text.replace("accept_seconds = 30", "accept_seconds = 2")
        )
    });
    let (ann, bob) = (c.token("ann"), c.token("bob"));
    for token in [&ann, &bob] {
        let (status, set) = call(
            &c,
            "PUT",
            "/api/v1/agents/me/chat-state",
            Auth::Token(token),
            Some(&json!({"state": "available"})),
        );
        assert_eq!(status, 200, "{set}");
    }
    let ann_stream = open(&c, "/api/v1/events", Some(&ann), None);
    let bob_stream = open(&c, "/api/v1/events", Some(&bob), None);
    let (status, started) = call(
        &c,
        "POST",
        "/api/v1/visitor/chats",
        Auth::None,
        Some(&json!({"queue": "sales", "name": "Ada", "message": "Hello?"})),
    );
    assert_eq!(status, 201, "{started}");
    let chat = started["chat"].as_i64().expect("chat");
    // Ann went available first: she has waited longest and gets the offer.
    let offered = ann_stream.next_of("offered", WAIT);
    assert_eq!(offered.data["chat"], chat, "{offered:?}");
    assert!(offered.data["deadline"].is_string());
    // Nobody ticks: the server's own loop expires the offer after 2 s, puts
    // ann on break and offers the chat to bob.
    let mut told = Vec::new();
    while !told
        .iter()
        .any(|e: &Sse| e.event.as_deref() == Some("timed_out"))
    {
        told.push(
            ann_stream
                .next(WAIT)
                .expect("ann is told the offer expired"),
        );
    }
    assert!(
        told.iter()
            .any(|e| e.event.as_deref() == Some("state") && e.data["state"] == "break"),
        "{told:?}"
    );
    let to_bob = bob_stream.next_of("offered", WAIT);
    assert_eq!(to_bob.data["chat"], chat, "{to_bob:?}");
    let (status, accepted) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{chat}/accept"),
        Auth::Token(&bob),
        None,
    );
    assert_eq!(status, 200, "{accepted}");
}

#[test]
fn a_new_email_offered_to_an_agent_is_an_email_offered_event_on_their_stream_only() {
    let c = Centre::with_config(
        "\n[email.queues.billing]\nmembers = [\"ann\", \"bob\"]\n\
         [email.routing]\ndefault = \"billing\"\n",
    );
    let (ann, bob) = (c.token("ann"), c.token("bob"));
    for token in [&ann, &bob] {
        let (status, set) = call(
            &c,
            "PUT",
            "/api/v1/agents/me/chat-state",
            Auth::Token(token),
            Some(&json!({"state": "available"})),
        );
        assert_eq!(status, 200, "{set}");
    }
    let ann_stream = open(&c, "/api/v1/events", Some(&ann), None);
    let bob_stream = open(&c, "/api/v1/events", Some(&bob), None);
    // The MTA hands the server's store an email through the CLI; the
    // offer it makes reaches the server's streams from the event log.
    let ingest = |n: u32, subject: &str| {
        let path = c.dir.path().join(format!("mail-{n}.eml"));
        std::fs::write(
            &path,
            format!(
                "From: Ada <ada{n}@customer.example>\r\nTo: help@acme.example\r\n\
                 Subject: {subject}\r\nMessage-ID: <s{n}@customer.example>\r\n\
                 Date: Mon, 7 Dec 2026 09:00:00 +0000\r\n\r\nPlease help.\r\n"
            ),
        )
        .expect("mail");
        let file = path.display().to_string();
        cli_json(c.dir.path(), &["--as", "boss", "email", "ingest", &file])["result"].clone()
    };
    let first = ingest(1, "invoice 1");
    assert_eq!(first["new_case"], true, "{first}");
    // Equal loads, neither offered an email before: ann by login.
    let offered = ann_stream.next_of("email_offered", WAIT);
    assert_eq!(
        (
            offered.data["offer"].as_i64(),
            offered.data["queue"].as_str(),
            offered.data["agent"].as_str(),
            offered.data["subject"].as_str(),
            offered.data["sender"].as_str(),
        ),
        (
            Some(1),
            Some("billing"),
            Some("ann"),
            Some("invoice 1"),
            Some("ada1@customer.example"),
        ),
        "{offered:?}"
    );
    assert_eq!(offered.data["case_number"], first["case_number"]);
    assert!(offered.data["deadline"].is_string(), "{offered:?}");
    // The second goes to bob (fewer open items), and is the first email
    // offer his stream carries: ann's was not on it.
    ingest(2, "invoice 2");
    let his = bob_stream.next_of("email_offered", WAIT);
    assert_eq!(his.data["offer"].as_i64(), Some(2), "{his:?}");
    // What the stream announced is what the API offers her.
    let (status, offers) = call(&c, "GET", "/api/v1/email-offers", Auth::Token(&ann), None);
    assert_eq!(status, 200, "{offers}");
    let mine = &offers["items"][0];
    assert_eq!(mine["id"].as_i64(), Some(1), "{offers}");
    assert_eq!(mine["deadline"], offered.data["deadline"], "{offers}");
}

#[test]
fn a_visitor_and_an_agent_chat_through_the_two_endpoints_and_the_log_becomes_a_case() {
    let c = Centre::with_config("\n[chat.queues.sales]\nmembers = [\"ann\"]\n");
    let (boss, ann) = (c.token("boss"), c.token("ann"));
    let ada = customer(&c, &boss);

    // No agent available: the chat waits, the visitor is told, and what
    // they write is kept.
    let (status, started) = call(
        &c,
        "POST",
        "/api/v1/visitor/chats",
        Auth::None,
        Some(
            &json!({"queue": "sales", "name": "Ada", "email": "ada@example.com",
                     "message": "Is anyone there?"}),
        ),
    );
    assert_eq!(status, 201, "{started}");
    assert_eq!(started["state"], "waiting", "{started}");
    assert!(
        started["notice"]
            .as_str()
            .is_some_and(|n| n.contains("waits")),
        "{started}"
    );
    let chat = started["chat"].as_i64().expect("chat");
    let secret = started["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("dcv_"), "{secret}");
    let path = format!("/api/v1/visitor/chats/{chat}");
    let (status, _) = call(
        &c,
        "POST",
        &format!("{path}/messages"),
        Auth::Token(&secret),
        Some(&json!({"text": "My order is late."})),
    );
    assert_eq!(status, 201);
    // Someone else's secret, or none, gets nothing.
    let (status, _) = call(&c, "GET", &path, Auth::Token("dcv_wrong"), None);
    assert_eq!(status, 404);
    let (status, _) = call(&c, "GET", &path, Auth::None, None);
    assert_eq!(status, 401);
    // Too long: refused before anything is stored.
    let (status, long) = call(
        &c,
        "POST",
        &format!("{path}/messages"),
        Auth::Token(&secret),
        Some(&json!({"text": "x".repeat(1941)})),
    );
    assert_eq!(
        (status, long["code"].as_str()),
        (422, Some("message_too_long")),
        "{long}"
    );

    let visitor = open(&c, &format!("{path}/events?secret={secret}"), None, None);
    let ann_stream = open(&c, "/api/v1/events", Some(&ann), None);
    let (status, _) = call(
        &c,
        "PUT",
        "/api/v1/agents/me/chat-state",
        Auth::Token(&ann),
        Some(&json!({"state": "available"})),
    );
    assert_eq!(status, 200);
    let offered = ann_stream.next_of("offered", WAIT);
    assert_eq!(offered.data["chat"], chat);
    assert_eq!(
        offered.data["pop"]["target"]["customer"], ada["id"],
        "{offered:?}"
    );
    let (status, _) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{chat}/accept"),
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200);
    let joined = visitor.next(WAIT).expect("accepted");
    assert_eq!(joined.event.as_deref(), Some("accepted"), "{joined:?}");
    assert!(joined.id.is_some());

    // Typing, both ways, never stored.
    let (status, _) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{chat}/typing"),
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 204);
    let typing = visitor.next(WAIT).expect("typing");
    assert_eq!(
        (typing.event.as_deref(), &typing.data["from"]),
        (Some("typing"), &json!("agent"))
    );
    assert!(typing.id.is_none(), "typing is not in the log");
    let (status, _) = call(
        &c,
        "POST",
        &format!("{path}/typing"),
        Auth::Token(&secret),
        None,
    );
    assert_eq!(status, 204);
    let typing = ann_stream.next_of("typing", WAIT);
    assert_eq!(typing.data["from"], "customer");

    // Messages, both ways.
    let (status, _) = call(
        &c,
        "POST",
        &format!("{path}/messages"),
        Auth::Token(&secret),
        Some(&json!({"text": "Order 42."})),
    );
    assert_eq!(status, 201);
    let message = ann_stream.next_of("message", WAIT);
    assert_eq!(message.data["message"]["text"], "Order 42.");
    let (status, _) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{chat}/messages"),
        Auth::Token(&ann),
        Some(&json!({"text": "It leaves today."})),
    );
    assert_eq!(status, 200);
    let mut texts = Vec::new();
    while texts.last().map(String::as_str) != Some("It leaves today.") {
        let m = visitor.next_of("message", WAIT);
        texts.push(m.data["message"]["text"].as_str().unwrap_or("").to_owned());
    }
    assert_eq!(texts, ["Order 42.", "It leaves today."]);

    let (status, ended) = call(
        &c,
        "POST",
        &format!("/api/v1/chats/{chat}/end"),
        Auth::Token(&ann),
        Some(&json!({"disposition": "answered"})),
    );
    assert_eq!(status, 200, "{ended}");
    let end = visitor.next_of("ended", WAIT);
    let case = end.data["case_number"].as_u64().expect("logged as a case");
    let (status, follow_ups) = call(
        &c,
        "GET",
        &format!("/api/v1/cases/{case}/follow-ups"),
        Auth::Token(&ann),
        None,
    );
    assert_eq!(status, 200, "{follow_ups}");
    let log = follow_ups["items"]
        .as_array()
        .and_then(|items| items.iter().find(|f| f["kind"] == "chat_log"))
        .unwrap_or_else(|| panic!("a chat_log follow-up: {follow_ups}"));
    let body = log["body"].as_str().unwrap_or_default();
    for text in [
        "Is anyone there?",
        "My order is late.",
        "Order 42.",
        "It leaves today.",
    ] {
        assert!(body.contains(text), "{text} missing from {body}");
    }
    assert!(
        !body.contains("xxxxxxxxxx"),
        "the refused message was stored"
    );
    // The visitor's view after the end.
    let (status, view) = call(&c, "GET", &path, Auth::Token(&secret), None);
    assert_eq!(status, 200);
    assert_eq!(view["state"], "ended", "{view}");
    assert_eq!(view["transcript"].as_array().map(Vec::len), Some(4));
}

#[test]
fn visitors_starting_chats_are_rate_limited_per_address() {
    let c = Centre::with_config("\n[chat.queues.sales]\nmembers = [\"ann\"]\n");
    let start = || {
        call(
            &c,
            "POST",
            "/api/v1/visitor/chats",
            Auth::None,
            Some(&json!({"queue": "sales", "name": "Spam"})),
        )
    };
    for _ in 0..10 {
        assert_eq!(start().0, 201);
    }
    let (status, problem) = start();
    assert_eq!(
        (status, problem["code"].as_str()),
        (429, Some("rate_limited")),
        "{problem}"
    );
    let (status, unknown) = call(
        &c,
        "POST",
        "/api/v1/visitor/chats",
        Auth::None,
        Some(&json!({"queue": "nope", "name": "Ada", "colour": "red"})),
    );
    assert_eq!(status, 400, "unknown field refused: {unknown}");
}

#[test]
fn during_a_1500_reminder_pass_handled_by_the_server_notes_through_the_api_succeed() {
    let c = Centre::new();
    let (boss, ann) = (c.token("boss"), c.token("ann"));
    let (status, case) = call(
        &c,
        "POST",
        "/api/v1/cases",
        Auth::Token(&ann),
        Some(&json!({"customer": customer(&c, &boss)["account"], "subject": "Reminders"})),
    );
    assert_eq!(status, 200, "{case}");
    let number = case["number"].as_u64().expect("number");
    // 1,500 tasks for ann whose reminders all fall due at one moment a
    // little ahead (due in 1 min 30 s, reminded 1 min before).
    let due = chrono::Utc::now() + chrono::Duration::seconds(90);
    let due = due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let stream = open(&c, "/api/v1/events", Some(&ann), None);
    for n in 0..1500 {
        let (status, task) = call(
            &c,
            "POST",
            "/api/v1/tasks",
            Auth::Token(&ann),
            Some(
                &json!({"case": number, "kind": "call", "subject": format!("Call {n}"),
                         "due_at": due, "reminder_minutes": 1, "assignee": "ann"}),
            ),
        );
        assert_eq!(status, 200, "{task}");
    }
    // The pass starts by itself: wait for its first reminder, then write.
    stream.next_of("reminder", Duration::from_secs(60));
    let mut slowest = Duration::ZERO;
    let mut ok = 0;
    for n in 0..10 {
        let started = Instant::now();
        let (status, note) = call(
            &c,
            "POST",
            &format!("/api/v1/cases/{number}/follow-ups"),
            Auth::Token(&ann),
            Some(&json!({"body": format!("Note {n} during the reminders")})),
        );
        slowest = slowest.max(started.elapsed());
        assert_eq!(status, 200, "note {n}: {note}");
        ok += 1;
    }
    assert_eq!(ok, 10);
    // Every reminder fired, each told once.
    let mut reminders = 1;
    while reminders < 1500 {
        stream.next_of("reminder", WAIT);
        reminders += 1;
    }
    assert!(
        stream
            .next(Duration::from_millis(500))
            .is_none_or(|e| e.event.as_deref() != Some("reminder")),
        "a reminder was told twice"
    );
    eprintln!("10 of 10 notes during the pass; slowest {slowest:?}");
}

#[test]
fn sigterm_ends_open_streams_and_the_server_exits() {
    let mut c = Centre::new();
    let ann = c.token("ann");
    let stream = open(&c, "/api/v1/events", Some(&ann), None);
    let pid = c.served.child.id().to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(term.success());
    let (tx, rx) = channel();
    let exit = std::thread::scope(|s| {
        let child = &mut c.served.child;
        s.spawn(move || {
            let _ = tx.send(child.wait());
        });
        match rx.recv_timeout(WAIT) {
            Ok(exit) => exit.expect("wait"),
            Err(_) => {
                // Do not leave it running; the assertion below fails.
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid])
                    .status();
                panic!("dossier serve still runs 10 s after SIGTERM with a stream open");
            }
        }
    });
    assert!(exit.success(), "{exit:?}");
    // The stream ended with the server.
    assert!(stream.next(WAIT).is_none());
}

//! The `webhook` plugin against a real HTTP server on 127.0.0.1.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dossier_sdk::{Event, NewCustomer, Record, SaveOp};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::built::entry;
use crate::util::{PATIENCE, TestStore};

/// One request as the server saw it.
struct Seen {
    method: String,
    url: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// Starts an HTTP server that answers the given statuses in order (then
/// 200), and returns its URL and what it receives. It stops after
/// `statuses.len() + 1` requests, or at the first request after the test
/// dropped the receiver. It has no deadline of its own: the plugin is built
/// after the server starts, and a first build can take minutes.
fn server(statuses: Vec<u16>) -> (String, mpsc::Receiver<Seen>) {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind");
    let port = server.server_addr().to_ip().expect("an IP listener").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut answers = statuses.into_iter();
        let total = answers.len() + 1;
        for _ in 0..total {
            let Ok(mut request) = server.recv() else {
                return;
            };
            let mut body = Vec::new();
            let _ = request.as_reader().read_to_end(&mut body);
            let headers = request
                .headers()
                .iter()
                .map(|h| {
                    (
                        h.field.as_str().as_str().to_ascii_lowercase(),
                        h.value.as_str().to_owned(),
                    )
                })
                .collect();
            let seen = Seen {
                method: request.method().as_str().to_owned(),
                url: request.url().to_owned(),
                headers,
                body,
            };
            let status = answers.next().unwrap_or(200);
            let _ =
                request.respond(tiny_http::Response::from_string("ok").with_status_code(status));
            if tx.send(seen).is_err() {
                return;
            }
        }
    });
    (format!("http://127.0.0.1:{port}/hooks/dossier"), rx)
}

fn config(url: &str, extra: &str) -> String {
    entry(
        "webhook-plugin",
        &format!("url = \"{url}\"\nsecret = \"s3cret\"\n{extra}"),
    )
}

fn ann(t: &TestStore) -> dossier_host::Result<dossier_sdk::Customer> {
    t.host.create_customer(NewCustomer {
        account: "AC-7".into(),
        name: "Ann".into(),
        ..Default::default()
    })
}

#[test]
fn after_save_is_posted_signed_and_retried_after_a_server_error() {
    let (url, seen) = server(vec![503]);
    let t = TestStore::new(&config(&url, "retries = 2\ntimeout_ms = 5000"));
    let ann = ann(&t).expect("created");

    // Delivery happens after commit, before create_customer returns.
    let first = seen.recv_timeout(PATIENCE).expect("first attempt");
    let second = seen.recv_timeout(PATIENCE).expect("retry");
    assert!(
        t.host.pending_outbox().expect("outbox").is_empty(),
        "delivered"
    );

    for request in [&first, &second] {
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "/hooks/dossier");
        assert_eq!(request.headers["content-type"], "application/json");
        assert_eq!(request.headers["x-dossier-event"], "after_save");
        let signature = request.headers["x-dossier-signature"]
            .strip_prefix("sha256=")
            .expect("sha256= prefix");
        let tag: Vec<u8> = (0..signature.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&signature[i..i + 2], 16).expect("hex"))
            .collect();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").expect("key");
        mac.update(&request.body);
        mac.verify_slice(&tag).expect("the signature verifies");
    }
    assert_eq!(first.body, second.body, "a retry sends the same event");
    assert_eq!(
        first.headers["x-dossier-delivery"], second.headers["x-dossier-delivery"],
        "a retry keeps the delivery id"
    );

    let event: Event = serde_json::from_slice(&first.body).expect("the body is an event");
    match event {
        Event::AfterSave(save) => {
            assert_eq!(save.op, SaveOp::Create);
            assert_eq!(save.record, Record::Customer(ann));
        }
        other => panic!("unexpected event {other:?}"),
    }

    // A tampered body does not verify.
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").expect("key");
    mac.update(b"{}");
    let hex = first.headers["x-dossier-signature"].trim_start_matches("sha256=");
    assert_ne!(
        hex,
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
}

#[test]
fn a_client_error_is_not_retried_and_the_failure_stays_in_the_outbox() {
    let (url, seen) = server(vec![400]);
    let t = TestStore::new(&config(&url, "retries = 3"));
    ann(&t).expect("the write stands: after_save failures do not undo it");
    seen.recv_timeout(PATIENCE).expect("one attempt");
    assert!(
        seen.recv_timeout(Duration::from_millis(300)).is_err(),
        "no retry after 400"
    );
    let pending = t.host.pending_outbox().expect("outbox");
    assert_eq!(pending.len(), 1);
    let error = pending[0].last_error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("plugin webhook: failed on the after_save event: POST ")
            && error.contains("failed after 1 attempt(s) (not retried): HTTP status 400"),
        "{error}"
    );
}

#[test]
fn a_silent_peer_never_holds_a_guarded_write_longer_than_the_timeout() {
    // A peer that accepts connections and never answers: a listening
    // socket nobody calls `accept` on. The kernel completes each connection
    // and buffers the request, and no answer ever comes. It stays silent
    // for as long as the test holds `peer`, with no thread and no polling.
    let peer = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = peer.local_addr().expect("addr").port();
    let url = format!("http://127.0.0.1:{port}/");
    let t = TestStore::new(&config(
        &url,
        "events = [\"before_save\"]\ntimeout_ms = 400\nretries = 10",
    ));
    let started = Instant::now();
    let err = ann(&t).expect_err("the webhook cannot deliver");
    let took = started.elapsed();
    // Within its 400 ms budget the plugin gives up "out of time" (checked
    // below). A plugin that let each of its 11 attempts run its own timeout
    // and slept every backoff (100 ms doubling) would hold the write for
    // over 100 s, and one with no timeout forever: the bound catches both
    // without betting on how fast this machine is.
    assert!(took < PATIENCE, "held the write for {took:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("plugin webhook: failed on the before_save event: POST")
            && message.contains("out of time"),
        "{message}"
    );
    let conn = rusqlite::Connection::open(t.db_path()).expect("db");
    let customers: i64 = conn
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .expect("count");
    assert_eq!(customers, 0, "the guarded write was rolled back");
    drop(peer);
}

#[test]
fn filters_send_only_cases_whose_status_changed_to_closed() {
    let (url, seen) = server(vec![]);
    let t = TestStore::new(&config(
        &url,
        r#"objects = ["case"]
when = [{ field = "status", changed = true, equals = "closed" }]"#,
    ));
    let ann = ann(&t).expect("created");
    let case = t
        .host
        .open_case(dossier_sdk::NewCase::new(ann.id, "Printer"))
        .expect("opened");
    t.host
        .modify_case(case.number, "edit", |c| {
            c.subject = "Printer on fire".into();
            Ok(())
        })
        .expect("edited");
    t.host.close_case(case.number).expect("closed");
    t.host
        .modify_case(case.number, "edit", |c| {
            c.subject = "Printer (was on fire)".into();
            Ok(())
        })
        .expect("saved while closed");
    t.host.deliver_outbox().expect("delivered");
    // Deliveries run in order, so the one request the server saw is the
    // close; nothing after it was sent, which `try_recv` shows once every
    // delivery is done.
    let first = seen.recv_timeout(PATIENCE).expect("the close was sent");
    let event: Event = serde_json::from_slice(&first.body).expect("an event");
    match event {
        Event::AfterSave(save) => {
            assert!(
                save.changed.contains(&"status".to_owned()),
                "{:?}",
                save.changed
            );
            match save.record {
                Record::Case(c) => assert_eq!(c.status, "closed"),
                other => panic!("not a case: {other:?}"),
            }
        }
        other => panic!("unexpected event {other:?}"),
    }
    assert!(t.host.pending_outbox().expect("outbox").is_empty());
    assert!(seen.try_recv().is_err(), "only the close was sent");
}

/// An agent change, chosen in `events`, is posted after it committed, with
/// the agent as it is after the change.
#[test]
fn a_chosen_directory_change_is_posted() {
    let (url, seen) = server(vec![]);
    let t = TestStore::new(&config(&url, "events = [\"directory_changed\"]"));
    t.host
        .add_agent(dossier_sdk::NewAgent {
            login: "ann".into(),
            ..Default::default()
        })
        .expect("ann");
    let request = seen.recv_timeout(PATIENCE).expect("posted");
    assert_eq!(request.headers["x-dossier-event"], "directory_changed");
    let event: Event = serde_json::from_slice(&request.body).expect("the body is an event");
    let Event::DirectoryChanged(change) = event else {
        panic!("unexpected event {event:?}")
    };
    assert_eq!(change.changes, [dossier_sdk::DirectoryChange::Added]);
    assert_eq!(change.agent.map(|a| a.login), Some("ann".to_owned()));
    assert!(t.host.pending_outbox().expect("outbox").is_empty());
}

//! The outbox's claim contract, with two hosts on one store file and a
//! clock the test moves: a delivery is held by one claim at a time, for
//! `[outbox] lease_seconds`, renewed while it runs; a holder that stalls
//! past its lease is taken over, and only the lease's holder records an
//! outcome; an attempt that was interrupted while sending is counted as a
//! possible duplicate when it is retried.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration as StdDuration;

use chrono::Duration;
use dossier_host::{Config, Ctx, DeliveryState, Handler, Host, ManualClock, Result};
use dossier_sdk::{Event, NewCustomer, Notification, Outcome};
use dossier_tests::smtp::SmtpServer;
use dossier_tests::wait_until;

use crate::built::dossier_bin;
use crate::notify::notice;
use crate::pop::add_customer;
use crate::reminders::{mail_config, plan};
use crate::util::TestStore;

/// An after-save handler keyed `crm-sync` that says when it starts and, if
/// it has a gate, waits there until the test opens it.
struct Sync {
    started: Mutex<Sender<()>>,
    gate: Option<Mutex<Receiver<()>>>,
    ran: Arc<Mutex<Vec<&'static str>>>,
    host: &'static str,
}

impl Handler for Sync {
    fn name(&self) -> &str {
        "crm-sync"
    }
    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::AfterSave(_))
    }
    fn handle(&self, _ctx: &mut Ctx, _event: &mut Event) -> Result<Outcome> {
        let _ = self.started.lock().expect("lock").send(());
        if let Some(gate) = &self.gate {
            let _ = gate.lock().expect("lock").recv();
        }
        self.ran.lock().expect("lock").push(self.host);
        Ok(Outcome::Continue)
    }
}

struct World {
    t: TestStore,
    /// Host `a`: its handler waits at the gate.
    a: Arc<Host>,
    /// Host `b`, another process on the same file: its handler does not wait.
    b: Host,
    started: Receiver<()>,
    open_gate: Sender<()>,
    ran: Arc<Mutex<Vec<&'static str>>>,
}

fn host(t: &TestStore, clock: &ManualClock, handler: Sync, renew: StdDuration) -> Host {
    let config = Config::load(&t.dir.path().join("dossier.toml")).expect("config");
    Host::builder(config)
        .clock(Arc::new(clock.clone()))
        .handler(Arc::new(handler))
        .lease_renewal(renew)
        .open()
        .expect("host")
}

/// Two hosts on one store with `[outbox] lease_seconds = 30`; `a` renews
/// its leases every `renew`.
fn world(renew: StdDuration) -> World {
    let t = TestStore::new("[outbox]\nlease_seconds = 30\n");
    let ran = Arc::new(Mutex::new(Vec::new()));
    let (started_tx, started) = channel();
    let (open_gate, gate) = channel();
    let a = host(
        &t,
        &t.clock,
        Sync {
            started: Mutex::new(started_tx.clone()),
            gate: Some(Mutex::new(gate)),
            ran: ran.clone(),
            host: "a",
        },
        renew,
    );
    let b = host(
        &t,
        &t.clock,
        Sync {
            started: Mutex::new(started_tx),
            gate: None,
            ran: ran.clone(),
            host: "b",
        },
        StdDuration::from_secs(3600),
    );
    World {
        t,
        a: Arc::new(a),
        b,
        started,
        open_gate,
        ran,
    }
}

/// Host `a` writes a customer; its after-save delivery starts on that
/// thread and waits at the gate.
fn a_starts_delivering(w: &World) -> JoinHandle<()> {
    let a = w.a.clone();
    let writer = std::thread::spawn(move || {
        a.create_customer(NewCustomer {
            account: "AC-1".into(),
            name: "Ada".into(),
            ..Default::default()
        })
        .expect("customer");
    });
    w.started
        .recv_timeout(StdDuration::from_secs(30))
        .expect("a's delivery started");
    writer
}

/// The delivery's row as the store keeps it: attempts, possible
/// duplicates, whether it was delivered and whether anyone holds it.
fn row(w: &World) -> (i64, i64, bool, bool) {
    let conn = rusqlite::Connection::open(w.t.db_path()).expect("open");
    conn.query_row(
        "SELECT attempts, possible_duplicates, delivered_at IS NOT NULL, lease_holder IS NOT NULL
         FROM outbox_deliveries",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .expect("one delivery")
}

#[test]
fn a_holder_that_stalls_past_its_lease_is_taken_over_and_only_the_new_holder_records_it() {
    // `a` never renews: it stalls, as a process stopped under a debugger
    // or swapped out would.
    let w = world(StdDuration::from_secs(3600));
    let start = w.b.now();
    let writer = a_starts_delivering(&w);

    // While `a`'s lease runs, `b` finds nothing to deliver.
    assert_eq!(w.b.deliver_outbox().expect("b delivers"), 0);
    let pending = w.b.pending_outbox().expect("outbox");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].state, DeliveryState::Sending);
    assert_eq!(pending[0].leased_until, Some(start + Duration::seconds(30)));
    w.t.clock.advance(Duration::seconds(29));
    assert_eq!(w.b.deliver_outbox().expect("b delivers"), 0);

    // The lease runs out: `b` takes the delivery over. `a` had reached the
    // handler (sending), so `b`'s attempt is counted as a possible duplicate.
    w.t.clock.advance(Duration::seconds(1));
    assert_eq!(w.b.deliver_outbox().expect("b delivers"), 1);
    assert_eq!(*w.ran.lock().expect("lock"), vec!["b"]);
    assert_eq!(row(&w), (1, 1, true, false));

    // `a` finishes late: its outcome is not recorded (it holds nothing).
    w.open_gate.send(()).expect("open the gate");
    writer.join().expect("a's write returns");
    assert_eq!(*w.ran.lock().expect("lock"), vec!["b", "a"]);
    assert_eq!(row(&w), (1, 1, true, false), "a's outcome is not recorded");
    assert!(w.b.pending_outbox().expect("outbox").is_empty());
}

#[test]
fn a_delivery_that_runs_long_keeps_its_lease_renewed_and_nobody_takes_it_over() {
    let w = world(StdDuration::from_millis(5));
    let start = w.b.now();
    let writer = a_starts_delivering(&w);

    // Time passes while `a`'s handler runs; `a` renews its lease from the
    // clock's new time.
    w.t.clock.advance(Duration::seconds(25));
    wait_until("a renews its lease", StdDuration::from_secs(30), || {
        w.b.pending_outbox().expect("outbox")[0].leased_until == Some(start + Duration::seconds(55))
    });
    // Past the first lease's end, the delivery is still `a`'s.
    w.t.clock.advance(Duration::seconds(25));
    assert_eq!(w.b.deliver_outbox().expect("b delivers"), 0);
    assert!(w.ran.lock().expect("lock").is_empty());

    w.open_gate.send(()).expect("open the gate");
    writer.join().expect("a's write returns");
    assert_eq!(*w.ran.lock().expect("lock"), vec!["a"]);
    assert_eq!(row(&w), (1, 0, true, false));
    w.t.clock.advance(Duration::hours(1));
    assert_eq!(w.b.deliver_outbox().expect("b delivers"), 0);
    assert_eq!(*w.ran.lock().expect("lock"), vec!["a"]);
}

#[test]
fn mail_whose_final_dot_got_no_answer_is_sent_again_and_counted_as_a_possible_duplicate() {
    // This server takes the whole message, then vanishes without answering.
    let server = SmtpServer::builder().vanish_after_data().start();
    let config = mail_config(server.port());
    let t = TestStore::new(&config);
    let sent = t
        .host
        .notify(Notification {
            case_number: None,
            ..notice()
        })
        .expect("queued");
    assert_eq!(server.messages().len(), 1, "the server got it all");
    let pending = t.host.pending_outbox().expect("outbox");
    assert_eq!(pending.len(), 1);
    let d = &pending[0];
    assert_eq!(d.state, DeliveryState::Sending, "{d:?}");
    assert_eq!((d.attempts, d.possible_duplicates), (1, 0));
    assert_eq!(d.leased_until, None, "the attempt ended");

    // The server is back. The retry cannot know whether the first copy
    // arrived: it sends again and counts it.
    server.stop_vanishing();
    t.clock.advance(Duration::seconds(1));
    assert_eq!(t.host.deliver_outbox().expect("delivers"), 1);
    let messages = server.messages();
    assert_eq!(messages.len(), 2);
    assert!(
        String::from_utf8_lossy(&messages[1].data).contains(
            sent.message_id
                .as_deref()
                .expect("a Message-ID was made at queue time")
        ),
        "the same Message-ID, so mail clients show one copy"
    );
    let conn = rusqlite::Connection::open(t.db_path()).expect("open");
    let (attempts, duplicates, sending): (i64, i64, bool) = conn
        .query_row(
            "SELECT attempts, possible_duplicates, sending_at IS NOT NULL FROM outbox_deliveries",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("row");
    assert_eq!((attempts, duplicates, sending), (2, 1, false));
}

#[test]
fn mail_refused_before_data_is_not_marked_sending() {
    let refusing = SmtpServer::builder()
        .refuse("grace@navy.mil", 450, "4.2.0 mailbox busy")
        .start();
    let t = TestStore::new(&mail_config(refusing.port()));
    t.host
        .notify(Notification {
            case_number: None,
            ..notice()
        })
        .expect("queued");
    assert!(refusing.messages().is_empty());
    let d = &t.host.pending_outbox().expect("outbox")[0];
    assert_eq!(d.state, DeliveryState::Failed, "{d:?}");
    assert_eq!(d.possible_duplicates, 0);
}

#[test]
fn a_lease_outside_5_to_3600_seconds_is_refused_naming_the_key() {
    let t = TestStore::new("");
    for bad in [0, 4, 3601] {
        let Err(refused) = t.reopen(&format!("[outbox]\nlease_seconds = {bad}\n")) else {
            panic!("lease_seconds = {bad} was accepted");
        };
        assert!(
            refused.to_string().contains(&format!(
                "[outbox] lease_seconds must be from 5 to 3600, not {bad}"
            )),
            "{refused}"
        );
    }
}

/// Reminder mails from `dossier run` killed with SIGKILL four times while
/// it sends: every reminder is mailed, and every copy the SMTP server got
/// beyond the first of each is one the outbox counted as a possible
/// duplicate. (Before leases per delivery and the sending mark, 5 of 500
/// went out twice over 6 kills, uncounted.)
#[test]
fn reminder_mails_survive_kill_9_and_every_second_copy_is_counted() {
    const REMINDERS: usize = 200;
    let server = SmtpServer::start();
    let config = format!(
        "{}\n[outbox]\nlease_seconds = 5\n",
        mail_config(server.port())
    );
    let t = TestStore::new(&config);
    let grace = add_customer(&t.host, "AC-000002", "Grace Hopper", "+12125550100", "");
    for i in 0..REMINDERS {
        plan(&t.host, grace, 1, 1, &format!("agent{i}@example.com"));
    }
    let run = || {
        std::process::Command::new(dossier_bin())
            .current_dir(t.dir.path())
            .args(["run", "--poll", "1"])
            .env_remove("DOSSIER_LOG")
            .env_remove("DOSSIER_CONFIG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("dossier run starts")
    };
    for kill in 1..=4 {
        let mut child = run();
        wait_until("mail arrives", StdDuration::from_secs(120), || {
            server.messages().len() >= kill * REMINDERS / 5
        });
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }
    let conn = rusqlite::Connection::open(t.db_path()).expect("open");
    let undelivered = || -> i64 {
        conn.query_row(
            "SELECT (SELECT count(*) FROM tasks WHERE remind_at IS NOT NULL AND reminded_at IS NULL)
                  + (SELECT count(*) FROM outbox_deliveries WHERE delivered_at IS NULL)",
            [],
            |r| r.get(0),
        )
        .expect("count")
    };
    let mut child = run();
    wait_until("everything is sent", StdDuration::from_secs(120), || {
        undelivered() == 0
    });
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    let ids: Vec<String> = server
        .messages()
        .iter()
        .map(|m| {
            mail_parser::MessageParser::default()
                .parse(&m.data)
                .and_then(|p| p.message_id().map(str::to_owned))
                .expect("a Message-ID")
        })
        .collect();
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), REMINDERS, "every reminder was mailed");
    let counted: i64 = conn
        .query_row(
            "SELECT coalesce(sum(possible_duplicates), 0) FROM outbox_deliveries",
            [],
            |r| r.get(0),
        )
        .expect("sum");
    let copies = i64::try_from(ids.len() - unique.len()).expect("small");
    assert!(
        copies <= counted,
        "{copies} second copies arrived but only {counted} possible duplicates were counted"
    );
}

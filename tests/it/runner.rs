//! The event runner's invariants, each with a test that fails when it
//! breaks: bounded causal chains (after-save deliveries, reminder passes,
//! nested writes), screen-pop hooks inside a transaction, re-validation of
//! what any handler changed, and the per-handler outbox (retries, backoff,
//! leases, idempotency keys). Real scripts, real plugins, a real file.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use dossier_host::{Config, Ctx, DeliveryState, Error, Handler, Host, ManualClock, Page};
use dossier_sdk::{
    Channel, CustomerId, Event, FieldValue, Interaction, NewCase, NewCustomer, NewFollowUp,
    NewTask, Outcome, Phone, Record, TaskKind,
};

use crate::built::entry;

const FIELDS: &str = r#"
[fields.case.contract_ref]
type = "text"
max_length = 8
"#;

/// A directory with a config, scripts and a manual clock that starts off a
/// whole second, so that truncation to microseconds is exercised.
struct Env {
    dir: tempfile::TempDir,
    clock: ManualClock,
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T09:00:00.123456789Z")
        .expect("time")
        .into()
}

impl Env {
    fn new(extra: &str, scripts: &[(&str, &str)]) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("scripts")).expect("scripts dir");
        for (name, text) in scripts {
            std::fs::write(dir.path().join("scripts").join(name), text).expect("script");
        }
        let files: Vec<String> = scripts.iter().map(|(n, _)| format!("{n:?}")).collect();
        let config = format!(
            "[scripts]\nfiles = [{}]\n{FIELDS}\n{extra}\n",
            files.join(", ")
        );
        std::fs::write(dir.path().join("dossier.toml"), config).expect("config");
        Env {
            dir,
            clock: ManualClock::new(start()),
        }
    }

    fn host_with(&self, handlers: Vec<Arc<dyn Handler>>) -> Host {
        let config = Config::load(&self.dir.path().join("dossier.toml")).expect("config");
        let mut builder = Host::builder(config).clock(Arc::new(self.clock.clone()));
        for h in handlers {
            builder = builder.handler(h);
        }
        builder.create_if_missing().open().expect("host opens")
    }

    fn host(&self) -> Host {
        self.host_with(Vec::new())
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("dossier.db")).expect("db")
    }

    fn count(&self, table: &str) -> i64 {
        self.db()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    }
}

fn ada(host: &Host) -> dossier_sdk::Customer {
    host.create_customer(NewCustomer {
        account: "AC-1".into(),
        name: "Ada Lovelace".into(),
        phones: vec![Phone {
            label: "mobile".into(),
            number: "+33612345678".into(),
        }],
        ..Default::default()
    })
    .expect("customer")
}

fn call(
    customer: CustomerId,
    subject: &str,
    due_at: DateTime<Utc>,
    remind: Option<u32>,
) -> NewTask {
    NewTask {
        customer: Some(customer),
        case: None,
        kind: TaskKind::Call,
        subject: subject.into(),
        due_at,
        reminder_minutes: remind,
        assignee: None,
        custom: Default::default(),
    }
}

fn call_from(number: &str) -> Interaction {
    let mut i = Interaction::new(Channel::Phone);
    i.caller = Some(number.into());
    i
}

// ----- bounded chains ---------------------------------------------------------

/// Today's main aborted the process here with a stack overflow: every
/// follow-up's after-save hook adds a follow-up, recursing through outbox
/// delivery without a cap.
#[test]
fn an_after_save_hook_that_feeds_itself_stops_at_the_depth_and_goes_dead() {
    let env = Env::new(
        "",
        &[(
            "echo.rhai",
            r#"
fn after_save_follow_up(f) {
    add_follow_up(#{ case_number: f.case_number, body: "echo" });
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    let case = host.open_case(NewCase::new(ada.id, "Echo")).expect("case");
    let first = host
        .add_follow_up(NewFollowUp::note(case.number, "agent", "hello"))
        .expect("the user's own write succeeds");
    assert_eq!(first.body, "hello");
    // The agent's follow-up, then one per level: depths 1 to 16.
    assert_eq!(env.count("follow_ups"), 17);
    let undelivered = host.pending_outbox().expect("outbox");
    assert_eq!(undelivered.len(), 1, "{undelivered:?}");
    let dead = &undelivered[0];
    assert_eq!(dead.state, DeliveryState::Dead);
    assert_eq!(dead.depth, 16);
    let error = dead.last_error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("causal chain too deep: more than 16 levels")
            && error.contains("scripts/echo.rhai (after_save_follow_up)"),
        "{error}"
    );
    // Dead means never retried by delivery passes.
    env.clock.advance(Duration::days(2));
    assert_eq!(host.deliver_outbox().expect("deliver"), 0);
    assert_eq!(env.count("follow_ups"), 17);
}

#[test]
fn the_maximum_depth_is_configured() {
    let env = Env::new(
        "[events]\nmax_depth = 3",
        &[(
            "echo.rhai",
            r#"
fn after_save_follow_up(f) {
    add_follow_up(#{ case_number: f.case_number, body: "echo" });
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    let case = host.open_case(NewCase::new(ada.id, "Echo")).expect("case");
    host.add_follow_up(NewFollowUp::note(case.number, "agent", "hello"))
        .expect("saved");
    assert_eq!(env.count("follow_ups"), 4);

    for bad in ["0", "65"] {
        let env = Env::new(&format!("[events]\nmax_depth = {bad}"), &[]);
        let config = Config::load(&env.dir.path().join("dossier.toml"));
        let err = config.expect_err("refused");
        assert_eq!(
            err.to_string(),
            format!("config is invalid: [events] max_depth must be from 1 to 64, not {bad}")
        );
    }
}

/// Today's main never finished `dossier run --once` here: the hook plans a
/// task whose reminder is already due, and the pass kept finding it.
#[test]
fn a_snoozing_reminder_hook_fires_on_later_passes_and_its_chain_ends() {
    let env = Env::new(
        "",
        &[(
            "snooze.rhai",
            r#"
fn on_task_reminder(r) {
    add_task(#{ subject: "again", due_at: now(), customer_id: r.task.customer, reminder_minutes: 0 });
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    host.add_task(call(ada.id, "call Ada", host.now(), Some(0)))
        .expect("task");
    let mut fired_per_pass = Vec::new();
    let mut last_problem = None;
    for _ in 0..40 {
        let tick = host.tick().expect("a pass ends");
        if tick.fired.is_empty() {
            break;
        }
        fired_per_pass.push(tick.fired.len());
        last_problem = tick.fired[0].problem.clone();
    }
    // One reminder per pass: the one the previous pass planned.
    assert_eq!(fired_per_pass, vec![1; 17]);
    let problem = last_problem.expect("the last one was refused");
    assert!(problem.contains("causal chain too deep"), "{problem}");
    // 1 user task + 16 snoozes; nothing is left due.
    assert_eq!(env.count("tasks"), 17);
    assert_eq!(host.count_due_reminders(host.now()).expect("count"), 0);
}

#[test]
fn a_pass_over_500_due_reminders_fires_each_as_its_own_origin() {
    let env = Env::new(
        "",
        &[(
            "note.rhai",
            r#"
fn on_task_reminder(r) {
    add_task(#{ subject: "follow " + r.task.id, due_at: "2027-01-01", customer_id: r.task.customer });
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    host.transaction("plan", |host| {
        for i in 0..500 {
            host.add_task(call(ada.id, &format!("call {i}"), host.now(), Some(0)))?;
        }
        Ok(())
    })
    .expect("planned");
    let tick = host.tick().expect("pass");
    assert_eq!(tick.fired.len(), 500);
    assert!(tick.fired.iter().all(|f| f.problem.is_none()));
    assert_eq!(env.count("tasks"), 1000);
}

// ----- screen-pop hooks run in a transaction ----------------------------------

#[test]
fn a_screen_pop_hook_that_writes_then_vetoes_leaves_nothing_behind() {
    let env = Env::new(
        "",
        &[(
            "pop.rhai",
            r#"
fn on_screen_pop(pop) {
    add_task(#{ subject: "call back", due_at: "2027-01-01", customer_id: pop.target.customer });
    if pop.interaction.caller == "+33612345678" {
        veto("this line is closed");
    }
}
"#,
        )],
    );
    let host = env.host();
    ada(&host);
    let err = host
        .screen_pop(call_from("+33612345678"))
        .expect_err("vetoed");
    assert_eq!(
        err.to_string(),
        "vetoed by scripts/pop.rhai: this line is closed"
    );
    assert_eq!(
        env.count("tasks"),
        0,
        "the vetoed pop's task was rolled back"
    );
}

// ----- re-validation ------------------------------------------------------------

struct Meddler;

impl Handler for Meddler {
    fn name(&self) -> &str {
        "meddler"
    }

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::BeforeSave(_))
    }

    fn handle(&self, _ctx: &mut Ctx, event: &mut Event) -> dossier_host::Result<Outcome> {
        if let Event::BeforeSave(save) = event
            && let Record::Case(case) = &mut save.record
        {
            case.custom.insert(
                "contract_ref".into(),
                FieldValue::Text("FAR-TOO-LONG".into()),
            );
        }
        Ok(Outcome::Continue)
    }
}

#[test]
fn a_record_an_in_process_handler_changed_is_validated_again() {
    let env = Env::new("", &[]);
    let host = env.host_with(vec![Arc::new(Meddler)]);
    let ada = ada(&host);
    let err = host
        .open_case(NewCase::new(ada.id, "Printer"))
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "case is invalid: field `contract_ref` is longer than 8 characters (12)"
    );
    assert_eq!(env.count("cases"), 0);
}

#[test]
fn a_record_a_native_plugin_changed_is_validated_again() {
    let env = Env::new(&entry("probe-plugin", "priority = \"sky-high\""), &[]);
    let host = env.host();
    let ada = ada(&host);
    let err = host
        .open_case(NewCase::new(ada.id, "Printer"))
        .expect_err("refused");
    assert!(
        err.to_string()
            .starts_with("case is invalid: field `priority` has no priority `sky-high`"),
        "{err}"
    );
    assert_eq!(env.count("cases"), 0);
}

#[test]
fn in_process_handlers_run_after_the_configured_scripts_and_plugins() {
    // `set_plugin_handlers` used to replace the configured plugins; the
    // builder adds handlers beside them.
    let env = Env::new(
        &entry("probe-plugin", "priority = \"high\""),
        &[(
            "sla.rhai",
            "fn before_save_case(c) { c.description = \"script was here\"; }\n",
        )],
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    struct Witness(Arc<Mutex<Vec<String>>>);
    impl Handler for Witness {
        fn name(&self) -> &str {
            "witness"
        }
        fn handles(&self, event: &Event) -> bool {
            matches!(event, Event::BeforeSave(_))
        }
        fn handle(&self, ctx: &mut Ctx, event: &mut Event) -> dossier_host::Result<Outcome> {
            if let Event::BeforeSave(save) = event
                && let Record::Case(case) = &save.record
            {
                self.0.lock().expect("lock").push(format!(
                    "{} / {} / in transaction {} / depth {} / {} / chain {}",
                    case.description,
                    case.priority,
                    ctx.in_transaction(),
                    ctx.depth(),
                    ctx.actor(),
                    ctx.chain().len()
                ));
            }
            Ok(Outcome::Continue)
        }
    }
    let host = env.host_with(vec![Arc::new(Witness(seen.clone()))]);
    let ada = ada(&host);
    let case = host
        .open_case(NewCase::new(ada.id, "Printer"))
        .expect("case");
    assert_eq!(case.priority, "high", "the plugin still ran");
    assert_eq!(
        *seen.lock().expect("lock"),
        vec![
            "script was here / high / in transaction true / depth 0 / system / chain 0".to_owned()
        ]
    );
}

// ----- scripts cannot catch what stops them -----------------------------------

#[test]
fn a_script_cannot_catch_a_veto_or_a_failed_host_write() {
    let env = Env::new(
        "",
        &[(
            "sly.rhai",
            r#"
fn before_save_case(c) {
    if c.subject == "veto" {
        try { veto("no"); } catch (e) { c.description = "caught"; }
    }
    if c.subject == "write" {
        try {
            add_follow_up(#{ case_number: 999, body: "lost" });
        } catch (e) {
            c.description = "caught";
        }
    }
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    let err = host
        .open_case(NewCase::new(ada.id, "veto"))
        .expect_err("still vetoed");
    assert_eq!(err.to_string(), "vetoed by scripts/sly.rhai: no");
    let err = host
        .open_case(NewCase::new(ada.id, "write"))
        .expect_err("the failed write still fails the hook");
    assert!(
        err.to_string().contains("refers to missing case #999"),
        "{err}"
    );
    assert_eq!(env.count("cases"), 0);
}

// ----- the outbox, per handler --------------------------------------------------

/// An after-save handler that fails its first `failures` calls and records
/// the idempotency keys it saw.
struct Flaky {
    name: &'static str,
    failures: AtomicUsize,
    keys: Mutex<Vec<String>>,
}

impl Flaky {
    fn new(name: &'static str, failures: usize) -> Arc<Flaky> {
        Arc::new(Flaky {
            name,
            failures: AtomicUsize::new(failures),
            keys: Mutex::new(Vec::new()),
        })
    }

    fn keys(&self) -> Vec<String> {
        self.keys.lock().expect("lock").clone()
    }
}

impl Handler for Flaky {
    fn name(&self) -> &str {
        self.name
    }

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::AfterSave(_))
    }

    fn handle(&self, ctx: &mut Ctx, _event: &mut Event) -> dossier_host::Result<Outcome> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(Error::Refused(format!("{} is down", self.name)));
        }
        let key = ctx.idempotency_key().expect("deliveries carry a key");
        self.keys.lock().expect("lock").push(key.to_owned());
        Ok(Outcome::Continue)
    }
}

#[test]
fn a_retry_runs_only_the_handler_that_failed() {
    let env = Env::new("", &[]);
    let audit = Flaky::new("audit", 0);
    let webhook = Flaky::new("webhook", 1);
    let host = env.host_with(vec![audit.clone(), webhook.clone()]);
    let ada = ada(&host);
    assert_eq!(audit.keys().len(), 1);
    assert!(webhook.keys().is_empty());
    let pending = host.pending_outbox().expect("outbox");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].handler, "webhook");
    assert_eq!(pending[0].state, DeliveryState::Failed);
    assert_eq!(pending[0].last_error.as_deref(), Some("webhook is down"));
    assert_eq!(pending[0].record, format!("customer {}", ada.id));

    env.clock.advance(Duration::seconds(1));
    assert_eq!(host.deliver_outbox().expect("deliver"), 1);
    assert_eq!(audit.keys().len(), 1, "the audit handler did not run again");
    assert_eq!(
        webhook.keys(),
        audit.keys(),
        "one key per event, every handler"
    );
    assert!(host.pending_outbox().expect("outbox").is_empty());
}

#[test]
fn backoff_grows_and_a_delivery_that_keeps_failing_goes_dead() {
    let env = Env::new("", &[]);
    let down = Flaky::new("down", usize::MAX);
    let host = env.host_with(vec![down.clone()]);
    ada(&host);
    let mut waits = Vec::new();
    for _ in 0..6 {
        let pending = host.pending_outbox().expect("outbox");
        let next = pending[0]
            .next_attempt_at
            .expect("failed ones have a next attempt");
        waits.push((next - host.now()).num_seconds());
        env.clock.set(next);
        host.deliver_outbox().expect("deliver");
    }
    assert_eq!(waits, vec![1, 2, 4, 8, 16, 32]);
    // On to the cap of attempts.
    loop {
        let pending = host.pending_outbox().expect("outbox");
        match pending[0].next_attempt_at {
            Some(next) => {
                env.clock.set(next);
                host.deliver_outbox().expect("deliver");
            }
            None => break,
        }
    }
    let dead = &host.pending_outbox().expect("outbox")[0];
    assert_eq!(dead.state, DeliveryState::Dead);
    assert_eq!(dead.attempts, dossier_core::events::MAX_ATTEMPTS);
    assert!(
        dead.last_error
            .as_deref()
            .is_some_and(|e| e.ends_with("(gave up after 20 attempts)")),
        "{dead:?}"
    );
    // An operator's retry gives it one more attempt.
    down.failures.store(0, Ordering::SeqCst);
    assert_eq!(host.retry_outbox(Some(dead.id)).expect("retry"), 1);
    assert!(host.pending_outbox().expect("outbox").is_empty());
    assert_eq!(down.keys().len(), 1);
}

#[test]
fn idempotency_keys_stay_unique_under_a_frozen_clock() {
    let env = Env::new("", &[]);
    let audit = Flaky::new("audit", 0);
    let host = env.host_with(vec![audit.clone()]);
    let ada = ada(&host);
    let case = host
        .open_case(NewCase::new(ada.id, "Printer"))
        .expect("case");
    // Same record, same operation, same instant: three updates.
    for subject in ["a", "b", "c"] {
        let mut c = host.case(case.number).expect("case");
        c.subject = subject.into();
        host.update_case(c).expect("update");
    }
    let keys = audit.keys();
    assert_eq!(keys.len(), 5);
    let unique: std::collections::BTreeSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), 5, "{keys:?}");
    assert!(keys[2].starts_with(&format!("case:{}:update:", case.number)));
}

/// Counts deliveries per idempotency key, across hosts.
struct Tally(Arc<Mutex<BTreeMap<String, usize>>>, AtomicUsize);

impl Handler for Tally {
    fn name(&self) -> &str {
        "tally"
    }

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::AfterSave(_))
    }

    fn handle(&self, ctx: &mut Ctx, _event: &mut Event) -> dossier_host::Result<Outcome> {
        if self
            .1
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(Error::Refused("not yet".into()));
        }
        let key = ctx.idempotency_key().unwrap_or_default().to_owned();
        *self.0.lock().expect("lock").entry(key).or_default() += 1;
        Ok(Outcome::Continue)
    }
}

/// Two hosts claiming at the same moment, on a clock that does not move:
/// the claim alone keeps each delivery to one of them. What happens when
/// a lease runs out (a holder stalled, or killed) is
/// `outbox_lease.rs`'s, on a clock the tests move past it.
#[test]
fn two_hosts_delivering_at_once_deliver_each_entry_once() {
    let env = Env::new("", &[]);
    let tally = Arc::new(Mutex::new(BTreeMap::new()));
    // The writing host's deliveries all fail, so they wait for the others.
    let writer = env.host_with(vec![Arc::new(Tally(
        tally.clone(),
        AtomicUsize::new(usize::MAX),
    ))]);
    let ada = ada(&writer);
    let case = writer
        .open_case(NewCase::new(ada.id, "Busy"))
        .expect("case");
    for i in 0..58 {
        writer
            .add_follow_up(NewFollowUp::note(case.number, "agent", format!("note {i}")))
            .expect("note");
    }
    let queued = writer.pending_outbox().expect("outbox").len();
    assert_eq!(queued, 60);
    assert!(tally.lock().expect("lock").is_empty());
    env.clock.advance(Duration::hours(3));
    let hosts: Vec<Host> = (0..2)
        .map(|_| env.host_with(vec![Arc::new(Tally(tally.clone(), AtomicUsize::new(0)))]))
        .collect();
    let threads: Vec<_> = hosts
        .into_iter()
        .map(|h| std::thread::spawn(move || h.deliver_outbox().expect("deliver")))
        .collect();
    let delivered: usize = threads.into_iter().map(|t| t.join().expect("thread")).sum();
    let tally = tally.lock().expect("lock");
    assert_eq!(delivered, queued);
    assert_eq!(tally.len(), queued);
    assert!(tally.values().all(|n| *n == 1), "{tally:?}");
    assert!(writer.pending_outbox().expect("outbox").is_empty());
}

#[test]
fn times_are_kept_to_the_microsecond_and_read_back_equal() {
    let env = Env::new("", &[]);
    let host = env.host();
    let ada = ada(&host);
    assert_eq!(ada.created_at.timestamp_subsec_nanos(), 123_456_000);
    assert_eq!(host.customer(ada.id).expect("read"), ada);
    let case = host
        .open_case(NewCase::new(ada.id, "Printer"))
        .expect("case");
    assert_eq!(host.case(case.number).expect("read"), case);
    let note = host
        .add_follow_up(NewFollowUp::note(case.number, "agent", "hi"))
        .expect("note");
    let (notes, _) = host.follow_ups(case.number, Page::default()).expect("read");
    assert_eq!(notes, vec![note]);
    let task = host
        .add_task(call(
            ada.id,
            "call",
            start() + Duration::nanoseconds(999),
            None,
        ))
        .expect("task");
    assert_eq!(host.task(task.id).expect("read"), task);
}

#[test]
fn what_a_pop_hook_chose_is_checked_deduplicated_and_its_open_cases_recomputed() {
    let env = Env::new(
        "",
        &[(
            "pop.rhai",
            r#"
fn on_screen_pop(pop) {
    let caller = pop.interaction.caller;
    if caller == "+33612345678" {
        // Twice the same customer, and open cases made up.
        pop.target = #{ pop: "candidates", customers: [1, 2, 1] };
        pop.open_cases = [999];
    } else if caller == "+33100000000" {
        // A case pop naming the wrong customer; the host corrects it.
        pop.target = #{ pop: "case", case_number: 1, customer: 2 };
        pop.open_cases = [];
    } else if caller == "+33100000001" {
        pop.target = #{ pop: "candidates", customers: [] };
    }
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    let bob = host
        .create_customer(NewCustomer {
            account: "AC-2".into(),
            name: "Bob".into(),
            ..Default::default()
        })
        .expect("bob");
    let first = host.open_case(NewCase::new(ada.id, "One")).expect("case");
    let second = host.open_case(NewCase::new(ada.id, "Two")).expect("case");

    let pop = host.screen_pop(call_from("+33612345678")).expect("pop");
    assert_eq!(
        pop.target,
        dossier_sdk::PopTarget::Candidates {
            customers: vec![ada.id, bob.id]
        }
    );
    assert!(pop.open_cases.is_empty(), "candidates list no open cases");

    let pop = host.screen_pop(call_from("+33100000000")).expect("pop");
    assert_eq!(
        pop.target,
        dossier_sdk::PopTarget::Case {
            case_number: first.number,
            customer: ada.id
        }
    );
    assert_eq!(pop.open_cases, vec![second.number, first.number]);

    let err = host
        .screen_pop(call_from("+33100000001"))
        .expect_err("empty candidates");
    assert!(err.to_string().contains("empty candidate list"), "{err}");
}

/// Records the `changed` list of every after-save event.
struct Changes(Mutex<Vec<Vec<String>>>);

impl Handler for Changes {
    fn name(&self) -> &str {
        "changes"
    }

    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::AfterSave(_))
    }

    fn handle(&self, _ctx: &mut Ctx, event: &mut Event) -> dossier_host::Result<Outcome> {
        if let Event::AfterSave(save) = event {
            self.0.lock().expect("lock").push(save.changed.clone());
        }
        Ok(Outcome::Continue)
    }
}

#[test]
fn the_after_save_event_names_the_fields_that_changed() {
    let env = Env::new("", &[]);
    let changes = Arc::new(Changes(Mutex::new(Vec::new())));
    let host = env.host_with(vec![changes.clone()]);
    let ada = ada(&host);
    let case = host
        .open_case(NewCase::new(ada.id, "Printer"))
        .expect("case");
    host.modify_case(case.number, "edit", |c| {
        c.priority = "high".into();
        c.custom
            .insert("contract_ref".into(), FieldValue::Text("C-1".into()));
        Ok(())
    })
    .expect("modified");
    let seen = changes.0.lock().expect("lock");
    assert_eq!(seen.len(), 3);
    assert!(seen[1].contains(&"subject".to_owned()), "{:?}", seen[1]);
    assert_eq!(
        seen[2],
        vec!["priority".to_owned(), "custom.contract_ref".to_owned()]
    );
}

// ----- who wrote it -------------------------------------------------------------

/// A hook's writes are the acting agent's, marked with the hook that made
/// them; the agent's own writes carry no mark.
#[test]
fn a_hooks_writes_are_the_actors_and_name_the_hook() {
    let env = Env::new(
        "",
        &[(
            "marks.rhai",
            r#"
fn before_save_case(c) {
    add_follow_up(#{ case_number: c.number, body: "opened by the desk" });
    add_task(#{ case_number: c.number, subject: "Call back", due_at: "2026-11-24" });
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    host.add_agent(dossier_sdk::NewAgent {
        login: "ann".into(),
        ..Default::default()
    })
    .expect("ann");
    let ann = host.as_agent("ann").expect("ann acts");
    let case = ann.open_case(NewCase::new(ada.id, "Broken")).expect("case");
    let own = ann
        .add_follow_up(NewFollowUp::note(case.number, "ann", "my own note"))
        .expect("note");
    assert_eq!(own.via, None);

    let (notes, _) = ann.follow_ups(case.number, Page::default()).expect("list");
    let marked: Vec<_> = notes.iter().filter(|f| f.via.is_some()).collect();
    assert_eq!(marked.len(), 1, "{notes:?}");
    assert_eq!(marked[0].body, "opened by the desk");
    assert_eq!(marked[0].author, "ann");
    assert_eq!(
        marked[0].via.as_deref(),
        Some("scripts/marks.rhai (before_save_case)")
    );
    let tasks = host
        .list_tasks(&Default::default(), Page::default())
        .expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].via.as_deref(),
        Some("scripts/marks.rhai (before_save_case)")
    );
    // Read back from the file by a fresh host, the mark is kept; an update
    // cannot rewrite it.
    drop(host);
    let host = env.host();
    let mut task = host
        .list_tasks(&Default::default(), Page::default())
        .expect("tasks")
        .remove(0);
    task.via = None;
    task.subject = "Call back today".into();
    let task = host.update_task(task).expect("updated");
    assert_eq!(
        task.via.as_deref(),
        Some("scripts/marks.rhai (before_save_case)")
    );
}

/// A new case whose hook only changes it is written once, after the hook;
/// one whose hook looks at the store is there for the hook to see.
#[test]
fn a_new_case_is_written_before_its_hooks_only_when_a_hook_looks_at_the_store() {
    let env = Env::new(
        "",
        &[(
            "shape.rhai",
            r#"
fn before_save_case(c) {
    c.priority = "high";
    if c.subject == "look" {
        let seen = find_case(c.number);
        c.description = "seen as " + seen.subject;
    }
}
"#,
        )],
    );
    let host = env.host();
    let ada = ada(&host);
    // Count the updates of case rows, from the file itself.
    env.db()
        .execute_batch(
            "CREATE TABLE case_updates (number INTEGER);
             CREATE TRIGGER count_case_updates AFTER UPDATE ON cases
             BEGIN INSERT INTO case_updates VALUES (NEW.number); END;",
        )
        .expect("counter");
    let quiet = host.open_case(NewCase::new(ada.id, "quiet")).expect("case");
    assert_eq!(quiet.priority, "high");
    assert_eq!(env.count("case_updates"), 0, "written once");

    let look = host.open_case(NewCase::new(ada.id, "look")).expect("case");
    assert_eq!(look.description, "seen as look");
    assert_eq!(
        env.count("case_updates"),
        1,
        "written before, then rewritten"
    );
    let stored = host.case(look.number).expect("read");
    assert_eq!(stored.description, "seen as look");
    assert_eq!(stored.priority, "high");
}

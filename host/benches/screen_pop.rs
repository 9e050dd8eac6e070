//! Screen-pop by phone at scale: 1,000,000 customers and 3,000,000 cases.
//!
//! Measures `Host::screen_pop` for inbound calls (p50, p99, throughput) for
//! known callers in E.164 and national format, unknown callers, and with one
//! `on_screen_pop` script loaded, against raw rusqlite on the same file in
//! the same run: the same reads (known and unknown callers), and a single
//! indexed lookup. Every contender keeps its prepared statements and has the
//! same pragmas (`common::configure`); nobody runs `ANALYZE` (the host never
//! does) and nothing is pre-read into a cache.
//!
//! Run with `cargo bench -p dossier-host --bench screen_pop`. The first run
//! generates the database under `target/bench-data/` (about a minute on two
//! cores); later runs reuse it. Set `DOSSIER_BENCH_REGENERATE=1` to rebuild.
//! See `BENCHMARKS.md`, "Screen-pop at scale".

mod common;

use common::pop_data::{CASES, CUSTOMERS, Lcg, config_for, generate, is_generated, phone_of};

use std::time::Instant;

use common::{BenchResult, Contender};
use dossier_host::Host;
use dossier_sdk::{Channel, CustomerId, Interaction, PopTarget};
use rusqlite::{Connection, params};

/// Lookups measured per contender, after as many warm-up lookups.
const LOOKUPS: usize = 200_000;

/// Pops made by the first host before the memory it costs is read.
const MEMORY_POPS: usize = 10_000;

/// What an application without Dossier would run for the same pop: the
/// host's own pop-by-phone statement (the viewer's standing, the phone
/// index, the customer's account and name, their open cases, in one
/// statement, so one snapshot without a transaction around it), the viewer
/// seeing every case, as the host's `system` pop. It gets the number already in E.164, so it skips the
/// normalization the host may do.
fn raw_pop(conn: &Connection, number: &str) -> BenchResult<(i64, usize)> {
    let mut stmt = conn.prepare_cached(dossier_host::test_support::pop_by_phone_sql())?;
    let mut rows = stmt.query(params![number, 20, true, Option::<&str>::None])?;
    let mut found = (0, 0);
    while let Some(row) = rows.next()? {
        let (_ok, _sees_all): (bool, bool) = (row.get(0)?, row.get(1)?);
        let Some(id) = row.get::<_, Option<i64>>(2)? else {
            continue;
        };
        let (_account, _name): (String, String) = (row.get(3)?, row.get(4)?);
        let mut open: Vec<i64> = match row.get::<_, Option<String>>(5)? {
            Some(open) => open
                .split(',')
                .filter(|n| !n.is_empty())
                .map(str::parse)
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        open.sort_unstable_by(|a, b| b.cmp(a));
        let open = open.len();
        if found.0 == 0 {
            found = (id, open);
        }
    }
    Ok(found)
}

/// A single indexed lookup, statement kept: the floor of any pop.
fn raw_lookup(conn: &Connection, number: &str) -> BenchResult<i64> {
    Ok(conn
        .prepare_cached("SELECT customer_id FROM customer_phones WHERE number = ?1")?
        .query_row([number], |r| r.get(0))?)
}

/// A pop script of the kind admins write: look at the open cases, pop the
/// only one, say why.
const POP_SCRIPT: &str = r#"
fn on_screen_pop(pop) {
    if pop.target.pop == "customer" && pop.open_cases.len() == 1 {
        pop.target = #{ pop: "case", case_number: pop.open_cases[0], customer: pop.target.customer };
        pop.reason = "the caller's only open case";
    }
}
"#;

fn main() -> BenchResult<()> {
    let dir = common::data_dir();
    std::fs::create_dir_all(&dir)?;
    let db = common::pop_data::db_path();
    if common::generate_once(&db, is_generated, generate)? {
        return Ok(());
    }

    let call = |caller: &str| Interaction {
        caller: Some(caller.to_owned()),
        ..Interaction::new(Channel::Phone)
    };
    let at_start = common::Memory::now();
    let opened = Instant::now();
    let host = Host::builder(config_for(&db)).create_if_missing().open()?;
    let open_time = opened.elapsed();
    // What one host costs: 10,000 pops of known callers (not the ones
    // timed below) before anything else is opened in this process.
    for i in 0..MEMORY_POPS {
        let number = phone_of((i as u64).wrapping_mul(7_919) % CUSTOMERS);
        host.screen_pop(call(&number))?;
    }
    let one_host = common::Memory::now();
    let scripts = tempfile::tempdir()?;
    std::fs::write(scripts.path().join("pop.rhai"), POP_SCRIPT)?;
    let mut scripted_config = config_for(&db);
    scripted_config.scripts.enabled = true;
    scripted_config.scripts.dir = scripts.path().to_owned();
    scripted_config.scripts.files = vec!["pop.rhai".into()];
    let scripted = Host::builder(scripted_config).create_if_missing().open()?;
    // An agent without `see_all_private`: every pop and list applies the
    // visibility condition for them. Added once to the cached file.
    if host.agent("bench.agent").is_err() {
        host.add_agent(dossier_sdk::NewAgent {
            login: "bench.agent".into(),
            ..Default::default()
        })?;
    }
    let agent = host.as_agent("bench.agent")?;
    let first_page = dossier_host::Page {
        offset: 0,
        limit: 20,
    };

    let mut rng = Lcg(7);
    let picks: Vec<u64> = (0..2 * LOOKUPS).map(|_| rng.next() % CUSTOMERS).collect();
    let numbers: Vec<String> = picks.iter().map(|&i| phone_of(i)).collect();
    // The same callers, as an agent would type them (national format):
    // the host must parse these before looking them up.
    let national: Vec<String> = picks.iter().map(|&i| format!("061{i:07}")).collect();
    // Valid numbers nobody has: +33 62 …
    let unknown: Vec<String> = picks.iter().map(|&i| format!("+3362{i:07}")).collect();
    let expect = |i: usize, what: &str, pop: dossier_sdk::ScreenPop| -> BenchResult<()> {
        match pop.target {
            PopTarget::Customer { customer } | PopTarget::Case { customer, .. }
                if customer == CustomerId(picks[i] as i64 + 1) =>
            {
                Ok(())
            }
            other => Err(format!("{what} popped {other:?}").into()),
        }
    };
    let raw = common::raw_reader(&db)?;
    let raw_same = |number: &str, want: i64| -> BenchResult<()> {
        let (id, _) = raw_pop(&raw, number)?;
        if id == want {
            Ok(())
        } else {
            Err("raw lookup found the wrong customer".into())
        }
    };
    let mut contenders: Vec<Contender<'_>> = vec![
        (
            "raw rusqlite, same reads (known caller)",
            Box::new(|i| raw_same(&numbers[i], picks[i] as i64 + 1)),
        ),
        (
            "raw rusqlite, one indexed lookup",
            Box::new(|i| {
                let id = raw_lookup(&raw, &numbers[i])?;
                if id == picks[i] as i64 + 1 {
                    Ok(())
                } else {
                    Err("raw lookup found the wrong customer".into())
                }
            }),
        ),
        (
            "Host::screen_pop, known caller (E.164)",
            Box::new(|i| expect(i, &numbers[i], host.screen_pop(call(&numbers[i]))?)),
        ),
        (
            "Host::screen_pop, known caller (national)",
            Box::new(|i| expect(i, &national[i], host.screen_pop(call(&national[i]))?)),
        ),
        (
            "raw rusqlite, same reads (unknown caller)",
            Box::new(|i| raw_same(&unknown[i], 0)),
        ),
        (
            "Host::screen_pop, unknown caller",
            Box::new(|i| match host.screen_pop(call(&unknown[i]))?.target {
                PopTarget::NewCustomer { .. } => Ok(()),
                other => Err(format!("an unknown caller popped {other:?}").into()),
            }),
        ),
        (
            "Host::screen_pop, one on_screen_pop script",
            Box::new(|i| expect(i, &numbers[i], scripted.screen_pop(call(&numbers[i]))?)),
        ),
        (
            "Host::screen_pop as an agent (visibility applied)",
            Box::new(|i| expect(i, &numbers[i], agent.screen_pop(call(&numbers[i]))?)),
        ),
        (
            "Host::list_cases of the caller, as system",
            Box::new(|i| {
                let filter = dossier_host::CaseFilter {
                    customer: Some(CustomerId(picks[i] as i64 + 1)),
                    ..Default::default()
                };
                host.list_cases(&filter, first_page)?;
                Ok(())
            }),
        ),
        (
            "Host::list_cases of the caller, as an agent",
            Box::new(|i| {
                let filter = dossier_host::CaseFilter {
                    customer: Some(CustomerId(picks[i] as i64 + 1)),
                    ..Default::default()
                };
                agent.list_cases(&filter, first_page)?;
                Ok(())
            }),
        ),
    ];
    // For profiling one contender: `DOSSIER_BENCH_ONLY=agent` keeps those
    // whose name contains the text, and prints no ratios.
    if let Ok(only) = std::env::var("DOSSIER_BENCH_ONLY") {
        contenders.retain(|(n, _)| n.contains(only.as_str()));
        let names: Vec<&str> = contenders.iter().map(|(n, _)| *n).collect();
        let stats = common::interleaved(&mut contenders, LOOKUPS, LOOKUPS, 1000)?;
        common::report(&names, &stats, 0);
        return Ok(());
    }
    let names: Vec<&str> = contenders.iter().map(|(n, _)| *n).collect();
    let stats = common::interleaved(&mut contenders, LOOKUPS, LOOKUPS, 1000)?;
    drop(contenders);
    let after = common::Memory::now();

    let size_mib = std::fs::metadata(&db)?.len() as f64 / (1024.0 * 1024.0);
    println!("screen-pop at scale: {CUSTOMERS} customers, {CASES} cases, {size_mib:.0} MiB file");
    println!(
        "host opened in {open_time:.1?}; {LOOKUPS} pops per contender after as many warm-up \
         pops on other callers, interleaved in blocks of 1000; {}",
        common::machine()
    );
    common::report(&names, &stats, 0);
    let ratio = |a: usize, b: usize| stats[a].per_second / stats[b].per_second;
    let p99 = |i: usize| common::us(stats[i].p99);
    println!(
        "known E.164 pop vs raw same reads: {:.2}x (target >= 0.8x); vs one raw lookup: {:.2}x \
         (target >= 0.4x); p99 {:.1} µs vs raw same reads {:.1} µs = {:.2}x (target <= 1.5x)",
        ratio(2, 0),
        ratio(2, 1),
        p99(2),
        p99(0),
        p99(2) / p99(0)
    );
    println!(
        "unknown caller vs raw same reads: {:.2}x; national format vs raw: {:.2}x; \
         with a pop script vs raw: {:.2}x",
        ratio(5, 4),
        ratio(3, 0),
        ratio(6, 0)
    );
    println!(
        "visibility cost: pop as an agent vs as system {:.2}x (target >= 0.91x, i.e. at most 10% \
         slower); case list as an agent vs as system {:.2}x (same target)",
        ratio(7, 2),
        ratio(9, 8)
    );
    let grown = one_host.anonymous.saturating_sub(at_start.anonymous);
    println!(
        "memory of one host with {CUSTOMERS} customers after {MEMORY_POPS} pops: anonymous \
         {:.1} MiB more than before it opened (target <= 32 MiB: {}); file-backed {:.1} MiB (the \
         store's memory map, at most 1 GiB per connection, shared)",
        common::mib(grown),
        if common::mib(grown) <= 32.0 {
            "met"
        } else {
            "not met"
        },
        common::mib(one_host.file_backed),
    );
    println!(
        "memory at the end, both hosts and the raw connection open: {}; at start: {}",
        after.show(),
        at_start.show()
    );
    Ok(())
}

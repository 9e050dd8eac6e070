//! Screen-pop by phone at scale: 1,000,000 customers and 3,000,000 cases.
//!
//! Measures `Host::screen_pop` for inbound calls (p50, p99, throughput)
//! against a raw rusqlite lookup doing the same reads on the same file in
//! the same run, and the host's resident memory with that store open.
//!
//! Run with `cargo bench -p dossier-host --bench screen_pop`. The first run
//! generates the database under `target/bench-data/` (about a minute on two
//! cores); later runs reuse it. Set `DOSSIER_BENCH_REGENERATE=1` to rebuild.
//! See `BENCHMARKS.md`, "Screen-pop at scale".

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dossier_host::{Config, Host};
use dossier_sdk::{Channel, CustomerId, Interaction, PopTarget};
use rusqlite::{Connection, OpenFlags, params};

const CUSTOMERS: u64 = 1_000_000;
const CASES: u64 = 3_000_000;
/// Lookups measured per contender, after as many warm-up lookups.
const LOOKUPS: usize = 200_000;
/// Marks a complete database; a run that died half-way leaves none.
const DONE_MARK: &str = "screen-pop-v1 complete";

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("bench-data")
}

fn config_for(db: &Path) -> Config {
    let mut config = Config::default();
    config.store.path = db.to_owned();
    config
}

/// Customer `i`'s phone: French mobile numbers +33 61 0000000 onwards, all
/// valid and distinct.
fn phone_of(i: u64) -> String {
    format!("+3361{i:07}")
}

/// A small, fixed pseudo-random sequence (64-bit LCG), so every run asks
/// for the same customers.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// Fills the database with raw SQL on the schema the host's migrations made:
/// one transaction, no journal, a large page cache.
fn generate(db: &Path) -> BenchResult<()> {
    let started = Instant::now();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    // Create the schema exactly as the host does.
    drop(Host::open(config_for(db))?);
    let mut conn = Connection::open(db)?;
    conn.pragma_update(None, "journal_mode", "OFF")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "cache_size", -1_000_000)?;
    let ts = "2026-01-01T00:00:00.000000Z";
    let tx = conn.transaction()?;
    {
        let mut customer = tx.prepare(
            "INSERT INTO customers (id, account, name, address, custom, created_at, updated_at)
             VALUES (?1, ?2, ?3, '{}', '{}', ?4, ?4)",
        )?;
        let mut phone = tx.prepare(
            "INSERT INTO customer_phones (customer_id, position, label, number)
             VALUES (?1, 0, 'main', ?2)",
        )?;
        for i in 0..CUSTOMERS {
            let id = i as i64 + 1;
            customer.execute(params![
                id,
                format!("AC-{id:07}"),
                format!("Customer {id}"),
                ts
            ])?;
            phone.execute(params![id, phone_of(i)])?;
        }
        let mut case = tx.prepare(
            "INSERT INTO cases (number, customer_id, subject, description, status, is_open,
                                visibility, severity, priority, custom, created_at, updated_at)
             VALUES (?1, ?2, ?3, '', ?4, ?5, 'public', 'minor', 'normal', '{}', ?6, ?6)",
        )?;
        let mut rng = Lcg(42);
        for n in 1..=CASES {
            let customer = (rng.next() % CUSTOMERS) as i64 + 1;
            // About one case in three is still open.
            let open = n % 3 == 0;
            case.execute(params![
                n as i64,
                customer,
                format!("Case {n}"),
                if open { "open" } else { "closed" },
                open,
                ts
            ])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("ANALYZE")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    drop(conn);
    std::fs::write(done_mark(db), DONE_MARK)?;
    eprintln!(
        "generated {CUSTOMERS} customers and {CASES} cases in {:.1?}",
        started.elapsed()
    );
    Ok(())
}

fn done_mark(db: &Path) -> PathBuf {
    db.with_extension("done")
}

fn is_generated(db: &Path) -> bool {
    db.exists()
        && std::fs::read_to_string(done_mark(db)).is_ok_and(|m| m == DONE_MARK)
        && std::env::var_os("DOSSIER_BENCH_REGENERATE").is_none()
}

/// Reads the file once so that the OS page cache holds it, as on a server
/// that has been up for a while: the figures then measure the host, not the
/// disk. Reading through a small buffer adds nothing to this process's
/// resident memory.
fn warm_os_cache(db: &Path) -> BenchResult<()> {
    use std::io::Read;
    let mut file = std::fs::File::open(db)?;
    let mut buf = vec![0u8; 1 << 20];
    while file.read(&mut buf)? > 0 {}
    Ok(())
}

/// Resident and peak memory of this process, in KiB, from /proc/self/status.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Stats {
    p50: Duration,
    p99: Duration,
    per_second: f64,
}

/// A named way to pop customer `i` of the query list.
type Contender<'a> = (&'static str, Box<dyn FnMut(usize) -> BenchResult<()> + 'a>);

/// Warms every contender up on other customers, then times them on the
/// same customers in interleaved blocks, so that load from elsewhere on the
/// machine falls on all of them alike.
fn measure(contenders: &mut [Contender<'_>]) -> BenchResult<Vec<Stats>> {
    const BLOCK: usize = 1000;
    for (_, lookup) in contenders.iter_mut() {
        for i in 0..LOOKUPS {
            lookup(i + LOOKUPS)?;
        }
    }
    let mut times = vec![Vec::with_capacity(LOOKUPS); contenders.len()];
    for start in (0..LOOKUPS).step_by(BLOCK) {
        for ((_, lookup), times) in contenders.iter_mut().zip(&mut times) {
            for i in start..(start + BLOCK).min(LOOKUPS) {
                let t = Instant::now();
                lookup(i)?;
                times.push(t.elapsed());
            }
        }
    }
    Ok(times
        .into_iter()
        .map(|mut times| {
            let total: Duration = times.iter().sum();
            times.sort_unstable();
            Stats {
                p50: times[LOOKUPS / 2],
                p99: times[LOOKUPS * 99 / 100],
                per_second: LOOKUPS as f64 / total.as_secs_f64(),
            }
        })
        .collect())
}

/// What an application without Dossier would run for the same pop: the
/// phone index, the customer's account and name, their open cases, in one
/// read transaction (one snapshot, as the host reads). It gets the number
/// already in E.164, so it skips the normalization the host may do.
fn raw_pop(conn: &Connection, number: &str) -> BenchResult<(i64, usize)> {
    conn.prepare_cached("BEGIN")?.execute([])?;
    let found = raw_reads(conn, number);
    conn.prepare_cached("COMMIT")?.execute([])?;
    found
}

fn raw_reads(conn: &Connection, number: &str) -> BenchResult<(i64, usize)> {
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT customer_id FROM customer_phones WHERE number = ?1")?
        .query_map([number], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let id = *ids.first().ok_or("raw lookup found nobody")?;
    let (_account, _name): (String, String) = conn
        .prepare_cached("SELECT account, name FROM customers WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let open: Vec<i64> = conn
        .prepare_cached(
            "SELECT number FROM cases WHERE customer_id = ?1 AND is_open = 1
             ORDER BY number DESC LIMIT 20",
        )?
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok((id, open.len()))
}

fn main() -> BenchResult<()> {
    let dir = data_dir();
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("screen-pop-1m.db");
    if std::env::var_os("DOSSIER_BENCH_GENERATE_ONLY").is_some() {
        return generate(&db);
    }
    if !is_generated(&db) {
        // Generate in a child process, so its page cache does not count in
        // this process's peak memory.
        eprintln!(
            "generating {} (once; cached for later runs)...",
            db.display()
        );
        let status = Command::new(std::env::current_exe()?)
            .env("DOSSIER_BENCH_GENERATE_ONLY", "1")
            .status()?;
        if !status.success() {
            return Err(format!("data generation failed: {status}").into());
        }
    }

    warm_os_cache(&db)?;
    let (rss_start, _) = memory_kib();
    let opened = Instant::now();
    let host = Host::open(config_for(&db))?;
    let open_time = opened.elapsed();

    let mut rng = Lcg(7);
    let picks: Vec<u64> = (0..2 * LOOKUPS).map(|_| rng.next() % CUSTOMERS).collect();
    let numbers: Vec<String> = picks.iter().map(|&i| phone_of(i)).collect();

    // The same callers, as an agent would type them (national format):
    // the host must parse these before looking them up.
    let national: Vec<String> = picks.iter().map(|&i| format!("061{i:07}")).collect();
    let expect = |i: usize, what: &str, pop: dossier_sdk::ScreenPop| -> BenchResult<()> {
        match pop.target {
            PopTarget::Customer { customer } if customer == CustomerId(picks[i] as i64 + 1) => {
                Ok(())
            }
            other => Err(format!("{what} popped {other:?}").into()),
        }
    };
    let pop = |caller: &str| {
        host.screen_pop(Interaction {
            caller: Some(caller.to_owned()),
            ..Interaction::new(Channel::Phone)
        })
    };
    let raw = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut contenders: Vec<Contender<'_>> = vec![
        (
            "Host::screen_pop (E.164)",
            Box::new(|i| expect(i, &numbers[i], pop(&numbers[i])?)),
        ),
        (
            "Host::screen_pop (national)",
            Box::new(|i| expect(i, &national[i], pop(&national[i])?)),
        ),
        (
            "raw rusqlite, same reads",
            Box::new(|i| {
                let (id, _) = raw_pop(&raw, &numbers[i])?;
                if id == picks[i] as i64 + 1 {
                    Ok(())
                } else {
                    Err("raw lookup found the wrong customer".into())
                }
            }),
        ),
    ];
    let stats = measure(&mut contenders)?;
    drop(contenders);
    let (rss_host, hwm_host) = memory_kib();
    let raw_rate = stats[2].per_second;
    let host_stats = &stats[0];

    let size_mib = std::fs::metadata(&db)?.len() as f64 / (1024.0 * 1024.0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("screen-pop at scale: {CUSTOMERS} customers, {CASES} cases, {size_mib:.0} MiB file");
    println!(
        "host opened in {open_time:.1?}; {LOOKUPS} pops by phone per contender, after as many \
         warm-up pops; {cores} cores, load average {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "{:<30} {:>10} {:>10} {:>12} {:>9}",
        "", "p50 (µs)", "p99 (µs)", "pops/s", "vs raw"
    );
    let names = [
        "Host::screen_pop (E.164)",
        "Host::screen_pop (national)",
        "raw rusqlite, same reads",
    ];
    for (name, s) in names.iter().zip(&stats) {
        println!(
            "{name:<30} {:>10.1} {:>10.1} {:>12.0} {:>8.2}x",
            us(s.p50),
            us(s.p99),
            s.per_second,
            s.per_second / raw_rate
        );
    }
    println!(
        "host / raw throughput: {:.2}x (target >= 0.5x); host p99 {:.1} µs (target <= 100 µs)",
        host_stats.per_second / raw_rate,
        us(host_stats.p99)
    );
    println!(
        "memory: VmRSS {:.1} MiB, VmHWM {:.1} MiB after the pops, with the host open \
         (and the raw connection's cache); process at start: {:.1} MiB; target <= 150 MiB",
        rss_host as f64 / 1024.0,
        hwm_host as f64 / 1024.0,
        rss_start as f64 / 1024.0
    );
    Ok(())
}

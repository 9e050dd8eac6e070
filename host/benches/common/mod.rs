//! What every bench shares: the raw SQLite side's connection settings (the
//! same pragmas and statement cache as the host's), interleaved timing in
//! blocks, and the machine line (cores, load average) each report prints.
#![allow(dead_code)] // each bench uses the parts it needs

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

pub type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The settings the host gives every connection (`store/sqlite/mod.rs`,
/// `configure`): the raw side gets the same, so neither is flattered.
pub fn configure(conn: &Connection) -> BenchResult<()> {
    conn.set_prepared_statement_cache_capacity(256);
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "mmap_size", 1_i64 << 30)?;
    Ok(())
}

/// Where generated bench data is kept between runs: `target/bench-data/`.
pub fn data_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("bench-data")
}

/// A raw writer on the host's file, as the host opens its own.
pub fn raw_writer(db: &Path) -> BenchResult<Connection> {
    let conn = Connection::open(db)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    configure(&conn)?;
    Ok(conn)
}

/// A raw read-only connection, as the host opens its readers.
pub fn raw_reader(db: &Path) -> BenchResult<Connection> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    configure(&conn)?;
    Ok(conn)
}

/// `2 cores, load average 0.52 0.61 0.70`.
pub fn machine() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    format!(
        "{cores} cores, load average {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// One contender's timings.
pub struct Stats {
    pub p50: Duration,
    pub p99: Duration,
    /// Operations per second over all measured operations.
    pub per_second: f64,
}

/// A named operation; its argument is the operation's index.
pub type Contender<'a> = (&'static str, Box<dyn FnMut(usize) -> BenchResult<()> + 'a>);

/// Runs `warmup` operations of each contender on indexes `ops..ops+warmup`,
/// then `ops` of each on indexes `0..ops`, interleaved in blocks of `block`,
/// so that load from elsewhere on the machine falls on all of them alike.
pub fn interleaved(
    contenders: &mut [Contender<'_>],
    ops: usize,
    warmup: usize,
    block: usize,
) -> BenchResult<Vec<Stats>> {
    for (_, op) in contenders.iter_mut() {
        for i in 0..warmup {
            op(ops + i)?;
        }
    }
    let mut times = vec![Vec::with_capacity(ops); contenders.len()];
    for start in (0..ops).step_by(block) {
        for ((_, op), times) in contenders.iter_mut().zip(&mut times) {
            for i in start..(start + block).min(ops) {
                let t = Instant::now();
                op(i)?;
                times.push(t.elapsed());
            }
        }
    }
    Ok(times.into_iter().map(stats).collect())
}

fn stats(mut times: Vec<Duration>) -> Stats {
    let total: Duration = times.iter().sum();
    times.sort_unstable();
    let n = times.len().max(1);
    Stats {
        p50: times.get(n / 2).copied().unwrap_or_default(),
        p99: times.get(n * 99 / 100).copied().unwrap_or_default(),
        per_second: n as f64 / total.as_secs_f64().max(f64::MIN_POSITIVE),
    }
}

/// Microseconds, for printing.
pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Prints a table of `stats` with each contender's throughput relative to
/// contender `baseline`.
pub fn report(names: &[&str], stats: &[Stats], baseline: usize) {
    println!(
        "{:<44} {:>9} {:>9} {:>11} {:>8}",
        "", "p50 µs", "p99 µs", "ops/s", "vs base"
    );
    let base = stats[baseline].per_second;
    for (name, s) in names.iter().zip(stats) {
        println!(
            "{name:<44} {:>9.1} {:>9.1} {:>11.0} {:>7.2}x",
            us(s.p50),
            us(s.p99),
            s.per_second,
            s.per_second / base
        );
    }
}

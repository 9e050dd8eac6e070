//! The screen-pop benches' store: 1,000,000 customers with a phone each and
//! 3,000,000 cases, generated once under `target/bench-data/` with raw SQL
//! on the schema the host's migrations made, and reused by later runs
//! (`screen_pop` in dossier-host, `pop_http` in dossier-server).

use std::path::Path;
use std::time::Instant;

use dossier_host::{Config, Host};
use rusqlite::{Connection, params};

use super::BenchResult;

/// The generated file, in the bench data folder.
pub fn db_path() -> std::path::PathBuf {
    super::data_dir().join("screen-pop-1m.db")
}

pub const CUSTOMERS: u64 = 1_000_000;
pub const CASES: u64 = 3_000_000;
/// Marks a complete database; a run that died half-way leaves none. v2:
/// no `ANALYZE` statistics in the file.
const DONE_MARK: &str = "screen-pop-v2 complete";

pub fn config_for(db: &Path) -> Config {
    let mut config = Config::default();
    config.store.path = db.to_owned();
    // The default script folder is relative to the working directory: run
    // from the repository root, it held the cookbook's scripts.
    config.scripts.enabled = false;
    config
}

/// Customer `i`'s phone: French mobile numbers +33 61 0000000 onwards, all
/// valid and distinct.
pub fn phone_of(i: u64) -> String {
    format!("+3361{i:07}")
}

/// A small, fixed pseudo-random sequence (64-bit LCG), so every run asks
/// for the same customers.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// Fills the database with raw SQL on the schema the host's migrations made:
/// one transaction, no journal, a large page cache.
pub fn generate(db: &Path) -> BenchResult<()> {
    let started = Instant::now();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    // Create the schema exactly as the host does.
    drop(Host::builder(config_for(db)).create_if_missing().open()?);
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
    // The triggers noted every record; index them as the store does before
    // each commit, so the host finds the index as its own writes leave it.
    for sql in dossier_host::test_support::SEARCH_SYNC_SQL {
        tx.execute(sql, [])?;
    }
    tx.commit()?;
    // No ANALYZE: the host never runs it, so the planner works from the
    // indexes alone, for both sides.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    drop(conn);
    super::write_done_mark(db, DONE_MARK)?;
    eprintln!(
        "generated {CUSTOMERS} customers and {CASES} cases in {:.1?}",
        started.elapsed()
    );
    Ok(())
}

pub fn is_generated(db: &Path) -> bool {
    super::has_done_mark(db, DONE_MARK)
}

//! Full-text search on 1,000,000 follow-ups.
//!
//! Measures `Host::search` as an ordinary agent (no `see_all_private`),
//! `LIMIT 20`, for one- and two-word queries whose words come from the rare,
//! middle and common document-frequency bands of a Zipf vocabulary, against
//! raw SQLite running the statements the store runs for the same words on
//! the same file in the same run (the plan of `docs/embedding.md`'s
//! "Search": bm25 over every match, over the newest 2,000, or newest first
//! for words in more than 20,000 rows), bound the same way, prepared once
//! and kept. Contenders alternate in blocks; nobody runs `ANALYZE` and
//! nothing is pre-read into a cache.
//!
//! Run with `cargo bench -p dossier-host --bench search`. The first run
//! generates the database under `target/bench-data/` (one to two minutes on
//! two cores); later runs reuse it. Set `DOSSIER_BENCH_REGENERATE=1` to rebuild.
//! See `BENCHMARKS.md`, "Full-text search on 1M follow-ups".

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{BenchResult, Contender};
use dossier_host::test_support;
use dossier_host::{Config, Host, SearchFilter, SearchHit};
use dossier_sdk::NewAgent;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rand_distr::Zipf;
use rusqlite::{Connection, OptionalExtension, params};

const CUSTOMERS: u64 = 100_000;
const CASES: u64 = 200_000;
const FOLLOW_UPS: u64 = 1_000_000;
/// Distinct words; word `r` (from 1) is drawn with probability
/// proportional to `1 / r^ZIPF_EXPONENT`.
const VOCABULARY: u64 = 50_000;
const ZIPF_EXPONENT: f64 = 1.0;
/// Agents `agent.00` … and groups `team.0` …; agent `k` is in group
/// `k % GROUPS`.
const AGENTS: u64 = 40;
const GROUPS: u64 = 8;
/// The agent the bench searches as: in `team.0`, without `see_all_private`.
const AGENT: &str = "agent.00";
/// One case in this many is private.
const PRIVATE_ONE_IN: u64 = 3;
/// Marks a complete database and terms file; a run that died half-way
/// leaves none.
const DONE_MARK: &str = "search-v1 complete";
const LIMIT: u32 = 20;

/// A frequency band: the vocabulary words found in between `min` and `max`
/// rows of the index, and how many queries of each length are measured.
struct Band {
    name: &'static str,
    min: u64,
    max: u64,
    queries: usize,
}

const BANDS: [Band; 3] = [
    Band {
        name: "rare",
        min: 20,
        max: 200,
        queries: 2_000,
    },
    Band {
        name: "middle",
        min: 2_000,
        max: 20_000,
        queries: 1_000,
    },
    Band {
        name: "common",
        min: 100_000,
        max: u64::MAX,
        queries: 40,
    },
];

impl Band {
    /// `middle (in 2000-20000 rows, 1068 words)`.
    fn label(&self, words: usize) -> String {
        if self.max == u64::MAX {
            format!("{} (in >= {} rows, {words} words)", self.name, self.min)
        } else {
            format!(
                "{} (in {}-{} rows, {words} words)",
                self.name, self.min, self.max
            )
        }
    }
}

fn config_for(db: &Path) -> Config {
    let mut config = Config::default();
    config.store.path = db.to_owned();
    config
}

/// Word `r` (from 0) of the vocabulary: syllables of a consonant and a
/// vowel, two for the first 4,900 words and three after, so every word is
/// distinct, lower-case ASCII letters only (one token to FTS5, unchanged).
fn word(r: u64) -> String {
    const CONSONANTS: &[u8] = b"bdfgklmnprstvz";
    const VOWELS: &[u8] = b"aeiou";
    let syllables = (CONSONANTS.len() * VOWELS.len()) as u64;
    let (mut n, count) = if r < syllables * syllables {
        (r, 2)
    } else {
        (r - syllables * syllables, 3)
    };
    let mut w = String::with_capacity(2 * count);
    for _ in 0..count {
        let s = (n % syllables) as usize;
        n /= syllables;
        w.push(CONSONANTS[s / VOWELS.len()] as char);
        w.push(VOWELS[s % VOWELS.len()] as char);
    }
    w
}

/// Text of `len` words drawn from the Zipf vocabulary.
struct Words {
    rng: Xoshiro256PlusPlus,
    zipf: Zipf<f64>,
    vocabulary: Vec<String>,
}

impl Words {
    fn new(seed: u64) -> BenchResult<Words> {
        Ok(Words {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            zipf: Zipf::new(VOCABULARY as f64, ZIPF_EXPONENT)?,
            vocabulary: (0..VOCABULARY).map(word).collect(),
        })
    }

    fn text(&mut self, min: usize, max: usize) -> String {
        let len = self.rng.random_range(min..=max);
        let mut text = String::with_capacity(len * 7);
        for i in 0..len {
            // The sample is an integer-valued float in 1..=VOCABULARY.
            let r = self.rng.sample(self.zipf) as usize - 1;
            if i > 0 {
                text.push(' ');
            }
            text.push_str(&self.vocabulary[r.min(self.vocabulary.len() - 1)]);
        }
        text
    }
}

/// Fills the database with raw SQL on the schema the host's migrations
/// made, in one transaction with no journal: agents and groups through the
/// host, then customers, cases and follow-ups, whose rows the host's
/// triggers copy into the search index as they would for the host's own
/// writes. Then writes every vocabulary word's document frequency, read
/// back from the index, to the terms file.
fn generate(db: &Path) -> BenchResult<()> {
    let started = Instant::now();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let _ = std::fs::remove_file(terms_file(db));
    {
        let host = Host::builder(config_for(db)).create_if_missing().open()?;
        for g in 0..GROUPS {
            host.add_group(&format!("team.{g}"), None)?;
        }
        for a in 0..AGENTS {
            host.add_agent(NewAgent {
                login: agent(a),
                groups: vec![format!("team.{}", a % GROUPS)],
                ..Default::default()
            })?;
        }
    }
    let mut conn = Connection::open(db)?;
    conn.pragma_update(None, "journal_mode", "OFF")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "cache_size", -1_000_000)?;
    let ts = "2026-01-01T00:00:00.000000Z";
    let mut words = Words::new(42)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let tx = conn.transaction()?;
    {
        let mut customer = tx.prepare(
            "INSERT INTO customers (id, account, name, address, custom, created_at, updated_at)
             VALUES (?1, ?2, ?3, '{}', '{}', ?4, ?4)",
        )?;
        for id in 1..=CUSTOMERS as i64 {
            customer.execute(params![
                id,
                format!("AC-{id:07}"),
                format!("Customer {id}"),
                ts
            ])?;
        }
        let mut case = tx.prepare(
            "INSERT INTO cases (number, customer_id, subject, description, status, is_open,
                                visibility, severity, priority, owner, grp, custom,
                                created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'minor', 'normal', ?8, ?9, '{}', ?10, ?10)",
        )?;
        for n in 1..=CASES as i64 {
            let customer = rng.random_range(1..=CUSTOMERS as i64);
            let open = n % 3 == 0;
            let private = rng.random_range(0..PRIVATE_ONE_IN) == 0;
            let owner = agent(rng.random_range(0..AGENTS));
            let group = format!("team.{}", rng.random_range(0..GROUPS));
            case.execute(params![
                n,
                customer,
                words.text(3, 8),
                words.text(0, 20),
                if open { "open" } else { "closed" },
                open,
                if private { "private" } else { "public" },
                owner,
                group,
                ts
            ])?;
        }
        let mut follow_up = tx.prepare(
            "INSERT INTO follow_ups (id, case_number, kind, author, body, created_at)
             VALUES (?1, ?2, 'note', ?3, ?4, ?5)",
        )?;
        for id in 1..=FOLLOW_UPS as i64 {
            follow_up.execute(params![
                id,
                rng.random_range(1..=CASES as i64),
                agent(rng.random_range(0..AGENTS)),
                words.text(8, 40),
                ts
            ])?;
        }
    }
    // The triggers noted every record; index them as the store does before
    // each commit.
    for sql in dossier_host::test_support::SEARCH_SYNC_SQL {
        tx.execute(sql, [])?;
    }
    tx.commit()?;
    eprintln!("wrote the rows in {:.1?}", started.elapsed());
    // The index must hold what the host's write path puts there: a row per
    // follow-up, case and customer.
    let indexed: i64 = conn.query_row(
        "SELECT count(*) FROM search_index WHERE kind = 'follow_up'",
        [],
        |r| r.get(0),
    )?;
    if indexed != FOLLOW_UPS as i64 {
        return Err(format!(
            "the search index holds {indexed} follow-ups, not {FOLLOW_UPS}: the host's \
             write path changed how it indexes follow-ups, and this generator must follow it"
        )
        .into());
    }
    // Document frequencies, as FTS5 counts them.
    conn.execute_batch(
        "CREATE VIRTUAL TABLE temp.search_terms USING fts5vocab(main, search_index, 'row')",
    )?;
    let wanted: HashSet<&str> = words.vocabulary.iter().map(String::as_str).collect();
    let mut terms = String::new();
    {
        let mut stmt = conn.prepare("SELECT term, doc FROM temp.search_terms")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let term: String = row.get(0)?;
            if wanted.contains(term.as_str()) {
                let doc: i64 = row.get(1)?;
                terms.push_str(&format!("{term} {doc}\n"));
            }
        }
    }
    conn.execute_batch("DROP TABLE temp.search_terms")?;
    std::fs::write(terms_file(db), terms)?;
    // No ANALYZE: the host never runs it.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    drop(conn);
    common::write_done_mark(db, DONE_MARK)?;
    eprintln!(
        "generated {CUSTOMERS} customers, {CASES} cases and {FOLLOW_UPS} follow-ups in {:.1?}",
        started.elapsed()
    );
    Ok(())
}

fn agent(k: u64) -> String {
    format!("agent.{k:02}")
}

fn terms_file(db: &Path) -> PathBuf {
    db.with_extension("terms")
}

fn is_generated(db: &Path) -> bool {
    common::has_done_mark(db, DONE_MARK) && terms_file(db).exists()
}

/// Each vocabulary word found in the index, with the number of index rows
/// holding it.
fn read_terms(db: &Path) -> BenchResult<Vec<(String, u64)>> {
    let text = std::fs::read_to_string(terms_file(db))?;
    text.lines()
        .map(|l| {
            let (w, n) = l.split_once(' ').ok_or("a malformed terms line")?;
            Ok((w.to_owned(), n.parse()?))
        })
        .collect()
}

/// What an application without Dossier would run for the same search, as
/// the same agent: the statements the store runs
/// (`test_support::search_sql`: the too-common probe, then the newest
/// first, or the window probe and the ranked matches), prepared once and
/// kept, bound as the host binds them.
fn raw_search(conn: &Connection, query: &str) -> BenchResult<Vec<RawHit>> {
    let [probe, newest, visible_window, ranked] = test_support::search_sql();
    let expression = query
        .split_whitespace()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ");
    let row = |r: &rusqlite::Row<'_>| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    };
    let none = None::<String>;
    let no_customer = None::<i64>;
    let base: [&dyn rusqlite::ToSql; 8] = [
        &expression,
        &false,
        &AGENT,
        &none,
        &no_customer,
        &none,
        &none,
        &false,
    ];
    let match_at = |offset: u32| -> rusqlite::Result<Option<i64>> {
        conn.prepare_cached(probe)?
            .query_row(params![expression, offset], |r| r.get(0))
            .optional()
    };
    if match_at(test_support::SEARCH_RANKED_AT_MOST)?.is_some() {
        let hits = conn
            .prepare_cached(newest)?
            .query_map(&[&base[..], &[&LIMIT]].concat()[..], row)?
            .collect::<rusqlite::Result<_>>()?;
        return Ok(hits);
    }
    let ranked_from = |first: i64| -> rusqlite::Result<Vec<RawHit>> {
        conn.prepare_cached(ranked)?
            .query_map(&[&base[..], &[&LIMIT, &first]].concat()[..], row)?
            .collect()
    };
    let Some(first) = match_at(test_support::SEARCH_RANKED_ALL - 1)? else {
        return Ok(ranked_from(0)?);
    };
    let hits = ranked_from(first)?;
    if hits.len() >= LIMIT as usize {
        return Ok(hits);
    }
    let offset = test_support::SEARCH_RANKED_ALL - 1;
    let first: i64 = conn
        .prepare_cached(visible_window)?
        .query_row(&[&base[..], &[&offset]].concat()[..], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    Ok(ranked_from(first)?)
}

/// The hits' kinds, ids and ranks, read into owned values as the host does.
type RawHit = (String, i64, Option<i64>, Option<i64>, String, f64);

/// `count` queries of `words` distinct words each, drawn from `pool`.
fn queries(pool: &[&str], words: usize, count: usize, seed: u64) -> Vec<String> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let mut picked: Vec<&str> = Vec::with_capacity(words);
            while picked.len() < words {
                let w = pool[rng.random_range(0..pool.len())];
                if !picked.contains(&w) {
                    picked.push(w);
                }
            }
            picked.join(" ")
        })
        .collect()
}

/// Checks that the host and the raw query found the same hits: the same
/// number, the same ranks (ties may come in another order).
fn same_hits(query: &str, host: &[SearchHit], raw: &[RawHit]) -> BenchResult<()> {
    let mut a: Vec<f64> = host.iter().map(|h| h.rank).collect();
    let mut b: Vec<f64> = raw.iter().map(|h| h.5).collect();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    if a.len() != b.len() || a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-9) {
        return Err(format!("host and raw disagree on {query:?}: {a:?} vs {b:?}").into());
    }
    Ok(())
}

fn main() -> BenchResult<()> {
    let dir = common::data_dir();
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("search-1m.db");
    if common::generate_once(&db, is_generated, generate)? {
        return Ok(());
    }
    let terms = read_terms(&db)?;
    let host = Host::builder(config_for(&db)).create_if_missing().open()?;
    let agent = host.as_agent(AGENT)?;
    let raw = common::raw_reader(&db)?;
    let filter = SearchFilter::default();

    // The visibility condition has work to do: the share of cases the
    // agent may not see.
    let hidden: f64 = raw.query_row(
        "SELECT avg(visibility = 'private' AND owner IS NOT ?1
                    AND grp NOT IN (SELECT name FROM agent_groups WHERE login = ?1))
         FROM cases",
        [AGENT],
        |r| r.get(0),
    )?;
    let size_mib = std::fs::metadata(&db)?.len() as f64 / (1024.0 * 1024.0);
    println!(
        "full-text search: {FOLLOW_UPS} follow-ups, {CASES} cases ({}% private), {CUSTOMERS} \
         customers, a Zipf vocabulary of {VOCABULARY} words (s = {ZIPF_EXPONENT}), \
         {size_mib:.0} MiB file; as {AGENT}, who may not see {:.1}% of the cases; LIMIT \
         {LIMIT}; {}",
        100 / PRIVATE_ONE_IN,
        hidden * 100.0,
        common::machine()
    );
    println!(
        "{:<42} {:>6} {:>11} {:>11} {:>11} {:>11} {:>9} {:>9}",
        "band", "words", "host p50", "host p99", "raw p50", "raw p99", "hits", "vs raw"
    );
    let mut summary = Vec::new();
    for (b, band) in BANDS.iter().enumerate() {
        let pool: Vec<&str> = terms
            .iter()
            .filter(|(_, n)| (band.min..=band.max).contains(n))
            .map(|(w, _)| w.as_str())
            .collect();
        if pool.len() < 2 {
            return Err(format!("the {} band has {} words", band.name, pool.len()).into());
        }
        for words in [1, 2] {
            let measured = band.queries;
            let set = queries(&pool, words, 2 * measured, (b * 10 + words) as u64);
            // Both sides find the same hits (checked on the warm-up queries,
            // outside the timing).
            let mut hits = 0usize;
            for q in &set[measured..] {
                let h = agent.search(q, &filter, LIMIT)?;
                same_hits(q, &h, &raw_search(&raw, q)?)?;
                hits += h.len();
            }
            let mut contenders: Vec<Contender<'_>> = vec![
                (
                    "raw FTS5",
                    Box::new(|i| {
                        raw_search(&raw, &set[i])?;
                        Ok(())
                    }),
                ),
                (
                    "Host::search",
                    Box::new(|i| {
                        agent.search(&set[i], &filter, LIMIT)?;
                        Ok(())
                    }),
                ),
            ];
            let block = (measured / 10).max(1);
            let stats = common::interleaved(&mut contenders, measured, 0, block)?;
            let ratio = stats[1].per_second / stats[0].per_second;
            println!(
                "{:<42} {words:>6} {:>11.0} {:>11.0} {:>11.0} {:>11.0} {:>9.1} {:>8.2}x",
                band.label(pool.len()),
                common::us(stats[1].p50),
                common::us(stats[1].p99),
                common::us(stats[0].p50),
                common::us(stats[0].p99),
                hits as f64 / measured as f64,
                ratio
            );
            summary.push((band.name, words, stats, ratio));
        }
    }
    println!(
        "times in µs; hits: mean hits per query (at most {LIMIT}); vs raw: host throughput / raw"
    );
    for (name, words, stats, ratio) in &summary {
        let host_ms = stats[1].p99.as_secs_f64() * 1e3;
        let raw_ms = stats[0].p99.as_secs_f64() * 1e3;
        let target = if *name == "common" { 50.0 } else { 10.0 };
        println!(
            "{name} {words}-word: host p99 {host_ms:.2} ms, raw p99 {raw_ms:.2} ms, {ratio:.2} x raw \
             (targets: p99 <= {target} ms {}, >= 0.7x raw {})",
            if host_ms <= target { "met" } else { "not met" },
            if *ratio >= 0.7 { "met" } else { "not met" },
        );
    }
    Ok(())
}

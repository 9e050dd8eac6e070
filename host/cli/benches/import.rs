//! CSV import throughput: `dossier import customers` (the facade's
//! importer, `Host::import_csv`, which the command calls) against raw
//! rusqlite inserting the same rows in the same batches, in the same run,
//! interleaved.
//!
//! The file has an account, a name, an E.164 phone, an email and two custom
//! fields (`tier`, an indexed choice, and `loyalty_id`, a text with a
//! pattern); the host runs without hooks (`[scripts] enabled = false`, no
//! plugins), as `dossier import --no-hooks` does. One operation is one
//! batch of 500 rows in one write transaction:
//!
//! - **product**: the CSV bytes of the batch (header row first) through
//!   `import_csv`: parse, map the header, build and validate every row
//!   (phones normalized, emails checked, custom fields parsed and checked),
//!   one savepoint per row, the host's create path;
//! - **raw**: the same rows already parsed, inserted with the host's own
//!   statements (customer, phone and email rows; the search triggers note
//!   the customers alike, and the batch ends with the statements the store
//!   runs before its commit to index them), prepared once and kept.
//!
//! Both sides get fresh stores the host created (same schema, indexes,
//! pragmas: `common::configure`), on the same file system.
//!
//! `cargo bench -p dossier-cli --bench import` (add `-- ROWS` to change
//! the 100,000 rows per side).

#[path = "../../benches/common/mod.rs"]
mod common;

use std::path::Path;

use common::{BenchResult, Contender};
use dossier_host::test_support::{SEARCH_SYNC_SQL, store_time};
use dossier_host::{Config, DEFAULT_BATCH, Host};
use dossier_sdk::ObjectKind;
use rusqlite::{Connection, params};

const CONFIG: &str = r#"
[scripts]
enabled = false

[fields.customer.tier]
type = "choice"
choices = [{ key = "gold" }, { key = "silver" }, { key = "bronze" }]
indexed = true

[fields.customer.loyalty_id]
type = "text"
pattern = "LC-[0-9]{6}"
"#;

const HEADER: &str = "account,name,phone,email,tier,loyalty_id\n";

const TIERS: [&str; 3] = ["gold", "silver", "bronze"];

/// Row `i` as its CSV line.
fn line(i: usize) -> String {
    format!(
        "AC-{i:07},Customer {i},+3361{i:07},c{i}@example.com,{},LC-{:06}\n",
        TIERS[i % 3],
        i % 1_000_000
    )
}

fn host(dir: &Path) -> BenchResult<Host> {
    let path = dir.join("dossier.toml");
    std::fs::write(&path, CONFIG)?;
    Ok(Host::builder(Config::load(&path)?)
        .create_if_missing()
        .open()?)
}

/// Raw rusqlite writing the rows the host writes for one imported
/// customer, statements kept between calls.
struct Raw {
    conn: Connection,
}

impl Raw {
    fn batch(&self, rows: std::ops::Range<usize>) -> BenchResult<()> {
        let conn = &self.conn;
        let now = store_time(chrono::Utc::now());
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        for i in rows {
            // The values the host writes: the address and custom fields as
            // the JSON it stores, the phone in E.164, the email lower case.
            let id = i as i64 + 1;
            conn.prepare_cached(
                "INSERT INTO customers (id, account, name, address, custom, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            )?
            .execute(params![
                id,
                format!("AC-{i:07}"),
                format!("Customer {i}"),
                r#"{"line1":"","line2":"","postal_code":"","city":"","region":"","country":""}"#,
                format!(
                    r#"{{"loyalty_id":"LC-{:06}","tier":"{}"}}"#,
                    i % 1_000_000,
                    TIERS[i % 3]
                ),
                now,
            ])?;
            conn.prepare_cached(
                "INSERT INTO customer_phones (customer_id, position, label, number)
                 VALUES (?1, 0, 'main', ?2)",
            )?
            .execute(params![id, format!("+3361{i:07}")])?;
            conn.prepare_cached(
                "INSERT INTO customer_emails (customer_id, position, label, address)
                 VALUES (?1, 0, 'main', ?2)",
            )?
            .execute(params![id, format!("c{i}@example.com")])?;
        }
        // The search index, as the store writes it before its commit.
        for sql in SEARCH_SYNC_SQL {
            conn.prepare_cached(sql)?.execute([])?;
        }
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    }
}

fn main() -> BenchResult<()> {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let batch = DEFAULT_BATCH as usize;
    let batches = rows.div_ceil(batch);
    let warmup = (batches / 20).max(1);
    // One CSV chunk per batch (measured and warm-up), each with its header.
    let chunks: Vec<String> = (0..batches + warmup)
        .map(|b| {
            let mut csv = String::from(HEADER);
            for i in b * batch..(b + 1) * batch {
                csv.push_str(&line(i));
            }
            csv
        })
        .collect();
    let dirs = [tempfile::tempdir()?, tempfile::tempdir()?];
    let product = host(dirs[0].path())?;
    drop(host(dirs[1].path())?);
    let raw = Raw {
        conn: common::raw_writer(&dirs[1].path().join("dossier.db"))?,
    };
    let mut rejected = 0u64;
    let mut contenders: Vec<Contender<'_>> = vec![
        (
            "raw rusqlite, same rows, same batches",
            Box::new(|b| raw.batch(b * batch..(b + 1) * batch)),
        ),
        (
            "dossier import (no hooks)",
            Box::new(|b| {
                let report = product.import_csv(
                    ObjectKind::Customer,
                    chunks[b].as_bytes(),
                    "bench.csv",
                    batch,
                    &mut |_, _| Ok(()),
                    &mut |_, _| {},
                )?;
                rejected += report.rejected;
                match report.imported as usize {
                    n if n == batch => Ok(()),
                    n => Err(format!("imported {n} of {batch}: {:?}", report.rejects).into()),
                }
            }),
        ),
    ];
    let names: Vec<&str> = contenders.iter().map(|(n, _)| *n).collect();
    let stats = common::interleaved(&mut contenders, batches, warmup, 10)?;
    drop(contenders);
    assert_eq!(rejected, 0);

    println!(
        "import: {} rows per contender in batches of {batch} ({warmup} warm-up batches \
         each), interleaved 10 batches at a time; {}",
        batches * batch,
        common::machine()
    );
    println!("(one operation = one batch of {batch} rows in one transaction)");
    common::report(&names, &stats, 0);
    let raw_rows = stats[0].per_second * batch as f64;
    let product_rows = stats[1].per_second * batch as f64;
    println!(
        "rows/s: raw {raw_rows:.0}, dossier import {product_rows:.0}; import vs raw {:.2}x \
         (targets: >= 0.5x raw and >= 20000 rows/s)",
        product_rows / raw_rows
    );
    Ok(())
}

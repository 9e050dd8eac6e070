//! Write and lookup cost of the host against raw SQLite doing the same work
//! on the same kind of file, in the same run.
//!
//! `cargo bench -p dossier-host --bench store` (add `-- 50000` for more rows).

use std::time::{Duration, Instant};

use dossier_host::{Config, Host};
use dossier_sdk::{CustomerQuery, Email, NewCustomer, Phone};
use rusqlite::{Connection, params};

const CONFIG: &str = r#"
[fields.customer.tier]
type = "choice"
choices = [{ key = "gold" }, { key = "silver" }, { key = "bronze" }]
default = "bronze"
indexed = true
"#;

fn phone(i: usize) -> String {
    format!("+3361{:07}", i)
}

fn host_writes(
    dir: &std::path::Path,
    n: usize,
) -> Result<(Host, Duration), Box<dyn std::error::Error>> {
    let path = dir.join("dossier.toml");
    std::fs::write(&path, CONFIG)?;
    let host = Host::open(Config::load(&path)?)?;
    let start = Instant::now();
    for i in 0..n {
        host.create_customer(NewCustomer {
            account: format!("AC-{i:07}"),
            name: format!("Customer {i}"),
            phones: vec![Phone {
                label: "main".into(),
                number: phone(i),
            }],
            emails: vec![Email {
                label: "main".into(),
                address: format!("c{i}@example.com"),
            }],
            ..Default::default()
        })?;
    }
    Ok((host, start.elapsed()))
}

/// The same rows through plain rusqlite: one transaction per customer, the
/// same tables and indexes (created by the host's migrations).
fn raw_writes(
    dir: &std::path::Path,
    n: usize,
) -> Result<(Connection, Duration), Box<dyn std::error::Error>> {
    let path = dir.join("dossier.toml");
    std::fs::write(&path, CONFIG)?;
    drop(Host::open(Config::load(&path)?)?);
    let conn = Connection::open(dir.join("dossier.db"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let now = "2026-11-23T09:00:00.000000Z";
    let start = Instant::now();
    for i in 0..n {
        let tx = conn.unchecked_transaction()?;
        tx.prepare_cached(
            "INSERT INTO customers (id, account, name, address, custom, created_at, updated_at)
             VALUES (?1, ?2, ?3, '{}', '{\"tier\":\"bronze\"}', ?4, ?4)",
        )?
        .execute(params![
            i as i64 + 1,
            format!("AC-{i:07}"),
            format!("Customer {i}"),
            now
        ])?;
        tx.prepare_cached(
            "INSERT INTO customer_phones (customer_id, position, label, number) VALUES (?1, 0, 'main', ?2)",
        )?
        .execute(params![i as i64 + 1, phone(i)])?;
        tx.prepare_cached(
            "INSERT INTO customer_emails (customer_id, position, label, address) VALUES (?1, 0, 'main', ?2)",
        )?
        .execute(params![i as i64 + 1, format!("c{i}@example.com")])?;
        tx.commit()?;
    }
    Ok((conn, start.elapsed()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let host_dir = tempfile::tempdir()?;
    let raw_dir = tempfile::tempdir()?;
    let (raw, raw_time) = raw_writes(raw_dir.path(), n)?;
    let (host, host_time) = host_writes(host_dir.path(), n)?;

    let lookups = n.min(10_000);
    let find_rounds = if std::env::var_os("STORE_BENCH_FIND").is_some() {
        30
    } else {
        1
    };
    let start = Instant::now();
    for i in (0..lookups).cycle().take(lookups * find_rounds) {
        let found = host.find_customers(&CustomerQuery {
            phone: Some(phone((i * 7919) % n)),
            ..Default::default()
        })?;
        assert_eq!(found.len(), 1);
    }
    let host_lookup = start.elapsed();
    let start = Instant::now();
    // The same rows the host reads: the customer with its phones and emails.
    let mut stmt = raw.prepare_cached(
        "SELECT c.id, c.account, c.name, c.address, c.custom, c.created_at, c.updated_at,
            (SELECT json_group_array(json_array(label, number)) FROM customer_phones WHERE customer_id = c.id),
            (SELECT json_group_array(json_array(label, address)) FROM customer_emails WHERE customer_id = c.id)
         FROM customer_phones p JOIN customers c ON c.id = p.customer_id WHERE p.number = ?1",
    )?;
    for i in 0..lookups {
        let rows: Vec<(i64, String)> = stmt
            .query_map([phone((i * 7919) % n)], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        assert_eq!(rows.len(), 1);
    }
    let raw_lookup = start.elapsed();

    let start = Instant::now();
    for i in 0..lookups {
        dossier_host::test_support::normalize_phone(&phone(i), "FR")?;
    }
    let normalize = start.elapsed();

    let start = Instant::now();
    let rounds = if std::env::var_os("STORE_BENCH_READS").is_some() {
        50
    } else {
        1
    };
    for _ in 0..rounds {
        for i in 0..lookups {
            host.customer(dossier_sdk::CustomerId((i % n) as i64 + 1))?;
        }
    }
    let by_id = start.elapsed() / rounds;

    let per = |d: Duration, k: usize| d.as_secs_f64() * 1e6 / k as f64;
    println!("customers written: {n}; lookups: {lookups}");
    println!(
        "create customer: host {:.1} µs/op, raw SQLite {:.1} µs/op, ratio {:.2}x",
        per(host_time, n),
        per(raw_time, n),
        host_time.as_secs_f64() / raw_time.as_secs_f64()
    );
    println!(
        "find by phone:   host {:.1} µs/op, raw SQLite {:.1} µs/op, ratio {:.2}x",
        per(host_lookup, lookups),
        per(raw_lookup, lookups),
        host_lookup.as_secs_f64() / raw_lookup.as_secs_f64()
    );
    println!("  host.customer(id): {:.1} µs/op", per(by_id, lookups));
    println!(
        "  of which phone normalization: {:.1} µs/op",
        per(normalize, lookups)
    );
    Ok(())
}

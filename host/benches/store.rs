//! Writes and lookups through the host against raw SQLite doing the same
//! work on the same kind of file, in the same run, interleaved in blocks.
//!
//! - **case plus follow-up**: one transaction that opens a case and appends
//!   a follow-up to it, through `Host` without scripts, through `Host` with
//!   a 10-line `before_save_case` hook, and as raw rusqlite writing the same
//!   two rows (same columns, same values) in one transaction;
//! - **find a customer by phone**: `Host::find_customers` against the raw
//!   statement reading the same rows.
//!
//! Both sides have the same pragmas and keep their prepared statements
//! (`common::configure`); neither runs `ANALYZE`.
//!
//! `cargo bench -p dossier-host --bench store` (add `-- 20000` for more
//! operations per contender).

mod common;

use std::path::Path;

use common::{BenchResult, Contender};
use dossier_host::{Config, Host};
use dossier_sdk::{CustomerQuery, Email, NewCase, NewCustomer, NewFollowUp, Phone};
use rusqlite::{Connection, params};

const CONFIG: &str = r#"
[fields.customer.tier]
type = "choice"
choices = [{ key = "gold" }, { key = "silver" }, { key = "bronze" }]
default = "bronze"
indexed = true

[fields.case.sla_hours]
type = "integer"
"#;

/// The hook the script_hooks bench measures too.
const TEN_LINE_HOOK: &str = r#"
fn before_save_case(c) {
    let subject = c.subject;
    if subject.contains("urgent") {
        c.priority = "urgent";
    }
    let hours = if c.severity == "critical" { 4 } else { 72 };
    if c.priority == "urgent" {
        hours = hours / 2;
    }
    c.set_custom("sla_hours", hours);
    c.description = `SLA ${hours}h`;
}
"#;

fn phone(i: usize) -> String {
    format!("+3361{:07}", i)
}

fn subject(i: usize) -> &'static str {
    if i.is_multiple_of(2) {
        "urgent: printer"
    } else {
        "printer"
    }
}

/// A host on a fresh store in `dir`, with the hook if `hook`, and
/// `customers` customers (phone and email each).
fn host(dir: &Path, hook: bool, customers: usize) -> BenchResult<Host> {
    std::fs::create_dir_all(dir.join("scripts"))?;
    let scripts = if hook {
        std::fs::write(dir.join("scripts/bench.rhai"), TEN_LINE_HOOK)?;
        "[scripts]\nfiles = [\"bench.rhai\"]\n"
    } else {
        "[scripts]\nenabled = false\n"
    };
    let path = dir.join("dossier.toml");
    std::fs::write(&path, format!("{scripts}{CONFIG}"))?;
    let host = Host::builder(Config::load(&path)?)
        .create_if_missing()
        .open()?;
    host.transaction("customers", |host| {
        for i in 0..customers {
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
        Ok(())
    })?;
    Ok(host)
}

/// Raw rusqlite writing the rows the host writes for one case and its
/// follow-up, in one transaction, statements kept between calls.
struct RawWriter {
    conn: Connection,
    next: i64,
}

impl RawWriter {
    fn write(&mut self, i: usize) -> BenchResult<()> {
        let now = dossier_host::test_support::store_time(chrono::Utc::now());
        let n = self.next;
        self.next += 1;
        let conn = &self.conn;
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        conn.prepare_cached(
            "INSERT INTO cases (number, customer_id, subject, description, status, is_open,
                 visibility, severity, priority, owner, grp, last_disposition, thread_token,
                 custom, created_at, updated_at)
             VALUES (?1, 1, ?2, '', 'open', 1, 'public', 'minor', 'normal', NULL, NULL, NULL,
                     NULL, '{}', ?3, ?3)",
        )?
        .execute(params![n, subject(i), now])?;
        conn.prepare_cached(
            "INSERT INTO follow_ups (id, case_number, kind, author, body, html, email,
                 message_id, attachments, custom, created_at)
             VALUES (?1, ?1, 'note', 'agent', 'Customer called about the printer', NULL, NULL,
                     NULL, '[]', '{}', ?2)",
        )?
        .execute(params![n, now])?;
        // The search index, as the store writes it before its commit.
        for sql in dossier_host::test_support::SEARCH_SYNC_SQL {
            conn.prepare_cached(sql)?.execute([])?;
        }
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    }
}

fn host_write(host: &Host, i: usize) -> BenchResult<()> {
    host.transaction("case and follow-up", |host| {
        let case = host.open_case(NewCase::new(dossier_sdk::CustomerId(1), subject(i)))?;
        host.add_follow_up(NewFollowUp::note(
            case.number,
            "agent",
            "Customer called about the printer",
        ))?;
        Ok(())
    })?;
    Ok(())
}

fn main() -> BenchResult<()> {
    let ops: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5_000);
    let customers = 10_000;
    let dirs = [
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    ];
    let plain = host(dirs[0].path(), false, customers)?;
    let hooked = host(dirs[1].path(), true, customers)?;
    // The raw side writes on a store the host created (same schema,
    // indexes and customers), through its own connection.
    drop(host(dirs[2].path(), false, customers)?);
    let mut raw = RawWriter {
        conn: common::raw_writer(&dirs[2].path().join("dossier.db"))?,
        next: 1,
    };

    let mut writers: Vec<Contender<'_>> = vec![
        (
            "raw rusqlite, same rows, one transaction",
            Box::new(|i| raw.write(i)),
        ),
        (
            "Host: case + follow-up, no scripts",
            Box::new(|i| host_write(&plain, i)),
        ),
        (
            "Host: case + follow-up, 10-line hook",
            Box::new(|i| host_write(&hooked, i)),
        ),
    ];
    let names: Vec<&str> = writers.iter().map(|(n, _)| *n).collect();
    let writes = common::interleaved(&mut writers, ops, ops / 10, 100)?;
    drop(writers);

    let reader = common::raw_reader(&dirs[0].path().join("dossier.db"))?;
    let raw_find = |number: &str| -> BenchResult<usize> {
        // The statement the host runs (`store/sqlite/customers.rs`): the
        // customer row with its phones and emails, every column read.
        let mut stmt = reader.prepare_cached(
            "SELECT id, account, name, address, custom, created_at, updated_at,
                (SELECT json_group_array(json_array(label, number)) FROM
                    (SELECT label, number FROM customer_phones WHERE customer_id = customers.id
                     ORDER BY position)),
                (SELECT json_group_array(json_array(label, address)) FROM
                    (SELECT label, address FROM customer_emails WHERE customer_id = customers.id
                     ORDER BY position))
             FROM customers WHERE id IN (SELECT customer_id FROM customer_phones WHERE number = ?1)
             ORDER BY id LIMIT 100",
        )?;
        let rows: Vec<[rusqlite::types::Value; 9]> = stmt
            .query_map([number], |r| {
                Ok([
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ])
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows.len())
    };
    let lookups = ops * 4;
    let numbers: Vec<String> = (0..2 * lookups)
        .map(|i| phone((i * 7919) % customers))
        .collect();
    let mut finders: Vec<Contender<'_>> = vec![
        (
            "raw rusqlite, same rows",
            Box::new(|i| match raw_find(&numbers[i])? {
                1 => Ok(()),
                n => Err(format!("raw found {n}").into()),
            }),
        ),
        (
            "Host::find_customers by phone",
            Box::new(|i| {
                let found = plain.find_customers(&CustomerQuery {
                    phone: Some(numbers[i].clone()),
                    ..Default::default()
                })?;
                match found.len() {
                    1 => Ok(()),
                    n => Err(format!("host found {n}").into()),
                }
            }),
        ),
    ];
    let find_names: Vec<&str> = finders.iter().map(|(n, _)| *n).collect();
    let finds = common::interleaved(&mut finders, lookups, lookups / 10, 500)?;

    println!(
        "store: {ops} writes and {lookups} lookups per contender, {customers} customers per \
         store; {}",
        common::machine()
    );
    common::report(&names, &writes, 0);
    println!(
        "case + follow-up vs raw: {:.2}x without scripts (target >= 0.85x), {:.2}x with the \
         10-line hook (target >= 0.75x)",
        writes[1].per_second / writes[0].per_second,
        writes[2].per_second / writes[0].per_second
    );
    common::report(&find_names, &finds, 0);
    Ok(())
}

//! Inbound email: a generated maildir of 10,000 messages (30% of them
//! replies threaded by In-Reply-To, 2,000 senders, a fifth of them
//! multipart/alternative with HTML) through `Host::ingest_emails` in
//! batches of 100 (the maildir batch: parsing, threading, the screen-pop by
//! sender, storing), against raw rusqlite writing the same rows in the same
//! batches on a store of the same schema: the ingest-log check, the
//! In-Reply-To lookup, the customer lookup by address (a new customer when
//! there is none), the case, the follow-up with the same headers JSON, and
//! the ingest-log row, then (as the store does before each commit) the
//! search index rows of the records the batch wrote. The raw side is
//! handed the messages already parsed; the product parses them.
//!
//! Both sides have the host's pragmas and keep their prepared statements
//! (`common::configure`); neither runs `ANALYZE`. Batches of the two are
//! interleaved in blocks of 5, each side on a fresh store.
//!
//! Then one message that used to hold the write lock for seconds: 0.6 MB
//! with 5,000 tiny attachments, ingested alone (`Host::ingest_email`) and
//! inside a maildir batch of 100. The write lock's hold is what the store
//! records for each write transaction, from `BEGIN IMMEDIATE` to the end of
//! `COMMIT` (`test_support::take_longest_write`: the longest since the last
//! read); as a cross-check, a second connection to the same file takes the
//! write lock over and over meanwhile (`BEGIN IMMEDIATE; COMMIT`, waiting
//! with SQLite's own busy timeout) and reports the longest it waited.
//! Last, the wall time of parsing (which sanitizes the HTML) a message
//! whose HTML part is 200,000 nested `<div>`s.
//!
//! `cargo bench -p dossier-host --bench email_ingest` (add `-- 20000` for
//! more messages).

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{BenchResult, Contender};
use dossier_host::{Config, Host};
use rusqlite::{Connection, OptionalExtension, params};

const BATCH: usize = 100;

fn message(n: usize) -> String {
    // A reply comes from the sender of the message it answers: threading
    // joins only a sender on the case's thread, and the raw side threads
    // every reply, so both write the same rows.
    let reply = (n % 10 < 3 && n > 0).then(|| n - 1 - (n * 31) % n.min(50));
    let sender = (reply.unwrap_or(n) * 7919) % 2000;
    let threading = reply
        .map(|r| format!("In-Reply-To: <m{r}@example.com>\r\nReferences: <m{r}@example.com>\r\n"))
        .unwrap_or_default();
    let body = format!(
        "Hello,\r\n\r\nI am writing about order {n}. The parcel did not arrive and the \
         tracking page has said \"in transit\" for a week.\r\nCould you look into it?\r\n\r\n\
         Regards,\r\nCustomer {sender}\r\n"
    );
    let (content, text) = if n.is_multiple_of(5) {
        (
            "Content-Type: multipart/alternative; boundary=\"alt\"\r\n".to_owned(),
            format!(
                "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\
                 --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>{}</p>\
                 <script>alert(1)</script></body></html>\r\n--alt--\r\n",
                body.replace("\r\n", "<br>")
            ),
        )
    } else {
        (
            "Content-Type: text/plain; charset=utf-8\r\n".to_owned(),
            body,
        )
    };
    format!(
        "Return-Path: <c{sender}@example.com>\r\nFrom: Customer {sender} <c{sender}@example.com>\r\n\
         To: Support <support@example.com>\r\nSubject: Order {n}: where is my parcel?\r\n\
         Message-ID: <m{n}@example.com>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n\
         MIME-Version: 1.0\r\n{threading}{content}\r\n{text}"
    )
}

/// The maildir, generated once and kept under `target/bench-data`.
fn maildir(count: usize) -> BenchResult<Vec<Vec<u8>>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench-data")
        .join(format!("maildir-v2-{count}"))
        .join("new");
    if !dir.join(format!("{:06}.bench", count - 1)).is_file() {
        std::fs::create_dir_all(&dir)?;
        for n in 0..count {
            std::fs::write(dir.join(format!("{n:06}.bench")), message(n))?;
        }
    }
    let mut out = Vec::with_capacity(count);
    for n in 0..count {
        out.push(std::fs::read(dir.join(format!("{n:06}.bench")))?);
    }
    Ok(out)
}

fn open_host(dir: &Path) -> BenchResult<Host> {
    let path = dir.join("dossier.toml");
    std::fs::write(
        &path,
        "[email]\naddresses = [\"support@example.com\"]\nmaildir_batch = 100\n",
    )?;
    Ok(Host::builder(Config::load(&path)?)
        .create_if_missing()
        .open()?)
}

/// A 0.6 MB message with `parts` tiny attachments, each unlike any
/// other message's (`tag`), so no blob is shared.
fn many_parts(tag: usize, parts: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut raw = format!(
        "From: Scanner <scanner{tag}@example.com>\r\nTo: Support <support@example.com>\r\n\
         Subject: Scan {tag}\r\nMessage-ID: <parts-{tag}@example.com>\r\n\
         Date: Mon, 23 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n"
    );
    for n in 0..parts {
        let _ = write!(
            raw,
            "--p\r\nContent-Type: application/octet-stream; name=\"scan-{n}.bin\"\r\n\
             Content-Disposition: attachment; filename=\"scan-{n}.bin\"\r\n\r\n\
             page {n} of scan {tag}\r\n"
        );
    }
    raw.push_str("--p--\r\n");
    raw.into_bytes()
}

/// A message whose HTML part is `depth` nested `<div>`s.
fn nested_divs(depth: usize) -> Vec<u8> {
    format!(
        "From: Deep <deep@example.com>\r\nTo: support@example.com\r\nSubject: Deep\r\n\
         Message-ID: <deep-{depth}@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n<html><body>{}x{}</body></html>\r\n",
        "<div>".repeat(depth),
        "</div>".repeat(depth)
    )
    .into_bytes()
}

/// A second writer on `db` taking the write lock again and again until
/// `stop`: returns how many times it got it and the longest it waited.
/// It waits with SQLite's own busy timeout, which looks again after 1, 2,
/// 5, 10, 15, 20, 25, 25, 25, 50, 50 and then every 100 ms: its longest
/// wait is an upper bound of the longest hold. Between two grabs it counts
/// the follow-ups (a read, no lock), so the ingest gets its turns.
fn rival_writer(db: &Path, stop: &AtomicBool) -> Result<(u64, Duration), rusqlite::Error> {
    let conn = Connection::open(db)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let (mut got, mut longest) = (0, Duration::ZERO);
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        longest = longest.max(t.elapsed());
        conn.execute_batch("COMMIT")?;
        got += 1;
        let _: i64 = conn.query_row("SELECT count(*) FROM follow_ups", [], |r| r.get(0))?;
    }
    Ok((got, longest))
}

/// Each run's wall time and the longest hold of the write lock in it.
type Runs = Vec<(Duration, Duration)>;

/// The 5,000-part message alone and in a batch, then the nested HTML.
fn one_huge_message(batch_of: &[Vec<u8>]) -> BenchResult<()> {
    const PARTS: usize = 5_000;
    const RUNS: usize = 5;
    let dir = tempfile::tempdir()?;
    let host = open_host(dir.path())?;
    let db = dir.path().join("dossier.db");
    println!(
        "one message of {PARTS} tiny attachments ({:.2} MB), {RUNS} times each:",
        many_parts(0, PARTS).len() as f64 / 1e6
    );
    let stop = AtomicBool::new(false);
    let (alone, batched, rival) = std::thread::scope(|scope| {
        let rival = scope.spawn(|| rival_writer(&db, &stop));
        let measure = || -> BenchResult<(Runs, Runs)> {
            let mut alone = Vec::new();
            for run in 0..RUNS {
                let raw = many_parts(run, PARTS);
                dossier_host::test_support::take_longest_write(&host);
                let t = Instant::now();
                host.ingest_email(&raw)?;
                alone.push((
                    t.elapsed(),
                    dossier_host::test_support::take_longest_write(&host),
                ));
            }
            let mut batched = Vec::new();
            for run in 0..RUNS {
                let raw = many_parts(RUNS + run, PARTS);
                let mut messages: Vec<(&str, &[u8])> = batch_of[run * BATCH..(run + 1) * BATCH - 1]
                    .iter()
                    .map(|m| ("bench", m.as_slice()))
                    .collect();
                messages.insert(BATCH / 2, ("huge", raw.as_slice()));
                dossier_host::test_support::take_longest_write(&host);
                let t = Instant::now();
                for result in host.ingest_emails(&messages) {
                    result?;
                }
                batched.push((
                    t.elapsed(),
                    dossier_host::test_support::take_longest_write(&host),
                ));
            }
            Ok((alone, batched))
        };
        let measured = measure();
        stop.store(true, Ordering::Relaxed);
        let rival = rival.join().map_err(|_| "the rival writer panicked")?;
        measured.map(|(a, b)| (a, b, rival))
    })?;
    let ms = |d: &Duration| format!("{:.1}", d.as_secs_f64() * 1e3);
    let show = |name: &str, runs: &[(Duration, Duration)]| {
        println!(
            "  {name}: wall {} ms; write lock held at most {} ms per run",
            runs.iter()
                .map(|(w, _)| ms(w))
                .collect::<Vec<_>>()
                .join(" / "),
            runs.iter()
                .map(|(_, l)| ms(l))
                .collect::<Vec<_>>()
                .join(" / "),
        );
    };
    show("alone (Host::ingest_email)", &alone);
    show(
        &format!("in a batch of {BATCH} (Host::ingest_emails)"),
        &batched,
    );
    let rival = rival?;
    println!(
        "  a second connection took the write lock {} times meanwhile, waiting at most {} ms",
        rival.0,
        ms(&rival.1)
    );
    let stored: i64 = Connection::open(&db)?.query_row(
        "SELECT count(*) FROM follow_ups WHERE kind = 'email_in' AND attachments LIKE '%more-parts.mime%'",
        [],
        |r| r.get(0),
    )?;
    println!("  stored: {stored} follow-ups with 1,000 files and the rest in one");

    for depth in [20_000, 200_000] {
        let raw = nested_divs(depth);
        let t = Instant::now();
        let (_, text, html, _) = dossier_host::test_support::parse_email(&raw)?;
        let parsed = t.elapsed();
        let t = Instant::now();
        host.ingest_email(&raw)?;
        println!(
            "{depth} nested <div> ({:.1} MB): parsed (sanitized or refused) in {} ms, \
             ingested in {} ms; HTML kept as the body: {}, text {} chars",
            raw.len() as f64 / 1e6,
            ms(&parsed),
            ms(&t.elapsed()),
            html.is_some(),
            text.len()
        );
    }
    Ok(())
}

struct Parsed {
    headers: dossier_sdk::EmailHeaders,
    text: String,
    html: Option<String>,
    key: String,
}

/// The raw side: the same rows through statements it keeps.
fn raw_batch(conn: &Connection, emails: &[Parsed], now: &str) -> BenchResult<()> {
    let tx = conn.unchecked_transaction()?;
    for e in emails {
        let seen: Option<i64> = tx
            .prepare_cached("SELECT 1 FROM inbound_emails WHERE key = ?1")?
            .query_row([&e.key], |r| r.get(0))
            .optional()?;
        if seen.is_some() {
            continue;
        }
        let mut case: Option<i64> = None;
        if let Some(id) = &e.headers.in_reply_to {
            case = tx
                .prepare_cached("SELECT case_number FROM follow_ups WHERE message_id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
        }
        let case = match case {
            Some(c) => c,
            None => {
                let address = e.headers.from.address.to_lowercase();
                let customer: Option<i64> = tx
                    .prepare_cached("SELECT customer_id FROM customer_emails WHERE address = ?1")?
                    .query_row([&address], |r| r.get(0))
                    .optional()?;
                let customer = match customer {
                    Some(c) => c,
                    None => {
                        let name = e.headers.from.name.clone().unwrap_or_default();
                        tx.prepare_cached(
                            "INSERT INTO customers (account, name, address, custom, created_at, updated_at)
                             VALUES (?1, ?2, '{}', '{}', ?3, ?3)",
                        )?
                        .execute(params![format!("RAW-{address}"), name, now])?;
                        let id = tx.last_insert_rowid();
                        tx.prepare_cached(
                            "INSERT INTO customer_emails (customer_id, position, label, address) VALUES (?1, 0, 'email', ?2)",
                        )?
                        .execute(params![id, address])?;
                        id
                    }
                };
                tx.prepare_cached(
                    "INSERT INTO cases (customer_id, subject, description, status, is_open, visibility,
                                        severity, priority, custom, created_at, updated_at)
                     VALUES (?1, ?2, '', 'open', 1, 'public', 'minor', 'normal', '{}', ?3, ?3)",
                )?
                .execute(params![customer, e.headers.subject, now])?;
                tx.last_insert_rowid()
            }
        };
        let headers = serde_json::to_string(&e.headers)?;
        tx.prepare_cached(
            "INSERT INTO follow_ups (case_number, kind, author, body, html, email, message_id,
                                     attachments, custom, created_at)
             VALUES (?1, 'email_in', 'customer', ?2, ?3, ?4, ?5, '[]', '{}', ?6)",
        )?
        .execute(params![
            case,
            e.text,
            e.html,
            headers,
            e.headers.message_id,
            now
        ])?;
        let follow_up = tx.last_insert_rowid();
        tx.prepare_cached(
            "INSERT INTO inbound_emails (key, follow_up_id, sender, subject, dropped, received_at)
             VALUES (?1, ?2, ?3, ?4, NULL, ?5)",
        )?
        .execute(params![
            e.key,
            follow_up,
            e.headers.from.address,
            e.headers.subject,
            now
        ])?;
    }
    // The search index, as the store writes it before its commit.
    for sql in dossier_host::test_support::SEARCH_SYNC_SQL {
        tx.prepare_cached(sql)?.execute([])?;
    }
    tx.commit()?;
    Ok(())
}

fn main() -> BenchResult<()> {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let count = count.div_ceil(BATCH) * BATCH;
    println!(
        "email ingest: {count} messages in batches of {BATCH}; {}",
        common::machine()
    );
    let raw_messages = maildir(count)?;

    // Parsing alone, for scale.
    let t = Instant::now();
    let mut parsed = Vec::with_capacity(count);
    for raw in &raw_messages {
        let (headers, text, html, key) = dossier_host::test_support::parse_email(raw)?;
        parsed.push(Parsed {
            headers,
            text,
            html,
            key,
        });
    }
    let parse_rate = count as f64 / t.elapsed().as_secs_f64();

    let product_dir = tempfile::tempdir()?;
    let host = open_host(product_dir.path())?;
    let raw_dir = tempfile::tempdir()?;
    // The same schema, made by the host, then written raw.
    drop(open_host(raw_dir.path())?);
    let raw = common::raw_writer(&raw_dir.path().join("dossier.db"))?;
    let now = dossier_host::test_support::store_time(chrono::Utc::now());

    let at_start = common::Memory::now();
    let mut half_way = at_start;
    let batches = count / BATCH;
    let mut product = |b: usize| -> BenchResult<()> {
        let messages: Vec<(&str, &[u8])> = raw_messages[b * BATCH..(b + 1) * BATCH]
            .iter()
            .map(|m| ("bench", m.as_slice()))
            .collect();
        for result in host.ingest_emails(&messages) {
            result?;
        }
        if b == batches / 2 {
            half_way = common::Memory::now();
        }
        Ok(())
    };
    let mut raw_side = |b: usize| raw_batch(&raw, &parsed[b * BATCH..(b + 1) * BATCH], &now);
    let mut contenders: Vec<Contender<'_>> = vec![
        (
            "Host::ingest_emails (parse, thread, pop, store)",
            Box::new(&mut product),
        ),
        (
            "raw rusqlite, the same rows, pre-parsed",
            Box::new(&mut raw_side),
        ),
    ];
    let stats = common::interleaved(&mut contenders, batches, 0, 5)?;
    drop(contenders);
    let at_end = common::Memory::now();
    println!("per batch of {BATCH}:");
    common::report(
        &[
            "Host::ingest_emails (parse, thread, pop, store)",
            "raw rusqlite, same rows",
        ],
        &stats,
        1,
    );
    println!(
        "product: {:.0} emails/s; raw: {:.0} emails/s; ratio {:.2}x; parsing alone {:.0} emails/s",
        stats[0].per_second * BATCH as f64,
        stats[1].per_second * BATCH as f64,
        stats[0].per_second / stats[1].per_second,
        parse_rate
    );
    println!(
        "memory at start: {}\nmemory half way: {}\nmemory at the end: {}",
        at_start.show(),
        half_way.show(),
        at_end.show()
    );
    let check: (i64, i64) = Connection::open(product_dir.path().join("dossier.db"))?.query_row(
        "SELECT (SELECT count(*) FROM follow_ups WHERE kind = 'email_in'), (SELECT count(*) FROM cases)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let raw_check: (i64, i64) = raw.query_row(
        "SELECT (SELECT count(*) FROM follow_ups WHERE kind = 'email_in'), (SELECT count(*) FROM cases)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    println!(
        "product store: {} email follow-ups on {} cases; raw store: {} on {}",
        check.0, check.1, raw_check.0, raw_check.1
    );
    one_huge_message(&raw_messages)?;
    println!("at the end: {}", common::machine());
    Ok(())
}

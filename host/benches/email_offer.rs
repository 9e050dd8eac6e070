//! The email offer path with its claim, against raw SQLite doing the same
//! writes (issue 29): a new email waiting in an email queue is offered to
//! the member with the fewest open email items, then idle longest, then
//! accepted into their workbin.
//!
//! Each operation, on each side:
//!
//! - **untimed, the arrival**: the `email_offers` row ingest writes for a
//!   new case (`state = 'waiting'`), inserted through a second connection
//!   on the store's file, for a case and `email_in` follow-up ingested
//!   during setup (ingest itself is `email_ingest`'s bench); and, to keep
//!   each member near two open items as a working desk would, the oldest
//!   accepted workbin items beyond two per member marked done (the trigger
//!   marks their offers done);
//! - **timed, the product**: `Host::route_email` (what ingest calls after
//!   its commit: the email queues' names read, then per queue one write
//!   transaction that finds the waiting email, picks the member by SQL,
//!   claims the offer conditionally and writes the `email_offered` push)
//!   and the agent's `Host::accept_email`
//!   (the offer read, the workbin item and the conditional accept, the case
//!   made theirs through the case save, one transaction);
//! - **timed, raw rusqlite**: the same writes with statements prepared once
//!   and kept: the conditional claim `UPDATE` and the push's `INSERT` in
//!   one transaction; the workbin `INSERT`, the conditional accept
//!   `UPDATE`, the case's owner `UPDATE` and the search-index statements
//!   the store runs before its commit in a second. It takes members in turn
//!   (no choosing, as the chat bench's raw side); a third contender runs
//!   the product's pick query in the first transaction too, to show what
//!   the choosing costs.
//!
//! Each side has a store the host created (same schema, indexes, triggers,
//! pragmas, statement cache); contenders are interleaved in blocks of 100
//! after 500 warm-up operations each; nothing runs `ANALYZE`. After the
//! run, the row counts of every table are compared between the product's
//! store and the raw one.
//!
//! `cargo bench -p dossier-host --bench email_offer` (add `-- 20000` for
//! more operations per contender).

mod common;

use std::path::Path;
use std::time::Instant;

use chrono::{Duration, Utc};
use common::{BenchResult, Stats};
use dossier_host::config::EmailQueueConfig;
use dossier_host::test_support::{EMAIL_PICK_SQL, SEARCH_SYNC_SQL, store_time};
use dossier_host::{AgentState, Config, Host};
use dossier_sdk::NewAgent;
use rusqlite::{Connection, params};

const QUEUE: &str = "billing";
/// Open items kept per member by the untimed step.
const KEEP_OPEN: usize = 2;

fn login(i: usize) -> String {
    format!("agent{i:05}")
}

fn mail(i: usize) -> Vec<u8> {
    format!(
        "From: Customer {c} <customer{c}@example.com>\r\nTo: billing@acme.example\r\n\
         Subject: Invoice question {i}\r\nMessage-ID: <offer-{i}@customer.example>\r\n\
         Date: Mon, 7 Dec 2026 09:00:00 +0000\r\n\r\n\
         Hello, my invoice {i} shows a charge I do not recognise. Could you look?\r\n",
        c = i % 2000
    )
    .into_bytes()
}

/// A host on a new store in `dir`: `members` agents in email queue
/// `billing`, all available, and `emails` new emails ingested as cases in no
/// queue (the arrivals are written per operation).
fn store(dir: &Path, members: usize, emails: usize) -> BenchResult<Host> {
    let mut config = Config::default();
    config.store.path = dir.join("dossier.db");
    config.scripts.enabled = false;
    config.email.acknowledge = false;
    config.email.capacity = 5;
    config.email.accept_seconds = 120;
    config.email.queues.insert(
        QUEUE.into(),
        EmailQueueConfig::new((0..members).map(login).collect()),
    );
    let host = Host::builder(config).create_if_missing().open()?;
    host.transaction("staff", |host| {
        for a in 0..members {
            host.add_agent(NewAgent {
                login: login(a),
                ..Default::default()
            })?;
        }
        Ok(())
    })?;
    for a in 0..members {
        host.set_agent_state(&login(a), AgentState::Available)?;
    }
    let raws: Vec<(String, Vec<u8>)> = (0..emails).map(|i| (format!("m{i}"), mail(i))).collect();
    for chunk in raws.chunks(100) {
        let batch: Vec<(&str, &[u8])> = chunk
            .iter()
            .map(|(n, m)| (n.as_str(), m.as_slice()))
            .collect();
        for r in host.ingest_emails(&batch) {
            r?;
        }
    }
    Ok(host)
}

/// The cases and `email_in` follow-ups ingest made, in order.
fn arrivals(conn: &Connection) -> BenchResult<Vec<(i64, i64)>> {
    let mut stmt =
        conn.prepare("SELECT case_number, id FROM follow_ups WHERE kind = 'email_in' ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The untimed step, on a connection of its own: the arrival of email `i`
/// in the queue, and the oldest accepted items beyond `keep` marked done.
struct Arrivals {
    conn: Connection,
    cases: Vec<(i64, i64)>,
    keep: usize,
}

impl Arrivals {
    fn arrive(&mut self, i: usize) -> BenchResult<()> {
        let now = store_time(Utc::now());
        let (case, follow_up) = *self.cases.get(i).ok_or("more operations than emails")?;
        self.conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        self.conn
            .prepare_cached(
                "UPDATE workbin SET done_at = ?1, done_by = agent
                 WHERE done_at IS NULL AND id <= (SELECT max(id) FROM workbin) - ?2",
            )?
            .execute(params![now, self.keep as i64])?;
        self.conn
            .prepare_cached(
                "INSERT INTO email_offers
                     (queue, case_number, follow_up_id, subject, sender, state, arrived_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'waiting', ?6)",
            )?
            .execute(params![
                QUEUE,
                case,
                follow_up,
                format!("Invoice question {i}"),
                format!("customer{}@example.com", i % 2000),
                now
            ])?;
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    }
}

/// The raw side: the host's writes as rusqlite statements.
struct Raw {
    conn: Connection,
    members: usize,
    next: usize,
    /// Whether to run the product's pick query (and use its answer).
    pick: bool,
}

impl Raw {
    fn offer_and_accept(&mut self) -> BenchResult<()> {
        let clock = Utc::now();
        let now = store_time(clock);
        let deadline = store_time(clock + Duration::seconds(120));
        let conn = &self.conn;
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        let id: i64 = conn
            .prepare_cached(
                "SELECT id FROM email_offers WHERE queue = ?1 AND state = 'waiting'
                 ORDER BY arrived_at, id LIMIT 1",
            )?
            .query_row([QUEUE], |r| r.get(0))?;
        let agent = if self.pick {
            conn.prepare_cached(EMAIL_PICK_SQL)?
                .query_row(params![QUEUE, 5], |r| r.get::<_, String>(0))?
        } else {
            self.next += 1;
            login(self.next % self.members)
        };
        let claimed = conn
            .prepare_cached(
                "UPDATE email_offers SET state = 'offered', agent = ?2, offered_at = ?3,
                     deadline = ?4, offers = offers + 1
                 WHERE id = ?1 AND state = 'waiting'",
            )?
            .execute(params![id, agent, now, deadline])?;
        let push = format!(
            "{{\"type\":\"email_offered\",\"offer\":{id},\"queue\":\"{QUEUE}\",\"agent\":\"{agent}\",\
             \"case_number\":{id},\"subject\":\"Invoice question {id}\",\
             \"sender\":\"customer{id}@example.com\",\"deadline\":\"{deadline}\"}}"
        );
        conn.prepare_cached(
            "INSERT INTO event_log (agent, chat, kind, data, at) VALUES (?1, NULL, 'email_offered', ?2, ?3)",
        )?
        .execute(params![agent, push, now])?;
        conn.prepare_cached("COMMIT")?.execute([])?;

        let now = store_time(Utc::now());
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        let (case, follow_up): (i64, i64) = conn
            .prepare_cached("SELECT case_number, follow_up_id FROM email_offers WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        conn.prepare_cached(
            "INSERT INTO workbin (agent, grp, case_number, follow_up_id, reason, added_at, draft_id)
             VALUES (?1, NULL, ?2, ?3, ?4, ?5, NULL)",
        )?
        .execute(params![
            agent,
            case,
            follow_up,
            "a new email you accepted from queue billing",
            now
        ])?;
        let item = conn.last_insert_rowid();
        let accepted = conn
            .prepare_cached(
                "UPDATE email_offers SET state = 'accepted', accepted_at = ?3, deadline = NULL,
                     workbin_id = ?4
                 WHERE id = ?1 AND state = 'offered' AND agent = ?2 AND deadline > ?3",
            )?
            .execute(params![id, agent, now, item])?;
        conn.prepare_cached("UPDATE cases SET owner = ?2, updated_at = ?3 WHERE number = ?1")?
            .execute(params![case, agent, now])?;
        for sql in SEARCH_SYNC_SQL {
            conn.prepare_cached(sql)?.execute([])?;
        }
        conn.prepare_cached("COMMIT")?.execute([])?;
        if claimed + accepted != 2 {
            return Err("raw claim or accept failed".into());
        }
        Ok(())
    }
}

/// The product's operation: route what waits, then the agent accepts.
fn product(host: &Host, agents: &[Host]) -> BenchResult<()> {
    let routed = host.route_email();
    let [offer] = routed.offers.as_slice() else {
        return Err(format!("expected one offer: {routed:?}").into());
    };
    let agent = offer.agent.as_deref().ok_or("an offer with no agent")?;
    let index: usize = agent.trim_start_matches("agent").parse()?;
    let handle = agents.get(index).ok_or("no such agent")?;
    handle.accept_email(offer.id)?;
    Ok(())
}

type Op<'a> = Box<dyn FnMut(usize) -> BenchResult<()> + 'a>;

/// `common::interleaved`, with an untimed step before each operation.
fn interleaved(
    contenders: &mut [(&'static str, Op<'_>, Op<'_>)],
    ops: usize,
    warmup: usize,
    block: usize,
) -> BenchResult<Vec<Stats>> {
    for (_, before, op) in contenders.iter_mut() {
        for i in 0..warmup {
            before(i)?;
            op(i)?;
        }
    }
    let mut times = vec![Vec::with_capacity(ops); contenders.len()];
    for start in (warmup..warmup + ops).step_by(block) {
        for ((_, before, op), times) in contenders.iter_mut().zip(&mut times) {
            for i in start..(start + block).min(warmup + ops) {
                before(i)?;
                let t = Instant::now();
                op(i)?;
                times.push(t.elapsed());
            }
        }
    }
    Ok(times.into_iter().map(common::stats).collect())
}

/// Row counts of every table, by name.
fn counts(conn: &Connection) -> BenchResult<Vec<(String, i64)>> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for name in names {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |r| {
            r.get(0)
        })?;
        out.push((name, n));
    }
    Ok(out)
}

fn run(members: usize, ops: usize) -> BenchResult<()> {
    let warmup = 500;
    let emails = ops + warmup;
    let dirs = [
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    ];
    let setup = Instant::now();
    let host = store(dirs[0].path(), members, emails)?;
    drop(store(dirs[1].path(), members, emails)?);
    drop(store(dirs[2].path(), members, emails)?);
    let db = |d: usize| dirs[d].path().join("dossier.db");
    let agents: Vec<Host> = (0..members)
        .map(|a| host.as_agent(&login(a)))
        .collect::<Result<_, _>>()?;
    let mut arrive: Vec<Arrivals> = Vec::new();
    for d in 0..3 {
        let conn = common::raw_writer(&db(d))?;
        let cases = arrivals(&conn)?;
        if cases.len() != emails {
            return Err(format!("{} cases for {emails} emails", cases.len()).into());
        }
        arrive.push(Arrivals {
            conn,
            cases,
            keep: KEEP_OPEN * members,
        });
    }
    let mut raw = Raw {
        conn: common::raw_writer(&db(1))?,
        members,
        next: 0,
        pick: false,
    };
    let mut raw_pick = Raw {
        conn: common::raw_writer(&db(2))?,
        members,
        next: 0,
        pick: true,
    };
    println!(
        "{members} members in one email queue, capacity 5 ({} stores of {emails} emails set up in {:.1} s)",
        3,
        setup.elapsed().as_secs_f64()
    );
    let [a0, a1, a2] = arrive.as_mut_slice() else {
        return Err("three stores".into());
    };
    let mut contenders: Vec<(&'static str, Op<'_>, Op<'_>)> = vec![
        (
            "raw rusqlite: same writes, member in turn",
            Box::new(|i| a1.arrive(i)),
            Box::new(|_| raw.offer_and_accept()),
        ),
        (
            "raw rusqlite: same writes + the pick query",
            Box::new(|i| a2.arrive(i)),
            Box::new(|_| raw_pick.offer_and_accept()),
        ),
        (
            "Host::route_email + accept_email",
            Box::new(|i| a0.arrive(i)),
            Box::new(|_| product(&host, &agents)),
        ),
    ];
    let names: Vec<&str> = contenders.iter().map(|(n, _, _)| *n).collect();
    let stats = interleaved(&mut contenders, ops, warmup, 100)?;
    drop(contenders);
    common::report(&names, &stats, 0);
    let product_stats = &stats[2];
    println!(
        "product vs raw (same writes): {:.2}x; vs raw with the pick: {:.2}x",
        product_stats.per_second / stats[0].per_second,
        product_stats.per_second / stats[1].per_second
    );
    drop(agents);
    drop(host);
    let (p, r) = (
        counts(&common::raw_reader(&db(0))?)?,
        counts(&common::raw_reader(&db(1))?)?,
    );
    let differ: Vec<String> = p
        .iter()
        .zip(&r)
        .filter(|(a, b)| a != b)
        .map(|((name, x), (_, y))| format!("{name} {x} vs {y}"))
        .collect();
    println!(
        "row counts, product vs raw: {}\n",
        if differ.is_empty() {
            "the same in every table".to_owned()
        } else {
            differ.join(", ")
        }
    );
    Ok(())
}

fn main() -> BenchResult<()> {
    let ops: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5_000);
    println!("email offer bench: {}", common::machine());
    println!(
        "\n## Email offer path with its claim (route + accept), against raw SQLite, {ops} each\n"
    );
    for members in [10, 100, 1000] {
        run(members, ops)?;
    }
    println!("{}", common::machine());
    Ok(())
}

//! Chat routing at 1,000, 10,000 and 100,000 agents in 100 queues (each
//! agent in one queue, every third in a second one, as `chat simulate`
//! spreads them).
//!
//! 1. **The routing decision**: the routing index's `pick` for a random
//!    queue, every agent available with a random load and idle time; and a
//!    change to one agent (their row taken in) followed by a pick. Timed in
//!    blocks of 1,000 operations (one `Instant` per block, not per pick).
//! 2. **The full offer path with its claim write**: `Host::chat_arrived`
//!    (the arrival's insert, then the offer's transaction: cache update from
//!    the store, pick, the conditional claims of agent and chat, the
//!    screen-pop, the pop and the push written, commit) against raw
//!    rusqlite doing the same writes on a store of the same shape in the
//!    same run, interleaved in blocks: the insert in one transaction, then
//!    the same conditional `UPDATE`s, the pop's `UPDATE` and the push's
//!    `INSERT` in a second, on agents taken in turn (no routing read, no
//!    pop read: the raw side does no choosing).
//! 3. **A busy hour** (`chat simulate`): 20,000 chats arriving in one
//!    simulated hour; offers per wall-clock second and the wall-clock p99
//!    of an arrival offered at once.
//!
//! `cargo bench -p dossier-host --bench chat` (add `-- 20000` for more offer
//! operations per contender, `-- quick` to skip 100,000 agents).

#[path = "../../benches/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use common::{BenchResult, Contender};
use dossier_cli::test_support::{SimulateOptions, simulate};
use dossier_host::config::{ChatConfig, ChatQueueConfig};
use dossier_host::test_support::{ChatRouter, store_time};
use dossier_host::{AgentState, Config, Host};
use dossier_sdk::{Channel, Interaction, NewAgent};
use rusqlite::{Connection, params};

const QUEUES: u32 = 100;

fn login(i: u32) -> String {
    format!("agent{i:05}")
}

fn queue(i: u32) -> String {
    format!("queue{i:03}")
}

fn chat_config(agents: u32, capacity: u32) -> ChatConfig {
    let mut chat = ChatConfig::default();
    chat.capacity = capacity;
    for q in 0..QUEUES {
        let members = (0..agents)
            .filter(|a| a % QUEUES == q || (a % 3 == 0 && (a + 1) % QUEUES == q))
            .map(login)
            .collect();
        chat.queues.insert(queue(q), ChatQueueConfig::new(members));
    }
    chat
}

/// splitmix64: the same sequence every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn start() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000)
}

/// Nanoseconds per operation: p50 and p99 of 300 blocks of 1,000.
fn per_op(mut op: impl FnMut(usize)) -> (f64, f64) {
    let mut blocks = Vec::new();
    for b in 0..300 {
        let t = Instant::now();
        for i in 0..1000 {
            op(b * 1000 + i);
        }
        blocks.push(t.elapsed().as_secs_f64() * 1e9 / 1000.0);
    }
    blocks.sort_by(f64::total_cmp);
    (blocks[150], blocks[297])
}

fn routing_decision(sizes: &[u32]) {
    println!("\n## Routing decision (the index's pick), 100 queues\n");
    println!(
        "{:>8} {:>12} {:>12} {:>20} {:>20}",
        "agents", "pick p50 ns", "pick p99 ns", "change+pick p50 ns", "change+pick p99 ns"
    );
    for &agents in sizes {
        let config = chat_config(agents, 6);
        let mut router = ChatRouter::new(&config);
        let mut rng = Rng(agents.into());
        let base = start();
        for a in 0..agents {
            let load = (rng.next() % 6) as u32;
            let idle = base + Duration::seconds((rng.next() % 36_000) as i64);
            router.set(&login(a), true, load, idle);
        }
        let queues: Vec<String> = (0..4096)
            .map(|_| queue((rng.next() % 100) as u32))
            .collect();
        let mut found = 0usize;
        let (p50, p99) = per_op(|i| {
            found += usize::from(router.pick(&queues[i % queues.len()]).is_some());
        });
        assert!(found > 0, "every queue has ready agents");
        let changes: Vec<(String, u32, i64)> = (0..4096)
            .map(|_| {
                (
                    login((rng.next() % u64::from(agents)) as u32),
                    (rng.next() % 6) as u32,
                    (rng.next() % 36_000) as i64,
                )
            })
            .collect();
        let (c50, c99) = per_op(|i| {
            let (who, load, idle) = &changes[i % changes.len()];
            router.set(who, true, *load, base + Duration::seconds(*idle));
            found += usize::from(router.pick(&queues[i % queues.len()]).is_some());
        });
        println!("{agents:>8} {p50:>12.0} {p99:>12.0} {c50:>20.0} {c99:>20.0}");
    }
}

/// A host on a new store in `dir` with `agents` agents, all available.
fn staffed_host(dir: &Path, agents: u32) -> BenchResult<Host> {
    let mut config = Config::default();
    config.store.path = dir.join("dossier.db");
    config.scripts.enabled = false;
    config.chat = chat_config(agents, 100);
    let host = Host::builder(config).create_if_missing().open()?;
    host.transaction("staff", |host| {
        for a in 0..agents {
            host.add_agent(NewAgent {
                login: login(a),
                ..Default::default()
            })?;
        }
        for a in 0..agents {
            host.set_agent_state(&login(a), AgentState::Available)?;
        }
        Ok(())
    })?;
    Ok(host)
}

fn visitor(i: usize) -> Interaction {
    let mut interaction = Interaction::new(Channel::Chat);
    interaction.queue = Some(queue((i % QUEUES as usize) as u32));
    interaction.email = Some(format!("visitor{i}@example.com"));
    interaction.ip = Some("198.51.100.7".into());
    interaction
}

/// The raw side: the host's writes, as rusqlite statements, no choosing.
struct Raw {
    conn: Connection,
    agents: u32,
    next: u32,
    clock: DateTime<Utc>,
}

impl Raw {
    fn offer(&mut self, i: usize) -> BenchResult<()> {
        self.clock += Duration::milliseconds(1);
        let now = store_time(self.clock);
        let deadline = store_time(self.clock + Duration::seconds(30));
        let interaction = serde_json::to_string(&visitor(i))?;
        let q = format!("queue{:03}", i % QUEUES as usize);
        self.conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        self.conn
            .prepare_cached(
                "INSERT INTO chats (queue, state, interaction, arrived_at)
                 VALUES (?1, 'waiting', ?2, ?3)",
            )?
            .execute(params![q, interaction, now])?;
        let chat = self.conn.last_insert_rowid();
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        let agent = login(self.next % self.agents);
        self.next += 1;
        self.conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        let claimed = self
            .conn
            .prepare_cached(
                "UPDATE chat_agents SET pending = pending + 1, idle_since = ?3,
                     rev = (SELECT coalesce(max(rev), 0) + 1 FROM chat_agents)
                 WHERE login = ?1 AND state = 'available' AND active + pending < ?2
                   AND EXISTS (SELECT 1 FROM agents WHERE login = ?1 AND disabled = 0)",
            )?
            .execute(params![agent, 100, now])?;
        let offered = self
            .conn
            .prepare_cached(
                "UPDATE chats SET state = 'offered', agent = ?2, interaction = ?3,
                     offered_at = ?4, deadline = ?5, offers = offers + 1
                 WHERE id = ?1 AND state = 'waiting'",
            )?
            .execute(params![chat, agent, interaction, now, deadline])?;
        self.conn
            .prepare_cached("UPDATE chats SET pop = ?2, customer_id = ?3 WHERE id = ?1")?
            .execute(params![
                chat,
                "{\"pop\":\"new_customer\"}",
                Option::<i64>::None
            ])?;
        self.conn
            .prepare_cached(
                "INSERT INTO event_log (agent, chat, kind, data, at) VALUES (?1, ?2, 'offered', ?3, ?4)",
            )?
            .execute(params![agent, chat, interaction, now])?;
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        if claimed + offered != 2 {
            return Err("raw claim failed".into());
        }
        Ok(())
    }
}

fn offer_path(sizes: &[u32], ops: usize) -> BenchResult<()> {
    println!("\n## Full offer path with its claim write, against raw SQLite, {ops} offers each\n");
    for &agents in sizes {
        let dirs = [tempfile::tempdir()?, tempfile::tempdir()?];
        let setup = Instant::now();
        let host = staffed_host(dirs[0].path(), agents)?;
        drop(staffed_host(dirs[1].path(), agents)?);
        let mut raw = Raw {
            conn: common::raw_writer(&dirs[1].path().join("dossier.db"))?,
            agents,
            next: 0,
            clock: host.now(),
        };
        println!(
            "{agents} agents (two stores staffed in {:.1} s)",
            setup.elapsed().as_secs_f64()
        );
        let mut contenders: Vec<Contender<'_>> = vec![
            (
                "raw rusqlite: same writes, agent in turn",
                Box::new(|i| raw.offer(i)),
            ),
            (
                "Host::chat_arrived (offered at once)",
                Box::new(|i| {
                    let arrived = host.chat_arrived(visitor(i))?;
                    if arrived.routed.offers.len() != 1 {
                        return Err("not offered at once".into());
                    }
                    Ok(())
                }),
            ),
        ];
        let names: Vec<&str> = contenders.iter().map(|(n, _)| *n).collect();
        let stats = common::interleaved(&mut contenders, ops, ops / 10, 100)?;
        common::report(&names, &stats, 0);
    }
    Ok(())
}

fn busy_hour(sizes: &[u32]) -> BenchResult<()> {
    println!("\n## Busy hour: chat simulate, 20,000 chats in one hour, 100 queues\n");
    println!(
        "{:>8} {:>9} {:>10} {:>10} {:>16} {:>16} {:>14}",
        "agents",
        "offers",
        "timeouts",
        "wall s",
        "offers/s (wall)",
        "arrival→offer p99 µs",
        "wait p99 s"
    );
    for &agents in sizes {
        let dir = tempfile::tempdir()?;
        let day = simulate(
            &SimulateOptions {
                agents,
                chats: 20_000,
                queues: QUEUES,
                hours: 1,
                seed: 1,
            },
            &dir.path().join("busy.db"),
        )?;
        println!(
            "{agents:>8} {:>9} {:>10} {:>10.1} {:>16.0} {:>21.0} {:>14.1}",
            day.offers,
            day.timeouts,
            day.wall_seconds,
            day.offers_per_second,
            day.arrival_to_offer_us.p99,
            day.wait.p99
        );
    }
    Ok(())
}

fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ops: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(5_000);
    let sizes: &[u32] = if args.iter().any(|a| a == "quick") {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    println!("chat bench: {}", common::machine());
    routing_decision(sizes);
    offer_path(sizes, ops)?;
    busy_hour(sizes)?;
    println!("\n{}", common::machine());
    Ok(())
}

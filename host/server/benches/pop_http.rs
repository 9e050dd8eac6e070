//! Screen-pop by phone over HTTP against the same pops called in process,
//! on 1,000,000 customers and 3,000,000 cases: 64 concurrent clients, each
//! with a keep-alive connection to a real server on 127.0.0.1, against 64
//! threads calling `Host::screen_pop` on the same host, as the same agent,
//! for the same callers. The clients are 64 tasks on one client thread
//! (hyper's HTTP/1.1 client), sharing the machine's cores with the server,
//! as a load generator on the same host would. Contenders alternate block by block, so load from
//! elsewhere falls on both alike. The load generator is this file: bounded
//! in requests (`BLOCKS` x `PER_BLOCK` per contender) and time (it stops
//! with an error past `DEADLINE`), loopback only.
//!
//! Run with `cargo bench -p dossier-server --bench pop_http`. The store is
//! the `screen_pop` bench's (`target/bench-data/screen-pop-1m.db`),
//! generated on first use. See `BENCHMARKS.md`, "Screen-pop over HTTP".

#[path = "../../benches/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::BenchResult;
use common::pop_data::{CUSTOMERS, Lcg, config_for, generate, is_generated, phone_of};
use dossier_host::Host;
use dossier_sdk::{Channel, Interaction};
use dossier_server::{Server, ServerOptions};

/// Concurrent clients (and in-process threads).
const CLIENTS: usize = 64;
/// Pops per contender per block, split among the clients.
const PER_BLOCK: usize = 6_400;
/// Measured blocks per contender (after one warm-up block each).
const BLOCKS: usize = 8;
/// The whole run stops with an error after this long.
const DEADLINE: Duration = Duration::from_secs(600);

/// One pop by client `client` for pick `i`.
type Pop<'a> = &'a (dyn Fn(usize, usize) -> BenchResult<()> + Sync);

/// Latencies of one block and its wall time.
struct Block {
    latencies: Vec<Duration>,
    wall: Duration,
}

/// Runs `pop(client, i)` for `PER_BLOCK` pops on `CLIENTS` threads.
fn block(first: usize, pop: Pop<'_>) -> BenchResult<Block> {
    let each = PER_BLOCK / CLIENTS;
    let started = Instant::now();
    let results: Vec<Result<Vec<Duration>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|client| {
                s.spawn(move || -> Result<Vec<Duration>, String> {
                    let mut times = Vec::with_capacity(each);
                    for k in 0..each {
                        let i = first + client * each + k;
                        let t = Instant::now();
                        pop(client, i).map_err(|e| e.to_string())?;
                        times.push(t.elapsed());
                    }
                    Ok(times)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| "a client thread panicked".to_owned())
                    .and_then(|r| r)
            })
            .collect()
    });
    let wall = started.elapsed();
    let mut latencies = Vec::with_capacity(PER_BLOCK);
    for r in results {
        latencies.extend(r?);
    }
    Ok(Block { latencies, wall })
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted
        .get(sorted.len() * p / 100)
        .copied()
        .unwrap_or_default()
}

fn main() -> BenchResult<()> {
    let dir = common::data_dir();
    std::fs::create_dir_all(&dir)?;
    let db = common::pop_data::db_path();
    if common::generate_once(&db, is_generated, generate)? {
        return Ok(());
    }
    let host = Host::builder(config_for(&db)).create_if_missing().open()?;
    if host.agent("bench.agent").is_err() {
        host.add_agent(dossier_sdk::NewAgent {
            login: "bench.agent".into(),
            ..Default::default()
        })?;
    }
    let agent = host.as_agent("bench.agent")?;
    let token = host
        .mint_token("bench.agent", "pop_http bench", None)?
        .secret;

    // The server, on its own runtime, as `dossier serve` builds it.
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let served = host.clone();
    let server = std::thread::spawn(move || -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .max_blocking_threads(dossier_server::BLOCKING_THREADS)
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async move {
            let options = ServerOptions::listening_on(SocketAddr::from(([127, 0, 0, 1], 0)));
            let server = Server::bind(served, options)
                .await
                .map_err(|e| e.to_string())?;
            let _ = addr_tx.send(server.local_addr());
            server
                .run(async {
                    let _ = stop_rx.await;
                })
                .await
                .map_err(|e| e.to_string())
        })
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(30))?;
    let url = format!("http://{addr}/api/v1/pops");

    let mut rng = Lcg(11);
    let total = (BLOCKS + 1) * PER_BLOCK;
    let picks: Arc<Vec<u64>> = Arc::new((0..total).map(|_| rng.next() % CUSTOMERS).collect());
    let in_process = |_client: usize, i: usize| -> BenchResult<()> {
        let pick = picks[i];
        let pop = agent.screen_pop(Interaction {
            caller: Some(phone_of(pick)),
            ..Interaction::new(Channel::Phone)
        })?;
        let want = dossier_sdk::CustomerId(pick as i64 + 1);
        match pop.target {
            dossier_sdk::PopTarget::Customer { customer } if customer == want => Ok(()),
            other => Err(format!("popped {other:?}").into()),
        }
    };
    // The clients: 64 tasks on a runtime of one thread of their own, each
    // keeping its connection alive (hyper's pooled HTTP/1.1 client).
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let client = {
        let _entered = client_rt.enter();
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(CLIENTS)
            .build_http::<http_body_util::Full<hyper::body::Bytes>>()
    };
    let uri: hyper::Uri = url.parse()?;
    let bearer = format!("Bearer {token}");
    let http_block = |first: usize| -> BenchResult<Block> {
        let each = PER_BLOCK / CLIENTS;
        let started = Instant::now();
        let results = client_rt.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for c in 0..CLIENTS {
                let (client, uri, bearer, picks) =
                    (client.clone(), uri.clone(), bearer.clone(), picks.clone());
                tasks.spawn(async move {
                    let mut times = Vec::with_capacity(each);
                    for k in 0..each {
                        let pick = picks[first + c * each + k];
                        let body =
                            format!(r#"{{"channel":"phone","caller":"{}"}}"#, phone_of(pick));
                        let request = hyper::Request::post(uri.clone())
                            .header("authorization", &bearer)
                            .header("content-type", "application/json")
                            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
                            .map_err(|e| e.to_string())?;
                        let t = Instant::now();
                        let response = client.request(request).await.map_err(|e| e.to_string())?;
                        let status = response.status();
                        let bytes = http_body_util::BodyExt::collect(response.into_body())
                            .await
                            .map_err(|e| e.to_string())?
                            .to_bytes();
                        times.push(t.elapsed());
                        let want =
                            format!(r#""target":{{"pop":"customer","customer":{}}}"#, pick + 1);
                        let text = String::from_utf8_lossy(&bytes);
                        if status != 200 || !text.contains(&want) {
                            return Err(format!("{status}: {text}"));
                        }
                    }
                    Ok::<_, String>(times)
                });
            }
            let mut all = Vec::with_capacity(PER_BLOCK);
            while let Some(done) = tasks.join_next().await {
                all.extend(done.map_err(|e| e.to_string())??);
            }
            Ok::<_, String>(all)
        })?;
        Ok(Block {
            latencies: results,
            wall: started.elapsed(),
        })
    };

    let started = Instant::now();
    println!("screen-pop over HTTP: {CLIENTS} clients, {BLOCKS} blocks of {PER_BLOCK} pops each");
    println!("{}", common::machine());
    // Warm-up: one block each, not measured.
    block(BLOCKS * PER_BLOCK, &in_process)?;
    http_block(BLOCKS * PER_BLOCK)?;
    let names = [
        "in process: Host::screen_pop, 64 threads",
        "HTTP: POST /api/v1/pops, 64 keep-alive clients",
    ];
    let mut latencies = [Vec::new(), Vec::new()];
    let mut walls = [Duration::ZERO; 2];
    for b in 0..BLOCKS {
        // Alternate which contender goes first in each block.
        let order = if b % 2 == 0 { [0, 1] } else { [1, 0] };
        for c in order {
            let done = if c == 0 {
                block(b * PER_BLOCK, &in_process)?
            } else {
                http_block(b * PER_BLOCK)?
            };
            latencies[c].extend(done.latencies);
            walls[c] += done.wall;
            if started.elapsed() > DEADLINE {
                return Err(format!("the bench ran past its {DEADLINE:?} deadline").into());
            }
        }
    }
    println!(
        "{:<50} {:>9} {:>9} {:>10} {:>8}",
        "", "p50 µs", "p99 µs", "pops/s", "vs base"
    );
    let base = (BLOCKS * PER_BLOCK) as f64 / walls[0].as_secs_f64();
    for (c, name) in names.iter().enumerate() {
        latencies[c].sort_unstable();
        let per_second = (BLOCKS * PER_BLOCK) as f64 / walls[c].as_secs_f64();
        println!(
            "{name:<50} {:>9.1} {:>9.1} {:>10.0} {:>7.2}x",
            common::us(percentile(&latencies[c], 50)),
            common::us(percentile(&latencies[c], 99)),
            per_second,
            per_second / base
        );
    }
    println!("{} (after the run)", common::machine());
    let _ = stop_tx.send(());
    server
        .join()
        .map_err(|_| "the server thread panicked")?
        .map_err(|e| format!("server: {e}"))?;
    Ok(())
}

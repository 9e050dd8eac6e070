//! Event streams under load (issue 24): 200 agents each holding an event
//! stream (`GET /api/v1/events`, Server-Sent Events) while 50 of them work
//! (CTI pops, chat messages, follow-ups) against a real server on
//! 127.0.0.1, and every stream dropped and reconnected with
//! `Last-Event-ID` several times.
//!
//! - **The server** is this bench re-run as a child process
//!   (`DOSSIER_EVENTS_BENCH_SERVE=<config>`), serving the store as `dossier
//!   serve` does (`Server::bind`, `BLOCKING_THREADS`), so its
//!   `/proc/PID/status` `RssAnon` is the server's own: sampled every 100
//!   ms, the peak reported. Two options differ from the defaults: a
//!   heartbeat every second (15 s by default), so heartbeats' ids take
//!   part in the reconnects, and the visitor endpoint's rate limits raised
//!   (every visitor here comes from 127.0.0.1).
//! - **The store** is new, in a temporary directory: a first admin `boss`
//!   (its token is the CTI connector's), 200 agents `a000`..`a199` with
//!   API tokens, one chat queue per working agent (the agents `a000`,
//!   `a004`, ... `a196`), one case per working agent.
//! - **The load**, each working agent one request every `STEP`, in turn:
//!   a CTI pop for an agent picked at random among the 200 (`POST
//!   /api/v1/interactions` as `boss`; the answer carries the event's id),
//!   a message from the visitor of the agent's chat (`POST
//!   /api/v1/visitor/chats/{id}/messages`; a `message` event on the
//!   agent's stream, found by its text), a follow-up on the agent's case
//!   (load only: no event). Keep-alive clients (hyper), all on one client
//!   thread beside the server's, on the same cores.
//! - **Blocks**, alternating: `ON` (every stream open, `ON_TIME`) and
//!   `OFF` (every stream dropped, the load going on, `OFF_TIME`); each ON
//!   block after the first starts by reconnecting every stream with
//!   `Last-Event-ID` = the last id it received (an event's or a
//!   heartbeat's, as browsers do).
//! - **Latency** of an event = its arrival on the right agent's stream
//!   minus the moment its request was *sent* (the conservative bound: the
//!   commit happened between sending and the answer), counted for
//!   requests sent and answered in an ON block whose event arrived on the
//!   connection of that block. The baseline is the request → answer time
//!   of the same requests in the OFF blocks (no stream open), the blocks
//!   interleaved: `vs base` says how much later than the answer of a
//!   request on a server without streams its event reaches the screen.
//! - **Lost and duplicated events**: at the end, every stream's ids
//!   (heartbeats aside) must be strictly increasing and equal to the
//!   event log's events for that agent after the run's first id, read
//!   from the store itself; every pop's id must be among its target's.
//!
//! Bounded in requests (`STEP` per working agent) and time (`DEADLINE`);
//! loopback only. Run with `cargo bench -p dossier-server --bench
//! events_http`. See `BENCHMARKS.md`, "Event streams under load".

#[path = "../../benches/common/mod.rs"]
mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use common::BenchResult;
use common::pop_data::Lcg;
use dossier_host::config::Config;
use dossier_host::{EventScope, Host};
use dossier_server::{Server, ServerOptions};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use parking_lot::Mutex;

/// Agents holding a stream.
const AGENTS: usize = 200;
/// Of them, those who work: every `AGENTS / WORKERS`-th.
const WORKERS: usize = 50;
/// Each working agent sends one request this often.
const STEP: Duration = Duration::from_millis(100);
/// ON blocks (streams open); an OFF block between each two.
const ON_BLOCKS: u32 = 4;
/// How long an ON block lasts once every stream is open.
const ON_TIME: Duration = Duration::from_secs(10);
/// How long the streams stay dropped while the load goes on.
const OFF_TIME: Duration = Duration::from_secs(6);
/// The server's heartbeat (15 s by default).
const HEARTBEAT: Duration = Duration::from_secs(1);
/// The whole run stops with an error after this long.
const DEADLINE: Duration = Duration::from_secs(300);
/// Set in the server's child process: the config it serves.
const SERVE_ENV: &str = "DOSSIER_EVENTS_BENCH_SERVE";

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

fn main() -> BenchResult<()> {
    if let Some(config) = std::env::var_os(SERVE_ENV) {
        return serve(Path::new(&config));
    }
    run()
}

/// The server's process: serves `config` until its stdin closes.
fn serve(config: &Path) -> BenchResult<()> {
    let host = Host::builder(Config::load(config)?)
        .create_if_missing()
        .open()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("dossier-serve")
        .max_blocking_threads(dossier_server::BLOCKING_THREADS)
        .build()?;
    runtime.block_on(async move {
        let mut options = ServerOptions::listening_on(SocketAddr::from(([127, 0, 0, 1], 0)));
        options.heartbeat = HEARTBEAT;
        options.visitor_limits.starts_per_address = 100_000;
        options.visitor_limits.sends_per_minute = 100_000;
        let server = Server::bind(host, options).await?;
        println!("listening on {}", server.local_addr());
        std::io::stdout().flush()?;
        server
            .run(async {
                let _ = tokio::task::spawn_blocking(|| {
                    let mut sink = Vec::new();
                    let _ = std::io::stdin().read_to_end(&mut sink);
                })
                .await;
            })
            .await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}

fn login(agent: usize) -> String {
    format!("a{agent:03}")
}

/// The working agents' indexes.
fn workers() -> impl Iterator<Item = usize> {
    (0..WORKERS).map(|w| w * (AGENTS / WORKERS))
}

/// The config: the store beside it, no scripts, one chat queue per
/// working agent, offers that wait.
fn write_config(dir: &Path) -> BenchResult<std::path::PathBuf> {
    let mut text = String::from(
        "[store]\npath = \"dossier.db\"\n\n[scripts]\nenabled = false\n\n\
         [chat]\naccept_seconds = 3600\nauto_log = false\n",
    );
    for w in workers() {
        text.push_str(&format!(
            "\n[chat.queues.q{w:03}]\nmembers = [\"{}\"]\n",
            login(w)
        ));
    }
    let path = dir.join("dossier.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// What one stream connection received, per agent, over the run.
#[derive(Default)]
struct Received {
    /// Each event, in order.
    events: Vec<Got>,
    /// The last id seen (an event's or a heartbeat's).
    last_id: Option<i64>,
    /// Heartbeats seen.
    heartbeats: u64,
    /// Events without an id, `reset`s, errors: anything unexpected.
    odd: Vec<String>,
}

/// One event a stream received.
struct Got {
    id: i64,
    kind: String,
    data: String,
    arrived: Instant,
    /// The same moment by the wall clock, to compare with the event's
    /// `at` in the log (the server's clock: the same machine's).
    arrived_at: SystemTime,
    /// The block whose connection it came on.
    block: u32,
}

/// One request a working agent sent.
struct Sent {
    kind: Kind,
    /// The agent whose stream the event goes to.
    target: usize,
    /// The pop's event id, or the message's marker.
    key: Key,
    sent: Instant,
    answered: Instant,
    /// The block at sending and at the answer (odd: ON).
    blocks: (u32, u32),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pop,
    Message,
    FollowUp,
}

enum Key {
    Event(i64),
    Marker(String),
    None,
}

async fn request(
    client: &Client,
    method: &str,
    uri: &str,
    bearer: &str,
    body: Option<serde_json::Value>,
) -> Result<(u16, serde_json::Value), String> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if !bearer.is_empty() {
        request = request.header("authorization", format!("Bearer {bearer}"));
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Ok((status, value))
}

async fn expect(
    client: &Client,
    method: &str,
    uri: &str,
    bearer: &str,
    body: Option<serde_json::Value>,
) -> Result<serde_json::Value, String> {
    let (status, value) = request(client, method, uri, bearer, body).await?;
    if !(200..300).contains(&status) {
        return Err(format!("{method} {uri}: {status} {value}"));
    }
    Ok(value)
}

/// Opens agent `agent`'s stream on its own connection and reads it into
/// `into` until the task is aborted (which closes the connection).
/// `opened` is told once the server answered 200.
async fn hold_stream(
    addr: SocketAddr,
    token: String,
    last_id: Option<i64>,
    block: u32,
    into: Arc<Mutex<Received>>,
    opened: tokio::sync::mpsc::Sender<Result<(), String>>,
) {
    let result = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                .await
                .map_err(|e| e.to_string())?;
        // Ends with this task's abort: dropping it closes the socket.
        let conn = async move {
            let _ = conn.await;
        };
        let mut request = hyper::Request::get(format!("http://{addr}/api/v1/events"))
            .header("host", addr.to_string())
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "text/event-stream");
        if let Some(id) = last_id {
            request = request.header("last-event-id", id.to_string());
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let read = async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            if response.status() != 200 {
                return Err(format!("the stream answered {}", response.status()));
            }
            let _ = opened.send(Ok(())).await;
            let mut body = response.into_body();
            let mut pending = Vec::<u8>::new();
            let (mut id, mut kind, mut data) = (None::<String>, None::<String>, String::new());
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| e.to_string())?;
                let Some(chunk) = frame.data_ref() else {
                    continue;
                };
                let (arrived, arrived_at) = (Instant::now(), SystemTime::now());
                pending.extend_from_slice(chunk);
                while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let line = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
                    if line.is_empty() {
                        let mut r = into.lock();
                        let seq = id.take().map(|v| v.parse::<i64>());
                        match (seq, kind.take()) {
                            (Some(Ok(seq)), Some(k)) => {
                                if k == "reset" || k == "error" {
                                    r.odd.push(format!("{k}: {data}"));
                                }
                                r.events.push(Got {
                                    id: seq,
                                    kind: k,
                                    data: std::mem::take(&mut data),
                                    arrived,
                                    arrived_at,
                                    block,
                                });
                                r.last_id = Some(seq);
                            }
                            (Some(Ok(seq)), None) => {
                                r.heartbeats += 1;
                                r.last_id = Some(seq);
                            }
                            (Some(Err(_)), _) => r.odd.push("an id that is not a number".into()),
                            (None, Some(k)) => r.odd.push(format!("{k} without an id: {data}")),
                            (None, None) => {}
                        }
                        data.clear();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim_start().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        kind = Some(v.trim_start().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
            }
            Err::<(), String>("the server closed the stream".into())
        };
        tokio::select! {
            r = read => r,
            () = conn => Err("the connection ended".into()),
        }
    }
    .await;
    if let Err(e) = result {
        into.lock().odd.push(e.clone());
        let _ = opened.send(Err(e)).await;
    }
}

/// The server's `RssAnon` and `VmRSS`, in KiB.
fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("RssAnon:")?, field("VmRSS:")?))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p / 100.0) as usize).min(sorted.len() - 1);
    sorted[i]
}

fn row(name: &str, mut times: Vec<Duration>, base: Option<Duration>) -> Duration {
    times.sort_unstable();
    let p99 = percentile(&times, 99.0);
    let ratio = base.map_or(String::from("      "), |b| {
        format!("{:>6.2}x", p99.as_secs_f64() / b.as_secs_f64())
    });
    println!(
        "{name:<52} {:>7} {:>8.2} {:>8.2} {:>8.2} {ratio}",
        times.len(),
        ms(percentile(&times, 50.0)),
        ms(p99),
        ms(times.last().copied().unwrap_or_default()),
    );
    p99
}

fn run() -> BenchResult<()> {
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let config_path = write_config(dir.path())?;

    // The store, its agents and their tokens, before the server starts.
    let (boss_token, tokens) = {
        let host = Host::builder(Config::load(&config_path)?)
            .create_if_missing()
            .open()?;
        host.first_admin("boss")?;
        let boss = host.mint_token("boss", "CTI connector", None)?.secret;
        let mut tokens = Vec::with_capacity(AGENTS);
        for a in 0..AGENTS {
            host.add_agent(dossier_sdk::NewAgent {
                login: login(a),
                ..Default::default()
            })?;
            tokens.push(host.mint_token(&login(a), "desktop", None)?.secret);
        }
        (boss, tokens)
    };

    // The server, in a child process of its own.
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .env(SERVE_ENV, &config_path)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()?;
    let pid = child.id();
    let mut first = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut first)?;
    let addr: SocketAddr = first
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("the server said {first:?}"))?
        .parse()?;
    let result = drive(addr, pid, &config_path, &boss_token, &tokens, started);
    // Closing its stdin stops the server; it is killed if it lingers.
    drop(child.stdin.take());
    let (exited, exit) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = exited.send(child.wait());
    });
    if exit.recv_timeout(Duration::from_secs(10)).is_err() {
        eprintln!("the server did not stop within 10 s: killed");
        std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()?;
    }
    result
}

fn drive(
    addr: SocketAddr,
    pid: u32,
    config_path: &Path,
    boss: &str,
    tokens: &[String],
    started: Instant,
) -> BenchResult<()> {
    let base = format!("http://{addr}/api/v1");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let client: Client = {
        let _entered = rt.enter();
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(WORKERS * 2)
            .build_http()
    };

    // Memory, sampled all along.
    let sampling = Arc::new(AtomicBool::new(true));
    let samples = Arc::new(Mutex::new(Vec::<(u64, u64)>::new()));
    let sampler = {
        let (sampling, samples) = (sampling.clone(), samples.clone());
        rt.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(100));
            while sampling.load(Ordering::Relaxed) {
                every.tick().await;
                if let Some(m) = memory(pid) {
                    samples.lock().push(m);
                }
            }
        })
    };
    let idle = memory(pid).ok_or("no /proc status for the server")?;

    // Each working agent: a case, an available chat state, a visitor's
    // chat accepted.
    let setup = rt.block_on(async {
        let mut chats = HashMap::new();
        let mut cases = HashMap::new();
        for w in workers() {
            let account = format!("C{w:03}");
            expect(
                &client,
                "POST",
                &format!("{base}/customers"),
                boss,
                Some(serde_json::json!({"account": account, "name": format!("Customer {w}")})),
            )
            .await?;
            let case = expect(
                &client,
                "POST",
                &format!("{base}/cases"),
                boss,
                Some(serde_json::json!({"customer": account, "subject": format!("Case of {w}")})),
            )
            .await?;
            let number = case["number"]
                .as_i64()
                .ok_or_else(|| format!("no case number in {case}"))?;
            expect(
                &client,
                "PUT",
                &format!("{base}/agents/me/chat-state"),
                &tokens[w],
                Some(serde_json::json!({"state": "available"})),
            )
            .await?;
            let started = expect(
                &client,
                "POST",
                &format!("{base}/visitor/chats"),
                "",
                Some(serde_json::json!({"queue": format!("q{w:03}"), "name": format!("Visitor {w}")})),
            )
            .await?;
            let chat = started["chat"]
                .as_i64()
                .ok_or_else(|| format!("no chat in {started}"))?;
            let secret = started["secret"]
                .as_str()
                .ok_or_else(|| format!("no secret in {started}"))?
                .to_owned();
            expect(
                &client,
                "POST",
                &format!("{base}/chats/{chat}/accept"),
                &tokens[w],
                None,
            )
            .await?;
            chats.insert(w, (chat, secret));
            cases.insert(w, number);
        }
        // The run's first id: streams start after it.
        let pop = expect(
            &client,
            "POST",
            &format!("{base}/interactions"),
            boss,
            Some(serde_json::json!({"agent": "boss", "channel": "phone", "phone": "+33610000000"})),
        )
        .await?;
        let first = pop["event"]
            .as_i64()
            .ok_or_else(|| format!("no event id in {pop}"))?;
        Ok::<_, String>((chats, cases, first))
    });
    let (chats, cases, first_id) = setup?;

    let received: Vec<Arc<Mutex<Received>>> = (0..AGENTS)
        .map(|_| {
            Arc::new(Mutex::new(Received {
                last_id: Some(first_id),
                ..Default::default()
            }))
        })
        .collect();
    let block = Arc::new(AtomicU32::new(0));
    let stop = Arc::new(AtomicBool::new(false));

    // Opens every stream from its last id; returns the tasks to abort and
    // how long each of the 200 took to be answered, in order.
    let connect = |b: u32| -> BenchResult<(Vec<tokio::task::JoinHandle<()>>, Vec<Duration>)> {
        let t = Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::channel(AGENTS);
        let mut tasks = Vec::with_capacity(AGENTS);
        for (a, into) in received.iter().enumerate() {
            let last = into.lock().last_id;
            tasks.push(rt.spawn(hold_stream(
                addr,
                tokens[a].clone(),
                last,
                b,
                into.clone(),
                tx.clone(),
            )));
        }
        let times = rt.block_on(async {
            let mut times = Vec::with_capacity(AGENTS);
            for _ in 0..AGENTS {
                match rx.recv().await {
                    Some(Ok(())) => times.push(t.elapsed()),
                    Some(Err(e)) => return Err(e),
                    None => return Err("a stream task ended".to_owned()),
                }
            }
            Ok(times)
        })?;
        Ok((tasks, times))
    };

    // The working agents.
    let mut work = Vec::new();
    for (n, w) in workers().enumerate() {
        let (client, base, boss) = (client.clone(), base.clone(), boss.to_owned());
        let (token, (chat, secret), case) = (tokens[w].clone(), chats[&w].clone(), cases[&w]);
        let (block, stop) = (block.clone(), stop.clone());
        work.push(rt.spawn(async move {
            let mut rng = Lcg(1 + n as u64);
            let mut sent = Vec::new();
            // Spread the agents' first requests over one step.
            let first = tokio::time::Instant::now() + STEP * n as u32 / WORKERS as u32;
            let mut every = tokio::time::interval_at(first, STEP);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut s = 0u64;
            while !stop.load(Ordering::Relaxed) {
                every.tick().await;
                let kind = [Kind::Pop, Kind::Message, Kind::FollowUp][(s % 3) as usize];
                let b0 = block.load(Ordering::Relaxed);
                let t = Instant::now();
                let (target, key) = match kind {
                    Kind::Pop => {
                        let target = (rng.next() % AGENTS as u64) as usize;
                        let pop = expect(
                            &client,
                            "POST",
                            &format!("{base}/interactions"),
                            &boss,
                            Some(
                                serde_json::json!({"agent": login(target), "channel": "phone",
                                "phone": format!("+3361{:07}", rng.next() % 1_000_000)}),
                            ),
                        )
                        .await?;
                        let id = pop["event"]
                            .as_i64()
                            .ok_or_else(|| format!("no event id in {pop}"))?;
                        (target, Key::Event(id))
                    }
                    Kind::Message => {
                        let marker = format!("<{w}:{s}>");
                        expect(
                            &client,
                            "POST",
                            &format!("{base}/visitor/chats/{chat}/messages"),
                            &secret,
                            Some(
                                serde_json::json!({"text": format!("Where is my order {marker}")}),
                            ),
                        )
                        .await?;
                        (w, Key::Marker(marker))
                    }
                    Kind::FollowUp => {
                        expect(
                            &client,
                            "POST",
                            &format!("{base}/cases/{case}/follow-ups"),
                            &token,
                            Some(serde_json::json!({"body": format!("Called back, step {s}")})),
                        )
                        .await?;
                        (w, Key::None)
                    }
                };
                let answered = Instant::now();
                sent.push(Sent {
                    kind,
                    target,
                    key,
                    sent: t,
                    answered,
                    blocks: (b0, block.load(Ordering::Relaxed)),
                });
                s += 1;
            }
            Ok::<_, String>(sent)
        }));
    }

    println!(
        "event streams: {AGENTS} agents with a stream, {WORKERS} working (one request every {} ms each), \
         {ON_BLOCKS} blocks of {} s with every stream open, {} s dropped between them, heartbeat {} s",
        STEP.as_millis(),
        ON_TIME.as_secs(),
        OFF_TIME.as_secs(),
        HEARTBEAT.as_secs()
    );
    println!("{}", common::machine());
    let mut reconnects = Vec::new();
    let mut open = Vec::new();
    for b in 0..ON_BLOCKS {
        // ON: every stream opened from its last id.
        let (tasks, took) = connect(2 * b + 1)?;
        reconnects.push(took);
        open = tasks;
        block.store(2 * b + 1, Ordering::Relaxed);
        pace(&rt, ON_TIME);
        if b + 1 == ON_BLOCKS {
            break;
        }
        // OFF: every stream dropped, the load going on.
        block.store(2 * b + 2, Ordering::Relaxed);
        for t in open.drain(..) {
            t.abort();
        }
        pace(&rt, OFF_TIME);
        if started.elapsed() > DEADLINE {
            return Err(format!("the bench ran past its {DEADLINE:?} deadline").into());
        }
    }
    // The load stops; the open streams get what remains and a heartbeat
    // past the log's end.
    block.store(2 * ON_BLOCKS, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let mut sent = Vec::new();
    for w in work {
        sent.extend(rt.block_on(w)??);
    }
    let host = Host::builder(Config::load(config_path)?)
        .create_if_missing()
        .open()?;
    let end = host.event_log_bounds()?.last;
    let waited = Instant::now();
    rt.block_on(async {
        let mut every = tokio::time::interval(Duration::from_millis(50));
        while received
            .iter()
            .any(|r| r.lock().last_id.is_none_or(|id| id < end))
            && waited.elapsed() <= HEARTBEAT * 10
        {
            every.tick().await;
        }
    });
    for t in open.drain(..) {
        t.abort();
    }
    sampling.store(false, Ordering::Relaxed);
    rt.block_on(sampler).map_err(|_| "the sampler panicked")?;

    // Lost, duplicated, out of order: each stream against the log.
    let mut problems = Vec::new();
    let mut delivered = 0usize;
    let mut caught_up = 0usize;
    let mut logged_at = HashMap::new();
    for (a, r) in received.iter().enumerate() {
        let r = r.lock();
        for odd in &r.odd {
            problems.push(format!("{}: {odd}", login(a)));
        }
        let ids: Vec<i64> = r.events.iter().map(|e| e.id).collect();
        delivered += ids.len();
        if let Some(w) = ids.windows(2).find(|w| w[0] >= w[1]) {
            problems.push(format!(
                "{}: id {} after {} (duplicated or out of order)",
                login(a),
                w[1],
                w[0]
            ));
        }
        let mut logged = Vec::new();
        let mut after = first_id;
        loop {
            let page = host.events_after(EventScope::Agent(&login(a)), after, 1000)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            logged.extend(page.iter().map(|e| e.seq));
            logged_at.extend(page.iter().map(|e| (e.seq, e.at)));
        }
        let got: HashSet<i64> = ids.iter().copied().collect();
        let want: HashSet<i64> = logged.iter().copied().collect();
        let mut lost: Vec<_> = want.difference(&got).copied().collect();
        let mut extra: Vec<_> = got.difference(&want).copied().collect();
        lost.sort_unstable();
        extra.sort_unstable();
        if !lost.is_empty() {
            problems.push(format!(
                "{}: lost {} events: {:?}",
                login(a),
                lost.len(),
                &lost[..lost.len().min(10)]
            ));
        }
        if !extra.is_empty() {
            problems.push(format!(
                "{}: {} events not logged for it: {:?}",
                login(a),
                extra.len(),
                &extra[..extra.len().min(10)]
            ));
        }
        if r.last_id.is_some_and(|id| id >= end) {
            caught_up += 1;
        }
    }

    // Latencies: ON blocks only, sent and answered in the same block, the
    // event on that block's connection.
    let mut arrival: Vec<HashMap<i64, &Got>> = Vec::with_capacity(AGENTS);
    let mut markers: Vec<HashMap<String, &Got>> = Vec::with_capacity(AGENTS);
    let locked: Vec<_> = received.iter().map(|r| r.lock()).collect();
    for r in &locked {
        let mut by_id = HashMap::new();
        let mut by_marker = HashMap::new();
        for got in &r.events {
            by_id.insert(got.id, got);
            if got.kind == "message"
                && let Some(start) = got.data.find('<')
                && let Some(len) = got.data[start..].find('>')
            {
                by_marker.insert(got.data[start..=start + len].to_owned(), got);
            }
        }
        arrival.push(by_id);
        markers.push(by_marker);
    }
    let mut answer = [Vec::new(), Vec::new()]; // [OFF, ON]
    let mut pop_sent = Vec::new();
    let mut pop_answered = Vec::new();
    let mut message_sent = Vec::new();
    let mut all_sent = Vec::new();
    let mut all_logged = Vec::new();
    let (mut requests, mut edge, mut late, mut missing_pops) = (0usize, 0usize, 0usize, 0usize);
    for s in &sent {
        requests += 1;
        if let Key::Event(id) = s.key
            && !arrival[s.target].contains_key(&id)
        {
            missing_pops += 1;
            problems.push(format!("pop {id} never reached {}", login(s.target)));
        }
        let (b0, b1) = s.blocks;
        if b0 != b1 {
            if s.kind != Kind::FollowUp {
                edge += 1;
            }
            continue;
        }
        if b0 == 0 || b0 >= 2 * ON_BLOCKS {
            continue;
        }
        let on = b0 % 2 == 1;
        if s.kind == Kind::Pop {
            answer[usize::from(on)].push(s.answered - s.sent);
        }
        if !on {
            continue;
        }
        let got = match &s.key {
            Key::Event(id) => arrival[s.target].get(id),
            Key::Marker(m) => markers[s.target].get(m),
            Key::None => continue,
        };
        match got {
            Some(got) if got.block == b0 => {
                let from_sent = got.arrived.saturating_duration_since(s.sent);
                all_sent.push(from_sent);
                let logged = logged_at
                    .get(&got.id)
                    .ok_or_else(|| format!("event {} is not in the log", got.id))?;
                let arrived_at: chrono::DateTime<chrono::Utc> = got.arrived_at.into();
                all_logged.push((arrived_at - *logged).to_std().unwrap_or_default());
                if s.kind == Kind::Pop {
                    pop_sent.push(from_sent);
                    pop_answered.push(got.arrived.saturating_duration_since(s.answered));
                } else {
                    message_sent.push(from_sent);
                }
            }
            _ => late += 1,
        }
    }

    let samples = samples.lock();
    let peak = samples.iter().map(|m| m.0).max().unwrap_or(idle.0);
    let peak_rss = samples.iter().map(|m| m.1).max().unwrap_or(idle.1);
    let wall = started.elapsed();

    println!(
        "{:<52} {:>7} {:>8} {:>8} {:>8} {:>7}",
        "", "n", "p50 ms", "p99 ms", "max ms", "vs base"
    );
    let base = row(
        "baseline: pop sent -> answered, streams dropped",
        std::mem::take(&mut answer[0]),
        None,
    );
    row(
        "pop sent -> answered, 200 streams open",
        std::mem::take(&mut answer[1]),
        Some(base),
    );
    row(
        "pop sent -> event on the agent's stream",
        pop_sent,
        Some(base),
    );
    row(
        "pop answered -> event on the agent's stream",
        pop_answered,
        None,
    );
    row(
        "chat message sent -> event on the agent's stream",
        message_sent,
        Some(base),
    );
    let p99 = row("all events sent -> on the stream", all_sent, Some(base));
    let logged_p99 = row(
        "all events logged (`at`) -> on the stream",
        all_logged,
        None,
    );
    println!(
        "{requests} requests, {delivered} events delivered; not timed: {edge} answered in the block after \
         the one they were sent in, {late} arriving on a later connection; \
         opening the {AGENTS} streams took (median, slowest): {}",
        reconnects
            .iter()
            .map(|d| format!("{:.0}/{:.0} ms", ms(d[d.len() / 2]), ms(d[d.len() - 1])))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "forced reconnects: {}; lost, duplicated or out of order: {}; pops not delivered: {missing_pops}; \
         streams at the log's end after the load: {caught_up}/{AGENTS}",
        ON_BLOCKS - 1,
        problems.len()
    );
    for p in problems.iter().take(20) {
        println!("  {p}");
    }
    println!(
        "server memory: RssAnon {:.1} MiB idle, {:.1} MiB peak (VmRSS peak {:.1} MiB, with the mapped store)",
        idle.0 as f64 / 1024.0,
        peak as f64 / 1024.0,
        peak_rss as f64 / 1024.0
    );
    println!(
        "targets: p99 commit -> event <= 20 ms: {:.2} ms from sending {}, {:.2} ms from logging {}; lost or duplicated = 0: {} {}; RssAnon <= 64 MiB: {:.1} MiB {}",
        ms(p99),
        if p99 <= Duration::from_millis(20) {
            "met"
        } else {
            "NOT met"
        },
        ms(logged_p99),
        if logged_p99 <= Duration::from_millis(20) {
            "met"
        } else {
            "NOT met"
        },
        problems.len(),
        if problems.is_empty() {
            "met"
        } else {
            "NOT met"
        },
        peak as f64 / 1024.0,
        if peak <= 64 * 1024 { "met" } else { "NOT met" },
    );
    println!(
        "{} (after the run, {:.0} s)",
        common::machine(),
        wall.as_secs_f64()
    );
    if !problems.is_empty() {
        return Err(format!("{} problems with the streams", problems.len()).into());
    }
    Ok(())
}

/// Lets the load run for `time` (a block's length): the load's own pace,
/// on the runtime's timer, not a wait for something to happen.
fn pace(rt: &tokio::runtime::Runtime, time: Duration) {
    rt.block_on(async {
        let mut clock = tokio::time::interval(time);
        clock.tick().await; // the first tick is now
        clock.tick().await;
    });
}

//! The event streams: Server-Sent Events from the store's event log to
//! agents' screens (`GET /api/v1/events`) and chat visitors' windows.
//!
//! One pump reads the log in commit order (after every write the writer
//! runs, and every second for what other processes commit) and hands each
//! event to the streams of its agent or chat, through a bounded buffer per
//! stream. The pump never waits for a stream: when a stream's buffer is
//! full the stream is marked lagging and the pump skips it; the stream then
//! catches up from the log itself and rejoins. So a slow client never
//! blocks the writer, and gets every event, in order, late.
//!
//! Each event carries its log sequence number as its SSE `id`; a client
//! that reconnects with `Last-Event-ID` gets the events after it, read
//! from the log, then the live ones, without a gap or a duplicate (a
//! stream skips any event at or before the last it sent). Heartbeats are
//! comment lines that also carry an `id`: how far the stream has looked,
//! so a reconnect after a quiet day does not start before the log's
//! retention. A `Last-Event-ID` older than what the log keeps (or one the
//! log never gave) gets a `reset` event: reload, then carry on.
//!
//! Typing indicators are never stored: they go to the connected streams
//! only, and are dropped for a stream whose buffer is full.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use axum::response::sse::{Event, Sse};
use dossier_host::{EventScope, Host, LoggedEvent};
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::Result;

/// How many events a stream's buffer holds before the stream is left to
/// catch up from the log.
pub(crate) const STREAM_BUFFER: usize = 256;

/// How many log rows one read takes.
const PAGE: u32 = 500;

/// The events a chat visitor's window is shown (an offer's pop, timeouts
/// and agents' states are for agents).
pub(crate) const VISITOR_KINDS: [&str; 3] = ["accepted", "message", "ended"];

/// Whose stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// An agent's screen: every event logged for them.
    Agent(String),
    /// A chat visitor's window: [`VISITOR_KINDS`] of their chat.
    Chat(i64),
}

impl Key {
    fn scope(&self) -> EventScope<'_> {
        match self {
            Key::Agent(login) => EventScope::Agent(login),
            Key::Chat(id) => EventScope::Chat(*id),
        }
    }

    /// Whether this stream shows `event` (read for its scope).
    fn shows(&self, event: &LoggedEvent) -> bool {
        match self {
            Key::Agent(_) => true,
            Key::Chat(_) => VISITOR_KINDS.contains(&event.kind.as_str()),
        }
    }
}

/// What the pump and the typing calls hand a stream.
#[derive(Debug)]
pub(crate) enum Item {
    /// An event of the log.
    Logged(Arc<LoggedEvent>),
    /// Someone types in a chat (never stored).
    Typing {
        /// The chat.
        chat: i64,
        /// `customer` or `agent`.
        from: &'static str,
    },
}

struct Slot {
    id: u64,
    tx: mpsc::Sender<Item>,
    lagging: Arc<AtomicBool>,
}

/// The streams of this server and the pump that feeds them.
pub(crate) struct Hub {
    host: Host,
    slots: Mutex<HashMap<Key, Vec<Slot>>>,
    /// The last log sequence number the pump handed out.
    position: AtomicI64,
    /// One pump at a time, so events go out in order.
    pumping: Mutex<()>,
    next_id: AtomicU64,
    /// How many streams are open (metrics).
    open: AtomicI64,
    /// How many times a stream fell behind and caught up from the log.
    pub(crate) lags: AtomicU64,
    /// Set when the server stops: every stream ends, so the graceful
    /// shutdown does not wait for clients that never hang up.
    pub(crate) closing: tokio::sync::watch::Sender<bool>,
}

/// A stream's place in the hub; leaving it unregisters the stream.
pub(crate) struct Registration {
    hub: Arc<Hub>,
    key: Key,
    id: u64,
    rx: mpsc::Receiver<Item>,
    lagging: Arc<AtomicBool>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut slots = self.hub.slots.lock();
        if let Some(list) = slots.get_mut(&self.key) {
            list.retain(|s| s.id != self.id);
            if list.is_empty() {
                slots.remove(&self.key);
            }
        }
        self.hub.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hub {
    /// A hub over `host` (a system handle), starting at the log's end.
    pub(crate) fn new(host: Host) -> Result<Hub> {
        let last = host.event_log_bounds()?.last;
        Ok(Hub {
            host,
            slots: Mutex::new(HashMap::new()),
            position: AtomicI64::new(last),
            pumping: Mutex::new(()),
            next_id: AtomicU64::new(1),
            open: AtomicI64::new(0),
            lags: AtomicU64::new(0),
            closing: tokio::sync::watch::Sender::new(false),
        })
    }

    /// Ends every stream, now and from now on (the server is stopping).
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
    }

    /// How many streams are open.
    pub(crate) fn open_streams(&self) -> i64 {
        self.open.load(Ordering::Relaxed)
    }

    fn register(self: &Arc<Self>, key: Key) -> Registration {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let lagging = Arc::new(AtomicBool::new(false));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.slots
            .lock()
            .entry(key.clone())
            .or_default()
            .push(Slot {
                id,
                tx,
                lagging: lagging.clone(),
            });
        self.open.fetch_add(1, Ordering::Relaxed);
        Registration {
            hub: self.clone(),
            key,
            id,
            rx,
            lagging,
        }
    }

    /// Hands the streams the events committed since the last pump; returns
    /// how many events it read. Blocking (it reads the store): the writer
    /// calls it after each write, a timer for other processes' writes.
    pub(crate) fn pump(&self) -> Result<usize> {
        let _one = self.pumping.lock();
        let mut read = 0;
        loop {
            let from = self.position.load(Ordering::Acquire);
            let rows = self.host.events_after(EventScope::All, from, PAGE)?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                return Ok(read);
            };
            read += rows.len();
            let full = rows.len() == PAGE as usize;
            {
                let slots = self.slots.lock();
                for row in rows {
                    let row = Arc::new(row);
                    if let Some(agent) = &row.agent {
                        hand(slots.get(&Key::Agent(agent.clone())), &row, &self.lags);
                    }
                    if let Some(chat) = row.chat
                        && VISITOR_KINDS.contains(&row.kind.as_str())
                    {
                        hand(slots.get(&Key::Chat(chat)), &row, &self.lags);
                    }
                }
            }
            // After the sends: a stream that sees this position and an
            // empty buffer has had everything up to it.
            self.position.store(last, Ordering::Release);
            if !full {
                return Ok(read);
            }
        }
    }

    /// Tells the streams of `key` that someone types in `chat`, now.
    pub(crate) fn typing(&self, key: Key, chat: i64, from: &'static str) {
        let slots = self.slots.lock();
        for slot in slots.get(&key).into_iter().flatten() {
            if !slot.lagging.load(Ordering::Acquire) {
                // Full or gone: a typing indicator is not worth keeping.
                let _ = slot.tx.try_send(Item::Typing { chat, from });
            }
        }
    }
}

/// Gives `row` to each stream of `slots` that keeps up; marks lagging
/// those whose buffer is full.
fn hand(slots: Option<&Vec<Slot>>, row: &Arc<LoggedEvent>, lags: &AtomicU64) {
    for slot in slots.into_iter().flatten() {
        if slot.lagging.load(Ordering::Acquire) {
            continue;
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = slot.tx.try_send(Item::Logged(row.clone()))
        {
            slot.lagging.store(true, Ordering::Release);
            lags.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Where a stream starts, resolved when it registers.
#[derive(Debug, Clone, Copy)]
enum Begin {
    /// After this position, the pump's when the stream registered.
    At(i64),
    /// After the client's `Last-Event-ID`, checked against the log.
    After(i64),
}

/// Where a new stream starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start {
    /// From now on.
    Now,
    /// After this sequence number (the client's `Last-Event-ID`).
    After(i64),
}

impl Start {
    /// From a `Last-Event-ID` header's value, if any; a value that is not
    /// a number the log could have given starts a reset.
    pub(crate) fn from_header(value: Option<&str>) -> Start {
        match value.map(str::trim) {
            None | Some("") => Start::Now,
            Some(v) => Start::After(v.parse::<i64>().unwrap_or(i64::MAX)),
        }
    }
}

/// The SSE response of a stream for `key` from `start`, with a heartbeat
/// every `heartbeat`.
pub(crate) fn stream(
    hub: &Arc<Hub>,
    key: Key,
    start: Start,
    heartbeat: Duration,
) -> Sse<ReceiverStream<std::result::Result<Event, Infallible>>> {
    let (out, body) = mpsc::channel(16);
    let registration = hub.register(key);
    // "Now" is the moment the stream registered: what the pump hands out
    // after it reaches the stream, and the log covers what was committed
    // but not yet pumped.
    let start = match start {
        Start::Now => Begin::At(hub.position.load(Ordering::Acquire)),
        Start::After(after) => Begin::After(after),
    };
    let mut closing = hub.closing.subscribe();
    tokio::spawn(async move {
        let fed = tokio::select! {
            fed = feed(registration, start, heartbeat, &out) => fed,
            // The server stops: end the response, so its connection closes.
            _ = closing.wait_for(|closing| *closing) => Ok(()),
        };
        if let Err(e) = fed {
            let problem = Event::default()
                .event("error")
                .data(serde_json::json!({ "detail": e.to_string() }).to_string());
            let _ = out.send(Ok(problem)).await;
        }
    });
    Sse::new(ReceiverStream::new(body))
}

type Out = mpsc::Sender<std::result::Result<Event, Infallible>>;

/// Why a stream's task stops: the client went away (not an error), or
/// the store failed.
enum Stop {
    Gone,
    Failed(crate::error::ServerError),
}

impl From<crate::error::ServerError> for Stop {
    fn from(e: crate::error::ServerError) -> Self {
        Stop::Failed(e)
    }
}

impl From<dossier_host::Error> for Stop {
    fn from(e: dossier_host::Error) -> Self {
        Stop::Failed(e.into())
    }
}

async fn send(out: &Out, event: Event) -> std::result::Result<(), Stop> {
    out.send(Ok(event)).await.map_err(|_| Stop::Gone)
}

fn logged(event: &LoggedEvent) -> Event {
    Event::default()
        .id(event.seq.to_string())
        .event(event.kind.as_str())
        .data(event.data.as_str())
}

/// Runs one stream until its client leaves.
async fn feed(
    mut reg: Registration,
    start: Begin,
    heartbeat: Duration,
    out: &Out,
) -> std::result::Result<(), crate::error::ServerError> {
    match run(&mut reg, start, heartbeat, out).await {
        Ok(()) | Err(Stop::Gone) => Ok(()),
        Err(Stop::Failed(e)) => Err(e),
    }
}

async fn run(
    reg: &mut Registration,
    start: Begin,
    heartbeat: Duration,
    out: &Out,
) -> std::result::Result<(), Stop> {
    let host = reg.hub.host.clone();
    let bounds = crate::writer::read(move || host.event_log_bounds()).await??;
    send(out, Event::default().retry(Duration::from_secs(2))).await?;
    let mut cursor = match start {
        Begin::At(position) => position,
        Begin::After(after) => {
            // Missed events were pruned, or the id is not one the log gave.
            let pruned = match bounds.first {
                Some(first) => after < first - 1,
                None => after < bounds.last,
            };
            if after > bounds.last || after < 0 || pruned {
                let reset = serde_json::json!({
                    "reason": if after > bounds.last || after < 0 {
                        "the Last-Event-ID is not one this server gave"
                    } else {
                        "events after the Last-Event-ID are no longer kept"
                    },
                    "last_event_id": after,
                    "oldest_kept": bounds.first,
                });
                send(
                    out,
                    Event::default()
                        .id(bounds.last.to_string())
                        .event("reset")
                        .data(reset.to_string()),
                )
                .await?;
                bounds.last
            } else {
                after
            }
        }
    };
    loop {
        cursor = catch_up(reg, cursor, out).await?;
        cursor = live(reg, cursor, heartbeat, out).await?;
    }
}

/// Sends what the log holds for the stream after `cursor`; returns the new
/// cursor.
async fn catch_up(
    reg: &Registration,
    mut cursor: i64,
    out: &Out,
) -> std::result::Result<i64, Stop> {
    loop {
        let host = reg.hub.host.clone();
        let key = reg.key.clone();
        let rows =
            crate::writer::read(move || host.events_after(key.scope(), cursor, PAGE)).await??;
        let full = rows.len() == PAGE as usize;
        for row in rows {
            if reg.key.shows(&row) {
                send(out, logged(&row)).await?;
            }
            cursor = row.seq;
        }
        if !full {
            return Ok(cursor);
        }
    }
}

/// Sends what the pump hands the stream, and heartbeats, until the stream
/// lags; returns the cursor to catch up from.
async fn live(
    reg: &mut Registration,
    mut cursor: i64,
    heartbeat: Duration,
    out: &Out,
) -> std::result::Result<i64, Stop> {
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    loop {
        tokio::select! {
            item = reg.rx.recv() => match item {
                Some(Item::Logged(row)) => {
                    if row.seq > cursor {
                        send(out, logged(&row)).await?;
                        cursor = row.seq;
                    }
                }
                Some(Item::Typing { chat, from }) => {
                    let data = serde_json::json!({ "chat": chat, "from": from });
                    send(out, Event::default().event("typing").data(data.to_string())).await?;
                }
                None => return Err(Stop::Gone),
            },
            _ = beat.tick() => {
                // Read the position before looking at the buffer: the pump
                // stores it after its sends.
                let position = reg.hub.position.load(Ordering::Acquire);
                if !reg.lagging.load(Ordering::Acquire) && reg.rx.is_empty() {
                    cursor = cursor.max(position);
                }
                send(out, Event::default().id(cursor.to_string()).comment("heartbeat")).await?;
            }
        }
        if reg.lagging.load(Ordering::Acquire) {
            // Take what the buffer holds, rejoin the pump, and read the rest
            // from the log (the pump skipped this stream meanwhile).
            while let Ok(item) = reg.rx.try_recv() {
                if let Item::Logged(row) = item
                    && row.seq > cursor
                {
                    send(out, logged(&row)).await?;
                    cursor = row.seq;
                }
            }
            reg.lagging.store(false, Ordering::Release);
            return Ok(cursor);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::response::IntoResponse;
    use dossier_host::{Config, Host};
    use dossier_sdk::{Channel, Interaction, NewAgent, Role};
    use http_body_util::BodyExt;

    use super::*;

    /// A store with an admin `root` and an agent `ann`; the system handle.
    fn desk(dir: &std::path::Path) -> Host {
        let config = dir.join("dossier.toml");
        std::fs::write(&config, "").expect("config");
        let host = Host::builder(Config::load(&config).expect("load"))
            .create_if_missing()
            .open()
            .expect("open");
        host.first_admin("root").expect("admin");
        host.as_agent("root")
            .expect("root")
            .add_agent(NewAgent {
                login: "ann".into(),
                display_name: "Ann".into(),
                email: None,
                role: Role::Agent,
                groups: Vec::new(),
            })
            .expect("ann");
        host
    }

    /// The ids of the `pop` events in an SSE body's text.
    fn pop_ids(text: &str) -> Vec<i64> {
        text.split("\n\n")
            .filter(|block| block.lines().any(|l| l == "event: pop"))
            .filter_map(|block| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix("id: "))
                    .and_then(|id| id.parse().ok())
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stream_that_falls_behind_catches_up_from_the_log_without_a_gap_or_a_duplicate() {
        let dir = tempfile::tempdir().expect("dir");
        let host = desk(dir.path());
        let root = host.as_agent("root").expect("root");
        let hub = Arc::new(Hub::new(host.clone()).expect("hub"));
        let sse = stream(
            &hub,
            Key::Agent("ann".into()),
            Start::Now,
            Duration::from_secs(3600),
        );
        let mut body = sse.into_response().into_body();
        // Nobody reads the stream while four times its buffer is written
        // and pumped: the pump must never wait for it.
        let total = STREAM_BUFFER * 4;
        let mut expected = Vec::new();
        for _ in 0..total {
            let pushed = root
                .push_pop("ann", Interaction::new(Channel::Phone))
                .expect("pop");
            expected.push(pushed.event);
            hub.pump().expect("pump");
        }
        assert!(
            hub.lags.load(Ordering::Relaxed) > 0,
            "the stream never fell behind: the test proves nothing"
        );
        let mut text = String::new();
        while pop_ids(&text).len() < total {
            let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
                .await
                .expect("the stream goes on")
                .expect("a frame")
                .expect("no error");
            if let Ok(data) = frame.into_data() {
                text.push_str(&String::from_utf8_lossy(&data));
            }
        }
        assert_eq!(pop_ids(&text), expected, "every event once, in order");
        // Caught up, it is fed live again.
        let live = root
            .push_pop("ann", Interaction::new(Channel::Phone))
            .expect("pop");
        hub.pump().expect("pump");
        while pop_ids(&text).len() <= total {
            let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
                .await
                .expect("the live event comes")
                .expect("a frame")
                .expect("no error");
            if let Ok(data) = frame.into_data() {
                text.push_str(&String::from_utf8_lossy(&data));
            }
        }
        assert_eq!(pop_ids(&text).last(), Some(&live.event));
        hub.close();
    }
}

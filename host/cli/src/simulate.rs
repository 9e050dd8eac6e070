//! `dossier chat simulate`: a generated day of chats replayed on a
//! throw-away store with a manual clock, through the same `Host` calls a
//! chat server and agents' desktops make.
//!
//! Agents are spread over the queues (every third one in a second queue
//! too) and become available at the start. Chats arrive at random times
//! (exponential gaps) in random queues; a quarter of the visitors are
//! existing customers (their email pops them). Each offer is accepted after
//! 2 to 20 seconds (90 %), rejected (3 %), or left to expire (7 %); an agent
//! put on break comes back 1 to 5 minutes later. A chat lasts 3 to 15
//! minutes, with a message each way, and ends with a disposition. The
//! clock jumps from event to event, and to each acceptance deadline, which
//! `Host::tick` fires, so a day takes seconds.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use dossier_sdk::{Channel, Email, Interaction, NewAgent, NewCustomer};
use serde::Serialize;

use dossier_host::Host;
use dossier_host::ManualClock;
use dossier_host::config::{ChannelDispositions, ChatQueueConfig, Config, DispositionCode};
use dossier_host::{AgentState, Offer};
use dossier_host::{Error, Result};

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulateOptions {
    /// How many agents.
    pub agents: u32,
    /// How many chats arrive.
    pub chats: u32,
    /// How many queues (at most the number of agents).
    pub queues: u32,
    /// Over how many hours the chats arrive.
    pub hours: u32,
    /// The seed of the generator: the same seed replays the same day.
    pub seed: u64,
}

impl Default for SimulateOptions {
    fn default() -> Self {
        SimulateOptions {
            agents: 10,
            chats: 200,
            queues: 2,
            hours: 8,
            seed: 1,
        }
    }
}

/// One agent's day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgentDay {
    /// The agent.
    pub login: String,
    /// Offers made to them.
    pub offered: u32,
    /// Offers they accepted.
    pub accepted: u32,
    /// Offers they rejected.
    pub rejected: u32,
    /// Offers they let expire.
    pub timed_out: u32,
    /// Chats they ended.
    pub ended: u32,
}

/// Seconds, as percentiles of a distribution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// What a simulated day came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulation {
    /// The options it ran with.
    pub agents: u32,
    /// Chats that arrived.
    pub chats: u32,
    /// Queues.
    pub queues: u32,
    /// Hours the chats arrived over.
    pub hours: u32,
    /// Offers made (a chat offered again after a timeout counts twice).
    pub offers: u32,
    /// Offers left to expire.
    pub timeouts: u32,
    /// Offers rejected.
    pub rejections: u32,
    /// Chats ended.
    pub ended: u32,
    /// Chats whose log was saved as a case at their end (known customers).
    pub logged: u32,
    /// Chats still waiting when the day was over (none unless understaffed).
    pub never_offered: u32,
    /// Simulated seconds from a chat's arrival to its first offer.
    pub wait: Spread,
    /// Per agent, by login.
    pub per_agent: Vec<AgentDay>,
    /// Wall-clock seconds the replay took.
    pub wall_seconds: f64,
    /// Offers per wall-clock second.
    pub offers_per_second: f64,
    /// Wall-clock microseconds of `chat_arrived` for chats offered at once
    /// (arrival to offer, claim and pop included): p50, p99, max.
    pub arrival_to_offer_us: Spread,
}

/// The generator: splitmix64, enough to scatter a day reproducibly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi] (whole numbers).
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Happening {
    Arrive(u32),
    Accept { chat: i64, agent: String },
    Reject { chat: i64, agent: String },
    End { chat: i64, agent: String },
    Return { agent: String },
}

struct Day {
    clock: ManualClock,
    rng: Rng,
    queue: BinaryHeap<Reverse<(DateTime<Utc>, u64, Happening)>>,
    seq: u64,
    per_agent: BTreeMap<String, AgentDay>,
    arrived: BTreeMap<i64, DateTime<Utc>>,
    first_offer: BTreeMap<i64, DateTime<Utc>>,
    offers: u32,
    timeouts: u32,
    rejections: u32,
    ended: u32,
    logged: u32,
}

impl Day {
    fn at(&mut self, when: DateTime<Utc>, what: Happening) {
        self.seq += 1;
        self.queue.push(Reverse((when, self.seq, what)));
    }

    /// Decides how each agent answers the offers just made.
    fn offered(&mut self, offers: &[Offer], now: DateTime<Utc>) {
        for offer in offers {
            self.offers += 1;
            self.first_offer.entry(offer.chat).or_insert(now);
            self.per_agent
                .entry(offer.agent.clone())
                .or_default()
                .offered += 1;
            let roll = self.rng.unit();
            let after = Duration::seconds(self.rng.between(2, 20));
            let (chat, agent) = (offer.chat, offer.agent.clone());
            if roll < 0.90 {
                self.at(now + after, Happening::Accept { chat, agent });
            } else if roll < 0.93 {
                self.at(now + after, Happening::Reject { chat, agent });
            }
            // Otherwise nobody answers: the deadline fires at a tick.
        }
    }

    fn back_later(&mut self, agent: &str, now: DateTime<Utc>) {
        let after = Duration::seconds(self.rng.between(60, 300));
        self.at(
            now + after,
            Happening::Return {
                agent: agent.to_owned(),
            },
        );
    }
}

/// The config of a simulated contact centre.
fn config(options: &SimulateOptions, store: &Path) -> Config {
    let mut config = Config::default();
    config.store.path = store.to_owned();
    config.scripts.enabled = false;
    let mut answered = DispositionCode::new("answered");
    answered.label = Some("Question answered".into());
    answered.closes_case = true;
    config.dispositions.insert(
        "chat".into(),
        ChannelDispositions::new(true, vec![answered]),
    );
    for q in 0..options.queues {
        let members = (0..options.agents)
            .filter(|a| a % options.queues == q || (a % 3 == 0 && (a + 1) % options.queues == q))
            .map(login)
            .collect();
        config
            .chat
            .queues
            .insert(queue(q), ChatQueueConfig::new(members));
    }
    config
}

fn login(i: u32) -> String {
    format!("agent{i:05}")
}

fn queue(i: u32) -> String {
    format!("queue{i:03}")
}

fn spread(mut values: Vec<f64>) -> Spread {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return Spread::default();
    }
    Spread {
        p50: values[n / 2],
        p99: values[(n * 99 / 100).min(n - 1)],
        max: values[n - 1],
    }
}

/// Replays a generated day on a new store at `store` (a file that must not
/// exist yet).
pub fn simulate(options: &SimulateOptions, store: &Path) -> Result<Simulation> {
    if options.agents == 0 || options.chats == 0 || options.queues == 0 || options.hours == 0 {
        return Err(Error::Refused(
            "a simulation needs at least one agent, chat, queue and hour".into(),
        ));
    }
    if options.queues > options.agents {
        return Err(Error::Refused(format!(
            "{} queues need at least as many agents, not {}",
            options.queues, options.agents
        )));
    }
    if store.exists() {
        return Err(Error::Refused(format!(
            "{} exists: a simulation runs on a new store",
            store.display()
        )));
    }
    let start = DateTime::parse_from_rfc3339("2030-01-07T08:00:00Z")
        .map_err(|e| Error::Refused(format!("simulation start: {e}")))?
        .with_timezone(&Utc);
    let clock = ManualClock::new(start);
    let host = Host::builder(config(options, store))
        .clock(Arc::new(clock.clone()))
        .create_if_missing()
        .open()?;
    host.transaction("simulated staff", |host| {
        for a in 0..options.agents {
            host.add_agent(NewAgent {
                login: login(a),
                ..Default::default()
            })?;
        }
        // A quarter of the visitors are customers already.
        for c in (0..options.chats).step_by(4) {
            host.create_customer(NewCustomer {
                account: format!("AC-{c:07}"),
                name: format!("Visitor {c}"),
                emails: vec![Email {
                    label: "main".into(),
                    address: format!("visitor{c}@example.com"),
                }],
                ..Default::default()
            })?;
        }
        Ok(())
    })?;
    let mut day = Day {
        clock: clock.clone(),
        rng: Rng(options.seed),
        queue: BinaryHeap::new(),
        seq: 0,
        per_agent: (0..options.agents)
            .map(|a| {
                (
                    login(a),
                    AgentDay {
                        login: login(a),
                        ..Default::default()
                    },
                )
            })
            .collect(),
        arrived: BTreeMap::new(),
        first_offer: BTreeMap::new(),
        offers: 0,
        timeouts: 0,
        rejections: 0,
        ended: 0,
        logged: 0,
    };
    let wall = Instant::now();
    let mut arrival_us = Vec::new();
    for a in 0..options.agents {
        let (_, routed) = host.set_agent_state(&login(a), AgentState::Available)?;
        day.offered(&routed.offers, start);
    }
    let mean_gap = f64::from(options.hours) * 3600.0 / f64::from(options.chats);
    let mut t = start;
    for c in 0..options.chats {
        let gap = -mean_gap * (1.0 - day.rng.unit()).ln();
        t += Duration::microseconds((gap * 1e6) as i64);
        day.at(t, Happening::Arrive(c));
    }
    let mut next_deadline: Option<DateTime<Utc>> = None;
    loop {
        let next_event = day.queue.peek().map(|Reverse((at, _, _))| *at);
        match (next_deadline, next_event) {
            (Some(dl), next) if next.is_none_or(|n| dl <= n) => {
                day.clock.set(dl);
                let tick = host.tick()?;
                day.offered(&tick.chat.recovered.offers, dl);
                for returned in &tick.chat.timed_out {
                    day.timeouts += 1;
                    day.per_agent
                        .entry(returned.agent.clone())
                        .or_default()
                        .timed_out += 1;
                    day.back_later(&returned.agent, dl);
                    day.offered(&returned.routed.offers, dl);
                }
                next_deadline = tick.chat.next_deadline;
                continue;
            }
            (_, None) => break,
            (_, Some(_)) => {}
        }
        let Some(Reverse((now, _, what))) = day.queue.pop() else {
            break;
        };
        day.clock.set(now);
        match what {
            Happening::Arrive(c) => {
                let mut interaction = Interaction::new(Channel::Chat);
                interaction.queue = Some(queue(
                    day.rng.between(0, i64::from(options.queues) - 1) as u32
                ));
                interaction.email = Some(format!("visitor{c}@example.com"));
                interaction.ip = Some(format!("198.51.100.{}", c % 250 + 1));
                interaction
                    .context
                    .insert("name".into(), format!("Visitor {c}"));
                let started = Instant::now();
                let arrived = host.chat_arrived(interaction)?;
                let spent = started.elapsed();
                if arrived.routed.offers.iter().any(|o| o.chat == arrived.chat) {
                    arrival_us.push(spent.as_secs_f64() * 1e6);
                }
                day.arrived.insert(arrived.chat, now);
                day.offered(&arrived.routed.offers, now);
            }
            Happening::Accept { chat, agent } => {
                let desk = host.as_agent(&agent)?;
                desk.accept_chat(chat)?;
                day.per_agent.entry(agent.clone()).or_default().accepted += 1;
                host.customer_message(chat, "Hello, I have a question about my order.")?;
                desk.chat_message(chat, "Hello! Let me look into it.")?;
                let lasts = Duration::seconds(day.rng.between(180, 900));
                day.at(now + lasts, Happening::End { chat, agent });
            }
            Happening::Reject { chat, agent } => {
                let returned = host.as_agent(&agent)?.reject_chat(chat)?;
                day.rejections += 1;
                day.per_agent.entry(agent.clone()).or_default().rejected += 1;
                day.back_later(&agent, now);
                day.offered(&returned.routed.offers, now);
            }
            Happening::End { chat, agent } => {
                let ended = host
                    .as_agent(&agent)?
                    .end_chat(chat, Some("answered"), None)?;
                day.ended += 1;
                day.logged += u32::from(ended.log.is_some());
                day.per_agent.entry(agent).or_default().ended += 1;
                day.offered(&ended.routed.offers, now);
            }
            Happening::Return { agent } => {
                let (_, routed) = host.set_agent_state(&agent, AgentState::Available)?;
                day.offered(&routed.offers, now);
            }
        }
        next_deadline = host.next_chat_deadline()?;
    }
    let wall_seconds = wall.elapsed().as_secs_f64();
    let waits: Vec<f64> = day
        .first_offer
        .iter()
        .filter_map(|(chat, offered)| {
            day.arrived
                .get(chat)
                .map(|arrived| (*offered - *arrived).num_milliseconds() as f64 / 1000.0)
        })
        .collect();
    let never_offered = options.chats - u32::try_from(waits.len()).unwrap_or(options.chats);
    Ok(Simulation {
        agents: options.agents,
        chats: options.chats,
        queues: options.queues,
        hours: options.hours,
        offers: day.offers,
        timeouts: day.timeouts,
        rejections: day.rejections,
        ended: day.ended,
        logged: day.logged,
        never_offered,
        wait: spread(waits),
        per_agent: day.per_agent.into_values().collect(),
        wall_seconds,
        offers_per_second: f64::from(day.offers) / wall_seconds.max(f64::MIN_POSITIVE),
        arrival_to_offer_us: spread(arrival_us),
    })
}

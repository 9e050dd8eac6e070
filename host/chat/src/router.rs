//! The routing decision, in memory: which available member of a queue gets
//! its next chat.
//!
//! **The longest-idle rule.** Among the queue's members who are available
//! and below the capacity that applies to them in that queue (pending offers
//! count as chats), the chat goes to the one with the fewest chats (active
//! plus pending: an offer counts here as it does for capacity, so a burst
//! of arrivals spreads over agents instead of piling onto the one who was
//! idle longest); among those, to the one idle longest: the earliest of
//! when they were last offered a chat, last ended one, or became available
//! (`idle_since`); among those, the first login in alphabetical order. An
//! agent in several queues is one person in each: their load and idle time
//! are the same whichever queue asks.
//!
//! Each queue keeps its ready members in a `BTreeSet` ordered by that rule,
//! so the decision is the set's first element, and a change to an agent
//! moves them in the sets of their queues: both O(log n).
//!
//! The index is a cache of the store's `chat_agents` rows. It is built from
//! all of them on the first routing after open, then brought up to date at
//! the start of each offer from the rows changed since (each change takes
//! the next value of a counter, `rev`). That read is made inside the offer's
//! write transaction before anything is written, so it sees exactly what
//! other hosts committed. An offer made inside a transaction the caller
//! opened (`Host::transaction`) may read that transaction's uncommitted
//! rows, which could still roll back: such a read marks the cache suspect
//! for the store's write epoch it was made at (`Store::write_epoch`).
//! Further offers in the same transaction and epoch go on from it; the
//! first offer after it (another transaction, a committed read, or the
//! same transaction after a savepoint rolled back) rebuilds it from
//! scratch. The claim checks capacity in SQL whatever the cache says.

use std::collections::{BTreeSet, HashMap};

use super::AgentState;
use super::capacity;
use super::queues::{QueueView, ReadAt};
use dossier_core::config::ChatConfig;
use dossier_store::{ChatAgentRow, Tx};
use dossier_types::Result;

/// A ready agent's place in a queue: fewest chats, then idle longest,
/// then login order (the agent's index follows login order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    load: u32,
    idle_us: i64,
    agent: u32,
}

#[derive(Debug)]
struct Queue {
    /// Members ready to take one of this queue's chats.
    ready: BTreeSet<Key>,
}

#[derive(Debug)]
struct Slot {
    login: String,
    /// Indexes of the queues the agent belongs to.
    queues: Vec<u16>,
    /// Capacity in each of those queues (same order).
    limits: Vec<u32>,
    state: AgentState,
    load: u32,
    idle_us: i64,
    /// A claim failed although the row allowed it (the agent is disabled):
    /// left out until their row changes again.
    blocked: bool,
}

impl Slot {
    fn key(&self, agent: u32) -> Key {
        Key {
            load: self.load,
            idle_us: self.idle_us,
            agent,
        }
    }

    fn ready_in(&self, i: usize) -> bool {
        self.state == AgentState::Available && !self.blocked && self.load < self.limits[i]
    }
}

/// The routing index: see the module docs.
#[derive(Debug)]
pub struct Router {
    queues: Vec<Queue>,
    queue_ix: HashMap<String, u16>,
    agents: Vec<Slot>,
    agent_ix: HashMap<String, u32>,
    /// The highest `rev` applied.
    watermark: i64,
    /// The view of the queues this index was made for (`None`: made for
    /// no queues yet).
    made_for: Option<std::sync::Arc<QueueView>>,
    built: bool,
    /// Set when rows read inside a write that may have written were taken
    /// in: the write epoch they were read at.
    suspect: Option<u64>,
    /// How many times the index was made or rebuilt from every row (a
    /// diagnostic for the tests).
    rebuilds: u64,
}

impl Router {
    /// An index of no queue, until the first routing reads the store's.
    pub fn empty() -> Router {
        Router::new(&ChatConfig::default())
    }

    /// Makes the index anew for `view`'s queues and members when it was
    /// made for other ones (the store's queues changed).
    pub fn follow(&mut self, view: &std::sync::Arc<QueueView>) {
        if self.made_for.as_ref().is_some_and(|v| v.same_as(view)) {
            return;
        }
        let rebuilds = self.rebuilds;
        *self = Router::new(&view.config);
        self.rebuilds = rebuilds;
        self.made_for = Some(view.clone());
    }

    /// An empty index of `config`'s queues and their members.
    pub fn new(config: &ChatConfig) -> Router {
        let names: Vec<&String> = config.queues.keys().collect();
        let queue_ix: HashMap<String, u16> = names
            .iter()
            .enumerate()
            .map(|(i, n)| ((*n).clone(), u16::try_from(i).unwrap_or(u16::MAX)))
            .collect();
        let mut logins: Vec<&String> = config.queues.values().flat_map(|q| &q.members).collect();
        logins.sort();
        logins.dedup();
        let agent_ix: HashMap<String, u32> = logins
            .iter()
            .enumerate()
            .map(|(i, l)| ((*l).clone(), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let mut agents: Vec<Slot> = logins
            .iter()
            .map(|login| Slot {
                login: (*login).clone(),
                queues: Vec::new(),
                limits: Vec::new(),
                state: AgentState::LoggedOut,
                load: 0,
                idle_us: 0,
                blocked: false,
            })
            .collect();
        for (name, queue) in &config.queues {
            let Some(&qi) = queue_ix.get(name) else {
                continue;
            };
            for member in &queue.members {
                if let Some(slot) = agent_ix
                    .get(member)
                    .and_then(|&ix| agents.get_mut(ix as usize))
                {
                    slot.queues.push(qi);
                    slot.limits.push(capacity::limit(config, member, name));
                }
            }
        }
        Router {
            queues: config
                .queues
                .values()
                .map(|_| Queue {
                    ready: BTreeSet::new(),
                })
                .collect(),
            queue_ix,
            agents,
            agent_ix,
            watermark: 0,
            made_for: None,
            built: false,
            suspect: None,
            rebuilds: 0,
        }
    }

    /// Brings the index up to date with the store, inside a write
    /// transaction. `at` says whether nothing was written in it yet (what
    /// it reads is committed) or at which write epoch it reads rows that
    /// may roll back: those mark the index suspect, and a sync at any
    /// other epoch, or a committed one, rebuilds it first.
    pub fn sync(&mut self, tx: &dyn Tx, at: ReadAt) -> Result<()> {
        let stale = match (self.suspect, at) {
            (None, _) => false,
            (Some(epoch), ReadAt::InWrite(now)) => epoch != now,
            (Some(_), ReadAt::Committed) => true,
        };
        if !self.built || stale {
            self.clear();
            self.built = true;
            self.suspect = None;
            self.rebuilds += 1;
        }
        let rows = tx.chat_agents_since(self.watermark)?;
        for row in &rows {
            self.apply(row);
        }
        if let ReadAt::InWrite(epoch) = at {
            self.suspect = Some(epoch);
        }
        Ok(())
    }

    /// How many times the index was built from every row of the store.
    pub fn rebuilds(&self) -> u64 {
        self.rebuilds
    }

    fn clear(&mut self) {
        for q in &mut self.queues {
            q.ready.clear();
        }
        for slot in &mut self.agents {
            slot.state = AgentState::LoggedOut;
            slot.load = 0;
            slot.idle_us = 0;
            slot.blocked = false;
        }
        self.watermark = 0;
    }

    /// Takes `row` into the index.
    pub fn apply(&mut self, row: &ChatAgentRow) {
        self.watermark = self.watermark.max(row.rev);
        let Some(&ix) = self.agent_ix.get(&row.login) else {
            return; // in no queue
        };
        self.update(ix, |slot| {
            slot.state = row.state;
            slot.load = row.active + row.pending;
            slot.idle_us = row.idle_since.timestamp_micros();
            slot.blocked = false;
        });
    }

    fn update(&mut self, ix: u32, change: impl FnOnce(&mut Slot)) {
        let slot = &mut self.agents[ix as usize];
        let old = slot.key(ix);
        for (i, &q) in slot.queues.iter().enumerate() {
            if slot.ready_in(i) {
                self.queues[q as usize].ready.remove(&old);
            }
        }
        change(slot);
        let new = slot.key(ix);
        for (i, &q) in slot.queues.iter().enumerate() {
            if slot.ready_in(i) {
                self.queues[q as usize].ready.insert(new);
            }
        }
    }

    /// The agent the next chat of `queue` goes to, and the capacity that
    /// applies to them there. `None` when no member is ready (or the queue
    /// is not configured).
    pub fn pick(&self, queue: &str) -> Option<(&str, u32)> {
        let qi = *self.queue_ix.get(queue)?;
        let key = self.queues[qi as usize].ready.first()?;
        let slot = &self.agents[key.agent as usize];
        let i = slot.queues.iter().position(|&q| q == qi)?;
        Some((slot.login.as_str(), slot.limits[i]))
    }

    /// A claim on `login` failed. With `row` the store's current row: when
    /// it says the claim should have held (the agent is disabled), the
    /// agent is left out until their row changes; otherwise the row is
    /// taken in. Without a row, the agent is left out.
    pub fn claim_failed(&mut self, login: &str, row: Option<&ChatAgentRow>) {
        let Some(&ix) = self.agent_ix.get(login) else {
            return;
        };
        match row {
            Some(row) if !self.row_matches(ix, row) => self.apply(row),
            _ => self.update(ix, |slot| slot.blocked = true),
        }
    }

    fn row_matches(&self, ix: u32, row: &ChatAgentRow) -> bool {
        let slot = &self.agents[ix as usize];
        slot.state == row.state
            && slot.load == row.active + row.pending
            && slot.idle_us == row.idle_since.timestamp_micros()
    }

    /// How many members of `queue` are ready now.
    #[cfg(test)]
    pub fn ready_count(&self, queue: &str) -> usize {
        self.queue_ix
            .get(queue)
            .map_or(0, |&q| self.queues[q as usize].ready.len())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use dossier_core::config::{ChatAgentConfig, ChatQueueConfig};

    fn config(queues: &[(&str, &[&str], Option<u32>)]) -> ChatConfig {
        let mut c = ChatConfig::default();
        for (name, members, capacity) in queues {
            let mut queue = ChatQueueConfig::new(members.iter().map(|m| (*m).to_owned()).collect());
            queue.capacity = *capacity;
            c.queues.insert((*name).to_owned(), queue);
        }
        c
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::minutes(minutes)
    }

    struct Rows(i64);

    impl Rows {
        fn row(&mut self, login: &str, state: AgentState, load: u32, idle: i64) -> ChatAgentRow {
            self.0 += 1;
            ChatAgentRow {
                login: login.to_owned(),
                state,
                active: load,
                pending: 0,
                idle_since: at(idle),
                state_since: at(0),
                reason: None,
                rev: self.0,
            }
        }
    }

    #[test]
    fn fewest_chats_first_then_idle_longest_then_login() {
        let mut r = Router::new(&config(&[("sales", &["ann", "bob", "cid"], None)]));
        let mut rows = Rows(0);
        r.apply(&rows.row("ann", AgentState::Available, 1, 0));
        r.apply(&rows.row("bob", AgentState::Available, 0, 5));
        r.apply(&rows.row("cid", AgentState::Available, 0, 3));
        assert_eq!(
            r.pick("sales"),
            Some(("cid", 6)),
            "fewest, then idle longest"
        );
        r.apply(&rows.row("cid", AgentState::Available, 0, 5));
        assert_eq!(
            r.pick("sales"),
            Some(("bob", 6)),
            "same idle time: login order"
        );
        r.apply(&rows.row("bob", AgentState::Break, 0, 5));
        r.apply(&rows.row("cid", AgentState::Offline, 0, 5));
        assert_eq!(r.pick("sales"), Some(("ann", 6)), "only the available one");
        r.apply(&rows.row("ann", AgentState::Available, 6, 0));
        assert_eq!(r.pick("sales"), None, "at capacity");
        assert_eq!(r.pick("nowhere"), None);
    }

    #[test]
    fn an_agent_in_two_queues_is_one_person_in_each() {
        let mut r = Router::new(&config(&[
            ("billing", &["ann", "bob"], None),
            ("sales", &["ann", "cid"], Some(2)),
        ]));
        let mut rows = Rows(0);
        r.apply(&rows.row("ann", AgentState::Available, 0, 0));
        r.apply(&rows.row("bob", AgentState::Available, 0, 1));
        r.apply(&rows.row("cid", AgentState::Available, 0, 2));
        assert_eq!(r.pick("billing"), Some(("ann", 6)));
        assert_eq!(r.pick("sales"), Some(("ann", 2)));
        // Ann takes a billing chat: sales sees her load and idle time too.
        r.apply(&rows.row("ann", AgentState::Available, 1, 10));
        assert_eq!(r.pick("sales"), Some(("cid", 2)));
        assert_eq!(r.pick("billing"), Some(("bob", 6)));
        // At sales' capacity of 2 she is out of sales, still in billing.
        r.apply(&rows.row("ann", AgentState::Available, 2, 10));
        r.apply(&rows.row("bob", AgentState::Available, 3, 1));
        r.apply(&rows.row("cid", AgentState::Available, 2, 2));
        assert_eq!(r.pick("sales"), None);
        assert_eq!(r.pick("billing"), Some(("ann", 6)));
    }

    #[test]
    fn an_agents_own_capacity_and_a_failed_claim_leave_them_out() {
        let mut c = config(&[("sales", &["ann", "bob"], None)]);
        c.agents
            .insert("ann".into(), ChatAgentConfig::with_capacity(1));
        let mut r = Router::new(&c);
        let mut rows = Rows(0);
        r.apply(&rows.row("ann", AgentState::Available, 1, 0));
        r.apply(&rows.row("bob", AgentState::Available, 2, 9));
        assert_eq!(
            r.pick("sales"),
            Some(("bob", 6)),
            "ann is at her own capacity"
        );
        let bob = rows.row("bob", AgentState::Available, 2, 9);
        r.claim_failed("bob", Some(&bob));
        assert_eq!(r.pick("sales"), None, "blocked until his row changes");
        r.apply(&rows.row("bob", AgentState::Available, 1, 9));
        assert_eq!(r.pick("sales"), Some(("bob", 6)));
        assert_eq!(r.ready_count("sales"), 1);
    }
}

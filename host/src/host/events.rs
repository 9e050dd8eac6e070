//! The event log as the facade serves it: what an agent's screen (or a
//! chat visitor's window) must be told, in commit order, for streams that
//! catch up after a reconnect; CTI pops pushed to an agent's screen; and
//! the log's pruning.

use chrono::{DateTime, Utc};
use dossier_sdk::{Interaction, Permission, ScreenPop};
use serde::Serialize;

use super::Host;
use crate::events::Actor;
use dossier_store::{EventScope, LogBounds, LoggedEvent};
use dossier_types::{Error, Result};

/// A pop a CTI connector pushed to an agent's screen
/// ([`Host::push_pop`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PushedPop {
    /// The `pop` event's place in the event log.
    pub event: i64,
    /// The agent whose screen it went to.
    pub agent: String,
    /// The pop, computed as that agent.
    pub pop: ScreenPop,
}

/// When this process last pruned the event log (at most hourly).
#[derive(Default)]
struct Pruned(std::sync::Mutex<Option<DateTime<Utc>>>);

impl Host {
    /// The events of `scope` after `after` (a sequence number the log
    /// gave, or 0), in commit order, at most `limit`. An agent reads only
    /// their own ([`EventScope::Agent`] with their login); the system
    /// (a server's own handle) reads any.
    pub fn events_after(
        &self,
        scope: EventScope<'_>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<LoggedEvent>> {
        if let Actor::Agent(login) = &self.actor
            && scope != EventScope::Agent(login)
        {
            return Err(Error::Hidden {
                what: "another agent's events".into(),
                login: login.clone(),
            });
        }
        self.rt
            .store()
            .read(|tx| tx.events_after(after, scope, limit))
    }

    /// The oldest event kept and the last sequence number given.
    pub fn event_log_bounds(&self) -> Result<LogBounds> {
        self.rt.store().read(|tx| tx.event_log_bounds())
    }

    /// Drops the events older than `[events] log_hours` at `now`; returns
    /// how many. Looks on a reader first, so a pass with nothing to prune
    /// takes no write lock.
    pub fn prune_event_log(&self, now: DateTime<Utc>) -> Result<usize> {
        let horizon = now - chrono::Duration::hours(i64::from(self.config().events.log_hours));
        let oldest = self.rt.store().read(|tx| tx.oldest_event_at())?;
        if oldest.is_none_or(|at| at >= horizon) {
            return Ok(0);
        }
        self.rt
            .store()
            .write("event log prune", |tx| tx.prune_events(horizon))
    }

    /// [`Host::prune_event_log`] at most once an hour per process.
    pub(crate) fn prune_event_log_hourly(&self, now: DateTime<Utc>) -> Result<()> {
        let pruned = self.rt.state(|_| Pruned::default());
        let mut last = pruned
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.is_none_or(|at| now - at >= chrono::Duration::hours(1)) {
            self.prune_event_log(now)?;
            *last = Some(now);
        }
        Ok(())
    }

    /// A CTI connector reports an interaction for agent `agent`: the
    /// screen-pop is computed as that agent (their visibility, the
    /// `screen_pop` hooks) and kept in the event log as a `pop` event for
    /// their screen, whose data is `{"interaction": .., "pop": ..}`. Needs
    /// the `cti` permission (admins hold it).
    pub fn push_pop(&self, agent: &str, interaction: Interaction) -> Result<PushedPop> {
        self.rt.require(
            &self.ctx()?,
            Permission::Cti,
            "report an interaction for an agent",
        )?;
        let as_agent = self.as_agent(agent)?;
        let pop = as_agent.screen_pop(interaction.clone())?;
        let data = serde_json::json!({ "interaction": interaction, "pop": pop }).to_string();
        let now = self.now();
        let event = self.rt.store().write("cti pop", |tx| {
            tx.log_event(Some(agent), None, "pop", &data, now)
        })?;
        Ok(PushedPop {
            event,
            agent: agent.to_owned(),
            pop,
        })
    }
}

//! Queues as the store keeps them: the config's initial queues applied
//! when they change, admins adding and removing queues and members, and
//! agents switching their own memberships on and off.
//!
//! Routing reads a [`QueueView`]: the store's chat queues with only their
//! switched-on members, in the shape of `[chat.queues]`, so that the
//! capacity rules and the router work on it as they did on the config.
//! The view is rebuilt when the store's `queue_rev` moves (every change to
//! a queue or a membership moves it, by trigger), whichever process made
//! the change; one read inside a write that may have written is kept for
//! that write only (see [`ReadAt`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use dossier_sdk::Permission;

use super::capacity::Membership;
use super::email_offers::EmailOffers;
use super::offers::ChatOffers;
use super::{ChatRuntime, Chats, Routed};
use dossier_core::config::{ChatConfig, ChatQueueConfig, Config};
use dossier_core::events::{Actor, Ctx};
use dossier_core::runtime::Runtime;
use dossier_store::{Store, Tx};
use dossier_types::queues::{Queue, QueueChannel, QueueSource, valid_queue_name};
use dossier_types::{Error, Result};

/// The setting that keeps the fingerprint of the config's queues last
/// applied to the store.
const APPLIED: &str = "config_queues";

/// The store's chat queues as routing reads them.
#[derive(Debug)]
pub struct QueueView {
    /// The store's `queue_rev` this view was read at.
    pub rev: i64,
    /// Which read of this process made it (1 for the first): two views of
    /// the same `rev` read in different transactions may differ when one
    /// of them saw writes that later rolled back.
    pub read: u64,
    /// Whether it was read from committed rows only (nothing written yet
    /// in its transaction): two committed views of the same `rev` are the
    /// same queues.
    pub committed: bool,
    /// `[chat]` with `queues` replaced by the store's chat queues and their
    /// switched-on members.
    pub config: ChatConfig,
    /// Who is in which queue, and their capacity.
    pub members: Membership,
    /// The email queues each agent is switched on in, by login (names in
    /// order): read with the chat queues, so that making an agent
    /// available does not read every queue's members again.
    email: HashMap<String, Vec<String>>,
}

impl QueueView {
    fn read(
        base: &ChatConfig,
        tx: &dyn Tx,
        rev: i64,
        read: u64,
        committed: bool,
    ) -> Result<QueueView> {
        let mut config = base.clone();
        let (chat, email): (Vec<Queue>, Vec<Queue>) = tx
            .queues()?
            .into_iter()
            .partition(|q| q.channel == QueueChannel::Chat);
        let mut email_of: HashMap<String, Vec<String>> = HashMap::new();
        for queue in &email {
            for member in queue.members.iter().filter(|m| m.joined) {
                email_of
                    .entry(member.login.clone())
                    .or_default()
                    .push(queue.name.clone());
            }
        }
        config.queues = chat
            .into_iter()
            .map(|q| {
                let members = q
                    .members
                    .iter()
                    .filter(|m| m.joined)
                    .map(|m| m.login.clone())
                    .collect();
                let mut queue = ChatQueueConfig::new(members);
                queue.capacity = q.capacity;
                (q.name, queue)
            })
            .collect();
        let members = Membership::new(&config);
        Ok(QueueView {
            rev,
            read,
            committed,
            config,
            members,
            email: email_of,
        })
    }

    /// The email queues `login` is switched on in, by name.
    pub fn email_queues_of(&self, login: &str) -> &[String] {
        self.email.get(login).map_or(&[], Vec::as_slice)
    }

    /// Whether `self` and `other` are views of the same queues: the same
    /// read, or two committed reads of the same `rev`.
    pub fn same_as(&self, other: &QueueView) -> bool {
        self.read == other.read || (self.committed && other.committed && self.rev == other.rev)
    }

    /// Whether chat queue `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.config.queues.contains_key(name)
    }

    /// The chat queues' names.
    pub fn names(&self) -> Vec<String> {
        self.config.queues.keys().cloned().collect()
    }
}

/// Where a read of the queues is made, which decides how long what it
/// read may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAt {
    /// On committed rows only: a reader, or a write transaction before it
    /// wrote anything. Kept until the store's `queue_rev` moves.
    Committed,
    /// Inside a write transaction that may have written, at the store's
    /// [`write_epoch`](dossier_store::Store::write_epoch): kept for that
    /// transaction only, until `queue_rev` moves or a savepoint rolls back.
    InWrite(u64),
}

impl ReadAt {
    /// Where a read on `rt`'s store made now is: in the write this thread
    /// has open, or on committed rows.
    pub fn now(rt: &Runtime) -> ReadAt {
        let store = rt.store();
        if store.in_write() {
            ReadAt::InWrite(store.write_epoch())
        } else {
            ReadAt::Committed
        }
    }
}

impl Chats {
    /// The view of the queues as `tx` sees them, read again only when the
    /// store's queues changed since the last one (its `queue_rev` moved)
    /// or, for a read inside a write, when the write is another one or
    /// undid part of itself (see [`ReadAt`]). One transaction that changes
    /// many agents' states therefore reads the queues once, not once per
    /// change.
    pub fn view_in(&self, base: &ChatConfig, tx: &dyn Tx, at: ReadAt) -> Result<Arc<QueueView>> {
        let rev = tx.queue_rev()?;
        if let Some(view) = self.view.lock().as_ref().filter(|v| v.rev == rev) {
            return Ok(view.clone());
        }
        if let ReadAt::InWrite(epoch) = at
            && let Some((_, view)) = self
                .view_in_write
                .lock()
                .as_ref()
                .filter(|(e, v)| *e == epoch && v.rev == rev)
        {
            return Ok(view.clone());
        }
        let read = self.view_reads.fetch_add(1, Ordering::Relaxed) + 1;
        let committed = at == ReadAt::Committed;
        let view = Arc::new(QueueView::read(base, tx, rev, read, committed)?);
        match at {
            ReadAt::Committed => *self.view.lock() = Some(view.clone()),
            ReadAt::InWrite(epoch) => *self.view_in_write.lock() = Some((epoch, view.clone())),
        }
        Ok(view)
    }

    /// How many times this process read the store's queues for routing
    /// (a diagnostic: the tests check that it does not grow with the
    /// number of changes a transaction makes).
    pub fn view_reads(&self) -> u64 {
        self.view_reads.load(Ordering::Relaxed)
    }
}

/// The current view of the queues, read on a reader (or the write
/// transaction this thread is in).
pub fn view(rt: &Runtime) -> Result<Arc<QueueView>> {
    let chats = rt.chats();
    let at = ReadAt::now(rt);
    rt.store()
        .read(|tx| chats.view_in(&rt.config().chat, tx, at))
}

/// The config's queues, both channels: name, channel, capacity, members.
fn configured(config: &Config) -> Vec<(String, QueueChannel, Option<u32>, Vec<String>)> {
    let chat = config
        .chat
        .queues
        .iter()
        .map(|(n, q)| (n.clone(), QueueChannel::Chat, q.capacity, q.members.clone()));
    let email = config.email.queues.iter().map(|(n, q)| {
        (
            n.clone(),
            QueueChannel::Email,
            q.capacity,
            q.members.clone(),
        )
    });
    chat.chain(email).collect()
}

/// What the config says about queues, as one string: when it differs from
/// the one last applied, the config changed.
fn fingerprint(config: &Config) -> String {
    let mut out = String::new();
    for (name, channel, capacity, mut members) in configured(config) {
        members.sort();
        out.push_str(&format!(
            "{name}\u{1f}{channel}\u{1f}{capacity:?}\u{1f}{}\u{1e}",
            members.join("\u{1f}")
        ));
    }
    out
}

/// Applies `[chat.queues]` to the store when it changed since it was last
/// applied (at `init`, and at the first open after an edit): its queues
/// and members are created or updated; queues and members that came from
/// the config and are no longer in it are removed; what admins added and
/// what agents switched on or off stay as they are. Returns whether it
/// wrote. A reader answers the common case (nothing changed).
pub fn apply_config(store: &dyn Store, config: &Config, now: DateTime<Utc>) -> Result<bool> {
    let wanted = fingerprint(config);
    if store.read(|tx| tx.setting(APPLIED))?.as_deref() == Some(wanted.as_str()) {
        return Ok(false);
    }
    store.write("queues from the config", |tx| {
        if tx.setting(APPLIED)?.as_deref() == Some(wanted.as_str()) {
            return Ok(false);
        }
        let existing: BTreeMap<String, Queue> = tx
            .queues()?
            .into_iter()
            .map(|q| (q.name.clone(), q))
            .collect();
        let wanted_queues: BTreeMap<String, (QueueChannel, Option<u32>, Vec<String>)> =
            configured(config)
                .into_iter()
                .map(|(n, c, cap, m)| (n, (c, cap, m)))
                .collect();
        for (name, queue) in &existing {
            match wanted_queues.get(name) {
                None if queue.source == QueueSource::Config => {
                    tx.delete_queue(name)?;
                }
                None => {}
                Some((_, _, members)) => {
                    for member in &queue.members {
                        if member.source == QueueSource::Config && !members.contains(&member.login)
                        {
                            tx.unassign_member(name, &member.login)?;
                        }
                    }
                }
            }
        }
        for (name, (channel, capacity, members)) in &wanted_queues {
            tx.put_queue(name, *channel, *capacity, QueueSource::Config, now)?;
            for login in members {
                tx.assign_member(name, login, QueueSource::Config, now)?;
            }
        }
        tx.set_setting(APPLIED, &wanted)?;
        Ok(true)
    })
}

/// Queues kept in the store, managed by admins and switched by agents.
pub trait ChatQueues {
    /// Every queue with its members (admins and supervisors holding
    /// `manage_agents`), or the queues `ctx`'s agent is assigned to.
    fn queues(&self, ctx: &Ctx) -> Result<Vec<Queue>>;

    /// Queue `name`, if `ctx`'s actor may see it (an agent sees the queues
    /// they are assigned to; `manage_agents` sees all).
    fn queue(&self, ctx: &Ctx, name: &str) -> Result<Queue>;

    /// Creates queue `name` of `channel` (with `capacity` when given), or
    /// changes its capacity, and assigns `members` to it. Needs
    /// `manage_agents`. An existing queue keeps its channel: naming
    /// another is refused.
    fn add_queue(
        self: &Arc<Self>,
        ctx: &Ctx,
        name: &str,
        channel: QueueChannel,
        capacity: Option<u32>,
        members: &[String],
    ) -> Result<(Queue, Routed)>;

    /// Removes `members` from queue `name`, or the queue itself when
    /// `members` is empty (refused while chats wait in it). Needs
    /// `manage_agents`.
    fn remove_queue(&self, ctx: &Ctx, name: &str, members: &[String]) -> Result<Option<Queue>>;

    /// Switches `login`'s membership of `queue` on (`joined`) or off. An
    /// agent switches their own assigned queues with `manage_own_queues`;
    /// `manage_agents` switches anyone's. Switching on offers the queue's
    /// waiting chats.
    fn switch_queue(
        self: &Arc<Self>,
        ctx: &Ctx,
        queue: &str,
        login: &str,
        joined: bool,
    ) -> Result<(Queue, Routed)>;
}

/// Queue `name` is not among `seen` (the queues the actor may see), which
/// the error lists.
fn unknown_among(name: &str, seen: &[Queue]) -> Error {
    Error::UnknownQueue {
        queue: name.to_owned(),
        known: seen.iter().map(|q| q.name.clone()).collect(),
    }
}

/// Whether `ctx`'s actor sees every queue.
fn sees_all(rt: &Runtime, ctx: &Ctx) -> Result<bool> {
    match ctx.actor() {
        Actor::System => Ok(true),
        Actor::Agent(login) => Ok(rt
            .store()
            .read(|tx| tx.agent_holds(login, Permission::ManageAgents))?
            .unwrap_or(false)),
    }
}

impl ChatQueues for Runtime {
    fn queues(&self, ctx: &Ctx) -> Result<Vec<Queue>> {
        let all = self.store().read(|tx| tx.queues())?;
        if sees_all(self, ctx)? {
            return Ok(all);
        }
        let Actor::Agent(login) = ctx.actor() else {
            return Ok(all);
        };
        Ok(all
            .into_iter()
            .filter(|q| q.member(login).is_some())
            .collect())
    }

    fn queue(&self, ctx: &Ctx, name: &str) -> Result<Queue> {
        let mut seen = ChatQueues::queues(self, ctx)?;
        match seen.iter().position(|q| q.name == name) {
            Some(i) => Ok(seen.swap_remove(i)),
            None => Err(unknown_among(name, &seen)),
        }
    }

    fn add_queue(
        self: &Arc<Self>,
        ctx: &Ctx,
        name: &str,
        channel: QueueChannel,
        capacity: Option<u32>,
        members: &[String],
    ) -> Result<(Queue, Routed)> {
        self.require(ctx, Permission::ManageAgents, "manage queues")?;
        if !valid_queue_name(name) {
            return Err(Error::input(
                "queue",
                format!(
                    "`{name}` is not a queue name: 1 to 64 letters, digits, `.`, `_`, `-` or `@`"
                ),
            ));
        }
        if let Some(c) = capacity
            && !(1..=dossier_core::config::MAX_CHAT_CAPACITY).contains(&c)
        {
            return Err(Error::input(
                "capacity",
                format!(
                    "a queue's capacity is from 1 to {}, not {c}",
                    dossier_core::config::MAX_CHAT_CAPACITY
                ),
            ));
        }
        for login in members {
            self.agent(login)?;
        }
        let now = self.now();
        let queue = self.store().write("queue add", |tx| {
            let existing = tx.queue(name)?;
            if let Some(q) = &existing
                && q.channel != channel
            {
                return Err(Error::input(
                    "channel",
                    format!("queue {name} is a {} queue, not {channel}", q.channel),
                ));
            }
            let capacity = capacity.or(existing.as_ref().and_then(|q| q.capacity));
            let source = existing.as_ref().map_or(QueueSource::Admin, |q| q.source);
            tx.put_queue(name, channel, capacity, source, now)?;
            for login in members {
                tx.assign_member(name, login, QueueSource::Admin, now)?;
            }
            tx.queue(name)?.ok_or_else(|| {
                Error::Refused(format!("queue {name} vanished while it was written"))
            })
        })?;
        let routed = self.route_any(ctx, &queue);
        Ok((queue, routed))
    }

    fn remove_queue(&self, ctx: &Ctx, name: &str, members: &[String]) -> Result<Option<Queue>> {
        self.require(ctx, Permission::ManageAgents, "manage queues")?;
        self.store().write("queue remove", |tx| {
            if tx.queue(name)?.is_none() {
                return Err(unknown_among(name, &tx.queues()?));
            }
            if members.is_empty() {
                let waiting = tx.oldest_waiting(name, &[])?.is_some()
                    || !tx.waiting_email_offers(name, 1)?.is_empty();
                if waiting {
                    return Err(Error::Refused(format!(
                        "queue {name} has chats waiting: route them or let them end before removing it"
                    )));
                }
                tx.delete_queue(name)?;
                return Ok(None);
            }
            for login in members {
                if !tx.unassign_member(name, login)? {
                    return Err(Error::input(
                        "member",
                        format!("{login} is not a member of queue {name}"),
                    ));
                }
            }
            tx.queue(name)
        })
    }

    fn switch_queue(
        self: &Arc<Self>,
        ctx: &Ctx,
        queue: &str,
        login: &str,
        joined: bool,
    ) -> Result<(Queue, Routed)> {
        let own = matches!(ctx.actor(), Actor::Agent(me) if me == login);
        let verb = if joined { "join" } else { "leave" };
        if own {
            self.require(
                ctx,
                Permission::ManageOwnQueues,
                &format!("{verb} queue {queue}"),
            )?;
        } else {
            self.require(
                ctx,
                Permission::ManageAgents,
                &format!("switch {login}'s membership of queue {queue}"),
            )?;
        }
        let now = self.now();
        let found = self.store().write("queue switch", |tx| {
            let found = tx.queue(queue)?;
            // An agent switching their own learns only of their own queues.
            if own && found.as_ref().is_none_or(|q| q.member(login).is_none()) {
                let theirs: Vec<Queue> = tx
                    .queues()?
                    .into_iter()
                    .filter(|q| q.member(login).is_some())
                    .collect();
                return Err(unknown_among(queue, &theirs));
            }
            let Some(found) = found else {
                return Err(unknown_among(queue, &tx.queues()?));
            };
            if found.member(login).is_none() {
                return Err(Error::Refused(format!(
                    "{login} is not assigned to queue {queue}: an admin assigns members (dossier queue add {queue} --member {login})"
                )));
            }
            tx.set_member_joined(queue, login, joined, now)?;
            tx.queue(queue)?
                .ok_or_else(|| Error::Refused(format!("queue {queue} vanished while it was written")))
        })?;
        let routed = if joined {
            self.route_any(ctx, &found)
        } else {
            Routed::default()
        };
        Ok((found, routed))
    }
}

/// Routing after a change to `queue`: its waiting chats, or its waiting
/// emails.
trait RouteAny {
    fn route_any(self: &Arc<Self>, ctx: &Ctx, queue: &Queue) -> Routed;
}

impl RouteAny for Runtime {
    fn route_any(self: &Arc<Self>, ctx: &Ctx, queue: &Queue) -> Routed {
        match queue.channel {
            QueueChannel::Chat => self.route_queues(ctx, std::slice::from_ref(&queue.name)),
            QueueChannel::Email => {
                let routed = self.route_email(Some(std::slice::from_ref(&queue.name)));
                Routed {
                    offers: Vec::new(),
                    problems: routed.problems,
                    emails: routed.offers,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_ignores_member_order_and_sees_capacity_and_channel() {
        let mut a = Config::default();
        a.chat.queues.insert(
            "sales".into(),
            ChatQueueConfig::new(vec!["bob".into(), "ann".into()]),
        );
        let mut b = Config::default();
        b.chat.queues.insert(
            "sales".into(),
            ChatQueueConfig::new(vec!["ann".into(), "bob".into()]),
        );
        assert_eq!(fingerprint(&a), fingerprint(&b));
        if let Some(q) = b.chat.queues.get_mut("sales") {
            q.capacity = Some(2);
        }
        assert_ne!(fingerprint(&a), fingerprint(&b));
        let mut c = Config::default();
        c.email.queues.insert(
            "sales".into(),
            dossier_core::config::EmailQueueConfig::new(vec!["ann".into(), "bob".into()]),
        );
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}

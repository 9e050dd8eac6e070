//! The runtime below the facade: the store, the schema, the clock and the
//! handlers, and the operations every caller (the facade, handlers through
//! their [`Ctx`]) shares. Nothing here knows about `Host`.
//!
//! - `records.rs`: the write protocol of customers, cases, follow-ups and
//!   tasks, and their reads;
//! - `rules.rs`: the built-in checks a record passes before it is written,
//!   and again after hooks changed it.

mod agents;
pub mod credentials;
mod faq;
mod records;
mod rules;

pub use agents::AgentChange;
pub use agents::viewer_in;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, SubsecRound, Utc};
use parking_lot::Mutex;

use crate::clock::Clock;
use crate::config::Config;
use crate::events::{Ctx, Delivery, Leases, Pipeline, Redo};
use dossier_store::blobs::BlobStore;
use dossier_store::{Store, Tx};
use dossier_types::Result;
use dossier_types::schema::Schema;

/// Everything a host is made of; the facade holds it in an `Arc`.
pub struct Runtime {
    config: Config,
    schema: Schema,
    store: Box<dyn Store>,
    blobs: Box<dyn BlobStore>,
    clock: Arc<dyn Clock>,
    pipeline: Pipeline,
    /// Where notifications leave the host (the mail channel's SMTP), if
    /// anywhere.
    delivery: Option<Arc<dyn Delivery>>,
    /// The host's own work the outbox may attempt again, by handler key.
    redos: Vec<Arc<dyn Redo>>,
    /// Set when a write queued an after-save delivery, so that commits which
    /// queued nothing skip the outbox query. Failed deliveries wait for the
    /// next queued event or an explicit delivery (the `run` loop).
    outbox_queued: AtomicBool,
    /// What the layers above keep here, one value per type (see
    /// [`Runtime::state`]).
    states: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    /// The outbox leases this runtime holds, kept renewed.
    leases: Leases,
}

impl Runtime {
    /// Assembles a runtime from its parts (the facade's `HostBuilder::open`).
    pub fn new(
        config: Config,
        schema: Schema,
        store: Box<dyn Store>,
        blobs: Box<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        pipeline: Pipeline,
        delivery: Option<Arc<dyn Delivery>>,
    ) -> Runtime {
        let lease = chrono::Duration::seconds(i64::from(config.outbox.lease_seconds));
        Runtime {
            states: Mutex::new(HashMap::new()),
            leases: Leases::new(lease),
            config,
            schema,
            store,
            blobs,
            clock,
            pipeline,
            delivery,
            redos: Vec::new(),
            outbox_queued: AtomicBool::new(false),
        }
    }

    /// The configuration the host runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The compiled custom field schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Where attachment bytes live.
    pub fn blobs(&self) -> &dyn BlobStore {
        self.blobs.as_ref()
    }

    /// The runtime's one `T`, made from the config by `init` on first use
    /// and kept for the runtime's life: where a channel keeps its state
    /// (chat's routing cache, email's compiled rules) without the core
    /// naming it. `init` runs under the slots' lock, so it must not ask
    /// for another state.
    pub fn state<T: Any + Send + Sync>(&self, init: impl FnOnce(&Config) -> T) -> Arc<T> {
        let mut states = self.states.lock();
        if let Some(found) = states.get(&TypeId::of::<T>())
            && let Ok(state) = Arc::clone(found).downcast::<T>()
        {
            return state;
        }
        let state = Arc::new(init(&self.config));
        states.insert(TypeId::of::<T>(), state.clone());
        state
    }

    /// How long a claimed outbox delivery is held (`[outbox]
    /// lease_seconds`).
    pub fn lease_duration(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::from(self.config.outbox.lease_seconds))
    }

    /// The outbox leases this runtime holds.
    pub fn leases(&self) -> &Leases {
        &self.leases
    }

    /// Where notifications leave the host, if anywhere.
    pub fn delivery(&self) -> Option<&Arc<dyn Delivery>> {
        self.delivery.as_ref()
    }

    /// The runtime with `redo` registered: outbox deliveries to its key
    /// are attempted through it.
    pub fn with_redo(mut self, redo: Arc<dyn Redo>) -> Runtime {
        self.redos.push(redo);
        self
    }

    /// The registered [`Redo`] whose key is `name`, if any.
    pub fn redo_for(&self, name: &str) -> Option<&Arc<dyn Redo>> {
        self.redos.iter().find(|r| r.name() == name)
    }

    /// The handlers, in the order they run.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The host clock's time, truncated to microseconds, the precision the
    /// store keeps, so a record returned by a write equals it read back.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now().trunc_subsecs(6)
    }

    /// How many levels of hook-caused writes a chain may go.
    pub fn max_depth(&self) -> u32 {
        self.config.events.max_depth
    }

    /// Runs `f` on a reader (or the writer, inside a write) with the schema.
    pub fn read<T>(&self, f: impl FnOnce(&dyn Tx, &Schema) -> Result<T>) -> Result<T> {
        self.store.read(|tx| f(tx, &self.schema))
    }

    /// Like [`Runtime::read`], without a snapshot: each statement sees the
    /// latest commit (see [`Store::read_each_with`](dossier_store::Store::read_each_with)).
    pub fn read_each<T>(&self, f: impl FnOnce(&dyn Tx, &Schema) -> Result<T>) -> Result<T> {
        self.store.read_each(|tx| f(tx, &self.schema))
    }

    /// Runs `f` inside one write transaction, joining the one this thread
    /// already has open. When the outermost one commits, queued after-save
    /// deliveries go out.
    pub fn transaction<T>(
        self: &Arc<Self>,
        label: &str,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        self.committed(self.store.write(label, |_| f()))
    }

    /// Runs `f` in a transaction that takes the write lock only if `f`
    /// writes (joining one this thread has open): for events that guard the
    /// writes their handlers may make. Commits or rolls back like
    /// [`Runtime::transaction`].
    pub fn guarded<T>(self: &Arc<Self>, label: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.committed(self.store.guard(label, |_| f()))
    }

    /// What a transaction returned; after a commit, queued after-save
    /// deliveries go out.
    fn committed<T>(self: &Arc<Self>, out: Result<T>) -> Result<T> {
        let out = out?;
        self.after_commit();
        Ok(out)
    }

    /// Notes that a write queued an after-save delivery, so the next outermost commit delivers.
    pub fn note_queued(&self) {
        self.outbox_queued.store(true, Ordering::Release);
    }

    /// After the outermost write commits: deliver after-save events.
    fn after_commit(self: &Arc<Self>) {
        if self.store.in_write() || !self.outbox_queued.swap(false, Ordering::AcqRel) {
            return;
        }
        if let Err(e) = self.deliver_outbox() {
            tracing::warn!("after-save delivery failed: {e}");
        }
    }
}

/// A root context for work the runtime starts itself (reminder passes,
/// outbox delivery): `system` at depth 0.
pub fn system(rt: &Arc<Runtime>) -> Ctx {
    Ctx::root(rt.clone(), crate::events::Actor::System)
}

//! The runtime below the facade: the store, the schema, the clock and the
//! handlers, and the operations every caller (the facade, handlers through
//! their [`Ctx`]) shares. Nothing here knows about `Host`.
//!
//! - `records.rs`: the write protocol of customers, cases, follow-ups and
//!   tasks, and their reads;
//! - `rules.rs`: the built-in checks a record passes before it is written,
//!   and again after hooks changed it.

mod agents;
mod faq;
mod records;
mod rules;

pub use agents::AgentChange;
pub(crate) use agents::viewer_in;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, SubsecRound, Utc};

use crate::clock::Clock;
use crate::config::Config;
use crate::events::{Ctx, Delivery, Pipeline};
use dossier_store::blobs::BlobStore;
use dossier_store::{Store, Tx};
use dossier_types::Result;
use dossier_types::schema::Schema;

/// Everything a host is made of; the facade holds it in an `Arc`.
pub(crate) struct Runtime {
    config: Config,
    schema: Schema,
    store: Box<dyn Store>,
    blobs: Box<dyn BlobStore>,
    clock: Arc<dyn Clock>,
    pipeline: Pipeline,
    /// Where notifications leave the host (the mail channel's SMTP), if
    /// anywhere.
    delivery: Option<Arc<dyn Delivery>>,
    /// Set when a write queued an after-save delivery, so that commits which
    /// queued nothing skip the outbox query. Failed deliveries wait for the
    /// next queued event or an explicit delivery (the `run` loop).
    outbox_queued: AtomicBool,
    /// The `[email]` rules compiled once (the case-number pattern).
    email: crate::email::thread::Rules,
    /// The chat routing cache and this process's subscribers.
    chats: crate::chat::Chats,
}

impl Runtime {
    pub(crate) fn new(
        config: Config,
        schema: Schema,
        store: Box<dyn Store>,
        blobs: Box<dyn BlobStore>,
        clock: Arc<dyn Clock>,
        pipeline: Pipeline,
        delivery: Option<Arc<dyn Delivery>>,
    ) -> Runtime {
        let config_email = config.email.clone();
        Runtime {
            chats: crate::chat::Chats::new(&config),
            config,
            schema,
            store,
            blobs,
            clock,
            pipeline,
            delivery,
            outbox_queued: AtomicBool::new(false),
            email: crate::email::thread::Rules::new(&config_email),
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn schema(&self) -> &Schema {
        &self.schema
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The compiled `[email]` rules.
    pub(crate) fn email_rules(&self) -> &crate::email::thread::Rules {
        &self.email
    }

    /// Where attachment bytes live.
    pub(crate) fn blobs(&self) -> &dyn BlobStore {
        self.blobs.as_ref()
    }

    pub(crate) fn chats(&self) -> &crate::chat::Chats {
        &self.chats
    }

    /// Where notifications leave the host, if anywhere.
    pub(crate) fn delivery(&self) -> Option<&Arc<dyn Delivery>> {
        self.delivery.as_ref()
    }

    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The host clock's time, truncated to microseconds, the precision the
    /// store keeps, so a record returned by a write equals it read back.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now().trunc_subsecs(6)
    }

    /// How many levels of hook-caused writes a chain may go.
    pub(crate) fn max_depth(&self) -> u32 {
        self.config.events.max_depth
    }

    /// Runs `f` on a reader (or the writer, inside a write) with the schema.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&dyn Tx, &Schema) -> Result<T>) -> Result<T> {
        self.store.read(|tx| f(tx, &self.schema))
    }

    /// Like [`Runtime::read`], without a snapshot: each statement sees the
    /// latest commit (see [`Store::read_each_with`](dossier_store::Store::read_each_with)).
    pub(crate) fn read_each<T>(&self, f: impl FnOnce(&dyn Tx, &Schema) -> Result<T>) -> Result<T> {
        self.store.read_each(|tx| f(tx, &self.schema))
    }

    /// Runs `f` inside one write transaction, joining the one this thread
    /// already has open. When the outermost one commits, queued after-save
    /// deliveries go out.
    pub(crate) fn transaction<T>(
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
    pub(crate) fn guarded<T>(
        self: &Arc<Self>,
        label: &str,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        self.committed(self.store.guard(label, |_| f()))
    }

    /// What a transaction returned; after a commit, queued after-save
    /// deliveries go out.
    fn committed<T>(self: &Arc<Self>, out: Result<T>) -> Result<T> {
        let out = out?;
        self.after_commit();
        Ok(out)
    }

    pub(crate) fn note_queued(&self) {
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
pub(crate) fn system(rt: &Arc<Runtime>) -> Ctx {
    Ctx::root(rt.clone(), crate::events::Actor::System)
}

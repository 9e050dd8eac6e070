//! # dossier-host
//!
//! The Dossier host runtime: the SQLite store of customers, cases,
//! follow-ups and tasks with admin-defined custom fields; the event pipeline
//! that runs admins' Rhai scripts and developers' native plugins; and the
//! [`Host`] facade that contact centres embed.
//!
//! ```no_run
//! use dossier_host::{Config, Host};
//! use dossier_sdk::{NewCase, NewCustomer};
//!
//! # fn main() -> Result<(), dossier_host::Error> {
//! let host = Host::open(Config::load("dossier.toml".as_ref())?)?;
//! let ada = host.create_customer(NewCustomer {
//!     account: "AC-000001".into(),
//!     name: "Ada Lovelace".into(),
//!     ..Default::default()
//! })?;
//! let case = host.open_case(NewCase::new(ada.id, "Jet scheduling problem"))?;
//! println!("opened case {}", case.number);
//! # Ok(())
//! # }
//! ```
//!
//! ## Features
//!
//! All on by default; an embedder picks what they carry with
//! `dossier-host = { version = "0.1", default-features = false, features = [...] }`.
//! Without any, the host keeps the store, records, agents, the FAQ base,
//! screen-pops, dispositions, notifications (checked and hooked, not sent)
//! and reminders.
//!
//! - `email`: the mail channel (inbound parsing and threading, drafts, QA
//!   review, signatures, sending through `[email.smtp]`).
//! - `chat`: the chat channel (queues, routing, offers, transcripts).
//! - `scripts`: the admin's Rhai scripts.
//! - `plugins`: native plugins.
//!
//! The `dossier` command line is its own crate, `dossier-cli`, on this
//! facade.
//!
//! A config that asks for what the build lacks (`[[plugins]]`, scripts in
//! `[scripts]`, `[email.smtp]`, `[chat.queues]`) is refused when the host
//! opens, naming the feature, rather than silently ignored.
//!
//! ## Logging
//!
//! Plugin log lines and script `print`/`debug` output are `tracing`
//! events (targets `dossier_host::plugin` and `dossier_host::script`). The
//! library installs no subscriber: an embedder installs its own, and the
//! `dossier` binary installs one on stderr filtered by `DOSSIER_LOG`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "chat")]
use dossier_chat as chat;
pub use dossier_core::{clock, config, time};
pub(crate) use dossier_core::{events, runtime};
#[cfg(feature = "email")]
use dossier_email as email;
use dossier_interact as interact;
#[cfg(feature = "plugins")]
use dossier_plugins as plugin;
#[cfg(feature = "scripts")]
use dossier_scripts as script;

#[cfg(test)]
mod config_props;
#[cfg(test)]
mod feature_tests;
mod host;
mod ops;
#[cfg(test)]
mod outbox_tests;
mod prelude;
#[cfg(test)]
mod store_tests;
mod typed;

#[cfg(feature = "chat")]
pub use chat::email_offers::EmailRouted;
#[cfg(feature = "chat")]
pub use chat::{
    AgentState, AgentStatus, Arrived, Chat, ChatFilter, ChatMessage, ChatPush, ChatState, ChatTick,
    Ended, LogCustomer, LogState, MAX_MESSAGE_CHARS, Offer, Returned, Routed, SavedLog, Sender,
    StateChange,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, HOOK_THREAD_STACK};
pub use dossier_core::runtime::credentials::{
    MintedToken, OpenSession, SessionSecrets, generate_password,
};
/// Creating files and folders readable by their owner only (`0600`,
/// `0700`), as everything Dossier writes is.
pub use dossier_store::files;
pub use dossier_store::{
    ApiToken, CaseFilter, EventScope, LogBounds, LoggedEvent, Page, SearchFilter, SearchHit,
    TaskFilter,
};
#[cfg(feature = "chat")]
pub use dossier_types::queues::{
    EmailOffer, EmailOfferState, Queue, QueueChannel, QueueMember, QueueSource,
};
pub use dossier_types::{Error, Result, schema};
#[cfg(feature = "email")]
pub use email::drafts::{CaseAfterDiscard, Discarded, DraftStart};
#[cfg(feature = "email")]
pub use email::signatures::insert_signature_once;
pub use events::{Actor, Ctx, DeliveryState, Handler, OutboxDelivery};
#[cfg(feature = "chat")]
pub use host::VisitorChat;
pub use host::{Host, HostBuilder, NotifyOutcome, PushedPop, Tick};
#[cfg(feature = "chat")]
pub use host::{HourBoard, QueueBoard, WALLBOARD_HOURS, Wallboard};
pub use interact::{Disposed, FiredReminder};
pub use ops::{
    BackupFile, Collected, DEFAULT_BATCH, ExportFormat, ExportKind, GC_GRACE, ImportReport,
    MANIFEST, Manifest, Progress, REJECT_COLUMNS, Reject, Restored, restore, verify,
};
pub use runtime::AgentChange;
#[cfg(feature = "scripts")]
pub use script::{DryRun, DryRunOutcome, ReloadReport, Scripts};
pub use typed::{closest, emails_from, phones_from};

/// What a tool shows of native plugin libraries before any host loads them:
/// `dossier plugin inspect` and `dossier plugin list`.
#[cfg(feature = "plugins")]
pub mod plugins {
    pub use dossier_plugins::{ConfiguredPlugin, HashStatus, PluginInfo, inspect, list};
}

/// The reference of what scripts can call, generated from the engine:
/// `dossier script docs`.
#[cfg(feature = "scripts")]
pub mod scripts {
    pub use dossier_scripts::{definitions, reference_markdown};
}

/// What the project's own tests and benchmarks reach below the public API.
/// Not part of it: anything here may change in any release.
#[doc(hidden)]
pub mod test_support {

    use dossier_sdk::Event;

    /// A time as the store writes it (fixed-width RFC 3339, microseconds),
    /// for benchmarks that write the same rows as the host.
    pub fn store_time(t: chrono::DateTime<chrono::Utc>) -> String {
        dossier_store::ts(t)
    }

    #[cfg(feature = "email")]
    /// What the host reads from a raw email: its headers, text and HTML,
    /// for benchmarks that write the same rows as ingest.
    pub fn parse_email(
        raw: &[u8],
    ) -> crate::Result<(dossier_sdk::EmailHeaders, String, Option<String>, String)> {
        let e = crate::email::parse::parse(raw, "bench")?;
        Ok((e.headers, e.text, e.html, e.key))
    }

    #[cfg(feature = "email")]
    /// Ingests `raw` as `Host::ingest_email` does, running `between` after
    /// its attachments were written to the blob store and before its write
    /// transaction: where a `gc` of another process may fall.
    pub fn ingest_with_pause(
        host: &crate::Host,
        raw: &[u8],
        between: impl FnOnce() -> crate::Result<()>,
    ) -> crate::Result<dossier_sdk::Ingested> {
        use crate::prelude::*;
        let rt = host.runtime();
        let mut email = crate::email::parse::parse(raw, "paused")?;
        rt.write_blobs(&mut email)?;
        between()?;
        rt.ingest_email(&crate::runtime::system(rt), &email)
    }

    #[cfg(feature = "email")]
    /// Ingests `count` raw messages as `Host::ingest_emails` does (parsed
    /// on a second thread, stored by this one), each as `arriving` hands it
    /// over: a test can hold one back and watch what the batch's writer
    /// does meanwhile.
    pub fn ingest_arriving(
        host: &crate::Host,
        count: usize,
        arriving: std::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Vec<crate::Result<dossier_sdk::Ingested>> {
        use crate::prelude::*;
        let rt = host.runtime();
        let ctx = crate::runtime::system(rt);
        std::thread::scope(|scope| {
            let (send, parsed) = std::sync::mpsc::channel();
            scope.spawn(move || {
                for raw in arriving {
                    let email = crate::email::parse::parse(&raw, "arriving").and_then(|mut e| {
                        rt.write_blobs(&mut e)?;
                        Ok(e)
                    });
                    if send.send(email).is_err() {
                        break;
                    }
                }
            });
            rt.ingest_batch(&ctx, count, &parsed)
        })
    }

    /// The longest `host`'s store held its write lock (from `BEGIN` to the
    /// end of `COMMIT` or `ROLLBACK` of one write transaction) since the
    /// last call: for benchmarks and tests of what other writers wait.
    pub fn take_longest_write(host: &crate::Host) -> std::time::Duration {
        host.runtime().store().take_longest_write()
    }

    /// Runs every handler of `host` on `event` with a root `system`
    /// context, outside any transaction, and returns the event as they left
    /// it: the handler calls alone, for benchmarks.
    pub fn fire(host: &crate::Host, mut event: Event) -> crate::Result<Event> {
        let mut ctx = crate::runtime::system(host.runtime());
        host.runtime().pipeline().run(&mut ctx, &mut event)?;
        Ok(event)
    }

    /// The one statement a screen-pop by phone runs (`?1` the E.164 number,
    /// `?2` the open-case limit, `?3` whether the viewer sees every private
    /// case, `?4` their login): for benchmarks whose raw side must run the
    /// very same reads.
    pub fn pop_by_phone_sql() -> &'static str {
        dossier_store::sqlite::POP_BY_PHONE_SQL.as_str()
    }

    /// The connection settings of `host`'s writer: `journal_mode`,
    /// `synchronous`, `foreign_keys`, `busy_timeout`, `temp_store`, `mmap_size`,
    /// as SQLite reports them.
    pub fn pragmas(host: &crate::Host) -> crate::Result<Vec<(String, String)>> {
        host.runtime()
            .store()
            .write("read pragmas", |tx| tx.settings())
    }

    /// Adds a note carrying one attachment to `case` the way email ingest
    /// stores one: in one write transaction, the bytes put in the blob
    /// store, the follow-up written, the reference recorded. For the tests
    /// of backups and `gc`, which need attachments without an email parser.
    pub fn attach(
        host: &crate::Host,
        case: dossier_sdk::CaseNumber,
        name: &str,
        bytes: &[u8],
    ) -> crate::Result<dossier_sdk::FollowUp> {
        let rt = host.runtime();
        rt.transaction("attach", || {
            let blob = rt.blobs().put(bytes)?;
            let ctx = crate::runtime::system(rt);
            let mut new = dossier_sdk::NewFollowUp::note(case, "system", "attached a file");
            new.attachments = vec![dossier_sdk::Attachment {
                name: name.to_owned(),
                content_type: "application/octet-stream".to_owned(),
                size: bytes.len() as u64,
                blob: Some(blob.clone()),
                refused: None,
                content_id: None,
            }];
            let f = rt.add_follow_up(&ctx, new)?;
            rt.store()
                .write("attach", |tx| tx.add_blob_ref(&blob, "follow_up", f.id.0))?;
            Ok(f)
        })
    }

    /// Puts `bytes` in `host`'s blob store with no row referencing them,
    /// as a write that rolled back after storing its attachment leaves
    /// them; returns the blob's id.
    pub fn put_blob(host: &crate::Host, bytes: &[u8]) -> crate::Result<String> {
        host.runtime().blobs().put(bytes)
    }

    /// The file of blob `id` in `host`'s blob folder.
    pub fn blob_path(host: &crate::Host, id: &str) -> Option<std::path::PathBuf> {
        let root = host.runtime().blobs().root()?;
        Some(root.join(&id[..2.min(id.len())]).join(id))
    }

    /// Every blob some row of `host`'s store references.
    pub fn referenced_blobs(host: &crate::Host) -> crate::Result<Vec<String>> {
        host.runtime().store().read(|tx| tx.referenced_blobs())
    }

    /// The statements the store runs in each write transaction before it
    /// commits, to index the records the write changed (triggers note them
    /// in `search_dirty`). A raw SQLite writer on a store's file runs them
    /// too, before its `COMMIT`, to leave the search index as the host would.
    pub const SEARCH_SYNC_SQL: [&str; 4] = dossier_store::SEARCH_SYNC_SQL;

    /// The statements a search runs (see `dossier_store::search_sql`):
    /// the match probe, the newest-first search, the visible-window probe
    /// and the ranked search.
    pub fn search_sql() -> [&'static str; 4] {
        dossier_store::search_sql()
    }

    /// See `dossier_store::SEARCH_RANKED_ALL`.
    pub const SEARCH_RANKED_ALL: u32 = dossier_store::SEARCH_RANKED_ALL;

    /// See `dossier_store::SEARCH_RANKED_AT_MOST`.
    pub const SEARCH_RANKED_AT_MOST: u32 = dossier_store::SEARCH_RANKED_AT_MOST;

    /// The statement an email queue's pick runs: queue `?1`, capacity
    /// `?2`, the member's login back.
    pub const EMAIL_PICK_SQL: &str = dossier_store::EMAIL_PICK_SQL;

    #[cfg(feature = "chat")]
    /// The chat routing index alone, for the routing-decision benchmark:
    /// built from a `[chat]` config, fed agents' rows, asked for a queue's
    /// next agent.
    pub struct ChatRouter(crate::chat::Router, i64);

    #[cfg(feature = "chat")]
    impl ChatRouter {
        /// An empty index of `config`'s queues and members.
        pub fn new(config: &crate::config::ChatConfig) -> ChatRouter {
            ChatRouter(crate::chat::Router::new(config), 0)
        }

        /// Takes in an agent's row: available or not, their load (active
        /// plus pending) and when they became idle.
        pub fn set(
            &mut self,
            login: &str,
            available: bool,
            load: u32,
            idle_since: chrono::DateTime<chrono::Utc>,
        ) {
            self.1 += 1;
            self.0.apply(&dossier_store::ChatAgentRow {
                login: login.to_owned(),
                state: if available {
                    crate::chat::AgentState::Available
                } else {
                    crate::chat::AgentState::Break
                },
                active: load,
                pending: 0,
                idle_since,
                state_since: idle_since,
                reason: None,
                rev: self.1,
            });
        }

        /// The agent the next chat of `queue` goes to.
        pub fn pick(&self, queue: &str) -> Option<&str> {
            self.0.pick(queue).map(|(login, _)| login)
        }
    }

    #[cfg(feature = "chat")]
    /// How many times `host`'s process has read the store's queues for
    /// chat routing, and how many times it has built its routing index
    /// from every agent's row: the tests check that neither grows with
    /// the number of changes one transaction makes.
    pub fn chat_cache_reads(host: &crate::Host) -> (u64, u64) {
        use crate::chat::ChatRuntime;
        let chats = host.runtime().chats();
        let rebuilds = chats.router.lock().rebuilds();
        (chats.view_reads(), rebuilds)
    }

    /// Calls `f` with a root `system` context of `host`, current on this
    /// thread as during a real event (so plugin callbacks reach it).
    pub fn with_ctx<R>(host: &crate::Host, f: impl FnOnce(&mut crate::Ctx) -> R) -> R {
        let mut ctx = crate::runtime::system(host.runtime());
        let _current = crate::events::context::enter(&ctx);
        f(&mut ctx)
    }
}

/// The guides' Rust blocks, compiled and run as doctests of this crate
/// (`cargo test --doc`), so that what docs/ shows builds as written.
#[cfg(doctest)]
pub mod guides {
    /// docs/embedding.md
    #[doc = include_str!("../../docs/embedding.md")]
    pub struct Embedding;

    /// docs/chat.md
    #[doc = include_str!("../../docs/chat.md")]
    pub struct Chat;
}

//! The store: what the host keeps, behind traits, so that the rest of the
//! host never sees SQL or a database type.
//!
//! - [`Store`] opens read snapshots and write transactions; a write made on
//!   a thread already inside one joins it (hooks writing during a guarded
//!   write), and only the outermost commits.
//! - [`Tx`] is what runs inside either: the typed operations on records,
//!   lookups, pages, the outbox and reminder claims, sdk types in and out.
//!   It is the union of one trait per table family.
//!
//! SQLite (`sqlite/`) is the one implementation; the only module with SQL.
//! ARCHITECTURE.md says what a second backend must provide.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod blobs;
mod chat;
mod credentials;
mod email;
mod events;
mod faq;
pub mod files;
mod queues;
pub mod sqlite;
pub mod wallboard;

pub use chat::{ChatAgentRow, ChatEnd, ChatTx};
pub use credentials::{ApiToken, CredentialTx, NewApiToken, SessionRow};
pub use email::{EmailTx, InboundRecord, NewHeldEmail, NewWorkbinItem};
pub use events::{EventLogTx, EventScope, LogBounds, LoggedEvent};
pub use faq::FaqTx;
pub use queues::QueueTx;
pub use wallboard::WallboardTx;

use chrono::{DateTime, SecondsFormat, Utc};
use dossier_sdk::{
    Agent, Case, CaseNumber, Customer, CustomerId, FollowUp, FollowUpId, Group, Permission, Task,
    TaskId, TaskStatus,
};

use dossier_types::schema::Schema;
use dossier_types::{Error, Result};

/// The statements that bring the search index up to date with the records
/// changed in a write, as the store runs them before each commit (the
/// benchmarks' raw side runs them too, so both do the same indexing).
pub const SEARCH_SYNC_SQL: [&str; 4] = sqlite::search_sync::SYNC;

/// The statement that picks the member an email is offered to (queue `?1`,
/// capacity `?2`), as the store runs it (the email-offer benchmark's raw
/// side runs it too).
pub const EMAIL_PICK_SQL: &str = sqlite::queues::EMAIL_PICK_SQL;

/// The statements a search runs, as the store prepares them (the search
/// benchmark's raw side runs them too): the match probe (`?1` the FTS5
/// expression, `?2` the offset from the newest match: whether the words
/// are too common to rank, where the window of the newest starts); the
/// newest matches first; the window of the newest matches the viewer may
/// see (`OFFSET ?9`); the ranked matches from rowid `?10` on. `?2` to `?8`
/// of the last three are the viewer and the filter, as `SearchTx::search`
/// binds them.
pub fn search_sql() -> [&'static str; 4] {
    [
        sqlite::search::MATCH_PROBE,
        sqlite::search::NEWEST.as_str(),
        sqlite::search::VISIBLE_WINDOW_PROBE.as_str(),
        sqlite::search::RANKED.as_str(),
    ]
}

/// A search ranks all its matches by bm25 when its words match at most
/// this many index rows; otherwise the newest this many.
pub const SEARCH_RANKED_ALL: u32 = sqlite::search::RANKED_ALL;

/// A search whose words match more index rows than this ranks nothing and
/// shows the newest matches first.
pub const SEARCH_RANKED_AT_MOST: u32 = sqlite::search::RANKED_AT_MOST;

/// Opens the store file at `path` and migrates it; see [`OpenOptions`].
pub fn open(path: &std::path::Path, options: OpenOptions) -> Result<Box<dyn Store>> {
    Ok(Box::new(sqlite::SqliteStore::open_with(
        path,
        options.create,
        options.readers,
    )?))
}

/// How [`open`] opens a store file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Create the file (and its folders) when it is missing. Off, a missing
    /// file is refused with [`Error::StoreMissing`]: a moved store or a
    /// misspelt path must not silently become a new empty store.
    pub create: bool,
    /// How many idle reader connections the store keeps open between
    /// reads (`[store] readers`); more reads at once open more, which close
    /// after.
    pub readers: usize,
}

impl Default for OpenOptions {
    /// An existing store, with [`sqlite::DEFAULT_READERS`] readers.
    fn default() -> Self {
        OpenOptions {
            create: false,
            readers: sqlite::DEFAULT_READERS,
        }
    }
}

/// Locks the store file at `target` (creating it if missing) for a restore:
/// refused while any other connection has it open. See
/// `sqlite/backup.rs` for how "in use" is told.
pub fn lock_for_restore(target: &std::path::Path) -> Result<RestoreLock> {
    sqlite::backup::lock_for_restore(target).map(RestoreLock)
}

/// The newest schema version this build reads and writes.
pub fn supported_schema_version() -> i64 {
    sqlite::backup::supported_schema_version()
}

/// The schema version of the backed-up database file at `path` (in the
/// backup folder `dir`, which errors name).
pub fn file_schema_version(path: &std::path::Path, dir: &std::path::Path) -> Result<i64> {
    sqlite::backup::file_schema_version(path, dir)
}

/// A store file held alone for a restore; dropping it releases the file.
pub struct RestoreLock(sqlite::backup::RestoreLock);

impl RestoreLock {
    /// Replaces the whole store with the database file at `source`, all or
    /// nothing.
    pub fn restore_from(
        self,
        source: &std::path::Path,
        progress: &mut dyn FnMut(BackupProgress),
    ) -> Result<()> {
        self.0.restore_from(source, progress)
    }
}

/// How far a backup or restore of the database has gone, in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupProgress {
    /// Pages copied so far.
    pub pages_done: u64,
    /// Pages in the whole database.
    pub pages_total: u64,
}

/// What a backup's snapshot held besides its pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The schema version of the copy.
    pub schema_version: i64,
    /// The blobs the copied rows reference.
    pub blobs: Vec<String>,
}

/// An empty store in memory.
pub fn in_memory() -> Result<Box<dyn Store>> {
    Ok(Box::new(sqlite::SqliteStore::in_memory()?))
}

/// Where records live: read snapshots and write transactions.
///
/// The object-safe core takes `FnMut` callbacks; use the generic
/// [`read`](dyn Store::read) and [`write`](dyn Store::write) on `dyn Store`.
pub trait Store: Send + Sync {
    /// Runs `f` on one consistent snapshot. On a thread inside a write, `f`
    /// runs in that write, so hooks see the transaction's own rows. Never
    /// waits for a writer.
    fn read_with(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()>;

    /// Like [`Store::read_with`], without a snapshot around `f`: each
    /// statement sees the latest commit. For reads that are one statement
    /// (a screen-pop by phone), which a snapshot would only slow down; a
    /// read of several statements that must agree uses `read_with`.
    fn read_each_with(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()>;

    /// Runs `f` in the write transaction: begins one, or joins the one this
    /// thread has open; the outermost call commits when `f` succeeds and
    /// rolls back when it fails. `label` names the write in errors.
    fn write_with(&self, label: &str, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()>;

    /// Like [`Store::write_with`], but the outermost call takes the write
    /// lock only when `f` first writes: an event that guards writes its
    /// handlers *may* make (a screen-pop with hooks) reads without waiting
    /// for other writers, and still rolls back what they wrote on a veto.
    fn guard_with(&self, label: &str, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()>;

    /// Whether this thread is inside [`Store::write_with`].
    fn in_write(&self) -> bool;

    /// The write transaction's epoch: it changes whenever an outermost
    /// write begins and whenever a savepoint rolls back, so that within one
    /// epoch nothing the transaction wrote has been undone. A cache of rows
    /// read inside a write (the chat queue view) is good for as long as the
    /// epoch and the rows' own change counter stay the same; a new
    /// transaction, or one that undid part of itself, reads them again.
    fn write_epoch(&self) -> u64;

    /// How many reader connections are open and idle now: at most the
    /// [`OpenOptions::readers`] the store was opened with (diagnostics).
    fn idle_readers(&self) -> usize {
        0
    }

    /// Runs `f` inside the write transaction this thread has open, so that
    /// if `f` fails only what `f` wrote is undone (a savepoint) and the
    /// transaction goes on; `f`'s error is returned. Outside a write it is
    /// refused. One bad row of an import rolls back alone this way.
    fn savepoint_with(&self, label: &str, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()>;

    /// Copies one consistent snapshot of the whole store into a new file at
    /// `dest` (which must not exist), while writers go on committing; calls
    /// `progress` after each step of the copy.
    fn backup_to(
        &self,
        dest: &std::path::Path,
        progress: &mut dyn FnMut(BackupProgress),
    ) -> Result<Snapshot>;

    /// How long a write (or read) waits for another process's lock before
    /// it fails with [`Error::StoreBusy`](dossier_types::Error::StoreBusy).
    fn set_busy_timeout(&self, timeout: std::time::Duration);

    /// A short pause between batches of a long pass of transactions (a
    /// reminder pass, a maildir run), outside any transaction, so that
    /// writers of other processes waiting for the lock get their turn; it
    /// pauses only when the pass has written for a while (50 ms for
    /// SQLite) since its last pause, so short batches do not idle after
    /// each one.
    fn yield_to_writers(&self);

    /// The longest any write transaction of this store held the write
    /// lock (from `BEGIN` to the end of its `COMMIT` or `ROLLBACK`) since
    /// the last call, which starts the count again: what another writer
    /// may have had to wait, for benchmarks and tests.
    fn take_longest_write(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// Runs the once-only closure `f` through one of the object-safe `*_with`
/// methods (`run`), which take an `FnMut`, and hands back its value.
fn once<T>(
    f: impl FnOnce(&dyn Tx) -> Result<T>,
    run: impl FnOnce(&mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()>,
) -> Result<T> {
    let mut f = Some(f);
    let mut out = None;
    run(&mut |tx| {
        let f = f.take().ok_or_else(ran_twice)?;
        out = Some(f(tx)?);
        Ok(())
    })?;
    out.ok_or_else(ran_twice)
}

impl dyn Store + '_ {
    /// [`Store::read_with`] for a closure that returns a value.
    pub fn read<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T>) -> Result<T> {
        once(f, |g| self.read_with(g))
    }

    /// [`Store::read_each_with`] for a closure that returns a value.
    pub fn read_each<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T>) -> Result<T> {
        once(f, |g| self.read_each_with(g))
    }

    /// [`Store::write_with`] for a closure that returns a value.
    pub fn write<T>(&self, label: &str, f: impl FnOnce(&dyn Tx) -> Result<T>) -> Result<T> {
        once(f, |g| self.write_with(label, g))
    }

    /// [`Store::savepoint_with`] for a closure that returns a value.
    pub fn savepoint<T>(&self, label: &str, f: impl FnOnce(&dyn Tx) -> Result<T>) -> Result<T> {
        once(f, |g| self.savepoint_with(label, g))
    }

    /// [`Store::guard_with`] for a closure that returns a value.
    pub fn guard<T>(&self, label: &str, f: impl FnOnce(&dyn Tx) -> Result<T>) -> Result<T> {
        once(f, |g| self.guard_with(label, g))
    }
}

fn ran_twice() -> Error {
    Error::Refused("internal error: a store callback ran twice or not at all".into())
}

/// Everything a transaction can do.
pub trait Tx:
    CustomerTx
    + CaseTx
    + FollowUpTx
    + TaskTx
    + LookupTx
    + OutboxTx
    + SchemaTx
    + AgentTx
    + SearchTx
    + EmailTx
    + FaqTx
    + ChatTx
    + QueueTx
    + CredentialTx
    + EventLogTx
    + WallboardTx
{
}

impl<T> Tx for T where
    T: CustomerTx
        + CaseTx
        + FollowUpTx
        + TaskTx
        + LookupTx
        + OutboxTx
        + SchemaTx
        + AgentTx
        + SearchTx
        + EmailTx
        + FaqTx
        + ChatTx
        + QueueTx
        + CredentialTx
        + EventLogTx
        + WallboardTx
{
}

/// Full-text search over cases, follow-ups and customers.
pub trait SearchTx {
    /// The best `limit` matches of `terms` (each a word the text must
    /// contain) that `viewer` may see, with `filter` applied: ranked by
    /// bm25 among all matches when there are at most
    /// [`SEARCH_RANKED_ALL`], among the newest [`SEARCH_RANKED_ALL`] when
    /// there are more (the newest the viewer may see and the filter keeps,
    /// when fewer than `limit` of those are), and newest first, unranked,
    /// when the words are in more than [`SEARCH_RANKED_AT_MOST`] index
    /// rows.
    fn search(
        &self,
        terms: &[String],
        filter: &SearchFilter,
        viewer: &Viewer,
        limit: u32,
    ) -> Result<Vec<SearchHit>>;
}

/// What a search is narrowed to. A case filter (status, owner, group)
/// leaves out customers, which are no case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// Only cases (and their follow-ups) in this status.
    pub status: Option<String>,
    /// Only this customer, their cases and follow-ups.
    pub customer: Option<CustomerId>,
    /// Only cases owned by this agent, and their follow-ups.
    pub owner: Option<String>,
    /// Only cases of this group, and their follow-ups.
    pub group: Option<String>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SearchHit {
    /// `case`, `follow_up` or `customer`.
    pub kind: String,
    /// The record's id (the case number for a case).
    pub id: i64,
    /// The case it is, or belongs to.
    pub case_number: Option<CaseNumber>,
    /// The customer it concerns.
    pub customer: Option<CustomerId>,
    /// The matching text around the terms, the terms in `[` `]`.
    pub snippet: String,
    /// bm25 relevance: lower is better; 0 when the search was too common
    /// to rank (newest first).
    pub rank: f64,
}

/// Agents and groups.
pub trait AgentTx {
    /// Writes a new agent and their group memberships; refused when the
    /// login is taken.
    fn insert_agent(&self, agent: &Agent) -> Result<()>;

    /// Replaces an agent's row and memberships.
    fn update_agent(&self, agent: &Agent) -> Result<()>;

    /// One agent by login.
    fn agent(&self, login: &str) -> Result<Option<Agent>>;

    /// Whether the agent with this login is enabled and holds
    /// `permission` (`None`: no such agent, or disabled): the check every
    /// operation an agent runs makes, without reading the whole agent.
    fn agent_holds(&self, login: &str, permission: Permission) -> Result<Option<bool>>;

    /// Every agent, by login.
    fn list_agents(&self) -> Result<Vec<Agent>>;

    /// How many agents exist (0 on a fresh store).
    fn count_agents(&self) -> Result<u64>;

    /// Writes a new group; refused when the name is taken.
    fn insert_group(&self, group: &Group) -> Result<()>;

    /// One group by name.
    fn group(&self, name: &str) -> Result<Option<Group>>;

    /// Every group, by name.
    fn list_groups(&self) -> Result<Vec<Group>>;

    /// The logins of a group's members, sorted.
    fn group_members(&self, name: &str) -> Result<Vec<String>>;
}

/// Customers: ids, rows, lookups and listings.
pub trait CustomerTx {
    /// The next customer id, allocated inside the write transaction so hooks see it.
    fn next_customer_id(&self) -> Result<CustomerId>;

    /// Inserts a new customer (id already allocated) with its phones and emails.
    fn insert_customer(&self, c: &Customer) -> Result<()>;

    /// Replaces a customer's row, phones and emails.
    fn update_customer(&self, c: &Customer) -> Result<()>;

    /// One customer by id.
    fn get_customer(&self, schema: &Schema, id: CustomerId) -> Result<Customer>;

    /// One customer by account number.
    fn customer_by_account(&self, schema: &Schema, account: &str) -> Result<Option<Customer>>;

    /// Customers matching every criterion, lowest id first, at most 100.
    fn find_customers(&self, schema: &Schema, criteria: &[Criterion]) -> Result<Vec<Customer>>;

    /// The query plan of the very statement [`find_customers`] runs for
    /// `criteria` (`EXPLAIN QUERY PLAN`), one line per step.
    fn find_customers_plan(&self, criteria: &[Criterion]) -> Result<String>;

    /// A page of customers, by id.
    fn list_customers(&self, schema: &Schema, page: Page) -> Result<Vec<Customer>>;

    /// Up to `limit` customers whose id is above `after`, by id: keyset
    /// pages, so walking the whole table (an export) costs one index seek
    /// per page however deep it is.
    fn customers_after(
        &self,
        schema: &Schema,
        after: CustomerId,
        limit: u32,
    ) -> Result<Vec<Customer>>;
}

/// Cases: numbers, rows, lookups and listings.
pub trait CaseTx {
    /// The next case number: sequential, allocated inside the write transaction.
    fn next_case_number(&self) -> Result<CaseNumber>;

    /// Inserts a new case; `is_open` is the status's open flag from config.
    fn insert_case(&self, c: &Case, is_open: bool) -> Result<()>;

    /// Replaces a case's row (its creation time, `?15`, is kept).
    fn update_case(&self, c: &Case, is_open: bool) -> Result<()>;

    /// One case by number.
    fn get_case(&self, schema: &Schema, number: CaseNumber) -> Result<Case>;

    /// Whether a case with this number exists.
    fn case_exists(&self, number: CaseNumber) -> Result<bool>;

    /// The case carrying this thread token.
    fn case_by_thread_token(&self, schema: &Schema, token: &str) -> Result<Option<Case>>;

    /// Cases matching `filter`, newest (highest number) first.
    fn list_cases(
        &self,
        schema: &Schema,
        filter: &CaseFilter,
        page: Page,
        viewer: &Viewer,
    ) -> Result<Vec<Case>>;

    /// Whether case `number` exists and `viewer` may see it.
    fn case_visible(&self, number: CaseNumber, viewer: &Viewer) -> Result<bool>;

    /// Up to `limit` cases `viewer` may see whose number is above `after`,
    /// by number (keyset pages, as [`CustomerTx::customers_after`]).
    fn cases_after(
        &self,
        schema: &Schema,
        after: CaseNumber,
        limit: u32,
        viewer: &Viewer,
    ) -> Result<Vec<Case>>;
}

/// Follow-ups: append-only rows and listings. There is no update or delete.
pub trait FollowUpTx {
    /// The next follow-up id, allocated inside the write transaction.
    fn next_follow_up_id(&self) -> Result<FollowUpId>;

    /// Inserts a follow-up.
    fn insert_follow_up(&self, f: &FollowUp) -> Result<()>;

    /// One follow-up by id.
    fn get_follow_up(&self, schema: &Schema, id: FollowUpId) -> Result<FollowUp>;

    /// The follow-up that recorded the email with this Message-ID.
    fn follow_up_by_message_id(
        &self,
        schema: &Schema,
        message_id: &str,
    ) -> Result<Option<FollowUp>>;

    /// The id, case and kind of the follow-up that recorded the email with
    /// this Message-ID, without reading the rest of it.
    fn message_follow_up(
        &self,
        message_id: &str,
    ) -> Result<Option<(FollowUpId, CaseNumber, dossier_sdk::FollowUpKind)>>;

    /// A page of a case's follow-ups, newest first.
    fn list_follow_ups(
        &self,
        schema: &Schema,
        case: CaseNumber,
        page: Page,
    ) -> Result<Vec<FollowUp>>;

    /// How many follow-ups a case has.
    fn count_follow_ups(&self, case: CaseNumber) -> Result<u64>;

    /// Up to `limit` follow-ups on cases `viewer` may see whose id is above
    /// `after`, by id (keyset pages, as [`CustomerTx::customers_after`]).
    fn follow_ups_after(
        &self,
        schema: &Schema,
        after: FollowUpId,
        limit: u32,
        viewer: &Viewer,
    ) -> Result<Vec<FollowUp>>;
}

/// Tasks and their reminders, including the reminder claim.
pub trait TaskTx {
    /// The next task id, allocated inside the write transaction.
    fn next_task_id(&self) -> Result<TaskId>;

    /// Inserts a task.
    fn insert_task(&self, t: &Task) -> Result<()>;

    /// Records that a task was planned by a hook at causal `depth`, after
    /// `chain`: its reminder continues that chain.
    fn set_task_origin(&self, id: TaskId, depth: u32, chain: &[String]) -> Result<()>;

    /// The causal depth and chain a task was planned at (0 and none for a
    /// task an agent or the CLI planned).
    fn task_origin(&self, id: TaskId) -> Result<(u32, Vec<String>)>;

    /// Replaces a task's row (its creation time, `?12`, is kept). Moving the
    /// reminder time re-arms the reminder.
    fn update_task(&self, t: &Task) -> Result<()>;

    /// One task by id.
    fn get_task(&self, schema: &Schema, id: TaskId) -> Result<Task>;

    /// Tasks matching `filter` that `viewer` may see (those of no case, and
    /// those of a case the viewer may see), soonest due first.
    fn list_tasks(
        &self,
        schema: &Schema,
        filter: &TaskFilter,
        page: Page,
        viewer: &Viewer,
    ) -> Result<Vec<Task>>;

    /// Ids of planned tasks whose reminder time is at or before `now` and has
    /// not fired, oldest first.
    fn due_reminder_ids(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<TaskId>>;

    /// Marks a task's reminder as fired. Returns false if it already had fired,
    /// or is no longer due at `now` (the task was done, cancelled or moved since
    /// it was listed): only the caller that gets `true` may act on the reminder,
    /// which makes firing exactly-once across processes sharing the file.
    fn claim_reminder(&self, id: TaskId, now: DateTime<Utc>) -> Result<bool>;
}

/// The narrow reads of screen-pop and the reminder loop: ids and briefs, no record decoding.
pub trait LookupTx {
    /// The id of the customer with this account number.
    fn customer_id_by_account(&self, account: &str) -> Result<Option<CustomerId>>;

    /// Ids of customers having this (lower-cased) email address, lowest first, at most 100.
    fn customer_ids_by_email(&self, address: &str) -> Result<Vec<CustomerId>>;

    /// A customer's account number and name, for the words of a pop's reason.
    fn customer_brief(&self, id: CustomerId) -> Result<Option<(String, String)>>;

    /// The customer a case belongs to and whether the case is open.
    fn case_owner(&self, number: CaseNumber, viewer: &Viewer)
    -> Result<Option<(CustomerId, bool)>>;

    /// A customer's open case numbers, newest first, at most `limit`
    /// (the `cases_customer` index answers it without touching the table).
    fn open_case_numbers(
        &self,
        customer: CustomerId,
        limit: u32,
        viewer: &Viewer,
    ) -> Result<Vec<CaseNumber>>;

    /// A screen-pop's reads by phone in one go: who the viewer is (for
    /// `Viewer::Agent`, whether they are enabled and hold
    /// `see_all_private`, read in the same statement), the customers having
    /// this (E.164) number and, when exactly one does, their account, name
    /// and open cases as [`LookupTx::customer_brief`] and
    /// [`LookupTx::open_case_numbers`] would return them for that viewer.
    fn pop_by_phone(&self, number: &str, limit: u32, viewer: &Viewer) -> Result<PhonePop>;

    /// How likely a customer is the one calling, when several share a number:
    /// whether they have an open case, when their cases last changed, when the
    /// customer last changed. Compared as a tuple, greater is likelier.
    fn candidate_rank(&self, id: CustomerId) -> Result<(bool, Option<String>, String)>;

    /// When the next unfired reminder of a planned task is due, if any.
    fn next_reminder_at(&self) -> Result<Option<DateTime<Utc>>>;

    /// How many reminders are due at `now` and not yet fired.
    fn count_due_reminders(&self, now: DateTime<Utc>) -> Result<u64>;
}

/// The outbox: entries, one delivery per (entry, handler), claims with leases.
pub trait OutboxTx {
    /// The id the next entry will get. Allocated inside the write transaction,
    /// so the idempotency key can contain it.
    fn outbox_next_id(&self) -> Result<i64>;

    /// Records an event with one delivery per handler key.
    #[allow(clippy::too_many_arguments)]
    fn outbox_enqueue(
        &self,
        id: i64,
        key: &str,
        event: &str,
        depth: u32,
        chain: &str,
        actor: &str,
        now: DateTime<Utc>,
        handlers: &[&str],
    ) -> Result<()>;

    /// Deliveries whose next attempt is due at `now` and that nobody holds
    /// a lease on (or whose lease ran out), oldest first.
    fn outbox_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DueDelivery>>;

    /// The claim contract, which every backend implements the same way: a
    /// delivery is taken by one holder at a time, until `lease_until`. The
    /// claim succeeds only when the delivery is due at `now`, neither
    /// delivered nor dead, and nobody's lease on it runs past `now`; it
    /// then records `holder` (a token new for each claim) and the lease.
    /// `None` when it is not claimable. A delivery still marked sending
    /// (an earlier holder reached [`OutboxTx::outbox_mark_sending`] and
    /// never recorded how it ended) is claimed as a possible duplicate,
    /// and counted.
    fn outbox_claim(
        &self,
        id: i64,
        holder: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Claimed>>;

    /// Extends `holder`'s lease to `lease_until`. False when `holder` holds
    /// it no more (someone claimed it after the lease ran out, or its
    /// outcome was recorded).
    fn outbox_renew(&self, id: i64, holder: &str, lease_until: DateTime<Utc>) -> Result<bool>;

    /// Records, just before the delivery hands its message over (SMTP
    /// DATA, a handler's call), that it is sending. False when `holder`
    /// does not hold the lease: it must not send.
    fn outbox_mark_sending(&self, id: i64, holder: &str, now: DateTime<Utc>) -> Result<bool>;

    /// Replaces a delivery to every handler (`*`, from before deliveries were
    /// kept per handler) by one delivery per handler key. Only by the
    /// lease's holder; false otherwise.
    fn outbox_expand(
        &self,
        id: i64,
        holder: &str,
        entry: i64,
        handlers: &[&str],
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// The entry a delivery belongs to.
    fn outbox_entry(&self, entry: i64) -> Result<Option<EntryRow>>;

    /// Marks a delivery done and ends the lease. Only by the lease's
    /// holder: false, and nothing written, otherwise.
    fn outbox_mark_delivered(&self, id: i64, holder: &str, now: DateTime<Utc>) -> Result<bool>;

    /// Records a failed attempt and when to try again, and ends the lease.
    /// `maybe_sent` keeps the sending mark (the outcome is unknown: the
    /// next attempt counts a possible duplicate); otherwise it is cleared.
    /// Only by the lease's holder: false, and nothing written, otherwise.
    fn outbox_mark_failed(&self, id: i64, holder: &str, failure: Failed<'_>) -> Result<bool>;

    /// Records a final failure and ends the lease: the delivery is never
    /// tried again unless an operator retries it. Only by the lease's
    /// holder: false, and nothing written, otherwise.
    fn outbox_mark_dead(
        &self,
        id: i64,
        holder: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// Undelivered deliveries (pending, failed, dead), oldest first.
    fn outbox_undelivered(&self, limit: u32) -> Result<Vec<DeliveryRow>>;

    /// Makes failed and dead deliveries due at `now` again: all of them, or the
    /// one with `id`. Returns how many.
    fn outbox_retry(&self, id: Option<i64>, now: DateTime<Utc>) -> Result<usize>;
}

/// Custom field bookkeeping, and what the backend reports about itself.
pub trait SchemaTx {
    /// Whether the stored definitions and indexes are exactly what
    /// [`sync_field_defs`] would write for `schema`: then opening the store
    /// needs no write at all, and a reader never waits for the write lock.
    fn field_defs_current(&self, schema: &Schema) -> Result<bool>;

    /// Compares `schema` with the definitions records were written under,
    /// refuses changes existing records cannot follow, then records the new
    /// definitions and creates the indexes of indexed fields.
    fn sync_field_defs(&self, schema: &Schema) -> Result<()>;

    /// The connection settings in force, as the backend reports them
    /// (for SQLite: `journal_mode`, `synchronous`, `foreign_keys`,
    /// `busy_timeout`).
    fn settings(&self) -> Result<Vec<(String, String)>>;
}

/// Which cases a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Only this customer's cases.
    pub customer: Option<CustomerId>,
    /// Only open (`Some(true)`) or closed (`Some(false)`) cases.
    pub open: Option<bool>,
    /// Only cases owned by this agent.
    pub owner: Option<String>,
    /// Only cases of this group.
    pub group: Option<String>,
    /// Only cases in this status.
    pub status: Option<String>,
    /// Only cases of this priority.
    pub priority: Option<String>,
}

/// Which tasks a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only tasks of this case.
    pub case: Option<CaseNumber>,
    /// Only tasks of this customer.
    pub customer: Option<CustomerId>,
    /// Only tasks assigned to this agent.
    pub assignee: Option<String>,
    /// Only tasks in this status.
    pub status: Option<TaskStatus>,
}

/// One condition of a customer search; all conditions of a search must hold.
#[derive(Debug, Clone)]
pub enum Criterion {
    /// A phone number, already in E.164.
    Phone(String),
    /// An email address, already lower-cased.
    Email(String),
    /// An exact account number.
    Account(String),
    /// A substring of the name, any case.
    Name(String),
    /// An indexed custom field equal to this plain-JSON value.
    Field(String, serde_json::Value),
}

/// A delivery whose attempt is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    /// The delivery's row id.
    pub id: i64,
    /// The outbox entry it delivers.
    pub entry: i64,
    /// The handler key it goes to.
    pub handler: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// What [`OutboxTx::outbox_claim`] took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimed {
    /// An earlier attempt reached the point of sending and never recorded
    /// how it ended (its process died, or the reply was lost): the message
    /// may already have gone out, and this attempt may send it twice.
    pub possible_duplicate: bool,
}

/// A failed attempt, as [`OutboxTx::outbox_mark_failed`] records it.
#[derive(Debug, Clone, Copy)]
pub struct Failed<'a> {
    /// Why it failed.
    pub error: &'a str,
    /// When to try again.
    pub retry_at: DateTime<Utc>,
    /// Whether the message may have gone out anyway (no reply to SMTP's
    /// final dot): the sending mark stays, and the retry counts a
    /// possible duplicate.
    pub maybe_sent: bool,
}

/// An outbox entry: the event and where its chain stood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRow {
    /// The entry's idempotency key.
    pub key: String,
    /// The event, as JSON.
    pub event: String,
    /// The causal depth of the write that queued it.
    pub depth: u32,
    /// The causal chain of that write, as a JSON array.
    pub chain: String,
    /// Who made that write, as JSON.
    pub actor: String,
}

/// One delivery as `dossier outbox list` shows it (the raw columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// The delivery's row id.
    pub id: i64,
    /// The outbox entry it delivers.
    pub entry: i64,
    /// The handler key it goes to.
    pub handler: String,
    /// The entry's idempotency key.
    pub key: String,
    /// The event, as JSON.
    pub event: String,
    /// The causal depth of the write that queued it.
    pub depth: u32,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTime<Utc>,
    /// When it was delivered, if it was.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was given up, if it was.
    pub dead_at: Option<DateTime<Utc>>,
    /// The last attempt's failure.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When an attempt last reached the point of sending without recording
    /// how it ended, if one did.
    pub sending_at: Option<DateTime<Utc>>,
    /// Until when someone holds a lease on it, if anyone does or did.
    pub lease_until: Option<DateTime<Utc>>,
    /// How many attempts were made after one that may have sent it.
    pub possible_duplicates: u32,
}

/// What [`LookupTx::pop_by_phone`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhonePop {
    /// Whose eyes the pop is for, as the store resolved it: `All` for one
    /// who sees every case, `Agent` otherwise; `None` when the agent is
    /// unknown or disabled (and nothing else was read).
    pub viewer: Option<Viewer>,
    /// The customers having the number, lowest id first, at most 100.
    pub customers: Vec<CustomerId>,
    /// When exactly one customer has it: their account number, name and
    /// open case numbers (newest first, those the viewer may see).
    pub only: Option<(String, String, Vec<CaseNumber>)>,
}

/// Whose eyes a read is for: which private cases it may return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// Every case (`system`, holders of `see_all_private`, the host's own
    /// internal reads).
    All,
    /// Public cases, and private ones this agent owns or whose group the
    /// agent is in.
    Agent(String),
}

impl Viewer {
    /// The SQL parameters of the visibility condition: (sees all, login).
    pub fn params(&self) -> (bool, Option<&str>) {
        match self {
            Viewer::All => (true, None),
            Viewer::Agent(login) => (false, Some(login)),
        }
    }
}

/// A page of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: u32,
    /// Rows to return at most.
    pub limit: u32,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            offset: 0,
            limit: 50,
        }
    }
}

impl Page {
    /// Page `number` (1-based) of `size` rows.
    pub fn number(number: u32, size: u32) -> Page {
        Page {
            offset: number.saturating_sub(1).saturating_mul(size),
            limit: size,
        }
    }
}

/// Formats a time the way the store keeps it: fixed width, so text order is time order.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads a time written by [`ts`].
pub fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Corrupt(format!("timestamp `{s}`: {e}")))
}

/// Decodes a JSON column.
pub fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::Corrupt(format!("{what}: {e}")))
}

/// Encodes a JSON column.
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serializing plain data structs to a String cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

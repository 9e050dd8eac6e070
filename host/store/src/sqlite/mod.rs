//! The SQLite store, the one implementation of the store traits. All SQL in
//! Dossier lives below this module.
//!
//! One writer connection behind a re-entrant lock, so that hooks running
//! inside a write (on the same thread) read and write through the same
//! transaction; a small pool of reader connections for everyone else (WAL
//! lets them read while the writer writes).

mod agents;
pub mod backup;
mod cases;
mod chat;
mod credentials;
mod customers;
mod email;
mod events;
mod faq;
mod fields;
mod follow_ups;
mod interactions;
mod migrations;
mod outbox;
pub mod queues;
pub mod search;
pub mod search_sync;
mod tasks;
#[cfg(test)]
pub(crate) mod testing;
mod wallboard;

pub use interactions::POP_BY_PHONE as POP_BY_PHONE_SQL;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, ReentrantMutex};
use rusqlite::{Connection, OpenFlags};

use super::{Store, Tx};
use dossier_types::{Error, Result};

/// A transaction (read or write) on one connection: what implements the
/// store's [`Tx`] traits. The connection's statement cache keeps every
/// statement prepared, so a hot path parses its SQL once per connection.
pub struct SqliteTx<'c> {
    conn: &'c Connection,
    /// The ids this write transaction handed out (none on a reader).
    ids: Option<&'c Reserved>,
}

impl<'c> SqliteTx<'c> {
    /// A transaction on `conn` that allocates no ids (reads, and tests).
    pub(crate) fn on(conn: &'c Connection) -> SqliteTx<'c> {
        SqliteTx { conn, ids: None }
    }

    /// The id after both `next` (the table's highest id plus one) and the
    /// last one this transaction gave out for `kind`, recorded as given
    /// out: a hook that adds a record of the kind being saved, before the
    /// record it saves is inserted, gets the id after it instead of the same.
    fn allocate(&self, kind: IdKind, next: i64) -> i64 {
        match self.ids {
            None => next,
            Some(reserved) => {
                let cell = &reserved.0[kind as usize];
                let id = next.max(cell.get() + 1);
                cell.set(id);
                id
            }
        }
    }
}

/// The kinds of record whose id (or number) the store allocates.
#[derive(Clone, Copy)]
pub(crate) enum IdKind {
    Customer = 0,
    Case = 1,
    FollowUp = 2,
    Task = 3,
}

/// The last id of each [`IdKind`] given out in the open write transaction;
/// forgotten when it ends.
#[derive(Default)]
pub(crate) struct Reserved([Cell<i64>; 4]);

impl Reserved {
    fn clear(&self) {
        for cell in &self.0 {
            cell.set(0);
        }
    }
}

/// How many prepared statements each connection keeps. More than the store
/// has distinct statements, so none is ever evicted and re-parsed.
const STATEMENT_CACHE: usize = 256;

/// How many `write` calls may nest on one thread. A backstop only: causal
/// depth (`[events] max_depth`, checked by `Ctx`) stops hook chains long
/// before, and with a clearer error.
const MAX_WRITE_NESTING: usize = 256;

struct Writer {
    conn: Connection,
    /// The ids the open write transaction handed out.
    ids: Reserved,
    /// How many `write` calls are active on this connection (on the owning thread).
    depth: Cell<usize>,
}

/// The database: see the module docs.
pub struct SqliteStore {
    writer: ReentrantMutex<Writer>,
    readers: Mutex<Vec<Connection>>,
    /// How many idle reader connections `readers` keeps (`[store] readers`).
    keep_readers: usize,
    /// `None` for an in-memory store, whose readers all go through the writer.
    path: Option<PathBuf>,
    /// How long a statement waits for another process's lock, in ms.
    busy_ms: AtomicU64,
    /// `Store::write_epoch`: moved on by the writing thread at every
    /// outermost begin and every rollback to a savepoint.
    epoch: AtomicU64,
    /// The longest an outermost write held the write lock since
    /// [`Store::take_longest_write`] last read it, in ns.
    longest_write_ns: AtomicU64,
    /// When the current stretch of writing without a pause began, and when
    /// [`Store::yield_to_writers`] was last called.
    yields: Mutex<Option<(Instant, Instant)>>,
}

/// How many idle reader connections a store keeps unless told otherwise.
pub const DEFAULT_READERS: usize = 4;

fn configure(conn: &mut Connection) -> Result<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // The query planner stability guarantee: a statement's plan does not
    // depend on the values bound to it. Without it SQLite marks parameters
    // compared against a partial index's condition (`cases_owner`) or used
    // in `LIMIT` as "re-plan when rebound", and rusqlite's statement cache
    // clears every binding when a statement goes back to the cache: every
    // reuse of such a statement was parsed and planned again.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(db)?;
    conn.busy_handler(Some(wait_for_lock)).map_err(db)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(db)?;
    // Statement journals (one per savepoint: an imported row, a statement
    // whose triggers write), sorts and temporary indexes in memory: with
    // the default they spill to files in /var/tmp, and an import spent most
    // of its time writing them.
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(db)?;
    // Read the file through a memory map instead of copying every page a
    // read touches out of the OS cache: a screen-pop on a store larger than
    // SQLite's page cache spent 40% of its time in those copies. WAL frames
    // are still read the ordinary way; writes do not go through the map.
    conn.pragma_update(None, "mmap_size", MMAP_SIZE)
        .map_err(db)?;
    Ok(())
}

/// How long a statement waits for a lock another process holds unless the
/// store was told otherwise ([`Store::set_busy_timeout`]).
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a statement waiting for a lock looks again. SQLite's own busy
/// timeout looks every 100 ms once it has waited a while: a writer taking
/// one short transaction after another (a reminder pass) is almost never
/// seen between two, and the others time out. Looking every millisecond,
/// they get in during the pauses long passes make ([`Store::yield_to_writers`]).
const LOCK_POLL: Duration = Duration::from_millis(1);

/// The pause a long pass makes between batches of transactions.
const YIELD: Duration = Duration::from_millis(3);

/// How long a pass writes between two pauses ([`Store::yield_to_writers`]
/// pauses only once this long has gone by since the last): a writer of
/// another process waits about this long (plus a batch) for its turn, and
/// a pass of short batches (a maildir run, 4 ms a batch) idles 3 ms in 53,
/// not in every 7.
const YIELD_EVERY: Duration = Duration::from_millis(50);

thread_local! {
    /// How long statements on this thread wait for a lock (set by the
    /// store each write and read runs on), and since when the one waiting
    /// now has waited.
    static LOCK_WAIT: Cell<(Duration, Option<Instant>)> =
        const { Cell::new((DEFAULT_BUSY_TIMEOUT, None)) };
}

/// SQLite's busy handler on every connection: `attempt` counts from 0 for
/// each lock a statement waits for; true to look again.
fn wait_for_lock(attempt: i32) -> bool {
    LOCK_WAIT.with(|wait| {
        let (limit, since) = wait.get();
        let since = match since {
            Some(since) if attempt > 0 => since,
            _ => {
                let now = Instant::now();
                wait.set((limit, Some(now)));
                now
            }
        };
        if since.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(LOCK_POLL);
        true
    })
}

/// How long statements on this thread wait for a lock.
pub(crate) fn lock_wait() -> Duration {
    LOCK_WAIT.with(|wait| wait.get().0)
}

fn set_lock_wait(limit: Duration) {
    LOCK_WAIT.with(|wait| wait.set((limit, None)));
}

/// The largest part of the database file a connection maps (1 GiB on
/// 64-bit hosts; SQLite caps it at its compile-time maximum).
const MMAP_SIZE: i64 = 1 << 30;

/// Refuses a file that cannot be a store before SQLite touches it, and
/// creates a missing one readable by its owner only (the WAL and shared
/// memory files SQLite makes beside it take the same mode).
pub fn check_file(path: &Path) -> Result<()> {
    let not_a_store = |reason: &str| Error::NotAStore {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() == 0 => Err(not_a_store(
            "the file is empty (0 bytes); remove it and run `dossier init` to create a new store there",
        )),
        Ok(meta) if meta.is_dir() => Err(not_a_store("it is a directory")),
        Ok(_) => {
            use std::io::Read;
            let mut header = [0u8; 16];
            // A file shorter than the header is no database either.
            let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut header));
            match read {
                Ok(()) if &header == b"SQLite format 3\0" => Ok(()),
                _ => Err(not_a_store(
                    "it is not a SQLite database; point [store] path at a new file",
                )),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::files::create(path, crate::files::Existing::Refuse).map(drop)
        }
        Err(source) => Err(Error::Io {
            what: "cannot read",
            path: path.to_owned(),
            source,
        }),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it,
    /// keeping [`DEFAULT_READERS`] idle readers.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        SqliteStore::open_with(path, true, DEFAULT_READERS)
    }

    /// Opens the database at `path` and migrates it, keeping up to
    /// `readers` idle reader connections. A missing file is created when
    /// `create`, refused with [`Error::StoreMissing`] otherwise.
    pub fn open_with(path: &Path, create: bool, readers: usize) -> Result<SqliteStore> {
        if !create
            && let Err(e) = std::fs::metadata(path)
            && e.kind() == std::io::ErrorKind::NotFound
        {
            return Err(Error::StoreMissing {
                path: path.to_owned(),
            });
        }
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            crate::files::create_dir_all(dir)?;
        }
        check_file(path)?;
        let conn = Connection::open(path).map_err(db)?;
        let (version, tables): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT user_version FROM pragma_user_version),
                    (SELECT count(*) FROM sqlite_master)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db)?;
        if version == 0 && tables > 0 {
            return Err(Error::NotAStore {
                path: path.to_owned(),
                reason: format!(
                    "it is a SQLite database with {tables} objects of another program's; \
                     point [store] path at a new file"
                ),
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        let mut store = SqliteStore::with_writer(conn, Some(path.to_owned()))?;
        store.keep_readers = readers;
        Ok(store)
    }

    /// An empty in-memory database.
    pub fn in_memory() -> Result<SqliteStore> {
        SqliteStore::with_writer(Connection::open_in_memory().map_err(db)?, None)
    }

    fn with_writer(mut conn: Connection, path: Option<PathBuf>) -> Result<SqliteStore> {
        configure(&mut conn)?;
        migrations::run(&conn)?;
        Ok(SqliteStore {
            writer: ReentrantMutex::new(Writer {
                ids: Reserved::default(),
                conn,
                depth: Cell::new(0),
            }),
            readers: Mutex::new(Vec::new()),
            keep_readers: DEFAULT_READERS,
            path,
            busy_ms: AtomicU64::new(
                u64::try_from(DEFAULT_BUSY_TIMEOUT.as_millis()).unwrap_or(u64::MAX),
            ),
            epoch: AtomicU64::new(0),
            longest_write_ns: AtomicU64::new(0),
            yields: Mutex::new(None),
        })
    }

    /// Runs `f` in the write transaction. A call made while this thread is
    /// already inside one joins the outer transaction: it commits or rolls
    /// back with it. The outermost call begins it with `begin` (`BEGIN
    /// IMMEDIATE` takes the write lock at once, `BEGIN DEFERRED` at the
    /// first write). `label` names the write in errors.
    fn write_as<T>(
        &self,
        label: &str,
        begin: &str,
        f: impl FnOnce(&SqliteTx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.arm_lock_wait();
        let writer = self.writer.lock();
        let depth = writer.depth.get();
        if depth > MAX_WRITE_NESTING {
            return Err(Error::Refused(format!(
                "{label}: writes nested more than {MAX_WRITE_NESTING} deep"
            )));
        }
        let began = Instant::now();
        if depth == 0 {
            exec_cached(&writer.conn, begin)?;
            self.epoch.fetch_add(1, Ordering::AcqRel);
        }
        writer.enter();
        let guard = DepthGuard {
            writer: &writer,
            outer: depth == 0,
            finished: false,
            began,
            longest_ns: &self.longest_write_ns,
        };
        let result = f(&SqliteTx {
            conn: &writer.conn,
            ids: Some(&writer.ids),
        });
        guard.finish(result.is_ok())?;
        result
    }

    /// Makes statements on this thread wait as long as this store says.
    fn arm_lock_wait(&self) {
        set_lock_wait(Duration::from_millis(self.busy_ms.load(Ordering::Relaxed)));
    }

    /// How many reader connections are open and idle now: at most the
    /// `readers` the store was opened with.
    pub fn idle_readers(&self) -> usize {
        self.readers.lock().len()
    }

    /// Whether the current thread is inside [`SqliteStore::write_as`].
    pub fn in_write(&self) -> bool {
        self.writer.is_owned_by_current_thread()
    }

    /// Runs `f` on a reader connection, or on the writer when this thread is
    /// inside a write (so hooks see the transaction's uncommitted rows).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.read_on_reader(true, f)
    }

    /// Runs `f` on a reader connection (or the writer, as [`Self::read`]),
    /// inside one read transaction when `snapshot`, each statement on its
    /// own otherwise.
    fn read_on_reader<T>(
        &self,
        snapshot: bool,
        f: impl FnOnce(&Connection) -> Result<T>,
    ) -> Result<T> {
        self.arm_lock_wait();
        let path = match &self.path {
            Some(path) if !self.in_write() => path,
            _ => {
                let writer = self.writer.lock();
                return f(&writer.conn);
            }
        };
        let pooled = self.readers.lock().pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let mut conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(db)?;
                configure(&mut conn)?;
                conn
            }
        };
        // One read transaction per call: a record read in several statements
        // comes from one snapshot, even while the writer commits.
        let result = if snapshot {
            exec_cached(&conn, "BEGIN").and_then(|()| {
                let result = f(&conn);
                exec_cached(&conn, "COMMIT").and(result)
            })
        } else {
            f(&conn)
        };
        let mut pool = self.readers.lock();
        // A connection left inside a transaction would pin an old snapshot.
        if pool.len() < self.keep_readers && conn.is_autocommit() {
            pool.push(conn);
        }
        result
    }
}

impl Store for SqliteStore {
    fn read_with(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        self.read(|conn| f(&SqliteTx::on(conn)))
    }

    fn read_each_with(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        self.read_on_reader(false, |conn| f(&SqliteTx::on(conn)))
    }

    fn write_with(&self, label: &str, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        self.write_as(label, "BEGIN IMMEDIATE", |tx| f(tx))
    }

    fn guard_with(&self, label: &str, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        self.write_as(label, "BEGIN DEFERRED", |tx| f(tx))
    }

    fn in_write(&self) -> bool {
        SqliteStore::in_write(self)
    }

    fn write_epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn set_busy_timeout(&self, timeout: Duration) {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.busy_ms.store(ms, Ordering::Relaxed);
    }

    fn take_longest_write(&self) -> Duration {
        Duration::from_nanos(self.longest_write_ns.swap(0, Ordering::Relaxed))
    }

    fn yield_to_writers(&self) {
        if self.path.is_none() || self.in_write() {
            return;
        }
        let now = Instant::now();
        let mut yields = self.yields.lock();
        let stretch = match *yields {
            // Called again soon: the same pass, writing on.
            Some((stretch, last)) if now.duration_since(last) <= YIELD_EVERY => stretch,
            // A new pass: the gap before it let others in.
            _ => now,
        };
        if now.duration_since(stretch) < YIELD_EVERY {
            *yields = Some((stretch, now));
            return;
        }
        drop(yields);
        std::thread::sleep(YIELD);
        let after = Instant::now();
        *self.yields.lock() = Some((after, after));
    }

    fn idle_readers(&self) -> usize {
        SqliteStore::idle_readers(self)
    }

    fn savepoint_with(&self, label: &str, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        let writer = self.writer.lock();
        if writer.depth.get() == 0 {
            return Err(Error::Refused(format!(
                "internal error: {label} asked for a savepoint outside a write"
            )));
        }
        exec_cached(&writer.conn, "SAVEPOINT row")?;
        let result = f(&SqliteTx {
            conn: &writer.conn,
            ids: Some(&writer.ids),
        });
        if result.is_err() {
            // What the transaction wrote inside `f` is undone: caches of
            // rows read since (`write_epoch`) must not outlive it.
            self.epoch.fetch_add(1, Ordering::AcqRel);
            exec_cached(&writer.conn, "ROLLBACK TO row")?;
        }
        exec_cached(&writer.conn, "RELEASE row")?;
        result
    }

    fn backup_to(
        &self,
        dest: &Path,
        progress: &mut dyn FnMut(super::BackupProgress),
    ) -> Result<super::Snapshot> {
        if self.in_write() {
            return Err(Error::Refused(
                "a backup cannot run inside a write transaction".into(),
            ));
        }
        self.backup_file(dest, progress)
    }
}

/// A database failure as the host reports it: the database's own message.
/// Every rusqlite error leaves the backend through here.
pub(crate) fn db(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Error::StoreBusy {
                waited_ms: u64::try_from(lock_wait().as_millis()).unwrap_or(u64::MAX),
            }
        }
        _ => Error::Db(e.to_string()),
    }
}

/// Ends a `write` call: commits or rolls back the outermost one, and rolls
/// back if the closure panicked.
struct DepthGuard<'a> {
    writer: &'a Writer,
    outer: bool,
    finished: bool,
    /// When the outermost write began (`BEGIN`).
    began: Instant,
    /// Where the longest hold of the write lock is kept.
    longest_ns: &'a AtomicU64,
}

impl DepthGuard<'_> {
    fn finish(mut self, ok: bool) -> Result<()> {
        self.finished = true;
        if self.outer {
            if ok {
                // The search index is written once per transaction, for
                // every record it changed (`search_sync.rs`).
                let committed = search_sync::sync(&self.writer.conn)
                    .and_then(|()| exec_cached(&self.writer.conn, "COMMIT"));
                if let Err(e) = committed {
                    let _ = self.writer.conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            } else {
                exec_cached(&self.writer.conn, "ROLLBACK")?;
            }
        }
        Ok(())
    }
}

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        if !self.finished && self.outer {
            // The closure panicked: leave no transaction open behind it.
            let _ = self.writer.conn.execute_batch("ROLLBACK");
        }
        if self.outer {
            self.writer.ids.clear();
            // From `BEGIN` to the end of `COMMIT` or `ROLLBACK`: how long
            // other writers were kept waiting (for a deferred begin, an
            // upper bound: the lock is taken at the first write).
            let held = u64::try_from(self.began.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.longest_ns.fetch_max(held, Ordering::Relaxed);
        }
        let depth = self.writer.depth.get();
        self.writer.depth.set(depth.saturating_sub(1));
    }
}

impl Writer {
    fn enter(&self) {
        self.depth.set(self.depth.get() + 1);
    }
}

/// Runs a parameterless statement through the connection's statement cache,
/// so hot paths (BEGIN, COMMIT) are parsed once per connection.
fn exec_cached(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)
        .map_err(db)?
        .execute([])
        .map_err(db)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use dossier_sdk::{CaseNumber, CustomerId};
    use rusqlite::StatementStatus;

    use super::*;
    use crate::{LookupTx, PhonePop, Viewer};

    #[test]
    fn a_cached_statement_is_not_planned_again_when_it_is_reused() {
        let store = SqliteStore::in_memory().expect("store");
        store
            .write_as("rows", "BEGIN IMMEDIATE", |tx| {
                let conn = tx.conn;
                conn.execute_batch(
                    "INSERT INTO customers (id, account, name, created_at, updated_at)
                         VALUES (1, 'AC-1', 'Ada', 't', 't');
                     INSERT INTO cases (number, customer_id, subject, description, status, is_open,
                         visibility, severity, priority, created_at, updated_at)
                         VALUES (1, 1, 's', '', 'open', 1, 'public', 'minor', 'normal', 't', 't');",
                )
                .map_err(db)?;
                Ok(())
            })
            .expect("rows");
        store
            .write_as("reads", "BEGIN IMMEDIATE", |tx| {
                let conn = tx.conn;
                let tx = SqliteTx::on(conn);
                for limit in [20, 20, 5, 20] {
                    assert_eq!(
                        tx.open_case_numbers(CustomerId(1), limit, &Viewer::All)?
                            .len(),
                        1
                    );
                }
                // `LIMIT ?2` and the partial index on `cases.owner` used to
                // make SQLite re-plan this statement whenever rusqlite's
                // cache cleared its bindings.
                let stmt = conn
                    .prepare_cached(&interactions::OPEN_CASE_NUMBERS)
                    .map_err(db)?;
                assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
                Ok(())
            })
            .expect("reads");
    }

    #[test]
    fn a_pop_by_phone_reads_the_only_customer_and_their_visible_open_cases_at_once() {
        let store = SqliteStore::in_memory().expect("store");
        store
            .write_as("rows", "BEGIN IMMEDIATE", |tx| {
                let conn = tx.conn;
                conn.execute_batch(
                    "INSERT INTO customers (id, account, name, created_at, updated_at) VALUES
                         (1, 'AC-1', 'Ada', 't', 't'), (2, 'AC-2', 'Bob', 't', 't'),
                         (3, 'AC-3', 'Cy', 't', 't');
                     INSERT INTO customer_phones (customer_id, position, label, number) VALUES
                         (1, 0, 'home', '+331'), (1, 1, 'work', '+331'),
                         (2, 0, 'home', '+332'), (3, 0, 'home', '+332');
                     INSERT INTO cases (number, customer_id, subject, description, status, is_open,
                         visibility, severity, priority, owner, created_at, updated_at) VALUES
                         (1, 1, 's', '', 'open', 1, 'public', 'minor', 'normal', NULL, 't', 't'),
                         (2, 1, 's', '', 'closed', 0, 'public', 'minor', 'normal', NULL, 't', 't'),
                         (3, 1, 's', '', 'open', 1, 'private', 'minor', 'normal', 'ann', 't', 't'),
                         (4, 1, 's', '', 'open', 1, 'public', 'minor', 'normal', NULL, 't', 't'),
                         (5, 2, 's', '', 'open', 1, 'public', 'minor', 'normal', NULL, 't', 't');
                     INSERT INTO agents (login, display_name, role, overrides, disabled,
                                         created_at, updated_at) VALUES
                         ('bob', 'Bob', 'agent', '{}', 0, 't', 't'),
                         ('sue', 'Sue', 'supervisor', '{}', 0, 't', 't'),
                         ('sam', 'Sam', 'supervisor', '{\"see_all_private\": false}', 0, 't', 't'),
                         ('amy', 'Amy', 'agent', '{\"see_all_private\": true}', 0, 't', 't'),
                         ('old', 'Old', 'admin', '{}', 1, 't', 't');",
                )
                .map_err(db)?;
                Ok(())
            })
            .expect("rows");
        store
            .write_as("reads", "BEGIN IMMEDIATE", |tx| {
                let conn = tx.conn;
                let tx = SqliteTx::on(conn);
                let ada = |viewer: Viewer, open: &[i64]| PhonePop {
                    viewer: Some(viewer),
                    customers: vec![CustomerId(1)],
                    only: Some((
                        "AC-1".into(),
                        "Ada".into(),
                        open.iter().copied().map(CaseNumber).collect(),
                    )),
                };
                // Ada holds the number twice; she is one customer.
                let all = || Viewer::All;
                let agent = |login: &str| Viewer::Agent(login.into());
                assert_eq!(tx.pop_by_phone("+331", 20, &all())?, ada(all(), &[4, 3, 1]));
                assert_eq!(tx.pop_by_phone("+331", 2, &all())?, ada(all(), &[4, 3]));
                // The agent's permission is read in the same statement: by
                // role, or an admin's override either way.
                for (login, sees) in [("bob", false), ("sue", true), ("sam", false), ("amy", true)]
                {
                    let (viewer, open) = if sees {
                        (all(), &[4, 3, 1][..])
                    } else {
                        (agent(login), &[4, 1][..])
                    };
                    assert_eq!(
                        tx.pop_by_phone("+331", 20, &agent(login))?,
                        ada(viewer, open),
                        "{login}"
                    );
                }
                // Unknown or disabled: nothing read.
                for login in ["nobody", "old"] {
                    assert_eq!(
                        tx.pop_by_phone("+331", 20, &agent(login))?,
                        PhonePop::default(),
                        "{login}"
                    );
                }
                // Shared by two customers: candidates, nothing more read.
                assert_eq!(
                    tx.pop_by_phone("+332", 20, &Viewer::All)?,
                    PhonePop {
                        viewer: Some(all()),
                        customers: vec![CustomerId(2), CustomerId(3)],
                        only: None,
                    }
                );
                assert_eq!(
                    tx.pop_by_phone("+339", 20, &agent("bob"))?,
                    PhonePop {
                        viewer: Some(agent("bob")),
                        ..PhonePop::default()
                    }
                );
                let stmt = conn
                    .prepare_cached(&interactions::POP_BY_PHONE)
                    .map_err(db)?;
                assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
                // The open cases come from the index, visibility included.
                let plan: Vec<String> = conn
                    .prepare(&format!(
                        "EXPLAIN QUERY PLAN {}",
                        *interactions::POP_BY_PHONE
                    ))
                    .map_err(db)?
                    .query_map(rusqlite::params!["+331", 20, false, "bob"], |r| r.get(3))
                    .map_err(db)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(db)?;
                let plan = plan.join("\n");
                assert!(plan.contains("COVERING INDEX cases_customer"), "{plan}");
                assert!(plan.contains("INDEX customer_phones_number"), "{plan}");
                assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
                assert_eq!(plan.matches("SEARCH agents").count(), 1, "{plan}");
                Ok(())
            })
            .expect("reads");
    }

    #[test]
    fn a_case_listing_by_customer_is_an_index_lookup() {
        let store = SqliteStore::in_memory().expect("store");
        let filter = crate::CaseFilter {
            customer: Some(CustomerId(1)),
            ..Default::default()
        };
        for viewer in [Viewer::All, Viewer::Agent("ann".into())] {
            let (sql, values) = cases::list_cases_sql(&filter, crate::Page::default(), &viewer);
            let plan = store
                .write_as("plan", "BEGIN IMMEDIATE", |tx| {
                    let conn = tx.conn;
                    let mut stmt = conn
                        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                        .map_err(db)?;
                    let rows: Vec<String> = stmt
                        .query_map(rusqlite::params_from_iter(values), |r| r.get(3))
                        .map_err(db)?
                        .collect::<rusqlite::Result<_>>()
                        .map_err(db)?;
                    Ok(rows.join("; "))
                })
                .expect("plan");
            assert!(plan.contains("cases_customer"), "{plan}");
            assert!(!plan.contains("SCAN cases"), "{plan}");
        }
    }
}

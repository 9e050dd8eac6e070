//! Online backup and restore of the database file, through SQLite's backup
//! API (`sqlite3_backup_*`).
//!
//! **Backup** copies from a connection of its own that holds one read
//! transaction for the whole copy: the pages come from that one snapshot,
//! so the copy is consistent, and in WAL mode a reader never blocks a
//! writer, so writers (this process's and others') keep committing while
//! the copy is made, step by step. Without the held snapshot SQLite would
//! restart the copy whenever another connection commits, and a busy store
//! would never finish.
//!
//! **Restore** writes the backup's pages into the target file through the
//! backup API too, so the overwrite is one SQLite write transaction (a crash
//! halfway leaves the old store, rolled back from its journal). It first
//! makes sure no one else has the store open: in WAL mode every connection
//! that has read the file keeps a shared lock on it until it closes, and
//! SQLite lets a connection leave WAL mode only when it is alone on the
//! file. So the target is switched to rollback-journal mode (refused while
//! any other connection is open: a host, `dossier run`, a `sqlite3` shell)
//! and then locked exclusively (`locking_mode = EXCLUSIVE`) until the
//! restore is done; anyone opening it meanwhile waits, then fails.

use super::db;
use std::path::Path;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{SqliteStore, configure, migrations};
use crate::{BackupProgress, Snapshot};
use dossier_types::{Error, Result};

/// Pages copied per backup step: 1 MiB of 4 KiB pages. Small enough that
/// progress moves on a large store, large enough that a step's overhead
/// does not matter.
const PAGES_PER_STEP: i32 = 256;

/// The newest schema version this build reads and writes.
pub fn supported_schema_version() -> i64 {
    migrations::latest()
}

impl SqliteStore {
    /// Copies a consistent snapshot of the database into a new file at
    /// `dest` (which must not exist), reporting progress after each step.
    pub fn backup_file(
        &self,
        dest: &Path,
        progress: &mut dyn FnMut(BackupProgress),
    ) -> Result<Snapshot> {
        if dest.exists() {
            return Err(Error::Refused(format!(
                "{} already exists: a backup never overwrites a file",
                dest.display()
            )));
        }
        match &self.path {
            Some(path) => {
                let mut source = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(db)?;
                configure(&mut source)?;
                // The snapshot the whole copy comes from: held until the
                // copy is done and what it references has been listed.
                source.execute_batch("BEGIN").map_err(db)?;
                let result = copy(&source, dest, progress).and_then(|()| snapshot(&source));
                let _ = source.execute_batch("COMMIT");
                result
            }
            // An in-memory store has one connection: copy from the writer,
            // holding it so that no write interleaves with the copy.
            None => {
                let writer = self.writer.lock();
                copy(&writer.conn, dest, progress)?;
                snapshot(&writer.conn)
            }
        }
    }
}

/// What the snapshot on `source` holds that a backup records beside the
/// pages. Runs in the copy's read transaction.
fn snapshot(source: &Connection) -> Result<Snapshot> {
    use crate::EmailTx as _;
    let schema_version: i64 = source
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db)?;
    // The blobs the copied rows reference. No blob reference is ever
    // removed (follow-ups are append-only; a draft's stay when it is edited
    // or discarded), so `gc` never removes one of these while the backup
    // copies it.
    let blobs = super::SqliteTx::on(source).referenced_blobs()?;
    Ok(Snapshot {
        schema_version,
        blobs,
    })
}

/// Copies every page of `source` into a new database at `dest`, in steps,
/// then leaves `dest` a self-contained file (rollback journal, no WAL).
fn copy(source: &Connection, dest: &Path, progress: &mut dyn FnMut(BackupProgress)) -> Result<()> {
    // Pin the read snapshot before the first step, so that every step reads
    // from it (`sqlite3_backup_step` uses the open read transaction).
    source
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(db)?;
    create_private(dest)?;
    let mut target = Connection::open(dest).map_err(db)?;
    {
        let backup = Backup::new(source, &mut target).map_err(db)?;
        loop {
            let step = backup.step(PAGES_PER_STEP).map_err(db)?;
            let p = backup.progress();
            let total = u64::try_from(p.pagecount).unwrap_or(0);
            let remaining = u64::try_from(p.remaining).unwrap_or(0);
            progress(BackupProgress {
                pages_done: total.saturating_sub(remaining),
                pages_total: total,
            });
            match step {
                StepResult::Done => break,
                StepResult::More => {}
                // The source is only read through a snapshot we hold and the
                // destination is ours alone: neither can be busy or locked.
                StepResult::Busy | StepResult::Locked => {
                    return Err(Error::Db(format!(
                        "the backup of {} found a database locked",
                        dest.display()
                    )));
                }
                _ => {
                    return Err(Error::Db(
                        "the backup step returned an unknown result".into(),
                    ));
                }
            }
        }
    }
    let mode: String = target
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .map_err(db)?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(Error::Db(format!(
            "the backup {} stayed in {mode} journal mode",
            dest.display()
        )));
    }
    target.close().map_err(|(_, e)| db(e))?;
    Ok(())
}

/// Creates `path` empty, readable by its owner only (a backup holds what
/// the store holds).
fn create_private(path: &Path) -> Result<()> {
    crate::files::create(path, crate::files::Existing::Refuse).map(drop)
}

/// A target store, opened alone and locked for the whole restore.
pub struct RestoreLock {
    conn: Connection,
}

/// Opens the store file at `target` (creating it if missing) for a restore:
/// refused with [`Error::StoreInUse`] while any other connection has it
/// open, and with [`Error::NotAStore`] when it is another program's file.
/// Until the returned lock is dropped, nobody else can read or write it.
pub fn lock_for_restore(target: &Path) -> Result<RestoreLock> {
    if let Some(dir) = target.parent()
        && !dir.as_os_str().is_empty()
    {
        crate::files::create_dir_all(dir)?;
    }
    match std::fs::metadata(target) {
        Ok(meta) if meta.len() > 0 => super::check_file(target)?,
        Ok(_) => {}
        Err(_) => create_private(target)?,
    }
    let conn = Connection::open(target).map_err(db)?;
    let in_use = || Error::StoreInUse {
        path: target.to_owned(),
    };
    // No waiting: a store in use is refused at once, not after the busy
    // timeout.
    conn.busy_timeout(std::time::Duration::ZERO).map_err(db)?;
    let (version, tables): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version),
                    (SELECT count(*) FROM sqlite_master)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| busy_or(e, &in_use))?;
    if version == 0 && tables > 0 {
        return Err(Error::NotAStore {
            path: target.to_owned(),
            reason: format!(
                "it is a SQLite database with {tables} objects of another program's; \
                 restore into a Dossier store or a new file"
            ),
        });
    }
    // SQLite leaves WAL mode only for a connection alone on the file.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .map_err(|e| busy_or(e, &in_use))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(in_use());
    }
    // Keep every lock taken from here on until the connection closes, and
    // take the exclusive one now: new readers are kept out too.
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(db)?;
    conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;")
        .map_err(|e| busy_or(e, &in_use))?;
    Ok(RestoreLock { conn })
}

/// `in_use()` when `e` is SQLite finding the file locked, else `e`.
fn busy_or(e: rusqlite::Error, in_use: &dyn Fn() -> Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => in_use(),
        _ => db(e),
    }
}

/// The schema version of the database file at `path`, read without
/// changing it; [`Error::NotABackup`] when it is not a SQLite database.
pub fn file_schema_version(path: &Path, dir: &Path) -> Result<i64> {
    let not_a_backup = |reason: String| Error::NotABackup {
        path: dir.to_owned(),
        reason,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| not_a_backup(format!("{}: {e}", path.display())))?;
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| not_a_backup(format!("{}: {e}", path.display())))
}

impl RestoreLock {
    /// Replaces the whole database with the one at `source`, in one write
    /// transaction of the target (all or nothing).
    pub fn restore_from(
        mut self,
        source: &Path,
        progress: &mut dyn FnMut(BackupProgress),
    ) -> Result<()> {
        let from = Connection::open_with_flags(
            source,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db)?;
        {
            let backup = Backup::new(&from, &mut self.conn).map_err(db)?;
            // One step: the target is written in one transaction.
            let step = backup.step(-1).map_err(db)?;
            let p = backup.progress();
            let total = u64::try_from(p.pagecount).unwrap_or(0);
            if step != StepResult::Done {
                return Err(Error::Db(format!(
                    "restoring from {} did not complete ({step:?})",
                    source.display()
                )));
            }
            progress(BackupProgress {
                pages_done: total,
                pages_total: total,
            });
        }
        // Back to WAL, as the host runs it, before anyone else opens it.
        self.conn
            .pragma_update(None, "locking_mode", "NORMAL")
            .map_err(db)?;
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(db)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Db(format!(
                "the restored store stayed in {mode} journal mode"
            )));
        }
        self.conn.close().map_err(|(_, e)| db(e))?;
        Ok(())
    }
}

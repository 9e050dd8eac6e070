//! The SQLite store. All SQL in Dossier lives below this module.
//!
//! One writer connection behind a re-entrant lock, so that hooks running
//! inside a write (on the same thread) read and write through the same
//! transaction; a small pool of reader connections for everyone else (WAL
//! lets them read while the writer writes).

mod cases;
mod customers;
mod fields;
mod follow_ups;
mod interactions;
mod migrations;
mod outbox;
mod tasks;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use parking_lot::{Mutex, ReentrantMutex};
use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

pub(crate) use cases::*;
pub(crate) use customers::*;
pub(crate) use fields::*;
pub(crate) use follow_ups::*;
pub(crate) use interactions::*;
pub(crate) use outbox::*;
pub(crate) use tasks::*;

pub use cases::CaseFilter;
pub use tasks::TaskFilter;

/// How many `write` calls may nest on one thread. A backstop only: causal
/// depth (`[events] max_depth`, checked by `Ctx`) stops hook chains long
/// before, and with a clearer error.
const MAX_WRITE_NESTING: usize = 256;

struct Writer {
    conn: Connection,
    /// How many `write` calls are active on this connection (on the owning thread).
    depth: Cell<usize>,
}

/// The database: see the module docs.
pub(crate) struct Store {
    writer: ReentrantMutex<Writer>,
    readers: Mutex<Vec<Connection>>,
    /// `None` for an in-memory store, whose readers all go through the writer.
    path: Option<PathBuf>,
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub(crate) fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                what: "cannot create directory",
                path: dir.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        Store::with_writer(conn, Some(path.to_owned()))
    }

    /// An empty in-memory database.
    pub(crate) fn in_memory() -> Result<Store> {
        Store::with_writer(Connection::open_in_memory()?, None)
    }

    fn with_writer(conn: Connection, path: Option<PathBuf>) -> Result<Store> {
        configure(&conn)?;
        migrations::run(&conn)?;
        Ok(Store {
            writer: ReentrantMutex::new(Writer {
                conn,
                depth: Cell::new(0),
            }),
            readers: Mutex::new(Vec::new()),
            path,
        })
    }

    /// Runs `f` in the write transaction. A call made while this thread is
    /// already inside `write` joins the outer transaction: it commits or
    /// rolls back with it. `label` names the write in errors.
    pub(crate) fn write<T>(
        &self,
        label: &str,
        f: impl FnOnce(&Connection) -> Result<T>,
    ) -> Result<T> {
        let writer = self.writer.lock();
        let depth = writer.depth.get();
        if depth > MAX_WRITE_NESTING {
            return Err(Error::Refused(format!(
                "{label}: writes nested more than {MAX_WRITE_NESTING} deep"
            )));
        }
        if depth == 0 {
            exec_cached(&writer.conn, "BEGIN IMMEDIATE")?;
        }
        writer.enter();
        let guard = DepthGuard {
            writer: &writer,
            outer: depth == 0,
            finished: false,
        };
        let result = f(&writer.conn);
        guard.finish(result.is_ok())?;
        result
    }

    /// Whether the current thread is inside [`Store::write`].
    pub(crate) fn in_write(&self) -> bool {
        self.writer.is_owned_by_current_thread()
    }

    /// Runs `f` on a reader connection, or on the writer when this thread is
    /// inside a write (so hooks see the transaction's uncommitted rows).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
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
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )?;
                configure(&conn)?;
                conn
            }
        };
        // One read transaction per call: a record read in several statements
        // comes from one snapshot, even while the writer commits.
        let result = exec_cached(&conn, "BEGIN").and_then(|()| {
            let result = f(&conn);
            exec_cached(&conn, "COMMIT").and(result)
        });
        let mut pool = self.readers.lock();
        // A connection left inside a transaction would pin an old snapshot.
        if pool.len() < 8 && conn.is_autocommit() {
            pool.push(conn);
        }
        result
    }
}

/// Ends a `write` call: commits or rolls back the outermost one, and rolls
/// back if the closure panicked.
struct DepthGuard<'a> {
    writer: &'a Writer,
    outer: bool,
    finished: bool,
}

impl DepthGuard<'_> {
    fn finish(mut self, ok: bool) -> Result<()> {
        self.finished = true;
        if self.outer {
            if ok {
                if let Err(e) = exec_cached(&self.writer.conn, "COMMIT") {
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
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// The pragmas [`configure`] and [`Store::open`] set, as SQLite reports them
/// on `conn`.
pub(crate) fn pragmas(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for name in [
        "journal_mode",
        "synchronous",
        "foreign_keys",
        "busy_timeout",
    ] {
        let value: rusqlite::types::Value = conn.pragma_query_value(None, name, |r| r.get(0))?;
        let text = match value {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        };
        out.push((name.to_owned(), text));
    }
    Ok(out)
}

/// Formats a time the way the store keeps it: fixed width, so text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads a time written by [`ts`].
pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Corrupt(format!("timestamp `{s}`: {e}")))
}

/// Decodes a JSON column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::Corrupt(format!("{what}: {e}")))
}

/// Encodes a JSON column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serializing plain data structs to a String cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
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

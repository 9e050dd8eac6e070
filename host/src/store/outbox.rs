//! The outbox: side effects recorded in the write's transaction, delivered
//! after commit, retried with backoff, each with an idempotency key.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{parse_ts, ts};
use crate::error::Result;

/// One undelivered outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Row id.
    pub id: i64,
    /// Unique key handlers can use to drop duplicates (delivery is at-least-once).
    pub idempotency_key: String,
    /// The event, as JSON.
    pub event: String,
    /// Deliveries tried so far.
    pub attempts: u32,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// Records an event for delivery after commit.
pub(crate) fn outbox_enqueue(
    conn: &Connection,
    key: &str,
    event: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO outbox (idempotency_key, event, created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?3)",
    )?
    .execute(params![key, event, ts(now)])?;
    Ok(conn.last_insert_rowid())
}

fn entry(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(i64, String, String, u32, String, Option<String>)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

/// Entries whose next attempt is due at `now`, oldest first.
pub(crate) fn outbox_due(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<OutboxEntry>> {
    list(
        conn,
        "SELECT id, idempotency_key, event, attempts, created_at, last_error FROM outbox
         WHERE delivered_at IS NULL AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2",
        params![ts(now), limit],
    )
}

/// Every undelivered entry, oldest first.
pub(crate) fn outbox_pending(conn: &Connection, limit: u32) -> Result<Vec<OutboxEntry>> {
    list(
        conn,
        "SELECT id, idempotency_key, event, attempts, created_at, last_error FROM outbox
         WHERE delivered_at IS NULL ORDER BY id LIMIT ?1",
        params![limit],
    )
}

fn list(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows: Vec<_> = stmt
        .query_map(params, entry)?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(
            |(id, idempotency_key, event, attempts, created, last_error)| {
                Ok(OutboxEntry {
                    id,
                    idempotency_key,
                    event,
                    attempts,
                    created_at: parse_ts(&created)?,
                    last_error,
                })
            },
        )
        .collect()
}

/// Takes an entry for delivery until `lease_until`, so that two processes
/// (or threads) delivering at once do not both deliver it. Returns false when
/// someone else holds it or it was delivered meanwhile.
pub(crate) fn outbox_claim(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE outbox SET next_attempt_at = ?3
             WHERE id = ?1 AND delivered_at IS NULL AND next_attempt_at <= ?2",
        )?
        .execute(params![id, ts(now), ts(lease_until)])?;
    Ok(n == 1)
}

/// Marks an entry delivered.
pub(crate) fn outbox_mark_delivered(conn: &Connection, id: i64, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET delivered_at = ?2, attempts = attempts + 1 WHERE id = ?1",
    )?
    .execute(params![id, ts(now)])?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub(crate) fn outbox_mark_failed(
    conn: &Connection,
    id: i64,
    error: &str,
    retry_at: DateTime<Utc>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
    )?
    .execute(params![id, error, ts(retry_at)])?;
    Ok(())
}

//! The outbox: after-save events recorded in the write's transaction, and
//! one delivery per (event, handler), each retried on its own.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{parse_ts, ts};
use crate::error::Result;

/// A delivery whose attempt is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DueDelivery {
    pub(crate) id: i64,
    pub(crate) entry: i64,
    pub(crate) handler: String,
    pub(crate) attempts: u32,
}

/// An outbox entry: the event and where its chain stood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryRow {
    pub(crate) key: String,
    pub(crate) event: String,
    pub(crate) depth: u32,
    pub(crate) chain: String,
    pub(crate) actor: String,
}

/// One delivery as `dossier outbox list` shows it (the raw columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeliveryRow {
    pub(crate) id: i64,
    pub(crate) entry: i64,
    pub(crate) handler: String,
    pub(crate) key: String,
    pub(crate) event: String,
    pub(crate) depth: u32,
    pub(crate) attempts: u32,
    pub(crate) next_attempt_at: DateTime<Utc>,
    pub(crate) delivered_at: Option<DateTime<Utc>>,
    pub(crate) dead_at: Option<DateTime<Utc>>,
    pub(crate) last_error: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
}

/// The id the next entry will get. Allocated inside the write transaction,
/// so the idempotency key can contain it.
pub(crate) fn outbox_next_id(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM outbox")?
        .query_row([], |r| r.get(0))?)
}

/// Records an event with one delivery per handler key.
#[allow(clippy::too_many_arguments)]
pub(crate) fn outbox_enqueue(
    conn: &Connection,
    id: i64,
    key: &str,
    event: &str,
    depth: u32,
    chain: &str,
    actor: &str,
    now: DateTime<Utc>,
    handlers: &[&str],
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (id, idempotency_key, event, depth, chain, actor, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![id, key, event, depth, chain, actor, ts(now)])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO outbox_deliveries (entry_id, handler, next_attempt_at) VALUES (?1, ?2, ?3)",
    )?;
    for handler in handlers {
        insert.execute(params![id, handler, ts(now)])?;
    }
    Ok(())
}

/// Deliveries whose next attempt is due at `now`, oldest first.
pub(crate) fn outbox_due(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<DueDelivery>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, entry_id, handler, attempts FROM outbox_deliveries
         WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= ?1
         ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![ts(now), limit], |r| {
            Ok(DueDelivery {
                id: r.get(0)?,
                entry: r.get(1)?,
                handler: r.get(2)?,
                attempts: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Takes a delivery until `lease_until`, so that two processes (or threads)
/// delivering at once never both run it. False when someone else holds it,
/// or it was delivered or declared dead meanwhile.
pub(crate) fn outbox_claim(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE outbox_deliveries SET next_attempt_at = ?3
             WHERE id = ?1 AND delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= ?2",
        )?
        .execute(params![id, ts(now), ts(lease_until)])?;
    Ok(n == 1)
}

/// Replaces a delivery to every handler (`*`, from before deliveries were
/// kept per handler) by one delivery per handler key.
pub(crate) fn outbox_expand(
    conn: &Connection,
    id: i64,
    entry: i64,
    handlers: &[&str],
    now: DateTime<Utc>,
) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO outbox_deliveries (entry_id, handler, next_attempt_at) VALUES (?1, ?2, ?3)",
    )?;
    for handler in handlers {
        insert.execute(params![entry, handler, ts(now)])?;
    }
    conn.prepare_cached("DELETE FROM outbox_deliveries WHERE id = ?1")?
        .execute(params![id])?;
    Ok(())
}

/// The entry a delivery belongs to.
pub(crate) fn outbox_entry(conn: &Connection, entry: i64) -> Result<Option<EntryRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT idempotency_key, event, depth, chain, actor FROM outbox WHERE id = ?1",
        )?
        .query_row(params![entry], |r| {
            Ok(EntryRow {
                key: r.get(0)?,
                event: r.get(1)?,
                depth: r.get(2)?,
                chain: r.get(3)?,
                actor: r.get(4)?,
            })
        })
        .optional()?)
}

/// Marks a delivery done.
pub(crate) fn outbox_mark_delivered(conn: &Connection, id: i64, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox_deliveries SET delivered_at = ?2, attempts = attempts + 1 WHERE id = ?1",
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
        "UPDATE outbox_deliveries SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
         WHERE id = ?1",
    )?
    .execute(params![id, error, ts(retry_at)])?;
    Ok(())
}

/// Records a final failure: the delivery is never tried again unless an
/// operator retries it.
pub(crate) fn outbox_mark_dead(
    conn: &Connection,
    id: i64,
    error: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox_deliveries SET attempts = attempts + 1, last_error = ?2, dead_at = ?3
         WHERE id = ?1",
    )?
    .execute(params![id, error, ts(now)])?;
    Ok(())
}

fn delivery_row(r: &Row<'_>) -> rusqlite::Result<[rusqlite::types::Value; 12]> {
    Ok([
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ])
}

/// Undelivered deliveries (pending, failed, dead), oldest first.
pub(crate) fn outbox_undelivered(conn: &Connection, limit: u32) -> Result<Vec<DeliveryRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, d.entry_id, d.handler, o.idempotency_key, o.event, o.depth, d.attempts,
                d.next_attempt_at, d.delivered_at, d.dead_at, d.last_error, o.created_at
         FROM outbox_deliveries d JOIN outbox o ON o.id = d.entry_id
         WHERE d.delivered_at IS NULL ORDER BY d.id LIMIT ?1",
    )?;
    let raw: Vec<_> = stmt
        .query_map(params![limit], delivery_row)?
        .collect::<rusqlite::Result<_>>()?;
    raw.into_iter().map(decode_delivery).collect()
}

fn decode_delivery(v: [rusqlite::types::Value; 12]) -> Result<DeliveryRow> {
    use rusqlite::types::Value;
    let int = |v: &Value| match v {
        Value::Integer(i) => *i,
        _ => 0,
    };
    let text = |v: &Value| match v {
        Value::Text(t) => Some(t.clone()),
        _ => None,
    };
    let time = |v: &Value| text(v).map(|t| parse_ts(&t)).transpose();
    Ok(DeliveryRow {
        id: int(&v[0]),
        entry: int(&v[1]),
        handler: text(&v[2]).unwrap_or_default(),
        key: text(&v[3]).unwrap_or_default(),
        event: text(&v[4]).unwrap_or_default(),
        depth: u32::try_from(int(&v[5])).unwrap_or(u32::MAX),
        attempts: u32::try_from(int(&v[6])).unwrap_or(u32::MAX),
        next_attempt_at: time(&v[7])?.unwrap_or(DateTime::<Utc>::MIN_UTC),
        delivered_at: time(&v[8])?,
        dead_at: time(&v[9])?,
        last_error: text(&v[10]),
        created_at: time(&v[11])?.unwrap_or(DateTime::<Utc>::MIN_UTC),
    })
}

/// Makes failed and dead deliveries due at `now` again: all of them, or the
/// one with `id`. Returns how many.
pub(crate) fn outbox_retry(
    conn: &Connection,
    id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<usize> {
    let n = match id {
        Some(id) => conn
            .prepare_cached(
                "UPDATE outbox_deliveries SET dead_at = NULL, next_attempt_at = ?2
                 WHERE id = ?1 AND delivered_at IS NULL",
            )?
            .execute(params![id, ts(now)])?,
        None => conn
            .prepare_cached(
                "UPDATE outbox_deliveries SET dead_at = NULL, next_attempt_at = ?1
                 WHERE delivered_at IS NULL AND (attempts > 0 OR dead_at IS NOT NULL)",
            )?
            .execute(params![ts(now)])?,
    };
    Ok(n)
}

//! The outbox: after-save events recorded in the write's transaction, and
//! one delivery per (event, handler), each retried on its own.

use super::db;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteTx;
use crate::{DeliveryRow, DueDelivery, EntryRow, OutboxTx, parse_ts, ts};
use dossier_types::Result;

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

impl OutboxTx for SqliteTx<'_> {
    fn outbox_next_id(&self) -> Result<i64> {
        let conn = self.conn;
        conn.prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM outbox")
            .map_err(db)?
            .query_row([], |r| r.get(0))
            .map_err(db)
    }

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
    ) -> Result<()> {
        let conn = self.conn;
        conn.prepare_cached(
            "INSERT INTO outbox (id, idempotency_key, event, depth, chain, actor, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(db)?
        .execute(params![id, key, event, depth, chain, actor, ts(now)])
        .map_err(db)?;
        let mut insert = conn.prepare_cached(
            "INSERT INTO outbox_deliveries (entry_id, handler, next_attempt_at) VALUES (?1, ?2, ?3)",
        ).map_err(db)?;
        for handler in handlers {
            insert.execute(params![id, handler, ts(now)]).map_err(db)?;
        }
        Ok(())
    }

    fn outbox_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DueDelivery>> {
        let conn = self.conn;
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, entry_id, handler, attempts FROM outbox_deliveries
             WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= ?1
             ORDER BY id LIMIT ?2",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![ts(now), limit], |r| {
                Ok(DueDelivery {
                    id: r.get(0)?,
                    entry: r.get(1)?,
                    handler: r.get(2)?,
                    attempts: r.get(3)?,
                })
            })
            .map_err(db)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db)?;
        Ok(rows)
    }

    fn outbox_claim(
        &self,
        id: i64,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let conn = self.conn;
        let n = conn
            .prepare_cached(
                "UPDATE outbox_deliveries SET next_attempt_at = ?3
                 WHERE id = ?1 AND delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= ?2",
            ).map_err(db)?
            .execute(params![id, ts(now), ts(lease_until)]).map_err(db)?;
        Ok(n == 1)
    }

    fn outbox_expand(
        &self,
        id: i64,
        entry: i64,
        handlers: &[&str],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let conn = self.conn;
        let mut insert = conn.prepare_cached(
            "INSERT OR IGNORE INTO outbox_deliveries (entry_id, handler, next_attempt_at) VALUES (?1, ?2, ?3)",
        ).map_err(db)?;
        for handler in handlers {
            insert
                .execute(params![entry, handler, ts(now)])
                .map_err(db)?;
        }
        conn.prepare_cached("DELETE FROM outbox_deliveries WHERE id = ?1")
            .map_err(db)?
            .execute(params![id])
            .map_err(db)?;
        Ok(())
    }

    fn outbox_entry(&self, entry: i64) -> Result<Option<EntryRow>> {
        let conn = self.conn;
        conn.prepare_cached(
            "SELECT idempotency_key, event, depth, chain, actor FROM outbox WHERE id = ?1",
        )
        .map_err(db)?
        .query_row(params![entry], |r| {
            Ok(EntryRow {
                key: r.get(0)?,
                event: r.get(1)?,
                depth: r.get(2)?,
                chain: r.get(3)?,
                actor: r.get(4)?,
            })
        })
        .optional()
        .map_err(db)
    }

    fn outbox_mark_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        let conn = self.conn;
        conn.prepare_cached(
            "UPDATE outbox_deliveries SET delivered_at = ?2, attempts = attempts + 1 WHERE id = ?1",
        )
        .map_err(db)?
        .execute(params![id, ts(now)])
        .map_err(db)?;
        Ok(())
    }

    fn outbox_mark_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
        let conn = self.conn;
        conn.prepare_cached(
            "UPDATE outbox_deliveries SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
             WHERE id = ?1",
        ).map_err(db)?
        .execute(params![id, error, ts(retry_at)]).map_err(db)?;
        Ok(())
    }

    fn outbox_mark_dead(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<()> {
        let conn = self.conn;
        conn.prepare_cached(
            "UPDATE outbox_deliveries SET attempts = attempts + 1, last_error = ?2, dead_at = ?3
             WHERE id = ?1",
        )
        .map_err(db)?
        .execute(params![id, error, ts(now)])
        .map_err(db)?;
        Ok(())
    }

    fn outbox_undelivered(&self, limit: u32) -> Result<Vec<DeliveryRow>> {
        let conn = self.conn;
        let mut stmt = conn.prepare_cached(
            "SELECT d.id, d.entry_id, d.handler, o.idempotency_key, o.event, o.depth, d.attempts,
                    d.next_attempt_at, d.delivered_at, d.dead_at, d.last_error, o.created_at
             FROM outbox_deliveries d JOIN outbox o ON o.id = d.entry_id
             WHERE d.delivered_at IS NULL ORDER BY d.id LIMIT ?1",
        ).map_err(db)?;
        let raw: Vec<_> = stmt
            .query_map(params![limit], delivery_row)
            .map_err(db)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db)?;
        raw.into_iter().map(decode_delivery).collect()
    }

    fn outbox_retry(&self, id: Option<i64>, now: DateTime<Utc>) -> Result<usize> {
        let conn = self.conn;
        let n = match id {
            Some(id) => conn
                .prepare_cached(
                    "UPDATE outbox_deliveries SET dead_at = NULL, next_attempt_at = ?2
                     WHERE id = ?1 AND delivered_at IS NULL",
                )
                .map_err(db)?
                .execute(params![id, ts(now)])
                .map_err(db)?,
            None => conn
                .prepare_cached(
                    "UPDATE outbox_deliveries SET dead_at = NULL, next_attempt_at = ?1
                     WHERE delivered_at IS NULL AND (attempts > 0 OR dead_at IS NOT NULL)",
                )
                .map_err(db)?
                .execute(params![ts(now)])
                .map_err(db)?,
        };
        Ok(n)
    }
}

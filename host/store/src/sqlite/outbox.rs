//! The outbox: after-save events recorded in the write's transaction, and
//! one delivery per (event, handler), each retried on its own.

use super::db;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteTx;
use crate::{Claimed, DeliveryRow, DueDelivery, EntryRow, Failed, OutboxTx, parse_ts, ts};
use dossier_types::Result;

fn delivery_row(r: &Row<'_>) -> rusqlite::Result<[rusqlite::types::Value; 15]> {
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
        r.get(12)?,
        r.get(13)?,
        r.get(14)?,
    ])
}

fn decode_delivery(v: [rusqlite::types::Value; 15]) -> Result<DeliveryRow> {
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
        sending_at: time(&v[12])?,
        lease_until: time(&v[13])?,
        possible_duplicates: u32::try_from(int(&v[14])).unwrap_or(u32::MAX),
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
               AND (lease_until IS NULL OR lease_until <= ?1)
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
        holder: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Claimed>> {
        self.conn
            .prepare_cached(
                "UPDATE outbox_deliveries
                 SET lease_holder = ?2, lease_until = ?4,
                     possible_duplicates = possible_duplicates + (sending_at IS NOT NULL)
                 WHERE id = ?1 AND delivered_at IS NULL AND dead_at IS NULL
                   AND next_attempt_at <= ?3 AND (lease_until IS NULL OR lease_until <= ?3)
                 RETURNING sending_at IS NOT NULL",
            )
            .map_err(db)?
            .query_row(params![id, holder, ts(now), ts(lease_until)], |r| {
                Ok(Claimed {
                    possible_duplicate: r.get(0)?,
                })
            })
            .optional()
            .map_err(db)
    }

    fn outbox_renew(&self, id: i64, holder: &str, lease_until: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE outbox_deliveries SET lease_until = ?3 WHERE id = ?1 AND lease_holder = ?2",
            )
            .map_err(db)?
            .execute(params![id, holder, ts(lease_until)])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn outbox_mark_sending(&self, id: i64, holder: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE outbox_deliveries SET sending_at = ?3 WHERE id = ?1 AND lease_holder = ?2",
            )
            .map_err(db)?
            .execute(params![id, holder, ts(now)])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn outbox_expand(
        &self,
        id: i64,
        holder: &str,
        entry: i64,
        handlers: &[&str],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let conn = self.conn;
        let n = conn
            .prepare_cached("DELETE FROM outbox_deliveries WHERE id = ?1 AND lease_holder = ?2")
            .map_err(db)?
            .execute(params![id, holder])
            .map_err(db)?;
        if n == 0 {
            return Ok(false);
        }
        let mut insert = conn.prepare_cached(
            "INSERT OR IGNORE INTO outbox_deliveries (entry_id, handler, next_attempt_at) VALUES (?1, ?2, ?3)",
        ).map_err(db)?;
        for handler in handlers {
            insert
                .execute(params![entry, handler, ts(now)])
                .map_err(db)?;
        }
        Ok(true)
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

    fn outbox_mark_delivered(&self, id: i64, holder: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE outbox_deliveries
                 SET delivered_at = ?3, attempts = attempts + 1,
                     lease_holder = NULL, lease_until = NULL, sending_at = NULL
                 WHERE id = ?1 AND lease_holder = ?2",
            )
            .map_err(db)?
            .execute(params![id, holder, ts(now)])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn outbox_mark_failed(&self, id: i64, holder: &str, failure: Failed<'_>) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE outbox_deliveries
                 SET attempts = attempts + 1, last_error = ?3, next_attempt_at = ?4,
                     lease_holder = NULL, lease_until = NULL,
                     sending_at = CASE WHEN ?5 THEN sending_at END
                 WHERE id = ?1 AND lease_holder = ?2",
            )
            .map_err(db)?
            .execute(params![
                id,
                holder,
                failure.error,
                ts(failure.retry_at),
                failure.maybe_sent
            ])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn outbox_mark_dead(
        &self,
        id: i64,
        holder: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE outbox_deliveries
                 SET attempts = attempts + 1, last_error = ?3, dead_at = ?4,
                     lease_holder = NULL, lease_until = NULL, sending_at = NULL
                 WHERE id = ?1 AND lease_holder = ?2",
            )
            .map_err(db)?
            .execute(params![id, holder, error, ts(now)])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn outbox_undelivered(&self, limit: u32) -> Result<Vec<DeliveryRow>> {
        let conn = self.conn;
        let mut stmt = conn.prepare_cached(
            "SELECT d.id, d.entry_id, d.handler, o.idempotency_key, o.event, o.depth, d.attempts,
                    d.next_attempt_at, d.delivered_at, d.dead_at, d.last_error, o.created_at,
                    d.sending_at, d.lease_until, d.possible_duplicates
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

#[cfg(test)]
mod tests {
    use super::super::testing::{at, temp_store};
    use crate::{Failed, Tx};

    /// The claim contract of `OutboxTx::outbox_claim`, step by step: one
    /// holder at a time, renewal and outcomes by the holder only, takeover
    /// once the lease ran out, a possible duplicate after an interrupted
    /// send.
    #[test]
    fn one_holder_at_a_time_and_only_the_holder_records_an_outcome() {
        let (_dir, store) = temp_store();
        let w = |f: &dyn Fn(&dyn Tx) -> dossier_types::Result<bool>| {
            store.write("test", |tx| f(tx)).expect("write")
        };
        store
            .write("queue", |tx: &dyn Tx| {
                tx.outbox_enqueue(1, "k", "{}", 0, "[]", "{}", at(0), &["smtp"])
            })
            .expect("queued");
        let due = |s| {
            store
                .read(|tx| tx.outbox_due(at(s), 10))
                .expect("due")
                .len()
        };
        let claim = |holder: &str, s: i64, until: i64| {
            store
                .write("claim", |tx| tx.outbox_claim(1, holder, at(s), at(until)))
                .expect("claim")
        };

        let first = claim("a", 0, 60).expect("a claims");
        assert!(!first.possible_duplicate);
        assert_eq!(due(59), 0, "held: not due");
        assert!(claim("b", 59, 119).is_none(), "a holds it");
        assert!(
            !w(&|tx| tx.outbox_renew(1, "b", at(200))),
            "b holds nothing"
        );
        assert!(w(&|tx| tx.outbox_renew(1, "a", at(90))));
        assert!(claim("b", 60, 120).is_none(), "renewed to 90");
        assert!(w(&|tx| tx.outbox_mark_sending(1, "a", at(70))));

        // a stalls; at 90 the lease has run out and b takes over. a was
        // sending: b's attempt may send it twice.
        assert_eq!(due(90), 1);
        let second = claim("b", 90, 150).expect("b claims");
        assert!(second.possible_duplicate);
        assert!(!w(&|tx| tx.outbox_renew(1, "a", at(300))));
        assert!(!w(&|tx| tx.outbox_mark_sending(1, "a", at(91))));
        assert!(!w(&|tx| tx.outbox_mark_delivered(1, "a", at(91))));
        assert!(!w(&|tx| tx.outbox_mark_dead(1, "a", "late", at(91))));
        let failure = Failed {
            error: "no reply to the final dot",
            retry_at: at(100),
            maybe_sent: true,
        };
        assert!(!w(&|tx| tx.outbox_mark_failed(1, "a", failure)));

        // b's outcome: failed, maybe sent; the next claim counts again.
        assert!(w(&|tx| tx.outbox_mark_sending(1, "b", at(95))));
        assert!(w(&|tx| tx.outbox_mark_failed(1, "b", failure)));
        assert!(claim("c", 99, 160).is_none(), "backoff until 100");
        let third = claim("c", 100, 160).expect("c claims");
        assert!(third.possible_duplicate);
        assert!(w(&|tx| tx.outbox_mark_delivered(1, "c", at(101))));
        assert!(claim("d", 500, 560).is_none(), "delivered: never again");
        let left = store.read(|tx| tx.outbox_undelivered(10)).expect("read");
        assert!(left.is_empty(), "{left:?}");
    }
}

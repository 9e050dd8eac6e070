//! The wallboard's reads on SQLite: aggregates over `chats`,
//! `email_offers` and `event_log`, each answered from an index on the
//! waiting items or a range of arrival times.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::SqliteTx;
use super::db;
use crate::wallboard::{Arrival, QueueLine, WallboardTx};
use crate::{parse_ts, ts};
use dossier_types::Result;
use dossier_types::queues::QueueChannel;

fn channel(name: &str) -> QueueChannel {
    if name == "email" {
        QueueChannel::Email
    } else {
        QueueChannel::Chat
    }
}

impl WallboardTx for SqliteTx<'_> {
    fn queue_lines(&self) -> Result<Vec<QueueLine>> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT 'chat', queue, COUNT(*), MIN(arrived_at) FROM chats
                   WHERE state = 'waiting' GROUP BY queue
                 UNION ALL
                 SELECT 'email', queue, COUNT(*), MIN(arrived_at) FROM email_offers
                   WHERE state = 'waiting' GROUP BY queue
                 ORDER BY 2, 1",
            )
            .map_err(db)?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(db)?;
        let mut lines = Vec::new();
        for row in rows {
            let (kind, queue, waiting, oldest) = row.map_err(db)?;
            lines.push(QueueLine {
                queue,
                channel: channel(&kind),
                waiting: u32::try_from(waiting).unwrap_or(u32::MAX),
                oldest: oldest.as_deref().map(parse_ts).transpose()?,
            });
        }
        Ok(lines)
    }

    fn arrivals_since(&self, since: DateTime<Utc>) -> Result<Vec<Arrival>> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT 'chat', queue, arrived_at, accepted_at FROM chats WHERE arrived_at >= ?1
                 UNION ALL
                 SELECT 'email', queue, arrived_at, accepted_at FROM email_offers WHERE arrived_at >= ?1
                 ORDER BY 3",
            )
            .map_err(db)?;
        let rows = statement
            .query_map(params![ts(since)], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(db)?;
        let mut arrivals = Vec::new();
        for row in rows {
            let (kind, queue, arrived_at, accepted_at) = row.map_err(db)?;
            arrivals.push(Arrival {
                queue,
                channel: channel(&kind),
                arrived_at: parse_ts(&arrived_at)?,
                accepted_at: accepted_at.as_deref().map(parse_ts).transpose()?,
            });
        }
        Ok(arrivals)
    }

    fn events_since(&self, kind: &str, since: DateTime<Utc>) -> Result<u64> {
        let count: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM event_log WHERE kind = ?1 AND at >= ?2")
            .map_err(db)?
            .query_row(params![kind, ts(since)], |row| row.get(0))
            .map_err(db)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

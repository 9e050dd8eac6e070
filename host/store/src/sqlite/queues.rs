//! Queues and memberships (`queues`, `queue_members`; `queue_rev` kept by
//! the triggers of their migration) and the store's own settings.

use super::db;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::SqliteTx;
use crate::{QueueTx, parse_ts, ts};
use dossier_types::queues::{Queue, QueueChannel, QueueMember, QueueSource};
use dossier_types::{Error, Result};

fn channel(s: &str) -> Result<QueueChannel> {
    QueueChannel::parse(s).ok_or_else(|| Error::Corrupt(format!("queue channel `{s}`")))
}

fn source(s: &str) -> Result<QueueSource> {
    QueueSource::parse(s).ok_or_else(|| Error::Corrupt(format!("queue source `{s}`")))
}

impl SqliteTx<'_> {
    /// Queues named `name` (all of them for `None`), with their members.
    fn queues_where(&self, name: Option<&str>) -> Result<Vec<Queue>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, channel, capacity, source FROM queues
                 WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
            )
            .map_err(db)?;
        let mut rows = stmt.query(params![name]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(Queue {
                name: row.get(0).map_err(db)?,
                channel: channel(&row.get::<_, String>(1).map_err(db)?)?,
                capacity: row.get(2).map_err(db)?,
                source: source(&row.get::<_, String>(3).map_err(db)?)?,
                members: Vec::new(),
            });
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT queue, login, joined, source, changed_at FROM queue_members
                 WHERE ?1 IS NULL OR queue = ?1 ORDER BY queue, login",
            )
            .map_err(db)?;
        let mut rows = stmt.query(params![name]).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            let queue: String = row.get(0).map_err(db)?;
            let member = QueueMember {
                login: row.get(1).map_err(db)?,
                joined: row.get(2).map_err(db)?,
                source: source(&row.get::<_, String>(3).map_err(db)?)?,
                changed_at: parse_ts(&row.get::<_, String>(4).map_err(db)?)?,
            };
            if let Some(q) = out.iter_mut().find(|q| q.name == queue) {
                q.members.push(member);
            }
        }
        Ok(out)
    }
}

impl QueueTx for SqliteTx<'_> {
    fn queues(&self) -> Result<Vec<Queue>> {
        self.queues_where(None)
    }

    fn queue(&self, name: &str) -> Result<Option<Queue>> {
        Ok(self.queues_where(Some(name))?.pop())
    }

    fn queue_rev(&self) -> Result<i64> {
        self.conn
            .prepare_cached("SELECT rev FROM queue_rev WHERE id = 1")
            .map_err(db)?
            .query_row([], |r| r.get(0))
            .optional()
            .map_err(db)
            .map(Option::unwrap_or_default)
    }

    fn put_queue(
        &self,
        name: &str,
        channel: QueueChannel,
        capacity: Option<u32>,
        source: QueueSource,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO queues (name, channel, capacity, source, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET
                     channel = excluded.channel, capacity = excluded.capacity,
                     source = excluded.source
                 WHERE channel IS NOT excluded.channel OR capacity IS NOT excluded.capacity
                     OR source IS NOT excluded.source",
            )
            .map_err(db)?
            .execute(params![
                name,
                channel.as_str(),
                capacity,
                source.as_str(),
                ts(now)
            ])
            .map_err(db)?;
        Ok(())
    }

    fn delete_queue(&self, name: &str) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM queues WHERE name = ?1")
            .map_err(db)?
            .execute(params![name])
            .map_err(db)?;
        Ok(n > 0)
    }

    fn assign_member(
        &self,
        queue: &str,
        login: &str,
        source: QueueSource,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO queue_members (queue, login, joined, source, changed_at)
                 SELECT name, ?2, 1, ?3, ?4 FROM queues WHERE name = ?1
                 ON CONFLICT (queue, login) DO UPDATE SET source = excluded.source
                 WHERE source IS NOT excluded.source",
            )
            .map_err(db)?
            .execute(params![queue, login, source.as_str(), ts(now)])
            .map_err(db)?;
        if n > 0 {
            return Ok(true);
        }
        // Nothing written: either no such queue, or already assigned as asked.
        self.queue_member_exists(queue, login)
    }

    fn unassign_member(&self, queue: &str, login: &str) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM queue_members WHERE queue = ?1 AND login = ?2")
            .map_err(db)?
            .execute(params![queue, login])
            .map_err(db)?;
        Ok(n > 0)
    }

    fn set_member_joined(
        &self,
        queue: &str,
        login: &str,
        joined: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE queue_members SET joined = ?3, changed_at = ?4
                 WHERE queue = ?1 AND login = ?2 AND joined IS NOT ?3",
            )
            .map_err(db)?
            .execute(params![queue, login, joined, ts(now)])
            .map_err(db)?;
        Ok(n > 0 || self.queue_member_exists(queue, login)?)
    }

    fn setting(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")
            .map_err(db)?
            .query_row(params![key], |r| r.get(0))
            .optional()
            .map_err(db)
    }

    fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .map_err(db)?
            .execute(params![key, value])
            .map_err(db)?;
        Ok(())
    }
}

impl SqliteTx<'_> {
    fn queue_member_exists(&self, queue: &str, login: &str) -> Result<bool> {
        self.conn
            .prepare_cached("SELECT 1 FROM queue_members WHERE queue = ?1 AND login = ?2")
            .map_err(db)?
            .exists(params![queue, login])
            .map_err(db)
    }
}

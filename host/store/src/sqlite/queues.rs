//! Queues and memberships (`queues`, `queue_members`; `queue_rev` kept by
//! the triggers of their migration) and the store's own settings.

use super::db;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteTx;
use crate::{QueueTx, parse_ts, ts};
use dossier_sdk::{CaseNumber, FollowUpId};
use dossier_types::queues::{
    EmailOffer, EmailOfferState, Queue, QueueChannel, QueueMember, QueueSource,
};
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

const OFFER_COLUMNS: &str = "id, queue, case_number, follow_up_id, subject, sender, state,
    arrived_at, agent, deadline, offers";

fn offer_from_row(row: &Row<'_>) -> Result<EmailOffer> {
    let state: String = row.get(6).map_err(db)?;
    let deadline: Option<String> = row.get(9).map_err(db)?;
    Ok(EmailOffer {
        id: row.get(0).map_err(db)?,
        queue: row.get(1).map_err(db)?,
        case_number: CaseNumber(row.get(2).map_err(db)?),
        follow_up: row.get::<_, Option<i64>>(3).map_err(db)?.map(FollowUpId),
        subject: row.get(4).map_err(db)?,
        sender: row.get(5).map_err(db)?,
        state: EmailOfferState::parse(&state)
            .ok_or_else(|| Error::Corrupt(format!("email offer state `{state}`")))?,
        arrived_at: parse_ts(&row.get::<_, String>(7).map_err(db)?)?,
        agent: row.get(8).map_err(db)?,
        deadline: deadline.as_deref().map(parse_ts).transpose()?,
        offers: row.get(10).map_err(db)?,
    })
}

impl SqliteTx<'_> {
    fn offers_where(&self, sql: &str, values: &[&dyn rusqlite::ToSql]) -> Result<Vec<EmailOffer>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db)?;
        let mut rows = stmt.query(values).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(offer_from_row(row)?);
        }
        Ok(out)
    }

    fn ids(&self, sql: &str, values: &[&dyn rusqlite::ToSql]) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db)?;
        let mut rows = stmt.query(values).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(row.get(0).map_err(db)?);
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

    fn queue_names(&self, channel: QueueChannel) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name FROM queues WHERE channel = ?1 ORDER BY name")
            .map_err(db)?;
        let mut rows = stmt.query(params![channel.as_str()]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(row.get(0).map_err(db)?);
        }
        Ok(out)
    }

    fn queue_capacity(&self, name: &str) -> Result<Option<(QueueChannel, Option<u32>)>> {
        let found: Option<(String, Option<u32>)> = self
            .conn
            .prepare_cached("SELECT channel, capacity FROM queues WHERE name = ?1")
            .map_err(db)?
            .query_row(params![name], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(db)?;
        found
            .map(|(kind, capacity)| -> Result<_> { Ok((channel(&kind)?, capacity)) })
            .transpose()
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

    fn insert_email_offer(
        &self,
        queue: &str,
        case: CaseNumber,
        follow_up: Option<FollowUpId>,
        subject: &str,
        sender: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO email_offers
                     (queue, case_number, follow_up_id, subject, sender, state, arrived_at)
                 SELECT name, ?2, ?3, ?4, ?5, 'waiting', ?6 FROM queues
                 WHERE name = ?1 AND channel = 'email'",
            )
            .map_err(db)?
            .execute(params![
                queue,
                case.0,
                follow_up.map(|f| f.0),
                subject,
                sender,
                ts(now)
            ])
            .map_err(db)?;
        Ok((n > 0).then(|| self.conn.last_insert_rowid()))
    }

    fn email_offer(&self, id: i64) -> Result<Option<EmailOffer>> {
        let sql = format!("SELECT {OFFER_COLUMNS} FROM email_offers WHERE id = ?1");
        Ok(self.offers_where(&sql, &[&id])?.pop())
    }

    fn email_offers_of(&self, agent: &str) -> Result<Vec<EmailOffer>> {
        let sql = format!(
            "SELECT {OFFER_COLUMNS} FROM email_offers
             WHERE agent = ?1 AND state IN ('offered', 'accepted') ORDER BY id"
        );
        self.offers_where(&sql, &[&agent])
    }

    fn waiting_email_offers(&self, queue: &str, limit: u32) -> Result<Vec<i64>> {
        self.ids(
            "SELECT id FROM email_offers WHERE queue = ?1 AND state = 'waiting'
             ORDER BY arrived_at, id LIMIT ?2",
            &[&queue, &limit],
        )
    }

    fn pick_email_agent(&self, queue: &str, capacity: u32) -> Result<Option<String>> {
        self.conn
            .prepare_cached(EMAIL_PICK_SQL)
            .map_err(db)?
            .query_row(params![queue, capacity], |r| r.get(0))
            .optional()
            .map_err(db)
    }

    fn claim_email_offer(
        &self,
        id: i64,
        agent: &str,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE email_offers SET state = 'offered', agent = ?2, offered_at = ?3,
                     deadline = ?4, offers = offers + 1
                 WHERE id = ?1 AND state = 'waiting'",
            )
            .map_err(db)?
            .execute(params![id, agent, ts(now), ts(deadline)])
            .map_err(db)?;
        Ok(n > 0)
    }

    fn accept_email_offer(
        &self,
        id: i64,
        agent: &str,
        now: DateTime<Utc>,
        workbin_id: i64,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE email_offers SET state = 'accepted', accepted_at = ?3, deadline = NULL,
                     workbin_id = ?4
                 WHERE id = ?1 AND state = 'offered' AND agent = ?2 AND deadline > ?3",
            )
            .map_err(db)?
            .execute(params![id, agent, ts(now), workbin_id])
            .map_err(db)?;
        Ok(n > 0)
    }

    fn return_email_offer(
        &self,
        id: i64,
        agent: &str,
        due_at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE email_offers SET state = 'waiting', agent = NULL, deadline = NULL
                 WHERE id = ?1 AND state = 'offered' AND agent = ?2
                 AND (?3 IS NULL OR deadline <= ?3)",
            )
            .map_err(db)?
            .execute(params![id, agent, due_at.map(ts)])
            .map_err(db)?;
        Ok(n > 0)
    }

    fn due_email_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<i64>> {
        self.ids(
            "SELECT id FROM email_offers WHERE state = 'offered' AND deadline <= ?1
             ORDER BY deadline, id LIMIT ?2",
            &[&ts(now), &limit],
        )
    }

    fn next_email_deadline(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<String> = self
            .conn
            .prepare_cached("SELECT min(deadline) FROM email_offers WHERE state = 'offered'")
            .map_err(db)?
            .query_row([], |r| r.get(0))
            .map_err(db)?;
        next.as_deref().map(parse_ts).transpose()
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

/// An email queue's pick: the joined, available, enabled member of queue
/// `?1` below capacity `?2` with the fewest open email items, then idle
/// longest, then by login. `CROSS JOIN` keeps SQLite's join order: it walks
/// `email_load_pick` in that order and stops at the first agent who
/// qualifies (each check a primary-key probe), so a pick does not grow
/// with the queue.
pub const EMAIL_PICK_SQL: &str = "SELECT l.login
     FROM email_load l
     CROSS JOIN queue_members m ON m.queue = ?1 AND m.login = l.login AND m.joined
     CROSS JOIN chat_agents c ON c.login = l.login AND c.state = 'available'
     CROSS JOIN agents a ON a.login = l.login AND NOT a.disabled
     WHERE l.open < ?2
     ORDER BY l.open, l.last, l.login
     LIMIT 1";

impl SqliteTx<'_> {
    fn queue_member_exists(&self, queue: &str, login: &str) -> Result<bool> {
        self.conn
            .prepare_cached("SELECT 1 FROM queue_members WHERE queue = ?1 AND login = ?2")
            .map_err(db)?
            .exists(params![queue, login])
            .map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::EMAIL_PICK_SQL;
    use rusqlite::Connection;

    /// The pick walks `email_load_pick` in its order and sorts nothing, so
    /// it stops at the first member who qualifies however long the queue.
    #[test]
    fn the_email_pick_walks_the_load_index_in_order_and_sorts_nothing() {
        let conn = Connection::open_in_memory().expect("db");
        super::super::migrations::run(&conn).expect("migrated");
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {EMAIL_PICK_SQL}"))
            .expect("plan")
            .query_map(rusqlite::params!["billing", 5], |r| r.get(3))
            .expect("rows")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        let plan = plan.join("\n");
        assert!(
            plan.lines().next().is_some_and(|first| first.contains("l USING")
                && first.contains("email_load_pick")),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}

//! The event log's rows (`event_log`, migration 15).

use chrono::{DateTime, Utc};
use rusqlite::{Row, params};

use super::{SqliteTx, db};
use crate::{EventLogTx, EventScope, LogBounds, LoggedEvent, parse_ts, ts};
use dossier_types::Result;

const COLUMNS: &str = "seq, agent, chat, kind, data, at";

fn event_from_row(row: &Row<'_>) -> Result<LoggedEvent> {
    Ok(LoggedEvent {
        seq: row.get(0).map_err(db)?,
        agent: row.get(1).map_err(db)?,
        chat: row.get(2).map_err(db)?,
        kind: row.get(3).map_err(db)?,
        data: row.get(4).map_err(db)?,
        at: parse_ts(&row.get::<_, String>(5).map_err(db)?)?,
    })
}

impl EventLogTx for SqliteTx<'_> {
    fn log_event(
        &self,
        agent: Option<&str>,
        chat: Option<i64>,
        kind: &str,
        data: &str,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO event_log (agent, chat, kind, data, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?
            .execute(params![agent, chat, kind, data, ts(at)])
            .map_err(db)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn events_after(
        &self,
        after: i64,
        scope: EventScope<'_>,
        limit: u32,
    ) -> Result<Vec<LoggedEvent>> {
        let (sql, key): (String, rusqlite::types::Value) = match scope {
            // The key is NULL and unused: every statement takes the same
            // three parameters.
            EventScope::All => (
                format!(
                    "SELECT {COLUMNS} FROM event_log WHERE seq > ?1 AND ?2 IS NULL ORDER BY seq LIMIT ?3"
                ),
                rusqlite::types::Value::Null,
            ),
            EventScope::Agent(login) => (
                format!(
                    "SELECT {COLUMNS} FROM event_log WHERE agent = ?2 AND seq > ?1 ORDER BY seq LIMIT ?3"
                ),
                login.to_owned().into(),
            ),
            EventScope::Chat(chat) => (
                format!(
                    "SELECT {COLUMNS} FROM event_log WHERE chat = ?2 AND seq > ?1 ORDER BY seq LIMIT ?3"
                ),
                chat.into(),
            ),
        };
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query(params![after, key, limit]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(event_from_row(row)?);
        }
        Ok(out)
    }

    fn event_log_bounds(&self) -> Result<LogBounds> {
        // AUTOINCREMENT keeps the last number given in sqlite_sequence,
        // even after every row is pruned.
        self.conn
            .prepare_cached(
                "SELECT (SELECT min(seq) FROM event_log),
                        coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event_log'), 0)",
            )
            .map_err(db)?
            .query_row([], |r| {
                Ok(LogBounds {
                    first: r.get(0)?,
                    last: r.get(1)?,
                })
            })
            .map_err(db)
    }

    fn oldest_event_at(&self) -> Result<Option<DateTime<Utc>>> {
        let oldest: Option<String> = self
            .conn
            .prepare_cached("SELECT min(at) FROM event_log")
            .map_err(db)?
            .query_row([], |r| r.get(0))
            .map_err(db)?;
        oldest.as_deref().map(parse_ts).transpose()
    }

    fn prune_events(&self, before: DateTime<Utc>) -> Result<usize> {
        self.conn
            .prepare_cached("DELETE FROM event_log WHERE at < ?1")
            .map_err(db)?
            .execute([ts(before)])
            .map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{at, temp_store};
    use crate::{EventScope, Tx};

    #[test]
    fn events_come_back_in_order_per_scope_and_the_last_number_survives_pruning() {
        let (_dir, store) = temp_store();
        store
            .write("log", |tx: &dyn Tx| {
                tx.log_event(Some("ann"), None, "pop", "{}", at(10))?;
                tx.log_event(Some("bob"), Some(7), "offered", "{}", at(20))?;
                tx.log_event(Some("ann"), Some(7), "message", "{}", at(30))?;
                Ok(())
            })
            .expect("write");
        let ann = store
            .read(|tx| tx.events_after(0, EventScope::Agent("ann"), 10))
            .expect("ann");
        assert_eq!(
            ann.iter()
                .map(|e| (e.seq, e.kind.as_str()))
                .collect::<Vec<_>>(),
            [(1, "pop"), (3, "message")]
        );
        let chat = store
            .read(|tx| tx.events_after(1, EventScope::Chat(7), 10))
            .expect("chat");
        assert_eq!(chat.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
        let all = store
            .read(|tx| tx.events_after(1, EventScope::All, 1))
            .expect("all");
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [2]);
        let pruned = store
            .write("prune", |tx: &dyn Tx| tx.prune_events(at(100)))
            .expect("prune");
        assert_eq!(pruned, 3);
        let bounds = store.read(|tx| tx.event_log_bounds()).expect("bounds");
        assert_eq!((bounds.first, bounds.last), (None, 3));
        let next = store
            .write("log", |tx: &dyn Tx| {
                tx.log_event(None, None, "x", "{}", at(200))
            })
            .expect("next");
        assert_eq!(next, 4, "numbers are never reused");
    }
}

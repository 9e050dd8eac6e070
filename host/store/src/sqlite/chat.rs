//! Chat routing rows, transcripts and the push feed.

use super::db;
use chrono::{DateTime, Utc};
use dossier_sdk::{CaseNumber, CustomerId};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use super::SqliteTx;
use crate::{ChatAgentRow, ChatEnd, ChatTx, from_json, parse_ts, ts};
use dossier_types::chat::{
    AgentState, Chat, ChatFilter, ChatMessage, ChatState, LogState, Sender, StateChange,
};
use dossier_types::{Error, Result};

/// The next value of the agents' change counter. `chat_agents_rev` is a
/// unique index, so `max` is one index step; the write lock makes it unique.
const NEXT_REV: &str = "(SELECT coalesce(max(rev), 0) + 1 FROM chat_agents)";

const AGENT_COLUMNS: &str = "login, state, active, pending, idle_since, state_since, reason, rev";

fn agent_from_row(row: &Row<'_>) -> Result<ChatAgentRow> {
    let state: String = row.get(1).map_err(db)?;
    Ok(ChatAgentRow {
        login: row.get(0).map_err(db)?,
        state: AgentState::parse(&state)
            .ok_or_else(|| Error::Corrupt(format!("chat agent state `{state}`")))?,
        active: row.get(2).map_err(db)?,
        pending: row.get(3).map_err(db)?,
        idle_since: parse_ts(&row.get::<_, String>(4).map_err(db)?)?,
        state_since: parse_ts(&row.get::<_, String>(5).map_err(db)?)?,
        reason: row.get(6).map_err(db)?,
        rev: row.get(7).map_err(db)?,
    })
}

const CHAT_COLUMNS: &str = "id, queue, state, interaction, arrived_at, agent, offered_at, deadline,
    accepted_at, ended_at, offers, pop, customer_id, disposition, note, log, case_number, log_draft";

fn opt_ts(value: Option<String>) -> Result<Option<DateTime<Utc>>> {
    value.as_deref().map(parse_ts).transpose()
}

fn chat_from_row(row: &Row<'_>) -> Result<Chat> {
    let state: String = row.get(2).map_err(db)?;
    let log: String = row.get(15).map_err(db)?;
    let pop: Option<String> = row.get(11).map_err(db)?;
    Ok(Chat {
        id: row.get(0).map_err(db)?,
        queue: row.get(1).map_err(db)?,
        state: ChatState::parse(&state)
            .ok_or_else(|| Error::Corrupt(format!("chat state `{state}`")))?,
        interaction: from_json("chat interaction", &row.get::<_, String>(3).map_err(db)?)?,
        arrived_at: parse_ts(&row.get::<_, String>(4).map_err(db)?)?,
        agent: row.get(5).map_err(db)?,
        offered_at: opt_ts(row.get(6).map_err(db)?)?,
        deadline: opt_ts(row.get(7).map_err(db)?)?,
        accepted_at: opt_ts(row.get(8).map_err(db)?)?,
        ended_at: opt_ts(row.get(9).map_err(db)?)?,
        offers: row.get(10).map_err(db)?,
        pop: pop
            .as_deref()
            .map(|p| from_json("chat pop", p))
            .transpose()?,
        customer: row.get::<_, Option<i64>>(12).map_err(db)?.map(CustomerId),
        disposition: row.get(13).map_err(db)?,
        note: row.get(14).map_err(db)?,
        log: LogState::parse(&log).ok_or_else(|| Error::Corrupt(format!("chat log `{log}`")))?,
        case_number: row.get::<_, Option<i64>>(16).map_err(db)?.map(CaseNumber),
        log_draft: row.get(17).map_err(db)?,
    })
}

fn message_from_row(row: &Row<'_>) -> Result<ChatMessage> {
    let sender: String = row.get(2).map_err(db)?;
    Ok(ChatMessage {
        id: row.get(0).map_err(db)?,
        chat: row.get(1).map_err(db)?,
        sender: match sender.as_str() {
            "customer" => Sender::Customer,
            "agent" => Sender::Agent,
            other => return Err(Error::Corrupt(format!("chat message sender `{other}`"))),
        },
        author: row.get(3).map_err(db)?,
        text: row.get(4).map_err(db)?,
        at: parse_ts(&row.get::<_, String>(5).map_err(db)?)?,
    })
}

impl SqliteTx<'_> {
    fn agent_row_where(&self, sql: &str, values: &[Value]) -> Result<Option<ChatAgentRow>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db)?;
        let mut rows = stmt.query(params_from_iter(values)).map_err(db)?;
        match rows.next().map_err(db)? {
            Some(row) => Ok(Some(agent_from_row(row)?)),
            None => Ok(None),
        }
    }

    fn chats_where(&self, sql: &str, values: Vec<Value>) -> Result<Vec<Chat>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db)?;
        let mut rows = stmt.query(params_from_iter(values)).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(chat_from_row(row)?);
        }
        Ok(out)
    }
}

impl ChatTx for SqliteTx<'_> {
    fn set_visitor_secret(&self, id: i64, hash: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE chats SET visitor_secret = ?2 WHERE id = ?1")
            .map_err(db)?
            .execute(params![id, hash])
            .map_err(db)
            .map(drop)
    }

    fn visitor_secret(&self, id: i64) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT visitor_secret FROM chats WHERE id = ?1")
            .map_err(db)?
            .query_row([id], |r| r.get::<_, Option<String>>(0))
            .optional()
            .map_err(db)
            .map(Option::flatten)
    }

    fn chat_agent(&self, login: &str) -> Result<Option<ChatAgentRow>> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM chat_agents WHERE login = ?1");
        self.agent_row_where(&sql, &[login.to_owned().into()])
    }

    fn chat_agents_since(&self, rev: i64) -> Result<Vec<ChatAgentRow>> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM chat_agents WHERE rev > ?1 ORDER BY rev");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query([rev]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(agent_from_row(row)?);
        }
        Ok(out)
    }

    fn chat_agent_set_state(
        &self,
        login: &str,
        state: AgentState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ChatAgentRow> {
        // In an upsert's SET every unqualified column is the old row's value.
        let sql = format!(
            "INSERT INTO chat_agents ({AGENT_COLUMNS})
             VALUES (?1, ?2, 0, 0, ?3, ?3, ?4, {NEXT_REV})
             ON CONFLICT (login) DO UPDATE SET
                 idle_since = CASE WHEN excluded.state = 'available' AND state <> 'available'
                                   THEN excluded.idle_since ELSE idle_since END,
                 state_since = CASE WHEN excluded.state <> state
                                    THEN excluded.state_since ELSE state_since END,
                 state = excluded.state,
                 reason = excluded.reason,
                 rev = excluded.rev
             RETURNING {AGENT_COLUMNS}"
        );
        let row = self
            .agent_row_where(
                &sql,
                &[
                    login.to_owned().into(),
                    state.as_str().to_owned().into(),
                    ts(now).into(),
                    reason.map(str::to_owned).into(),
                ],
            )?
            .ok_or_else(|| Error::Corrupt(format!("chat agent {login}: upsert returned no row")))?;
        self.chat_agent_log(login, state.as_str(), reason, now)?;
        Ok(row)
    }

    fn chat_agent_claim(
        &self,
        login: &str,
        capacity: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<ChatAgentRow>> {
        let sql = format!(
            "UPDATE chat_agents SET pending = pending + 1, idle_since = ?3, rev = {NEXT_REV}
             WHERE login = ?1 AND state = 'available' AND active + pending < ?2
               AND EXISTS (SELECT 1 FROM agents WHERE login = ?1 AND disabled = 0)
             RETURNING {AGENT_COLUMNS}"
        );
        self.agent_row_where(
            &sql,
            &[
                login.to_owned().into(),
                i64::from(capacity).into(),
                ts(now).into(),
            ],
        )
    }

    fn chat_agent_settle(&self, login: &str, accepted: bool) -> Result<ChatAgentRow> {
        let sql = format!(
            "UPDATE chat_agents SET pending = pending - 1, active = active + ?2, rev = {NEXT_REV}
             WHERE login = ?1 AND pending > 0
             RETURNING {AGENT_COLUMNS}"
        );
        self.agent_row_where(&sql, &[login.to_owned().into(), i64::from(accepted).into()])?
            .ok_or_else(|| Error::Corrupt(format!("chat agent {login} has no pending offer")))
    }

    fn chat_agent_finish(&self, login: &str, now: DateTime<Utc>) -> Result<ChatAgentRow> {
        let sql = format!(
            "UPDATE chat_agents SET active = active - 1, idle_since = ?2, rev = {NEXT_REV}
             WHERE login = ?1 AND active > 0
             RETURNING {AGENT_COLUMNS}"
        );
        self.agent_row_where(&sql, &[login.to_owned().into(), ts(now).into()])?
            .ok_or_else(|| Error::Corrupt(format!("chat agent {login} has no active chat")))
    }

    fn chat_agent_log(
        &self,
        login: &str,
        state: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO chat_agent_log (login, state, reason, at) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(db)?
            .execute(params![login, state, reason, ts(now)])
            .map_err(db)?;
        Ok(())
    }

    fn chat_agent_history(&self, login: &str, limit: u32) -> Result<Vec<StateChange>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT login, state, reason, at FROM chat_agent_log WHERE login = ?1
             ORDER BY id DESC LIMIT ?2",
            )
            .map_err(db)?;
        let mut rows = stmt.query(params![login, limit]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(StateChange {
                login: row.get(0).map_err(db)?,
                state: row.get(1).map_err(db)?,
                reason: row.get(2).map_err(db)?,
                at: parse_ts(&row.get::<_, String>(3).map_err(db)?)?,
            });
        }
        Ok(out)
    }

    fn insert_chat(&self, queue: &str, interaction: &str, now: DateTime<Utc>) -> Result<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO chats (queue, state, interaction, arrived_at)
                 VALUES (?1, 'waiting', ?2, ?3)",
            )
            .map_err(db)?
            .execute(params![queue, interaction, ts(now)])
            .map_err(db)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn chat(&self, id: i64) -> Result<Option<Chat>> {
        let sql = format!("SELECT {CHAT_COLUMNS} FROM chats WHERE id = ?1");
        Ok(self.chats_where(&sql, vec![id.into()])?.pop())
    }

    fn oldest_waiting(&self, queue: &str, skip: &[i64]) -> Result<Option<(DateTime<Utc>, i64)>> {
        // Nothing to skip is the common case (the arrival's head of line,
        // the next in line after each offer): a statement without the JSON
        // list, on the same index, with the same answer.
        let found: Option<(String, i64)> = if skip.is_empty() {
            self.conn
                .prepare_cached(
                    "SELECT arrived_at, id FROM chats
                     WHERE state = 'waiting' AND queue = ?1
                     ORDER BY arrived_at, id LIMIT 1",
                )
                .map_err(db)?
                .query_row(params![queue], |r| Ok((r.get(0)?, r.get(1)?)))
        } else {
            let skip = serde_json::to_string(skip).unwrap_or_else(|_| "[]".to_owned());
            self.conn
                .prepare_cached(
                    "SELECT arrived_at, id FROM chats
                     WHERE state = 'waiting' AND queue = ?1
                       AND id NOT IN (SELECT value FROM json_each(?2))
                     ORDER BY arrived_at, id LIMIT 1",
                )
                .map_err(db)?
                .query_row(params![queue, skip], |r| Ok((r.get(0)?, r.get(1)?)))
        }
        .optional()
        .map_err(db)?;
        found.map(|(at, id)| Ok((parse_ts(&at)?, id))).transpose()
    }

    fn chat_claim_offer(
        &self,
        id: i64,
        agent: &str,
        interaction: &str,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE chats SET state = 'offered', agent = ?2, interaction = ?3,
                     offered_at = ?4, deadline = ?5, offers = offers + 1
                 WHERE id = ?1 AND state = 'waiting'",
            )
            .map_err(db)?
            .execute(params![id, agent, interaction, ts(now), ts(deadline)])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn chat_move_offer(&self, id: i64, from: &str, to: &str, interaction: &str) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE chats SET agent = ?3, interaction = ?4
                 WHERE id = ?1 AND state = 'offered' AND agent = ?2",
            )
            .map_err(db)?
            .execute(params![id, from, to, interaction])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn chat_set_pop(&self, id: i64, pop: &str, customer: Option<CustomerId>) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE chats SET pop = ?2, customer_id = ?3 WHERE id = ?1")
            .map_err(db)?
            .execute(params![id, pop, customer.map(|c| c.0)])
            .map_err(db)?;
        Ok(())
    }

    fn chat_accept(&self, id: i64, agent: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE chats SET state = 'active', accepted_at = ?3, deadline = NULL
                 WHERE id = ?1 AND state = 'offered' AND agent = ?2 AND deadline > ?3",
            )
            .map_err(db)?
            .execute(params![id, agent, ts(now)])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn chat_return(&self, id: i64, agent: &str, due_at: Option<DateTime<Utc>>) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE chats SET state = 'waiting', agent = NULL, deadline = NULL,
                     interaction = json_set(interaction, '$.agent', NULL)
                 WHERE id = ?1 AND state = 'offered' AND agent = ?2
                   AND (?3 IS NULL OR deadline <= ?3)",
            )
            .map_err(db)?
            .execute(params![id, agent, due_at.map(ts)])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn chat_end(&self, id: i64, end: &ChatEnd<'_>) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE chats SET state = 'ended', ended_at = ?3, disposition = ?4, note = ?5,
                     log = ?6, log_text = ?7
                 WHERE id = ?1 AND state = 'active' AND agent = ?2",
            )
            .map_err(db)?
            .execute(params![
                id,
                end.agent,
                ts(end.now),
                end.disposition,
                end.note,
                end.log.as_str(),
                end.log_text
            ])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn chat_log_saved(&self, id: i64, case: CaseNumber, customer: CustomerId) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE chats SET log = 'saved', case_number = ?2, customer_id = ?3, log_text = NULL,
                                  log_draft = NULL
                 WHERE id = ?1 AND state = 'ended' AND log <> 'saved'",
            ).map_err(db)?
            .execute(params![id, case.0, customer.0]).map_err(db)?;
        Ok(n == 1)
    }

    fn chat_log_text(&self, id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT log_text FROM chats WHERE id = ?1")
            .map_err(db)?
            .query_row([id], |r| r.get::<_, Option<String>>(0))
            .optional()
            .map_err(db)?
            .flatten())
    }

    fn set_chat_log_draft(&self, id: i64, text: Option<&str>) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE chats SET log_draft = ?2 WHERE id = ?1 AND state = 'ended' AND log <> 'saved'",
            )
            .map_err(db)?
            .execute(params![id, text])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn due_chat_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id FROM chats WHERE state = 'offered' AND deadline <= ?1
             ORDER BY deadline, id LIMIT ?2",
            )
            .map_err(db)?;
        let ids = stmt
            .query_map(params![ts(now), limit], |r| r.get(0))
            .map_err(db)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db)?;
        Ok(ids)
    }

    fn next_chat_deadline(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<String> = self
            .conn
            .prepare_cached("SELECT min(deadline) FROM chats WHERE state = 'offered'")
            .map_err(db)?
            .query_row([], |r| r.get(0))
            .map_err(db)?;
        opt_ts(next)
    }

    fn list_chats(&self, filter: &ChatFilter, viewer: &crate::Viewer) -> Result<Vec<Chat>> {
        let mut conditions = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        if let crate::Viewer::Agent(login) = viewer {
            // A chat logged to a case is seen with that case.
            values.push(false.into());
            values.push(login.clone().into());
            conditions.push(format!(
                "(case_number IS NULL OR EXISTS (SELECT 1 FROM cases
                   WHERE number = chats.case_number AND {}))",
                super::cases::visible(values.len() - 1, values.len())
            ));
        }
        if let Some(agent) = &filter.agent {
            values.push(agent.clone().into());
            conditions.push(format!("agent = ?{}", values.len()));
        }
        if filter.needs_customer {
            conditions.push("log = 'needs_customer'".to_owned());
        }
        if !filter.states.is_empty() {
            let states: Vec<String> = filter
                .states
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect();
            conditions.push(format!("state IN ({})", states.join(", ")));
        }
        let mut sql = format!("SELECT {CHAT_COLUMNS} FROM chats");
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        values.push(i64::from(filter.limit.unwrap_or(100)).into());
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", values.len()));
        self.chats_where(&sql, values)
    }

    fn insert_chat_message(
        &self,
        chat: i64,
        sender: Sender,
        author: &str,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<ChatMessage> {
        self.conn
            .prepare_cached(
                "INSERT INTO chat_messages (chat, sender, author, text, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?
            .execute(params![chat, sender.as_str(), author, text, ts(now)])
            .map_err(db)?;
        Ok(ChatMessage {
            id: self.conn.last_insert_rowid(),
            chat,
            sender,
            author: author.to_owned(),
            text: text.to_owned(),
            at: now,
        })
    }

    fn chat_messages(&self, chat: i64) -> Result<Vec<ChatMessage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, chat, sender, author, text, at FROM chat_messages WHERE chat = ?1 ORDER BY id",
        ).map_err(db)?;
        let mut rows = stmt.query([chat]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(message_from_row(row)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::super::SqliteStore;
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(s)
    }

    #[test]
    fn a_claim_holds_only_below_capacity_for_an_available_enabled_agent() {
        let store = SqliteStore::in_memory().expect("store");
        store
            .write_as("claims", "BEGIN IMMEDIATE", |tx| {
                let conn = tx.conn;
                conn.execute_batch(
                    "INSERT INTO agents (login, display_name, role, created_at, updated_at)
                         VALUES ('ann', 'Ann', 'agent', 't', 't'), ('bob', 'Bob', 'agent', 't', 't');",
                ).map_err(db)?;
                let tx = SqliteTx::on(conn);
                assert!(tx.chat_agent_claim("ann", 2, at(1))?.is_none(), "no row: logged out");
                tx.chat_agent_set_state("ann", AgentState::Available, None, at(1))?;
                assert!(tx.chat_agent_claim("ann", 2, at(2))?.is_some());
                assert_eq!(tx.chat_agent_claim("ann", 2, at(3))?.map(|r| r.pending), Some(2));
                assert!(tx.chat_agent_claim("ann", 2, at(4))?.is_none(), "at capacity");
                let row = tx.chat_agent_settle("ann", true)?;
                assert_eq!((row.active, row.pending), (1, 1));
                assert!(tx.chat_agent_claim("ann", 2, at(5))?.is_none(), "an active chat counts too");
                let row = tx.chat_agent_finish("ann", at(6))?;
                assert_eq!((row.active, row.pending, row.idle_since), (0, 1, at(6)));
                tx.chat_agent_set_state("ann", AgentState::Break, Some("test"), at(7))?;
                assert!(tx.chat_agent_claim("ann", 2, at(8))?.is_none(), "on break");
                tx.chat_agent_set_state("bob", AgentState::Available, None, at(9))?;
                conn.execute_batch("UPDATE agents SET disabled = 1 WHERE login = 'bob'").map_err(db)?;
                assert!(tx.chat_agent_claim("bob", 2, at(10))?.is_none(), "disabled");
                // Every change took the next rev.
                let revs: Vec<i64> = tx.chat_agents_since(0)?.iter().map(|r| r.rev).collect();
                assert_eq!(revs.len(), 2);
                assert!(revs.iter().all(|r| *r > 0));
                assert_eq!(tx.chat_agents_since(revs[1])?.len(), 0);
                Ok(())
            })
            .expect("claims");
    }

    #[test]
    fn a_chat_is_offered_once_and_a_missed_deadline_returns_it_once() {
        let store = SqliteStore::in_memory().expect("store");
        store
            .write_as("offers", "BEGIN IMMEDIATE", |tx| {
                let conn = tx.conn;
                let tx = SqliteTx::on(conn);
                let id = tx.insert_chat("sales", r#"{"channel":"chat"}"#, at(0))?;
                assert!(tx.chat_claim_offer(id, "ann", r#"{"channel":"chat"}"#, at(1), at(31))?);
                assert!(!tx.chat_claim_offer(id, "bob", r#"{"channel":"chat"}"#, at(2), at(32))?);
                assert!(!tx.chat_return(id, "ann", Some(at(30)))?, "not due yet");
                assert!(!tx.chat_return(id, "bob", Some(at(40)))?, "not bob's");
                assert!(tx.chat_return(id, "ann", Some(at(31)))?);
                assert!(!tx.chat_return(id, "ann", Some(at(31)))?, "once");
                assert_eq!(tx.oldest_waiting("sales", &[])?, Some((at(0), id)));
                assert_eq!(tx.oldest_waiting("sales", &[id])?, None);
                assert!(tx.chat_claim_offer(id, "bob", r#"{"channel":"chat"}"#, at(40), at(70))?);
                assert!(
                    !tx.chat_accept(id, "bob", at(70))?,
                    "at the deadline: too late"
                );
                assert!(tx.chat_accept(id, "bob", at(69))?);
                let chat = tx.chat(id)?.expect("chat");
                assert_eq!((chat.state, chat.offers), (ChatState::Active, 2));
                Ok(())
            })
            .expect("offers");
    }
}

//! The email channel's tables: the ingest log, blob references, workbins.

use chrono::{DateTime, Utc};
use dossier_sdk::{CaseNumber, EmailHeaders, FollowUpId, WorkbinItem};
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteTx;
use crate::error::Result;
use crate::store::{EmailTx, InboundRecord, NewWorkbinItem, from_json, parse_ts, ts};

const WORKBIN_COLUMNS: &str = "w.id, w.agent, w.grp, w.case_number, c.subject, w.follow_up_id,
    (SELECT f.email FROM follow_ups f WHERE f.id = w.follow_up_id), w.reason, w.added_at,
    w.done_at, w.done_by";

fn workbin_from_row(row: &Row<'_>) -> Result<WorkbinItem> {
    let email: Option<String> = row.get(6)?;
    let from = email
        .map(|e| from_json::<EmailHeaders>("follow-up email headers", &e))
        .transpose()?
        .map(|h| h.from);
    let done: Option<String> = row.get(9)?;
    Ok(WorkbinItem {
        id: row.get(0)?,
        agent: row.get(1)?,
        group: row.get(2)?,
        case_number: CaseNumber(row.get(3)?),
        subject: row.get(4)?,
        follow_up: row.get::<_, Option<i64>>(5)?.map(FollowUpId),
        from,
        reason: row.get(7)?,
        added_at: parse_ts(&row.get::<_, String>(8)?)?,
        done_at: done.as_deref().map(parse_ts).transpose()?,
        done_by: row.get(10)?,
    })
}

impl EmailTx for SqliteTx<'_> {
    fn inbound(&self, key: &str) -> Result<Option<InboundRecord>> {
        Ok(self
            .conn
            .prepare_cached("SELECT follow_up_id, dropped FROM inbound_emails WHERE key = ?1")?
            .query_row([key], |r| {
                Ok(InboundRecord {
                    follow_up: r.get::<_, Option<i64>>(0)?.map(FollowUpId),
                    dropped: r.get(1)?,
                })
            })
            .optional()?)
    }

    fn insert_inbound(
        &self,
        key: &str,
        follow_up: Option<FollowUpId>,
        sender: &str,
        subject: &str,
        dropped: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO inbound_emails (key, follow_up_id, sender, subject, dropped, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                key,
                follow_up.map(|f| f.0),
                sender,
                subject,
                dropped,
                ts(at)
            ])?;
        Ok(())
    }

    fn add_blob_ref(&self, blob: &str, owner: &str, owner_id: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO blob_refs (blob, owner, owner_id) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![blob, owner, owner_id])?;
        Ok(())
    }

    fn cases_with_blob(&self, blob: &str) -> Result<Vec<CaseNumber>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT f.case_number FROM blob_refs b
             JOIN follow_ups f ON f.id = b.owner_id
             WHERE b.blob = ?1 AND b.owner = 'follow_up' ORDER BY 1",
        )?;
        let rows = stmt.query_map([blob], |r| r.get(0).map(CaseNumber))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn referenced_blobs(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT blob FROM blob_refs ORDER BY blob")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
    }

    fn last_agent_on_case(&self, case: CaseNumber) -> Result<Option<String>> {
        // Newest first along the (case_number, id) index; the first
        // author who is an agent.
        Ok(self
            .conn
            .prepare_cached(
                "SELECT f.author FROM follow_ups f
                 WHERE f.case_number = ?1 AND f.kind IN ('note', 'email_out', 'chat_log')
                   AND EXISTS (SELECT 1 FROM agents a WHERE a.login = f.author AND a.disabled = 0)
                 ORDER BY f.id DESC LIMIT 1",
            )?
            .query_row([case.0], |r| r.get(0))
            .optional()?)
    }

    fn thread_addresses(&self, case: CaseNumber) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT email FROM follow_ups WHERE case_number = ?1 AND email IS NOT NULL",
        )?;
        let rows = stmt.query_map([case.0], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            let headers: EmailHeaders = from_json("follow-up email headers", &row?)?;
            let all = std::iter::once(&headers.from)
                .chain(&headers.to)
                .chain(&headers.cc);
            for mailbox in all {
                let address = mailbox.address.to_lowercase();
                if !address.is_empty() && !out.contains(&address) {
                    out.push(address);
                }
            }
        }
        Ok(out)
    }

    fn insert_workbin(&self, item: &NewWorkbinItem<'_>) -> Result<i64> {
        let conn = self.conn;
        if let Some(follow_up) = item.follow_up {
            let existing: Option<i64> = conn
                .prepare_cached(
                    "SELECT id FROM workbin WHERE coalesce(agent, '') = coalesce(?1, '')
                       AND coalesce(grp, '') = coalesce(?2, '') AND follow_up_id = ?3
                       AND done_at IS NULL",
                )?
                .query_row(params![item.agent, item.group, follow_up.0], |r| r.get(0))
                .optional()?;
            if let Some(id) = existing {
                return Ok(id);
            }
        }
        conn.prepare_cached(
            "INSERT INTO workbin (agent, grp, case_number, follow_up_id, reason, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            item.agent,
            item.group,
            item.case_number.0,
            item.follow_up.map(|f| f.0),
            item.reason,
            ts(item.at)
        ])?;
        Ok(conn.last_insert_rowid())
    }

    fn workbin(
        &self,
        agent: &str,
        groups: &[String],
        include_done: bool,
    ) -> Result<Vec<WorkbinItem>> {
        let groups = serde_json::to_string(groups).unwrap_or_else(|_| "[]".to_owned());
        let sql = format!(
            "SELECT {WORKBIN_COLUMNS} FROM workbin w JOIN cases c ON c.number = w.case_number
             WHERE (w.agent = ?1 OR w.grp IN (SELECT value FROM json_each(?2)))
               AND (?3 OR w.done_at IS NULL)
             ORDER BY w.id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![agent, groups, include_done])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(workbin_from_row(row)?);
        }
        Ok(out)
    }

    fn workbin_item(&self, id: i64) -> Result<Option<WorkbinItem>> {
        let sql = format!(
            "SELECT {WORKBIN_COLUMNS} FROM workbin w JOIN cases c ON c.number = w.case_number
             WHERE w.id = ?1"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            Some(row) => Ok(Some(workbin_from_row(row)?)),
            None => Ok(None),
        }
    }

    fn workbin_done(&self, id: i64, by: &str, at: DateTime<Utc>) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE workbin SET done_at = ?2, done_by = ?3 WHERE id = ?1 AND done_at IS NULL",
            )?
            .execute(params![id, ts(at), by])?;
        Ok(changed == 1)
    }
}

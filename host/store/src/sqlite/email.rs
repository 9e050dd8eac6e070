//! The email channel's tables: the ingest log, blob references, workbins.

use super::db;
use chrono::{DateTime, Utc};
use dossier_sdk::{
    CaseNumber, Draft, EmailHeaders, FollowUpId, HeldEmail, HeldState, ReviewStep, WorkbinItem,
};
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteTx;
use crate::{EmailTx, InboundRecord, NewHeldEmail, NewWorkbinItem, from_json, parse_ts, ts};
use dossier_types::Result;

const WORKBIN_COLUMNS: &str = "w.id, w.agent, w.grp, w.case_number, c.subject, w.follow_up_id,
    (SELECT f.email FROM follow_ups f WHERE f.id = w.follow_up_id), w.reason, w.added_at,
    w.done_at, w.done_by, w.draft_id";

fn workbin_from_row(row: &Row<'_>) -> Result<WorkbinItem> {
    let email: Option<String> = row.get(6).map_err(db)?;
    let from = email
        .map(|e| from_json::<EmailHeaders>("follow-up email headers", &e))
        .transpose()?
        .map(|h| h.from);
    let done: Option<String> = row.get(9).map_err(db)?;
    Ok(WorkbinItem {
        id: row.get(0).map_err(db)?,
        agent: row.get(1).map_err(db)?,
        group: row.get(2).map_err(db)?,
        case_number: CaseNumber(row.get(3).map_err(db)?),
        subject: row.get(4).map_err(db)?,
        follow_up: row.get::<_, Option<i64>>(5).map_err(db)?.map(FollowUpId),
        from,
        reason: row.get(7).map_err(db)?,
        added_at: parse_ts(&row.get::<_, String>(8).map_err(db)?)?,
        done_at: done.as_deref().map(parse_ts).transpose()?,
        done_by: row.get(10).map_err(db)?,
        draft: row.get(11).map_err(db)?,
    })
}

/// What of a draft is kept as JSON: everything an agent edits.
#[derive(serde::Serialize, serde::Deserialize)]
struct DraftContent {
    from: Option<dossier_sdk::Mailbox>,
    to: Vec<dossier_sdk::Mailbox>,
    cc: Vec<dossier_sdk::Mailbox>,
    bcc: Vec<dossier_sdk::Mailbox>,
    subject: String,
    body: String,
    html: Option<String>,
    attachments: Vec<dossier_sdk::Attachment>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    opened_case: bool,
}

const DRAFT_COLUMNS: &str =
    "id, agent, case_number, kind, answers, content, state, follow_up_id, created_at, updated_at,
     remarks";

fn draft_from_row(row: &Row<'_>) -> Result<Draft> {
    let content: DraftContent = from_json("draft", &row.get::<_, String>(5).map_err(db)?)?;
    let kind: String = row.get(3).map_err(db)?;
    let state: String = row.get(6).map_err(db)?;
    Ok(Draft {
        id: row.get(0).map_err(db)?,
        agent: row.get(1).map_err(db)?,
        case_number: CaseNumber(row.get(2).map_err(db)?),
        kind: kind.parse().map_err(dossier_types::Error::Corrupt)?,
        answers: row.get::<_, Option<i64>>(4).map_err(db)?.map(FollowUpId),
        from: content.from,
        to: content.to,
        cc: content.cc,
        bcc: content.bcc,
        subject: content.subject,
        body: content.body,
        html: content.html,
        attachments: content.attachments,
        signature: content.signature,
        opened_case: content.opened_case,
        state: state.parse().map_err(dossier_types::Error::Corrupt)?,
        follow_up: row.get::<_, Option<i64>>(7).map_err(db)?.map(FollowUpId),
        created_at: parse_ts(&row.get::<_, String>(8).map_err(db)?)?,
        updated_at: parse_ts(&row.get::<_, String>(9).map_err(db)?)?,
        remarks: row.get(10).map_err(db)?,
    })
}

fn draft_content(d: &Draft) -> String {
    crate::to_json(&DraftContent {
        from: d.from.clone(),
        to: d.to.clone(),
        cc: d.cc.clone(),
        bcc: d.bcc.clone(),
        subject: d.subject.clone(),
        body: d.body.clone(),
        html: d.html.clone(),
        attachments: d.attachments.clone(),
        signature: d.signature.clone(),
        opened_case: d.opened_case,
    })
}

const HELD_COLUMNS: &str =
    "id, key, source, sender, subject, reason, length(raw), held_at, state, closed_by, closed_at";

fn held_from_row(row: &Row<'_>) -> Result<HeldEmail> {
    let state: String = row.get(8).map_err(db)?;
    let closed: Option<String> = row.get(10).map_err(db)?;
    Ok(HeldEmail {
        id: row.get(0).map_err(db)?,
        key: row.get(1).map_err(db)?,
        source: row.get(2).map_err(db)?,
        sender: row.get(3).map_err(db)?,
        subject: row.get(4).map_err(db)?,
        reason: row.get(5).map_err(db)?,
        size: row.get::<_, i64>(6).map_err(db)?.max(0).unsigned_abs(),
        held_at: parse_ts(&row.get::<_, String>(7).map_err(db)?)?,
        state: match state.as_str() {
            "released" => HeldState::Released,
            "discarded" => HeldState::Discarded,
            _ => HeldState::Held,
        },
        closed_by: row.get(9).map_err(db)?,
        closed_at: closed.as_deref().map(parse_ts).transpose()?,
    })
}

impl EmailTx for SqliteTx<'_> {
    fn hold_email(&self, held: &NewHeldEmail<'_>) -> Result<i64> {
        let waiting: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM held_emails WHERE key = ?1 AND state = 'held'")
            .map_err(db)?
            .query_row([held.key], |r| r.get(0))
            .optional()
            .map_err(db)?;
        if let Some(id) = waiting {
            self.conn
                .prepare_cached("UPDATE held_emails SET reason = ?2, held_at = ?3 WHERE id = ?1")
                .map_err(db)?
                .execute(params![id, held.reason, ts(held.at)])
                .map_err(db)?;
            return Ok(id);
        }
        self.conn
            .prepare_cached(
                "INSERT INTO held_emails (key, source, sender, subject, reason, raw, held_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(db)?
            .execute(params![
                held.key,
                held.source,
                held.sender,
                held.subject,
                held.reason,
                held.raw,
                ts(held.at)
            ])
            .map_err(db)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn held_emails(&self, all: bool) -> Result<Vec<HeldEmail>> {
        let sql = format!(
            "SELECT {HELD_COLUMNS} FROM held_emails {} ORDER BY id",
            if all { "" } else { "WHERE state = 'held'" }
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(held_from_row(row)?);
        }
        Ok(out)
    }

    fn held_email(&self, id: i64) -> Result<Option<(HeldEmail, Vec<u8>)>> {
        let sql = format!("SELECT {HELD_COLUMNS}, raw FROM held_emails WHERE id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query([id]).map_err(db)?;
        match rows.next().map_err(db)? {
            Some(row) => Ok(Some((held_from_row(row)?, row.get(11).map_err(db)?))),
            None => Ok(None),
        }
    }

    fn close_held_email(
        &self,
        id: i64,
        state: HeldState,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE held_emails SET state = ?2, closed_by = ?3, closed_at = ?4
                 WHERE id = ?1 AND state = 'held'",
            )
            .map_err(db)?
            .execute(params![id, state.as_str(), by, ts(at)])
            .map_err(db)?;
        Ok(changed == 1)
    }

    fn inbound(&self, key: &str) -> Result<Option<InboundRecord>> {
        self.conn
            .prepare_cached("SELECT follow_up_id, dropped FROM inbound_emails WHERE key = ?1")
            .map_err(db)?
            .query_row([key], |r| {
                Ok(InboundRecord {
                    follow_up: r.get::<_, Option<i64>>(0)?.map(FollowUpId),
                    dropped: r.get(1)?,
                })
            })
            .optional()
            .map_err(db)
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
            ).map_err(db)?
            .execute(params![
                key,
                follow_up.map(|f| f.0),
                sender,
                subject,
                dropped,
                ts(at)
            ]).map_err(db)?;
        Ok(())
    }

    fn add_blob_ref(&self, blob: &str, owner: &str, owner_id: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO blob_refs (blob, owner, owner_id) VALUES (?1, ?2, ?3)",
            )
            .map_err(db)?
            .execute(params![blob, owner, owner_id])
            .map_err(db)?;
        Ok(())
    }

    fn cases_with_blob(&self, blob: &str) -> Result<Vec<CaseNumber>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT f.case_number FROM blob_refs b
             JOIN follow_ups f ON f.id = b.owner_id
             WHERE b.blob = ?1 AND b.owner = 'follow_up' ORDER BY 1",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([blob], |r| r.get(0).map(CaseNumber))
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
    }

    fn referenced_blobs(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT blob FROM blob_refs ORDER BY blob")
            .map_err(db)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<String>>>().map_err(db)
    }

    fn blobs_with_prefix(&self, prefix: &str, limit: u32) -> Result<Vec<String>> {
        // Ids are lower-case hex, so every id starting with `prefix` sorts
        // below `prefix` followed by `g`: a range on the primary key.
        let end = format!("{prefix}g");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT blob FROM blob_refs WHERE blob >= ?1 AND blob < ?2
                 ORDER BY blob LIMIT ?3",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![prefix, end, limit], |r| r.get(0))
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<String>>>().map_err(db)
    }

    fn blob_neighbours(&self, blob: &str) -> Result<(Option<String>, Option<String>)> {
        let before: Option<String> = self
            .conn
            .prepare_cached("SELECT max(blob) FROM blob_refs WHERE blob < ?1")
            .map_err(db)?
            .query_row([blob], |r| r.get(0))
            .map_err(db)?;
        let after: Option<String> = self
            .conn
            .prepare_cached("SELECT min(blob) FROM blob_refs WHERE blob > ?1")
            .map_err(db)?
            .query_row([blob], |r| r.get(0))
            .map_err(db)?;
        Ok((before, after))
    }

    fn last_agent_on_case(&self, case: CaseNumber) -> Result<Option<String>> {
        // Newest first along the (case_number, id) index; the first
        // author who is an agent.
        self
            .conn
            .prepare_cached(
                "SELECT f.author FROM follow_ups f
                 WHERE f.case_number = ?1 AND f.kind IN ('note', 'email_out', 'email_saved', 'chat_log')
                   AND EXISTS (SELECT 1 FROM agents a WHERE a.login = f.author AND a.disabled = 0)
                 ORDER BY f.id DESC LIMIT 1",
            ).map_err(db)?
            .query_row([case.0], |r| r.get(0))
            .optional().map_err(db)
    }

    fn thread_addresses(&self, case: CaseNumber) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT email FROM follow_ups WHERE case_number = ?1 AND email IS NOT NULL",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([case.0], |r| r.get::<_, String>(0))
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let headers: EmailHeaders = from_json("follow-up email headers", &row.map_err(db)?)?;
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
                )
                .map_err(db)?
                .query_row(params![item.agent, item.group, follow_up.0], |r| r.get(0))
                .optional()
                .map_err(db)?;
            if let Some(id) = existing {
                return Ok(id);
            }
        }
        conn.prepare_cached(
            "INSERT INTO workbin (agent, grp, case_number, follow_up_id, reason, added_at, draft_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        ).map_err(db)?
        .execute(params![
            item.agent,
            item.group,
            item.case_number.0,
            item.follow_up.map(|f| f.0),
            item.reason,
            ts(item.at),
            item.draft
        ]).map_err(db)?;
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
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt
            .query(params![agent, groups, include_done])
            .map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(workbin_from_row(row)?);
        }
        Ok(out)
    }

    fn workbin_item(&self, id: i64) -> Result<Option<WorkbinItem>> {
        let sql = format!(
            "SELECT {WORKBIN_COLUMNS} FROM workbin w JOIN cases c ON c.number = w.case_number
             WHERE w.id = ?1"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query([id]).map_err(db)?;
        match rows.next().map_err(db)? {
            Some(row) => Ok(Some(workbin_from_row(row)?)),
            None => Ok(None),
        }
    }

    fn workbin_done(&self, id: i64, by: &str, at: DateTime<Utc>) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE workbin SET done_at = ?2, done_by = ?3 WHERE id = ?1 AND done_at IS NULL",
            )
            .map_err(db)?
            .execute(params![id, ts(at), by])
            .map_err(db)?;
        Ok(changed == 1)
    }

    fn workbin_done_for_draft(&self, draft: i64, by: &str, at: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE workbin SET done_at = ?2, done_by = ?3 WHERE draft_id = ?1 AND done_at IS NULL",
            ).map_err(db)?
            .execute(params![draft, ts(at), by]).map_err(db)?;
        Ok(())
    }

    fn insert_draft(&self, d: &Draft) -> Result<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO drafts (agent, case_number, kind, answers, content, state, follow_up_id,
                                     created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            ).map_err(db)?
            .execute(params![
                d.agent,
                d.case_number.0,
                d.kind.as_str(),
                d.answers.map(|f| f.0),
                draft_content(d),
                d.state.as_str(),
                d.follow_up.map(|f| f.0),
                ts(d.created_at),
                ts(d.updated_at)
            ]).map_err(db)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn update_draft(&self, d: &Draft) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE drafts SET content = ?2, state = ?3, follow_up_id = ?4, updated_at = ?5,
                                   remarks = ?6
                 WHERE id = ?1",
            )
            .map_err(db)?
            .execute(params![
                d.id,
                draft_content(d),
                d.state.as_str(),
                d.follow_up.map(|f| f.0),
                ts(d.updated_at),
                d.remarks
            ])
            .map_err(db)?;
        Ok(())
    }

    fn draft(&self, id: i64) -> Result<Option<Draft>> {
        let sql = format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query([id]).map_err(db)?;
        match rows.next().map_err(db)? {
            Some(row) => Ok(Some(draft_from_row(row)?)),
            None => Ok(None),
        }
    }

    fn other_drafts_on_case(&self, case: CaseNumber, except: i64) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM drafts
                 WHERE case_number = ?1 AND id <> ?2 AND state <> 'discarded'",
            )
            .map_err(db)?
            .query_row(params![case.0, except], |r| r.get(0))
            .map_err(db)?;
        Ok(n.max(0).unsigned_abs())
    }

    fn open_drafts(&self, agent: &str) -> Result<Vec<Draft>> {
        let sql = format!(
            "SELECT {DRAFT_COLUMNS} FROM drafts WHERE agent = ?1 AND state IN ('draft', 'rejected')
             ORDER BY id"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query([agent]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(draft_from_row(row)?);
        }
        Ok(out)
    }

    fn review_queue(&self) -> Result<Vec<Draft>> {
        let sql =
            format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE state = 'in_review' ORDER BY id");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(draft_from_row(row)?);
        }
        Ok(out)
    }

    fn add_review_step(&self, draft: i64, step: &ReviewStep) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO draft_reviews (draft_id, step, by_whom, at, remarks)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?
            .execute(params![
                draft,
                step.step,
                step.by,
                ts(step.at),
                step.remarks
            ])
            .map_err(db)?;
        Ok(())
    }

    fn review_steps(&self, draft: i64) -> Result<Vec<ReviewStep>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT step, by_whom, at, remarks FROM draft_reviews WHERE draft_id = ?1 ORDER BY id",
        ).map_err(db)?;
        let mut rows = stmt.query([draft]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(ReviewStep {
                step: row.get(0).map_err(db)?,
                by: row.get(1).map_err(db)?,
                at: parse_ts(&row.get::<_, String>(2).map_err(db)?)?,
                remarks: row.get(3).map_err(db)?,
            });
        }
        Ok(out)
    }
}

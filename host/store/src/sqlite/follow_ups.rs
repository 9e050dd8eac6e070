//! Follow-ups: inserted and read, never updated or deleted (the triggers in
//! the first migration refuse it even to raw SQL).

use super::db;
use dossier_sdk::{
    Attachment, CaseNumber, EmailHeaders, FollowUp, FollowUpId, FollowUpKind, ObjectKind,
};
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteTx;
use crate::{FollowUpTx, Page, Viewer, from_json, parse_ts, to_json, ts};
use dossier_types::schema::Schema;
use dossier_types::{Error, Result};

const FOLLOW_UP_COLUMNS: &str =
    "id, case_number, kind, author, body, html, email, attachments, custom, created_at, via";

fn follow_up_from_row(schema: &Schema, row: &Row<'_>) -> Result<FollowUp> {
    let kind: String = row.get(2).map_err(db)?;
    let email: Option<String> = row.get(6).map_err(db)?;
    let attachments: String = row.get(7).map_err(db)?;
    let custom: String = row.get(8).map_err(db)?;
    let created: String = row.get(9).map_err(db)?;
    Ok(FollowUp {
        id: FollowUpId(row.get(0).map_err(db)?),
        case: CaseNumber(row.get(1).map_err(db)?),
        kind: kind.parse().map_err(Error::Corrupt)?,
        author: row.get(3).map_err(db)?,
        body: row.get(4).map_err(db)?,
        html: row.get(5).map_err(db)?,
        email: email
            .map(|e| from_json::<EmailHeaders>("follow-up email headers", &e))
            .transpose()?,
        attachments: from_json::<Vec<Attachment>>("follow-up attachments", &attachments)?,
        custom: schema.decode(ObjectKind::FollowUp, &custom)?,
        created_at: parse_ts(&created)?,
        via: row.get(10).map_err(db)?,
    })
}

impl FollowUpTx for SqliteTx<'_> {
    fn next_follow_up_id(&self) -> Result<FollowUpId> {
        let conn = self.conn;
        let id: i64 = conn
            .prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM follow_ups")
            .map_err(db)?
            .query_row([], |r| r.get(0))
            .map_err(db)?;
        Ok(FollowUpId(self.allocate(super::IdKind::FollowUp, id)))
    }

    fn insert_follow_up(&self, f: &FollowUp) -> Result<()> {
        let conn = self.conn;
        let message_id = f.email.as_ref().and_then(|e| e.message_id.clone());
        conn.prepare_cached(
            "INSERT INTO follow_ups (id, case_number, kind, author, body, html, email, message_id,
                                     attachments, custom, created_at, via)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .map_err(db)?
        .execute(params![
            f.id.0,
            f.case.0,
            f.kind.as_str(),
            f.author,
            f.body,
            f.html,
            f.email.as_ref().map(to_json),
            message_id,
            to_json(&f.attachments),
            Schema::encode(&f.custom),
            ts(f.created_at),
            f.via,
        ])
        .map_err(db)?;
        Ok(())
    }

    fn get_follow_up(&self, schema: &Schema, id: FollowUpId) -> Result<FollowUp> {
        let conn = self.conn;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {FOLLOW_UP_COLUMNS} FROM follow_ups WHERE id = ?1"
            ))
            .map_err(db)?;
        let mut rows = stmt.query([id.0]).map_err(db)?;
        match rows.next().map_err(db)? {
            Some(row) => follow_up_from_row(schema, row),
            None => Err(Error::not_found(ObjectKind::FollowUp, format!("#{id}"))),
        }
    }

    fn follow_up_by_message_id(
        &self,
        schema: &Schema,
        message_id: &str,
    ) -> Result<Option<FollowUp>> {
        let conn = self.conn;
        let id: Option<i64> = conn
            .prepare_cached("SELECT id FROM follow_ups WHERE message_id = ?1")
            .map_err(db)?
            .query_row([message_id], |r| r.get(0))
            .optional()
            .map_err(db)?;
        id.map(|id| self.get_follow_up(schema, FollowUpId(id)))
            .transpose()
    }

    fn message_follow_up(
        &self,
        message_id: &str,
    ) -> Result<Option<(FollowUpId, CaseNumber, FollowUpKind)>> {
        let found: Option<(i64, i64, String)> = self
            .conn
            .prepare_cached("SELECT id, case_number, kind FROM follow_ups WHERE message_id = ?1")
            .map_err(db)?
            .query_row([message_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .map_err(db)?;
        found
            .map(|(id, case, kind)| {
                Ok((
                    FollowUpId(id),
                    CaseNumber(case),
                    kind.parse().map_err(Error::Corrupt)?,
                ))
            })
            .transpose()
    }

    fn list_follow_ups(
        &self,
        schema: &Schema,
        case: CaseNumber,
        page: Page,
    ) -> Result<Vec<FollowUp>> {
        let conn = self.conn;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {FOLLOW_UP_COLUMNS} FROM follow_ups WHERE case_number = ?1
             ORDER BY id DESC LIMIT ?2 OFFSET ?3"
            ))
            .map_err(db)?;
        let mut rows = stmt
            .query(params![case.0, page.limit, page.offset])
            .map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(follow_up_from_row(schema, row)?);
        }
        Ok(out)
    }

    fn count_follow_ups(&self, case: CaseNumber) -> Result<u64> {
        let conn = self.conn;
        Ok(conn
            .prepare_cached("SELECT count(*) FROM follow_ups WHERE case_number = ?1")
            .map_err(db)?
            .query_row([case.0], |r| r.get::<_, i64>(0))
            .map_err(db)? as u64)
    }

    fn follow_ups_after(
        &self,
        schema: &Schema,
        after: FollowUpId,
        limit: u32,
        viewer: &Viewer,
    ) -> Result<Vec<FollowUp>> {
        let (all, login) = viewer.params();
        // The case's visibility, looked up by its primary key per row.
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {FOLLOW_UP_COLUMNS} FROM follow_ups WHERE id > ?1
                 AND EXISTS (SELECT 1 FROM cases WHERE number = follow_ups.case_number AND {})
             ORDER BY id LIMIT ?4",
                super::cases::visible(2, 3)
            ))
            .map_err(db)?;
        let mut rows = stmt
            .query(params![after.0, all, login, limit])
            .map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(follow_up_from_row(schema, row)?);
        }
        Ok(out)
    }
}

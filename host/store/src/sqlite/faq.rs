//! The FAQ base (`faq_entries`, searched through the FTS5 table
//! `faq_index` the triggers of its migration keep in step) and the
//! signatures.

use super::db;
use dossier_sdk::{FaqEntry, Signature, SignatureOwner};
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteTx;
use super::search::match_expression;
use crate::{FaqTx, parse_ts, ts};
use dossier_types::{Error, Result};

const FAQ_COLUMNS: &str = "shortcut, title, body, link, created_at, updated_at, html";

fn faq_from_row(row: &Row<'_>) -> Result<FaqEntry> {
    Ok(FaqEntry {
        shortcut: row.get(0).map_err(db)?,
        title: row.get(1).map_err(db)?,
        body: row.get(2).map_err(db)?,
        link: row.get(3).map_err(db)?,
        created_at: parse_ts(&row.get::<_, String>(4).map_err(db)?)?,
        updated_at: parse_ts(&row.get::<_, String>(5).map_err(db)?)?,
        html: row.get(6).map_err(db)?,
    })
}

const SIGNATURE_COLUMNS: &str = "owner_kind, owner, name, text, html, is_default, created_at";

fn signature_from_row(row: &Row<'_>) -> Result<Signature> {
    let kind: String = row.get(0).map_err(db)?;
    let name: String = row.get(1).map_err(db)?;
    let owner = match kind.as_str() {
        "agent" => SignatureOwner::Agent(name),
        "group" => SignatureOwner::Group(name),
        other => {
            return Err(Error::Corrupt(format!(
                "signatures: unknown owner kind `{other}`"
            )));
        }
    };
    Ok(Signature {
        owner,
        name: row.get(2).map_err(db)?,
        text: row.get(3).map_err(db)?,
        html: row.get(4).map_err(db)?,
        is_default: row.get(5).map_err(db)?,
        created_at: parse_ts(&row.get::<_, String>(6).map_err(db)?)?,
    })
}

impl SqliteTx<'_> {
    fn faq_rows(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<FaqEntry>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db)?;
        let mut rows = stmt.query(params).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(faq_from_row(row)?);
        }
        Ok(out)
    }

    fn signature_rows(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Signature>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db)?;
        let mut rows = stmt.query(params).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(signature_from_row(row)?);
        }
        Ok(out)
    }

    fn clear_default(&self, owner: &SignatureOwner) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE signatures SET is_default = 0
                 WHERE owner_kind = ?1 AND owner = ?2 AND is_default",
            )
            .map_err(db)?
            .execute(params![owner.kind(), owner.name()])
            .map_err(db)?;
        Ok(())
    }
}

impl FaqTx for SqliteTx<'_> {
    fn insert_faq(&self, e: &FaqEntry) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO faq_entries (shortcut, title, body, link, created_at, updated_at, html)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (shortcut) DO NOTHING",
            )
            .map_err(db)?
            .execute(params![
                e.shortcut,
                e.title,
                e.body,
                e.link,
                ts(e.created_at),
                ts(e.updated_at),
                e.html
            ])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn faq(&self, shortcut: &str) -> Result<Option<FaqEntry>> {
        let sql = format!("SELECT {FAQ_COLUMNS} FROM faq_entries WHERE shortcut = ?1");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let row = stmt
            .query_row([shortcut], |r| Ok(faq_from_row(r)))
            .optional()
            .map_err(db)?;
        row.transpose()
    }

    fn list_faq(&self) -> Result<Vec<FaqEntry>> {
        let sql = format!("SELECT {FAQ_COLUMNS} FROM faq_entries ORDER BY shortcut");
        self.faq_rows(&sql, [])
    }

    fn update_faq(&self, e: &FaqEntry) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE faq_entries SET title = ?2, body = ?3, link = ?4, updated_at = ?5, html = ?6
                 WHERE shortcut = ?1",
            )
            .map_err(db)?
            .execute(params![
                e.shortcut,
                e.title,
                e.body,
                e.link,
                ts(e.updated_at),
                e.html
            ])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn delete_faq(&self, shortcut: &str) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM faq_entries WHERE shortcut = ?1")
            .map_err(db)?
            .execute([shortcut])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn search_faq(&self, terms: &[String], limit: u32) -> Result<Vec<FaqEntry>> {
        let sql = "SELECT f.shortcut, f.title, f.body, f.link, f.created_at, f.updated_at, f.html
             FROM faq_index JOIN faq_entries f ON f.id = faq_index.rowid
             WHERE faq_index MATCH ?1
             ORDER BY bm25(faq_index, 2.0, 1.0), f.shortcut LIMIT ?2";
        self.faq_rows(sql, params![match_expression(terms), limit])
    }

    fn insert_signature(&self, s: &Signature) -> Result<bool> {
        if self.signature(&s.owner, &s.name)?.is_some() {
            return Ok(false);
        }
        if s.is_default {
            self.clear_default(&s.owner)?;
        }
        self.conn
            .prepare_cached(
                "INSERT INTO signatures (owner_kind, owner, name, text, html, is_default, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            ).map_err(db)?
            .execute(params![
                s.owner.kind(),
                s.owner.name(),
                s.name,
                s.text,
                s.html,
                s.is_default,
                ts(s.created_at)
            ]).map_err(db)?;
        Ok(true)
    }

    fn signatures(&self, owner: &SignatureOwner) -> Result<Vec<Signature>> {
        let sql = format!(
            "SELECT {SIGNATURE_COLUMNS} FROM signatures
             WHERE owner_kind = ?1 AND owner = ?2 ORDER BY name"
        );
        self.signature_rows(&sql, params![owner.kind(), owner.name()])
    }

    fn signature(&self, owner: &SignatureOwner, name: &str) -> Result<Option<Signature>> {
        let sql = format!(
            "SELECT {SIGNATURE_COLUMNS} FROM signatures
             WHERE owner_kind = ?1 AND owner = ?2 AND name = ?3"
        );
        Ok(self
            .signature_rows(&sql, params![owner.kind(), owner.name(), name])?
            .into_iter()
            .next())
    }

    fn default_signature(&self, owner: &SignatureOwner) -> Result<Option<Signature>> {
        let sql = format!(
            "SELECT {SIGNATURE_COLUMNS} FROM signatures
             WHERE owner_kind = ?1 AND owner = ?2 AND is_default"
        );
        Ok(self
            .signature_rows(&sql, params![owner.kind(), owner.name()])?
            .into_iter()
            .next())
    }

    fn delete_signature(&self, owner: &SignatureOwner, name: &str) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "DELETE FROM signatures WHERE owner_kind = ?1 AND owner = ?2 AND name = ?3",
            )
            .map_err(db)?
            .execute(params![owner.kind(), owner.name(), name])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn set_default_signature(&self, owner: &SignatureOwner, name: &str) -> Result<bool> {
        if self.signature(owner, name)?.is_none() {
            return Ok(false);
        }
        self.clear_default(owner)?;
        self.conn
            .prepare_cached(
                "UPDATE signatures SET is_default = 1
                 WHERE owner_kind = ?1 AND owner = ?2 AND name = ?3",
            )
            .map_err(db)?
            .execute(params![owner.kind(), owner.name(), name])
            .map_err(db)?;
        Ok(true)
    }
}

//! Cases.

use super::db;
use dossier_sdk::{Case, CaseNumber, CustomerId, ObjectKind, ThreadToken};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::SqliteTx;
use crate::{CaseFilter, CaseTx, Page, Viewer, parse_ts, ts};
use dossier_types::schema::Schema;
use dossier_types::{Error, Result};

/// A case's column values, numbered as the INSERT and UPDATE above use them.
fn case_values(c: &Case, is_open: bool) -> [Value; 16] {
    [
        c.number.0.into(),
        c.customer.0.into(),
        c.subject.clone().into(),
        c.description.clone().into(),
        c.status.clone().into(),
        is_open.into(),
        c.visibility.as_str().to_owned().into(),
        c.severity.clone().into(),
        c.priority.clone().into(),
        c.owner.clone().into(),
        c.group.clone().into(),
        c.last_disposition.clone().into(),
        c.thread_token
            .as_ref()
            .map(|t| t.as_str().to_owned())
            .into(),
        Schema::encode(&c.custom).into(),
        ts(c.created_at).into(),
        ts(c.updated_at).into(),
    ]
}

const CASE_COLUMNS: &str =
    "number, customer_id, subject, description, status, visibility, severity,
    priority, owner, grp, last_disposition, thread_token, custom, created_at, updated_at";

fn case_from_row(schema: &Schema, row: &Row<'_>) -> Result<Case> {
    let visibility: String = row.get(5).map_err(db)?;
    let token: Option<String> = row.get(11).map_err(db)?;
    let custom: String = row.get(12).map_err(db)?;
    let created: String = row.get(13).map_err(db)?;
    let updated: String = row.get(14).map_err(db)?;
    Ok(Case {
        number: CaseNumber(row.get(0).map_err(db)?),
        customer: CustomerId(row.get(1).map_err(db)?),
        subject: row.get(2).map_err(db)?,
        description: row.get(3).map_err(db)?,
        status: row.get(4).map_err(db)?,
        visibility: visibility.parse().map_err(Error::Corrupt)?,
        severity: row.get(6).map_err(db)?,
        priority: row.get(7).map_err(db)?,
        owner: row.get(8).map_err(db)?,
        group: row.get(9).map_err(db)?,
        last_disposition: row.get(10).map_err(db)?,
        thread_token: token
            .map(|t| ThreadToken::parse(&t))
            .transpose()
            .map_err(Error::Corrupt)?,
        custom: schema.decode(ObjectKind::Case, &custom)?,
        created_at: parse_ts(&created)?,
        updated_at: parse_ts(&updated)?,
    })
}

fn query_cases(
    conn: &Connection,
    schema: &Schema,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Case>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let mut rows = stmt.query(params).map_err(db)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db)? {
        out.push(case_from_row(schema, row)?);
    }
    Ok(out)
}

impl CaseTx for SqliteTx<'_> {
    fn next_case_number(&self) -> Result<CaseNumber> {
        let conn = self.conn;
        let n: i64 = conn
            .prepare_cached("SELECT coalesce(max(number), 0) + 1 FROM cases")
            .map_err(db)?
            .query_row([], |r| r.get(0))
            .map_err(db)?;
        Ok(CaseNumber(self.allocate(super::IdKind::Case, n)))
    }

    fn insert_case(&self, c: &Case, is_open: bool) -> Result<()> {
        let conn = self.conn;
        conn.prepare_cached(
            "INSERT INTO cases (number, customer_id, subject, description, status, is_open, visibility,
                                severity, priority, owner, grp, last_disposition, thread_token, custom,
                                created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        ).map_err(db)?
        .execute(params_from_iter(case_values(c, is_open))).map_err(db)?;
        Ok(())
    }

    fn update_case(&self, c: &Case, is_open: bool) -> Result<()> {
        let conn = self.conn;
        let n = conn
            .prepare_cached(
                "UPDATE cases SET customer_id = ?2, subject = ?3, description = ?4, status = ?5,
                     is_open = ?6, visibility = ?7, severity = ?8, priority = ?9, owner = ?10, grp = ?11,
                     last_disposition = ?12, thread_token = ?13, custom = ?14, updated_at = ?16
                 WHERE number = ?1",
            ).map_err(db)?
            .execute(params_from_iter(case_values(c, is_open))).map_err(db)?;
        if n == 0 {
            return Err(Error::not_found(ObjectKind::Case, format!("#{}", c.number)));
        }
        Ok(())
    }

    fn get_case(&self, schema: &Schema, number: CaseNumber) -> Result<Case> {
        let conn = self.conn;
        query_cases(
            conn,
            schema,
            &format!("SELECT {CASE_COLUMNS} FROM cases WHERE number = ?1"),
            [number.0],
        )?
        .pop()
        .ok_or_else(|| Error::not_found(ObjectKind::Case, format!("#{number}")))
    }

    fn case_exists(&self, number: CaseNumber) -> Result<bool> {
        let conn = self.conn;
        Ok(conn
            .prepare_cached("SELECT 1 FROM cases WHERE number = ?1")
            .map_err(db)?
            .query_row([number.0], |_| Ok(()))
            .optional()
            .map_err(db)?
            .is_some())
    }

    fn case_by_thread_token(&self, schema: &Schema, token: &str) -> Result<Option<Case>> {
        let conn = self.conn;
        Ok(query_cases(
            conn,
            schema,
            &format!("SELECT {CASE_COLUMNS} FROM cases WHERE thread_token = ?1"),
            [token],
        )?
        .pop())
    }

    fn list_cases(
        &self,
        schema: &Schema,
        filter: &CaseFilter,
        page: Page,
        viewer: &Viewer,
    ) -> Result<Vec<Case>> {
        let (sql, values) = list_cases_sql(filter, page, viewer);
        query_cases(self.conn, schema, &sql, params_from_iter(values))
    }

    fn case_visible(&self, number: CaseNumber, viewer: &Viewer) -> Result<bool> {
        let conn = self.conn;
        let (all, login) = viewer.params();
        let sql = format!(
            "SELECT 1 FROM cases WHERE number = ?1 AND {}",
            visible(2, 3)
        );
        Ok(conn
            .prepare_cached(&sql)
            .map_err(db)?
            .query_row(params![number.0, all, login], |_| Ok(()))
            .optional()
            .map_err(db)?
            .is_some())
    }

    fn cases_after(
        &self,
        schema: &Schema,
        after: CaseNumber,
        limit: u32,
        viewer: &Viewer,
    ) -> Result<Vec<Case>> {
        let (all, login) = viewer.params();
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE number > ?1 AND {}
             ORDER BY number LIMIT ?4",
            visible(2, 3)
        );
        query_cases(self.conn, schema, &sql, params![after.0, all, login, limit])
    }
}

/// The condition a case row must meet for a viewer: public, or the viewer
/// sees everything (parameter `?all`), owns it or is in its group (parameter
/// `?login`). Spelled once, used by every case read that filters.
pub fn visible(all: usize, login: usize) -> String {
    format!(
        "(?{all} OR visibility <> 'private' OR owner = ?{login}
          OR grp IN (SELECT name FROM agent_groups WHERE login = ?{login}))"
    )
}

/// The statement `list_cases` runs for `filter`, and its values.
pub fn list_cases_sql(filter: &CaseFilter, page: Page, viewer: &Viewer) -> (String, Vec<Value>) {
    // Only the conditions the filter sets, so that SQLite can use the
    // index of each (`x = ?` is an index lookup where `?n IS NULL OR x =
    // ?n` is a scan: with the planner-stability guarantee on, a plan
    // never depends on what is bound).
    let mut conditions = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut condition = |sql: &str, value: Value| {
        values.push(value);
        conditions.push(sql.replace('?', &format!("?{}", values.len())));
    };
    if let Some(c) = filter.customer {
        condition("customer_id = ?", c.0.into());
    }
    if let Some(open) = filter.open {
        condition("is_open = ?", i64::from(open).into());
    }
    if let Some(owner) = &filter.owner {
        condition("owner = ?", owner.clone().into());
    }
    if let Some(group) = &filter.group {
        condition("grp = ?", group.clone().into());
    }
    if let Some(status) = &filter.status {
        condition("status = ?", status.clone().into());
    }
    if let Some(priority) = &filter.priority {
        condition("priority = ?", priority.clone().into());
    }
    let (all, login) = viewer.params();
    let n = values.len();
    values.push(all.into());
    values.push(login.map(str::to_owned).into());
    conditions.push(visible(n + 1, n + 2));
    values.push(page.limit.into());
    values.push(page.offset.into());
    // Last activity first: the case's own last change or its newest
    // follow-up, whichever is later; newest case first among equals.
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases WHERE {}
         ORDER BY max(updated_at, coalesce((SELECT created_at FROM follow_ups
                  WHERE case_number = cases.number ORDER BY id DESC LIMIT 1), '')) DESC,
                  number DESC
         LIMIT ?{} OFFSET ?{}",
        conditions.join(" AND "),
        n + 3,
        n + 4
    );
    (sql, values)
}

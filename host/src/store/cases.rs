//! Cases.

use dossier_sdk::{Case, CaseNumber, CustomerId, ObjectKind, ThreadToken};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::{Page, parse_ts, ts};
use crate::error::{Error, Result};
use crate::schema::Schema;

/// The next case number: sequential, allocated inside the write transaction.
pub(crate) fn next_case_number(conn: &Connection) -> Result<CaseNumber> {
    let n: i64 = conn.query_row("SELECT coalesce(max(number), 0) + 1 FROM cases", [], |r| {
        r.get(0)
    })?;
    Ok(CaseNumber(n))
}

/// Inserts a new case; `is_open` is the status's open flag from config.
pub(crate) fn insert_case(conn: &Connection, c: &Case, is_open: bool) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO cases (number, customer_id, subject, description, status, is_open, visibility,
                            severity, priority, owner, grp, last_disposition, thread_token, custom,
                            created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params_from_iter(case_values(c, is_open)))?;
    Ok(())
}

/// Replaces a case's row (its creation time, `?15`, is kept).
pub(crate) fn update_case(conn: &Connection, c: &Case, is_open: bool) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE cases SET customer_id = ?2, subject = ?3, description = ?4, status = ?5,
                 is_open = ?6, visibility = ?7, severity = ?8, priority = ?9, owner = ?10, grp = ?11,
                 last_disposition = ?12, thread_token = ?13, custom = ?14, updated_at = ?16
             WHERE number = ?1",
        )?
        .execute(params_from_iter(case_values(c, is_open)))?;
    if n == 0 {
        return Err(Error::not_found(ObjectKind::Case, format!("#{}", c.number)));
    }
    Ok(())
}

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
    let visibility: String = row.get(5)?;
    let token: Option<String> = row.get(11)?;
    let custom: String = row.get(12)?;
    let created: String = row.get(13)?;
    let updated: String = row.get(14)?;
    Ok(Case {
        number: CaseNumber(row.get(0)?),
        customer: CustomerId(row.get(1)?),
        subject: row.get(2)?,
        description: row.get(3)?,
        status: row.get(4)?,
        visibility: visibility.parse().map_err(Error::Corrupt)?,
        severity: row.get(6)?,
        priority: row.get(7)?,
        owner: row.get(8)?,
        group: row.get(9)?,
        last_disposition: row.get(10)?,
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
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(case_from_row(schema, row)?);
    }
    Ok(out)
}

/// One case by number.
pub(crate) fn get_case(conn: &Connection, schema: &Schema, number: CaseNumber) -> Result<Case> {
    query_cases(
        conn,
        schema,
        &format!("SELECT {CASE_COLUMNS} FROM cases WHERE number = ?1"),
        [number.0],
    )?
    .pop()
    .ok_or_else(|| Error::not_found(ObjectKind::Case, format!("#{number}")))
}

/// Whether a case with this number exists.
pub(crate) fn case_exists(conn: &Connection, number: CaseNumber) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM cases WHERE number = ?1")?
        .query_row([number.0], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The case carrying this thread token.
pub(crate) fn case_by_thread_token(
    conn: &Connection,
    schema: &Schema,
    token: &str,
) -> Result<Option<Case>> {
    Ok(query_cases(
        conn,
        schema,
        &format!("SELECT {CASE_COLUMNS} FROM cases WHERE thread_token = ?1"),
        [token],
    )?
    .pop())
}

/// Which cases a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Only this customer's cases.
    pub customer: Option<CustomerId>,
    /// Only open (`Some(true)`) or closed (`Some(false)`) cases.
    pub open: Option<bool>,
    /// Only cases owned by this agent.
    pub owner: Option<String>,
}

/// Cases matching `filter`, newest (highest number) first.
pub(crate) fn list_cases(
    conn: &Connection,
    schema: &Schema,
    filter: &CaseFilter,
    page: Page,
) -> Result<Vec<Case>> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM cases
         WHERE (?1 IS NULL OR customer_id = ?1) AND (?2 IS NULL OR is_open = ?2)
           AND (?3 IS NULL OR owner = ?3)
         ORDER BY number DESC LIMIT ?4 OFFSET ?5"
    );
    query_cases(
        conn,
        schema,
        &sql,
        params![
            filter.customer.map(|c| c.0),
            filter.open,
            filter.owner,
            page.limit,
            page.offset
        ],
    )
}

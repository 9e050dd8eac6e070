//! The lookups screen-pops and the reminder loop need, kept narrow so that a
//! pop by phone costs a handful of index probes and no JSON decoding.

use chrono::{DateTime, Utc};
use dossier_sdk::{CaseNumber, CustomerId};
use rusqlite::{Connection, OptionalExtension, params};

use super::{parse_ts, ts};
use crate::error::Result;

/// The id of the customer with this account number.
pub(crate) fn customer_id_by_account(
    conn: &Connection,
    account: &str,
) -> Result<Option<CustomerId>> {
    Ok(conn
        .prepare_cached("SELECT id FROM customers WHERE account = ?1")?
        .query_row([account], |r| r.get(0))
        .optional()?
        .map(CustomerId))
}

/// Ids of customers having this (E.164) phone number, lowest first, at most 100.
pub(crate) fn customer_ids_by_phone(conn: &Connection, number: &str) -> Result<Vec<CustomerId>> {
    ids(
        conn,
        "SELECT DISTINCT customer_id FROM customer_phones WHERE number = ?1
         ORDER BY customer_id LIMIT 100",
        number,
    )
}

/// Ids of customers having this (lower-cased) email address, lowest first, at most 100.
pub(crate) fn customer_ids_by_email(conn: &Connection, address: &str) -> Result<Vec<CustomerId>> {
    ids(
        conn,
        "SELECT DISTINCT customer_id FROM customer_emails WHERE address = ?1
         ORDER BY customer_id LIMIT 100",
        address,
    )
}

fn ids(conn: &Connection, sql: &str, key: &str) -> Result<Vec<CustomerId>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let ids = stmt
        .query_map([key], |r| r.get(0).map(CustomerId))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// A customer's account number and name, for the words of a pop's reason.
pub(crate) fn customer_brief(
    conn: &Connection,
    id: CustomerId,
) -> Result<Option<(String, String)>> {
    Ok(conn
        .prepare_cached("SELECT account, name FROM customers WHERE id = ?1")?
        .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// The customer a case belongs to and whether the case is open.
pub(crate) fn case_owner(
    conn: &Connection,
    number: CaseNumber,
) -> Result<Option<(CustomerId, bool)>> {
    Ok(conn
        .prepare_cached("SELECT customer_id, is_open FROM cases WHERE number = ?1")?
        .query_row([number.0], |r| Ok((CustomerId(r.get(0)?), r.get(1)?)))
        .optional()?)
}

/// A customer's open case numbers, newest first, at most `limit`
/// (the `cases_customer` index answers it without touching the table).
pub(crate) fn open_case_numbers(
    conn: &Connection,
    customer: CustomerId,
    limit: u32,
) -> Result<Vec<CaseNumber>> {
    let mut stmt = conn.prepare_cached(
        "SELECT number FROM cases WHERE customer_id = ?1 AND is_open = 1
         ORDER BY number DESC LIMIT ?2",
    )?;
    let numbers = stmt
        .query_map(params![customer.0, limit], |r| r.get(0).map(CaseNumber))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(numbers)
}

/// How likely a customer is the one calling, when several share a number:
/// whether they have an open case, when their cases last changed, when the
/// customer last changed. Compared as a tuple, greater is likelier.
pub(crate) fn candidate_rank(
    conn: &Connection,
    id: CustomerId,
) -> Result<(bool, Option<String>, String)> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM cases WHERE customer_id = ?1 AND is_open = 1),
                    (SELECT max(updated_at) FROM cases WHERE customer_id = ?1),
                    updated_at
             FROM customers WHERE id = ?1",
        )?
        .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?
        .unwrap_or((false, None, String::new())))
}

/// When the next unfired reminder of a planned task is due, if any.
pub(crate) fn next_reminder_at(conn: &Connection) -> Result<Option<DateTime<Utc>>> {
    let next: Option<String> = conn
        .prepare_cached(
            "SELECT min(remind_at) FROM tasks
             WHERE remind_at IS NOT NULL AND reminded_at IS NULL AND status = 'planned'",
        )?
        .query_row([], |r| r.get(0))?;
    next.as_deref().map(parse_ts).transpose()
}

/// How many reminders are due at `now` and not yet fired.
pub(crate) fn count_due_reminders(conn: &Connection, now: DateTime<Utc>) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM tasks
             WHERE remind_at IS NOT NULL AND reminded_at IS NULL AND status = 'planned'
               AND remind_at <= ?1",
        )?
        .query_row([ts(now)], |r| r.get(0))?;
    Ok(n.unsigned_abs())
}

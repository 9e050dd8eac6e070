//! The lookups screen-pops and the reminder loop need, kept narrow so that a
//! pop by phone costs a handful of index probes and no JSON decoding.

use super::db;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use dossier_sdk::{CaseNumber, CustomerId, Permission, Role};
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteTx;
use crate::{LookupTx, PhonePop, Viewer, parse_ts, ts};
use dossier_types::{Error, Result};

fn ids(conn: &Connection, sql: &str, key: &str) -> Result<Vec<CustomerId>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let ids = stmt
        .query_map([key], |r| r.get(0).map(CustomerId))
        .map_err(db)?
        .collect::<rusqlite::Result<_>>()
        .map_err(db)?;
    Ok(ids)
}

impl LookupTx for SqliteTx<'_> {
    fn customer_id_by_account(&self, account: &str) -> Result<Option<CustomerId>> {
        let conn = self.conn;
        Ok(conn
            .prepare_cached("SELECT id FROM customers WHERE account = ?1")
            .map_err(db)?
            .query_row([account], |r| r.get(0))
            .optional()
            .map_err(db)?
            .map(CustomerId))
    }

    fn customer_ids_by_email(&self, address: &str) -> Result<Vec<CustomerId>> {
        let conn = self.conn;
        ids(
            conn,
            "SELECT DISTINCT customer_id FROM customer_emails WHERE address = ?1
             ORDER BY customer_id LIMIT 100",
            address,
        )
    }

    fn customer_brief(&self, id: CustomerId) -> Result<Option<(String, String)>> {
        let conn = self.conn;
        conn.prepare_cached("SELECT account, name FROM customers WHERE id = ?1")
            .map_err(db)?
            .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(db)
    }

    fn case_owner(
        &self,
        number: CaseNumber,
        viewer: &Viewer,
    ) -> Result<Option<(CustomerId, bool)>> {
        let conn = self.conn;
        let (all, login) = viewer.params();
        conn.prepare_cached(&CASE_OWNER)
            .map_err(db)?
            .query_row(params![number.0, all, login], |r| {
                Ok((CustomerId(r.get(0)?), r.get(1)?))
            })
            .optional()
            .map_err(db)
    }

    fn open_case_numbers(
        &self,
        customer: CustomerId,
        limit: u32,
        viewer: &Viewer,
    ) -> Result<Vec<CaseNumber>> {
        let conn = self.conn;
        let (all, login) = viewer.params();
        let mut stmt = conn.prepare_cached(&OPEN_CASE_NUMBERS).map_err(db)?;
        let numbers = stmt
            .query_map(params![customer.0, limit, all, login], |r| {
                r.get(0).map(CaseNumber)
            })
            .map_err(db)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db)?;
        Ok(numbers)
    }

    fn pop_by_phone(&self, number: &str, limit: u32, viewer: &Viewer) -> Result<PhonePop> {
        let conn = self.conn;
        let (all, login) = viewer.params();
        let mut stmt = conn.prepare_cached(&POP_BY_PHONE).map_err(db)?;
        let mut rows = stmt.query(params![number, limit, all, login]).map_err(db)?;
        let mut pop = PhonePop::default();
        while let Some(row) = rows.next().map_err(db)? {
            if !row.get::<_, bool>(0).map_err(db)? {
                return Ok(PhonePop {
                    viewer: None,
                    ..PhonePop::default()
                });
            }
            if pop.viewer.is_none() {
                pop.viewer = Some(match (row.get::<_, bool>(1).map_err(db)?, login) {
                    (false, Some(login)) => Viewer::Agent(login.to_owned()),
                    _ => Viewer::All,
                });
            }
            // The viewer's row alone: nobody has the number.
            let Some(id) = row.get::<_, Option<i64>>(2).map_err(db)? else {
                continue;
            };
            let id = CustomerId(id);
            // A customer holding the number twice comes twice.
            if pop.customers.last() != Some(&id) {
                pop.customers.push(id);
            }
            if pop.only.is_none() {
                let open: Option<String> = row.get(5).map_err(db)?;
                let mut numbers = open
                    .as_deref()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|n| !n.is_empty())
                    .map(|n| {
                        n.parse().map(CaseNumber).map_err(|_| {
                            Error::Corrupt(format!("case number `{n}` in a pop by phone"))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                // `group_concat` promises no order.
                numbers.sort_unstable_by(|a, b| b.cmp(a));
                pop.only = Some((row.get(3).map_err(db)?, row.get(4).map_err(db)?, numbers));
            }
        }
        // The index yields ids in order; make sure of it.
        pop.customers.sort_unstable();
        pop.customers.dedup();
        if pop.customers.len() != 1 {
            pop.only = None;
        }
        Ok(pop)
    }

    fn candidate_rank(&self, id: CustomerId) -> Result<(bool, Option<String>, String)> {
        let conn = self.conn;
        Ok(conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM cases WHERE customer_id = ?1 AND is_open = 1),
                        (SELECT max(updated_at) FROM cases WHERE customer_id = ?1),
                        updated_at
                 FROM customers WHERE id = ?1",
            )
            .map_err(db)?
            .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .map_err(db)?
            .unwrap_or((false, None, String::new())))
    }

    fn next_reminder_at(&self) -> Result<Option<DateTime<Utc>>> {
        let conn = self.conn;
        let next: Option<String> = conn
            .prepare_cached(
                "SELECT min(remind_at) FROM tasks
                 WHERE remind_at IS NOT NULL AND reminded_at IS NULL AND status = 'planned'",
            )
            .map_err(db)?
            .query_row([], |r| r.get(0))
            .map_err(db)?;
        next.as_deref().map(parse_ts).transpose()
    }

    fn count_due_reminders(&self, now: DateTime<Utc>) -> Result<u64> {
        let conn = self.conn;
        let n: i64 = conn
            .prepare_cached(
                "SELECT count(*) FROM tasks
                 WHERE remind_at IS NOT NULL AND reminded_at IS NULL AND status = 'planned'
                   AND remind_at <= ?1",
            )
            .map_err(db)?
            .query_row([ts(now)], |r| r.get(0))
            .map_err(db)?;
        Ok(n.unsigned_abs())
    }
}

/// The open cases of a customer a viewer may see, newest first (what every
/// pop lists).
pub static OPEN_CASE_NUMBERS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT number FROM cases WHERE customer_id = ?1 AND is_open = 1 AND {}
         ORDER BY number DESC LIMIT ?2",
        super::cases::visible(3, 4)
    )
});

/// The pop by phone in one statement. First who is looking (`v`, one
/// row): whether the viewer may act at all (`?3`, one who sees every case
/// without asking, or an enabled agent `?4`) and whether they see every
/// private case (`?3`, or the agent holds `see_all_private`: their
/// override, else their role's default), the agent read once. Then each
/// customer having the number (through `customer_phones_number`, which
/// yields them in id order, so no sort is needed),
/// their account and name, and their open cases the viewer may see (from
/// the `cases_customer` index alone, which carries the columns of the
/// visibility condition). A number several customers share reads each
/// one's open cases, which the pop then does not use: rarer than a number
/// one customer has, and cheaper than asking first.
pub static POP_BY_PHONE: LazyLock<String> = LazyLock::new(|| {
    let see_all_roles = Role::ALL
        .into_iter()
        .filter(|r| Permission::SeeAllPrivate.default_for(*r))
        .map(|r| format!("'{}'", r.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT ?3 OR v.a IS NOT NULL, ?3 OR coalesce(v.a, 0), p.customer_id, c.account, c.name,
                (SELECT group_concat(number, ',') FROM
                    (SELECT number FROM cases
                      WHERE customer_id = p.customer_id AND is_open = 1
                        AND (?3 OR coalesce(v.a, 0) OR visibility <> 'private' OR owner = ?4
                             OR grp IN (SELECT name FROM agent_groups WHERE login = ?4))
                      ORDER BY number DESC LIMIT ?2))
           FROM (SELECT (SELECT CASE WHEN disabled THEN NULL
                                ELSE coalesce(json_extract(overrides, '$.{perm}'),
                                              role IN ({see_all_roles})) END
                           FROM agents WHERE ?4 IS NOT NULL AND login = ?4) AS a) v
           LEFT JOIN customer_phones p ON p.number = ?1 AND (?3 OR v.a IS NOT NULL)
           LEFT JOIN customers c ON c.id = p.customer_id
          LIMIT 100",
        perm = Permission::SeeAllPrivate.as_str(),
    )
});

/// A case's customer and whether it is open, if the viewer may see it.
static CASE_OWNER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT customer_id, is_open FROM cases WHERE number = ?1 AND {}",
        super::cases::visible(2, 3)
    )
});

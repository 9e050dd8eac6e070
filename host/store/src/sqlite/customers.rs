//! Customers and their phone and email tables.

use super::db;
use dossier_sdk::{Address, Customer, CustomerId, Email, ObjectKind, Phone};
use rusqlite::{Connection, Row, params};

use super::SqliteTx;
use crate::{Criterion, CustomerTx, Page, from_json, parse_ts, to_json, ts};
use dossier_types::schema::Schema;
use dossier_types::{Error, Result};

fn map_unique(e: rusqlite::Error, account: &str) -> Error {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Error::Duplicate {
                object: ObjectKind::Customer,
                key: format!("account {account}"),
            }
        }
        _ => db(e),
    }
}

fn write_contacts(conn: &Connection, c: &Customer) -> Result<()> {
    let mut phone = conn.prepare_cached(
        "INSERT INTO customer_phones (customer_id, position, label, number) VALUES (?1, ?2, ?3, ?4)",
    ).map_err(db)?;
    for (i, p) in c.phones.iter().enumerate() {
        phone
            .execute(params![c.id.0, i as i64, p.label, p.number])
            .map_err(db)?;
    }
    let mut email = conn.prepare_cached(
        "INSERT INTO customer_emails (customer_id, position, label, address) VALUES (?1, ?2, ?3, ?4)",
    ).map_err(db)?;
    for (i, e) in c.emails.iter().enumerate() {
        email
            .execute(params![c.id.0, i as i64, e.label, e.address])
            .map_err(db)?;
    }
    Ok(())
}

/// A customer row with its phones and emails folded in as JSON arrays of
/// `[label, value]`, so one statement reads a whole customer.
const CUSTOMER_COLUMNS: &str = "id, account, name, address, custom, created_at, updated_at,
    (SELECT json_group_array(json_array(label, number)) FROM
        (SELECT label, number FROM customer_phones WHERE customer_id = customers.id ORDER BY position)),
    (SELECT json_group_array(json_array(label, address)) FROM
        (SELECT label, address FROM customer_emails WHERE customer_id = customers.id ORDER BY position))";

fn customer_from_row(schema: &Schema, row: &Row<'_>) -> Result<Customer> {
    let address: String = row.get(3).map_err(db)?;
    let custom: String = row.get(4).map_err(db)?;
    let created: String = row.get(5).map_err(db)?;
    let updated: String = row.get(6).map_err(db)?;
    let phones: String = row.get(7).map_err(db)?;
    let emails: String = row.get(8).map_err(db)?;
    let phones: Vec<(String, String)> = from_json("customer phones", &phones)?;
    let emails: Vec<(String, String)> = from_json("customer emails", &emails)?;
    Ok(Customer {
        id: CustomerId(row.get(0).map_err(db)?),
        account: row.get(1).map_err(db)?,
        name: row.get(2).map_err(db)?,
        address: from_json::<Address>("customer address", &address)?,
        phones: phones
            .into_iter()
            .map(|(label, number)| Phone { label, number })
            .collect(),
        emails: emails
            .into_iter()
            .map(|(label, address)| Email { label, address })
            .collect(),
        custom: schema.decode(ObjectKind::Customer, &custom)?,
        created_at: parse_ts(&created)?,
        updated_at: parse_ts(&updated)?,
    })
}

fn query_customers(
    conn: &Connection,
    schema: &Schema,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Customer>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let mut rows = stmt.query(params).map_err(db)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db)? {
        out.push(customer_from_row(schema, row)?);
    }
    Ok(out)
}

/// The statement [`find_customers`] runs for `criteria`, and its values:
/// one indexed subquery per criterion, intersected. `None` for no criteria.
fn find_customers_sql(criteria: &[Criterion]) -> Option<(String, Vec<rusqlite::types::Value>)> {
    let mut subqueries = Vec::new();
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    for c in criteria {
        let n = values.len() + 1;
        let (sql, value) = match c {
            Criterion::Phone(p) => (
                format!("SELECT customer_id FROM customer_phones WHERE number = ?{n}"),
                p.clone().into(),
            ),
            Criterion::Email(e) => (
                format!("SELECT customer_id FROM customer_emails WHERE address = ?{n}"),
                e.clone().into(),
            ),
            Criterion::Account(a) => (
                format!("SELECT id FROM customers WHERE account = ?{n}"),
                a.clone().into(),
            ),
            Criterion::Name(part) => (
                format!("SELECT id FROM customers WHERE name LIKE ?{n} ESCAPE '\\'"),
                format!(
                    "%{}%",
                    part.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                )
                .into(),
            ),
            Criterion::Field(name, value) => (
                super::fields::field_id_subquery("customers", "id", name, n),
                super::fields::json_to_sql(value),
            ),
        };
        subqueries.push(sql);
        values.push(value);
    }
    if subqueries.is_empty() {
        return None;
    }
    let sql = format!(
        "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id IN ({}) ORDER BY id LIMIT 100",
        subqueries.join(" INTERSECT ")
    );
    Some((sql, values))
}

impl CustomerTx for SqliteTx<'_> {
    fn next_customer_id(&self) -> Result<CustomerId> {
        let conn = self.conn;
        let id: i64 = conn
            .prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM customers")
            .map_err(db)?
            .query_row([], |r| r.get(0))
            .map_err(db)?;
        Ok(CustomerId(self.allocate(super::IdKind::Customer, id)))
    }

    fn insert_customer(&self, c: &Customer) -> Result<()> {
        let conn = self.conn;
        conn.prepare_cached(
            "INSERT INTO customers (id, account, name, address, custom, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(db)?
        .execute(params![
            c.id.0,
            c.account,
            c.name,
            to_json(&c.address),
            Schema::encode(&c.custom),
            ts(c.created_at),
            ts(c.updated_at),
        ])
        .map_err(|e| map_unique(e, &c.account))?;
        write_contacts(conn, c)
    }

    fn update_customer(&self, c: &Customer) -> Result<()> {
        let conn = self.conn;
        let n = conn
            .prepare_cached(
                "UPDATE customers SET account = ?2, name = ?3, address = ?4, custom = ?5, updated_at = ?6
                 WHERE id = ?1",
            ).map_err(db)?
            .execute(params![
                c.id.0,
                c.account,
                c.name,
                to_json(&c.address),
                Schema::encode(&c.custom),
                ts(c.updated_at),
            ])
            .map_err(|e| map_unique(e, &c.account))?;
        if n == 0 {
            return Err(Error::not_found(ObjectKind::Customer, format!("#{}", c.id)));
        }
        conn.prepare_cached("DELETE FROM customer_phones WHERE customer_id = ?1")
            .map_err(db)?
            .execute([c.id.0])
            .map_err(db)?;
        conn.prepare_cached("DELETE FROM customer_emails WHERE customer_id = ?1")
            .map_err(db)?
            .execute([c.id.0])
            .map_err(db)?;
        write_contacts(conn, c)
    }

    fn get_customer(&self, schema: &Schema, id: CustomerId) -> Result<Customer> {
        let conn = self.conn;
        query_customers(
            conn,
            schema,
            &format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ?1"),
            [id.0],
        )?
        .pop()
        .ok_or_else(|| Error::not_found(ObjectKind::Customer, format!("#{id}")))
    }

    fn customer_by_account(&self, schema: &Schema, account: &str) -> Result<Option<Customer>> {
        let conn = self.conn;
        Ok(query_customers(
            conn,
            schema,
            &format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE account = ?1"),
            [account],
        )?
        .pop())
    }

    fn find_customers(&self, schema: &Schema, criteria: &[Criterion]) -> Result<Vec<Customer>> {
        let conn = self.conn;
        let Some((sql, values)) = find_customers_sql(criteria) else {
            return Ok(Vec::new());
        };
        query_customers(conn, schema, &sql, rusqlite::params_from_iter(values))
    }

    fn find_customers_plan(&self, criteria: &[Criterion]) -> Result<String> {
        let conn = self.conn;
        let Some((sql, values)) = find_customers_sql(criteria) else {
            return Ok(String::new());
        };
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .map_err(db)?;
        let rows: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(values), |r| {
                r.get::<_, String>(3)
            })
            .map_err(db)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db)?;
        Ok(rows.join("; "))
    }

    fn list_customers(&self, schema: &Schema, page: Page) -> Result<Vec<Customer>> {
        let conn = self.conn;
        query_customers(
            conn,
            schema,
            &format!("SELECT {CUSTOMER_COLUMNS} FROM customers ORDER BY id LIMIT ?1 OFFSET ?2"),
            params![page.limit, page.offset],
        )
    }

    fn customers_after(
        &self,
        schema: &Schema,
        after: CustomerId,
        limit: u32,
    ) -> Result<Vec<Customer>> {
        query_customers(
            self.conn,
            schema,
            &format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id > ?1 ORDER BY id LIMIT ?2"),
            params![after.0, limit],
        )
    }
}

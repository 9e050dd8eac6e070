//! Tasks and their reminders.

use super::db;
use chrono::{DateTime, Utc};
use dossier_sdk::{CaseNumber, CustomerId, ObjectKind, Task, TaskId};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params, params_from_iter};

use super::SqliteTx;
use crate::{Page, TaskFilter, TaskTx, Viewer, parse_ts, ts};
use dossier_types::schema::Schema;
use dossier_types::{Error, Result};

/// A task's column values, numbered as the INSERT and UPDATE above use them.
fn task_values(t: &Task) -> [Value; 13] {
    [
        t.id.0.into(),
        t.customer.map(|c| c.0).into(),
        t.case.map(|c| c.0).into(),
        t.kind.as_str().to_owned().into(),
        t.subject.clone().into(),
        ts(t.due_at).into(),
        t.reminder_minutes.map(i64::from).into(),
        t.reminder_at().map(ts).into(),
        t.status.as_str().to_owned().into(),
        t.assignee.clone().into(),
        Schema::encode(&t.custom).into(),
        ts(t.created_at).into(),
        ts(t.updated_at).into(),
    ]
}

const TASK_COLUMNS: &str = "id, customer_id, case_number, kind, subject, due_at, reminder_minutes,
    status, assignee, custom, created_at, updated_at, via";

fn task_from_row(schema: &Schema, row: &Row<'_>) -> Result<Task> {
    let kind: String = row.get(3).map_err(db)?;
    let due: String = row.get(5).map_err(db)?;
    let status: String = row.get(7).map_err(db)?;
    let custom: String = row.get(9).map_err(db)?;
    let created: String = row.get(10).map_err(db)?;
    let updated: String = row.get(11).map_err(db)?;
    Ok(Task {
        id: TaskId(row.get(0).map_err(db)?),
        customer: row.get::<_, Option<i64>>(1).map_err(db)?.map(CustomerId),
        case: row.get::<_, Option<i64>>(2).map_err(db)?.map(CaseNumber),
        kind: kind.parse().map_err(Error::Corrupt)?,
        subject: row.get(4).map_err(db)?,
        due_at: parse_ts(&due)?,
        reminder_minutes: row.get(6).map_err(db)?,
        status: status.parse().map_err(Error::Corrupt)?,
        assignee: row.get(8).map_err(db)?,
        custom: schema.decode(ObjectKind::Task, &custom)?,
        created_at: parse_ts(&created)?,
        updated_at: parse_ts(&updated)?,
        via: row.get(12).map_err(db)?,
    })
}

fn query_tasks(
    conn: &Connection,
    schema: &Schema,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Task>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let mut rows = stmt.query(params).map_err(db)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db)? {
        out.push(task_from_row(schema, row)?);
    }
    Ok(out)
}

impl TaskTx for SqliteTx<'_> {
    fn next_task_id(&self) -> Result<TaskId> {
        let conn = self.conn;
        let id: i64 = conn
            .prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM tasks")
            .map_err(db)?
            .query_row([], |r| r.get(0))
            .map_err(db)?;
        Ok(TaskId(self.allocate(super::IdKind::Task, id)))
    }

    fn insert_task(&self, t: &Task) -> Result<()> {
        let conn = self.conn;
        conn.prepare_cached(
            "INSERT INTO tasks (id, customer_id, case_number, kind, subject, due_at, reminder_minutes,
                                remind_at, status, assignee, custom, created_at, updated_at, via)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        ).map_err(db)?
        .execute(params_from_iter(
            task_values(t).into_iter().chain([t.via.clone().into()]),
        )).map_err(db)?;
        Ok(())
    }

    fn set_task_origin(&self, id: TaskId, depth: u32, chain: &[String]) -> Result<()> {
        let conn = self.conn;
        conn.prepare_cached("UPDATE tasks SET depth = ?2, chain = ?3 WHERE id = ?1")
            .map_err(db)?
            .execute(params![id.0, depth, crate::to_json(&chain)])
            .map_err(db)?;
        Ok(())
    }

    fn task_origin(&self, id: TaskId) -> Result<(u32, Vec<String>)> {
        let conn = self.conn;
        let (depth, chain): (u32, String) = conn
            .prepare_cached("SELECT depth, chain FROM tasks WHERE id = ?1")
            .map_err(db)?
            .query_row(params![id.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db)?;
        Ok((depth, crate::from_json("task chain", &chain)?))
    }

    fn update_task(&self, t: &Task) -> Result<()> {
        let conn = self.conn;
        let n = conn
            .prepare_cached(
                "UPDATE tasks SET customer_id = ?2, case_number = ?3, kind = ?4, subject = ?5,
                     due_at = ?6, reminder_minutes = ?7,
                     reminded_at = CASE WHEN remind_at IS ?8 THEN reminded_at ELSE NULL END,
                     remind_at = ?8, status = ?9, assignee = ?10, custom = ?11, updated_at = ?13
                 WHERE id = ?1",
            )
            .map_err(db)?
            .execute(params_from_iter(task_values(t)))
            .map_err(db)?;
        if n == 0 {
            return Err(Error::not_found(ObjectKind::Task, format!("#{}", t.id)));
        }
        Ok(())
    }

    fn get_task(&self, schema: &Schema, id: TaskId) -> Result<Task> {
        let conn = self.conn;
        query_tasks(
            conn,
            schema,
            &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"),
            [id.0],
        )?
        .pop()
        .ok_or_else(|| Error::not_found(ObjectKind::Task, format!("#{id}")))
    }

    fn list_tasks(
        &self,
        schema: &Schema,
        filter: &TaskFilter,
        page: Page,
        viewer: &Viewer,
    ) -> Result<Vec<Task>> {
        let conn = self.conn;
        // Only the conditions the filter sets, so each can use its index.
        let mut conditions = vec!["1".to_owned()];
        let mut values: Vec<Value> = Vec::new();
        let mut condition = |sql: &str, value: Value| {
            values.push(value);
            conditions.push(sql.replace('?', &format!("?{}", values.len())));
        };
        if let Some(c) = filter.case {
            condition("case_number = ?", c.0.into());
        }
        if let Some(c) = filter.customer {
            condition("customer_id = ?", c.0.into());
        }
        if let Some(a) = &filter.assignee {
            condition("assignee = ?", a.clone().into());
        }
        if let Some(s) = filter.status {
            condition("status = ?", s.as_str().to_owned().into());
        }
        // A task on a case is seen with its case; one on no case by all.
        if let (false, Some(login)) = viewer.params() {
            values.push(Value::from(false));
            values.push(Value::from(login.to_owned()));
            let n = values.len();
            conditions.push(format!(
                "(case_number IS NULL OR case_number IN (SELECT number FROM cases WHERE {}))",
                super::cases::visible(n - 1, n)
            ));
        }
        let n = values.len();
        values.push(page.limit.into());
        values.push(page.offset.into());
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE {} ORDER BY due_at, id LIMIT ?{} OFFSET ?{}",
            conditions.join(" AND "),
            n + 1,
            n + 2
        );
        query_tasks(conn, schema, &sql, params_from_iter(values))
    }

    fn due_reminder_ids(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<TaskId>> {
        let conn = self.conn;
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM tasks
             WHERE remind_at IS NOT NULL AND reminded_at IS NULL AND status = 'planned' AND remind_at <= ?1
             ORDER BY remind_at, id LIMIT ?2",
        ).map_err(db)?;
        let ids = stmt
            .query_map(params![ts(now), limit], |r| r.get(0).map(TaskId))
            .map_err(db)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db)?;
        Ok(ids)
    }

    fn claim_reminder(&self, id: TaskId, now: DateTime<Utc>) -> Result<bool> {
        let conn = self.conn;
        let n = conn
            .prepare_cached(
                "UPDATE tasks SET reminded_at = ?2
                 WHERE id = ?1 AND reminded_at IS NULL AND status = 'planned'
                   AND remind_at IS NOT NULL AND remind_at <= ?2",
            )
            .map_err(db)?
            .execute(params![id.0, ts(now)])
            .map_err(db)?;
        Ok(n == 1)
    }
}

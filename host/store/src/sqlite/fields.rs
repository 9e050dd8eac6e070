//! Custom field bookkeeping: the definitions records were written with, the
//! compatibility check against a new config, and the expression indexes of
//! indexed fields.

use super::db;
use std::collections::BTreeSet;

use dossier_sdk::{FieldType, ObjectKind};
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteTx;
use crate::SchemaTx;
use dossier_types::schema::Schema;
use dossier_types::{Error, Result};

/// The table that holds records of `object`.
pub fn table(object: ObjectKind) -> &'static str {
    match object {
        ObjectKind::Customer => "customers",
        ObjectKind::Case => "cases",
        ObjectKind::FollowUp => "follow_ups",
        ObjectKind::Task => "tasks",
    }
}

/// The SQL expression reading custom field `name`; index and lookups must
/// spell it identically for SQLite to use the index. `name` is an
/// identifier (checked by the schema), so interpolating it is safe.
fn field_expr(name: &str) -> String {
    format!("json_extract(custom, '$.{name}')")
}

fn is_used(conn: &Connection, object: ObjectKind, name: &str) -> Result<bool> {
    let sql = format!(
        "SELECT 1 FROM {} WHERE {} IS NOT NULL LIMIT 1",
        table(object),
        field_expr(name)
    );
    Ok(conn
        .query_row(&sql, [], |_| Ok(()))
        .optional()
        .map_err(db)?
        .is_some())
}

fn choice_is_used(
    conn: &Connection,
    object: ObjectKind,
    name: &str,
    ty: FieldType,
    key: &str,
) -> Result<bool> {
    let sql = if ty == FieldType::MultiChoice {
        format!(
            "SELECT 1 FROM {t}, json_each({t}.custom, '$.{name}') j WHERE j.value = ?1 LIMIT 1",
            t = table(object)
        )
    } else {
        format!(
            "SELECT 1 FROM {} WHERE {} = ?1 LIMIT 1",
            table(object),
            field_expr(name)
        )
    };
    Ok(conn
        .query_row(&sql, [key], |_| Ok(()))
        .optional()
        .map_err(db)?
        .is_some())
}

/// A subquery selecting `id_column` of the rows of `table` whose custom field
/// `field` equals parameter `?{param}`, spelled so the field's expression index
/// serves it.
pub fn field_id_subquery(table: &str, id_column: &str, field: &str, param: usize) -> String {
    format!(
        "SELECT {id_column} FROM {table} WHERE {} = ?{param}",
        field_expr(field)
    )
}

/// The SQL value `json_extract` yields for a plain-JSON scalar.
pub fn json_to_sql(value: &serde_json::Value) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match value {
        serde_json::Value::Bool(b) => Value::Integer(i64::from(*b)),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Real(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::Text(s.clone()),
        serde_json::Value::Null => Value::Null,
        other => Value::Text(other.to_string()),
    }
}

impl SchemaTx for SqliteTx<'_> {
    fn field_defs_current(&self, schema: &Schema) -> Result<bool> {
        let conn = self.conn;
        for object in ObjectKind::ALL {
            let mut stmt = conn
                .prepare(
                    "SELECT name, type, choices FROM field_defs WHERE object = ?1 ORDER BY name",
                )
                .map_err(db)?;
            let stored: Vec<(String, String, String)> = stmt
                .query_map([object.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(db)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db)?;
            let mut wanted: Vec<(String, String, String)> = schema
                .fields(object)
                .iter()
                .map(|def| {
                    (
                        def.name.clone(),
                        def.ty.as_str().to_owned(),
                        serde_json::Value::from(def.choice_keys()).to_string(),
                    )
                })
                .collect();
            wanted.sort();
            if stored != wanted {
                return Ok(false);
            }
            for def in schema.fields(object).iter().filter(|d| d.indexed) {
                let index = format!("cf_{}_{}", object.as_str(), def.name);
                let exists = conn
                    .query_row(
                        "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1",
                        [&index],
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(db)?
                    .is_some();
                if !exists {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    fn sync_field_defs(&self, schema: &Schema) -> Result<()> {
        let conn = self.conn;
        for object in ObjectKind::ALL {
            let mut stmt = conn
                .prepare("SELECT name, type, choices FROM field_defs WHERE object = ?1")
                .map_err(db)?;
            let stored: Vec<(String, String, String)> = stmt
                .query_map([object.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(db)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db)?;
            for (name, ty, choices) in stored {
                let refuse = |reason: String| Error::IncompatibleField {
                    object,
                    field: name.clone(),
                    reason,
                };
                let Some(def) = schema.field(object, &name) else {
                    if is_used(conn, object, &name)? {
                        return Err(refuse(
                            "it was removed from the config but records still hold values for it"
                                .into(),
                        ));
                    }
                    continue;
                };
                if def.ty.as_str() != ty {
                    if is_used(conn, object, &name)? {
                        return Err(refuse(format!(
                            "its type changed from {ty} to {} but records already hold {ty} values",
                            def.ty
                        )));
                    }
                    continue;
                }
                let old: BTreeSet<String> = serde_json::from_str(&choices)
                    .map_err(|e| Error::Corrupt(format!("field_defs choices: {e}")))?;
                let new: BTreeSet<String> = def.choice_keys().into_iter().collect();
                for removed in old.difference(&new) {
                    if choice_is_used(conn, object, &name, def.ty, removed)? {
                        return Err(refuse(format!(
                            "choice `{removed}` was removed but records still use it"
                        )));
                    }
                }
            }
            conn.execute(
                "DELETE FROM field_defs WHERE object = ?1",
                [object.as_str()],
            )
            .map_err(db)?;
            for def in schema.fields(object) {
                conn.execute(
                    "INSERT INTO field_defs (object, name, type, choices) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        object.as_str(),
                        def.name,
                        def.ty.as_str(),
                        serde_json::Value::from(def.choice_keys()).to_string()
                    ],
                )
                .map_err(db)?;
                if def.indexed {
                    conn.execute_batch(&format!(
                        "CREATE INDEX IF NOT EXISTS cf_{obj}_{name} ON {table}({expr})",
                        obj = object.as_str(),
                        name = def.name,
                        table = table(object),
                        expr = field_expr(&def.name),
                    ))
                    .map_err(db)?;
                }
            }
        }
        Ok(())
    }

    fn settings(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for name in [
            "journal_mode",
            "synchronous",
            "foreign_keys",
            "temp_store",
            "mmap_size",
        ] {
            let value: rusqlite::types::Value = self
                .conn
                .pragma_query_value(None, name, |r| r.get(0))
                .map_err(db)?;
            let text = match value {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            };
            out.push((name.to_owned(), text));
        }
        // Waiting for locks is the store's own busy handler, not SQLite's
        // `busy_timeout`: report how long it waits.
        out.insert(
            3,
            (
                "busy_timeout".to_owned(),
                super::lock_wait().as_millis().to_string(),
            ),
        );
        Ok(out)
    }
}

//! Agents, groups and who belongs to which.

use super::db;
use dossier_sdk::{Agent, Group, Permission, Role};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqliteTx;
use crate::{AgentTx, from_json, parse_ts, to_json, ts};
use dossier_types::{Error, Result};

const AGENT_COLUMNS: &str = "login, display_name, email, role, overrides, disabled, created_at,
    updated_at, (SELECT json_group_array(name) FROM
        (SELECT name FROM agent_groups WHERE agent_groups.login = agents.login ORDER BY name))";

fn agent_from_row(row: &Row<'_>) -> Result<Agent> {
    let role: String = row.get(3).map_err(db)?;
    let overrides: String = row.get(4).map_err(db)?;
    let groups: String = row.get(8).map_err(db)?;
    Ok(Agent {
        login: row.get(0).map_err(db)?,
        display_name: row.get(1).map_err(db)?,
        email: row.get(2).map_err(db)?,
        role: role
            .parse::<Role>()
            .map_err(|e| Error::Corrupt(format!("agent role: {e}")))?,
        groups: from_json("agent groups", &groups)?,
        overrides: from_json("agent permissions", &overrides)?,
        disabled: row.get(5).map_err(db)?,
        created_at: parse_ts(&row.get::<_, String>(6).map_err(db)?)?,
        updated_at: parse_ts(&row.get::<_, String>(7).map_err(db)?)?,
    })
}

fn write_groups(conn: &Connection, agent: &Agent) -> Result<()> {
    conn.prepare_cached("DELETE FROM agent_groups WHERE login = ?1")
        .map_err(db)?
        .execute([&agent.login])
        .map_err(db)?;
    let mut insert = conn
        .prepare_cached("INSERT INTO agent_groups (login, name) VALUES (?1, ?2)")
        .map_err(db)?;
    for group in &agent.groups {
        insert.execute(params![agent.login, group]).map_err(db)?;
    }
    Ok(())
}

/// A unique-key refusal as the sentence `taken` says, other errors as they are.
fn refuse_duplicate(result: rusqlite::Result<usize>, taken: impl FnOnce() -> String) -> Result<()> {
    match result {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(Error::Refused(taken()))
        }
        other => other.map(drop).map_err(db),
    }
}

fn group_from_row(row: &Row<'_>) -> Result<Group> {
    Ok(Group {
        name: row.get(0).map_err(db)?,
        email: row.get(1).map_err(db)?,
        created_at: parse_ts(&row.get::<_, String>(2).map_err(db)?)?,
    })
}

impl AgentTx for SqliteTx<'_> {
    fn insert_agent(&self, agent: &Agent) -> Result<()> {
        let conn = self.conn;
        let inserted = conn
            .prepare_cached(
                "INSERT INTO agents (login, display_name, email, role, overrides, disabled,
                                     created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(db)?
            .execute(params![
                agent.login,
                agent.display_name,
                agent.email,
                agent.role.as_str(),
                to_json(&agent.overrides),
                agent.disabled,
                ts(agent.created_at),
                ts(agent.updated_at)
            ]);
        refuse_duplicate(inserted, || {
            format!("an agent with login `{}` already exists", agent.login)
        })?;
        write_groups(conn, agent)
    }

    fn update_agent(&self, agent: &Agent) -> Result<()> {
        let conn = self.conn;
        let n = conn
            .prepare_cached(
                "UPDATE agents SET display_name = ?2, email = ?3, role = ?4, overrides = ?5,
                     disabled = ?6, updated_at = ?7 WHERE login = ?1",
            )
            .map_err(db)?
            .execute(params![
                agent.login,
                agent.display_name,
                agent.email,
                agent.role.as_str(),
                to_json(&agent.overrides),
                agent.disabled,
                ts(agent.updated_at)
            ])
            .map_err(db)?;
        if n == 0 {
            return Err(Error::UnknownAgent {
                login: agent.login.clone(),
            });
        }
        write_groups(conn, agent)
    }

    fn agent(&self, login: &str) -> Result<Option<Agent>> {
        let conn = self.conn;
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE login = ?1");
        let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query([login]).map_err(db)?;
        match rows.next().map_err(db)? {
            Some(row) => Ok(Some(agent_from_row(row)?)),
            None => Ok(None),
        }
    }

    fn agent_holds(&self, login: &str, permission: Permission) -> Result<Option<bool>> {
        let conn = self.conn;
        let mut stmt = conn
            .prepare_cached("SELECT role, overrides FROM agents WHERE login = ?1 AND NOT disabled")
            .map_err(db)?;
        let mut rows = stmt.query([login]).map_err(db)?;
        let Some(row) = rows.next().map_err(db)? else {
            return Ok(None);
        };
        let role: String = row.get(0).map_err(db)?;
        let role = role
            .parse::<Role>()
            .map_err(|e| Error::Corrupt(format!("agent role: {e}")))?;
        let overrides: String = row.get(1).map_err(db)?;
        // Most agents have no override: skip decoding the empty object.
        let set = if overrides.trim() == "{}" {
            None
        } else {
            from_json::<std::collections::BTreeMap<Permission, bool>>(
                "agent permissions",
                &overrides,
            )?
            .get(&permission)
            .copied()
        };
        Ok(Some(set.unwrap_or_else(|| permission.default_for(role))))
    }

    fn list_agents(&self) -> Result<Vec<Agent>> {
        let conn = self.conn;
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents ORDER BY login");
        let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(agent_from_row(row)?);
        }
        Ok(out)
    }

    fn count_agents(&self) -> Result<u64> {
        let conn = self.conn;
        let n: i64 = conn
            .prepare_cached("SELECT count(*) FROM agents")
            .map_err(db)?
            .query_row([], |r| r.get(0))
            .map_err(db)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    fn insert_group(&self, group: &Group) -> Result<()> {
        let conn = self.conn;
        let inserted = conn
            .prepare_cached("INSERT INTO groups (name, email, created_at) VALUES (?1, ?2, ?3)")
            .map_err(db)?
            .execute(params![group.name, group.email, ts(group.created_at)]);
        refuse_duplicate(inserted, || {
            format!("a group named `{}` already exists", group.name)
        })
    }

    fn group(&self, name: &str) -> Result<Option<Group>> {
        let conn = self.conn;
        let mut stmt = conn
            .prepare_cached("SELECT name, email, created_at FROM groups WHERE name = ?1")
            .map_err(db)?;
        let found = stmt
            .query_row([name], |r| {
                Ok((r.get::<_, String>(0)?, r.get(1)?, r.get::<_, String>(2)?))
            })
            .optional()
            .map_err(db)?;
        found
            .map(|(name, email, created)| {
                Ok(Group {
                    name,
                    email,
                    created_at: parse_ts(&created)?,
                })
            })
            .transpose()
    }

    fn list_groups(&self) -> Result<Vec<Group>> {
        let conn = self.conn;
        let mut stmt = conn
            .prepare_cached("SELECT name, email, created_at FROM groups ORDER BY name")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(group_from_row(row)?);
        }
        Ok(out)
    }

    fn group_members(&self, name: &str) -> Result<Vec<String>> {
        let conn = self.conn;
        let mut stmt = conn
            .prepare_cached("SELECT login FROM agent_groups WHERE name = ?1 ORDER BY login")
            .map_err(db)?;
        let logins = stmt
            .query_map([name], |r| r.get(0))
            .map_err(db)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db)?;
        Ok(logins)
    }
}

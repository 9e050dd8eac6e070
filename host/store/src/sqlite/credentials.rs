//! Password hashes, API tokens and sessions (`agent_passwords`,
//! `api_tokens`, `sessions`): hashes only, never a secret.

use super::db;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteTx;
use crate::credentials::{ApiToken, CredentialTx, NewApiToken, SessionRow};
use crate::{parse_ts, ts};
use dossier_types::Result;

const TOKEN_COLUMNS: &str = "id, login, label, created_at, expires_at, revoked_at";

fn opt_ts(value: Option<String>) -> Result<Option<DateTime<Utc>>> {
    value.as_deref().map(parse_ts).transpose()
}

fn token_from_row(row: &Row<'_>) -> Result<ApiToken> {
    Ok(ApiToken {
        id: row.get(0).map_err(db)?,
        login: row.get(1).map_err(db)?,
        label: row.get(2).map_err(db)?,
        created_at: parse_ts(&row.get::<_, String>(3).map_err(db)?)?,
        expires_at: opt_ts(row.get(4).map_err(db)?)?,
        revoked_at: opt_ts(row.get(5).map_err(db)?)?,
    })
}

impl SqliteTx<'_> {
    fn tokens_where(&self, condition: &str, value: &dyn rusqlite::ToSql) -> Result<Vec<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE {condition} ORDER BY id");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db)?;
        let mut rows = stmt.query([value]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            out.push(token_from_row(row)?);
        }
        Ok(out)
    }
}

impl CredentialTx for SqliteTx<'_> {
    fn set_password_hash(&self, login: &str, hash: &str, at: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO agent_passwords (login, hash, set_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (login) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at",
            )
            .map_err(db)?
            .execute(params![login, hash, ts(at)])
            .map_err(db)?;
        Ok(())
    }

    fn password_hash(&self, login: &str) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT hash FROM agent_passwords WHERE login = ?1")
            .map_err(db)?
            .query_row([login], |r| r.get(0))
            .optional()
            .map_err(db)
    }

    fn insert_api_token(&self, token: &NewApiToken<'_>) -> Result<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO api_tokens (login, hash, label, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?
            .execute(params![
                token.login,
                token.hash,
                token.label,
                ts(token.created_at),
                token.expires_at.map(ts)
            ])
            .map_err(db)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        Ok(self.tokens_where("hash = ?1", &hash)?.into_iter().next())
    }

    fn api_token(&self, id: i64) -> Result<Option<ApiToken>> {
        Ok(self.tokens_where("id = ?1", &id)?.into_iter().next())
    }

    fn api_tokens(&self, login: Option<&str>) -> Result<Vec<ApiToken>> {
        match login {
            Some(login) => self.tokens_where("login = ?1", &login),
            None => self.tokens_where("?1 IS NULL", &rusqlite::types::Null),
        }
    }

    fn revoke_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            )
            .map_err(db)?
            .execute(params![id, ts(at)])
            .map_err(db)?;
        Ok(n > 0)
    }

    fn insert_session(&self, hash: &str, s: &SessionRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO sessions (hash, login, csrf_hash, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?
            .execute(params![
                hash,
                s.login,
                s.csrf_hash,
                ts(s.created_at),
                ts(s.expires_at)
            ])
            .map_err(db)?;
        Ok(())
    }

    fn session(&self, hash: &str) -> Result<Option<SessionRow>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT login, csrf_hash, created_at, expires_at FROM sessions WHERE hash = ?1",
            )
            .map_err(db)?
            .query_row([hash], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .optional()
            .map_err(db)?;
        row.map(|(login, csrf_hash, created, expires)| {
            Ok(SessionRow {
                login,
                csrf_hash,
                created_at: parse_ts(&created)?,
                expires_at: parse_ts(&expires)?,
            })
        })
        .transpose()
    }

    fn delete_session(&self, hash: &str) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM sessions WHERE hash = ?1")
            .map_err(db)?
            .execute([hash])
            .map_err(db)?;
        Ok(n > 0)
    }

    fn delete_sessions_of(&self, login: &str) -> Result<u64> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM sessions WHERE login = ?1")
            .map_err(db)?
            .execute([login])
            .map_err(db)?;
        Ok(n as u64)
    }

    fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let n = self
            .conn
            .prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")
            .map_err(db)?
            .execute([ts(now)])
            .map_err(db)?;
        Ok(n as u64)
    }
}

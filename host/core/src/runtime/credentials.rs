//! How agents prove who they are to the server: passwords (argon2id),
//! API tokens and browser sessions. The secrets are random, shown once and
//! kept only as hashes; every check also asks whether the agent is still
//! enabled, so disabling an agent shuts every door at their next request.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use dossier_sdk::{Agent, Permission};
use dossier_store::{ApiToken, NewApiToken, SessionRow};
use sha2::{Digest, Sha256};

use super::Runtime;
use crate::events::{Actor, Ctx};
use dossier_types::{Error, Result};

/// The shortest password an agent may set.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// The longest: hashing is deliberately slow, so an endless password must
/// not make it slower.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The longest a token's label may be.
const MAX_LABEL_CHARS: usize = 200;

/// What an API token's secret starts with, so that a leaked one is
/// recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "dsr_";

/// A secret shown once: an API token's, with the row kept for it.
#[derive(Debug, Clone)]
pub struct MintedToken {
    /// The secret to give the integration (`Authorization: Bearer ...`).
    pub secret: String,
    /// What the store keeps of it.
    pub token: ApiToken,
}

/// A browser session's secrets, shown once.
#[derive(Debug, Clone)]
pub struct SessionSecrets {
    /// The session cookie's value.
    pub session: String,
    /// The token every write in the session must carry.
    pub csrf: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

/// An open session, found by its secret.
#[derive(Debug, Clone)]
pub struct OpenSession {
    /// The agent signed in (enabled).
    pub agent: Agent,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
    csrf_hash: String,
}

impl OpenSession {
    /// Whether `presented` is this session's CSRF token.
    pub fn csrf_matches(&self, presented: &str) -> bool {
        constant_time_eq(secret_hash(presented).as_bytes(), self.csrf_hash.as_bytes())
    }
}

/// A random secret of 256 bits, as 64 hex digits.
fn random_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Refused(format!("the system's random source failed: {e}")))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash a token's or session's secret is kept and looked up under.
/// The secrets carry 256 random bits, so one fast hash is enough.
fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a chat visitor's secret starts with.
pub const VISITOR_PREFIX: &str = "dcv_";

/// A new chat visitor's secret (shown once, to the visitor) and the hash
/// the store keeps of it.
pub fn visitor_secret() -> Result<(String, String)> {
    let secret = format!("{VISITOR_PREFIX}{}", random_secret()?);
    let hash = secret_hash(&secret);
    Ok((secret, hash))
}

/// Whether `secret` is the one `hash` was made from (compared in constant
/// time).
pub fn secret_matches(secret: &str, hash: &str) -> bool {
    constant_time_eq(secret_hash(secret).as_bytes(), hash.as_bytes())
}

/// Generates a password for a first admin: 20 characters from an alphabet
/// without look-alikes.
pub fn generate_password() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Refused(format!("the system's random source failed: {e}")))?;
    // 256 is not a multiple of the alphabet's 55 letters; the bias this
    // leaves (a few letters 1/55 likelier) costs far less than a bit.
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::input(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::input(
            "password",
            format!("must be at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| Error::Refused(format!("the system's random source failed: {e}")))?;
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| Error::Refused(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Refused(format!("password hashing failed: {e}")))
}

/// Checks `password` against the PHC string `hash`; a hash that does not
/// parse fails the check (and says so in the log).
fn verify(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(e) => {
            tracing::error!(target: "dossier_host::auth", "a stored password hash does not parse: {e}");
            false
        }
    }
}

impl Runtime {
    /// Refuses unless the actor is `login` themself, the operator (no
    /// agent), or holds `manage_agents`.
    fn require_self_or_admin(&self, ctx: &Ctx, login: &str, action: &str) -> Result<()> {
        match ctx.actor() {
            Actor::Agent(me) if me == login => Ok(()),
            _ => self.require(ctx, Permission::ManageAgents, action),
        }
    }

    /// Sets `login`'s password (themself, or an admin for anyone) and ends
    /// their open sessions. At least [`MIN_PASSWORD_CHARS`] characters.
    pub fn set_password(self: &Arc<Self>, ctx: &Ctx, login: &str, password: &str) -> Result<()> {
        self.require_self_or_admin(ctx, login, "set another agent's password")?;
        check_password(password)?;
        if self.store().read(|tx| tx.agent(login))?.is_none() {
            return Err(Error::UnknownAgent {
                login: login.to_owned(),
            });
        }
        let hash = hash_password(password)?;
        let now = self.now();
        self.store().write("set password", |tx| {
            tx.set_password_hash(login, &hash, now)?;
            tx.delete_sessions_of(login)?;
            Ok(())
        })
    }

    /// The enabled agent `login` when `password` is theirs; `None` for an
    /// unknown, disabled or password-less agent and for a wrong password
    /// alike (the caller says only "wrong login or password").
    pub fn check_login(&self, login: &str, password: &str) -> Result<Option<Agent>> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(None);
        }
        let (agent, hash) = self
            .store()
            .read(|tx| Ok((tx.agent(login)?, tx.password_hash(login)?)))?;
        match (agent, hash) {
            (Some(agent), Some(hash)) if !agent.disabled => {
                Ok(verify(password, &hash).then_some(agent))
            }
            _ => {
                // As slow as a real check, so that timing does not tell
                // which logins exist.
                let _ = hash_password(password);
                Ok(None)
            }
        }
    }

    /// Makes an API token acting as `login` (themself, or an admin for
    /// anyone), valid until `expires_at` if given. The secret is in the
    /// answer only.
    pub fn mint_token(
        self: &Arc<Self>,
        ctx: &Ctx,
        login: &str,
        label: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<MintedToken> {
        self.require_self_or_admin(ctx, login, "make a token for another agent")?;
        self.acting_agent(login)?;
        let label = label.trim();
        if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
            return Err(Error::input(
                "label",
                format!(
                    "must be at most {MAX_LABEL_CHARS} characters, none of them control characters"
                ),
            ));
        }
        let now = self.now();
        if expires_at.is_some_and(|t| t <= now) {
            return Err(Error::input("expires", "must be in the future"));
        }
        let secret = format!("{TOKEN_PREFIX}{}", random_secret()?);
        let hash = secret_hash(&secret);
        let id = self.store().write("make token", |tx| {
            tx.insert_api_token(&NewApiToken {
                login,
                hash: &hash,
                label,
                created_at: now,
                expires_at,
            })
        })?;
        Ok(MintedToken {
            secret,
            token: ApiToken {
                id,
                login: login.to_owned(),
                label: label.to_owned(),
                created_at: now,
                expires_at,
                revoked_at: None,
            },
        })
    }

    /// The tokens of `login`, or everyone's when `None` (an admin's view;
    /// an agent sees their own).
    pub fn tokens(&self, ctx: &Ctx, login: Option<&str>) -> Result<Vec<ApiToken>> {
        match (login, ctx.actor()) {
            (Some(login), _) => {
                self.require_self_or_admin(ctx, login, "list another agent's tokens")?
            }
            (None, Actor::Agent(me)) => {
                if self
                    .require(ctx, Permission::ManageAgents, "list every agent's tokens")
                    .is_err()
                {
                    let me = me.clone();
                    return self.store().read(|tx| tx.api_tokens(Some(&me)));
                }
            }
            (None, Actor::System) => {}
        }
        self.store().read(|tx| tx.api_tokens(login))
    }

    /// Revokes token `id` (one's own, or any as an admin). A token that is
    /// not the actor's to see is not found.
    pub fn revoke_token(self: &Arc<Self>, ctx: &Ctx, id: i64) -> Result<ApiToken> {
        let not_found = || Error::UnknownToken { id };
        let token = self
            .store()
            .read(|tx| tx.api_token(id))?
            .ok_or_else(not_found)?;
        if self
            .require_self_or_admin(ctx, &token.login, "revoke another agent's token")
            .is_err()
        {
            return Err(not_found());
        }
        let now = self.now();
        self.store()
            .write("revoke token", |tx| tx.revoke_api_token(id, now))?;
        Ok(ApiToken {
            revoked_at: token.revoked_at.or(Some(now)),
            ..token
        })
    }

    /// The enabled agent a token's `secret` acts as, if it is a live token.
    pub fn token_agent(&self, secret: &str) -> Result<Option<Agent>> {
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 128 {
            return Ok(None);
        }
        let hash = secret_hash(secret);
        let now = self.now();
        self.store().read(|tx| {
            let Some(token) = tx.api_token_by_hash(&hash)? else {
                return Ok(None);
            };
            if !token.usable_at(now) {
                return Ok(None);
            }
            Ok(tx.agent(&token.login)?.filter(|a| !a.disabled))
        })
    }

    /// Opens a browser session for `login`, lasting `ttl`.
    pub fn open_session(self: &Arc<Self>, login: &str, ttl: Duration) -> Result<SessionSecrets> {
        let session = random_secret()?;
        let csrf = random_secret()?;
        let now = self.now();
        let expires_at = now + ttl;
        let row = SessionRow {
            login: login.to_owned(),
            csrf_hash: secret_hash(&csrf),
            created_at: now,
            expires_at,
        };
        self.store().write("open session", |tx| {
            tx.delete_expired_sessions(now)?;
            tx.insert_session(&secret_hash(&session), &row)
        })?;
        Ok(SessionSecrets {
            session,
            csrf,
            expires_at,
        })
    }

    /// The open session whose cookie is `secret`, if it has not ended and
    /// its agent is enabled.
    pub fn session(&self, secret: &str) -> Result<Option<OpenSession>> {
        if secret.len() != 64 {
            return Ok(None);
        }
        let hash = secret_hash(secret);
        let now = self.now();
        self.store().read(|tx| {
            let Some(row) = tx.session(&hash)? else {
                return Ok(None);
            };
            if row.expires_at <= now {
                return Ok(None);
            }
            Ok(tx
                .agent(&row.login)?
                .filter(|a| !a.disabled)
                .map(|agent| OpenSession {
                    agent,
                    expires_at: row.expires_at,
                    csrf_hash: row.csrf_hash,
                }))
        })
    }

    /// Ends the session whose cookie is `secret`; `false` when none was open.
    pub fn close_session(self: &Arc<Self>, secret: &str) -> Result<bool> {
        let hash = secret_hash(secret);
        self.store()
            .write("close session", |tx| tx.delete_session(&hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_hash_checks_only_its_own_password() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify("correct horse battery", &hash));
        assert!(!verify("correct horse batterz", &hash));
        assert!(!verify("correct horse battery", "not a phc string"));
    }

    #[test]
    fn passwords_too_short_or_too_long_are_refused_naming_the_rule() {
        let short = check_password("short").expect_err("short");
        assert!(short.to_string().contains("at least 10"), "{short}");
        let long = check_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)).expect_err("long");
        assert!(long.to_string().contains("at most 1024"), "{long}");
        check_password("ten chars!").expect("exactly ten");
    }

    #[test]
    fn secrets_are_random_and_hashes_stable() {
        let a = random_secret().expect("a");
        let b = random_secret().expect("b");
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_ne!(secret_hash(&a), secret_hash(&b));
        let p = generate_password().expect("password");
        assert_eq!(p.chars().count(), 20);
        check_password(&p).expect("a generated password is a valid one");
    }
}

//! What agents sign in with: password hashes, API tokens and browser
//! sessions. Only hashes are kept; the secrets themselves are shown once,
//! when they are made, and never stored.

use chrono::{DateTime, Utc};
use serde::Serialize;

use dossier_types::Result;

/// An API token as the store keeps it (its secret is not kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// The token's id, what `agent token revoke` names.
    pub id: i64,
    /// The agent the token acts as.
    pub login: String,
    /// What the token is for, as its maker described it (may be empty).
    pub label: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if it ever does.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Whether the token still lets its agent in at `now`.
    pub fn usable_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| now < t)
    }
}

/// A new API token's row: its secret's hash, never the secret.
#[derive(Debug, Clone)]
pub struct NewApiToken<'a> {
    /// The agent it acts as.
    pub login: &'a str,
    /// The hash of its secret (hex SHA-256).
    pub hash: &'a str,
    /// What it is for.
    pub label: &'a str,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if it does.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A browser session as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The agent signed in.
    pub login: String,
    /// The hash of the session's CSRF token (hex SHA-256).
    pub csrf_hash: String,
    /// When the session was opened.
    pub created_at: DateTime<Utc>,
    /// When it ends, whatever happens.
    pub expires_at: DateTime<Utc>,
}

/// Passwords, tokens and sessions.
pub trait CredentialTx {
    /// Sets (or replaces) `login`'s password hash (a PHC string).
    fn set_password_hash(&self, login: &str, hash: &str, at: DateTime<Utc>) -> Result<()>;

    /// `login`'s password hash, if a password was ever set.
    fn password_hash(&self, login: &str) -> Result<Option<String>>;

    /// Writes a new API token; its id.
    fn insert_api_token(&self, token: &NewApiToken<'_>) -> Result<i64>;

    /// The API token whose secret hashes to `hash`, revoked or not.
    fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>>;

    /// One API token by id.
    fn api_token(&self, id: i64) -> Result<Option<ApiToken>>;

    /// The API tokens of `login` (every agent's when `None`), by id.
    fn api_tokens(&self, login: Option<&str>) -> Result<Vec<ApiToken>>;

    /// Marks token `id` revoked at `at`; `false` when there is no such
    /// token or it was already revoked.
    fn revoke_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<bool>;

    /// Writes a new session under the hash of its secret.
    fn insert_session(&self, hash: &str, session: &SessionRow) -> Result<()>;

    /// The session whose secret hashes to `hash`, if it exists.
    fn session(&self, hash: &str) -> Result<Option<SessionRow>>;

    /// Ends the session whose secret hashes to `hash`; `false` when there
    /// was none.
    fn delete_session(&self, hash: &str) -> Result<bool>;

    /// Ends every session of `login` (a password change, a disabled agent);
    /// how many there were.
    fn delete_sessions_of(&self, login: &str) -> Result<u64>;

    /// Removes sessions that ended before `now`; how many.
    fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64>;
}

//! The facade's sign-in operations: passwords, API tokens, sessions. The
//! server authenticates every request with these; the CLI sets passwords
//! and mints tokens for the operator.

use chrono::{DateTime, Duration, Utc};

use super::Host;
use crate::runtime::credentials::{MintedToken, OpenSession, SessionSecrets};
use dossier_store::ApiToken;
use dossier_types::Result;

impl Host {
    /// Sets `login`'s password (an agent their own; `manage_agents` or the
    /// operator anyone's) and signs them out of their open sessions. At
    /// least 10 characters, at most 1 KB.
    pub fn set_password(&self, login: &str, password: &str) -> Result<()> {
        self.rt.set_password(&self.ctx()?, login, password)
    }

    /// A handle acting as `login` when `password` is theirs and they are
    /// enabled; `None` otherwise, whichever of login or password was wrong.
    pub fn login(&self, login: &str, password: &str) -> Result<Option<Host>> {
        Ok(self
            .rt
            .check_login(login, password)?
            .map(|agent| self.acting(agent.login)))
    }

    /// Makes an API token acting as `login` (one's own; `manage_agents` or
    /// the operator anyone's), valid until `expires_at` when given. The
    /// secret is in the answer only: the store keeps its hash.
    pub fn mint_token(
        &self,
        login: &str,
        label: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<MintedToken> {
        self.rt.mint_token(&self.ctx()?, login, label, expires_at)
    }

    /// `login`'s tokens, or (`None`) every token the actor may see: an
    /// admin's or the operator's all, an agent's their own.
    pub fn tokens(&self, login: Option<&str>) -> Result<Vec<ApiToken>> {
        self.rt.tokens(&self.ctx()?, login)
    }

    /// Revokes token `id`; it stops working at its next use.
    pub fn revoke_token(&self, id: i64) -> Result<ApiToken> {
        self.rt.revoke_token(&self.ctx()?, id)
    }

    /// A handle acting as the agent a live token `secret` belongs to;
    /// `None` for an unknown, revoked or expired token or a disabled agent.
    pub fn with_token(&self, secret: &str) -> Result<Option<Host>> {
        Ok(self
            .rt
            .token_agent(secret)?
            .map(|agent| self.acting(agent.login)))
    }

    /// Opens a browser session for the agent this handle acts as, lasting
    /// `ttl`; its secrets are in the answer only.
    pub fn open_session(&self, ttl: Duration) -> Result<SessionSecrets> {
        match &self.actor {
            crate::Actor::Agent(login) => self.rt.open_session(login, ttl),
            crate::Actor::System => Err(crate::Error::Refused(
                "a session is opened for an agent; `system` does not sign in".into(),
            )),
        }
    }

    /// The open session whose cookie is `secret` and a handle acting as its
    /// agent; `None` when it ended, never was, or its agent was disabled.
    pub fn with_session(&self, secret: &str) -> Result<Option<(Host, OpenSession)>> {
        Ok(self
            .rt
            .session(secret)?
            .map(|s| (self.acting(s.agent.login.clone()), s)))
    }

    /// Ends the session whose cookie is `secret`; `false` when none was open.
    pub fn close_session(&self, secret: &str) -> Result<bool> {
        self.rt.close_session(secret)
    }
}

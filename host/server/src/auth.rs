//! Who a request comes from. Integrations send `Authorization: Bearer
//! TOKEN`; browsers sign in once (`POST /api/v1/session`) and then send
//! the session cookie, plus the session's CSRF token on every write. Every
//! request then runs as that agent, with the visibility and permissions
//! they have everywhere; there is no `--as` over HTTP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::response::{AppendHeaders, IntoResponse};
use dossier_host::Host;
use dossier_sdk::Agent;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Result, ServerError};
use crate::writer::read;
use crate::{AppState, Body};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "dossier_session";

/// The header a browser session's writes carry the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The agent a request acts as, authenticated.
pub(crate) struct Caller {
    /// The host acting as that agent.
    pub host: Host,
}

impl Caller {
    /// The agent's login.
    pub fn login(&self) -> String {
        match self.host.actor() {
            dossier_host::Actor::Agent(login) => login.clone(),
            dossier_host::Actor::System => "system".to_owned(),
        }
    }
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| axum_extra::extract::cookie::Cookie::parse(pair.trim().to_owned()).ok())
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Caller> {
        let host = state.host.clone();
        if let Some(token) = bearer(&parts.headers) {
            let token = token.to_owned();
            let acting = read(move || host.with_token(&token)).await??;
            return acting
                .map(|host| Caller { host })
                .ok_or(ServerError::Unauthenticated);
        }
        let Some(secret) = session_cookie(&parts.headers) else {
            return Err(ServerError::Unauthenticated);
        };
        let (host, session) = read(move || host.with_session(&secret))
            .await??
            .ok_or(ServerError::Unauthenticated)?;
        if is_write(&parts.method) {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !session.csrf_matches(presented) {
                return Err(ServerError::Csrf);
            }
        }
        Ok(Caller { host })
    }
}

/// How many failed sign-ins a login, and an address, may have in one
/// window before sign-ins are refused until the window ends.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures allowed per login per window.
    pub per_login: u32,
    /// Failures allowed per client address per window.
    pub per_address: u32,
    /// The window.
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_login: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Failed sign-ins by login and by address, in fixed windows.
#[derive(Default)]
pub(crate) struct Limiter {
    limits: Limits,
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Limiter {
    pub(crate) fn new(limits: Limits) -> Limiter {
        Limiter {
            limits,
            failures: Mutex::default(),
        }
    }

    fn keys(login: &str, address: IpAddr) -> [(String, u32); 2] {
        [
            (format!("login:{login}"), 0),
            (format!("address:{address}"), 1),
        ]
    }

    /// Refuses when `login` or `address` used up its failures.
    fn check(&self, login: &str, address: IpAddr) -> Result<()> {
        let now = Instant::now();
        let Ok(mut failures) = self.failures.lock() else {
            return Ok(());
        };
        failures.retain(|_, (start, _)| now.duration_since(*start) < self.limits.window);
        for (key, which) in Self::keys(login, address) {
            let allowed = if which == 0 {
                self.limits.per_login
            } else {
                self.limits.per_address
            };
            if let Some((start, n)) = failures.get(&key)
                && *n >= allowed
            {
                let left = self
                    .limits
                    .window
                    .saturating_sub(now.duration_since(*start));
                return Err(ServerError::RateLimited {
                    what: "too many failed sign-ins".into(),
                    retry_after: left.as_secs().max(1),
                });
            }
        }
        Ok(())
    }

    fn failed(&self, login: &str, address: IpAddr) {
        let now = Instant::now();
        if let Ok(mut failures) = self.failures.lock() {
            for (key, _) in Self::keys(login, address) {
                failures.entry(key).or_insert((now, 0)).1 += 1;
            }
        }
    }

    fn succeeded(&self, login: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&format!("login:{login}"));
        }
    }
}

/// A sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignIn {
    /// The agent's login.
    login: String,
    /// Their password.
    password: String,
}

/// An open session, as the sign-in answers it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionInfo {
    /// The agent signed in.
    #[schema(value_type = Object)]
    agent: Agent,
    /// Send it as the X-CSRF-Token header on every write.
    csrf: String,
    /// When the session ends.
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// Sign in with a login and password: sets the session cookie and
/// answers the CSRF token writes must carry.
#[utoipa::path(post, path = "/api/v1/session", tag = "session",
    request_body = SignIn,
    responses((status = 200, body = SessionInfo), (status = 401, body = crate::error::Problem),
        (status = 429, body = crate::error::Problem)))]
pub(crate) async fn sign_in(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<crate::ClientAddr>,
    Body(body): Body<SignIn>,
) -> Result<impl IntoResponse> {
    let address = peer.0.ip();
    state.limiter.check(&body.login, address)?;
    let host = state.host.clone();
    let (login, password) = (body.login.clone(), body.password);
    let acting = read(move || host.login(&login, &password)).await??;
    let Some(acting) = acting else {
        state.limiter.failed(&body.login, address);
        tracing::warn!(target: "dossier_server::auth", login = %body.login, %address, "failed sign-in");
        return Err(ServerError::BadCredentials);
    };
    state.limiter.succeeded(&body.login);
    let ttl = state.options.session_ttl;
    let opener = acting.clone();
    let secrets = state.writer.run(move || opener.open_session(ttl)).await??;
    let agent_host = acting.clone();
    let login = body.login.clone();
    let agent = read(move || agent_host.agent(&login)).await??;
    let mut cookie = axum_extra::extract::cookie::Cookie::build((SESSION_COOKIE, secrets.session))
        .http_only(true)
        .same_site(axum_extra::extract::cookie::SameSite::Strict)
        .path("/");
    if state.options.secure_cookies {
        cookie = cookie.secure(true);
    }
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie.build().to_string())]),
        Json(SessionInfo {
            agent,
            csrf: secrets.csrf,
            expires_at: secrets.expires_at,
        }),
    ))
}

/// Sign out: ends the session of the cookie sent.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204), (status = 401, body = crate::error::Problem)))]
pub(crate) async fn sign_out(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    headers: HeaderMap,
) -> Result<impl IntoResponse> {
    if let Some(secret) = session_cookie(&headers) {
        let host = state.host.clone();
        state
            .writer
            .run(move || host.close_session(&secret))
            .await??;
    }
    let gone = format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    Ok((
        axum::http::StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, gone)]),
    ))
}

/// An agent and the permissions they hold now.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Me {
    /// The agent.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    agent: Agent,
    /// Every permission they hold (their role's, with an admin's
    /// overrides), so a screen shows only what they may do.
    #[schema(value_type = Vec<String>)]
    permissions: Vec<dossier_sdk::Permission>,
}

/// The agent the credential sent acts as, with the permissions they hold.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses((status = 200, body = Me), (status = 401, body = crate::error::Problem)))]
pub(crate) async fn me(caller: Caller) -> Result<Json<Me>> {
    let login = caller.login();
    let host = caller.host;
    let agent = read(move || host.agent(&login)).await??;
    let permissions = agent.permissions();
    Ok(Json(Me { agent, permissions }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_a_login_then_its_address_and_success_unlocks_the_login() {
        let limiter = Limiter::new(Limits {
            per_login: 2,
            per_address: 3,
            window: Duration::from_secs(60),
        });
        let here: IpAddr = [127, 0, 0, 1].into();
        limiter.check("ann", here).expect("fresh");
        limiter.failed("ann", here);
        limiter.failed("ann", here);
        let refused = limiter.check("ann", here).expect_err("two failures");
        assert!(
            matches!(refused, ServerError::RateLimited { retry_after, .. } if retry_after <= 60)
        );
        limiter
            .check("bob", here)
            .expect("another login from here: 2 of 3");
        limiter.failed("bob", here);
        limiter
            .check("cid", here)
            .expect_err("the address used its 3");
        limiter.succeeded("ann");
        limiter
            .check("ann", [10, 0, 0, 2].into())
            .expect("ann elsewhere, after a success");
    }
}

//! Agents, groups, passwords and API tokens.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use dossier_host::{AgentChange, ApiToken};
use dossier_sdk::{Agent, Group, NewAgent, Permission, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Paged, read_as, write_as};
use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::{AppState, Body};

pub(super) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_agents, add_agent))
        .routes(routes!(get_agent, update_agent))
        .routes(routes!(set_password))
        .routes(routes!(list_tokens, mint_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_groups, add_group))
        .routes(routes!(group_members))
}

/// Every agent, by login.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents",
    responses((status = 200, description = "every item, in one page", body = Object), (status = 401, body = Problem)))]
async fn list_agents(caller: Caller) -> Result<Json<Paged<Agent>>> {
    read_as(caller.host, |host| host.agents().map(Paged::whole)).await
}

/// A new agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AgentBody {
    /// The unique login.
    login: String,
    /// The name colleagues and customers see [default: the login].
    #[serde(default)]
    name: String,
    /// Their email address.
    email: Option<String>,
    /// `agent`, `supervisor` or `admin` [default: agent].
    #[schema(value_type = Option<String>)]
    role: Option<Role>,
    /// The groups they belong to.
    #[serde(default)]
    groups: Vec<String>,
}

/// Adds an agent (`manage_agents`).
#[utoipa::path(post, path = "/api/v1/agents", tag = "agents", request_body = AgentBody,
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn add_agent(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(b): Body<AgentBody>,
) -> Result<Json<Agent>> {
    write_as(&state, caller.host, move |host| {
        host.add_agent(NewAgent {
            login: b.login,
            display_name: b.name,
            email: b.email,
            role: b.role.unwrap_or(Role::Agent),
            groups: b.groups,
        })
    })
    .await
}

/// One agent.
#[utoipa::path(get, path = "/api/v1/agents/{login}", tag = "agents",
    params(("login" = String, Path, description = "the agent's login")),
    responses((status = 200, body = Object), (status = 422, body = Problem)))]
async fn get_agent(caller: Caller, Path(login): Path<String>) -> Result<Json<Agent>> {
    read_as(caller.host, move |host| host.agent(&login)).await
}

/// What an agent update changes; what is absent stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AgentUpdate {
    /// A new display name.
    name: Option<String>,
    /// A new email address (`null` removes it).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    /// A new role.
    #[schema(value_type = Option<String>)]
    role: Option<Role>,
    /// The groups, replacing the old ones.
    groups: Option<Vec<String>>,
    /// Permissions granted (`true`) or withheld (`false`) against the role.
    #[serde(default)]
    #[schema(value_type = Object)]
    permissions: std::collections::BTreeMap<Permission, bool>,
    /// Permissions back to the role's default.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    reset: Vec<Permission>,
    /// Disable (`true`) or enable (`false`) the agent.
    disabled: Option<bool>,
}

/// Changes an agent (`manage_agents`). Disabling one shuts their sessions
/// and tokens at their next request.
#[utoipa::path(patch, path = "/api/v1/agents/{login}", tag = "agents",
    params(("login" = String, Path, description = "the agent's login")), request_body = AgentUpdate,
    responses((status = 200, body = Object), (status = 403, body = Problem)))]
async fn update_agent(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(login): Path<String>,
    Body(b): Body<AgentUpdate>,
) -> Result<Json<Agent>> {
    let change = AgentChange {
        display_name: b.name,
        email: b.email,
        role: b.role,
        groups: b.groups,
        grant: b.permissions.into_iter().collect(),
        reset: b.reset,
        disabled: b.disabled,
    };
    write_as(&state, caller.host, move |host| {
        host.update_agent(&login, change)
    })
    .await
}

/// A new password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    /// At least 10 characters.
    password: String,
}

/// Sets an agent's password (one's own; `manage_agents` for anyone's)
/// and ends their sessions.
#[utoipa::path(put, path = "/api/v1/agents/{login}/password", tag = "agents",
    params(("login" = String, Path, description = "the agent's login")), request_body = PasswordBody,
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn set_password(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(login): Path<String>,
    Body(b): Body<PasswordBody>,
) -> Result<axum::http::StatusCode> {
    let _ = write_as(&state, caller.host, move |host| {
        host.set_password(&login, &b.password)
    })
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// An agent's API tokens (one's own; `manage_agents` for anyone's).
#[utoipa::path(get, path = "/api/v1/agents/{login}/tokens", tag = "agents",
    params(("login" = String, Path, description = "the agent's login")),
    responses((status = 200, description = "every item, in one page", body = Object), (status = 403, body = Problem)))]
async fn list_tokens(caller: Caller, Path(login): Path<String>) -> Result<Json<Paged<ApiToken>>> {
    read_as(caller.host, move |host| {
        host.tokens(Some(&login)).map(Paged::whole)
    })
    .await
}

/// A token to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    /// What it is for.
    #[serde(default)]
    label: String,
    /// When it stops working [default: never].
    expires_at: Option<DateTime<Utc>>,
}

/// A token just made: the secret is shown this once.
#[derive(Debug, Serialize, ToSchema)]
struct NewToken {
    /// Send it as `Authorization: Bearer TOKEN`.
    token: String,
    /// Its id, to revoke it.
    id: i64,
    /// When it stops working.
    expires_at: Option<DateTime<Utc>>,
}

/// Makes an API token for an agent (one's own; `manage_agents` for anyone's).
#[utoipa::path(post, path = "/api/v1/agents/{login}/tokens", tag = "agents",
    params(("login" = String, Path, description = "the agent's login")), request_body = TokenBody,
    responses((status = 200, body = NewToken), (status = 403, body = Problem)))]
async fn mint_token(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(login): Path<String>,
    Body(b): Body<TokenBody>,
) -> Result<Json<NewToken>> {
    write_as(&state, caller.host, move |host| {
        let minted = host.mint_token(&login, &b.label, b.expires_at)?;
        Ok(NewToken {
            token: minted.secret,
            id: minted.token.id,
            expires_at: minted.token.expires_at,
        })
    })
    .await
}

/// Revokes an API token: it stops working at its next use.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "agents",
    params(("id" = i64, Path, description = "the token's id")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn revoke_token(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<ApiToken>> {
    write_as(&state, caller.host, move |host| host.revoke_token(id)).await
}

/// A field that may be absent (outer `None`), `null` (`Some(None)`) or set.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Every group.
#[utoipa::path(get, path = "/api/v1/groups", tag = "agents",
    responses((status = 200, description = "every item, in one page", body = Object)))]
async fn list_groups(caller: Caller) -> Result<Json<Paged<Group>>> {
    read_as(caller.host, |host| host.groups().map(Paged::whole)).await
}

/// A new group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct GroupBody {
    /// The unique name.
    name: String,
    /// The group's shared address.
    email: Option<String>,
}

/// Adds a group (`manage_agents`).
#[utoipa::path(post, path = "/api/v1/groups", tag = "agents", request_body = GroupBody,
    responses((status = 200, body = Object), (status = 403, body = Problem)))]
async fn add_group(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(b): Body<GroupBody>,
) -> Result<Json<Group>> {
    write_as(&state, caller.host, move |host| {
        host.add_group(&b.name, b.email)
    })
    .await
}

/// A group's members' logins.
#[utoipa::path(get, path = "/api/v1/groups/{name}/members", tag = "agents",
    params(("name" = String, Path, description = "the group's name")),
    responses((status = 200, description = "every member, in one page", body = Object)))]
async fn group_members(caller: Caller, Path(name): Path<String>) -> Result<Json<Paged<String>>> {
    read_as(caller.host, move |host| {
        host.group_members(&name).map(Paged::whole)
    })
    .await
}

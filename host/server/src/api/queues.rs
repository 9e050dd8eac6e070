//! Queues kept in the store: admins list, add and remove queues and
//! members (`manage_agents`); an agent switches their own assigned queues
//! on and off (`manage_own_queues`). The same rules as `dossier queue`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use dossier_host::{EmailOffer, EmailRouted, Queue, QueueChannel, Routed};
use dossier_sdk::WorkbinItem;
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
        .routes(routes!(list_queues))
        .routes(routes!(get_queue, put_queue, delete_queue))
        .routes(routes!(switch_member, remove_member))
        .routes(routes!(email_offers))
        .routes(routes!(accept_email))
        .routes(routes!(reject_email))
}

/// A queue after a change, with the chats the change offered.
#[derive(Debug, Serialize, ToSchema)]
struct QueueChanged {
    /// The queue as it is now.
    #[schema(value_type = Object)]
    queue: Queue,
    /// Chats offered because of the change (a member switched on or added).
    #[schema(value_type = Object)]
    routed: Routed,
}

/// Every queue (`manage_agents`), or the caller's assigned queues.
#[utoipa::path(get, path = "/api/v1/queues", tag = "queues",
    responses((status = 200, description = "every item, in one page", body = Object), (status = 401, body = Problem)))]
async fn list_queues(caller: Caller) -> Result<Json<Paged<Queue>>> {
    read_as(caller.host, |host| host.queues().map(Paged::whole)).await
}

/// One queue with its members, if the caller may see it.
#[utoipa::path(get, path = "/api/v1/queues/{name}", tag = "queues",
    params(("name" = String, Path, description = "the queue's name")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn get_queue(caller: Caller, Path(name): Path<String>) -> Result<Json<Queue>> {
    read_as(caller.host, move |host| host.queue(&name)).await
}

/// A queue to create or change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
struct QueueBody {
    /// `chat` (the default) or `email`.
    #[schema(value_type = Option<String>)]
    channel: Option<QueueChannel>,
    /// The most chats a member has at once in this queue (1 to 100).
    capacity: Option<u32>,
    /// Agents to assign, switched on.
    members: Vec<String>,
}

/// Creates a chat queue or changes one (`manage_agents`): its capacity,
/// and members to assign.
#[utoipa::path(put, path = "/api/v1/queues/{name}", tag = "queues",
    params(("name" = String, Path, description = "the queue's name")), request_body = QueueBody,
    responses((status = 200, body = QueueChanged), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_queue(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
    Body(b): Body<QueueBody>,
) -> Result<Json<QueueChanged>> {
    write_as(&state, caller.host, move |host| {
        let channel = b.channel.unwrap_or(QueueChannel::Chat);
        let (queue, routed) = host.add_queue_of(&name, channel, b.capacity, &b.members)?;
        Ok(QueueChanged { queue, routed })
    })
    .await
}

/// Removes a queue (`manage_agents`; refused while chats wait in it).
#[utoipa::path(delete, path = "/api/v1/queues/{name}", tag = "queues",
    params(("name" = String, Path, description = "the queue's name")),
    responses((status = 204), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn delete_queue(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<axum::http::StatusCode> {
    let Json(()) = write_as(&state, caller.host, move |host| {
        host.remove_queue(&name, &[]).map(|_| ())
    })
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// A membership switched on or off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    /// On: the queue's chats are offered to the member; off: they are not.
    joined: bool,
}

/// Switches a member's membership on or off: the caller's own (`me`, with
/// `manage_own_queues`) or anyone's (`manage_agents`).
#[utoipa::path(put, path = "/api/v1/queues/{name}/members/{login}", tag = "queues",
    params(("name" = String, Path, description = "the queue's name"),
           ("login" = String, Path, description = "the member, or `me`")),
    request_body = MemberBody,
    responses((status = 200, body = QueueChanged), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn switch_member(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((name, login)): Path<(String, String)>,
    Body(b): Body<MemberBody>,
) -> Result<Json<QueueChanged>> {
    let login = if login == "me" { caller.login() } else { login };
    write_as(&state, caller.host, move |host| {
        let (queue, routed) = host.switch_queue(&name, &login, b.joined)?;
        Ok(QueueChanged { queue, routed })
    })
    .await
}

/// Unassigns a member from a queue (`manage_agents`).
#[utoipa::path(delete, path = "/api/v1/queues/{name}/members/{login}", tag = "queues",
    params(("name" = String, Path, description = "the queue's name"),
           ("login" = String, Path, description = "the member")),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn remove_member(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((name, login)): Path<(String, String)>,
) -> Result<Json<Option<Queue>>> {
    write_as(&state, caller.host, move |host| {
        host.remove_queue(&name, std::slice::from_ref(&login))
    })
    .await
}

/// The caller's email offers: offered to them, or accepted and not done.
#[utoipa::path(get, path = "/api/v1/email-offers", tag = "queues",
    responses((status = 200, description = "every item, in one page", body = Object), (status = 401, body = Problem)))]
async fn email_offers(caller: Caller) -> Result<Json<Paged<EmailOffer>>> {
    read_as(caller.host, |host| host.email_offers().map(Paged::whole)).await
}

/// An accepted email offer and the workbin item it became.
#[derive(Debug, Serialize, ToSchema)]
struct EmailAccepted {
    /// The offer, accepted.
    #[schema(value_type = Object)]
    offer: EmailOffer,
    /// The caller's new workbin item.
    #[schema(value_type = Object)]
    workbin: WorkbinItem,
}

/// Accepts an email offered to the caller, before its deadline: it joins
/// their workbin and the case becomes theirs.
#[utoipa::path(post, path = "/api/v1/email-offers/{id}/accept", tag = "queues",
    params(("id" = i64, Path, description = "the offer's id")),
    responses((status = 200, body = EmailAccepted), (status = 409, body = Problem)))]
async fn accept_email(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<EmailAccepted>> {
    write_as(&state, caller.host, move |host| {
        let (offer, workbin) = host.accept_email(id)?;
        Ok(EmailAccepted { offer, workbin })
    })
    .await
}

/// Rejects an email offered to the caller (`reject_chat`): they go on
/// break and the email goes to the next member.
#[utoipa::path(post, path = "/api/v1/email-offers/{id}/reject", tag = "queues",
    params(("id" = i64, Path, description = "the offer's id")),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn reject_email(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<EmailRouted>> {
    write_as(&state, caller.host, move |host| host.reject_email(id)).await
}

//! What reaches an agent unasked: their event stream, the CTI connector's
//! interactions that pop on their screen, and typing in a chat.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use dossier_host::PushedPop;
use dossier_sdk::{CaseNumber, Channel, Interaction};
use serde::Deserialize;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::write_as;
use crate::auth::Caller;
use crate::error::{Problem, Result, ServerError};
use crate::events::{Key, Start, stream};
use crate::{AppState, Body};

pub(super) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(events))
        .routes(routes!(interaction))
        .routes(routes!(agent_typing))
}

/// The caller's event stream (`text/event-stream`): offers with their
/// deadline and pop, chat messages, accepts, timeouts, state changes,
/// pops pushed by a CTI connector, reminders, workbin changes and review
/// decisions, each with its log id as the SSE `id`; the customer typing.
/// Send `Last-Event-ID` to get, first, exactly the events missed since
/// that id (a `reset` event when they are no longer kept). Heartbeat
/// comments keep idle connections open.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(("Last-Event-ID" = Option<String>, Header, description = "the id of the last event received")),
    responses((status = 200, description = "the stream", content_type = "text/event-stream", body = String),
        (status = 401, body = Problem)))]
async fn events(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
) -> Sse<ReceiverStream<std::result::Result<Event, Infallible>>> {
    let start = Start::from_header(headers.get("last-event-id").and_then(|v| v.to_str().ok()));
    stream(
        &state.hub,
        Key::Agent(caller.login()),
        start,
        state.options.heartbeat,
    )
}

/// An interaction a CTI connector reports for an agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InteractionBody {
    /// The agent whose screen pops.
    agent: String,
    /// `phone` (the default), `email` or `chat`.
    channel: Option<String>,
    /// The caller's number, as the switch gives it.
    phone: Option<String>,
    /// The number dialled (the line the customer called).
    dialled: Option<String>,
    /// A case number the caller typed in the IVR.
    case: Option<i64>,
    /// An account number the caller typed in the IVR.
    account: Option<String>,
    /// The customer's email address.
    email: Option<String>,
    /// The connector's own data (call id, queue, ...), kept on the
    /// interaction for hooks.
    #[serde(default)]
    context: BTreeMap<String, String>,
}

/// A CTI connector reports an interaction for an agent: the screen-pop is
/// computed as that agent (their visibility, the `screen_pop` hooks) and
/// pushed to their event stream as a `pop` event; the answer carries it
/// too. Needs the `cti` permission (admins hold it).
#[utoipa::path(post, path = "/api/v1/interactions", tag = "events",
    request_body = InteractionBody,
    responses((status = 201, description = "the pop and its event id", body = Object),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn interaction(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(b): Body<InteractionBody>,
) -> Result<(StatusCode, Json<PushedPop>)> {
    let channel = match b.channel.as_deref() {
        None => Channel::Phone,
        Some(c) => c
            .parse::<Channel>()
            .map_err(|e: String| ServerError::bad_field("channel", e))?,
    };
    let mut interaction = Interaction::new(channel);
    interaction.caller = b.phone;
    interaction.dialled = b.dialled;
    interaction.case_number = b.case.map(CaseNumber);
    interaction.account = b.account;
    interaction.email = b.email;
    interaction.agent = Some(b.agent.clone());
    interaction.context = b.context;
    let agent = b.agent;
    let pushed = write_as(&state, caller.host, move |host| {
        host.push_pop(&agent, interaction)
    })
    .await?;
    Ok((StatusCode::CREATED, pushed))
}

/// The agent is typing in their active chat: the visitor's window is told
/// (never stored).
#[utoipa::path(post, path = "/api/v1/chats/{id}/typing", tag = "chat",
    params(("id" = i64, Path, description = "the chat")),
    responses((status = 204, description = "told"), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn agent_typing(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let host = caller.host;
    crate::writer::read(move || host.agent_typing(id)).await??;
    state.hub.typing(Key::Chat(id), id, "agent");
    Ok(StatusCode::NO_CONTENT)
}

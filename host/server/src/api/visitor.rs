//! The chat visitor endpoint: a customer on the web site starts a chat,
//! writes, types and follows the agent's side, without an account. The
//! start gives a secret only that visitor holds; every later call presents
//! it (`Authorization: Bearer dcv_...`, or `?secret=` on the event stream,
//! which a browser's `EventSource` cannot send headers with).
//!
//! Nothing a visitor writes is lost when no agent is free: the chat waits
//! in its queue's line with its messages, and the visitor is told so.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use dossier_host::{Chat, ChatMessage, ChatState, Error, Host, MAX_MESSAGE_CHARS};
use dossier_sdk::{CaseNumber, Channel, Interaction};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio_stream::wrappers::ReceiverStream;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{Problem, Result, ServerError};
use crate::events::{Key, Start, stream};
use crate::{AppState, Body, ClientAddr, VisitorLimits};

pub(super) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(start_chat))
        .routes(routes!(visitor_view))
        .routes(routes!(visitor_message))
        .routes(routes!(visitor_typing))
        .routes(routes!(visitor_events))
}

/// How long the window of chat starts per address is.
const START_WINDOW: Duration = Duration::from_secs(15 * 60);

/// How long the window of sends per chat is.
const SEND_WINDOW: Duration = Duration::from_secs(60);

/// Counts visitors' starts per address and sends per chat.
pub(crate) struct Limiter {
    limits: VisitorLimits,
    starts: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
    sends: Mutex<HashMap<i64, VecDeque<Instant>>>,
}

impl Limiter {
    pub(crate) fn new(limits: VisitorLimits) -> Limiter {
        Limiter {
            limits,
            starts: Mutex::default(),
            sends: Mutex::default(),
        }
    }

    fn start(&self, address: IpAddr) -> Result<()> {
        take(
            &mut self.starts.lock(),
            address,
            self.limits.starts_per_address,
            START_WINDOW,
            "too many chats started from this address",
        )
    }

    fn send(&self, chat: i64) -> Result<()> {
        take(
            &mut self.sends.lock(),
            chat,
            self.limits.sends_per_minute,
            SEND_WINDOW,
            "too many messages in this chat",
        )
    }
}

/// Counts one use of `key` in a sliding `window`, refusing beyond `allowed`.
fn take<K: std::hash::Hash + Eq + Copy>(
    uses: &mut HashMap<K, VecDeque<Instant>>,
    key: K,
    allowed: u32,
    window: Duration,
    what: &str,
) -> Result<()> {
    let now = Instant::now();
    // Forget keys whose uses are all old, so the map stays small.
    uses.retain(|_, times| {
        times
            .back()
            .is_some_and(|t| now.duration_since(*t) < window)
    });
    let times = uses.entry(key).or_default();
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        times.pop_front();
    }
    if times.len() >= allowed as usize {
        let oldest = times.front().copied().unwrap_or(now);
        let left = window.saturating_sub(now.duration_since(oldest));
        return Err(ServerError::RateLimited {
            what: what.to_owned(),
            retry_after: left.as_secs().max(1),
        });
    }
    times.push_back(now);
    Ok(())
}

/// A visitor's chat form.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StartBody {
    /// The queue (one of `[chat.queues]`).
    queue: String,
    /// The name the visitor gave.
    name: String,
    /// Their email address.
    email: Option<String>,
    /// An account number they gave.
    account: Option<String>,
    /// A case number they gave.
    case: Option<i64>,
    /// Their first message (at most 1,940 characters).
    message: Option<String>,
}

/// A chat as its visitor sees it.
#[derive(Debug, Serialize, ToSchema)]
struct VisitorView {
    /// The chat's id.
    chat: i64,
    /// `waiting`, `offered`, `active` or `ended`.
    state: String,
    /// The agent's name, once one accepted.
    agent: Option<String>,
    /// What to tell the visitor while no agent has accepted.
    notice: Option<String>,
    /// The messages so far, in order.
    #[schema(value_type = Vec<Object>)]
    transcript: Vec<ChatMessage>,
}

/// A started chat: the view and the visitor's secret.
#[derive(Debug, Serialize, ToSchema)]
struct Started {
    /// The chat as the visitor sees it.
    #[serde(flatten)]
    view: VisitorView,
    /// The secret every later call presents (`Authorization: Bearer`).
    /// Shown once.
    secret: String,
}

const WAITING: &str = "All our agents are busy: your chat waits in line and an agent will answer as soon as one is free. Your messages are kept.";

fn view(host: &Host, chat: &Chat) -> dossier_host::Result<VisitorView> {
    let agent = match (&chat.agent, chat.state) {
        (Some(login), ChatState::Active | ChatState::Ended) => Some(
            host.agent(login)
                .map(|a| a.display_name)
                .unwrap_or_else(|_| login.clone()),
        ),
        _ => None,
    };
    let notice =
        matches!(chat.state, ChatState::Waiting | ChatState::Offered).then(|| WAITING.to_owned());
    Ok(VisitorView {
        chat: chat.id,
        state: chat.state.to_string(),
        agent,
        notice,
        transcript: host.as_chat_server()?.chat_transcript(chat.id)?,
    })
}

/// Starts a chat for a web site's visitor: no sign-in; the answer carries
/// the secret for the visitor's later calls. The chat joins its queue's
/// line and is offered when an agent is free; until then the visitor is
/// told it waits (`notice`), and their messages are kept. At most 10 chats
/// per address in 15 minutes (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/visitor/chats", tag = "visitor",
    request_body = StartBody,
    responses((status = 201, body = Started), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn start_chat(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<ClientAddr>,
    Body(b): Body<StartBody>,
) -> Result<(StatusCode, Json<Started>)> {
    if let Some(text) = &b.message {
        let chars = text.chars().count();
        if chars > MAX_MESSAGE_CHARS {
            return Err(Error::MessageTooLong {
                chars,
                max: MAX_MESSAGE_CHARS,
                text: text.clone(),
            }
            .into());
        }
    }
    state.visitors.start(peer.0.ip())?;
    let mut interaction = Interaction::new(Channel::Chat);
    interaction.queue = Some(b.queue);
    interaction.email = b.email.clone();
    interaction.account = b.account;
    interaction.case_number = b.case.map(CaseNumber);
    interaction.ip = Some(peer.0.ip().to_string());
    interaction.context.insert("name".into(), b.name);
    if let Some(email) = b.email {
        interaction.context.insert("email".into(), email);
    }
    let host = state.host.clone();
    let message = b.message.filter(|m| !m.trim().is_empty());
    let started = state
        .writer
        .run(move || {
            let started = host.start_visitor_chat(interaction)?;
            let server = host.as_chat_server()?;
            if let Some(text) = message {
                server.customer_message(started.arrived.chat, text)?;
            }
            let chat = server.chat(started.arrived.chat)?;
            Ok::<_, Error>(Started {
                view: view(&host, &chat)?,
                secret: started.secret,
            })
        })
        .await??;
    Ok((StatusCode::CREATED, Json(started)))
}

/// The secret, from `Authorization: Bearer` or `?secret=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SecretQuery {
    /// The chat's secret, for clients that cannot send headers
    /// (`EventSource`).
    secret: Option<String>,
}

/// The chat `id` if the request carries its visitor's secret.
async fn visitor_chat(
    state: &AppState,
    id: i64,
    headers: &HeaderMap,
    query: Option<String>,
) -> Result<Chat> {
    let secret = crate::auth::bearer(headers)
        .map(str::to_owned)
        .or(query)
        .ok_or(ServerError::Unauthenticated)?;
    let host = state.host.clone();
    Ok(crate::writer::read(move || host.visitor_chat(id, &secret)).await??)
}

/// The chat as its visitor sees it: state, agent, notice, transcript.
#[utoipa::path(get, path = "/api/v1/visitor/chats/{id}", tag = "visitor",
    params(("id" = i64, Path, description = "the chat")),
    responses((status = 200, body = VisitorView), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn visitor_view(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Json<VisitorView>> {
    let chat = visitor_chat(&state, id, &headers, None).await?;
    let host = state.host.clone();
    Ok(Json(
        crate::writer::read(move || view(&host, &chat)).await??,
    ))
}

/// A visitor's message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    /// At most 1,940 characters; a longer one is refused, nothing stored.
    text: String,
}

/// The visitor writes: kept in the transcript (also while the chat waits
/// for an agent) and pushed to the agent's stream.
#[utoipa::path(post, path = "/api/v1/visitor/chats/{id}/messages", tag = "visitor",
    params(("id" = i64, Path, description = "the chat")), request_body = MessageBody,
    responses((status = 201, body = Object), (status = 401, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn visitor_message(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(b): Body<MessageBody>,
) -> Result<(StatusCode, Json<ChatMessage>)> {
    visitor_chat(&state, id, &headers, None).await?;
    state.visitors.send(id)?;
    let host = state.host.as_chat_server()?;
    let message = state
        .writer
        .run(move || host.customer_message(id, b.text))
        .await??;
    Ok((StatusCode::CREATED, Json(message)))
}

/// The visitor is typing: the agent's screen is told (never stored).
#[utoipa::path(post, path = "/api/v1/visitor/chats/{id}/typing", tag = "visitor",
    params(("id" = i64, Path, description = "the chat")),
    responses((status = 204, description = "told"), (status = 401, body = Problem), (status = 429, body = Problem)))]
async fn visitor_typing(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let chat = visitor_chat(&state, id, &headers, None).await?;
    state.visitors.send(id)?;
    if chat.state == ChatState::Ended {
        return Err(Error::Refused(format!("chat {id} has ended")).into());
    }
    if let Some(agent) = chat.agent {
        state.hub.typing(Key::Agent(agent), id, "customer");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The visitor's event stream (`text/event-stream`): `accepted` (an agent
/// joined), `message` (theirs and the agent's), `typing` (the agent),
/// `ended`; with `Last-Event-ID` after a reconnect, exactly what was
/// missed.
#[utoipa::path(get, path = "/api/v1/visitor/chats/{id}/events", tag = "visitor",
    params(("id" = i64, Path, description = "the chat"), SecretQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "the id of the last event received")),
    responses((status = 200, description = "the stream", content_type = "text/event-stream", body = String),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn visitor_events(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    Query(q): Query<SecretQuery>,
    headers: HeaderMap,
) -> Result<Sse<ReceiverStream<std::result::Result<Event, Infallible>>>> {
    visitor_chat(&state, id, &headers, q.secret).await?;
    let start = Start::from_header(headers.get("last-event-id").and_then(|v| v.to_str().ok()));
    Ok(stream(
        &state.hub,
        Key::Chat(id),
        start,
        state.options.heartbeat,
    ))
}

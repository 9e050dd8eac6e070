//! Chat, the agent's desk: their chat state and status, accepting or
//! rejecting offers, writing, ending, logging, listing and showing chats.
//! The chat server's side (arrivals, the customer's messages) stays with
//! the chat server and `dossier chat arrive`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use dossier_host::{
    AgentState, AgentStatus, Chat, ChatMessage, ChatState, Ended, LogCustomer, Returned, Routed,
    SavedLog, StateChange,
};
use dossier_sdk::{Email, ExpandMode, NewCustomer};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Paged, Paging, read_as, write_as};
use crate::auth::Caller;
use crate::error::{Problem, Result, ServerError};
use crate::{AppState, Body};

pub(super) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(chat_status, set_chat_state))
        .routes(routes!(chat_statuses))
        .routes(routes!(list_chats))
        .routes(routes!(get_chat))
        .routes(routes!(accept_chat))
        .routes(routes!(reject_chat))
        .routes(routes!(send_message))
        .routes(routes!(end_chat))
        .routes(routes!(log_chat))
        .routes(routes!(keep_log_draft))
}

/// `me` names the caller.
fn login_of(caller: &Caller, login: String) -> String {
    if login == "me" { caller.login() } else { login }
}

// ----- state and status ------------------------------------------------------

/// A chat state to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StateBody {
    /// `available`, `break`, `offline` or `logged-out`.
    state: String,
}

/// An agent's chat status after a change, with the offers it made.
#[derive(Debug, Serialize, ToSchema)]
struct StateSet {
    /// Where the agent stands now.
    #[schema(value_type = Object)]
    status: AgentStatus,
    /// The chats offered because of the change (becoming available).
    #[schema(value_type = Object)]
    routed: Routed,
}

/// Sets an agent's chat state: the caller's own (`me`, or their login), or
/// anyone's with `manage_agents`. Becoming available offers the waiting
/// chats of their queues.
#[utoipa::path(put, path = "/api/v1/agents/{login}/chat-state", tag = "chat",
    params(("login" = String, Path, description = "the agent, or `me`")), request_body = StateBody,
    responses((status = 200, body = StateSet), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn set_chat_state(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(login): Path<String>,
    Body(b): Body<StateBody>,
) -> Result<Json<StateSet>> {
    let new = AgentState::parse(&b.state).ok_or_else(|| {
        ServerError::bad_field(
            "state",
            format!(
                "unknown chat state `{}` (expected available, break, offline or logged-out)",
                b.state
            ),
        )
    })?;
    let me = caller.login();
    let login = login_of(&caller, login);
    write_as(&state, caller.host, move |host| {
        let (status, routed) = if login == me {
            host.set_chat_state(new)?
        } else {
            host.set_agent_state(&login, new)?
        };
        Ok(StateSet { status, routed })
    })
    .await
}

/// Whether to add an agent's recorded state changes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    /// Also list the agent's last 50 state changes, newest first.
    #[serde(default)]
    history: bool,
}

/// An agent's chat status, and its history when asked.
#[derive(Debug, Serialize, ToSchema)]
struct StatusView {
    /// State, busy, load, capacity, queues.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    status: AgentStatus,
    /// Recorded state changes, newest first (with `?history=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    history: Option<Vec<StateChange>>,
}

/// Where an agent (or `me`) stands for chat: state, busy, load, capacity,
/// queues.
#[utoipa::path(get, path = "/api/v1/agents/{login}/chat-state", tag = "chat",
    params(("login" = String, Path, description = "the agent, or `me`"), StatusQuery),
    responses((status = 200, body = StatusView), (status = 404, body = Problem)))]
async fn chat_status(
    caller: Caller,
    Path(login): Path<String>,
    Query(q): Query<StatusQuery>,
) -> Result<Json<StatusView>> {
    let login = login_of(&caller, login);
    read_as(caller.host, move |host| {
        let status = host.chat_status(&login)?;
        let history = if q.history {
            Some(host.chat_history(&login, 50)?)
        } else {
            None
        };
        Ok(StatusView { status, history })
    })
    .await
}

/// The chat status of every enabled agent.
#[utoipa::path(get, path = "/api/v1/chat-states", tag = "chat",
    responses((status = 200, description = "every agent's status (one page)", body = Object),
        (status = 401, body = Problem)))]
async fn chat_statuses(caller: Caller) -> Result<Json<Paged<AgentStatus>>> {
    read_as(caller.host, |host| {
        Ok(Paged {
            items: host.chat_statuses()?,
            next_cursor: None,
        })
    })
    .await
}

// ----- chats -------------------------------------------------------------------

/// Which chats to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ChatList {
    /// Every chat, not only the caller's.
    #[serde(default)]
    all: bool,
    /// Only chats in this state: `waiting`, `offered`, `active` or `ended`.
    state: Option<String>,
    /// Items per page, 1 to 200 [default: 50].
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// Chats, newest first: the caller's offered and active ones and those
/// whose log needs a customer, or every chat with `all`, or those in one
/// `state`.
#[utoipa::path(get, path = "/api/v1/chats", tag = "chat", params(ChatList),
    responses((status = 200, description = "a page of chats", body = Object), (status = 400, body = Problem)))]
async fn list_chats(caller: Caller, Query(q): Query<ChatList>) -> Result<Json<Paged<Chat>>> {
    let paging = Paging {
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = paging.page()?;
    let state = q
        .state
        .map(|s| {
            ChatState::parse(&s).ok_or_else(|| {
                ServerError::bad_field(
                    "state",
                    format!(
                        "unknown chat state `{s}` (expected waiting, offered, active or ended)"
                    ),
                )
            })
        })
        .transpose()?;
    let (all, me) = (q.all, caller.login());
    read_as(caller.host, move |host| {
        let wanted = page.offset.saturating_add(page.limit);
        let chats = host.chat_worklist((!all).then_some(me), state, wanted)?;
        Ok(Paged::slice(chats, page))
    })
    .await
}

/// A chat and its transcript.
#[derive(Debug, Serialize, ToSchema)]
struct ChatView {
    /// The chat.
    #[schema(value_type = Object)]
    chat: Chat,
    /// Its messages, in order, with sender and time.
    #[schema(value_type = Vec<Object>)]
    transcript: Vec<ChatMessage>,
}

/// One chat and its transcript.
#[utoipa::path(get, path = "/api/v1/chats/{id}", tag = "chat",
    params(("id" = i64, Path, description = "the chat's id")),
    responses((status = 200, body = ChatView), (status = 404, body = Problem)))]
async fn get_chat(caller: Caller, Path(id): Path<i64>) -> Result<Json<ChatView>> {
    read_as(caller.host, move |host| {
        Ok(ChatView {
            chat: host.chat(id)?,
            transcript: host.chat_transcript(id)?,
        })
    })
    .await
}

/// Accepts the chat offered to the caller, before its deadline.
#[utoipa::path(post, path = "/api/v1/chats/{id}/accept", tag = "chat",
    params(("id" = i64, Path, description = "the chat's id")),
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn accept_chat(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Chat>> {
    write_as(&state, caller.host, move |host| host.accept_chat(id)).await
}

/// Rejects the chat offered to the caller (needs `reject_chat`): they go
/// on break and the chat is offered to the next agent.
#[utoipa::path(post, path = "/api/v1/chats/{id}/reject", tag = "chat",
    params(("id" = i64, Path, description = "the chat's id")),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reject_chat(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Returned>> {
    write_as(&state, caller.host, move |host| host.reject_chat(id)).await
}

/// A message the agent writes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    /// The text (at most 1940 characters).
    text: String,
    /// Insert FAQ answers: each `/shortcut` becomes its entry's `text` or `link`.
    #[schema(value_type = Option<String>)]
    expand: Option<ExpandMode>,
}

/// Writes in the caller's active chat (a text over 1940 characters is
/// refused `422`, `message_too_long`).
#[utoipa::path(post, path = "/api/v1/chats/{id}/messages", tag = "chat",
    params(("id" = i64, Path, description = "the chat's id")), request_body = MessageBody,
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn send_message(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(b): Body<MessageBody>,
) -> Result<Json<ChatMessage>> {
    write_as(&state, caller.host, move |host| match b.expand {
        Some(mode) => host.chat_message_with_faq(id, b.text, mode),
        None => host.chat_message(id, b.text),
    })
    .await
}

/// How a chat ends.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EndBody {
    /// A disposition code of `[dispositions.chat]` (required when it says so).
    disposition: Option<String>,
    /// The agent's note.
    note: Option<String>,
}

/// Ends the caller's active chat with a disposition; its log becomes a case
/// when the customer is known and `[chat] auto_log` is on.
#[utoipa::path(post, path = "/api/v1/chats/{id}/end", tag = "chat",
    params(("id" = i64, Path, description = "the chat's id")), request_body = EndBody,
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn end_chat(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(b): Body<EndBody>,
) -> Result<Json<Ended>> {
    write_as(&state, caller.host, move |host| {
        host.end_chat(id, b.disposition.as_deref(), b.note)
    })
    .await
}

/// A customer created for a chat's log.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LogNewCustomer {
    /// The account number.
    account: String,
    /// The name.
    name: String,
    /// The email address.
    email: Option<String>,
}

/// Whom an ended chat's log is saved for.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LogBody {
    /// An existing customer, by account number [default: the one the pop found].
    customer: Option<String>,
    /// A customer to create for it.
    new_customer: Option<LogNewCustomer>,
    /// Log this text instead of the transcript (the agent's edited version).
    text: Option<String>,
}

/// Saves an ended chat's log as a case: for the customer the pop found, an
/// existing one, or a new one.
#[utoipa::path(post, path = "/api/v1/chats/{id}/log", tag = "chat",
    params(("id" = i64, Path, description = "the chat's id")), request_body = LogBody,
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn log_chat(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(b): Body<LogBody>,
) -> Result<Json<SavedLog>> {
    if b.customer.is_some() && b.new_customer.is_some() {
        return Err(ServerError::bad_field(
            "new_customer",
            "give `customer` or `new_customer`, not both",
        ));
    }
    write_as(&state, caller.host, move |host| {
        let who = match (b.customer, b.new_customer) {
            (Some(account), _) => LogCustomer::Existing(host.customer_by_account(&account)?.id),
            (None, Some(new)) => LogCustomer::New(Box::new(NewCustomer {
                account: new.account,
                name: new.name,
                emails: new
                    .email
                    .map(|address| Email {
                        label: "main".into(),
                        address,
                    })
                    .into_iter()
                    .collect(),
                ..Default::default()
            })),
            (None, None) => LogCustomer::Popped,
        };
        host.save_chat_log(id, who, b.text)
    })
    .await
}

/// The agent's edit of an ended chat's log, kept to finish later.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LogDraftBody {
    /// The edited log.
    text: String,
}

/// Keeps the agent's edit of an ended chat's log as a draft on the chat
/// (no customer needed yet; a later draft replaces it); saving the log
/// without a `text` then saves it.
#[utoipa::path(put, path = "/api/v1/chats/{id}/log/draft", tag = "chat",
    params(("id" = i64, Path, description = "the chat's id")), request_body = LogDraftBody,
    responses((status = 200, description = "the chat, its `log_draft` set", body = Object), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn keep_log_draft(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(b): Body<LogDraftBody>,
) -> Result<Json<Chat>> {
    write_as(&state, caller.host, move |host| {
        host.save_chat_log_draft(id, b.text)
    })
    .await
}

//! Screen-pops and dispositions: what a CTI connector or a desktop calls
//! when an interaction starts and ends.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use dossier_host::Disposed;
use dossier_sdk::{Channel, Interaction, ScreenPop};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{read_as, write_as};
use crate::auth::Caller;
use crate::error::{Problem, Result, ServerError};
use crate::{AppState, Body};

pub(super) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(pop))
        .routes(routes!(dispose))
        .routes(routes!(disposition_codes))
}

/// Pops the record an interaction is about: the customer matching the
/// caller's phone or email (with their open cases), the case named, or a
/// new-customer form. Scripts and plugins may change it.
#[utoipa::path(post, path = "/api/v1/pops", tag = "interactions",
    request_body(content = Object, description = "the interaction: channel, caller, email, account, case, ..."),
    responses((status = 200, description = "the pop", body = Object), (status = 422, body = Problem)))]
async fn pop(caller: Caller, Body(interaction): Body<Interaction>) -> Result<Json<ScreenPop>> {
    // A pop reads; it takes the write lock only if a hook writes, so it
    // runs on the readers, not behind the writer's queue.
    read_as(caller.host, move |host| host.screen_pop(interaction)).await
}

/// How an interaction ended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DispositionBody {
    /// The interaction, as popped.
    #[schema(value_type = Object)]
    interaction: Interaction,
    /// A code configured for its channel.
    code: String,
    /// The agent's note.
    note: Option<String>,
}

/// Ends an interaction with a disposition code (recorded on its case, which
/// a closing code closes).
#[utoipa::path(post, path = "/api/v1/dispositions", tag = "interactions",
    request_body = DispositionBody,
    responses((status = 200, description = "what was recorded", body = Object), (status = 422, body = Problem)))]
async fn dispose(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(b): Body<DispositionBody>,
) -> Result<Json<Disposed>> {
    write_as(&state, caller.host, move |host| {
        host.dispose(b.interaction, &b.code, b.note)
    })
    .await
}

/// One disposition code a channel offers.
#[derive(Debug, Serialize, ToSchema)]
struct CodeInfo {
    /// The code.
    code: String,
    /// What agents see, when it is not the code.
    label: Option<String>,
    /// Whether it closes the case.
    close_case: bool,
}

/// A channel's disposition codes.
#[derive(Debug, Serialize, ToSchema)]
struct ChannelCodes {
    /// Whether ending an interaction needs a code.
    required: bool,
    /// The codes, in the configured order.
    codes: Vec<CodeInfo>,
}

/// The disposition codes of a channel (`phone`, `email`, `chat`).
#[utoipa::path(get, path = "/api/v1/dispositions/{channel}", tag = "interactions",
    params(("channel" = String, Path, description = "phone, email or chat")),
    responses((status = 200, body = ChannelCodes), (status = 400, body = Problem)))]
async fn disposition_codes(
    caller: Caller,
    Path(channel): Path<String>,
) -> Result<Json<ChannelCodes>> {
    let channel = channel
        .parse::<Channel>()
        .map_err(|e: String| ServerError::bad_field("channel", e))?;
    read_as(caller.host, move |host| {
        let d = host.dispositions(channel);
        Ok(ChannelCodes {
            required: d.required,
            codes: d
                .codes
                .iter()
                .map(|c| CodeInfo {
                    code: c.code.clone(),
                    label: c.label.clone(),
                    close_case: c.closes_case,
                })
                .collect(),
        })
    })
    .await
}

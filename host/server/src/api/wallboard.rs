//! The supervisor's wallboard: a snapshot, and a stream of snapshots sent
//! whenever one changes (after each write the server makes, and at least
//! every second for writes of other processes and for the waits growing).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use dossier_host::Wallboard;
use tokio_stream::wrappers::ReceiverStream;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::read_as;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::writer::read;

pub(super) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(wallboard))
        .routes(routes!(wallboard_events))
}

/// How often a wallboard stream looks again when nothing was written.
const REREAD: Duration = Duration::from_secs(1);

/// The wallboard now: each queue's waiting items and longest wait, the
/// agents' states, loads and capacities, chat offers timed out in the last
/// hour, the review queue's length, and arrivals and waits per hour over
/// the last 8 hours. Needs `reassign_cases` (supervisors and admins).
#[utoipa::path(get, path = "/api/v1/wallboard", tag = "wallboard",
    responses((status = 200, body = Object), (status = 403, body = Problem)))]
async fn wallboard(caller: Caller) -> Result<Json<Wallboard>> {
    read_as(caller.host, |host| host.wallboard()).await
}

/// The wallboard as a stream (`text/event-stream`): a `wallboard` event
/// with the snapshot at once, then another each time it changes. Needs
/// `reassign_cases`.
#[utoipa::path(get, path = "/api/v1/wallboard/events", tag = "wallboard",
    responses((status = 200, description = "the stream", content_type = "text/event-stream", body = String),
        (status = 403, body = Problem)))]
async fn wallboard_events(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Sse<ReceiverStream<std::result::Result<Event, Infallible>>>> {
    let host = caller.host;
    // Refused before the stream starts when the caller may not watch.
    let first = {
        let host = host.clone();
        read(move || host.wallboard()).await??
    };
    let (out, body) = tokio::sync::mpsc::channel(4);
    let mut changes = state.changes.subscribe();
    let mut closing = state.hub.closing.subscribe();
    tokio::spawn(async move {
        let mut last = String::new();
        let mut board: Result<Wallboard> = Ok(first);
        loop {
            match board {
                Ok(b) => {
                    let json = serde_json::to_string(&b).unwrap_or_default();
                    if json != last {
                        let event = Event::default().event("wallboard").data(json.clone());
                        if out.send(Ok(event)).await.is_err() {
                            return;
                        }
                        last = json;
                    }
                }
                Err(e) => {
                    let event = Event::default()
                        .event("error")
                        .data(serde_json::json!({ "detail": e.to_string() }).to_string());
                    let _ = out.send(Ok(event)).await;
                    return;
                }
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep(REREAD) => {}
                _ = closing.wait_for(|closing| *closing) => return,
                _ = out.closed() => return,
            }
            let host = host.clone();
            board = match read(move || host.wallboard()).await {
                Ok(result) => result.map_err(crate::error::ServerError::from),
                Err(e) => Err(e),
            };
        }
    });
    Ok(Sse::new(ReceiverStream::new(body)))
}

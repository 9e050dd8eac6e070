//! Notifications, and the outbox of after-save deliveries.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use dossier_host::{DeliveryState, Host, OutboxDelivery};
use dossier_sdk::{Audience, CaseNumber, Cause, Mailbox, Notification, Permission};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Paged, Paging, read_as, write_as};
use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::{AppState, Body};

pub(super) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(notify))
        .routes(routes!(list_outbox))
        .routes(routes!(retry_outbox))
        .routes(routes!(retry_delivery))
}

// ----- notifications -----------------------------------------------------------

/// A notification to check, pass through the `notification` hooks and,
/// with `[email.smtp]`, send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NotificationBody {
    /// The sender's address [default: `[reminders] from`].
    from: Option<String>,
    /// Recipients' addresses.
    #[serde(default)]
    to: Vec<String>,
    /// Carbon-copy recipients' addresses.
    #[serde(default)]
    cc: Vec<String>,
    /// Blind carbon-copy recipients' addresses.
    #[serde(default)]
    bcc: Vec<String>,
    /// The subject line.
    subject: String,
    /// The plain-text body.
    #[serde(default)]
    body: String,
    /// The signature.
    signature: Option<String>,
    /// The case it concerns.
    case: Option<i64>,
    /// Whom it is for: `customer`, `agent`, ... [default: customer].
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    audience: Audience,
    /// What caused it: `manual`, ... [default: manual].
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    cause: Cause,
}

/// A notification as the checks and hooks left it, and what became of it.
#[derive(Debug, Serialize, ToSchema)]
struct Notified {
    /// The notification, checked and as the hooks changed it.
    #[schema(value_type = Object)]
    notification: Notification,
    /// Not sent (and why), sent, or queued with a failed first attempt
    /// (the outbox tries again).
    delivery: String,
}

fn mailboxes(addresses: Vec<String>) -> Vec<Mailbox> {
    addresses
        .into_iter()
        .map(|address| Mailbox {
            name: None,
            address,
        })
        .collect()
}

/// Runs a notification through the checks and the `notification` hooks;
/// with `[email.smtp]` the host queues it in the outbox and sends it once
/// that commits. Without it nothing is sent.
#[utoipa::path(post, path = "/api/v1/notifications", tag = "notifications",
    request_body = NotificationBody,
    responses((status = 200, body = Notified), (status = 422, body = Problem)))]
async fn notify(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(b): Body<NotificationBody>,
) -> Result<Json<Notified>> {
    write_as(&state, caller.host, move |host| {
        let notification = Notification {
            case_number: b.case.map(CaseNumber),
            audience: b.audience,
            cause: b.cause,
            from: Mailbox {
                name: None,
                address: b
                    .from
                    .unwrap_or_else(|| host.config().reminders.from.clone()),
            },
            to: mailboxes(b.to),
            cc: mailboxes(b.cc),
            bcc: mailboxes(b.bcc),
            message_id: None,
            in_reply_to: None,
            references: Vec::new(),
            thread_token: None,
            attachments: Vec::new(),
            subject: b.subject,
            body: b.body,
            html: None,
            signature: b.signature,
            review: false,
        };
        let checked = host.notify(notification)?;
        let delivery = host.notification_outcome(&checked)?.to_string();
        Ok(Notified {
            notification: checked,
            delivery,
        })
    })
    .await
}

// ----- outbox --------------------------------------------------------------------

/// Refuses unless the caller holds `manage_agents`: the outbox names
/// records of every agent and the handlers' errors, so it is the admins'.
fn require_manage_agents(host: &Host, action: &str) -> dossier_host::Result<()> {
    let login = match host.actor() {
        dossier_host::Actor::Agent(login) => login.clone(),
        dossier_host::Actor::System => return Ok(()),
    };
    if host.agent(&login)?.has(Permission::ManageAgents) {
        Ok(())
    } else {
        Err(dossier_host::Error::PermissionDenied {
            login,
            permission: Permission::ManageAgents,
            action: action.to_owned(),
        })
    }
}

/// Deliveries not yet made, oldest first: pending, failed (with their
/// attempts and last error) and dead (`manage_agents`).
#[utoipa::path(get, path = "/api/v1/outbox", tag = "outbox", params(Paging),
    responses((status = 200, description = "a page of deliveries", body = Object),
        (status = 403, body = Problem)))]
async fn list_outbox(
    caller: Caller,
    Query(paging): Query<Paging>,
) -> Result<Json<Paged<OutboxDelivery>>> {
    let page = paging.page()?;
    read_as(caller.host, move |host| {
        require_manage_agents(host, "see the outbox")?;
        Ok(Paged::slice(host.pending_outbox()?, page))
    })
    .await
}

/// What a retry did.
#[derive(Debug, Serialize, ToSchema)]
struct Retried {
    /// Failed and dead deliveries made due again.
    retried: usize,
    /// Deliveries still failing or dead after this attempt.
    still_failing: usize,
}

/// Revives `id` (or every failed and dead delivery), delivers what is due
/// and counts what still fails.
fn retry(host: &Host, id: Option<i64>) -> dossier_host::Result<Retried> {
    require_manage_agents(host, "retry the outbox")?;
    let retried = host.retry_outbox(id)?;
    let still_failing = host
        .pending_outbox()?
        .iter()
        .filter(|d| d.state != DeliveryState::Pending)
        .count();
    Ok(Retried {
        retried,
        still_failing,
    })
}

/// Makes every failed and dead delivery due now and delivers what is due
/// (`manage_agents`).
#[utoipa::path(post, path = "/api/v1/outbox/retry", tag = "outbox",
    responses((status = 200, body = Retried), (status = 403, body = Problem)))]
async fn retry_outbox(State(state): State<Arc<AppState>>, caller: Caller) -> Result<Json<Retried>> {
    write_as(&state, caller.host, |host| retry(host, None)).await
}

/// Makes one failed or dead delivery due now and delivers what is due
/// (`manage_agents`).
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "outbox",
    params(("id" = i64, Path, description = "the delivery's id")),
    responses((status = 200, body = Retried), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn retry_delivery(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Retried>> {
    write_as(&state, caller.host, move |host| retry(host, Some(id))).await
}

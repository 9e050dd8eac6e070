//! Email: drafts (new, replies, forwards, edits, attachments, save, send,
//! discard), sending in one step, transfers, consultations, an email's
//! context, workbins, attachments and QA review. The host acts as the
//! caller, so each route has the permissions `dossier email …`,
//! `dossier workbin …` and `dossier review …` have for that agent.

use std::pin::Pin;
use std::sync::Arc;

use axum::Json;
use axum::body::HttpBody;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use dossier_host::{DraftStart, Host};
use dossier_sdk::{
    Attachment, CaseNumber, Draft, DraftChange, ExpandMode, FollowUp, FollowUpId, Mailbox,
    ReviewStep, WorkbinItem,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Paged, read_as, write_as};
use crate::auth::Caller;
use crate::error::{Problem, Result, ServerError};
use crate::{AppState, Body};

/// The largest attachment a draft accepts, in bytes (the host's limit).
pub(crate) const MAX_ATTACHMENT: usize = 20 * 1024 * 1024;

/// The largest inline image a draft accepts, in bytes (the host's limit).
pub(crate) const MAX_IMAGE: usize = 10 * 1024 * 1024;

pub(super) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list_drafts, new_draft))
        .routes(routes!(get_draft, edit_draft, discard_draft))
        .routes(routes!(save_draft))
        .routes(routes!(send_draft))
        .routes(routes!(attach_to_draft))
        .routes(routes!(add_inline_image))
        .routes(routes!(reply))
        .routes(routes!(reply_all))
        .routes(routes!(forward))
        .routes(routes!(send_email))
        .routes(routes!(transfer_email))
        .routes(routes!(consult))
        .routes(routes!(email_context))
        .routes(routes!(list_workbin, save_to_workbin))
        .routes(routes!(get_workbin_entry))
        .routes(routes!(workbin_done))
        .routes(routes!(get_attachment))
        .routes(routes!(review_queue))
        .routes(routes!(get_review))
        .routes(routes!(approve_draft))
        .routes(routes!(reject_draft))
}

// ----- what a draft holds ------------------------------------------------

/// A draft's content as a request gives it, addresses still text.
struct Content {
    from: Option<String>,
    to: Option<Vec<String>>,
    cc: Option<Vec<String>>,
    bcc: Option<Vec<String>>,
    subject: Option<String>,
    body: Option<String>,
    html: Option<String>,
    note: Option<String>,
    signature: Option<String>,
    expand: Option<ExpandMode>,
}

/// Declares a request body holding its own fields and a draft's content
/// (From, To, ..., each replacing the draft's when given), unknown fields
/// refused.
macro_rules! with_content {
    ($(#[$meta:meta])* struct $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Default, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        struct $name {
            $($(#[$fmeta])* $field: $ty,)*
            /// From (`Name <address>` or an address).
            from: Option<String>,
            /// To, replacing the draft's list.
            to: Option<Vec<String>>,
            /// Cc, replacing the draft's list.
            cc: Option<Vec<String>>,
            /// Bcc, replacing the draft's list.
            bcc: Option<Vec<String>>,
            /// The subject.
            subject: Option<String>,
            /// The text, replacing the draft's.
            body: Option<String>,
            /// An HTML body, sanitized when saved (needs `[email] rich_text`).
            html: Option<String>,
            /// Text put above what the draft holds (a reply's quote, a forward).
            note: Option<String>,
            /// The signature to insert on send, by name.
            signature: Option<String>,
            /// Expand FAQ shortcuts (`/shortcut`) into their entry's `text` or `link`.
            #[schema(value_type = Option<String>)]
            expand: Option<ExpandMode>,
        }

        impl $name {
            /// The draft content part of the body.
            #[allow(dead_code)]
            fn content(self) -> Content {
                Content {
                    from: self.from,
                    to: self.to,
                    cc: self.cc,
                    bcc: self.bcc,
                    subject: self.subject,
                    body: self.body,
                    html: self.html,
                    note: self.note,
                    signature: self.signature,
                    expand: self.expand,
                }
            }
        }
    };
}

with_content!(
    /// What a draft holds; each field given replaces the draft's.
    struct DraftContent {}
);

with_content!(
    /// A new draft on a case, or to a customer (a case is opened for it).
    struct NewDraft {
        /// The case.
        case: Option<i64>,
        /// A customer's account number.
        customer: Option<String>,
    }
);

with_content!(
    /// An email written and sent in one step: a new one on a case, or a
    /// reply to an inbound email.
    struct SendBody {
        /// A new email on this case.
        case: Option<i64>,
        /// A reply to this email (follow-up id).
        reply: Option<i64>,
    }
);

/// `Name <address>` or an address.
fn parse_mailbox(field: &str, text: &str) -> Result<Mailbox> {
    let text = text.trim();
    let (name, address) = match (text.rfind('<'), text.ends_with('>')) {
        (Some(open), true) => {
            let name = text[..open].trim().trim_matches('"').trim();
            let name = (!name.is_empty()).then(|| name.to_owned());
            (name, text[open + 1..text.len() - 1].trim())
        }
        _ => (None, text),
    };
    let valid = address
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>');
    if !valid {
        return Err(ServerError::bad_field(
            field,
            format!("`{text}` is not an email address"),
        ));
    }
    Ok(Mailbox {
        name,
        address: address.to_owned(),
    })
}

fn mailboxes(field: &str, list: Option<Vec<String>>) -> Result<Option<Vec<Mailbox>>> {
    list.map(|l| l.iter().map(|t| parse_mailbox(field, t)).collect())
        .transpose()
}

/// A draft edit, addresses checked.
struct Edit {
    change: DraftChange,
    note: Option<String>,
    expand: Option<ExpandMode>,
}

impl Content {
    fn checked(self) -> Result<Edit> {
        Ok(Edit {
            change: DraftChange {
                from: self
                    .from
                    .as_deref()
                    .map(|f| parse_mailbox("from", f))
                    .transpose()?,
                to: mailboxes("to", self.to)?,
                cc: mailboxes("cc", self.cc)?,
                bcc: mailboxes("bcc", self.bcc)?,
                subject: self.subject,
                body: self.body,
                html: self.html.map(Some),
                signature: self.signature.map(Some),
            },
            note: self.note,
            expand: self.expand,
        })
    }
}

/// Applies `edit` to draft `id` as `dossier email draft edit` does: the
/// note goes above the text, then the FAQ shortcuts are expanded.
fn apply(host: &Host, id: i64, edit: Edit) -> dossier_host::Result<Draft> {
    let Edit {
        mut change,
        note,
        expand,
    } = edit;
    if let Some(note) = note {
        let body = match change.body.take() {
            Some(body) => body,
            None => host.draft(id)?.body,
        };
        change.body = Some(format!("{note}{body}"));
    }
    let mut draft = host.edit_draft(id, change)?;
    if let Some(mode) = expand {
        draft = host.expand_draft_faq(id, mode)?;
    }
    Ok(draft)
}

/// Starts a draft from `start` and applies `edit` to it.
async fn start(
    state: &AppState,
    caller: Caller,
    start: impl FnOnce(&Host) -> dossier_host::Result<DraftStart> + Send + 'static,
    edit: Edit,
) -> Result<Json<Draft>> {
    write_as(state, caller.host, move |host| {
        let draft = host.start_draft(start(host)?)?;
        apply(host, draft.id, edit)
    })
    .await
}

// ----- drafts --------------------------------------------------------------

/// The caller's drafts still being written.
#[utoipa::path(get, path = "/api/v1/drafts", tag = "email",
    responses((status = 200, description = "the caller's drafts (one page)", body = Object),
        (status = 401, body = Problem)))]
async fn list_drafts(caller: Caller) -> Result<Json<Paged<Draft>>> {
    read_as(caller.host, |host| Ok(Paged::whole(host.my_drafts()?))).await
}

/// Starts a new draft for the caller on a case, or to a customer (a case
/// is opened for it); the content given is applied to it.
#[utoipa::path(post, path = "/api/v1/drafts", tag = "email", request_body = NewDraft,
    responses((status = 200, description = "the draft", body = Object),
        (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn new_draft(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(mut b): Body<NewDraft>,
) -> Result<Json<Draft>> {
    let (case, customer) = (b.case, b.customer.take());
    let edit = b.content().checked()?;
    if case.is_none() && customer.is_none() {
        return Err(ServerError::bad_field("case", "name a case or a customer"));
    }
    start(
        &state,
        caller,
        move |host| match (case, customer) {
            (Some(n), _) => Ok(DraftStart::Case(CaseNumber(n))),
            (None, Some(account)) => {
                Ok(DraftStart::Customer(host.customer_by_account(&account)?.id))
            }
            (None, None) => Err(dossier_host::Error::input(
                "case",
                "name a case or a customer",
            )),
        },
        edit,
    )
    .await
}

/// Starts a reply to an inbound email: it answers the sender and quotes
/// the email.
#[utoipa::path(post, path = "/api/v1/emails/{id}/reply", tag = "email",
    params(("id" = i64, Path, description = "the email (follow-up id)")), request_body = DraftContent,
    responses((status = 200, description = "the draft", body = Object), (status = 404, body = Problem)))]
async fn reply(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(b): Body<DraftContent>,
) -> Result<Json<Draft>> {
    let edit = b.content().checked()?;
    start(
        &state,
        caller,
        move |_| Ok(DraftStart::Reply(FollowUpId(id))),
        edit,
    )
    .await
}

/// Starts a reply to everyone on an inbound email, except our addresses.
#[utoipa::path(post, path = "/api/v1/emails/{id}/reply-all", tag = "email",
    params(("id" = i64, Path, description = "the email (follow-up id)")), request_body = DraftContent,
    responses((status = 200, description = "the draft", body = Object), (status = 404, body = Problem)))]
async fn reply_all(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(b): Body<DraftContent>,
) -> Result<Json<Draft>> {
    let edit = b.content().checked()?;
    start(
        &state,
        caller,
        move |_| Ok(DraftStart::ReplyAll(FollowUpId(id))),
        edit,
    )
    .await
}

/// Starts forwarding an inbound email, with its attachments, to an outside
/// address (`to`; `note` goes above the forwarded message).
#[utoipa::path(post, path = "/api/v1/emails/{id}/forward", tag = "email",
    params(("id" = i64, Path, description = "the email (follow-up id)")), request_body = DraftContent,
    responses((status = 200, description = "the draft", body = Object), (status = 404, body = Problem)))]
async fn forward(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(b): Body<DraftContent>,
) -> Result<Json<Draft>> {
    let edit = b.content().checked()?;
    start(
        &state,
        caller,
        move |_| Ok(DraftStart::Forward(FollowUpId(id))),
        edit,
    )
    .await
}

/// One draft (the caller's, or anyone's with `reassign_cases`).
#[utoipa::path(get, path = "/api/v1/drafts/{id}", tag = "email",
    params(("id" = i64, Path, description = "the draft's id")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn get_draft(caller: Caller, Path(id): Path<i64>) -> Result<Json<Draft>> {
    read_as(caller.host, move |host| host.draft(id)).await
}

/// Changes a draft: each field given replaces the draft's.
#[utoipa::path(patch, path = "/api/v1/drafts/{id}", tag = "email",
    params(("id" = i64, Path, description = "the draft's id")), request_body = DraftContent,
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn edit_draft(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(b): Body<DraftContent>,
) -> Result<Json<Draft>> {
    let edit = b.content().checked()?;
    write_as(&state, caller.host, move |host| apply(host, id, edit)).await
}

/// Throws a draft away.
#[utoipa::path(delete, path = "/api/v1/drafts/{id}", tag = "email",
    params(("id" = i64, Path, description = "the draft's id")),
    responses((status = 200, description = "the draft, discarded (a case opened for it alone is closed with it: `opened_case`)", body = Object), (status = 404, body = Problem)))]
async fn discard_draft(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Draft>> {
    write_as(&state, caller.host, move |host| {
        host.discard_draft(id).map(|d| d.draft)
    })
    .await
}

/// Keeps a draft on its case as a saved message (`email_saved`), not sent.
#[utoipa::path(post, path = "/api/v1/drafts/{id}/save", tag = "email",
    params(("id" = i64, Path, description = "the draft's id")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn save_draft(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Draft>> {
    write_as(&state, caller.host, move |host| host.save_draft(id)).await
}

/// Sends a draft (or submits it for review when the caller's mail is
/// reviewed); refused, the draft unchanged, without From or To.
#[utoipa::path(post, path = "/api/v1/drafts/{id}/send", tag = "email",
    params(("id" = i64, Path, description = "the draft's id")),
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn send_draft(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Draft>> {
    write_as(&state, caller.host, move |host| host.send_draft(id)).await
}

/// How an uploaded attachment is named.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct Upload {
    /// The file's name, as the recipient sees it.
    name: String,
}

/// Reads `body` whole, refusing it with `too_large` as soon as it holds
/// more than `limit` bytes (or says it will, in its Content-Length).
async fn read_limited(
    headers: &HeaderMap,
    mut body: axum::body::Body,
    limit: usize,
) -> Result<Vec<u8>> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ServerError::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| ServerError::BadRequest {
            message: format!("the body could not be read: {e}"),
            field: None,
        })?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limit {
                return Err(ServerError::TooLarge { limit });
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// Attaches a file to a draft: the request's body is the file (at most
/// 20 MB, refused `413` as soon as it is exceeded), its `content-type`
/// the file's type.
#[utoipa::path(post, path = "/api/v1/drafts/{id}/attachments", tag = "email",
    params(("id" = i64, Path, description = "the draft's id"), Upload),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file's bytes"),
    responses((status = 200, description = "the draft, with the file", body = Object),
        (status = 404, body = Problem), (status = 413, body = Problem)))]
async fn attach_to_draft(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(upload): Query<Upload>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<Draft>> {
    let name = plain_name(&upload.name)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let bytes = read_limited(&headers, body, MAX_ATTACHMENT).await?;
    write_as(&state, caller.host, move |host| {
        host.attach_to_draft(id, &name, &content_type, &bytes)
    })
    .await
}

/// How an uploaded image is named and described.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ImageUpload {
    /// The image's name; the HTML body places it where it names `cid:NAME`.
    name: String,
    /// Its alt text.
    #[serde(default)]
    alt: String,
}

/// Adds a PNG or JPEG shown inside a draft's HTML body: the request's body
/// is the image (at most 10 MB, refused `413` as soon as it is exceeded;
/// large ones are downscaled).
#[utoipa::path(post, path = "/api/v1/drafts/{id}/images", tag = "email",
    params(("id" = i64, Path, description = "the draft's id"), ImageUpload),
    request_body(content = Vec<u8>, content_type = "image/png", description = "the image's bytes"),
    responses((status = 200, description = "the draft, with the image", body = Object),
        (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn add_inline_image(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(upload): Query<ImageUpload>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<Draft>> {
    let name = plain_name(&upload.name)?;
    let bytes = read_limited(&headers, body, MAX_IMAGE).await?;
    write_as(&state, caller.host, move |host| {
        host.attach_inline_image(id, &name, &bytes, &upload.alt)
    })
    .await
}

/// A file name without a path or control characters.
fn plain_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.contains(['/', '\\']) || name.chars().any(char::is_control) {
        return Err(ServerError::bad_field(
            "name",
            "the file name must be a plain, non-empty name",
        ));
    }
    Ok(name.to_owned())
}

/// Writes and sends an email in one step: a new one on a case, or a reply.
#[utoipa::path(post, path = "/api/v1/emails", tag = "email", request_body = SendBody,
    responses((status = 200, description = "the draft, sent", body = Object),
        (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn send_email(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(b): Body<SendBody>,
) -> Result<Json<Draft>> {
    let start = match (b.case, b.reply) {
        (_, Some(f)) => DraftStart::Reply(FollowUpId(f)),
        (Some(n), None) => DraftStart::Case(CaseNumber(n)),
        (None, None) => {
            return Err(ServerError::bad_field(
                "case",
                "name a case or an email to reply to",
            ));
        }
    };
    let edit = b.content().checked()?;
    write_as(&state, caller.host, move |host| {
        let draft = host.start_draft(start)?;
        apply(host, draft.id, edit)?;
        host.send_draft(draft.id)
    })
    .await
}

// ----- transfers, consultations, context -------------------------------------

/// Where an email is transferred.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    /// The agent to transfer it to.
    to_agent: Option<String>,
    /// The group to transfer it to.
    to_group: Option<String>,
    /// Why.
    #[serde(default)]
    note: String,
}

/// What a transfer did.
#[derive(Debug, Serialize, ToSchema)]
struct Transferred {
    /// The email (follow-up id).
    email: i64,
    /// The agent it went to.
    to_agent: Option<String>,
    /// The group it went to.
    to_group: Option<String>,
}

/// Transfers an inbound email to another agent's or a group's workbin with
/// a note (needs `transfer_email`).
#[utoipa::path(post, path = "/api/v1/emails/{id}/transfer", tag = "email",
    params(("id" = i64, Path, description = "the email (follow-up id)")), request_body = TransferBody,
    responses((status = 200, body = Transferred), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the agent, or a member of the group, may not see the email's case (`recipient_cannot_see`)")))]
async fn transfer_email(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(b): Body<TransferBody>,
) -> Result<Json<Transferred>> {
    if b.to_agent.is_none() && b.to_group.is_none() {
        return Err(ServerError::bad_field(
            "to_agent",
            "name an agent or a group to transfer it to",
        ));
    }
    write_as(&state, caller.host, move |host| {
        host.transfer_email(
            FollowUpId(id),
            b.to_agent.as_deref(),
            b.to_group.as_deref(),
            &b.note,
        )?;
        Ok(Transferred {
            email: id,
            to_agent: b.to_agent,
            to_group: b.to_group,
        })
    })
    .await
}

/// A question for a colleague.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConsultBody {
    /// The colleague's login.
    colleague: String,
    /// The question.
    question: String,
}

/// Sends a colleague an inbound email with a question; their answer comes
/// back as an internal note on the case. Answers the note recording the
/// question.
#[utoipa::path(post, path = "/api/v1/emails/{id}/consult", tag = "email",
    params(("id" = i64, Path, description = "the email (follow-up id)")), request_body = ConsultBody,
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn consult(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(b): Body<ConsultBody>,
) -> Result<Json<FollowUp>> {
    write_as(&state, caller.host, move |host| {
        host.consult(FollowUpId(id), &b.colleague, &b.question)
    })
    .await
}

/// An email's context: its headers, its case's and customer's custom
/// fields (`email context`'s JSON).
#[utoipa::path(get, path = "/api/v1/emails/{id}/context", tag = "email",
    params(("id" = i64, Path, description = "the email (follow-up id)")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn email_context(caller: Caller, Path(id): Path<i64>) -> Result<Json<serde_json::Value>> {
    read_as(caller.host, move |host| {
        let f = host.follow_up(FollowUpId(id))?;
        let case = host.case(f.case)?;
        let customer = host.customer(case.customer)?;
        Ok(serde_json::json!({
            "email": f.email,
            "case": { "number": case.number, "status": case.status, "custom": case.custom },
            "customer": { "account": customer.account, "name": customer.name, "custom": customer.custom },
        }))
    })
    .await
}

// ----- workbin ---------------------------------------------------------------

/// Whose workbin to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct WorkbinList {
    /// Another agent's workbin (needs `reassign_cases`).
    agent: Option<String>,
    /// Include entries marked done (the caller's own workbin).
    #[serde(default)]
    all: bool,
}

/// What waits in the caller's workbin (their own entries and their
/// groups'), oldest first, or in another agent's.
#[utoipa::path(get, path = "/api/v1/workbin", tag = "workbin", params(WorkbinList),
    responses((status = 200, description = "the entries (one page)", body = Object),
        (status = 403, body = Problem)))]
async fn list_workbin(
    caller: Caller,
    Query(q): Query<WorkbinList>,
) -> Result<Json<Paged<WorkbinItem>>> {
    read_as(caller.host, move |host| {
        let items = match q.agent {
            Some(agent) => host.workbin(&agent)?,
            None => host.my_workbin(q.all)?,
        };
        Ok(Paged::whole(items))
    })
    .await
}

/// An email to keep in the workbin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SaveBody {
    /// The email (follow-up id).
    follow_up: i64,
}

/// Saves an email to the caller's workbin for later.
#[utoipa::path(post, path = "/api/v1/workbin", tag = "workbin", request_body = SaveBody,
    responses((status = 200, description = "the entry", body = Object), (status = 404, body = Problem)))]
async fn save_to_workbin(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(b): Body<SaveBody>,
) -> Result<Json<WorkbinItem>> {
    write_as(&state, caller.host, move |host| {
        host.save_to_workbin(FollowUpId(b.follow_up))
    })
    .await
}

/// A workbin entry and its email.
#[derive(Debug, Serialize, ToSchema)]
struct EntryView {
    /// The entry.
    #[schema(value_type = Object)]
    entry: WorkbinItem,
    /// Its email, when it has one.
    #[schema(value_type = Option<Object>)]
    email: Option<FollowUp>,
}

/// One workbin entry the caller may see, with its email.
#[utoipa::path(get, path = "/api/v1/workbin/{id}", tag = "workbin",
    params(("id" = i64, Path, description = "the entry's id")),
    responses((status = 200, body = EntryView), (status = 404, body = Problem)))]
async fn get_workbin_entry(caller: Caller, Path(id): Path<i64>) -> Result<Json<EntryView>> {
    read_as(caller.host, move |host| {
        let entry = host.workbin_entry(id)?;
        let email = entry.follow_up.map(|f| host.follow_up(f)).transpose()?;
        Ok(EntryView { entry, email })
    })
    .await
}

/// Marks a workbin entry done: it leaves the workbin.
#[utoipa::path(post, path = "/api/v1/workbin/{id}/done", tag = "workbin",
    params(("id" = i64, Path, description = "the entry's id")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn workbin_done(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<WorkbinItem>> {
    write_as(&state, caller.host, move |host| host.workbin_done(id)).await
}

// ----- attachments -------------------------------------------------------------

/// Where the attachment is listed, for its name and type.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AttachmentQuery {
    /// The follow-up listing it: the answer then carries its file name and
    /// type (else `application/octet-stream`, named by its id).
    follow_up: Option<i64>,
}

/// `attachment; filename="…"; filename*=UTF-8''…`: an ASCII name with
/// quotes, backslashes and anything unprintable replaced, and the exact
/// name percent-encoded (RFC 6266, RFC 8187).
fn content_disposition(name: &str) -> String {
    let plain: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}

/// An attachment's bytes, by the id its follow-up lists (`blob`), when the
/// caller may see that follow-up's case; sent as a download
/// (`content-disposition: attachment`).
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "email",
    params(("id" = String, Path, description = "the attachment's id (its follow-up's `attachments[].blob`)"),
        AttachmentQuery),
    responses((status = 200, description = "the bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_attachment(
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<AttachmentQuery>,
) -> Result<Response> {
    let blob = id.clone();
    let Json((bytes, listed)) = read_as(caller.host, move |host| {
        let bytes = host.attachment(&blob)?;
        let listed: Option<Attachment> = match q.follow_up {
            Some(f) => host
                .follow_up(FollowUpId(f))?
                .attachments
                .into_iter()
                .find(|a| a.blob.as_deref() == Some(blob.as_str())),
            None => None,
        };
        Ok((bytes, listed))
    })
    .await?;
    let (name, content_type) = match listed {
        Some(a) => (a.name, a.content_type),
        None => (id, "application/octet-stream".to_owned()),
    };
    let content_type = HeaderValue::from_str(&content_type)
        .ok()
        .filter(|_| content_type.contains('/'))
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&content_disposition(&name))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

// ----- review ------------------------------------------------------------------

/// Drafts waiting for QA review, oldest first (needs `review_email`).
#[utoipa::path(get, path = "/api/v1/review", tag = "review",
    responses((status = 200, description = "the drafts (one page)", body = Object), (status = 403, body = Problem)))]
async fn review_queue(caller: Caller) -> Result<Json<Paged<Draft>>> {
    read_as(caller.host, |host| Ok(Paged::whole(host.review_queue()?))).await
}

/// A draft and its review record.
#[derive(Debug, Serialize, ToSchema)]
struct ReviewView {
    /// The draft.
    #[schema(value_type = Object)]
    draft: Draft,
    /// Each step: submitted, rejected (with remarks), edited, approved, sent.
    #[schema(value_type = Vec<Object>)]
    review: Vec<ReviewStep>,
}

/// A draft in review, with its review record.
#[utoipa::path(get, path = "/api/v1/review/{id}", tag = "review",
    params(("id" = i64, Path, description = "the draft's id")),
    responses((status = 200, body = ReviewView), (status = 404, body = Problem)))]
async fn get_review(caller: Caller, Path(id): Path<i64>) -> Result<Json<ReviewView>> {
    read_as(caller.host, move |host| {
        Ok(ReviewView {
            draft: host.draft(id)?,
            review: host.review_history(id)?,
        })
    })
    .await
}

/// Approves a draft in review: it is sent (needs `review_email`; edit it
/// first with `PATCH /api/v1/drafts/{id}`).
#[utoipa::path(post, path = "/api/v1/review/{id}/approve", tag = "review",
    params(("id" = i64, Path, description = "the draft's id")),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn approve_draft(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Draft>> {
    write_as(&state, caller.host, move |host| host.approve_draft(id)).await
}

/// Why a draft goes back to its agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    /// What to change.
    remarks: String,
}

/// Sends a draft in review back to its agent with remarks (needs
/// `review_email`).
#[utoipa::path(post, path = "/api/v1/review/{id}/reject", tag = "review",
    params(("id" = i64, Path, description = "the draft's id")), request_body = RejectBody,
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reject_draft(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(b): Body<RejectBody>,
) -> Result<Json<Draft>> {
    write_as(&state, caller.host, move |host| {
        host.reject_draft(id, &b.remarks)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_are_read_with_or_without_a_name() {
        let m = parse_mailbox("to", "Ada Lovelace <ada@example.com>").expect("named");
        assert_eq!(
            (m.name.as_deref(), m.address.as_str()),
            (Some("Ada Lovelace"), "ada@example.com")
        );
        let m = parse_mailbox("to", " bob@example.com ").expect("bare");
        assert_eq!((m.name, m.address.as_str()), (None, "bob@example.com"));
        let e = parse_mailbox("cc", "not an address").expect_err("refused");
        assert_eq!(e.code(), "bad_request");
    }

    #[test]
    fn a_file_name_is_escaped_in_the_disposition() {
        assert_eq!(
            content_disposition("app.log"),
            "attachment; filename=\"app.log\"; filename*=UTF-8''app.log"
        );
        let d = content_disposition("a\"b\\c\r\nd é.txt");
        assert!(
            d.starts_with("attachment; filename=\"a_b_c__d _.txt\""),
            "{d}"
        );
        assert!(
            d.ends_with("filename*=UTF-8''a%22b%5Cc%0D%0Ad%20%C3%A9.txt"),
            "{d}"
        );
        assert!(HeaderValue::from_str(&d).is_ok());
    }
}

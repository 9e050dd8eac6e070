//! Full-text search, the FAQ base and signatures.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use dossier_host::{SearchFilter, SearchHit};
use dossier_sdk::{FaqChange, FaqEntry, NewFaqEntry, Signature, SignatureOwner};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Paged, Paging, read_as, write_as};
use crate::auth::Caller;
use crate::error::{Problem, Result, ServerError};
use crate::{AppState, Body};

pub(super) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(list_faq, add_faq))
        .routes(routes!(get_faq, update_faq, remove_faq))
        .routes(routes!(list_signatures, add_signature))
        .routes(routes!(remove_signature))
        .routes(routes!(default_signature))
}

/// The most words a query may hold.
const MAX_TERMS: usize = 32;

/// The most bytes a query may hold.
const MAX_QUERY_BYTES: usize = 1024;

/// The words of `q`, checked: at least one, at most [`MAX_TERMS`], and
/// at most [`MAX_QUERY_BYTES`] in all; anything else is a 400 naming `q`.
fn query_words(q: Option<String>) -> Result<String> {
    let q = q.unwrap_or_default();
    if q.len() > MAX_QUERY_BYTES {
        return Err(ServerError::bad_field(
            "q",
            format!(
                "q is {} bytes long; a query holds at most {MAX_QUERY_BYTES}",
                q.len()
            ),
        ));
    }
    let terms = q.split_whitespace().count();
    if terms == 0 {
        return Err(ServerError::bad_field("q", "q needs at least one word"));
    }
    if terms > MAX_TERMS {
        return Err(ServerError::bad_field(
            "q",
            format!("q holds {terms} words; a query holds at most {MAX_TERMS}"),
        ));
    }
    Ok(q)
}

// ----- search ----------------------------------------------------------------

/// What to search for, and where.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    /// The words to look for; every one must appear (at most 32 words and
    /// 1 KB).
    q: Option<String>,
    /// Only cases in this status (and their follow-ups).
    status: Option<String>,
    /// Only this customer (account number), their cases and follow-ups.
    customer: Option<String>,
    /// Only cases the caller owns (and their follow-ups).
    mine: Option<bool>,
    /// Only cases of this group (and their follow-ups).
    group: Option<String>,
    /// How many results at most, 1 to 200 [default: 50].
    limit: Option<u32>,
}

/// Cases, follow-ups and customers holding every word of `q`, best first,
/// each with a snippet; only what the caller may see. One page: no cursor.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchQuery),
    responses((status = 200, description = "the best matches", body = Object),
        (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn search(caller: Caller, Query(s): Query<SearchQuery>) -> Result<Json<Paged<SearchHit>>> {
    let words = query_words(s.q)?;
    let limit = Paging {
        limit: s.limit,
        cursor: None,
    }
    .limit()?;
    let owner = s.mine.unwrap_or(false).then(|| caller.login());
    read_as(caller.host, move |host| {
        let customer = match &s.customer {
            Some(account) => Some(host.customer_by_account(account)?.id),
            None => None,
        };
        let filter = SearchFilter {
            status: s.status,
            customer,
            owner,
            group: s.group,
        };
        Ok(Paged {
            items: host.search(&words, &filter, limit)?,
            next_cursor: None,
        })
    })
    .await
}

// ----- FAQ -------------------------------------------------------------------

/// The most FAQ entries one search answers.
const MAX_FAQ_SEARCH: u32 = 100;

/// Which FAQ entries to list: all of them page by page, or with `q` the
/// best matches.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct FaqList {
    /// Search the titles and texts for these words (every one must
    /// appear; at most 32 words and 1 KB); the answer is one page, best
    /// first.
    q: Option<String>,
    /// Items per page, 1 to 200 [default: 50]; with `q`, 1 to 100.
    limit: Option<u32>,
    /// The previous page's `next_cursor` (not with `q`).
    cursor: Option<String>,
}

/// The FAQ entries, by shortcut, page by page; or with `q` those holding
/// every word, best first. Open to every agent.
#[utoipa::path(get, path = "/api/v1/faq", tag = "faq", params(FaqList),
    responses((status = 200, description = "a page of FAQ entries", body = Object),
        (status = 400, body = Problem)))]
async fn list_faq(caller: Caller, Query(f): Query<FaqList>) -> Result<Json<Paged<FaqEntry>>> {
    if f.q.is_some() {
        if f.cursor.is_some() {
            return Err(ServerError::bad_field(
                "cursor",
                "a search answers one page: drop cursor, or q",
            ));
        }
        let words = query_words(f.q)?;
        let limit = match f.limit {
            None => 50,
            Some(n @ 1..=MAX_FAQ_SEARCH) => n,
            Some(n) => {
                return Err(ServerError::bad_field(
                    "limit",
                    format!("limit must be 1 to {MAX_FAQ_SEARCH} for a search, not {n}"),
                ));
            }
        };
        return read_as(caller.host, move |host| {
            Ok(Paged {
                items: host.faq_search(&words, limit)?,
                next_cursor: None,
            })
        })
        .await;
    }
    let paging = Paging {
        limit: f.limit,
        cursor: f.cursor,
    };
    let page = paging.page()?;
    read_as(caller.host, move |host| {
        Ok(Paged::slice(host.faq_list()?, page))
    })
    .await
}

/// A new FAQ entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FaqBody {
    /// The unique shortcut agents type as `/SHORTCUT`: ASCII letters,
    /// digits, `-` and `_`.
    shortcut: String,
    /// A short title.
    title: String,
    /// The full text (made from `html` when blank).
    #[serde(default)]
    body: String,
    /// A page with the answer (`http`, `https` or `mailto`), inserted in
    /// link mode.
    link: Option<String>,
    /// An HTML version, sanitized when saved (needs `[email] rich_text`).
    #[serde(default)]
    html: Option<String>,
}

/// Adds an FAQ entry (`manage_faq`).
#[utoipa::path(post, path = "/api/v1/faq", tag = "faq", request_body = FaqBody,
    responses((status = 200, description = "the entry as stored", body = Object),
        (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_faq(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(b): Body<FaqBody>,
) -> Result<Json<FaqEntry>> {
    write_as(&state, caller.host, move |host| {
        host.faq_add(NewFaqEntry {
            shortcut: b.shortcut,
            title: b.title,
            body: b.body,
            link: b.link,
            html: b.html,
        })
    })
    .await
}

/// One FAQ entry (with or without its `/`, any case). Open to every agent.
#[utoipa::path(get, path = "/api/v1/faq/{shortcut}", tag = "faq",
    params(("shortcut" = String, Path, description = "the entry's shortcut")),
    responses((status = 200, body = Object), (status = 409, body = Problem)))]
async fn get_faq(caller: Caller, Path(shortcut): Path<String>) -> Result<Json<FaqEntry>> {
    read_as(caller.host, move |host| host.faq_entry(&shortcut)).await
}

/// What an FAQ update changes; what is absent stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FaqUpdate {
    /// A new title.
    title: Option<String>,
    /// A new text.
    body: Option<String>,
    /// A new link (`null` removes it).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    link: Option<Option<String>>,
    /// A new HTML version, sanitized when saved (needs `[email]
    /// rich_text`; without a new `body`, the text is made from it); `null`
    /// removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    html: Option<Option<String>>,
}

/// Changes an FAQ entry's title, text, link or HTML version (`manage_faq`).
#[utoipa::path(patch, path = "/api/v1/faq/{shortcut}", tag = "faq",
    params(("shortcut" = String, Path, description = "the entry's shortcut")), request_body = FaqUpdate,
    responses((status = 200, body = Object), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_faq(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(shortcut): Path<String>,
    Body(b): Body<FaqUpdate>,
) -> Result<Json<FaqEntry>> {
    let change = FaqChange {
        title: b.title,
        body: b.body,
        link: b.link,
        html: b.html,
    };
    write_as(&state, caller.host, move |host| {
        host.faq_update(&shortcut, change)
    })
    .await
}

/// Removes an FAQ entry (`manage_faq`); answers it as it was.
#[utoipa::path(delete, path = "/api/v1/faq/{shortcut}", tag = "faq",
    params(("shortcut" = String, Path, description = "the entry's shortcut")),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn remove_faq(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(shortcut): Path<String>,
) -> Result<Json<FaqEntry>> {
    write_as(&state, caller.host, move |host| host.faq_remove(&shortcut)).await
}

/// A field that may be absent (outer `None`), `null` (`Some(None)`) or set.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

// ----- signatures --------------------------------------------------------------

/// Whose signatures: an agent's (the caller's by default) or a group's.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct OwnerQuery {
    /// An agent's signatures [default: the caller's].
    agent: Option<String>,
    /// A group's signatures (not with `agent`).
    group: Option<String>,
}

/// The owner `agent` and `group` name: one of them, or the caller.
fn owner_of(agent: Option<String>, group: Option<String>, me: String) -> Result<SignatureOwner> {
    match (agent, group) {
        (Some(_), Some(_)) => Err(ServerError::bad_field(
            "group",
            "name an agent or a group, not both",
        )),
        (Some(login), None) => Ok(SignatureOwner::Agent(login)),
        (None, Some(group)) => Ok(SignatureOwner::Group(group)),
        (None, None) => Ok(SignatureOwner::Agent(me)),
    }
}

/// An agent's or a group's signatures, by name (the caller's by default).
/// One page: no cursor.
#[utoipa::path(get, path = "/api/v1/signatures", tag = "signatures", params(OwnerQuery),
    responses((status = 200, description = "the signatures", body = Object), (status = 400, body = Problem)))]
async fn list_signatures(
    caller: Caller,
    Query(o): Query<OwnerQuery>,
) -> Result<Json<Paged<Signature>>> {
    let owner = owner_of(o.agent, o.group, caller.login())?;
    read_as(caller.host, move |host| {
        Ok(Paged {
            items: host.signatures(&owner)?,
            next_cursor: None,
        })
    })
    .await
}

/// A new signature.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignatureBody {
    /// Its name, unique for its owner.
    name: String,
    /// The agent it belongs to [default: the caller].
    agent: Option<String>,
    /// The group it belongs to (not with `agent`).
    group: Option<String>,
    /// The plain-text signature.
    text: String,
    /// The HTML signature (sanitized).
    html: Option<String>,
    /// Make it the default (an owner's first signature always is).
    #[serde(default)]
    default: bool,
}

/// Adds a signature: one's own, or with `manage_agents` another agent's or
/// a group's.
#[utoipa::path(post, path = "/api/v1/signatures", tag = "signatures", request_body = SignatureBody,
    responses((status = 200, description = "the signature as stored", body = Object),
        (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_signature(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(b): Body<SignatureBody>,
) -> Result<Json<Signature>> {
    let owner = owner_of(b.agent, b.group, caller.login())?;
    write_as(&state, caller.host, move |host| {
        host.add_signature(&owner, &b.name, &b.text, b.html.as_deref(), b.default)
    })
    .await
}

/// Removes a signature (same permission as adding); answers it as it was.
#[utoipa::path(delete, path = "/api/v1/signatures/{name}", tag = "signatures",
    params(("name" = String, Path, description = "the signature's name"), OwnerQuery),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn remove_signature(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
    Query(o): Query<OwnerQuery>,
) -> Result<Json<Signature>> {
    let owner = owner_of(o.agent, o.group, caller.login())?;
    write_as(&state, caller.host, move |host| {
        host.remove_signature(&owner, &name)
    })
    .await
}

/// Makes a signature its owner's default (same permission as adding).
#[utoipa::path(post, path = "/api/v1/signatures/{name}/default", tag = "signatures",
    params(("name" = String, Path, description = "the signature's name"), OwnerQuery),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn default_signature(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
    Query(o): Query<OwnerQuery>,
) -> Result<Json<Signature>> {
    let owner = owner_of(o.agent, o.group, caller.login())?;
    write_as(&state, caller.host, move |host| {
        host.set_default_signature(&owner, &name)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_capped_at_32_words_and_1_kb() {
        let words = |n: usize| Some(vec!["w"; n].join(" "));
        assert!(query_words(words(32)).is_ok());
        for q in [words(33), Some("x".repeat(1025)), None, Some("  ".into())] {
            match query_words(q) {
                Err(ServerError::BadRequest { field, .. }) => {
                    assert_eq!(field.as_deref(), Some("q"))
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(query_words(Some("x".repeat(1024))).is_ok());
    }
}

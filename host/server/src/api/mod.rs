//! The routes under `/api/v1/`: one module per family of resources. Every
//! handler but the chat visitor's takes a [`Caller`](crate::auth::Caller),
//! so every route needs a credential (a visitor's is their chat's secret),
//! and runs its host call on the blocking pool (reads) or the writer
//! (writes).

mod agents;
mod chat;
mod email;
mod events;
mod interact;
mod outbox;
mod queues;
mod records;
mod schema;
mod search;
pub(crate) mod visitor;
mod wallboard;

use std::sync::Arc;

use axum::Json;
use dossier_host::{Host, Page};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::error::{Result, ServerError};

pub(crate) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .merge(records::routes())
        .merge(schema::routes())
        .merge(interact::routes())
        .merge(agents::routes())
        .merge(search::routes())
        .merge(outbox::routes())
        .merge(email::routes())
        .merge(chat::routes())
        .merge(queues::routes())
        .merge(events::routes())
        .merge(visitor::routes())
        .merge(wallboard::routes())
}

/// The most items one page holds.
pub(crate) const MAX_PAGE: u32 = 200;

/// How a list is paged, everywhere: `limit` items from `cursor` (what the
/// previous page's `next_cursor` said; none for the first page).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Paging {
    /// Items per page, 1 to 200 [default: 50].
    pub limit: Option<u32>,
    /// Where the page starts: the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl Paging {
    /// The page size asked, checked.
    pub fn limit(&self) -> Result<u32> {
        match self.limit {
            None => Ok(50),
            Some(n @ 1..=MAX_PAGE) => Ok(n),
            Some(n) => Err(ServerError::bad_field(
                "limit",
                format!("limit must be 1 to {MAX_PAGE}, not {n}"),
            )),
        }
    }

    /// The page asked, as an offset page of the store holding one item more
    /// than the limit, so that [`Paged::after`] learns whether another
    /// page follows.
    pub fn page(&self) -> Result<Page> {
        let limit = self.limit()?;
        let offset = u32::try_from(self.position()?)
            .map_err(|_| ServerError::bad_field("cursor", "the cursor is too far"))?;
        Ok(Page {
            offset,
            limit: limit + 1,
        })
    }

    /// The position the cursor holds (0 for the first page).
    pub fn position(&self) -> Result<i64> {
        match &self.cursor {
            None => Ok(0),
            Some(c) => c
                .strip_prefix('p')
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    ServerError::bad_field("cursor", format!("`{c}` is not a cursor this API gave"))
                }),
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Paged<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass it as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Paged<T> {
    /// The page of items `fetched` with `page` (from [`Paging::page`]).
    pub fn after(fetched: Vec<T>, page: Page) -> Self {
        let limit = page.limit.saturating_sub(1);
        Self::from_extra(fetched, limit, |kept| {
            i64::from(page.offset) + kept.len() as i64
        })
    }

    /// The page `page` (from [`Paging::page`]) of a list read whole.
    pub fn slice(all: impl IntoIterator<Item = T>, page: Page) -> Self {
        let fetched = all
            .into_iter()
            .skip(page.offset as usize)
            .take(page.limit as usize)
            .collect();
        Self::after(fetched, page)
    }

    /// A list that is always short (agents, groups, tokens): every item,
    /// one page, no cursor.
    pub fn whole(items: Vec<T>) -> Self {
        Paged {
            items,
            next_cursor: None,
        }
    }

    /// A page from `fetched`, read with one item more than `limit` to learn
    /// whether another page follows; `next` is the position after the last
    /// item kept.
    pub fn from_extra(mut fetched: Vec<T>, limit: u32, next: impl FnOnce(&[T]) -> i64) -> Self {
        let more = fetched.len() > limit as usize;
        fetched.truncate(limit as usize);
        let next_cursor = more.then(|| format!("p{}", next(&fetched)));
        Paged {
            items: fetched,
            next_cursor,
        }
    }
}

/// Runs the read `f` as the caller, on the blocking pool.
pub(crate) async fn read_as<T: Send + 'static>(
    host: Host,
    f: impl FnOnce(&Host) -> dossier_host::Result<T> + Send + 'static,
) -> Result<Json<T>> {
    Ok(Json(crate::writer::read(move || f(&host)).await??))
}

/// Runs the write `f` as the caller, on the writer.
pub(crate) async fn write_as<T: Send + 'static>(
    state: &AppState,
    host: Host,
    f: impl FnOnce(&Host) -> dossier_host::Result<T> + Send + 'static,
) -> Result<Json<T>> {
    Ok(Json(state.writer.run(move || f(&host)).await??))
}

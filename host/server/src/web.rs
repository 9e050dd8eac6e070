//! The pages `dossier serve` hands to browsers: the agent desktop (`/` and
//! its addresses), the customer chat widget (`/chat/widget`) and the
//! script a web site embeds it with (`/chat/embed.js`).
//!
//! Every file is compiled into the binary (`host/server/web/`); nothing is
//! fetched from elsewhere. The pages are static shells: their scripts talk
//! to the JSON API under `/api/v1/` and to the event streams, like any
//! other client, so the pages can do nothing the API does not let their
//! user do. Each answer carries a Content-Security-Policy that allows
//! scripts and styles from this server only (no inline script, no
//! `eval`), and the scripts put every text from outside into the page as
//! text, never as markup.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

/// The desktop's shell: one page for every desktop address; its script
/// reads the address and shows the record or list it names.
const DESKTOP_HTML: &str = include_str!("../web/desktop.html");
/// The customer's chat window.
const WIDGET_HTML: &str = include_str!("../web/widget.html");
/// The supervisor's wallboard.
const WALLBOARD_HTML: &str = include_str!("../web/wallboard.html");

/// The files under `/assets/`: name, content type, bytes.
const ASSETS: [(&str, &str, &str); 6] = [
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/i18n.js"),
    ),
    (
        "wallboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/wallboard.js"),
    ),
    (
        "desktop.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/desktop.js"),
    ),
    (
        "widget.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/widget.js"),
    ),
    (
        "common.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/common.js"),
    ),
    (
        "dossier.css",
        "text/css; charset=utf-8",
        include_str!("../web/dossier.css"),
    ),
];

/// The script a web site includes to show the chat widget.
const EMBED_JS: &str = include_str!("../web/embed.js");

/// The desktop addresses the shell answers (the script routes them).
pub const DESKTOP_PATHS: [&str; 14] = [
    "/",
    "/mine",
    "/search",
    "/tasks",
    "/chats",
    "/workbin",
    "/review",
    "/queues",
    "/cases/{number}",
    "/customers/{account}",
    "/follow-ups/{id}",
    "/workbin/{id}",
    "/drafts/{id}",
    "/review/{id}",
];

/// What a page's scripts may reach: this server only. `frame-ancestors`
/// is filled in per page.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'";

pub(crate) fn routes() -> Router<Arc<AppState>> {
    let mut router = Router::new();
    for path in DESKTOP_PATHS {
        router = router.route(path, get(desktop));
    }
    router
        .route("/chat/widget", get(widget))
        .route("/wallboard", get(wallboard))
        .route("/chat/embed.js", get(embed))
        .route("/assets/{name}", get(asset))
}

/// A page with the headers every page carries; `framed` lets any site
/// frame it (the widget), otherwise no site may.
fn page(body: &'static str, framed: bool) -> Response {
    let ancestors = if framed { "*" } else { "'none'" };
    let csp = format!("{CSP}; frame-ancestors {ancestors}");
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    if !framed {
        response
            .headers_mut()
            .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

async fn desktop() -> Response {
    page(DESKTOP_HTML, false)
}

async fn wallboard() -> Response {
    page(WALLBOARD_HTML, false)
}

async fn widget() -> Response {
    page(WIDGET_HTML, true)
}

async fn embed() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // Loaded by other sites' pages.
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin",
            ),
        ],
        EMBED_JS,
    )
        .into_response()
}

async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no such file\n",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_page_holds_an_inline_script_or_style() {
        for html in [DESKTOP_HTML, WIDGET_HTML, WALLBOARD_HTML] {
            for (at, _) in html.match_indices("<script") {
                let tag = &html[at..at + html[at..].find('>').unwrap_or(0)];
                assert!(tag.contains("src="), "inline script in a page: {tag}");
            }
            assert!(!html.contains("<style"), "inline style in a page");
            assert!(!html.contains(" style="), "style attribute in a page");
            let handler = html.split(['<', ' ', '\n']).find(|word| {
                word.strip_prefix("on").is_some_and(|rest| {
                    rest.split_once('=').is_some_and(|(name, _)| {
                        !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase())
                    })
                })
            });
            assert!(
                handler.is_none(),
                "an inline event handler in a page: {handler:?}"
            );
        }
    }

    /// The `/api/v1/` paths a script names, with each `${...}` as `{}`.
    fn api_paths(script: &str) -> Vec<String> {
        let mut paths = Vec::new();
        for (at, _) in script.match_indices("/api/v1/") {
            let mut path = String::new();
            let mut chars = script[at..].chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '"' | '\'' | '`' | '?' | ' ' | '\n' => break,
                    '$' if chars.peek() == Some(&'{') => {
                        let mut depth = 0;
                        for inner in chars.by_ref() {
                            match inner {
                                '{' => depth += 1,
                                '}' if depth == 1 => break,
                                '}' => depth -= 1,
                                _ => {}
                            }
                        }
                        path.push_str("{}");
                    }
                    c => path.push(c),
                }
            }
            paths.push(path);
        }
        paths
    }

    #[test]
    fn the_pages_call_only_routes_the_api_documents() {
        let doc = crate::openapi();
        let documented: Vec<Vec<String>> = doc
            .paths
            .paths
            .keys()
            .map(|p| {
                p.split('/')
                    .map(|s| {
                        if s.starts_with('{') {
                            "{}".to_owned()
                        } else {
                            s.to_owned()
                        }
                    })
                    .collect()
            })
            .collect();
        let mut seen = 0;
        for (name, _, body) in ASSETS.iter() {
            for path in api_paths(body) {
                let segments: Vec<String> = path.split('/').map(str::to_owned).collect();
                assert!(
                    documented.iter().any(|d| {
                        d.len() == segments.len()
                            && d.iter().zip(&segments).all(|(d, s)| d == s || d == "{}")
                    }),
                    "{name} calls {path}, which the OpenAPI document does not hold"
                );
                seen += 1;
            }
        }
        assert!(
            seen > 30,
            "the scan found only {seen} calls: is it still reading the scripts?"
        );
    }

    #[test]
    fn the_scripts_never_write_markup_from_data() {
        for (name, _, body) in ASSETS.iter().chain([("embed.js", "", EMBED_JS)].iter()) {
            for banned in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
            ] {
                assert!(!body.contains(banned), "{name} uses {banned}");
            }
        }
    }
}

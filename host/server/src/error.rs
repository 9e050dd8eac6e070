//! What the server answers when a request fails: RFC 9457 problem details
//! (`application/problem+json`) carrying the stable code of the error, one
//! table mapping each code to one HTTP status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dossier_host::Error;
use serde::Serialize;

/// Why a request failed: the host's own errors, and what only a server
/// can get wrong (credentials, CSRF, rate limits, the request's shape).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The operation failed in the host (validation, permission, not
    /// found, ...): its own code and sentence.
    #[error(transparent)]
    Host(#[from] Error),
    /// No credential, or one that is unknown, expired, revoked or whose
    /// agent was disabled.
    #[error(
        "sign in first: send `Authorization: Bearer TOKEN` or the session cookie (the token or session may have expired or been revoked)"
    )]
    Unauthenticated,
    /// A sign-in with a wrong login or password (which one is not said).
    #[error("wrong login or password")]
    BadCredentials,
    /// A write in a browser session without the session's CSRF token.
    #[error(
        "the X-CSRF-Token header is missing or wrong: send the csrf value the sign-in returned"
    )]
    Csrf,
    /// Too many failed sign-ins for this login or from this address, or
    /// too many chats or messages from one chat visitor.
    #[error("{what}; try again in {retry_after} s")]
    RateLimited {
        /// What there was too much of.
        what: String,
        /// Seconds until sign-ins are accepted again.
        retry_after: u64,
    },
    /// The request is not what the route reads: bad JSON, an unknown
    /// field, a bad query parameter.
    #[error("{message}")]
    BadRequest {
        /// What is wrong, naming the field when there is one.
        message: String,
        /// The field, when one is to blame.
        field: Option<String>,
    },
    /// The body is larger than the route accepts.
    #[error("the request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The writer's queue is full or the server is stopping.
    #[error("the server is busy: {0}; try again shortly")]
    Overloaded(String),
    /// No route has this path and method.
    #[error("no route {method} {path} (see /api/v1/openapi.json)")]
    NoRoute {
        /// The method asked.
        method: String,
        /// The path asked.
        path: String,
    },
    /// The server could not start or serve: the listening address, TLS
    /// files, the lock file.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

/// Every code this crate adds to the host's [`Error::CODES`], in
/// declaration order.
pub const SERVER_CODES: [&str; 9] = [
    "unauthenticated",
    "bad_credentials",
    "csrf",
    "rate_limited",
    "bad_request",
    "too_large",
    "overloaded",
    "no_route",
    "io",
];

/// The HTTP status of each error code, the host's and the server's: the
/// one table the server answers by (docs/api.md prints it).
pub const STATUS_OF_CODE: &[(&str, u16)] = &[
    ("config_read", 500),
    ("config_parse", 500),
    ("config_invalid", 500),
    ("incompatible_field", 500),
    ("validation", 422),
    ("not_found", 404),
    ("duplicate", 409),
    ("refused", 409),
    ("unknown_disposition", 422),
    ("disposition_required", 422),
    ("invalid_notification", 422),
    ("follow_up_immutable", 409),
    ("vetoed", 422),
    ("script", 500),
    ("plugin", 500),
    ("chain_too_deep", 500),
    ("database", 503),
    ("store_busy", 503),
    ("unknown_agent", 422),
    ("permission_denied", 403),
    // A case the agent may not see is answered exactly like one that does
    // not exist (the code is rewritten to `not_found` as well).
    ("hidden", 404),
    ("recipient_cannot_see", 409),
    ("not_a_store", 500),
    ("schema_too_new", 500),
    ("io", 500),
    ("corrupt", 500),
    ("invalid_input", 422),
    ("store_in_use", 503),
    ("not_a_backup", 422),
    ("bad_email", 422),
    ("unknown_chat", 404),
    ("unknown_queue", 422),
    ("message_too_long", 422),
    ("unknown_token", 404),
    ("store_missing", 500),
    ("unauthenticated", 401),
    ("bad_credentials", 401),
    ("csrf", 403),
    ("rate_limited", 429),
    ("bad_request", 400),
    ("too_large", 413),
    ("overloaded", 503),
    ("no_route", 404),
];

/// The status `code` is answered with (500 for a code the table lacks,
/// which a test rules out).
pub fn status_of(code: &str) -> StatusCode {
    STATUS_OF_CODE
        .iter()
        .find(|(c, _)| *c == code)
        .and_then(|(_, s)| StatusCode::from_u16(*s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl ServerError {
    /// The stable code: the host error's own, or this crate's.
    pub fn code(&self) -> &'static str {
        match self {
            ServerError::Host(Error::Hidden { .. }) => "not_found",
            ServerError::Host(e) => e.code(),
            ServerError::Unauthenticated => "unauthenticated",
            ServerError::BadCredentials => "bad_credentials",
            ServerError::Csrf => "csrf",
            ServerError::RateLimited { .. } => "rate_limited",
            ServerError::BadRequest { .. } => "bad_request",
            ServerError::TooLarge { .. } => "too_large",
            ServerError::Overloaded(_) => "overloaded",
            ServerError::NoRoute { .. } => "no_route",
            ServerError::Io { .. } => "io",
        }
    }

    /// A bad request naming `field`.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> ServerError {
        ServerError::BadRequest {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// The field to blame, when the error names one.
    fn field(&self) -> Option<String> {
        match self {
            ServerError::Host(Error::Validation { field, .. }) => Some(field.clone()),
            ServerError::Host(Error::InvalidInput { what, .. }) => Some(what.clone()),
            ServerError::BadRequest { field, .. } => field.clone(),
            _ => None,
        }
    }

    /// What the answer says: a hidden record is described like an absent one.
    fn detail(&self) -> String {
        match self {
            ServerError::Host(Error::Hidden { what, .. }) => format!("{what} not found"),
            e => e.to_string(),
        }
    }
}

/// The problem details object (RFC 9457), with Dossier's `code` and
/// `field` members.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:dossier:error:CODE`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, in one sentence.
    pub detail: String,
    /// The stable code (docs/api.md lists them).
    pub code: String,
    /// The field to blame, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let code = self.code();
        let status = status_of(match &self {
            ServerError::Host(e) => e.code(),
            _ => code,
        });
        if status.is_server_error() {
            tracing::error!(target: "dossier_server::request", code, "{self}");
        }
        let problem = Problem {
            kind: format!("urn:dossier:error:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            code: code.to_owned(),
            field: self.field(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match self {
            ServerError::RateLimited { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            ServerError::Unauthenticated => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"dossier\""),
                );
            }
            ServerError::Overloaded(_) | ServerError::Host(Error::Db(_)) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_exactly_one_status() {
        let mut codes: Vec<&str> = Error::CODES.to_vec();
        codes.extend(SERVER_CODES.iter().filter(|c| **c != "io"));
        for code in &codes {
            let n = STATUS_OF_CODE.iter().filter(|(c, _)| c == code).count();
            assert_eq!(n, 1, "code `{code}` is in the status table {n} times");
        }
        for (code, _) in STATUS_OF_CODE {
            assert!(
                codes.contains(code),
                "the status table names unknown code `{code}`"
            );
        }
    }

    #[test]
    fn docs_api_md_prints_the_status_table_as_the_server_answers() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md"),
        )
        .expect("docs/api.md");
        for (code, status) in STATUS_OF_CODE {
            let row = format!("| `{code}` | {status} |");
            assert!(doc.contains(&row), "docs/api.md lacks the row {row}");
        }
    }

    #[test]
    fn a_hidden_record_reads_as_an_absent_one() {
        let e = ServerError::Host(Error::Hidden {
            what: "case 7".into(),
            login: "ann".into(),
        });
        assert_eq!(e.code(), "not_found");
        assert_eq!(e.detail(), "case 7 not found");
        assert_eq!(e.into_response().status(), StatusCode::NOT_FOUND);
    }
}

//! # dossier-types
//!
//! The domain types that cross the layers of the Dossier host: the one
//! [`Error`] every host crate returns, the custom field [`schema`] the store
//! decodes records with and the core checks writes against, the
//! normalization of phone numbers and email addresses ([`contact`],
//! [`address`]), and the chat states and rows the store keeps ([`chat`]).
//!
//! It sits just above `dossier-sdk` and below the store, so that the store
//! needs no feature module of the host. Not a public API of its own:
//! embedders reach these types through `dossier-host`, which re-exports
//! them.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod chat;
pub mod contact;
mod error;
pub mod queues;
pub mod schema;

pub use error::{Error, Result, SCRIPT_TIMEOUT};

/// How many cases each property test runs: `PROPTEST_CASES` if set (for
/// long runs, see RELIABILITY.md), else `default`, bounded for CI.
pub fn props_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

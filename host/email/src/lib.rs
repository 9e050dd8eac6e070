//! The email channel: parsing inbound mail (`parse`), threading it onto
//! cases, the attachment blobs and the agent's workbin.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod drafts;
pub mod held;
pub mod ingest;
pub mod parse;
pub mod rich;
pub mod send;
pub mod signatures;
pub mod smtp;
pub mod thread;
pub mod workbin;

/// The mail channel's operations on the runtime, as extension traits: `use dossier_email::prelude::*;` to call them.
pub mod prelude {
    pub use crate::drafts::EmailDrafts;
    pub use crate::held::EmailHeld;
    pub use crate::ingest::EmailIngest;
    pub use crate::rich::RichText;
    pub use crate::signatures::EmailSignatures;
    pub use crate::thread::{EmailRules, ThreadTokens};
    pub use crate::workbin::EmailWorkbin;
}

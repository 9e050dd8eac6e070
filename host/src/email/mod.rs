//! The email channel: parsing inbound mail (`parse`), threading it onto
//! cases, the attachment blobs and the agent's workbin.

pub(crate) mod drafts;
pub(crate) mod ingest;
pub(crate) mod parse;
pub(crate) mod send;
pub(crate) mod signatures;
pub(crate) mod smtp;
pub(crate) mod thread;
pub(crate) mod workbin;

//! The email channel: parsing inbound mail (`parse`), threading it onto
//! cases, the attachment blobs and the agent's workbin.

pub(crate) mod parse;

//! Reading one RFC 5322 / MIME message into what the host threads and
//! stores. (Skeleton: the parsing helper fills this in.)

#![allow(dead_code)]

use dossier_sdk::model::{EmailHeaders, Mailbox};

use crate::error::{Error, Result};

/// One inbound message as the host uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedEmail {
    /// From, To, Cc, Subject, Date, Message-ID, In-Reply-To, References.
    pub headers: EmailHeaders,
    /// Reply-To, if any.
    pub reply_to: Vec<Mailbox>,
    /// The envelope sender from `Return-Path`: `Some("")` for the null
    /// sender `<>`, `None` when the header is absent.
    pub return_path: Option<String>,
    /// Addresses from `Delivered-To`, `X-Original-To` and `Envelope-To`,
    /// where a plus-address token may sit when To does not show it.
    pub delivered_to: Vec<String>,
    /// The `X-Dossier-Thread` header, trimmed.
    pub thread_header: Option<String>,
    /// The text the thread view shows: the text part, or text made from the
    /// sanitized HTML.
    pub text: String,
    /// The HTML part sanitized with ammonia, if there was one.
    pub html: Option<String>,
    /// Every attachment, attached messages included.
    pub attachments: Vec<ParsedAttachment>,
    /// Why this message must never get an automatic answer, when its
    /// headers say so.
    pub auto: Option<AutoReason>,
    /// The idempotency key: the Message-ID, or `sha256:<hex>` of the bytes.
    pub key: String,
}

/// An attached file with its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedAttachment {
    /// File name (decoded; made up from the type when the part has none).
    pub name: String,
    /// MIME type, lower case.
    pub content_type: String,
    /// The decoded content.
    pub bytes: Vec<u8>,
}

/// Why a message is automatic (RFC 3834 and bounces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AutoReason {
    /// `Auto-Submitted` with a value other than `no`.
    AutoSubmitted(String),
    /// `Precedence: bulk`, `junk` or `list`.
    Precedence(String),
    /// A bounce: null sender, `MAILER-DAEMON`/`postmaster` sender, or a
    /// delivery status report; the string says which.
    Bounce(String),
}

/// Parses `raw`. `source_name` names it in errors (a file, `stdin`).
pub(crate) fn parse(raw: &[u8], source_name: &str) -> Result<ParsedEmail> {
    Err(Error::BadEmail {
        source_name: source_name.to_owned(),
        reason: format!("parsing is not built yet ({} bytes)", raw.len()),
    })
}

//! Reading one RFC 5322 / MIME message into what the host threads and
//! stores.
//!
//! mail-parser (with its full set of charsets) does the MIME work: headers,
//! encoded words, transfer encodings, nested multiparts, attached messages.
//! On top of it this module
//!
//! - decodes raw 8-bit header bytes, which mail-parser reads as UTF-8 with
//!   replacement characters, with the message's declared charset or a
//!   guessed one (`charset.rs`), and does the same for text parts that
//!   declare no charset;
//! - reads RFC 2231 parameters split into encoded continuations with
//!   mailparse, because mail-parser 0.11 decodes each segment on its own
//!   (splitting a multi-byte character, and dropping the charset after the
//!   first segment);
//! - turns uuencoded blocks in text parts, and parts sent with
//!   `Content-Transfer-Encoding: x-uuencode`, into attachments (uuencoding);
//! - sanitizes HTML with ammonia and makes text from it with html2text when
//!   there is no text part (`html.rs`);
//! - classifies automatic mail (RFC 3834 and bounces) from the headers.
//!
//! Nothing here panics on any input, and valid UTF-8 never goes through
//! charset detection.

mod charset;
pub mod html;
#[cfg(test)]
mod tests;
mod words;

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::DateTime;
use dossier_sdk::model::{EmailHeaders, Mailbox};
use encoding_rs::Encoding;
use mail_parser::{
    Addr, Address, ContentType, Header, HeaderName, HeaderValue, Message, MessageParser,
    MessagePart, PartType,
};
use sha2::{Digest, Sha256};

use dossier_types::{Error, Result};

/// One inbound message as the host uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEmail {
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
    /// What parsing had to guess or repair, one sentence each: a guessed
    /// charset, a MIME boundary that never closes, a part whose transfer
    /// encoding is broken. Empty for well-formed mail.
    pub warnings: Vec<String>,
}

/// An attached file with its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAttachment {
    /// File name (decoded; made up from the type when the part has none).
    pub name: String,
    /// MIME type, lower case.
    pub content_type: String,
    /// The decoded content.
    pub bytes: Vec<u8>,
    /// The blob the bytes were written to, once written: ingest writes
    /// them before its write transaction (`EmailIngest::write_blobs`), so
    /// the transaction only writes rows. `None` from the parser.
    pub blob: Option<String>,
}

/// Why a message is automatic (RFC 3834 and bounces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoReason {
    /// `Auto-Submitted` with a value other than `no`.
    AutoSubmitted(String),
    /// `Precedence: bulk`, `junk`, `list` or `auto_reply`.
    Precedence(String),
    /// An autoresponder's own marker: `X-Autoreply`, `X-Autorespond`, or
    /// Exchange's `X-Auto-Response-Suppress` with a value other than
    /// `none`; the string names the header.
    Marker(String),
    /// A bounce: null sender, `MAILER-DAEMON`/`postmaster` sender, or a
    /// delivery status report; the string says which.
    Bounce(String),
}

/// The one parser: MIME headers and the headers this module reads are
/// parsed, every other header is skipped (Received and DKIM headers are
/// most of a message's header bytes and nothing here reads them).
static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    let mut parser = MessageParser::new()
        .with_mime_headers()
        .header_text(HeaderName::Subject)
        .header_address(HeaderName::From)
        .header_address(HeaderName::Sender)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .header_address(HeaderName::ReplyTo)
        .header_date(HeaderName::Date)
        .header_id(HeaderName::MessageId)
        .header_id(HeaderName::InReplyTo)
        .header_id(HeaderName::References)
        .header_id(HeaderName::ReturnPath)
        .header_raw(HeaderName::AutoSubmitted)
        .header_raw(HeaderName::DeliveredTo);
    for name in RAW_HEADERS {
        parser = parser.header_raw(HeaderName::Other(Cow::Borrowed(name)));
    }
    parser.default_header_ignore()
});

/// Headers mail-parser has no name for that are read as raw text.
const RAW_HEADERS: [&str; 7] = [
    "Precedence",
    "X-Original-To",
    "Envelope-To",
    "X-Dossier-Thread",
    "X-Autoreply",
    "X-Autorespond",
    "X-Auto-Response-Suppress",
];

/// Parses `raw`. `source_name` names it in errors (a file, `stdin`).
pub fn parse(raw: &[u8], source_name: &str) -> Result<ParsedEmail> {
    let raw = skip_mbox_separator(raw);
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(bad(source_name, "the message is empty"));
    }
    if !starts_with_header_field(raw) {
        return Err(bad(
            source_name,
            "it does not start with a header field (`Name: value`): it is not an email",
        ));
    }
    let message = PARSER
        .parse(raw)
        .filter(|m| !m.parts.is_empty())
        .ok_or_else(|| bad(source_name, "it has no header fields"))?;
    // Same-length repairs (a header renamed), each on the message as the
    // one before left it: every offset stays, so what is kept as received
    // (an attached message's bytes) is read from `raw` itself.
    match first_content_types(raw, &message) {
        Some((single, warnings)) => {
            drop(message);
            let message = reparse(&single, source_name)?;
            attached(raw, &single, message, warnings, source_name)
        }
        None => attached(raw, raw, message, Vec::new(), source_name),
    }
}

fn reparse<'r>(raw: &'r [u8], source_name: &str) -> Result<Message<'r>> {
    PARSER
        .parse(raw)
        .filter(|m| !m.parts.is_empty())
        .ok_or_else(|| bad(source_name, "it has no header fields"))
}

/// [`split`], after [`whole_attached_messages`].
fn attached(
    original: &[u8],
    raw: &[u8],
    message: Message<'_>,
    mut warnings: Vec<String>,
    source_name: &str,
) -> Result<ParsedEmail> {
    match whole_attached_messages(raw, &message) {
        Some((whole, mut notes)) => {
            drop(message);
            let message = reparse(&whole, source_name)?;
            warnings.append(&mut notes);
            split(original, &whole, message, warnings, source_name)
        }
        None => split(original, raw, message, warnings, source_name),
    }
}

/// A copy of `raw` in which an attached message (`message/rfc822`) whose
/// own multipart never closes no longer swallows the parts after it: when
/// a delimiter of an enclosing multipart shows inside its span, its
/// top-level `Content-Type` is renamed (same length), so it is kept whole
/// as one attachment and its siblings are parts again; `None` when no
/// attached message needs it.
fn whole_attached_messages(raw: &[u8], message: &Message<'_>) -> Option<(Vec<u8>, Vec<String>)> {
    let boundaries: Vec<Vec<u8>> = message
        .parts
        .iter()
        .filter_map(|p| p.headers.iter().find_map(content_type_of))
        .filter(|ct| ct.ctype().eq_ignore_ascii_case("multipart"))
        .filter_map(|ct| ct.attribute("boundary"))
        .map(|b| [b"--".as_slice(), b.as_bytes()].concat())
        .collect();
    if boundaries.is_empty() {
        return None;
    }
    let mut copy: Option<Vec<u8>> = None;
    let mut warnings = Vec::new();
    for (i, part) in message.parts.iter().enumerate() {
        if !matches!(part.body, PartType::Message(_)) {
            continue;
        }
        let span = slice(raw, part.offset_body, part.offset_end);
        let swallowed = span
            .split(|&b| b == b'\n')
            .any(|line| boundaries.iter().any(|d| line.starts_with(d)));
        if !swallowed {
            continue;
        }
        // The attached message's own header block, up to its blank line.
        let start = part.offset_body as usize;
        let mut at = start;
        let mut renamed = false;
        for line in span.split_inclusive(|&b| b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                break;
            }
            if line.len() >= IGNORED_CONTENT_TYPE.len()
                && line[..IGNORED_CONTENT_TYPE.len()].eq_ignore_ascii_case(b"Content-Type")
            {
                let bytes = copy.get_or_insert_with(|| raw.to_vec());
                if let Some(name) = bytes.get_mut(at..at + IGNORED_CONTENT_TYPE.len()) {
                    name.copy_from_slice(IGNORED_CONTENT_TYPE);
                    renamed = true;
                }
            }
            at += line.len();
        }
        if renamed {
            warnings.push(format!(
                "part {i} (an attached message) has a multipart that never closes; \
                 it is kept whole, and the parts after it are read on their own"
            ));
        }
    }
    copy.map(|c| (c, warnings))
}

/// [`build`], after splitting the body at the boundary it really uses
/// when the declared one never appears ([`repair_boundary`]).
fn split(
    original: &[u8],
    raw: &[u8],
    message: Message<'_>,
    mut warnings: Vec<String>,
    source_name: &str,
) -> Result<ParsedEmail> {
    if let Some((repaired, boundary)) = repair_boundary(raw, &message) {
        let fixed = PARSER.parse(&repaired).filter(|m| {
            m.parts
                .first()
                .is_some_and(|p| matches!(p.body, PartType::Multipart(_)))
        });
        if let Some(fixed) = fixed {
            warnings.push(format!(
                "the declared MIME boundary never appears; the parts were split at {boundary:?}, \
                 the boundary the body uses"
            ));
            return build(original, &repaired, fixed, warnings, source_name);
        }
    }
    build(original, raw, message, warnings, source_name)
}

/// A copy of `raw` in which only the first `Content-Type` header of each
/// part counts (the later ones renamed, same length, so every offset
/// stays), with a warning per part, when some part has several; `None`
/// otherwise. mail-parser reads the last one, the boundary check the first:
/// one rule everywhere, the first, as most mail clients read it.
fn first_content_types(raw: &[u8], message: &Message<'_>) -> Option<(Vec<u8>, Vec<String>)> {
    let mut copy: Option<Vec<u8>> = None;
    let mut warnings = Vec::new();
    for (i, part) in message.parts.iter().enumerate() {
        let mut types = part
            .headers
            .iter()
            .filter(|h| h.name == HeaderName::ContentType);
        let Some(first) = types.next() else { continue };
        let mut renamed = false;
        for later in types {
            let at = later.offset_field as usize;
            let bytes = copy.get_or_insert_with(|| raw.to_vec());
            if let Some(name) = bytes.get_mut(at..at + IGNORED_CONTENT_TYPE.len())
                && name.eq_ignore_ascii_case(b"Content-Type")
            {
                name.copy_from_slice(IGNORED_CONTENT_TYPE);
                renamed = true;
            }
        }
        if renamed {
            let kept = first
                .value
                .as_content_type()
                .map(mime_type)
                .unwrap_or_default();
            warnings.push(format!(
                "part {i} has several Content-Type headers; the first ({kept}) is used"
            ));
        }
    }
    copy.map(|c| (c, warnings))
}

/// What a `Content-Type` header after the first is renamed to: as long as
/// `Content-Type`, and a name nothing reads.
const IGNORED_CONTENT_TYPE: &[u8] = b"X-Ignored-CT";

fn bad(source_name: &str, reason: &str) -> Error {
    Error::BadEmail {
        source_name: source_name.to_owned(),
        reason: reason.to_owned(),
    }
}

/// The message read from `raw` (`original` is what was received, for the
/// content hash, when `raw` is a repaired copy of it).
fn build(
    original: &[u8],
    raw: &[u8],
    mut message: Message<'_>,
    mut warnings: Vec<String>,
    source_name: &str,
) -> Result<ParsedEmail> {
    // The top-level headers, decoded again from their raw bytes when a
    // mailer wrote 8-bit text into them.
    let declared = declared_charset(&message).map(str::to_owned);
    let declared = declared.as_deref();
    let root = &message.parts[0];
    let sender_tld = first_address(&root.headers, &HeaderName::From)
        .and_then(charset::tld_of)
        .map(str::to_owned);
    let block = slice(raw, root.offset_header, root.offset_body);
    // Encoded words joined and escaped first, so that the fallback charset
    // never touches the bytes inside one.
    let words = words::normalize(block);
    let block = words.as_deref().unwrap_or(block);
    let guessed = message_guess(raw, &message, block, sender_tld.as_deref());
    let transcoded = transcode_headers(
        "the message's headers",
        block,
        declared,
        sender_tld.as_deref(),
        guessed,
        &mut warnings,
    )
    .map(String::into_bytes)
    .or(words.clone());
    let reparsed = transcoded
        .as_deref()
        .and_then(|text| PARSER.parse_headers(text));
    let headers: &[Header<'_>] = match reparsed.as_ref().and_then(|m| m.parts.first()) {
        Some(part) => &part.headers,
        None => &root.headers,
    };

    let mut email = read_headers(headers, &mut warnings).ok_or_else(|| {
        bad(
            source_name,
            "it has no sender: no From, Sender or Return-Path address",
        )
    })?;
    email.auto = classify(headers, &email, &message);
    email.key = match &email.headers.message_id {
        Some(id) => id.clone(),
        None => content_key(original),
    };
    structure_warnings(&message, &mut warnings);

    let tld = sender_tld.as_deref();
    let (text, html, mut uu_attachments) = bodies(raw, &message, tld, guessed, &mut warnings);
    email.text = text;
    email.html = html;
    email.attachments = attachments(
        original,
        raw,
        &mut message,
        declared,
        tld,
        guessed,
        &mut warnings,
    );
    email.attachments.append(&mut uu_attachments);
    email.warnings = warnings;
    Ok(email)
}

/// The message's one guess of a charset for its undeclared 8-bit text:
/// chardetng over the header block (when it is not UTF-8) and every text
/// part that declares no charset (or UTF-8 or US-ASCII) and is not UTF-8,
/// together; `None` when nothing needs a guess. One guess per message, so
/// that a subject and its body are not read in two charsets, and made from
/// all the text there is, which guesses better than a subject alone.
fn message_guess(
    raw: &[u8],
    message: &Message<'_>,
    headers: &[u8],
    tld: Option<&str>,
) -> Option<&'static Encoding> {
    let mut sample: Vec<u8> = Vec::new();
    if std::str::from_utf8(headers).is_err() {
        sample.extend_from_slice(headers);
    }
    for &id in message.text_body.iter().chain(&message.html_body) {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let declared = part
            .headers
            .iter()
            .find_map(content_type_of)
            .and_then(|ct| ct.attribute("charset"));
        if declared.is_some_and(|c| !is_utf8_label(c) && !charset::is_ascii_label(c)) {
            continue;
        }
        if let Some(bytes) = transfer_decoded(raw, part)
            && std::str::from_utf8(&bytes).is_err()
            && charset::utf8_with_strays(&bytes).is_none()
        {
            sample.push(b'\n');
            sample.extend_from_slice(&bytes);
        }
    }
    (!sample.is_empty()).then(|| charset::guess(&sample, tld))
}

/// A copy of `raw` whose top-level Content-Type names the boundary the body
/// really uses, with that boundary, when the declared one never appears: a
/// body line `--X` whose `--X` comes back later. `None` when the structure
/// is fine or no such line is found.
fn repair_boundary(raw: &[u8], message: &Message<'_>) -> Option<(Vec<u8>, String)> {
    let root = message.parts.first()?;
    if !is_unsplit_multipart(root) {
        return None;
    }
    let header = root
        .headers
        .iter()
        .find(|h| h.name == HeaderName::ContentType)?;
    let declared = header.value.as_content_type()?.attribute("boundary")?;
    let body = raw.get(root.offset_body as usize..)?;
    let candidate = body.split(|&b| b == b'\n').find_map(|line| {
        let line = line.strip_prefix(b"--")?;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let boundary = std::str::from_utf8(line).ok()?.trim_end();
        (!boundary.is_empty() && !boundary.starts_with(' ') && boundary != declared)
            .then_some(boundary)
    })?;
    let mut delimiter = b"--".to_vec();
    delimiter.extend_from_slice(candidate.as_bytes());
    let uses = body
        .split(|&b| b == b'\n')
        .filter(|line| line.starts_with(&delimiter))
        .count();
    if uses < 2 {
        return None;
    }
    let (start, end) = (header.offset_start as usize, header.offset_end as usize);
    let value = raw.get(start..end)?;
    let at = value
        .windows(declared.len())
        .position(|w| w == declared.as_bytes())?;
    let mut repaired = Vec::with_capacity(raw.len() + candidate.len());
    repaired.extend_from_slice(raw.get(..start + at)?);
    repaired.extend_from_slice(candidate.as_bytes());
    repaired.extend_from_slice(raw.get(start + at + declared.len()..)?);
    Some((repaired, candidate.to_owned()))
}

/// Whether the first line (after blank ones) is an RFC 5322 header field:
/// printable ASCII other than `:` and space, then `:` (obsolete syntax
/// allows blanks before it). Binary files and plain text fail here with a
/// clear reason rather than as a message with no sender.
fn starts_with_header_field(raw: &[u8]) -> bool {
    let line = raw.trim_ascii_start();
    let name_len = line
        .iter()
        .take_while(|&&b| (33..=126).contains(&b) && b != b':')
        .count();
    name_len > 0
        && line[name_len..]
            .iter()
            .find(|&&b| b != b' ' && b != b'\t')
            .is_some_and(|&b| b == b':')
}

/// `raw` without a leading mbox `From ` separator line, which some MTAs
/// prepend when they pipe a message to a command (`From ` followed by
/// anything but the colon of an obsolete-syntax `From :` header).
fn skip_mbox_separator(raw: &[u8]) -> &[u8] {
    let is_separator = raw
        .strip_prefix(b"From ")
        .is_some_and(|rest| rest.trim_ascii_start().first() != Some(&b':'));
    if is_separator {
        match raw.iter().position(|&b| b == b'\n') {
            Some(end) => &raw[end + 1..],
            None => &[],
        }
    } else {
        raw
    }
}

/// The header and address fields, without bodies, attachments or key;
/// `None` when there is no sender address at all.
fn read_headers(headers: &[Header<'_>], warnings: &mut Vec<String>) -> Option<ParsedEmail> {
    let return_path = headers
        .iter()
        .find(|h| h.name == HeaderName::ReturnPath)
        .map(|h| match &h.value {
            HeaderValue::Text(t) => clean_id(t),
            HeaderValue::TextList(list) => list.last().map(|t| clean_id(t)).unwrap_or_default(),
            _ => String::new(),
        });
    let from = match mailboxes(headers, &HeaderName::From).into_iter().next() {
        Some(from) => from,
        None => {
            let fallback = mailboxes(headers, &HeaderName::Sender)
                .into_iter()
                .next()
                .map(|m| (m, "Sender"))
                .or_else(|| {
                    return_path.as_ref().filter(|p| p.contains('@')).map(|p| {
                        (
                            Mailbox {
                                name: None,
                                address: p.clone(),
                            },
                            "Return-Path",
                        )
                    })
                });
            let (mailbox, header) = fallback?;
            warnings.push(format!(
                "no From address; the sender is taken from {header}"
            ));
            mailbox
        }
    };
    let date = headers
        .iter()
        .find(|h| h.name == HeaderName::Date)
        .and_then(|h| match &h.value {
            HeaderValue::DateTime(d) if d.is_valid() => {
                DateTime::from_timestamp(d.to_timestamp(), 0)
            }
            _ => None,
        });
    let ids = |name: &HeaderName<'_>| -> Vec<String> {
        headers
            .iter()
            .filter(|h| &h.name == name)
            .flat_map(|h| match &h.value {
                HeaderValue::Text(t) => vec![clean_id(t)],
                HeaderValue::TextList(list) => list.iter().map(|t| clean_id(t)).collect(),
                _ => Vec::new(),
            })
            .filter(|id| !id.is_empty())
            .collect()
    };
    let mut delivered_to: Vec<String> = Vec::new();
    for header in headers.iter().filter(|h| is_delivery_header(&h.name)) {
        let Some(value) = header.value.as_text() else {
            continue;
        };
        for address in value.split(',').map(clean_id) {
            if !address.is_empty() && !delivered_to.contains(&address) {
                delivered_to.push(address);
            }
        }
    }
    Some(ParsedEmail {
        headers: EmailHeaders {
            from,
            to: mailboxes(headers, &HeaderName::To),
            cc: mailboxes(headers, &HeaderName::Cc),
            bcc: Vec::new(),
            subject: text_header(headers, &HeaderName::Subject).unwrap_or_default(),
            date,
            message_id: ids(&HeaderName::MessageId).into_iter().next(),
            in_reply_to: ids(&HeaderName::InReplyTo).into_iter().next(),
            references: ids(&HeaderName::References),
            // Ingest fills in how it threaded the email and why it is automatic.
            threaded_by: None,
            referred_case: None,
            automatic: None,
            notes: Vec::new(),
        },
        reply_to: mailboxes(headers, &HeaderName::ReplyTo),
        return_path,
        delivered_to,
        thread_header: text_header(headers, &HeaderName::Other("X-Dossier-Thread".into()))
            .filter(|t| !t.is_empty()),
        text: String::new(),
        html: None,
        attachments: Vec::new(),
        auto: None,
        key: String::new(),
        warnings: Vec::new(),
    })
}

fn is_delivery_header(name: &HeaderName<'_>) -> bool {
    match name {
        HeaderName::DeliveredTo => true,
        HeaderName::Other(n) => {
            n.eq_ignore_ascii_case("X-Original-To") || n.eq_ignore_ascii_case("Envelope-To")
        }
        _ => false,
    }
}

/// Why `email` is automatic. Bounces are checked first (a delivery report
/// usually also says `Auto-Submitted`, and "bounce" is the more useful
/// cause), then `Auto-Submitted`, then `Precedence`. `List-Id` and
/// `List-Unsubscribe` alone do not count: a support address that is itself a
/// mailing list (a Google Group, say) adds them to every customer's mail.
fn classify(
    headers: &[Header<'_>],
    email: &ParsedEmail,
    message: &Message<'_>,
) -> Option<AutoReason> {
    if email.return_path.as_deref() == Some("") {
        return Some(AutoReason::Bounce("null sender (Return-Path: <>)".into()));
    }
    let local = email
        .headers
        .from
        .address
        .split('@')
        .next()
        .unwrap_or_default();
    if local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster") {
        return Some(AutoReason::Bounce(format!(
            "sent by {}",
            email.headers.from.address
        )));
    }
    let root_type = message.parts[0].headers.iter().find_map(content_type_of);
    if root_type.is_some_and(|ct| {
        type_is(ct, "multipart", "report")
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    }) {
        return Some(AutoReason::Bounce("delivery status report".into()));
    }
    let status_part = message.parts.iter().any(|part| {
        part.headers
            .iter()
            .find_map(content_type_of)
            .is_some_and(|ct| {
                type_is(ct, "message", "delivery-status")
                    || type_is(ct, "message", "global-delivery-status")
            })
    });
    if status_part {
        return Some(AutoReason::Bounce("delivery status part".into()));
    }
    if let Some(value) = text_header(headers, &HeaderName::AutoSubmitted) {
        let keyword = first_token(&value);
        if !keyword.is_empty() && keyword != "no" {
            return Some(AutoReason::AutoSubmitted(keyword));
        }
    }
    if let Some(value) = text_header(headers, &HeaderName::Other("Precedence".into())) {
        let keyword = first_token(&value);
        if matches!(keyword.as_str(), "bulk" | "junk" | "list" | "auto_reply") {
            return Some(AutoReason::Precedence(keyword));
        }
    }
    // Vacation programs that predate RFC 3834 mark their replies with a
    // header of their own; any value but an explicit "no" counts.
    for marker in ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"] {
        if let Some(value) = text_header(headers, &HeaderName::Other(marker.into())) {
            let keyword = first_token(&value);
            if !matches!(keyword.as_str(), "no" | "none" | "false") {
                return Some(AutoReason::Marker(marker.to_owned()));
            }
        }
    }
    None
}

/// The lower-cased keyword before any `;` parameters or comment.
fn first_token(value: &str) -> String {
    value
        .split([';', '(', ' ', '\t'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The text part(s), the sanitized HTML, and attachments found as
/// uuencoded blocks inside text parts.
fn bodies(
    raw: &[u8],
    message: &Message<'_>,
    tld: Option<&str>,
    guessed: Option<&'static Encoding>,
    warnings: &mut Vec<String>,
) -> (String, Option<String>, Vec<ParsedAttachment>) {
    let mut sanitized: Vec<(u32, String)> = Vec::new();
    let mut uu = Vec::new();
    // HTML nested too deep to sanitize in bounded time: kept as a file, its
    // text made without the sanitizer.
    let mut too_deep: Vec<(u32, String)> = Vec::new();
    for &id in &message.html_body {
        if let Some(part) = message.parts.get(id as usize)
            && let PartType::Html(html) = &part.body
        {
            let html = body_text(raw, part, html, tld, guessed, warnings);
            let depth = html::nesting_depth(&html, html::MAX_NESTING);
            if depth > html::MAX_NESTING {
                warnings.push(format!(
                    "an HTML part nests more than {} elements deep: it is not shown but kept as \
                     the attachment body.html, and the text is taken from the text part or \
                     made from the HTML without it",
                    html::MAX_NESTING
                ));
                uu.push(ParsedAttachment {
                    name: "body.html".to_owned(),
                    content_type: "text/html".to_owned(),
                    bytes: html.as_bytes().to_vec(),
                    blob: None,
                });
                too_deep.push((id, mail_parser::decoders::html::html_to_text(&html)));
                continue;
            }
            sanitized.push((id, html::sanitize(&html).trim().to_owned()));
        }
    }
    let mut text = String::new();
    // A multipart whose boundary never appears is all text to mail-parser,
    // and an attachment; what it holds is the message, so it is shown.
    let unsplit = (0..message.parts.len() as u32).filter(|&id| {
        message
            .parts
            .get(id as usize)
            .is_some_and(is_unsplit_multipart)
    });
    // Inline text parts that mail-parser counts as attachments because they
    // carry a name are text too, in the order they come.
    let inline = message
        .attachments
        .iter()
        .copied()
        .filter(|&id| message.parts.get(id as usize).is_some_and(is_inline_text));
    let mut ids: Vec<u32> = message.text_body.iter().copied().chain(inline).collect();
    ids.sort_unstable();
    ids.dedup();
    let ids: Vec<u32> = ids.into_iter().chain(unsplit).collect();
    for id in ids {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let piece = match &part.body {
            PartType::Text(t) => {
                let t = body_text(raw, part, t, tld, guessed, warnings);
                match extract_uuencoded(&t, &mut uu) {
                    Some(rest) => Cow::Owned(rest),
                    None => t,
                }
            }
            PartType::Html(h) => Cow::Owned(
                match (
                    sanitized.iter().find(|(i, _)| *i == id),
                    too_deep.iter().find(|(i, _)| *i == id),
                ) {
                    (Some((_, clean)), _) => html::to_text(clean),
                    (None, Some((_, plain))) => plain.clone(),
                    (None, None)
                        if html::nesting_depth(h, html::MAX_NESTING) > html::MAX_NESTING =>
                    {
                        mail_parser::decoders::html::html_to_text(h)
                    }
                    (None, None) => html::to_text(&html::sanitize(h)),
                },
            ),
            _ => continue,
        };
        let piece = normalize_newlines(piece.trim_end());
        if piece.is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&piece);
    }
    let html = (!sanitized.is_empty()).then(|| {
        let mut all = String::new();
        for (_, part) in sanitized {
            all.push_str(&part);
        }
        all
    });
    (text, html, uu)
}

/// A plain-text part marked `Content-Disposition: inline`, named or not:
/// mail clients show it as text where it stands, not as a file.
fn is_inline_text(part: &MessagePart<'_>) -> bool {
    let plain = part
        .headers
        .iter()
        .find_map(content_type_of)
        .is_none_or(|ct| type_is(ct, "text", "plain"));
    let inline = part
        .headers
        .iter()
        .find(|h| h.name == HeaderName::ContentDisposition)
        .and_then(|h| h.value.as_content_type())
        .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline"));
    plain && inline && matches!(part.body, PartType::Text(_))
}

/// A part that says it is a multipart but that mail-parser read as text
/// because its boundary never appears.
fn is_unsplit_multipart(part: &MessagePart<'_>) -> bool {
    matches!(part.body, PartType::Text(_) | PartType::Html(_))
        && part
            .headers
            .iter()
            .find_map(content_type_of)
            .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart"))
}

/// `text` with CRLF (and lone CR) line ends made LF.
fn normalize_newlines(text: &str) -> Cow<'_, str> {
    if text.contains('\r') {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('\r') {
            out.push_str(&rest[..at]);
            out.push('\n');
            rest = &rest[at + 1..];
            if let Some(after) = rest.strip_prefix('\n') {
                rest = after;
            }
        }
        out.push_str(rest);
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// The decoded text of a text part, decoded again from its bytes when
/// mail-parser's decoding cannot be right:
///
/// - the part says `us-ascii` but has 8-bit bytes: valid UTF-8 is UTF-8,
///   anything else is decoded with a detected charset;
/// - the part declares no charset (or UTF-8) and mail-parser had to put
///   replacement characters in: UTF-8 with a few stray bytes keeps its
///   UTF-8 (each stray byte decoded on its own), anything else is decoded
///   with a detected charset.
fn body_text<'t>(
    raw: &[u8],
    part: &MessagePart<'_>,
    text: &'t str,
    tld: Option<&str>,
    guessed: Option<&'static Encoding>,
    warnings: &mut Vec<String>,
) -> Cow<'t, str> {
    let declared = part
        .headers
        .iter()
        .find_map(content_type_of)
        .and_then(|ct| ct.attribute("charset"));
    let ascii = declared.is_some_and(charset::is_ascii_label);
    if !ascii && !text.contains('\u{FFFD}') {
        return Cow::Borrowed(text);
    }
    if declared.is_some_and(|c| !ascii && !is_utf8_label(c)) {
        return Cow::Borrowed(text);
    }
    let Some(bytes) = transfer_decoded(raw, part) else {
        return Cow::Borrowed(text);
    };
    if bytes.is_ascii() {
        return Cow::Borrowed(text);
    }
    if let Ok(utf8) = std::str::from_utf8(&bytes) {
        if !ascii {
            // The replacement characters are really in the text.
            return Cow::Borrowed(text);
        }
        warnings.push("a text part says us-ascii but its bytes are UTF-8; read as UTF-8".into());
        return Cow::Owned(utf8.to_owned());
    }
    let claims = match declared {
        Some(label) if ascii => format!("says {label}"),
        Some(_) => "claims UTF-8".to_owned(),
        None => "no charset".to_owned(),
    };
    // An HTML part's own `<meta charset>` is a declaration too.
    if declared.is_none()
        && matches!(part.body, PartType::Html(_))
        && let Some(meta) = html::meta_charset(&bytes)
    {
        let decoded = charset::decode_legacy(&bytes, Some(&meta), tld, guessed);
        if !decoded.guessed {
            warnings.push(format!(
                "an HTML part has 8-bit bytes and no charset in its headers; decoded as {} \
                 (its <meta charset>)",
                decoded.charset
            ));
            return Cow::Owned(decoded.text);
        }
    }
    if let Some(mostly) = charset::utf8_with_strays(&bytes) {
        warnings.push(format!(
            "a text part has 8-bit bytes and {claims}; read as UTF-8 with a few stray bytes \
             (each decoded as windows-1252)"
        ));
        return Cow::Owned(mostly);
    }
    let decoded = charset::decode_legacy(&bytes, None, tld, guessed);
    warnings.push(format!(
        "a text part has 8-bit bytes and {claims}; decoded as {} (guessed)",
        decoded.charset
    ));
    Cow::Owned(decoded.text)
}

fn is_utf8_label(label: &str) -> bool {
    label.eq_ignore_ascii_case("utf-8") || label.eq_ignore_ascii_case("utf8")
}

/// The bytes of a part's body after undoing its transfer encoding, read
/// again from the raw message.
fn transfer_decoded<'r>(raw: &'r [u8], part: &MessagePart<'_>) -> Option<Cow<'r, [u8]>> {
    let body = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    match part.encoding {
        mail_parser::Encoding::None => Some(Cow::Borrowed(body)),
        mail_parser::Encoding::QuotedPrintable => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(body).map(Cow::Owned)
        }
        mail_parser::Encoding::Base64 => {
            mail_parser::decoders::base64::base64_decode(body).map(Cow::Owned)
        }
    }
}

/// What a damaged part (its message cut off before the closing boundary,
/// say) still holds: mail-parser keeps such a part undecoded, so its
/// declared transfer encoding is undone here, base64 up to the last
/// complete group.
fn recover(raw: &[u8], part: &MessagePart<'_>) -> Option<Vec<u8>> {
    let cte = part
        .headers
        .iter()
        .find(|h| h.name == HeaderName::ContentTransferEncoding)
        .and_then(|h| h.value.as_text())?
        .trim();
    let body = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    if cte.eq_ignore_ascii_case("base64") {
        let mut clean: Vec<u8> = body
            .iter()
            .copied()
            .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            .collect();
        clean.truncate(clean.len() / 4 * 4);
        mail_parser::decoders::base64::base64_decode(&clean)
    } else if cte.eq_ignore_ascii_case("quoted-printable") {
        mail_parser::decoders::quoted_printable::quoted_printable_decode(body)
    } else {
        None
    }
}

/// `text` with its complete uuencoded blocks replaced by a line naming the
/// attachment, each block's file pushed onto `out`; `None` when there are
/// none. Blocks without an `end` line are left alone: a line starting with
/// "begin " in prose is not a file.
fn extract_uuencoded(text: &str, out: &mut Vec<ParsedAttachment>) -> Option<String> {
    if !(text.starts_with("begin ") || text.contains("\nbegin ")) {
        return None;
    }
    let mut rest = String::with_capacity(text.len());
    let mut from = 0;
    for block in uuencoding::scan(text.as_bytes()).into_iter().flatten() {
        if block.is_truncated || block.begin_offset < from {
            continue;
        }
        let (Some(before), true) = (
            text.get(from..block.begin_offset),
            text.is_char_boundary(block.end_offset),
        ) else {
            continue;
        };
        let name = clean_name(&block.metadata.filename)
            .unwrap_or_else(|| format!("uuencoded-{}.bin", out.len() + 1));
        rest.push_str(before);
        rest.push_str(&format!("[attachment: {name}]\n"));
        from = block.end_offset;
        out.push(ParsedAttachment {
            content_type: guess_type(&name),
            name,
            bytes: block.data,
            blob: None,
        });
    }
    if from == 0 {
        return None;
    }
    rest.push_str(text.get(from..).unwrap_or_default());
    Some(rest)
}

/// The most parts of one message kept as attachments, each its own file;
/// the parts after them are kept together in one.
pub const MAX_ATTACHMENTS: usize = 1000;

/// Every attachment part, bytes moved out of the parsed message.
fn attachments(
    original: &[u8],
    raw: &[u8],
    message: &mut Message<'_>,
    declared: Option<&str>,
    tld: Option<&str>,
    guessed: Option<&'static Encoding>,
    warnings: &mut Vec<String>,
) -> Vec<ParsedAttachment> {
    let mut out = Vec::with_capacity(message.attachments.len().min(MAX_ATTACHMENTS + 1));
    let ids = message.attachments.clone();
    for (at, &id) in ids.iter().enumerate() {
        if out.len() == MAX_ATTACHMENTS {
            // The rest, as received, in one file: the parts are kept, but
            // a message cannot make thousands of blobs.
            let rest: Vec<&MessagePart<'_>> = ids[at..]
                .iter()
                .filter_map(|&i| message.parts.get(i as usize))
                .collect();
            if let (Some(first), Some(last)) = (rest.first(), rest.last()) {
                let bytes = slice(raw, first.offset_header, last.offset_end).to_vec();
                warnings.push(format!(
                    "the message has {} attachments; the first {MAX_ATTACHMENTS} are kept as \
                     files, the other {} as received in one file, more-parts.mime",
                    MAX_ATTACHMENTS + rest.len(),
                    rest.len()
                ));
                out.push(ParsedAttachment {
                    name: "more-parts.mime".to_owned(),
                    content_type: "application/octet-stream".to_owned(),
                    bytes,
                    blob: None,
                });
            }
            break;
        }
        let Some(part) = message.parts.get_mut(id as usize) else {
            continue;
        };
        if is_unsplit_multipart(part) || is_inline_text(part) {
            continue;
        }
        let n = out.len() + 1;
        let ct = part.headers.iter().find_map(content_type_of);
        let mut content_type = ct.map(mime_type).unwrap_or_default();
        let name = part_name(raw, part, declared, tld, guessed, warnings);
        let uuencoded = part
            .headers
            .iter()
            .find(|h| h.name == HeaderName::ContentTransferEncoding)
            .and_then(|h| h.value.as_text())
            .is_some_and(|cte| {
                ["x-uuencode", "x-uue", "uuencode", "x-uu"]
                    .iter()
                    .any(|u| cte.trim().eq_ignore_ascii_case(u))
            });
        let (bytes, nested_subject) = match std::mem::take(&mut part.body) {
            PartType::Binary(b) | PartType::InlineBinary(b) => (b.into_owned(), None),
            PartType::Text(t) | PartType::Html(t) => {
                // The file as sent, not as decoded into UTF-8 for display.
                let recovered = part
                    .is_encoding_problem
                    .then(|| recover(raw, part))
                    .flatten();
                let bytes =
                    match recovered.or_else(|| transfer_decoded(raw, part).map(Cow::into_owned)) {
                        Some(b) => b,
                        None => t.into_owned().into_bytes(),
                    };
                (bytes, None)
            }
            PartType::Message(nested) => {
                if content_type.is_empty() || !content_type.starts_with("message/") {
                    content_type = "message/rfc822".into();
                }
                let subject = nested
                    .parts
                    .first()
                    .and_then(|p| text_header(&p.headers, &HeaderName::Subject));
                // A nested message read straight from this one shares its
                // buffer; one that was base64 or quoted-printable has its own.
                // Read from the message as received when the repairs kept
                // every offset (they rename headers in the copy parsed).
                let received = if original.len() == raw.len() {
                    original
                } else {
                    raw
                };
                let bytes = if part.encoding == mail_parser::Encoding::None {
                    slice(received, part.offset_body, part.offset_end).to_vec()
                } else {
                    nested.raw_message.into_owned()
                };
                (bytes, subject)
            }
            PartType::Multipart(_) => continue,
        };
        let (bytes, name) = match uuencoded.then(|| uuencoding::decode(&bytes)) {
            Some(Ok(block)) => {
                let uu_name = clean_name(&block.metadata.filename);
                (block.data, name.or(uu_name))
            }
            _ => (bytes, name),
        };
        if content_type.is_empty() {
            content_type = "text/plain".into();
        }
        let name = name.unwrap_or_else(|| match nested_subject.as_deref().and_then(clean_name) {
            Some(subject) => format!("{subject}.eml"),
            None if content_type == "message/rfc822" => format!("message-{n}.eml"),
            None => format!("attachment-{n}.{}", extension_for(&content_type)),
        });
        out.push(ParsedAttachment {
            name,
            content_type,
            bytes,
            blob: None,
        });
    }
    out
}

/// A part's file name: `filename` from Content-Disposition, else `name`
/// from Content-Type; read from headers decoded with the fallback charset
/// when they hold raw 8-bit bytes, and with mailparse's RFC 2231 reader when
/// the parameter uses the extended `name*=` syntax.
fn part_name(
    raw: &[u8],
    part: &MessagePart<'_>,
    declared: Option<&str>,
    tld: Option<&str>,
    guessed: Option<&'static Encoding>,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let block = slice(raw, part.offset_header, part.offset_body);
    let words = words::normalize(block);
    let block = words.as_deref().unwrap_or(block);
    let own = part
        .headers
        .iter()
        .find_map(content_type_of)
        .and_then(|ct| ct.attribute("charset"));
    let transcoded = transcode_headers(
        "an attachment's headers",
        block,
        own.or(declared),
        tld,
        guessed,
        warnings,
    )
    .map(String::into_bytes)
    .or(words.clone());
    let reparsed = transcoded
        .as_deref()
        .and_then(|text| PARSER.parse_headers(text));
    let (buffer, headers): (&[u8], &[Header<'_>]) = match (
        transcoded.as_deref(),
        reparsed.as_ref().and_then(|m| m.parts.first()),
    ) {
        (Some(text), Some(p)) => (text, &p.headers),
        _ => (raw, &part.headers),
    };
    let param = |header: HeaderName<'_>, attribute: &str| -> Option<String> {
        let h = headers.iter().find(|h| h.name == header)?;
        let line = slice(buffer, h.offset_field, h.offset_end);
        if line.windows(2).any(|w| w == b"*=") {
            let (parsed, _) = mailparse::parse_header(line).ok()?;
            let value = parsed.get_value();
            let params = if header == HeaderName::ContentDisposition {
                mailparse::parse_content_disposition(&value).params
            } else {
                mailparse::parse_content_type(&value).params
            };
            if let Some(v) = params.get(attribute) {
                return Some(v.clone());
            }
        }
        h.value
            .as_content_type()?
            .attribute(attribute)
            .map(str::to_owned)
    };
    param(HeaderName::ContentDisposition, "filename")
        .or_else(|| param(HeaderName::ContentType, "name"))
        .as_deref()
        .and_then(clean_name)
}

/// A file name safe to show and to save: the last path component, without
/// control characters, trimmed; `None` when nothing is left.
fn clean_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    let cleaned: String = cleaned.chars().take(200).collect();
    (!cleaned.is_empty() && cleaned != "." && cleaned != "..").then_some(cleaned)
}

/// The usual extension for a MIME type: its subtype when that is one, else
/// `txt`/`bin`, else the first mime_guess knows, else `bin`.
fn extension_for(content_type: &str) -> &str {
    let subtype = content_type.split('/').nth(1).unwrap_or_default();
    let Some(known) = mime_guess::get_mime_extensions_str(content_type) else {
        // Reports and headers (message/delivery-status, text/rfc822-headers)
        // are text.
        return if content_type.starts_with("text/") || content_type.starts_with("message/") {
            "txt"
        } else {
            "bin"
        };
    };
    known
        .iter()
        .copied()
        .find(|e| *e == subtype)
        .or_else(|| known.iter().copied().find(|e| *e == "txt" || *e == "bin"))
        .or_else(|| known.first().copied())
        .unwrap_or("bin")
}

/// The MIME type for a file name, `application/octet-stream` when unknown.
fn guess_type(name: &str) -> String {
    mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_owned()
}

/// The header block decoded with the fallback charset, when it is not
/// valid UTF-8; `None` (nothing to do) otherwise.
fn transcode_headers(
    what: &str,
    block: &[u8],
    declared: Option<&str>,
    tld: Option<&str>,
    guessed: Option<&'static Encoding>,
    warnings: &mut Vec<String>,
) -> Option<String> {
    if std::str::from_utf8(block).is_ok() {
        return None;
    }
    let decoded = charset::decode_legacy(block, declared, tld, guessed);
    warnings.push(format!(
        "{what} carry raw 8-bit text; decoded as {} ({})",
        decoded.charset,
        if decoded.guessed {
            "guessed"
        } else {
            "the declared charset"
        }
    ));
    Some(decoded.text)
}

/// The charset the message declares for its text: the top-level
/// Content-Type's, else the first text or HTML body part's.
fn declared_charset<'m>(message: &'m Message<'_>) -> Option<&'m str> {
    let of = |part: &'m MessagePart<'_>| {
        part.headers
            .iter()
            .find_map(content_type_of)
            .and_then(|ct| ct.attribute("charset"))
    };
    message.parts.first().and_then(of).or_else(|| {
        message
            .text_body
            .iter()
            .chain(&message.html_body)
            .filter_map(|&id| message.parts.get(id as usize))
            .find_map(of)
    })
}

/// Notes on a damaged structure: a multipart whose boundary never appears,
/// parts whose transfer encoding could not be undone.
fn structure_warnings(message: &Message<'_>, warnings: &mut Vec<String>) {
    for (i, part) in message.parts.iter().enumerate() {
        let ct = part.headers.iter().find_map(content_type_of);
        if let Some(ct) = ct
            && ct.ctype().eq_ignore_ascii_case("multipart")
            && !matches!(part.body, PartType::Multipart(_))
        {
            warnings.push(format!(
                "part {i} is {} but its boundary {:?} never appears; its body is kept as text",
                mime_type(ct),
                ct.attribute("boundary").unwrap_or_default()
            ));
        } else if part.is_encoding_problem {
            warnings.push(format!(
                "part {i} ({}) is damaged (broken transfer encoding or no closing boundary); \
                 what could be decoded is kept",
                ct.map(mime_type).unwrap_or_else(|| "text/plain".into())
            ));
        }
    }
}

fn content_type_of<'h, 'x>(header: &'h Header<'x>) -> Option<&'h ContentType<'x>> {
    (header.name == HeaderName::ContentType)
        .then(|| header.value.as_content_type())
        .flatten()
}

fn type_is(ct: &ContentType<'_>, ctype: &str, subtype: &str) -> bool {
    ct.ctype().eq_ignore_ascii_case(ctype)
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case(subtype))
}

/// `type/subtype`, lower case.
fn mime_type(ct: &ContentType<'_>) -> String {
    let mut out = ct.ctype().to_ascii_lowercase();
    if let Some(subtype) = ct.subtype() {
        out.push('/');
        out.push_str(&subtype.to_ascii_lowercase());
    }
    out
}

/// Every mailbox with an address in every header called `name`, groups
/// flattened.
fn mailboxes(headers: &[Header<'_>], name: &HeaderName<'_>) -> Vec<Mailbox> {
    let mut out = Vec::new();
    for header in headers.iter().filter(|h| &h.name == name) {
        match &header.value {
            HeaderValue::Address(Address::List(list)) => out.extend(list.iter().flat_map(lenient)),
            HeaderValue::Address(Address::Group(groups)) => out.extend(
                groups
                    .iter()
                    .flat_map(|g| g.addresses.iter())
                    .flat_map(lenient),
            ),
            _ => {}
        }
    }
    out
}

/// The mailboxes in one address as mail-parser read it, recovered as mail
/// clients do when the header is not RFC 5322 (mail-parser keeps such text
/// whole, as one address or one display name):
///
/// - `Big Bug bb@bug.com`: words before an address are its display name;
/// - `ann@example.com bob@example.com`: two addresses without a comma;
/// - `jdoe@machine(comment).  example`: obsolete syntax, a comment and
///   blanks inside the domain, read as `jdoe@machine.example` named by
///   the comment;
/// - `Hans Müller (hans@example.com)`: a display name followed by the
///   address in parentheses, not a name made of both.
fn lenient(addr: &Addr<'_>) -> Vec<Mailbox> {
    let name = addr.name.as_deref().map(str::trim).unwrap_or_default();
    let address = addr.address.as_deref().map(str::trim).unwrap_or_default();
    // The address in parentheses after a name.
    if address.is_empty() {
        if let Some(open) = name.rfind('(')
            && let Some(inner) = name[open + 1..].strip_suffix(')')
            && inner.contains('@')
            && !inner.contains(char::is_whitespace)
        {
            let rest = name[..open].trim();
            return mailbox(&Addr::new((!rest.is_empty()).then_some(rest), inner.trim()))
                .into_iter()
                .collect();
        }
        return mailbox(addr).into_iter().collect();
    }
    // A domain cut at a comment: the name mail-parser made starts with the
    // rest of it (`.  example (comment)`).
    if let Some(rest) = name.strip_prefix('.')
        && !address.contains(char::is_whitespace)
        && address.contains('@')
    {
        let rest = rest.trim_start();
        let (label, comment) = match rest.find('(') {
            Some(at) => (rest[..at].trim(), rest[at..].trim()),
            None => (rest.trim(), ""),
        };
        if !label.is_empty() && !label.contains(char::is_whitespace) {
            let comment = comment.trim_start_matches('(').trim_end_matches(')').trim();
            let full = format!("{address}.{label}");
            return mailbox(&Addr::new(
                (!comment.is_empty()).then_some(comment),
                full.as_str(),
            ))
            .into_iter()
            .collect();
        }
    }
    if !address.contains(char::is_whitespace) {
        return mailbox(addr).into_iter().collect();
    }
    let joined = without_blanks_around_dots(address);
    let mut out = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    if !name.is_empty() {
        words.push(name);
    }
    for word in joined.split_whitespace() {
        let word = word.trim_matches(|c| matches!(c, '<' | '>' | ',' | ';'));
        if word.contains('@') {
            let display = words.join(" ");
            out.extend(mailbox(&Addr::new(
                (!display.is_empty()).then_some(display.as_str()),
                word,
            )));
            words.clear();
        } else if !word.is_empty() {
            words.push(word);
        }
    }
    if out.is_empty() {
        return mailbox(addr).into_iter().collect();
    }
    out
}

/// `text` without the blanks before or after a dot: in an address they are
/// folding inside a domain (`machine.  example`), not separators.
fn without_blanks_around_dots(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blanks = String::new();
    for c in text.chars() {
        if c.is_whitespace() {
            blanks.push(c);
            continue;
        }
        if !(c == '.' || out.ends_with('.')) {
            out.push_str(&blanks);
        }
        blanks.clear();
        out.push(c);
    }
    out
}

fn mailbox(addr: &Addr<'_>) -> Option<Mailbox> {
    let address: String = addr
        .address
        .as_deref()?
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let address = address.as_str();
    if address.is_empty() {
        return None;
    }
    let name = addr
        .name
        .as_deref()
        .map(|n| collapse_spaces(n.trim_matches(|c: char| c == '"' || c.is_whitespace())))
        .filter(|n| !n.is_empty() && n != address);
    Some(Mailbox {
        name,
        address: address.to_owned(),
    })
}

fn first_address<'h>(headers: &'h [Header<'_>], name: &HeaderName<'_>) -> Option<&'h str> {
    headers
        .iter()
        .find(|h| &h.name == name)
        .and_then(|h| h.value.as_address())
        .and_then(|a| a.first())
        .and_then(|a| a.address.as_deref())
}

/// A text header's value with folding whitespace collapsed.
fn text_header(headers: &[Header<'_>], name: &HeaderName<'_>) -> Option<String> {
    headers
        .iter()
        .find(|h| &h.name == name)
        .map(|h| h.value.as_text().map(collapse_spaces).unwrap_or_default())
}

/// `text` on one line: control characters (a NUL, a bell an encoded word
/// smuggled in) dropped, runs of whitespace (line breaks included) made one
/// space, trimmed.
fn collapse_spaces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let kept: Cow<'_, str> = if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        Cow::Owned(
            text.chars()
                .filter(|c| !c.is_control() || c.is_whitespace())
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    };
    for word in kept.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A message id or address without angle brackets and whitespace.
fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_owned()
}

/// The idempotency key of a message without a Message-ID: `sha256:` and
/// the hex digest of its bytes as received.
pub fn content_key(raw: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(raw)))
}

/// `raw[start..end]`, empty when the offsets are out of range.
fn slice(raw: &[u8], start: u32, end: u32) -> &[u8] {
    raw.get(start as usize..end as usize).unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

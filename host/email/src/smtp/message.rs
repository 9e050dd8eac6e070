//! An outgoing message and its RFC 5322 / MIME bytes, built with lettre's
//! message builder.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use dossier_sdk::model::Mailbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox as LettreMailbox, MultiPart, SinglePart};

use dossier_types::Error;
use dossier_types::address;

/// Headers the builder writes itself, which [`OutgoingEmail::headers`] may
/// not set (lower case).
const RESERVED_HEADERS: [&str; 14] = [
    "from",
    "sender",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// One message to send. The host fills it from a draft or a notification;
/// [`super::send`] builds its bytes and delivers it.
///
/// The MIME structure follows from what is set:
///
/// - text only: one `text/plain` part;
/// - with [`html`](Self::html): `multipart/alternative` of the text and
///   the HTML, the HTML inside `multipart/related` with the
///   [`inline`](Self::inline) images when there are any;
/// - with [`attachments`](Self::attachments): all of the above inside
///   `multipart/mixed`, followed by one part per attachment.
///
/// Bcc recipients receive the message but are not named in its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// The sender: the `From` header and the envelope's `MAIL FROM`.
    pub from: Mailbox,
    /// Recipients named in `To`.
    pub to: Vec<Mailbox>,
    /// Recipients named in `Cc`.
    pub cc: Vec<Mailbox>,
    /// Recipients who receive the message without being named in it.
    pub bcc: Vec<Mailbox>,
    /// Where answers should go, when not to [`from`](Self::from).
    pub reply_to: Option<Mailbox>,
    /// The subject (encoded-word when not ASCII).
    pub subject: String,
    /// The plain-text body; always sent.
    pub text: String,
    /// An HTML body, sent as the alternative to [`text`](Self::text).
    pub html: Option<String>,
    /// Files attached to the message.
    pub attachments: Vec<OutgoingAttachment>,
    /// Images the HTML shows through `cid:` URLs; they need [`html`](Self::html).
    pub inline: Vec<InlineImage>,
    /// The Message-ID the host generated and stored, without angle
    /// brackets (`4f1c…@dossier.example`). A retry sends the same one.
    pub message_id: String,
    /// The Message-ID this message answers, without angle brackets.
    pub in_reply_to: Option<String>,
    /// The thread's Message-IDs, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// The `Date` header: when the host composed the message, from its clock.
    pub date: DateTime<Utc>,
    /// More headers, in order, such as `X-Dossier-Thread` or
    /// `Auto-Submitted: auto-replied`. Names are ASCII without spaces or
    /// colons, and may not be one the builder writes (`From`, `Subject`,
    /// `Content-Type`, …); values are encoded when not ASCII. A name given
    /// twice keeps the last value.
    pub headers: Vec<(String, String)>,
}

/// A file attached to an [`OutgoingEmail`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingAttachment {
    /// The file name the recipient sees.
    pub name: String,
    /// Its MIME type (`application/pdf`).
    pub content_type: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// An image the HTML body refers to as `cid:<content_id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineImage {
    /// The Content-ID, without angle brackets (`logo`, `logo@dossier`).
    pub content_id: String,
    /// Its MIME type (`image/png`).
    pub content_type: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

fn invalid(what: impl Into<String>, message: impl Into<String>) -> Error {
    Error::InvalidInput {
        what: what.into(),
        message: message.into(),
    }
}

/// Refuses text that would end a header line early (header injection).
fn one_line(what: &str, value: &str) -> Result<(), Error> {
    if value.contains(['\r', '\n']) {
        Err(invalid(what, "has a line break"))
    } else {
        Ok(())
    }
}

/// A checked address as lettre's type.
pub fn lettre_address(what: &str, raw: &str) -> Result<lettre::Address, Error> {
    let checked = address::check(what, raw)?;
    checked.parse().map_err(|e| {
        invalid(
            what,
            format!("has `{checked}`, which cannot be sent to ({e})"),
        )
    })
}

fn lettre_mailbox(what: &str, mailbox: &Mailbox) -> Result<LettreMailbox, Error> {
    let email = lettre_address(what, &mailbox.address)?;
    if let Some(name) = &mailbox.name {
        one_line(what, name)?;
    }
    Ok(LettreMailbox::new(mailbox.name.clone(), email))
}

/// Whether `id` can go between angle brackets in a header: ASCII without
/// blanks, controls or brackets, with exactly one `@` between non-empty
/// halves when `need_at` (a Message-ID), at most one otherwise (a
/// Content-ID such as `logo`).
fn id_ok(id: &str, need_at: bool) -> bool {
    let clean = !id.is_empty()
        && id.is_ascii()
        && !id.contains(|c: char| {
            c.is_ascii_whitespace() || c.is_ascii_control() || "<>".contains(c)
        });
    let halves = match id.split_once('@') {
        Some((left, right)) => !left.is_empty() && !right.is_empty() && !right.contains('@'),
        None => !need_at,
    };
    clean && halves
}

/// A Message-ID in angle brackets, for a header.
fn bracketed_id(what: &str, id: &str) -> Result<String, Error> {
    if id_ok(id, true) {
        Ok(format!("<{id}>"))
    } else {
        Err(invalid(
            what,
            format!("has `{id}`, which is not a message id (`left@right`, without angle brackets)"),
        ))
    }
}

fn content_type(what: &str, raw: &str) -> Result<ContentType, Error> {
    ContentType::parse(raw)
        .map_err(|_| invalid(what, format!("has `{raw}`, which is not a MIME type")))
}

impl OutgoingEmail {
    /// Every envelope recipient (To, Cc, then Bcc), each address once,
    /// checked.
    pub fn recipients(&self) -> Result<Vec<lettre::Address>, Error> {
        let mut out: Vec<lettre::Address> = Vec::new();
        let lists = [("to", &self.to), ("cc", &self.cc), ("bcc", &self.bcc)];
        for (field, list) in lists {
            for (i, mailbox) in list.iter().enumerate() {
                let a = lettre_address(&format!("{field}[{i}]"), &mailbox.address)?;
                if !out
                    .iter()
                    .any(|b| AsRef::<str>::as_ref(b).eq_ignore_ascii_case(a.as_ref()))
                {
                    out.push(a);
                }
            }
        }
        if out.is_empty() {
            return Err(invalid(
                "to",
                "names no recipient (To, Cc and Bcc are empty)",
            ));
        }
        Ok(out)
    }

    /// The message as it goes over the wire after `DATA`: headers and MIME
    /// body, CRLF line ends, before dot-stuffing. Checks every field first;
    /// a field that cannot be sent is an [`Error::InvalidInput`] naming it
    /// (`from`, `to[1]`, `subject`, `headers[0]`, `attachments[0].content_type`, counting from 0).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        self.recipients()?;
        let mut builder = lettre::Message::builder()
            .from(lettre_mailbox("from", &self.from)?)
            .date(SystemTime::from(self.date))
            .message_id(Some(bracketed_id("message_id", &self.message_id)?));
        one_line("subject", &self.subject)?;
        builder = builder.subject(self.subject.clone());
        let lists = [("to", &self.to), ("cc", &self.cc), ("bcc", &self.bcc)];
        for (field, list) in lists {
            for (i, mailbox) in list.iter().enumerate() {
                let m = lettre_mailbox(&format!("{field}[{i}]"), mailbox)?;
                builder = match field {
                    "to" => builder.to(m),
                    "cc" => builder.cc(m),
                    _ => builder.bcc(m),
                };
            }
        }
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(lettre_mailbox("reply_to", reply_to)?);
        }
        if let Some(id) = &self.in_reply_to {
            builder = builder.in_reply_to(bracketed_id("in_reply_to", id)?);
        }
        if !self.references.is_empty() {
            let ids = self
                .references
                .iter()
                .enumerate()
                .map(|(i, id)| bracketed_id(&format!("references[{i}]"), id))
                .collect::<Result<Vec<_>, _>>()?;
            builder = builder.references(ids.join(" "));
        }
        for (i, (name, value)) in self.headers.iter().enumerate() {
            let what = format!("headers[{i}]");
            if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(invalid(
                    what,
                    format!("sets `{name}`, which the message builder writes itself"),
                ));
            }
            let header = HeaderName::new_from_ascii(name.clone()).map_err(|_| {
                invalid(
                    &what,
                    format!("has the name `{name}`, which is not a header name"),
                )
            })?;
            one_line(&what, value)?;
            builder = builder.raw_header(HeaderValue::new(header, value.clone()));
        }
        let message = builder
            .multipart_or_single(self.body()?)
            .map_err(|e| invalid("message", format!("cannot be built: {e}")))?;
        Ok(message.formatted())
    }

    /// The MIME body described on [`OutgoingEmail`].
    fn body(&self) -> Result<Body, Error> {
        // lettre ends every part with CRLF: inside a multipart that CRLF
        // belongs to the boundary, but a message that is one text part gets
        // it as an extra line unless the text's own last newline goes.
        let alone = self.html.is_none() && self.attachments.is_empty();
        let text = match (alone, self.text.strip_suffix('\n')) {
            (true, Some(shorter)) => shorter.strip_suffix('\r').unwrap_or(shorter),
            _ => self.text.as_str(),
        };
        let text = SinglePart::plain(text.to_owned());
        let main = match &self.html {
            None if !self.inline.is_empty() => {
                return Err(invalid(
                    "inline",
                    "holds images but the message has no HTML body to show them",
                ));
            }
            None => Body::Single(text),
            Some(html) => {
                let html = SinglePart::html(html.clone());
                let shown = if self.inline.is_empty() {
                    Body::Single(html)
                } else {
                    let mut related = MultiPart::related().singlepart(html);
                    for (i, image) in self.inline.iter().enumerate() {
                        let what = format!("inline[{i}]");
                        if !id_ok(&image.content_id, false) {
                            return Err(invalid(
                                format!("{what}.content_id"),
                                format!(
                                    "has `{}`, which is not a Content-ID (ASCII without blanks or angle brackets)",
                                    image.content_id
                                ),
                            ));
                        }
                        // lettre writes the Content-ID header in brackets itself.
                        let id = image.content_id.clone();
                        let kind =
                            content_type(&format!("{what}.content_type"), &image.content_type)?;
                        related = related
                            .singlepart(Attachment::new_inline(id).body(image.bytes.clone(), kind));
                    }
                    Body::Multi(related)
                };
                Body::Multi(match shown {
                    Body::Single(html) => {
                        MultiPart::alternative().singlepart(text).singlepart(html)
                    }
                    Body::Multi(related) => {
                        MultiPart::alternative().singlepart(text).multipart(related)
                    }
                })
            }
        };
        if self.attachments.is_empty() {
            return Ok(main);
        }
        let mut mixed = match main {
            Body::Single(part) => MultiPart::mixed().singlepart(part),
            Body::Multi(part) => MultiPart::mixed().multipart(part),
        };
        for (i, file) in self.attachments.iter().enumerate() {
            let what = format!("attachments[{i}]");
            if file.name.trim().is_empty() {
                return Err(invalid(format!("{what}.name"), "is empty"));
            }
            one_line(&format!("{what}.name"), &file.name)?;
            let kind = content_type(&format!("{what}.content_type"), &file.content_type)?;
            mixed =
                mixed.singlepart(Attachment::new(file.name.clone()).body(file.bytes.clone(), kind));
        }
        Ok(Body::Multi(mixed))
    }
}

/// A message body: one part or a multipart tree.
enum Body {
    Single(SinglePart),
    Multi(MultiPart),
}

/// Finishing a lettre builder with either kind of body.
trait MultipartOrSingle {
    fn multipart_or_single(self, body: Body) -> Result<lettre::Message, lettre::error::Error>;
}

impl MultipartOrSingle for lettre::message::MessageBuilder {
    fn multipart_or_single(self, body: Body) -> Result<lettre::Message, lettre::error::Error> {
        match body {
            Body::Single(part) => self.singlepart(part),
            Body::Multi(part) => self.multipart(part),
        }
    }
}

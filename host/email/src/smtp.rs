//! Sending mail over SMTP: the transport the outbox calls after a commit.
//!
//! [`send`] connects to the server of [`SmtpSettings`] (plain, STARTTLS or
//! implicit TLS with rustls; AUTH PLAIN or LOGIN once encrypted; one
//! timeout for the connection and every command), builds the
//! [`OutgoingEmail`] with lettre's message builder, and runs one SMTP
//! transaction with lettre's connection API (`SmtpConnection`): `MAIL
//! FROM`, one `RCPT TO` per distinct recipient, `DATA`.
//!
//! # Delivery semantics
//!
//! - **Per recipient.** A recipient the server refuses at `RCPT TO` is
//!   reported in [`Delivery::refused`] with the server's reply, and the
//!   transaction goes on: the message goes to the recipients the server
//!   accepted. (lettre's `SmtpTransport::send` would abandon the whole
//!   message at the first refusal, which is why this module speaks the
//!   transaction itself.) A refused recipient gets nothing; whether to try
//!   them again later (a `4xx` refusal) is the caller's decision, with the
//!   same Message-ID. When every recipient is refused, nothing is sent and
//!   [`send`] fails with the refusals.
//! - **Nothing sent** ([`Failure::Transient`], [`Failure::Permanent`]): the
//!   attempt stopped before the server took the message, so it was
//!   delivered to no one and may be sent again. A `4xx` reply, a refused or
//!   dropped connection, a TLS or AUTH failure, a missing password: try
//!   later. A `5xx` reply to `MAIL FROM`, to `DATA` or to the message
//!   itself, or a message that cannot be built: the same message would be
//!   refused again.
//! - **Outcome unknown** ([`Failure::Unknown`]): the connection failed (lost,
//!   timed out, or an unreadable reply) after the message was handed over
//!   following `DATA`, before the server's reply to the final dot arrived.
//!   The server may have queued it. A caller that retries then delivers
//!   **at least once**: a recipient may receive the message twice, with the
//!   same Message-ID, which lets mail clients show it once.
//! - Once the server has answered the final dot with `2xx`, [`send`]
//!   returns [`Delivery`] whatever happens to the `QUIT` after it: an
//!   accepted message is never reported as failed.
//!
//! With `transport = "file"` nothing connects: [`file::write`] puts the
//! same bytes into a folder, one `.eml` file per message.
//!
//! The host sends only after the write that queued the message committed
//! (the outbox), so a rolled-back write never sends and a crash between
//! commit and send leaves the message queued, to be sent on the next pass.

pub mod file;
mod message;

use std::fmt;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use dossier_types::Error;

pub use message::{InlineImage, OutgoingAttachment, OutgoingEmail};

pub use dossier_core::config::{Security, SmtpSettings, Transport};

/// The certificates of `settings`' `ca_file`, or why they cannot be used.
fn extra_roots(settings: &SmtpSettings) -> Result<Option<Certificate>, String> {
    let Some(pem) = settings.ca_pem()? else {
        return Ok(None);
    };
    let path = settings
        .ca_file
        .as_deref()
        .unwrap_or(std::path::Path::new(""));
    Certificate::from_pem(&pem)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Checks what [`SmtpSettings::check`] checks, and that `ca_file`'s
/// certificates parse: what sending needs before it connects.
pub fn check_settings(settings: &SmtpSettings) -> Result<(), Error> {
    settings.check()?;
    extra_roots(settings).map_err(|why| Error::Config(format!("[email.smtp] ca_file {why}")))?;
    Ok(())
}

fn tls_parameters(settings: &SmtpSettings) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(roots) = extra_roots(settings)? {
        builder = builder.add_root_certificate(roots);
    }
    builder.build_rustls().map_err(|e| e.to_string())
}

fn client_id(settings: &SmtpSettings) -> Result<ClientId, String> {
    match &settings.hello_name {
        Some(name) => hello_name(name),
        None => Ok(ClientId::default()),
    }
}

fn credentials(settings: &SmtpSettings) -> Result<Option<Credentials>, String> {
    let (Some(user), Some(var)) = (&settings.user, &settings.password_env) else {
        return Ok(None);
    };
    match std::env::var(var) {
        Ok(password) => Ok(Some(Credentials::new(user.clone(), password))),
        Err(std::env::VarError::NotPresent) => Err(format!(
            "the environment variable {var} ([email.smtp] password_env) is not set"
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "the environment variable {var} ([email.smtp] password_env) is not UTF-8"
        )),
    }
}

/// An EHLO name as lettre's type, once checked.
fn hello_name(name: &str) -> Result<ClientId, String> {
    dossier_core::config::check_hello_name(name)?;
    Ok(ClientId::Domain(name.to_owned()))
}

/// A reply line from the server: its code and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code (`250`, `451`, `550`).
    pub code: u16,
    /// The text after the code, lines joined with spaces.
    pub text: String,
}

impl Reply {
    /// A `4xx` reply: the server asks to try again later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    fn from_response(response: &lettre::transport::smtp::response::Response) -> Reply {
        Reply {
            code: u16::from(response.code()),
            text: response.message().collect::<Vec<_>>().join(" "),
        }
    }

    /// The reply inside a lettre error, when the error is one.
    fn from_error(e: &lettre::transport::smtp::Error) -> Option<Reply> {
        let code = e.status()?;
        let text = std::error::Error::source(e)
            .map(ToString::to_string)
            .unwrap_or_default();
        Some(Reply {
            code: u16::from(code),
            text,
        })
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

/// A recipient the server refused at `RCPT TO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The envelope address.
    pub address: String,
    /// The server's reply (`550 5.1.1 no such user`); a `4xx` one may
    /// succeed later.
    pub reply: Reply,
}

/// A message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The envelope recipients the server accepted, who get the message.
    pub accepted: Vec<String>,
    /// The recipients it refused, who get nothing.
    pub refused: Vec<Refusal>,
    /// The server's reply to the end of the message (`250 2.0.0 queued as …`).
    pub reply: Reply,
}

/// What a failed send means for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Delivered to no one; trying again later may succeed (a `4xx` reply,
    /// no connection, a TLS or AUTH failure, a missing password).
    Transient,
    /// Delivered to no one, and the same message would be refused again (a
    /// `5xx` reply to the sender, to every recipient, to `DATA` or to the
    /// message, or a message that cannot be built).
    Permanent,
    /// The message was handed over but the server's answer never came: it
    /// may have been delivered. Retrying means at-least-once delivery.
    Unknown,
}

/// How far a send got when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Building the message or reading the settings; nothing was sent.
    Prepare,
    /// Connecting, the greeting and EHLO.
    Connect,
    /// The TLS handshake (STARTTLS or implicit).
    Tls,
    /// Authentication.
    Auth,
    /// `MAIL FROM`.
    MailFrom,
    /// `RCPT TO`.
    RcptTo,
    /// The `DATA` command.
    Data,
    /// Sending the message and waiting for the reply to its final dot.
    Message,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Prepare => "before connecting",
            Stage::Connect => "connecting",
            Stage::Tls => "during the TLS handshake",
            Stage::Auth => "at AUTH",
            Stage::MailFrom => "at MAIL FROM",
            Stage::RcptTo => "at RCPT TO",
            Stage::Data => "at DATA",
            Stage::Message => "at the end of the message",
        })
    }
}

/// A send that did not deliver the message, or may not have.
///
/// Not a host [`Error`]: the caller (the outbox) decides from
/// [`failure`](Self::failure) whether to retry, and records
/// [`to_string`](ToString::to_string) as the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// Whether trying again may help, or may send twice.
    pub failure: Failure,
    /// How far the send got.
    pub stage: Stage,
    /// The server's reply, when a reply caused the failure.
    pub reply: Option<Reply>,
    /// What went wrong, in one sentence.
    pub message: String,
    /// The recipients refused at `RCPT TO` before the failure (all of
    /// them when the failure is that none was accepted).
    pub refused: Vec<Refusal>,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = match self.failure {
            Failure::Transient => "not sent (temporary failure)",
            Failure::Permanent => "not sent (permanent failure)",
            Failure::Unknown => "perhaps sent (outcome unknown)",
        };
        write!(f, "email {class} {}: {}", self.stage, self.message)
    }
}

impl std::error::Error for SendError {}

impl SendError {
    fn new(failure: Failure, stage: Stage, message: impl Into<String>) -> SendError {
        SendError {
            failure,
            stage,
            reply: None,
            message: message.into(),
            refused: Vec::new(),
        }
    }

    /// A failure before the message was handed over: a reply decides
    /// between transient and permanent (unless `always_transient`, for
    /// replies about the session rather than the message), anything else
    /// (connection, TLS) is transient.
    fn before_data(
        stage: Stage,
        e: &lettre::transport::smtp::Error,
        always_transient: bool,
    ) -> SendError {
        let reply = Reply::from_error(e);
        let failure = match &reply {
            Some(r) if !r.is_transient() && !always_transient => Failure::Permanent,
            _ => Failure::Transient,
        };
        let message = match &reply {
            Some(r) => format!("the server replied {r}"),
            None => describe(e),
        };
        SendError {
            failure,
            stage,
            reply,
            message,
            refused: Vec::new(),
        }
    }
}

/// Whether a rustls error (a refused certificate, a failed handshake) is
/// among the causes of `e`: lettre reports a handshake that fails while
/// reading the greeting of an implicit-TLS server as a network error.
fn tls_failure(e: &lettre::transport::smtp::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return true;
        }
        source = cause.source();
    }
    false
}

/// A lettre error in one sentence, with its causes.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut out = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// What a send works from once the settings and the message are checked.
struct Prepared {
    hello: ClientId,
    /// TLS for STARTTLS, after the greeting (`security = "starttls"`).
    starttls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    sender: lettre::Address,
    recipients: Vec<lettre::Address>,
    bytes: Vec<u8>,
}

/// Sends `email` through the server of `settings`; see the module docs for
/// what success and each [`Failure`] mean.
pub fn send(settings: &SmtpSettings, email: &OutgoingEmail) -> Result<Delivery, SendError> {
    send_checked(settings, email, &mut || true)
}

/// [`send`], asking `before_data` just before DATA (once every recipient
/// was answered) whether to go on: the outbox records there that the
/// message is being sent, and stops when its lease was lost. When it says
/// no, nothing is sent and the error is transient at [`Stage::Data`].
pub fn send_checked(
    settings: &SmtpSettings,
    email: &OutgoingEmail,
    before_data: &mut dyn FnMut() -> bool,
) -> Result<Delivery, SendError> {
    let settings_problem = |e: String| SendError::new(Failure::Transient, Stage::Prepare, e);
    let message_problem =
        |e: Error| SendError::new(Failure::Permanent, Stage::Prepare, e.to_string());
    check_settings(settings).map_err(|e| settings_problem(e.to_string()))?;
    let tls = match settings.security {
        Security::None => None,
        Security::Starttls | Security::Tls => {
            Some(tls_parameters(settings).map_err(settings_problem)?)
        }
    };
    let (implicit, starttls) = match settings.security {
        Security::Tls => (tls, None),
        Security::None | Security::Starttls => (None, tls),
    };
    let prepared = Prepared {
        hello: client_id(settings).map_err(settings_problem)?,
        starttls,
        credentials: credentials(settings).map_err(settings_problem)?,
        sender: message::lettre_address("from", &email.from.address).map_err(message_problem)?,
        recipients: email.recipients().map_err(message_problem)?,
        bytes: email.to_bytes().map_err(message_problem)?,
    };

    let server = (settings.host.as_str(), settings.port());
    let timeout = Some(Duration::from_millis(settings.timeout_ms));
    let mut conn =
        SmtpConnection::connect(server, timeout, &prepared.hello, implicit.as_ref(), None)
            .map_err(|e| {
                let stage = if implicit.is_some() && (e.is_tls() || tls_failure(&e)) {
                    Stage::Tls
                } else {
                    Stage::Connect
                };
                SendError::before_data(stage, &e, true)
            })?;
    let result = transaction(&mut conn, settings, &prepared, before_data);
    match &result {
        // The message is the server's now: a failed QUIT changes nothing.
        Ok(_) => {
            let _ = conn.quit();
        }
        Err(_) => conn.abort(),
    }
    result
}

/// Everything after the greeting, on an open connection.
fn transaction(
    conn: &mut SmtpConnection,
    settings: &SmtpSettings,
    prepared: &Prepared,
    before_data: &mut dyn FnMut() -> bool,
) -> Result<Delivery, SendError> {
    let Prepared {
        hello,
        starttls,
        credentials,
        sender,
        recipients,
        bytes,
    } = prepared;
    if let Some(tls) = starttls {
        if !conn.can_starttls() {
            return Err(SendError::new(
                Failure::Transient,
                Stage::Tls,
                format!(
                    "{}:{} does not offer STARTTLS, and security = \"starttls\" never sends in clear",
                    settings.host,
                    settings.port()
                ),
            ));
        }
        conn.starttls(tls, hello)
            .map_err(|e| SendError::before_data(Stage::Tls, &e, true))?;
    }
    if let Some(credentials) = credentials {
        conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
            .map_err(|e| SendError::before_data(Stage::Auth, &e, true))?;
    }

    let mut options = Vec::new();
    let info = conn.server_info();
    let ascii = |a: &lettre::Address| AsRef::<str>::as_ref(a).is_ascii();
    let non_ascii = !ascii(sender) || !recipients.iter().all(ascii);
    if non_ascii {
        if !info.supports_feature(Extension::SmtpUtfEight) {
            return Err(SendError::new(
                Failure::Permanent,
                Stage::MailFrom,
                "an address is not ASCII and the server does not offer SMTPUTF8",
            ));
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    if !bytes.is_ascii() {
        if !info.supports_feature(Extension::EightBitMime) {
            return Err(SendError::new(
                Failure::Permanent,
                Stage::MailFrom,
                "the message is not ASCII and the server does not offer 8BITMIME",
            ));
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(Some(sender.clone()), options))
        .map_err(|e| SendError::before_data(Stage::MailFrom, &e, false))?;

    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for recipient in recipients {
        match conn.command(Rcpt::new(recipient.clone(), Vec::new())) {
            Ok(_) => accepted.push(recipient.to_string()),
            Err(e) => match Reply::from_error(&e) {
                Some(reply) => refused.push(Refusal {
                    address: recipient.to_string(),
                    reply,
                }),
                // No reply: the connection is gone, nothing was sent.
                None => return Err(SendError::before_data(Stage::RcptTo, &e, true)),
            },
        }
    }
    if accepted.is_empty() {
        let transient = refused.iter().any(|r| r.reply.is_transient());
        let _ = conn.command(Rset);
        return Err(SendError {
            failure: if transient {
                Failure::Transient
            } else {
                Failure::Permanent
            },
            stage: Stage::RcptTo,
            reply: None,
            message: format!(
                "the server refused every recipient ({})",
                refused
                    .iter()
                    .map(|r| format!("{}: {}", r.address, r.reply))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            refused,
        });
    }

    let fail = |mut e: SendError, refused: &[Refusal]| {
        e.refused = refused.to_vec();
        e
    };
    if !before_data() {
        return Err(fail(
            SendError::new(
                Failure::Transient,
                Stage::Data,
                "this process no longer holds the delivery (its lease ran out); not sending",
            ),
            &refused,
        ));
    }
    conn.command(Data)
        .map_err(|e| fail(SendError::before_data(Stage::Data, &e, false), &refused))?;
    // lettre ends the data with CRLF "." CRLF; the message's own last CRLF
    // is that first CRLF, or the server would get an extra empty line.
    let data = bytes.strip_suffix(b"\r\n").unwrap_or(bytes);
    match conn.message(data) {
        Ok(response) => Ok(Delivery {
            accepted,
            refused,
            reply: Reply::from_response(&response),
        }),
        Err(e) => Err(fail(
            match Reply::from_error(&e) {
                Some(reply) => SendError {
                    failure: if reply.is_transient() {
                        Failure::Transient
                    } else {
                        Failure::Permanent
                    },
                    stage: Stage::Message,
                    message: format!("the server refused the message: {reply}"),
                    reply: Some(reply),
                    refused: Vec::new(),
                },
                None => SendError::new(
                    Failure::Unknown,
                    Stage::Message,
                    format!(
                        "no reply to the end of the message ({}); the server may have accepted it",
                        describe(&e)
                    ),
                ),
            },
            &refused,
        )),
    }
}

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
//! The host sends only after the write that queued the message committed
//! (the outbox), so a rolled-back write never sends and a crash between
//! commit and send leaves the message queued, to be sent on the next pass.

mod message;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use serde::Deserialize;

use dossier_types::Error;

pub use message::{InlineImage, OutgoingAttachment, OutgoingEmail};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain SMTP, no TLS: only for a relay on the same host or a trusted
    /// network. AUTH is refused in this mode (the password would travel in
    /// clear). Default port 25.
    None,
    /// Plain connection upgraded with STARTTLS before anything else; a
    /// server that does not offer STARTTLS is refused, never used in
    /// clear. Default port 587 (submission).
    #[default]
    Starttls,
    /// TLS from the first byte (implicit TLS, "SMTPS"). Default port 465.
    Tls,
}

impl Security {
    /// The usual port for this mode.
    pub fn default_port(self) -> u16 {
        match self {
            Security::None => 25,
            Security::Starttls => 587,
            Security::Tls => 465,
        }
    }
}

/// The `[email.smtp]` table: where and how the host sends mail.
///
/// ```toml
/// [email.smtp]
/// host = "smtp.example.com"
/// security = "starttls"          # none | starttls | tls
/// port = 587                     # default: 25, 587 or 465 by security
/// user = "dossier@example.com"
/// password_env = "SMTP_PASSWORD" # the password is read from this variable
/// timeout_ms = 30000
/// ca_file = "/etc/dossier/relay-ca.pem"
/// hello_name = "crm.example.com"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// The server's host name or IP address; TLS checks its certificate
    /// against this name.
    pub host: String,
    /// Its port; by default the usual one for [`security`](Self::security).
    #[serde(default)]
    pub port: Option<u16>,
    /// `none`, `starttls` (the default) or `tls`.
    #[serde(default)]
    pub security: Security,
    /// The AUTH user name; no AUTH without it. Needs [`password_env`](Self::password_env)
    /// and a `security` other than `none`.
    #[serde(default)]
    pub user: Option<String>,
    /// The name of the environment variable holding the AUTH password, so
    /// that the secret stays out of `dossier.toml`. Read at each send: a
    /// variable that is unset then fails that send (as transient).
    #[serde(default)]
    pub password_env: Option<String>,
    /// Limit, in milliseconds, on connecting and on each command's reply
    /// (1 to 600000; default 30000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// A PEM file of certificates to trust besides the Mozilla roots: the
    /// CA of a private relay, or of a test server.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The name given in EHLO; by default the machine's host name.
    #[serde(default)]
    pub hello_name: Option<String>,
}

fn default_timeout_ms() -> u64 {
    30_000
}

impl SmtpSettings {
    /// Settings for `host` with every default: STARTTLS on port 587, no
    /// AUTH, a 30 s timeout.
    pub fn new(host: impl Into<String>) -> SmtpSettings {
        SmtpSettings {
            host: host.into(),
            port: None,
            security: Security::default(),
            user: None,
            password_env: None,
            timeout_ms: default_timeout_ms(),
            ca_file: None,
            hello_name: None,
        }
    }

    /// The port connected to.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(self.security.default_port())
    }

    /// Checks what can be checked without connecting: a host, a timeout in
    /// range, `user` and `password_env` together and never over `none`, a
    /// readable `ca_file` holding certificates, a usable `hello_name`. An
    /// [`Error::Config`] naming the key. The password variable itself is
    /// read only when sending (the process that sends may be the only one
    /// given the secret).
    pub fn check(&self) -> Result<(), Error> {
        let bad = |key: &str, why: String| Error::Config(format!("[email.smtp] {key} {why}"));
        if self.host.trim().is_empty() {
            return Err(bad("host", "is empty".into()));
        }
        if !(1..=600_000).contains(&self.timeout_ms) {
            return Err(bad(
                "timeout_ms",
                format!("must be between 1 and 600000 (is {})", self.timeout_ms),
            ));
        }
        if self.port == Some(0) {
            return Err(bad("port", "must not be 0".into()));
        }
        match (&self.user, &self.password_env) {
            (Some(_), None) => {
                return Err(bad("user", "is set without password_env".into()));
            }
            (None, Some(_)) => {
                return Err(bad("password_env", "is set without user".into()));
            }
            (Some(_), Some(_)) if self.security == Security::None => {
                return Err(bad(
                    "user",
                    "needs security = \"starttls\" or \"tls\": AUTH over a plain connection would send the password in clear".into(),
                ));
            }
            _ => {}
        }
        if let Some(name) = &self.hello_name {
            hello_name(name).map_err(|why| bad("hello_name", why))?;
        }
        if self.ca_file.is_some() {
            self.extra_roots().map_err(|why| bad("ca_file", why))?;
        }
        Ok(())
    }

    /// The certificates of `ca_file`, or why they cannot be used.
    fn extra_roots(&self) -> Result<Option<Certificate>, String> {
        let Some(path) = &self.ca_file else {
            return Ok(None);
        };
        let pem =
            std::fs::read(path).map_err(|e| format!("{}: cannot be read ({e})", path.display()))?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(format!("{}: holds no PEM certificate", path.display()));
        }
        Certificate::from_pem(&pem)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    fn tls_parameters(&self) -> Result<TlsParameters, String> {
        let mut builder = TlsParameters::builder(self.host.clone());
        if let Some(roots) = self.extra_roots()? {
            builder = builder.add_root_certificate(roots);
        }
        builder.build_rustls().map_err(|e| e.to_string())
    }

    fn client_id(&self) -> Result<ClientId, String> {
        match &self.hello_name {
            Some(name) => hello_name(name),
            None => Ok(ClientId::default()),
        }
    }

    fn credentials(&self) -> Result<Option<Credentials>, String> {
        let (Some(user), Some(var)) = (&self.user, &self.password_env) else {
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
}

/// An EHLO name: a domain of letters, digits, dots and dashes, or an
/// address literal in brackets.
fn hello_name(name: &str) -> Result<ClientId, String> {
    let literal = name.starts_with('[') && name.ends_with(']');
    let well_formed = !name.is_empty()
        && name.len() <= 255
        && (literal
            || name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
    if well_formed {
        Ok(ClientId::Domain(name.to_owned()))
    } else {
        Err(format!(
            "has `{name}`, which is not a host name (letters, digits, dots and dashes)"
        ))
    }
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
    let settings_problem = |e: String| SendError::new(Failure::Transient, Stage::Prepare, e);
    let message_problem =
        |e: Error| SendError::new(Failure::Permanent, Stage::Prepare, e.to_string());
    settings
        .check()
        .map_err(|e| settings_problem(e.to_string()))?;
    let tls = match settings.security {
        Security::None => None,
        Security::Starttls | Security::Tls => {
            Some(settings.tls_parameters().map_err(settings_problem)?)
        }
    };
    let (implicit, starttls) = match settings.security {
        Security::Tls => (tls, None),
        Security::None | Security::Starttls => (None, tls),
    };
    let prepared = Prepared {
        hello: settings.client_id().map_err(settings_problem)?,
        starttls,
        credentials: settings.credentials().map_err(settings_problem)?,
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
    let result = transaction(&mut conn, settings, &prepared);
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

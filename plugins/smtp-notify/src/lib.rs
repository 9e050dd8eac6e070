//! The `smtp-notify` plugin: sends `notification` events as emails through an
//! SMTP server, with lettre.
//!
//! The message has the notification's From, To and Cc headers, its subject,
//! and its body followed by the signature (after the usual `-- ` line).
//! Bcc recipients receive it but are not named in the headers. With an HTML
//! body the message is `multipart/alternative`. A notification waiting for
//! QA review (`review = true`) is not sent: the reviewer's approval sends it.
//!
//! Config (`[plugins.config]` of its `[[plugins]]` entry):
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `host` | string | `"127.0.0.1"` | the SMTP server |
//! | `port` | integer | `25` | its port |
//! | `hello_name` | string | `"localhost"` | the name given in EHLO |
//! | `timeout_ms` | integer | `10000` | limit on each SMTP command |
//! | `default_from` | string | none | sender when a notification has no From address |
//!
//! The connection is plain SMTP, without TLS or authentication: point it at
//! a local relay (an MTA on the same host or network) that delivers onward.
//!
//! Sending happens inside the transaction of the write that raised the
//! notification, so put this plugin last in the config: a later veto cannot
//! recall a sent email.

use std::time::Duration;

use dossier_sdk::Mailbox;
use dossier_sdk::prelude::*;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox as LettreMailbox, MultiPart};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport};
use serde::Deserialize;

/// The plugin instance: a transport to the configured server.
struct SmtpNotify {
    transport: SmtpTransport,
    server: String,
    default_from: Option<Mailbox>,
    host: HostApi,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_host")]
    host: String,
    #[serde(default = "default_port")]
    port: u16,
    #[serde(default = "default_hello")]
    hello_name: String,
    #[serde(default = "default_timeout")]
    timeout_ms: u64,
    #[serde(default)]
    default_from: Option<String>,
}

fn default_host() -> String {
    "127.0.0.1".into()
}
fn default_port() -> u16 {
    25
}
fn default_hello() -> String {
    "localhost".into()
}
fn default_timeout() -> u64 {
    10_000
}

fn mailbox(what: &str, m: &Mailbox) -> Result<LettreMailbox> {
    let address = m
        .address
        .parse()
        .map_err(|e| Error::failed(format!("{what} address `{}` is invalid: {e}", m.address)))?;
    Ok(LettreMailbox::new(m.name.clone(), address))
}

impl SmtpNotify {
    fn message(&self, n: &Notification) -> Result<Message> {
        let from = match (&n.from, &self.default_from) {
            (from, Some(default)) if from.address.is_empty() => default,
            (from, _) => from,
        };
        let mut builder = Message::builder()
            .from(mailbox("From", from)?)
            .subject(n.subject.clone());
        for to in &n.to {
            builder = builder.to(mailbox("To", to)?);
        }
        for cc in &n.cc {
            builder = builder.cc(mailbox("Cc", cc)?);
        }
        for bcc in &n.bcc {
            builder = builder.bcc(mailbox("Bcc", bcc)?);
        }
        let text = match &n.signature {
            Some(signature) => format!("{}\n-- \n{signature}", n.body),
            None => n.body.clone(),
        };
        let built = match &n.html {
            Some(html) => {
                let html = match &n.signature {
                    Some(signature) => format!("{html}<p>-- <br>{}</p>", escape(signature)),
                    None => html.clone(),
                };
                builder.multipart(MultiPart::alternative_plain_html(text, html))
            }
            None => builder.header(ContentType::TEXT_PLAIN).body(text),
        };
        built.map_err(|e| Error::failed(format!("cannot build the email: {e}")))
    }
}

/// Escapes text for inclusion in HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

impl Plugin for SmtpNotify {
    const EVENTS: &'static [EventKind] = &[EventKind::Notification];
    // The transport opens one connection per message and shares nothing.
    const THREAD_SAFE: bool = true;

    fn new(config: dossier_sdk::serde_json::Value, host: HostApi) -> Result<Self> {
        let config: Config = dossier_sdk::serde_json::from_value(config).map_err(Error::config)?;
        let default_from = match config.default_from {
            Some(address) => {
                let m = Mailbox {
                    name: None,
                    address,
                };
                mailbox("default_from", &m).map_err(Error::config)?;
                Some(m)
            }
            None => None,
        };
        let transport = SmtpTransport::builder_dangerous(config.host.as_str())
            .port(config.port)
            .hello_name(ClientId::Domain(config.hello_name))
            .timeout(Some(Duration::from_millis(config.timeout_ms)))
            .build();
        Ok(SmtpNotify {
            transport,
            server: format!("{}:{}", config.host, config.port),
            default_from,
            host,
        })
    }

    fn notification(&self, notification: &mut Notification) -> Result<Outcome> {
        if notification.review {
            self.host.info(&format!(
                "not sending `{}`: it waits for QA review",
                notification.subject
            ));
            return Ok(Outcome::Continue);
        }
        if notification.to.is_empty() && notification.cc.is_empty() && notification.bcc.is_empty() {
            return Ok(Outcome::Veto("the notification has no recipient".into()));
        }
        let message = self.message(notification)?;
        let response = self.transport.send(&message).map_err(|e| {
            Error::failed(format!(
                "SMTP server {} refused or failed: {e}",
                self.server
            ))
        })?;
        self.host.info(&format!(
            "sent `{}` through {} ({})",
            notification.subject,
            self.server,
            response.code()
        ));
        Ok(Outcome::Continue)
    }
}

declare_plugin!(SmtpNotify, name = "smtp-notify");

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin() -> SmtpNotify {
        let config = dossier_sdk::serde_json::json!({ "port": 2525 });
        SmtpNotify::new(config, HostApi::detached()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn notification() -> Notification {
        Notification {
            case_number: None,
            audience: Default::default(),
            cause: Default::default(),
            from: Mailbox {
                name: Some("Support".into()),
                address: "support@example.com".into(),
            },
            to: vec![Mailbox {
                name: None,
                address: "ann@example.org".into(),
            }],
            cc: vec![],
            bcc: vec![],
            message_id: None,
            in_reply_to: None,
            references: Vec::new(),
            thread_token: None,
            attachments: Vec::new(),
            subject: "Hello".into(),
            body: "Body".into(),
            html: None,
            signature: Some("The team".into()),
            review: false,
        }
    }

    #[test]
    fn bad_addresses_and_config_are_reported() {
        let mut n = notification();
        n.to[0].address = "not an address".into();
        let err = plugin().message(&n).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("To address `not an address`")),
            "{err:?}"
        );
        let bad = dossier_sdk::serde_json::json!({ "prot": 25 });
        let err = SmtpNotify::new(bad, HostApi::detached()).err();
        assert!(matches!(err, Some(Error::Config(m)) if m.contains("prot")));
    }

    #[test]
    fn reviewed_and_recipientless_notifications_are_not_sent() {
        // Nothing listens on the configured port: sending would fail.
        let p = plugin();
        let mut n = notification();
        n.review = true;
        assert_eq!(p.notification(&mut n).ok(), Some(Outcome::Continue));
        let mut n = notification();
        n.to.clear();
        assert!(matches!(p.notification(&mut n), Ok(Outcome::Veto(_))));
    }
}

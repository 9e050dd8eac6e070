//! The `webhook` plugin: POSTs chosen events as JSON to a URL, signed with
//! HMAC-SHA256, retrying with backoff within a time budget.
//!
//! Each delivery is one `POST` whose body is the event as JSON (the same
//! document the plugin receives: `{"event": "after_save", "data": {...}}`),
//! with these headers:
//!
//! | header | value |
//! |---|---|
//! | `Content-Type` | `application/json` |
//! | `X-Dossier-Event` | the event kind, e.g. `after_save` |
//! | `X-Dossier-Delivery` | a hex id derived from the body: equal for retries of one event, so the receiver can drop duplicates |
//! | `X-Dossier-Signature` | `sha256=` and the hex HMAC-SHA256 of the body under `secret` |
//!
//! A `2xx` answer is success. Connection failures, timeouts, `408`, `429`
//! and `5xx` are retried after 100 ms, 200 ms, 400 ms... up to `retries`
//! times; other statuses fail at once. All attempts together never take
//! longer than `timeout_ms`, so a webhook on a guarding event never holds the
//! write it guards for longer than that. When every attempt failed the
//! handler returns an error: for guarding events the host rolls the write
//! back, for `after_save` it logs the failure.
//!
//! Config (`[plugins.config]` of its `[[plugins]]` entry):
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `url` | string | required | where to POST: `https://` (TLS through rustls, checked against the Mozilla roots or `ca_file`) or `http://` |
//! | `ca_file` | string | none | a PEM file of CA certificates to trust for `https://` instead of the built-in Mozilla roots (for a private CA); an absolute path, or relative to the directory `dossier` runs in |
//! | `secret` | string | required | the HMAC key shared with the receiver |
//! | `events` | array of event names | `["after_save"]` | which events to send |
//! | `timeout_ms` | integer | `5000` | budget for one event, all attempts included |
//! | `retries` | integer | `3` | attempts after the first |
//! | `objects` | array of object kinds | every kind | for save events: which records (`"case"`, `"customer"`, ...) |
//! | `when` | array of conditions | none | fields the event must match, all of them (see [`filter`]) |
//!
//! A condition is `{ field = "status", equals = "closed" }`, `{ field =
//! "custom.tier", one_of = ["gold", "silver"] }` or `{ field = "status",
//! changed = true }` (after-save only: the write changed the field), or a
//! mix: `{ field = "status", changed = true, equals = "closed" }` sends only
//! the saves that closed a case. An event that does not pass is not sent
//! (and the handler lets it continue).

mod filter;

use std::time::{Duration, Instant};

use dossier_sdk::prelude::*;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The first pause between attempts; doubled after each retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The plugin instance.
struct Webhook {
    url: String,
    secret: Vec<u8>,
    events: Vec<EventKind>,
    filter: filter::Filter,
    timeout: Duration,
    retries: u32,
    agent: ureq::Agent,
    host: HostApi,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    url: String,
    secret: String,
    #[serde(default = "default_events")]
    events: Vec<EventKind>,
    #[serde(default = "default_timeout")]
    timeout_ms: u64,
    #[serde(default = "default_retries")]
    retries: u32,
    #[serde(default)]
    objects: Vec<dossier_sdk::ObjectKind>,
    #[serde(default)]
    when: Vec<filter::Condition>,
    #[serde(default)]
    ca_file: Option<String>,
}

fn default_events() -> Vec<EventKind> {
    vec![EventKind::AfterSave]
}
fn default_timeout() -> u64 {
    5_000
}
fn default_retries() -> u32 {
    3
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The `X-Dossier-Signature` value for `body` under `secret`.
fn signature(secret: &[u8], body: &[u8]) -> Result<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|e| Error::config(format!("unusable secret: {e}")))?;
    mac.update(body);
    Ok(format!("sha256={}", hex(&mac.finalize().into_bytes())))
}

/// TLS for `https://` URLs: rustls, trusting the Mozilla roots, or only
/// the CA certificates in the PEM file `ca_file`.
fn tls(ca_file: Option<&str>) -> Result<ureq::tls::TlsConfig> {
    let builder = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::Rustls);
    let Some(path) = ca_file else {
        return Ok(builder.root_certs(ureq::tls::RootCerts::WebPki).build());
    };
    let pem = std::fs::read(path)
        .map_err(|e| Error::config(format!("ca_file `{path}` cannot be read: {e}")))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => {
                return Err(Error::config(format!(
                    "ca_file `{path}` is not valid PEM: {e}"
                )));
            }
        }
    }
    if certs.is_empty() {
        return Err(Error::config(format!(
            "ca_file `{path}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(builder
        .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
        .build())
}

/// Why one attempt failed, and whether another may succeed.
struct Failure {
    message: String,
    retry: bool,
}

impl Webhook {
    fn attempt(
        &self,
        kind: EventKind,
        body: &[u8],
        signature: &str,
        delivery: &str,
        limit: Duration,
    ) -> std::result::Result<(), Failure> {
        let response = self
            .agent
            .post(&self.url)
            .config()
            .timeout_global(Some(limit))
            .build()
            .header("Content-Type", "application/json")
            .header("X-Dossier-Event", kind.as_str())
            .header("X-Dossier-Delivery", delivery)
            .header("X-Dossier-Signature", signature)
            .send(body)
            .map_err(|e| Failure {
                message: e.to_string(),
                retry: true,
            })?;
        let status = response.status().as_u16();
        match status {
            200..=299 => Ok(()),
            408 | 429 | 500..=599 => Err(Failure {
                message: format!("HTTP status {status}"),
                retry: true,
            }),
            _ => Err(Failure {
                message: format!("HTTP status {status}"),
                retry: false,
            }),
        }
    }

    fn deliver(&self, event: Event) -> Result<Outcome> {
        if !self.filter.passes(&event) {
            return Ok(Outcome::Continue);
        }
        let kind = event.kind();
        let body = dossier_sdk::serde_json::to_vec(&event)
            .map_err(|e| Error::failed(format!("cannot encode the event: {e}")))?;
        let signature = signature(&self.secret, &body)?;
        let delivery = hex(&Sha256::digest(&body)[..16]);
        let deadline = Instant::now() + self.timeout;
        let mut backoff = FIRST_BACKOFF;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            let failure = match self.attempt(kind, &body, &signature, &delivery, left) {
                Ok(()) => return Ok(Outcome::Continue),
                Err(failure) => failure,
            };
            let left = deadline.saturating_duration_since(Instant::now());
            let give_up = if !failure.retry {
                Some("not retried")
            } else if attempts > self.retries {
                Some("no retries left")
            } else if left <= backoff {
                Some("out of time")
            } else {
                None
            };
            if let Some(why) = give_up {
                return Err(Error::failed(format!(
                    "POST {} failed after {attempts} attempt(s) ({why}): {}",
                    self.url, failure.message
                )));
            }
            self.host.warn(&format!(
                "POST {} attempt {attempts} failed: {}; retrying in {} ms",
                self.url,
                failure.message,
                backoff.as_millis()
            ));
            std::thread::sleep(backoff);
            backoff *= 2;
        }
    }
}

impl Plugin for Webhook {
    const EVENTS: &'static [EventKind] = &EventKind::ALL;
    // The agent is shareable and every delivery is independent.
    const THREAD_SAFE: bool = true;

    fn new(config: dossier_sdk::serde_json::Value, host: HostApi) -> Result<Self> {
        let config: Config = dossier_sdk::serde_json::from_value(config).map_err(Error::config)?;
        if !(config.url.starts_with("https://") || config.url.starts_with("http://")) {
            return Err(Error::config(format!(
                "url `{}` must start with https:// or http://",
                config.url
            )));
        }
        if config.secret.is_empty() {
            return Err(Error::config("secret must not be empty"));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("dossier-webhook/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls(config.ca_file.as_deref())?)
            .build()
            .into();
        let filter = filter::Filter::new(config.objects, config.when, &config.events)?;
        Ok(Webhook {
            url: config.url,
            secret: config.secret.into_bytes(),
            events: config.events,
            filter,
            timeout: Duration::from_millis(config.timeout_ms),
            retries: config.retries,
            agent,
            host,
        })
    }

    fn events(&self) -> Vec<EventKind> {
        self.events.clone()
    }

    fn before_save(&self, event: &mut SaveEvent) -> Result<Outcome> {
        self.deliver(Event::BeforeSave(event.clone()))
    }

    fn after_save(&self, event: &mut SaveEvent) -> Result<Outcome> {
        self.deliver(Event::AfterSave(event.clone()))
    }

    fn screen_pop(&self, pop: &mut ScreenPop) -> Result<Outcome> {
        self.deliver(Event::ScreenPop(pop.clone()))
    }

    fn disposition(&self, disposition: &mut Disposition) -> Result<Outcome> {
        self.deliver(Event::Disposition(disposition.clone()))
    }

    fn notification(&self, notification: &mut Notification) -> Result<Outcome> {
        self.deliver(Event::Notification(notification.clone()))
    }

    fn email_received(&self, email: &mut EmailReceived) -> Result<Outcome> {
        self.deliver(Event::EmailReceived(email.clone()))
    }

    fn email_held(&self, held: &mut EmailHeld) -> Result<Outcome> {
        self.deliver(Event::EmailHeld(held.clone()))
    }

    fn chat_offered(&self, chat: &mut ChatEvent) -> Result<Outcome> {
        self.deliver(Event::ChatOffered(chat.clone()))
    }

    fn chat_ended(&self, chat: &mut ChatEvent) -> Result<Outcome> {
        self.deliver(Event::ChatEnded(chat.clone()))
    }

    fn task_reminder(&self, reminder: &mut TaskReminder) -> Result<Outcome> {
        self.deliver(Event::TaskReminder(reminder.clone()))
    }

    fn directory_changed(&self, change: &mut DirectoryChanged) -> Result<Outcome> {
        self.deliver(Event::DirectoryChanged(change.clone()))
    }
}

declare_plugin!(Webhook, name = "webhook");

#[cfg(test)]
mod tests {
    use super::*;
    use dossier_sdk::serde_json::json;

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2.
        let sig = signature(b"Jefe", b"what do ya want for nothing?").unwrap_or_default();
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn config_is_checked() {
        let make = |v| {
            Webhook::new(v, HostApi::detached())
                .err()
                .map(|e| e.to_string())
        };
        assert!(
            make(json!({"url": "ftp://x", "secret": "s"})).is_some_and(|e| e.contains("https://"))
        );
        assert!(make(json!({"url": "https://x", "secret": "s"})).is_none());
        assert!(
            make(json!({"url": "https://x", "secret": "s", "ca_file": "/nonexistent.pem"}))
                .is_some_and(|e| e.contains("ca_file `/nonexistent.pem` cannot be read"))
        );
        assert!(
            make(json!({"url": "https://x", "secret": "s", "ca_file": "Cargo.toml"}))
                .is_some_and(|e| e.contains("holds no PEM certificate"))
        );
        assert!(
            make(json!({"url": "http://x", "secret": ""})).is_some_and(|e| e.contains("secret"))
        );
        assert!(make(json!({"url": "http://x"})).is_some_and(|e| e.contains("secret")));
        assert!(make(json!({"url": "http://x", "secret": "s", "events": ["nope"]})).is_some());
        assert!(make(json!({"url": "http://x", "secret": "s"})).is_none());
        let when =
            |w| make(json!({"url": "http://x", "secret": "s", "objects": ["case"], "when": w}));
        assert!(
            when(json!([{"field": "stauts", "equals": "closed"}]))
                .is_some_and(|e| e.contains("`stauts` is not a field"))
        );
        assert!(when(json!([{"field": "status"}])).is_some_and(|e| e.contains("says nothing")));
        assert!(when(json!([{"field": "status", "changed": true, "equals": "closed"}])).is_none());
        assert!(when(json!([{"field": "custom.tier", "one_of": ["gold"]}])).is_none());
    }
}

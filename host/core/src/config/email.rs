//! `[email]`: the email channel.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use dossier_types::{Error, Result};

/// Where a thread token may sit in an inbound email (and, when the outbound
/// side lands, where it is written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPlace {
    /// In the subject as `[#TOKEN]`.
    Subject,
    /// In an `X-Dossier-Thread` header.
    Header,
    /// As a plus-address of one of our addresses: `support+TOKEN@…`.
    PlusAddress,
}

/// Whose workbin an email that joins an existing case goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkbinRoute {
    /// The agent who last wrote on the case.
    LastAgent,
    /// The case's owner.
    Owner,
    /// The case's group.
    Group,
}

/// `[email]`.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// Our own addresses (`support@example.com`). Mail from them is never
    /// answered automatically; their plus-addresses carry thread tokens.
    /// The first is the sender of acknowledgements.
    pub addresses: Vec<String>,
    /// Where inbound mail's thread token is looked for, in this order.
    /// Default `["subject", "header", "plus_address"]`.
    pub thread_token: Vec<TokenPlace>,
    /// How a case number is written in a subject, `{number}` standing for
    /// it. Default `[Case #{number}]`. Trusted only when the sender is the
    /// case's customer or already on its thread.
    pub case_number_form: String,
    /// Senders whose mail is dropped on ingest, with the reason recorded:
    /// an address (`spam@example.com`), a domain exactly (`@example.net`,
    /// not `mail.example.net`) or every subdomain of one (`@*.example.net`:
    /// `mail.example.net`, `a.b.example.net`, not `example.net` itself).
    pub blocked: Vec<String>,
    /// Whose workbin an email joining an existing case goes to: the first
    /// of these that names someone. Default `["last_agent", "owner",
    /// "group"]`; empty for none.
    pub workbin: Vec<WorkbinRoute>,
    /// Answer each email that opens a case with an acknowledgement (a
    /// notification with cause `acknowledgement`, from the first address).
    /// Never for automatic mail, bounces or our own. Default false.
    pub acknowledge: bool,
    /// How many messages `email ingest --maildir` commits per transaction.
    /// Default 100.
    pub maildir_batch: usize,
    /// `[email.smtp]`: the server the host sends mail through, after
    /// commit. Without it the host sends nothing itself.
    pub smtp: Option<SmtpSettings>,
    /// `[email.review]`: whose outbound email goes to QA review first.
    pub review: ReviewConfig,
    /// Whether drafts, notes and FAQ entries may have an HTML body
    /// (sanitized with ammonia when saved; a draft is sent as
    /// multipart/alternative with a text part made from it) and inline
    /// images. Off: they are text only. Default true.
    pub rich_text: bool,
    /// An inline image whose long side is over this many pixels is
    /// downscaled and recompressed when attached. Default 1600.
    pub max_image_px: u32,
    /// The account number of the customer that mail from a sender whose
    /// address no customer can have (`root@localhost`, `<moderator>`)
    /// goes to. Without it, each such sender becomes a customer without
    /// an email address (the same one for the same raw address).
    pub catch_all_account: Option<String>,
    /// Who is told, by a notification with cause `email_held` (from the
    /// first of `addresses`), when an inbound email is held because it
    /// could not be stored. Default none: held mail waits in `dossier email
    /// held list` and the `on_notification` hook does not fire for it.
    pub held_notify: Vec<String>,
    /// The largest inbound message ingested, in MB (1 to 1024). A larger
    /// one is not parsed: it is held with the reason. Default 50.
    pub max_message_mb: u64,
    /// `[email.queues.<name>]`: the initial email queues (the store keeps
    /// them, as it does chat queues). A new email's case waits in one and
    /// is offered to its members one at a time.
    pub queues: BTreeMap<String, EmailQueueConfig>,
    /// `[email.routing]`: which queue a new email waits in.
    pub routing: EmailRouting,
    /// The most open email items (offered, or accepted and not done) an
    /// agent has at once; a queue's `capacity` may lower it. From 1 to
    /// 100; default 5.
    pub capacity: u32,
    /// How long an email offer waits for the agent before it goes to the
    /// next member, in seconds (1 to 86400). Default 120.
    pub accept_seconds: u32,
    /// What a customer's email on a closed case does: `reopen` it (the
    /// default) or open a `new_case` that names the old one. Either way a
    /// system follow-up says so.
    pub on_closed: OnClosed,
}

/// `[email.queues.<name>]`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailQueueConfig {
    /// The logins of the agents offered this queue's emails.
    pub members: Vec<String>,
    /// The most open email items of this queue's a member may have when
    /// offered one; the lower of this and `[email] capacity` applies.
    pub capacity: Option<u32>,
}

impl EmailQueueConfig {
    /// A queue whose emails go to `members`.
    pub fn new(members: Vec<String>) -> EmailQueueConfig {
        EmailQueueConfig {
            members,
            capacity: None,
        }
    }
}

/// `[email.routing]`: the queue a new email (one that opens a case) waits
/// in. An `on_email_received` hook may choose another by setting `queue`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailRouting {
    /// By the address the email was sent to (any of To and Cc, compared
    /// without case and without a `+tag`): `"billing@example.com" =
    /// "billing"`. The first address of the email that has a queue wins.
    pub to: BTreeMap<String, String>,
    /// The queue of a new email no `to` rule matched; unset: it waits in
    /// no queue (as before queues: no owner, no workbin).
    pub default: Option<String>,
}

/// `[email] on_closed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnClosed {
    /// The closed case is reopened and the email joins it.
    #[default]
    Reopen,
    /// A new case is opened for the email, naming the closed one.
    NewCase,
}

/// `[email.review]`: whose outbound email a reviewer (`review_email`)
/// approves before it is sent. A `notification` hook may also require
/// review of any message by setting `review = true`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewConfig {
    /// Every agent's email. Default false.
    pub all: bool,
    /// These agents' email.
    pub agents: Vec<String>,
    /// The email of these groups' members.
    pub groups: Vec<String>,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            addresses: Vec::new(),
            thread_token: vec![
                TokenPlace::Subject,
                TokenPlace::Header,
                TokenPlace::PlusAddress,
            ],
            case_number_form: "[Case #{number}]".to_owned(),
            blocked: Vec::new(),
            workbin: vec![
                WorkbinRoute::LastAgent,
                WorkbinRoute::Owner,
                WorkbinRoute::Group,
            ],
            acknowledge: false,
            maildir_batch: 100,
            smtp: None,
            review: ReviewConfig::default(),
            rich_text: true,
            max_image_px: 1600,
            catch_all_account: None,
            held_notify: Vec::new(),
            max_message_mb: 50,
            queues: BTreeMap::new(),
            routing: EmailRouting::default(),
            capacity: 5,
            accept_seconds: 120,
            on_closed: OnClosed::Reopen,
        }
    }
}

/// The largest `maildir_batch`.
const MAX_BATCH: usize = 10_000;

impl EmailConfig {
    /// Why an inbound message of `size` bytes is not ingested, when it is
    /// over `max_message_mb`.
    pub fn too_large(&self, size: usize) -> Option<String> {
        let limit = self.max_message_mb.saturating_mul(1024 * 1024);
        (u64::try_from(size).unwrap_or(u64::MAX) > limit).then(|| {
            format!(
                "the message is {:.1} MB, over the {} MB limit ([email] max_message_mb); \
                 raise the limit, then release it",
                size as f64 / (1024.0 * 1024.0),
                self.max_message_mb
            )
        })
    }

    /// Checks what can be checked without connecting: see [`SmtpSettings`]'s fields.
    pub fn check(&self) -> Result<()> {
        for address in &self.addresses {
            if let Err(rule) = dossier_types::contact::normalize_email(address) {
                return Err(Error::Config(format!(
                    "[email] addresses: `{address}` {rule}"
                )));
            }
        }
        if self.acknowledge && self.addresses.is_empty() {
            return Err(Error::Config(
                "[email] acknowledge needs at least one address in [email] addresses to send from"
                    .into(),
            ));
        }
        if self.case_number_form.matches("{number}").count() != 1 {
            return Err(Error::Config(format!(
                "[email] case_number_form `{}` must contain `{{number}}` exactly once",
                self.case_number_form
            )));
        }
        for entry in &self.blocked {
            // `@*.domain` stands for the subdomains of `domain`: the
            // wildcard is allowed only there, as the whole first label.
            let domain = entry.strip_prefix('@');
            let parent = domain.map(|d| d.strip_prefix("*.").unwrap_or(d));
            let address = parent.map(|d| format!("x@{d}"));
            let check = address.as_deref().unwrap_or(entry);
            if check.contains('*') || dossier_types::contact::normalize_email(check).is_err() {
                return Err(Error::Config(format!(
                    "[email] blocked: `{entry}` is neither an address, `@domain` nor `@*.domain`"
                )));
            }
        }
        if !(16..=20_000).contains(&self.max_image_px) {
            return Err(Error::Config(format!(
                "[email] max_image_px must be from 16 to 20000, not {}",
                self.max_image_px
            )));
        }
        for address in &self.held_notify {
            if let Err(rule) = dossier_types::contact::normalize_email(address) {
                return Err(Error::Config(format!(
                    "[email] held_notify: `{address}` {rule}"
                )));
            }
        }
        if !self.held_notify.is_empty() && self.addresses.is_empty() {
            return Err(Error::Config(
                "[email] held_notify needs at least one address in [email] addresses to send from"
                    .into(),
            ));
        }
        if self
            .catch_all_account
            .as_deref()
            .is_some_and(|a| a.trim().is_empty())
        {
            return Err(Error::Config(
                "[email] catch_all_account is empty: name a customer's account number, or leave it out"
                    .into(),
            ));
        }
        if !(1..=1024).contains(&self.max_message_mb) {
            return Err(Error::Config(format!(
                "[email] max_message_mb must be from 1 to 1024, not {}",
                self.max_message_mb
            )));
        }
        if !(1..=100).contains(&self.capacity) {
            return Err(Error::Config(format!(
                "[email] capacity must be from 1 to 100, not {}",
                self.capacity
            )));
        }
        if !(1..=86_400).contains(&self.accept_seconds) {
            return Err(Error::Config(format!(
                "[email] accept_seconds must be from 1 to 86400, not {}",
                self.accept_seconds
            )));
        }
        for (name, queue) in &self.queues {
            if !dossier_types::queues::valid_queue_name(name) {
                return Err(Error::Config(format!(
                    "[email.queues.{name}]: a queue name is 1 to 64 letters, digits, `.`, `_`, `-` or `@`"
                )));
            }
            if let Some(c) = queue.capacity
                && !(1..=100).contains(&c)
            {
                return Err(Error::Config(format!(
                    "[email.queues.{name}] capacity must be from 1 to 100, not {c}"
                )));
            }
            let mut seen = std::collections::BTreeSet::new();
            for login in &queue.members {
                if !seen.insert(login) {
                    return Err(Error::Config(format!(
                        "[email.queues.{name}] lists member `{login}` twice"
                    )));
                }
            }
        }
        let routed = self.routing.to.iter().map(|(a, q)| (Some(a.as_str()), q));
        let fallback = self.routing.default.iter().map(|q| (None, q));
        for (address, queue) in routed.chain(fallback) {
            if !self.queues.contains_key(queue) {
                let rule = match address {
                    Some(a) => format!("[email.routing.to] \"{a}\""),
                    None => "[email.routing] default".to_owned(),
                };
                return Err(Error::Config(format!(
                    "{rule} names queue `{queue}`, which is not under [email.queues]"
                )));
            }
            if let Some(a) = address
                && dossier_types::contact::normalize_email(a).is_err()
            {
                return Err(Error::Config(format!(
                    "[email.routing.to]: `{a}` is not an email address"
                )));
            }
        }
        if !(1..=MAX_BATCH).contains(&self.maildir_batch) {
            return Err(Error::Config(format!(
                "[email] maildir_batch must be from 1 to {MAX_BATCH}, not {}",
                self.maildir_batch
            )));
        }
        Ok(())
    }
}

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

/// How the host hands over the mail it sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// To the SMTP server of [`SmtpSettings::host`] (the default).
    #[default]
    Smtp,
    /// Into [`SmtpSettings::folder`], one `.eml` file per message: the
    /// bytes SMTP would have sent. For demos, trials and tests, where no
    /// mail server is at hand.
    File,
}

impl Transport {
    /// The name the config uses (`smtp`, `file`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Smtp => "smtp",
            Transport::File => "file",
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
///
/// or, to write each message to a folder instead of sending it:
///
/// ```toml
/// [email.smtp]
/// transport = "file"
/// folder = "outbox-mail"
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// `smtp` (the default) sends through the server of
    /// [`host`](Self::host); `file` writes each message into
    /// [`folder`](Self::folder) instead.
    #[serde(default)]
    pub transport: Transport,
    /// With `transport = "file"`: the folder the messages are written to
    /// (relative to the config's folder; created `0700` when missing), one
    /// `0600` file per message, named by the time it was written so that
    /// the names sort in that order.
    #[serde(default)]
    pub folder: Option<PathBuf>,
    /// The server's host name or IP address; TLS checks its certificate
    /// against this name. Required with `transport = "smtp"`.
    #[serde(default)]
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
            transport: Transport::Smtp,
            folder: None,
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

    /// Settings that write each message into `folder` instead of sending
    /// it (`transport = "file"`).
    pub fn file(folder: impl Into<PathBuf>) -> SmtpSettings {
        SmtpSettings {
            transport: Transport::File,
            folder: Some(folder.into()),
            ..SmtpSettings::new("")
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
        if self.transport == Transport::File {
            return self.check_file();
        }
        if self.folder.is_some() {
            return Err(bad(
                "folder",
                "is set but transport is \"smtp\": set transport = \"file\" to write messages to a folder, or remove folder".into(),
            ));
        }
        if self.host.trim().is_empty() {
            return Err(bad(
                "host",
                "is missing or empty: transport = \"smtp\" sends through this server".into(),
            ));
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
            check_hello_name(name).map_err(|why| bad("hello_name", why))?;
        }
        self.ca_pem().map_err(|why| bad("ca_file", why))?;
        Ok(())
    }

    /// The checks of `transport = "file"`: a folder, and none of the keys
    /// that only a server connection reads (they would be silently unused).
    fn check_file(&self) -> Result<(), Error> {
        let bad = |key: &str, why: &str| Error::Config(format!("[email.smtp] {key} {why}"));
        match &self.folder {
            None => {
                return Err(bad(
                    "folder",
                    "is missing: transport = \"file\" writes each message into this folder",
                ));
            }
            Some(folder) if folder.as_os_str().is_empty() => {
                return Err(bad("folder", "is empty"));
            }
            Some(_) => {}
        }
        let server_only = [
            ("host", !self.host.is_empty()),
            ("port", self.port.is_some()),
            ("user", self.user.is_some()),
            ("password_env", self.password_env.is_some()),
            ("ca_file", self.ca_file.is_some()),
            ("hello_name", self.hello_name.is_some()),
        ];
        if let Some((key, _)) = server_only.iter().find(|(_, set)| *set) {
            return Err(bad(
                key,
                "is for transport = \"smtp\": transport = \"file\" connects to no server",
            ));
        }
        Ok(())
    }

    /// The bytes of `ca_file` (`None` without one), or why they cannot be
    /// used: unreadable, or holding no PEM certificate.
    pub fn ca_pem(&self) -> Result<Option<Vec<u8>>, String> {
        let Some(path) = &self.ca_file else {
            return Ok(None);
        };
        let pem =
            std::fs::read(path).map_err(|e| format!("{}: cannot be read ({e})", path.display()))?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(format!("{}: holds no PEM certificate", path.display()));
        }
        Ok(Some(pem))
    }
}

/// Checks an EHLO name: a domain of letters, digits, dots and dashes, or an
/// address literal in brackets.
pub fn check_hello_name(name: &str) -> Result<(), String> {
    let literal = name.starts_with('[') && name.ends_with(']');
    let well_formed = !name.is_empty()
        && name.len() <= 255
        && (literal
            || name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "has `{name}`, which is not a host name (letters, digits, dots and dashes)"
        ))
    }
}

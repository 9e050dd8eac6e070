//! `dossier.toml`: one file, every section optional, unknown keys refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use dossier_types::{Error, Result};

mod email;
pub use dossier_types::schema::{
    ChoiceConfig, CustomerStandardFields, FieldConfig, FieldsConfig, StandardFieldConfig,
    StandardFieldsConfig,
};
pub use email::{
    EmailConfig, EmailQueueConfig, EmailRouting, OnClosed, ReviewConfig, Security, SmtpSettings,
    TokenPlace, Transport, WorkbinRoute, check_hello_name,
};

/// The whole configuration. Every section has a default, so an empty file is valid.
#[non_exhaustive]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[store]`: where the database lives.
    pub store: StoreConfig,
    /// `[phone]`: how phone numbers are normalized.
    pub phone: PhoneConfig,
    /// `[case]`: statuses, severities, priorities.
    pub case: CaseConfig,
    /// `[fields.customer|case|follow_up|task]`: custom field definitions.
    pub fields: FieldsConfig,
    /// `[standard_fields.customer.account|phone|email]`: patterns standard
    /// fields must match, on top of the built-in checks.
    pub standard_fields: StandardFieldsConfig,
    /// `[dispositions.<channel>]`: disposition codes per channel.
    pub dispositions: BTreeMap<String, ChannelDispositions>,
    /// `[scripts]`: the admin's Rhai scripts.
    pub scripts: ScriptsConfig,
    /// `[[plugins]]`: native plugins, loaded in this order.
    pub plugins: Vec<PluginConfig>,
    /// `[reminders]`: task reminders and the `dossier run` loop.
    pub reminders: RemindersConfig,
    /// `[events]`: how the event runner bounds chains of hook-caused writes.
    pub events: EventsConfig,
    /// `[outbox]`: how deliveries after commit (mail, after-save hooks) are
    /// claimed.
    pub outbox: OutboxConfig,
    /// `[time]`: the time zone people type and read times in.
    pub time: TimeConfig,
    /// `[email]`: our addresses, threading, blocked senders, workbins.
    pub email: EmailConfig,
    /// `[chat]`: chat queues, capacity, the acceptance interval, logging.
    pub chat: ChatConfig,
    /// `[server]`: how `dossier serve` listens and keeps sessions.
    pub server: ServerConfig,
    /// The directory relative paths in this config are resolved against
    /// (the config file's directory); not a key in the file.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[store]`.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite file, relative to the config file. Default `dossier.db`.
    pub path: PathBuf,
    /// How many reader connections (besides the writer) the store keeps
    /// open between reads. More reads at once each open one more, which
    /// closes when its read ends. From 1 to [`MAX_STORE_READERS`]; default 4.
    pub readers: usize,
    /// How long a write waits for another process's write to finish before
    /// it gives up with `store_busy`, in milliseconds. From 100 to 600,000;
    /// default 30,000.
    pub busy_timeout_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("dossier.db"),
            readers: 4,
            busy_timeout_ms: 30_000,
        }
    }
}

/// The most idle reader connections `[store] readers` may keep open.
pub const MAX_STORE_READERS: usize = 64;

/// `[phone]`.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhoneConfig {
    /// ISO 3166 region used for numbers written without a country code. Default `FR`.
    pub default_region: String,
}

impl Default for PhoneConfig {
    fn default() -> Self {
        PhoneConfig {
            default_region: "FR".to_owned(),
        }
    }
}

/// One case status.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusDef {
    /// The key stored on cases (`open`, `pending_customer`).
    pub key: String,
    /// What agents see. Defaults to the key.
    #[serde(default)]
    pub label: Option<String>,
    /// Whether a case in this status counts as open (assignable, pops).
    pub open: bool,
}

impl StatusDef {
    /// A status `key` shown as itself; `open` says whether cases in it count
    /// as open.
    pub fn new(key: impl Into<String>, open: bool) -> StatusDef {
        StatusDef {
            key: key.into(),
            label: None,
            open,
        }
    }
}

/// `[case]`.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaseConfig {
    /// Statuses; must include at least one open and one closed. Default `open`, `closed`.
    pub statuses: Vec<StatusDef>,
    /// Status of a new case. Default: the first open status.
    pub default_status: Option<String>,
    /// Status `case close` uses. Default: the first closed status.
    pub closed_status: Option<String>,
    /// Severity keys, least severe first.
    pub severities: Vec<String>,
    /// Severity of a new case.
    pub default_severity: String,
    /// Priority keys, lowest first.
    pub priorities: Vec<String>,
    /// Priority of a new case.
    pub default_priority: String,
}

impl Default for CaseConfig {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        CaseConfig {
            statuses: vec![
                StatusDef {
                    key: "open".into(),
                    label: Some("Open".into()),
                    open: true,
                },
                StatusDef {
                    key: "closed".into(),
                    label: Some("Closed".into()),
                    open: false,
                },
            ],
            default_status: None,
            closed_status: None,
            severities: strings(&["minor", "major", "critical"]),
            default_severity: "minor".into(),
            priorities: strings(&["low", "normal", "high", "urgent"]),
            default_priority: "normal".into(),
        }
    }
}

impl CaseConfig {
    /// Whether `status` is a configured open status.
    pub fn is_open(&self, status: &str) -> bool {
        self.statuses.iter().any(|s| s.key == status && s.open)
    }

    /// The status of a new case.
    pub fn initial_status(&self) -> &str {
        self.default_status
            .as_deref()
            .or_else(|| {
                self.statuses
                    .iter()
                    .find(|s| s.open)
                    .map(|s| s.key.as_str())
            })
            .unwrap_or("open")
    }

    /// The status used to close a case.
    pub fn closing_status(&self) -> &str {
        self.closed_status
            .as_deref()
            .or_else(|| {
                self.statuses
                    .iter()
                    .find(|s| !s.open)
                    .map(|s| s.key.as_str())
            })
            .unwrap_or("closed")
    }
}

/// `[dispositions.<channel>]`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelDispositions {
    /// Whether an interaction on this channel must end with a code.
    pub required: bool,
    /// The codes.
    pub codes: Vec<DispositionCode>,
}

impl ChannelDispositions {
    /// A channel's `codes`; `required` says whether an interaction must end
    /// with one.
    pub fn new(required: bool, codes: Vec<DispositionCode>) -> ChannelDispositions {
        ChannelDispositions { required, codes }
    }
}

/// One disposition code.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispositionCode {
    /// The code (`resolved`, `callback`).
    pub code: String,
    /// What agents see. Defaults to the code.
    #[serde(default)]
    pub label: Option<String>,
    /// Whether recording this code closes the case.
    #[serde(default)]
    pub closes_case: bool,
}

impl DispositionCode {
    /// A code shown as itself that leaves the case open.
    pub fn new(code: impl Into<String>) -> DispositionCode {
        DispositionCode {
            code: code.into(),
            label: None,
            closes_case: false,
        }
    }
}

/// `[events]`.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// How many levels of writes caused by hooks one action may lead to
    /// (a hook's write is one level deeper than what caused it). Going past
    /// it is an error naming the chain. From 1 to 64; default 16.
    pub max_depth: u32,
    /// How long the event log keeps what agents' screens and chat
    /// visitors' windows are told (offers, messages, pops, reminders, ...),
    /// in hours: a stream reconnecting later than that is told to reload.
    /// From 1 to 720; default 24.
    pub log_hours: u32,
}

/// The deepest `[events] max_depth` accepted: each level nests a hook call
/// on the stack.
pub const MAX_EVENT_DEPTH: u32 = 64;

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            max_depth: 16,
            log_hours: 24,
        }
    }
}

/// `[outbox]`.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// How long a process holds a delivery it claimed, in seconds, before
    /// another process may take it over. The holder renews it every third
    /// of this while the delivery runs, so it only runs out when the
    /// holder died or stalls. From 5 to 3600; default 60.
    pub lease_seconds: u32,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig { lease_seconds: 60 }
    }
}

/// `[time]`.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimeConfig {
    /// The IANA time zone (`Europe/Paris`) the command line reads times in
    /// (`--due "tomorrow 09:00"`) and shows them in. Default `UTC`. The
    /// store keeps UTC whatever this says.
    pub zone: String,
}

impl Default for TimeConfig {
    fn default() -> Self {
        TimeConfig {
            zone: "UTC".to_owned(),
        }
    }
}

impl TimeConfig {
    /// The zone `zone` names; UTC if it names none (a loaded config was
    /// checked, so that only happens to a config built by hand).
    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        crate::time::zone(&self.zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

/// `[chat]`: how chats are routed to agents and what becomes of them.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// How many chats an agent handles at once, pending offers included,
    /// unless their queue or their `[chat.agents.<login>]` says otherwise.
    /// From 1 to 100; default 6.
    pub capacity: u32,
    /// How long an offer waits for the agent to accept, in seconds; no
    /// answer by then puts the agent on break and offers the chat to the
    /// next agent. From 1 to 3600; default 30.
    pub accept_seconds: u32,
    /// Save each ended chat's transcript as a case with a `chat_log`
    /// follow-up (for a customer the pop identified; otherwise once the
    /// agent picks or creates the customer). Default true.
    pub auto_log: bool,
    /// `[chat.queues.<name>]`: the queues chats arrive in.
    pub queues: BTreeMap<String, ChatQueueConfig>,
    /// `[chat.agents.<login>]`: per-agent settings.
    pub agents: BTreeMap<String, ChatAgentConfig>,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            capacity: 6,
            accept_seconds: 30,
            auto_log: true,
            queues: BTreeMap::new(),
            agents: BTreeMap::new(),
        }
    }
}

/// `[chat.queues.<name>]`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatQueueConfig {
    /// The logins of the agents who take this queue's chats. An agent may
    /// be in several queues.
    pub members: Vec<String>,
    /// The most chats (pending offers included) a member may have when
    /// offered one of this queue's; the lower of this and the agent's own
    /// capacity applies. From 1 to 100; unset means the agent's capacity.
    pub capacity: Option<u32>,
}

impl ChatQueueConfig {
    /// A queue whose chats go to `members`, each at their own capacity.
    pub fn new(members: Vec<String>) -> ChatQueueConfig {
        ChatQueueConfig {
            members,
            capacity: None,
        }
    }
}

/// `[chat.agents.<login>]`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatAgentConfig {
    /// This agent's capacity instead of `[chat] capacity`. From 1 to 100.
    pub capacity: Option<u32>,
}

impl ChatAgentConfig {
    /// An agent whose capacity is `capacity` instead of `[chat] capacity`.
    pub fn with_capacity(capacity: u32) -> ChatAgentConfig {
        ChatAgentConfig {
            capacity: Some(capacity),
        }
    }
}

/// The most concurrent chats any capacity setting may allow.
pub const MAX_CHAT_CAPACITY: u32 = 100;

impl ChatConfig {
    fn check(&self) -> Result<()> {
        let capacity = |what: String, value: u32| {
            if (1..=MAX_CHAT_CAPACITY).contains(&value) {
                Ok(())
            } else {
                Err(Error::Config(format!(
                    "{what} must be from 1 to {MAX_CHAT_CAPACITY}, not {value}"
                )))
            }
        };
        capacity("[chat] capacity".into(), self.capacity)?;
        if !(1..=3600).contains(&self.accept_seconds) {
            return Err(Error::Config(format!(
                "[chat] accept_seconds must be from 1 to 3600, not {}",
                self.accept_seconds
            )));
        }
        let word = dossier_types::queues::valid_queue_name;
        for (name, queue) in &self.queues {
            if !word(name) {
                return Err(Error::Config(format!(
                    "[chat.queues.{name}]: a queue name is 1 to 64 letters, digits, `.`, `_`, `-` or `@`"
                )));
            }
            if let Some(c) = queue.capacity {
                capacity(format!("[chat.queues.{name}] capacity"), c)?;
            }
            let mut seen = std::collections::BTreeSet::new();
            for login in &queue.members {
                if !seen.insert(login.as_str()) {
                    return Err(Error::Config(format!(
                        "[chat.queues.{name}] lists member `{login}` twice"
                    )));
                }
            }
        }
        for (login, agent) in &self.agents {
            if let Some(c) = agent.capacity {
                capacity(format!("[chat.agents.{login}] capacity"), c)?;
            }
        }
        Ok(())
    }
}

/// `[server]`: `dossier serve`.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Where `dossier serve` listens unless `--listen` says otherwise.
    /// Default `127.0.0.1:8440`.
    pub listen: String,
    /// How long a browser session lasts, in hours. Default 12.
    pub session_hours: u32,
    /// Mark the session cookie `Secure`: set it when a TLS proxy fronts the
    /// server (serving TLS itself sets it anyway). Default false.
    pub secure_cookies: bool,
    /// Serve HTTPS with this certificate chain (PEM, relative to the config
    /// file); needs `tls_key`. Default: plain HTTP.
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM, relative to the config file).
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8440".to_owned(),
            session_hours: 12,
            secure_cookies: false,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl ServerConfig {
    /// The listening address, checked.
    pub fn listen_addr(&self) -> Result<std::net::SocketAddr> {
        self.listen.parse().map_err(|_| {
            Error::Config(format!(
                "[server] listen `{}` is not an address and port like 127.0.0.1:8440",
                self.listen
            ))
        })
    }
}

/// `[reminders]`.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemindersConfig {
    /// Draft a notification to the assignee when a reminder fires and the
    /// assignee is an email address, or an enabled agent whose profile has
    /// one. Default true.
    pub notify_assignee: bool,
    /// The sender of reminder notifications, also given to one a hook
    /// writes without a sender. Default `dossier@localhost.localdomain`.
    pub from: String,
    /// How often `dossier run` looks for due reminders and outbox entries,
    /// in seconds, at most. Default 30.
    pub poll_seconds: u64,
}

impl Default for RemindersConfig {
    fn default() -> Self {
        RemindersConfig {
            notify_assignee: true,
            from: "dossier@localhost.localdomain".to_owned(),
            poll_seconds: 30,
        }
    }
}

/// `[scripts]`.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptsConfig {
    /// Whether scripts run at all. Default true.
    pub enabled: bool,
    /// Directory of `.rhai` files, relative to the config file. Default
    /// `scripts`, which may be missing (then there are no scripts); a
    /// folder the config names must exist (see
    /// [`ScriptsConfig::dir_must_exist`]).
    pub dir: PathBuf,
    /// Whether the config file names `dir` ([`Config::parse`] sets it; not
    /// a key in the file).
    #[serde(skip)]
    pub dir_named: bool,
    /// Files to load, in order, relative to `dir`. Empty: every `*.rhai` in
    /// `dir`, sorted by name.
    pub files: Vec<PathBuf>,
    /// Sandbox limits.
    pub limits: ScriptLimits,
}

impl Default for ScriptsConfig {
    fn default() -> Self {
        ScriptsConfig {
            enabled: true,
            dir: PathBuf::from(DEFAULT_SCRIPTS_DIR),
            dir_named: false,
            files: Vec::new(),
            limits: ScriptLimits::default(),
        }
    }
}

/// The scripts folder when `[scripts] dir` does not name one.
pub const DEFAULT_SCRIPTS_DIR: &str = "scripts";

impl ScriptsConfig {
    /// Whether a missing `dir` is a mistake to report rather than "no
    /// scripts": when the config file names it, or code set it to another
    /// folder than the default. A typo there would otherwise switch every
    /// script off without a word.
    pub fn dir_must_exist(&self) -> bool {
        self.dir_named || self.dir != Path::new(DEFAULT_SCRIPTS_DIR)
    }
}

/// The stack, in bytes, of a thread that runs hooks: 256 MiB.
///
/// What a script builds within its limits (a chain of closures each
/// capturing the one before, as long as `max_operations` lets it grow) is
/// freed by nested drops, one stack frame per link; a thread with the
/// default 2 MiB (8 MiB for `main`) overflows and the process aborts. The
/// `dossier` command, the server's writer and its runtime's threads are
/// made with this stack, which [`ScriptLimits::RANGES`]' ceilings are
/// tested against; an embedder calling the host from threads of its own
/// makes them with it too. Only the pages a hook touches are used.
pub const HOOK_THREAD_STACK: usize = 256 * 1024 * 1024;

/// `[scripts.limits]`: what one hook call may use before it is stopped.
///
/// Each limit must be at least 1 and at most its ceiling
/// ([`ScriptLimits::RANGES`]): Rhai reads 0 as "no limit", and a ceiling
/// keeps a limit from being so large that it no longer limits anything
/// before the process runs out of memory or stack.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptLimits {
    /// Operations per hook call. Default 100 000.
    pub max_operations: u64,
    /// Function call depth. Default 32.
    pub max_call_depth: usize,
    /// Expression nesting depth. Default 64.
    pub max_expr_depth: usize,
    /// Longest string, in bytes. Default 64 KiB.
    pub max_string_size: usize,
    /// Largest array. Default 10 000.
    pub max_array_size: usize,
    /// Largest object map. Default 10 000.
    pub max_map_size: usize,
    /// Wall-clock time per hook call, in milliseconds. Default 250.
    pub timeout_ms: u64,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_operations: 100_000,
            max_call_depth: 32,
            max_expr_depth: 64,
            max_string_size: 64 * 1024,
            max_array_size: 10_000,
            max_map_size: 10_000,
            timeout_ms: 250,
        }
    }
}

impl ScriptLimits {
    /// Each key of `[scripts.limits]` with the values it accepts, inclusive.
    pub const RANGES: [(&'static str, u64, u64); 7] = [
        // The longest chain of closures 1,000,000 operations build is freed
        // within [`HOOK_THREAD_STACK`] (tested with `dossier`, a debug
        // build); beyond that ceiling no stack size has been tested.
        ("max_operations", 1, 1_000_000),
        ("max_call_depth", 1, 256),
        ("max_expr_depth", 1, 1_024),
        ("max_string_size", 1, 256 * 1024 * 1024),
        ("max_array_size", 1, 10_000_000),
        ("max_map_size", 1, 10_000_000),
        ("timeout_ms", 1, 600_000),
    ];

    /// The values, in the order of [`ScriptLimits::RANGES`].
    fn values(&self) -> [u64; 7] {
        let wide = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        [
            self.max_operations,
            wide(self.max_call_depth),
            wide(self.max_expr_depth),
            wide(self.max_string_size),
            wide(self.max_array_size),
            wide(self.max_map_size),
            self.timeout_ms,
        ]
    }

    /// Refuses a limit that would be disabled (0) or too large to limit.
    pub fn check(&self) -> Result<()> {
        for ((key, low, high), value) in Self::RANGES.into_iter().zip(self.values()) {
            if value < low {
                return Err(Error::Config(format!(
                    "[scripts.limits] {key} = {value} would switch the limit off; \
                     give a value from {low} to {high}"
                )));
            }
            if value > high {
                return Err(Error::Config(format!(
                    "[scripts.limits] {key} = {value} is more than its ceiling {high}; \
                     give a value from {low} to {high}"
                )));
            }
        }
        Ok(())
    }
}

/// One `[[plugins]]` entry.
#[non_exhaustive]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// The shared library, relative to the config file.
    pub path: PathBuf,
    /// Expected SHA-256 of the library, hex. A library whose hash differs is refused.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Load the library without a hash check (development only).
    #[serde(default)]
    pub trust: bool,
    /// Handed to the plugin when it is created.
    #[serde(default)]
    pub config: toml::Table,
}

impl PluginConfig {
    /// The library at `path`, whose SHA-256 must be `sha256` (hex), with an
    /// empty plugin config.
    pub fn new(path: impl Into<PathBuf>, sha256: impl Into<String>) -> PluginConfig {
        PluginConfig {
            path: path.into(),
            sha256: Some(sha256.into()),
            trust: false,
            config: toml::Table::new(),
        }
    }
}

/// One line: where (line and column, 1-based) and what, without the
/// multi-line source excerpt the TOML parser draws.
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {}", e.message().trim_end())
        }
        None => e.message().trim_end().to_owned(),
    }
}

impl Config {
    /// Parses `text` as config; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Config> {
        let mut config: Config = toml::from_str(text).map_err(|e| Error::ConfigParse {
            path: origin.to_owned(),
            message: describe_toml_error(text, &e),
        })?;
        config.base_dir = origin.parent().map(Path::to_path_buf).unwrap_or_default();
        // Serde cannot tell a default from a value the file gave; the
        // table can (it parsed above, so it parses again).
        config.scripts.dir_named = text.parse::<toml::Table>().is_ok_and(|table| {
            table
                .get("scripts")
                .and_then(toml::Value::as_table)
                .is_some_and(|scripts| scripts.contains_key("dir"))
        });
        config.check()?;
        Ok(config)
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// The `[email.smtp]` settings with `ca_file` and `folder` resolved
    /// against the config's folder, when the host sends mail.
    pub fn smtp_settings(&self) -> Option<SmtpSettings> {
        self.email.smtp.as_ref().map(|s| {
            let mut s = s.clone();
            s.ca_file = s.ca_file.as_deref().map(|p| self.resolve(p));
            s.folder = s.folder.as_deref().map(|p| self.resolve(p));
            s
        })
    }

    /// Resolves a path from the config against the config file's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.base_dir.join(path)
        }
    }

    /// The database file.
    pub fn store_path(&self) -> PathBuf {
        self.resolve(&self.store.path)
    }

    fn check(&self) -> Result<()> {
        if !(1..=MAX_STORE_READERS).contains(&self.store.readers) {
            return Err(Error::Config(format!(
                "[store] readers must be from 1 to {MAX_STORE_READERS}, not {}",
                self.store.readers
            )));
        }
        self.server.listen_addr()?;
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return Err(Error::Config(
                "[server] tls_cert and tls_key go together: set both to serve HTTPS, or neither"
                    .into(),
            ));
        }
        if !(1..=8760).contains(&self.server.session_hours) {
            return Err(Error::Config(format!(
                "[server] session_hours must be from 1 to 8760, not {}",
                self.server.session_hours
            )));
        }
        if !(1..=720).contains(&self.events.log_hours) {
            return Err(Error::Config(format!(
                "[events] log_hours must be from 1 to 720, not {}",
                self.events.log_hours
            )));
        }
        if !(100..=600_000).contains(&self.store.busy_timeout_ms) {
            return Err(Error::Config(format!(
                "[store] busy_timeout_ms must be from 100 to 600000, not {}",
                self.store.busy_timeout_ms
            )));
        }
        if !(5..=3600).contains(&self.outbox.lease_seconds) {
            return Err(Error::Config(format!(
                "[outbox] lease_seconds must be from 5 to 3600, not {}",
                self.outbox.lease_seconds
            )));
        }
        if !(1..=MAX_EVENT_DEPTH).contains(&self.events.max_depth) {
            return Err(Error::Config(format!(
                "[events] max_depth must be from 1 to {MAX_EVENT_DEPTH}, not {}",
                self.events.max_depth
            )));
        }
        let case = &self.case;
        // A key listed twice: which entry counts would be an accident of
        // the code that reads the list.
        let once = |what: &str, keys: &mut dyn Iterator<Item = String>| -> Result<()> {
            let mut seen = std::collections::BTreeSet::new();
            for key in keys {
                if seen.contains(&key) {
                    return Err(Error::Config(format!("{what} lists `{key}` twice")));
                }
                seen.insert(key);
            }
            Ok(())
        };
        once(
            "[case] statuses",
            &mut case.statuses.iter().map(|s| s.key.clone()),
        )?;
        once("[case] severities", &mut case.severities.iter().cloned())?;
        once("[case] priorities", &mut case.priorities.iter().cloned())?;
        once(
            "[scripts] files",
            &mut self.scripts.files.iter().map(|f| f.display().to_string()),
        )?;
        if !case.statuses.iter().any(|s| s.open) || !case.statuses.iter().any(|s| !s.open) {
            return Err(Error::Config(
                "[case] statuses must include at least one open and one closed status".into(),
            ));
        }
        for (what, value) in [
            ("default_status", &case.default_status),
            ("closed_status", &case.closed_status),
        ] {
            if let Some(v) = value
                && !case.statuses.iter().any(|s| &s.key == v)
            {
                return Err(Error::Config(format!(
                    "[case] {what} `{v}` is not one of the statuses"
                )));
            }
        }
        if case
            .default_status
            .as_deref()
            .is_some_and(|s| !case.is_open(s))
        {
            return Err(Error::Config(
                "[case] default_status must be an open status".into(),
            ));
        }
        if case
            .closed_status
            .as_deref()
            .is_some_and(|s| case.is_open(s))
        {
            return Err(Error::Config(
                "[case] closed_status must be a closed status".into(),
            ));
        }
        if !case.severities.contains(&case.default_severity) {
            return Err(Error::Config(format!(
                "[case] default_severity `{}` is not one of the severities",
                case.default_severity
            )));
        }
        if !case.priorities.contains(&case.default_priority) {
            return Err(Error::Config(format!(
                "[case] default_priority `{}` is not one of the priorities",
                case.default_priority
            )));
        }
        for (channel, dispositions) in &self.dispositions {
            channel
                .parse::<dossier_sdk::Channel>()
                .map_err(|e| Error::Config(format!("[dispositions.{channel}]: {e}")))?;
            let mut seen = std::collections::BTreeSet::new();
            for code in &dispositions.codes {
                if code.code.trim().is_empty() || code.code.chars().any(char::is_whitespace) {
                    return Err(Error::Config(format!(
                        "[dispositions.{channel}] code `{}` must be a non-empty word without spaces",
                        code.code
                    )));
                }
                if !seen.insert(code.code.as_str()) {
                    return Err(Error::Config(format!(
                        "[dispositions.{channel}] lists code `{}` twice",
                        code.code
                    )));
                }
            }
            if dispositions.required && dispositions.codes.is_empty() {
                return Err(Error::Config(format!(
                    "[dispositions.{channel}] is required but lists no codes"
                )));
            }
        }
        if let Err(rule) = dossier_types::contact::normalize_email(&self.reminders.from) {
            return Err(Error::Config(format!("[reminders] from {rule}")));
        }
        if self.reminders.poll_seconds == 0 {
            return Err(Error::Config(
                "[reminders] poll_seconds must be at least 1".into(),
            ));
        }
        self.standard_fields.compile()?;
        self.scripts.limits.check()?;
        self.email.check()?;
        if let Some(smtp) = self.smtp_settings() {
            smtp.check()?;
        }
        self.chat.check()?;
        if let Some(name) = self
            .chat
            .queues
            .keys()
            .find(|n| self.email.queues.contains_key(*n))
        {
            return Err(Error::Config(format!(
                "queue `{name}` is under both [chat.queues] and [email.queues]: a queue holds one channel"
            )));
        }
        if let Err(reason) = crate::time::zone(&self.time.zone) {
            return Err(Error::Config(format!("[time] zone {reason}")));
        }
        if self
            .phone
            .default_region
            .parse::<phonenumber::country::Id>()
            .is_err()
        {
            return Err(Error::Config(format!(
                "[phone] default_region `{}` is not an ISO 3166 region code such as FR or US",
                self.phone.default_region
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("dossier.toml"))
    }

    /// The config structs are `#[non_exhaustive]` (a key added later is not a
    /// breaking change), so code outside this crate builds them from
    /// `Default` and these constructors; what they build passes the checks
    /// a loaded file passes, and compiles into a schema.
    #[test]
    fn a_config_built_with_the_constructors_passes_the_checks() {
        let mut config = Config::default();
        config
            .case
            .statuses
            .push(StatusDef::new("waiting_on_parts", true));
        let mut resolved = DispositionCode::new("resolved");
        resolved.closes_case = true;
        config.dispositions.insert(
            "phone".into(),
            ChannelDispositions::new(true, vec![resolved]),
        );
        config
            .chat
            .queues
            .insert("sales".into(), ChatQueueConfig::new(vec!["ann".into()]));
        config
            .chat
            .agents
            .insert("ann".into(), ChatAgentConfig::with_capacity(3));
        config
            .plugins
            .push(PluginConfig::new("libaudit.so", "00ff"));
        let mut tier = FieldConfig::new("choice");
        tier.choices = vec![ChoiceConfig::new("gold"), ChoiceConfig::new("standard")];
        tier.indexed = true;
        config.fields.customer.insert("tier".into(), tier);
        config.check().expect("the checks pass");
        let schema = dossier_types::schema::Schema::from_config(&config.fields, "FR")
            .expect("the fields compile");
        assert!(
            schema
                .field(dossier_sdk::ObjectKind::Customer, "tier")
                .is_some()
        );
        assert_eq!(config.dispositions["phone"].codes[0].code, "resolved");
        assert_eq!(config.chat.agents["ann"].capacity, Some(3));
    }

    #[test]
    fn a_limit_that_would_switch_itself_off_is_refused_naming_the_key() {
        for (key, _, high) in ScriptLimits::RANGES {
            let e = parse(&format!("[scripts.limits]\n{key} = 0\n")).unwrap_err();
            assert_eq!(e.code(), "config_invalid", "{key}");
            assert!(
                e.to_string().contains(&format!(
                    "[scripts.limits] {key} = 0 would switch the limit off"
                )),
                "{e}"
            );
            let e = parse(&format!("[scripts.limits]\n{key} = {}\n", high + 1)).unwrap_err();
            assert!(e.to_string().contains("ceiling"), "{e}");
            assert!(parse(&format!("[scripts.limits]\n{key} = {high}\n")).is_ok());
        }
        // The defaults are inside the ranges.
        assert!(ScriptLimits::default().check().is_ok());
    }

    #[test]
    fn store_readers_is_checked_when_the_config_loads() {
        assert_eq!(parse("").unwrap().store.readers, 4);
        assert_eq!(parse("[store]\nreaders = 64\n").unwrap().store.readers, 64);
        for bad in [0, 65] {
            let e = parse(&format!("[store]\nreaders = {bad}\n")).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("config is invalid: [store] readers must be from 1 to 64, not {bad}")
            );
        }
    }

    #[test]
    fn a_key_listed_twice_is_refused_naming_it() {
        for (text, message) in [
            (
                "[case]\nstatuses = [{ key = \"open\", open = true }, { key = \"closed\", open = false }, { key = \"open\", open = false }]\n",
                "[case] statuses lists `open` twice",
            ),
            (
                "[case]\nseverities = [\"minor\", \"major\", \"minor\"]\n",
                "[case] severities lists `minor` twice",
            ),
            (
                "[case]\npriorities = [\"low\", \"normal\", \"high\", \"high\"]\n",
                "[case] priorities lists `high` twice",
            ),
            (
                "[scripts]\nfiles = [\"sla.rhai\", \"close.rhai\", \"sla.rhai\"]\n",
                "[scripts] files lists `sla.rhai` twice",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.code(), "config_invalid", "{text}");
            assert_eq!(e.to_string(), format!("config is invalid: {message}"));
        }
        // Each list once is fine.
        assert!(parse("[case]\nseverities = [\"minor\", \"major\"]\n").is_ok());
    }

    #[test]
    fn the_time_zone_is_checked_when_the_config_loads() {
        assert_eq!(parse("").unwrap().time.zone, "UTC");
        let paris = parse("[time]\nzone = \"Europe/Paris\"\n").unwrap();
        assert_eq!(paris.time.time_zone().iana_name(), Some("Europe/Paris"));
        let e = parse("[time]\nzone = \"Europe/Atlantis\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "config is invalid: [time] zone `Europe/Atlantis` is not a time zone: \
             use an IANA name such as UTC, Europe/Paris or America/New_York"
        );
    }
}

//! The host's one error type, shared by every host crate.

use std::path::PathBuf;

use dossier_sdk::ObjectKind;

/// Everything that can go wrong in the host. Each variant carries what a user
/// needs to fix the problem, and its message is one sentence.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has an unknown or mistyped key.
    #[error("config file {path} is invalid: {message}")]
    ConfigParse {
        /// The file (or `<inline>`).
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The config parses but says something impossible.
    #[error("config is invalid: {0}")]
    Config(String),
    /// A custom field definition changed in a way existing records cannot follow.
    #[error(
        "custom field `{object}.{field}` cannot change: {reason}; keep the old definition or add a new field"
    )]
    IncompatibleField {
        /// The object the field belongs to.
        object: ObjectKind,
        /// The field.
        field: String,
        /// What changed and why it is refused.
        reason: String,
    },
    /// A record failed validation.
    #[error("{object} is invalid: field `{field}` {rule}")]
    Validation {
        /// The kind of record.
        object: ObjectKind,
        /// The field (standard or custom).
        field: String,
        /// The rule broken, phrased to follow the field name.
        rule: String,
    },
    /// A record that was asked for does not exist.
    #[error("{object} {key} not found")]
    NotFound {
        /// The kind of record.
        object: ObjectKind,
        /// How it was looked up (`#12`, `account AC-000001`).
        key: String,
    },
    /// A record with the same unique key already exists.
    #[error("{object} with {key} already exists")]
    Duplicate {
        /// The kind of record.
        object: ObjectKind,
        /// The unique key (`account AC-000001`).
        key: String,
    },
    /// The operation is not allowed in the record's current state.
    #[error("{0}")]
    Refused(String),
    /// A disposition code that the channel's `[dispositions.<channel>]` does not list.
    #[error("unknown disposition code `{code}` for {channel} interactions; {}", valid_codes(*.channel, .valid))]
    UnknownDisposition {
        /// The interaction's channel.
        channel: dossier_sdk::Channel,
        /// The code given.
        code: String,
        /// The codes configured for the channel.
        valid: Vec<String>,
    },
    /// The channel requires a disposition code to finish an interaction.
    #[error("{channel} interactions must end with a disposition code; {}", valid_codes(*.channel, .valid))]
    DispositionRequired {
        /// The interaction's channel.
        channel: dossier_sdk::Channel,
        /// The codes configured for the channel.
        valid: Vec<String>,
    },
    /// A notification cannot be sent as it stands.
    #[error("notification is invalid: {field} {rule}")]
    InvalidNotification {
        /// What is wrong (`from`, `to[1]`, `subject`).
        field: String,
        /// The rule broken, phrased to follow the field name.
        rule: String,
    },
    /// Follow-ups are append-only.
    #[error("follow-up {0} cannot be modified or deleted: follow-ups are append-only")]
    FollowUpImmutable(i64),
    /// A script or plugin vetoed the operation; the write was rolled back.
    #[error("vetoed by {by}: {message}")]
    Vetoed {
        /// The script file or plugin name.
        by: String,
        /// The veto message.
        message: String,
    },
    /// A Rhai script failed to compile or run.
    #[error("script error in {file}:{line}:{column}: {message}")]
    Script {
        /// The script file.
        file: String,
        /// 1-based line, 0 when unknown.
        line: usize,
        /// 1-based column, 0 when unknown.
        column: usize,
        /// What went wrong, with the offending source line when known.
        message: String,
    },
    /// A native plugin could not be loaded or failed while handling an event.
    #[error("plugin {plugin}: {message}")]
    Plugin {
        /// The plugin name or library path.
        plugin: String,
        /// What went wrong and what to do about it.
        message: String,
    },
    /// A chain of writes caused by hooks went past `[events] max_depth`.
    #[error(
        "causal chain too deep: more than {limit} levels of writes caused by hooks ({}); a hook probably triggers itself",
        describe_chain(.chain)
    )]
    ChainTooDeep {
        /// The configured maximum depth.
        limit: u32,
        /// The scripts and plugins whose writes led there, origin first.
        chain: Vec<String>,
    },
    /// The database failed; the message is the database's own.
    #[error("database error: {0}")]
    Db(String),
    /// Another writer kept the store locked longer than this write would
    /// wait (`[store] busy_timeout_ms`); nothing was written.
    #[error(
        "the store stayed locked by another writer for {waited_ms} ms, so nothing was written; \
         try again, or let writers wait longer ([store] busy_timeout_ms)"
    )]
    StoreBusy {
        /// How long the write waited, in milliseconds.
        waited_ms: u64,
    },
    /// No enabled agent has this login.
    #[error("unknown agent `{login}`: no enabled agent has this login")]
    UnknownAgent {
        /// The login asked for.
        login: String,
    },
    /// The acting agent lacks the permission an operation needs.
    #[error("agent {login} may not {action}: the `{permission}` permission is missing")]
    PermissionDenied {
        /// The acting agent.
        login: String,
        /// The permission that is missing.
        permission: dossier_sdk::Permission,
        /// What was refused, phrased to follow "may not".
        action: String,
    },
    /// An agent wrote a follow-up of a kind only the host itself writes
    /// (`system`, `email_in`): those record what Dossier did or received,
    /// and a hand-written one would pass for it. Its code is
    /// `permission_denied`, as no permission grants it.
    #[error(
        "agent {login} may not write a follow-up of kind `{kind}`: only Dossier itself writes {kind} follow-ups; write a note instead"
    )]
    ReservedFollowUpKind {
        /// The acting agent.
        login: String,
        /// The kind refused (`system`, `email_in`).
        kind: String,
    },
    /// A record the acting agent may not see, or that does not exist: the
    /// two are refused alike, so the refusal tells nothing about which.
    #[error(
        "agent {login} cannot see {what}: it does not exist, or it is private and seeing it needs the `see_all_private` permission"
    )]
    Hidden {
        /// The record asked for (`case 12`).
        what: String,
        /// The acting agent.
        login: String,
    },
    /// A record was to be handed to an agent, or a group's members, who may
    /// not see its private case: an email transferred to their workbin
    /// would show them what the case keeps from them.
    #[error(
        "{recipient} may not see case {case}: it is private; give them the case (as its owner or group) first, or hand it to someone who may see it"
    )]
    RecipientCannotSee {
        /// Who it was for (`agent bob`, `group tier3 (its member bob)`).
        recipient: String,
        /// The private case.
        case: dossier_sdk::CaseNumber,
    },
    /// The file named as the store exists but is not a Dossier store.
    #[error("{path} is not a Dossier store: {reason}")]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// What it is instead, and what to do.
        reason: String,
    },
    /// No store file at the configured path. Only `dossier init` (or
    /// `HostBuilder::create_if_missing`) creates one: a store that was
    /// moved, or a misspelt `[store] path`, must not silently become a new
    /// empty store.
    #[error(
        "there is no store at {path}: correct [store] path if the file was moved or the path is misspelt, or create a new store with `dossier init`"
    )]
    StoreMissing {
        /// The path the store was looked for at.
        path: PathBuf,
    },
    /// The database file was written by a newer Dossier.
    #[error(
        "database schema version {found} is newer than this dossier supports ({supported}); upgrade dossier"
    )]
    SchemaTooNew {
        /// The version in the file.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done (`cannot write`).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Data read back could not be decoded; the store is damaged or was edited by hand.
    #[error("corrupt data in {0}")]
    Corrupt(String),
    /// A command-line option or argument (or what it read from a file or
    /// stdin) cannot be used as given.
    #[error("{what}: {message}")]
    InvalidInput {
        /// The option or argument (`--due`, `--until`, `--note-file`).
        what: String,
        /// What is wrong with it, with the value when that helps.
        message: String,
    },
    /// A restore found the store open elsewhere (a host, `dossier run`,
    /// a `sqlite3` shell): it never overwrites a store in use.
    #[error(
        "{path} is in use: another process has the store open; stop it (hosts, `dossier run`, sqlite3 shells) and restore again"
    )]
    StoreInUse {
        /// The store file.
        path: PathBuf,
    },
    /// The folder given to restore is not a complete, intact backup.
    #[error("{path} is not a Dossier backup: {reason}")]
    NotABackup {
        /// The folder.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },
    /// An inbound email could not be read as a message.
    #[error("cannot read email {source_name}: {reason}")]
    BadEmail {
        /// Where it came from (a file name, `stdin`, or `message`).
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No chat has this id.
    #[error("there is no chat {id}")]
    UnknownChat {
        /// The id asked for.
        id: i64,
    },
    /// A chat named a queue that `[chat.queues]` does not configure.
    #[error("unknown queue `{queue}`; {}", known_queues(.known))]
    UnknownQueue {
        /// The queue named.
        queue: String,
        /// The configured queues.
        known: Vec<String>,
    },
    /// A chat message is longer than a chat message may be. The text is
    /// kept here, whole, so that nothing typed is lost.
    #[error(
        "a chat message holds at most {max} characters; this one has {chars}: shorten it (the text was kept)"
    )]
    MessageTooLong {
        /// How many characters it has.
        chars: usize,
        /// The most a message may have (1940).
        max: usize,
        /// The text, as given.
        text: String,
    },
    /// An API token id names no token the actor may see.
    #[error("there is no token #{id} of yours (see `dossier agent token list`)")]
    UnknownToken {
        /// The id asked for.
        id: i64,
    },
}

/// The end of an unknown-queue error.
fn known_queues(known: &[String]) -> String {
    if known.is_empty() {
        "there are no queues (an admin adds one with `dossier queue add` or under [chat.queues.<name>])".to_owned()
    } else {
        format!("queues: {}", known.join(", "))
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A causal chain in an error: `a → b → c`, long ones shortened.
fn describe_chain(chain: &[String]) -> String {
    match chain.len() {
        0 => "no handler named".to_owned(),
        n if n <= 6 => chain.join(" → "),
        n => format!(
            "{} → … {} more … → {}",
            chain[..3].join(" → "),
            n - 6,
            chain[n - 3..].join(" → ")
        ),
    }
}

/// The end of a disposition error: which codes the channel accepts.
fn valid_codes(channel: dossier_sdk::Channel, valid: &[String]) -> String {
    if valid.is_empty() {
        format!("no codes are configured for it (add them under [dispositions.{channel}])")
    } else {
        format!("valid codes: {}", valid.join(", "))
    }
}

/// What the message of a script stopped by its time limit contains (the
/// scripts crate writes it; [`Error::may_pass`] reads it).
pub const SCRIPT_TIMEOUT: &str = "([scripts.limits] timeout_ms)";

impl Error {
    /// Every code [`Error::code`] returns, in declaration order.
    pub const CODES: [&'static str; 35] = [
        "config_read",
        "config_parse",
        "config_invalid",
        "incompatible_field",
        "validation",
        "not_found",
        "duplicate",
        "refused",
        "unknown_disposition",
        "disposition_required",
        "invalid_notification",
        "follow_up_immutable",
        "vetoed",
        "script",
        "plugin",
        "chain_too_deep",
        "database",
        "store_busy",
        "unknown_agent",
        "permission_denied",
        "hidden",
        "recipient_cannot_see",
        "not_a_store",
        "schema_too_new",
        "io",
        "corrupt",
        "invalid_input",
        "store_in_use",
        "not_a_backup",
        "bad_email",
        "unknown_chat",
        "unknown_queue",
        "message_too_long",
        "unknown_token",
        "store_missing",
    ];

    /// Whether the same operation may succeed if simply tried again later,
    /// nothing changed: the store was busy, the disk or the database
    /// failed, a script ran out of time. A mail server retries these (exit
    /// 75); any other failure of an inbound email is kept as held mail.
    pub fn may_pass(&self) -> bool {
        match self {
            Error::StoreBusy { .. }
            | Error::Io { .. }
            | Error::Db(_)
            | Error::StoreInUse { .. } => true,
            Error::Script { message, .. } => message.contains(SCRIPT_TIMEOUT),
            _ => false,
        }
    }

    /// A stable, machine-readable name for the kind of error (`validation`,
    /// `vetoed`, `chain_too_deep`, ...): what tools match on, since messages
    /// may be reworded. A code never changes meaning once released.
    pub fn code(&self) -> &'static str {
        match self {
            Error::ConfigRead { .. } => "config_read",
            Error::ConfigParse { .. } => "config_parse",
            Error::Config(_) => "config_invalid",
            Error::IncompatibleField { .. } => "incompatible_field",
            Error::Validation { .. } => "validation",
            Error::NotFound { .. } => "not_found",
            Error::Duplicate { .. } => "duplicate",
            Error::Refused(_) => "refused",
            Error::UnknownDisposition { .. } => "unknown_disposition",
            Error::DispositionRequired { .. } => "disposition_required",
            Error::InvalidNotification { .. } => "invalid_notification",
            Error::FollowUpImmutable(_) => "follow_up_immutable",
            Error::Vetoed { .. } => "vetoed",
            Error::Script { .. } => "script",
            Error::Plugin { .. } => "plugin",
            Error::ChainTooDeep { .. } => "chain_too_deep",
            Error::Db(_) => "database",
            Error::StoreBusy { .. } => "store_busy",
            Error::UnknownAgent { .. } => "unknown_agent",
            Error::PermissionDenied { .. } | Error::ReservedFollowUpKind { .. } => {
                "permission_denied"
            }
            Error::Hidden { .. } => "hidden",
            Error::RecipientCannotSee { .. } => "recipient_cannot_see",
            Error::NotAStore { .. } => "not_a_store",
            Error::SchemaTooNew { .. } => "schema_too_new",
            Error::Io { .. } => "io",
            Error::Corrupt(_) => "corrupt",
            Error::InvalidInput { .. } => "invalid_input",
            Error::StoreInUse { .. } => "store_in_use",
            Error::NotABackup { .. } => "not_a_backup",
            Error::BadEmail { .. } => "bad_email",
            Error::UnknownChat { .. } => "unknown_chat",
            Error::UnknownQueue { .. } => "unknown_queue",
            Error::MessageTooLong { .. } => "message_too_long",
            Error::UnknownToken { .. } => "unknown_token",
            Error::StoreMissing { .. } => "store_missing",
        }
    }

    /// A [`Error::Validation`] of `object`'s `field`.
    pub fn invalid(object: ObjectKind, field: &str, rule: impl Into<String>) -> Error {
        Error::Validation {
            object,
            field: field.to_owned(),
            rule: rule.into(),
        }
    }

    /// An [`Error::InvalidInput`] about `what`.
    pub fn input(what: impl Into<String>, message: impl Into<String>) -> Error {
        Error::InvalidInput {
            what: what.into(),
            message: message.into(),
        }
    }

    /// An [`Error::NotFound`] of `object` looked up by `key`.
    pub fn not_found(object: ObjectKind, key: impl Into<String>) -> Error {
        Error::NotFound {
            object,
            key: key.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    /// The codes `Error::code` returns, read from its own match arms.
    fn codes_in_the_match() -> Vec<String> {
        let source = include_str!("error.rs");
        let start = source
            .find("pub fn code(&self)")
            .expect("Error::code is in this file");
        let body = &source[start..];
        let end = body.find("\n    }\n").expect("the end of Error::code");
        // An arm is `Variant => "code",` or, when rustfmt wraps it, a
        // block whose line is the bare `"code"`.
        body[..end]
            .lines()
            .filter_map(|line| {
                let line = line.trim();
                let literal = match line.split_once("=> \"") {
                    Some((_, rest)) => rest,
                    None => line.strip_prefix('"')?,
                };
                literal.split_once('"').map(|(code, _)| code.to_owned())
            })
            .collect()
    }

    #[test]
    fn codes_lists_every_code_the_match_returns_once_in_order() {
        let in_match = codes_in_the_match();
        assert!(in_match.len() > 30, "{in_match:?}");
        assert_eq!(
            in_match,
            Error::CODES,
            "Error::CODES and Error::code disagree"
        );
    }
}

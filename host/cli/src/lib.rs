//! # dossier-cli
//!
//! The `dossier` command line: argument parsing and one module per command
//! group, on the `dossier-host` facade alone (it names no lower crate).
//!
//! Commands print records for people by default and as JSON with `--json`.
//! Errors come back as the host's [`Error`]; [`run`] prints them as one
//! sentence and turns them into the exit code, so nothing in here ends the
//! process. Not a library API: the binary and the project's tests use it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Writes a line to stderr, as `eprintln!` does, but never panics: a
/// closed or full stderr loses the line and the command goes on to its
/// normal exit code (`eprintln!` would abort it with 101).
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod agents;
mod chat;
mod demo;
mod demo_serve;
mod dispose;
mod email;
mod faq;
mod init;
mod input;
mod logging;
mod notify;
mod ops;
mod outbox;
mod output;
mod plugin;
mod pop;
mod progress;
mod queue;
mod records;
mod run;
mod script;
mod search;
mod serve;
mod simulate;
mod transfer;

/// What the project's benchmarks reach below the command line: the
/// simulated chat day (the CSV importer they measure is the facade's,
/// `Host::import_csv`). Not an API.
#[doc(hidden)]
pub mod test_support {
    pub use crate::simulate::{AgentDay, SimulateOptions, Simulation, Spread, simulate};

    /// Every command that does something, as typed after `dossier`
    /// (`case open`, `agent token new`), for the test that maps each one
    /// to its HTTP route.
    pub fn command_paths() -> Vec<String> {
        fn walk(command: &clap::Command, prefix: &str, out: &mut Vec<String>) {
            for sub in command.get_subcommands() {
                let path = format!("{prefix}{}", sub.get_name());
                if sub.has_subcommands() {
                    walk(sub, &format!("{path} "), out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(
            &<super::Cli as clap::CommandFactory>::command(),
            "",
            &mut out,
        );
        out
    }
}

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use dossier_host::Host;
use dossier_host::config::Config;
use dossier_host::{Error, Result};

pub(crate) use output::Out;

/// What `dossier --help` opens with: what Dossier is, not what the crate holds.
const ABOUT: &str = "Dossier: a contact-centre CRM. Keeps customers, cases, follow-ups and tasks \
(with the custom fields your dossier.toml defines) in one SQLite file, pops the right record \
when a call or chat comes in, records dispositions and fires task reminders; admins extend it \
with Rhai scripts, developers with native plugins.";

/// Shown after the command list of `dossier --help`.
const EXAMPLES: &str = "\
Examples:
  dossier init                                     a commented dossier.toml and an empty store here
  dossier customer add --account AC-1 --name \"Ada Lovelace\" --phone \"+33 1 23 45 67 89\"
  dossier case open --customer AC-1 --subject \"Jet scheduling problem\"
  dossier followup add --case 1 --note-file call.txt   (or --note - to read stdin)
  dossier task add --case 1 --subject \"Call back\" --due \"tomorrow 09:00\" --remind 15
  dossier --json pop --phone +33123456789          what a screen-pop shows, as JSON
  dossier run                                      fire reminders until Ctrl-C or SIGTERM
  dossier import customers customers.csv --rejects bad.csv
  dossier backup /srv/backups/today                a consistent copy while others keep writing

The config is --config PATH, else $DOSSIER_CONFIG, else dossier.toml in this folder or the
nearest parent folder that has one. `dossier completions bash|zsh|fish` prints shell
completions; `dossier man` prints the manual page.";

#[derive(Debug, Parser)]
#[command(
    name = "dossier",
    version,
    about = ABOUT,
    after_help = EXAMPLES,
    max_term_width = 100
)]
struct Cli {
    /// The config file [default: $DOSSIER_CONFIG, else dossier.toml here or in the nearest parent folder].
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Print records as JSON (for scripts and other tools); errors become
    /// {"error": {"code": ..., "message": ...}} on stderr.
    #[arg(long, global = true)]
    json: bool,
    /// Act as this agent [default: $DOSSIER_AGENT, then $USER]. On a store
    /// that has no agents yet, commands run as `system`.
    #[arg(long = "as", global = true, value_name = "LOGIN")]
    as_agent: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a commented dossier.toml with example custom fields and create the database;
    /// beside an existing config whose database is missing, create that database. The one
    /// command that creates a store: every other refuses a missing one.
    Init(init::InitArgs),
    /// Run a short contact-centre session on a throw-away store and show what happens.
    Demo(demo::DemoArgs),
    /// Customers: add, show, list, update, find.
    #[command(subcommand)]
    Customer(records::CustomerCmd),
    /// Cases: open, show, list, update, assign, close.
    #[command(subcommand)]
    Case(records::CaseCmd),
    /// Follow-ups (append-only): add, show, list.
    #[command(subcommand, name = "followup")]
    FollowUp(records::FollowUpCmd),
    /// Tasks: add, list, update (reschedule), done, cancel, reminders.
    #[command(subcommand)]
    Task(records::TaskCmd),
    /// Show what an interaction pops: a case, a customer, candidates or a new-customer form.
    Pop(pop::PopArgs),
    /// End an interaction with a disposition code, or without one (--none).
    Dispose(dispose::DisposeArgs),
    /// Check a notification, run it through the notification hooks, and send it over SMTP after commit when [email.smtp] is set.
    Notify(notify::NotifyArgs),
    /// Fire task reminders as they come due and deliver the outbox, until Ctrl-C or SIGTERM.
    Run(run::RunArgs),
    /// Serve the HTTP/JSON API agents and integrations sign in to, until SIGTERM or Ctrl-C.
    Serve(serve::ServeArgs),
    /// Rhai scripts: check, test a hook on a JSON file (dry run), docs.
    #[command(subcommand)]
    Script(script::ScriptCmd),
    /// Native plugins: list the configured ones, inspect a library.
    #[command(subcommand)]
    Plugin(plugin::PluginCmd),
    /// After-save deliveries: list pending, failed and dead ones; retry them.
    #[command(subcommand)]
    Outbox(outbox::OutboxCmd),
    /// Agents: add, list, show, profile (your own), update (role, groups, permissions), disable, enable.
    #[command(subcommand)]
    Agent(agents::AgentCmd),
    /// Groups (teams): add, list, members.
    #[command(subcommand)]
    Group(agents::GroupCmd),
    /// Search cases, follow-ups and customers by the words in them, best first
    /// (the newest first for words found in very many records).
    Search(search::SearchArgs),
    /// Email: ingest raw messages (files, stdin from an MTA, a maildir) as follow-ups on their cases.
    #[command(subcommand)]
    Email(email::EmailCmd),
    /// Your workbin: emails waiting for you or your group; list, show, done, save.
    #[command(subcommand)]
    Workbin(email::WorkbinCmd),
    /// The FAQ base agents insert by /shortcut: add, list, show, update, remove, search.
    #[command(subcommand)]
    Faq(faq::FaqCmd),
    /// Agents' and groups' signatures: add, list, remove, default.
    #[command(subcommand)]
    Signature(faq::SignatureCmd),
    /// Attachments of emails: get one's bytes by its id.
    #[command(subcommand)]
    Attachment(email::AttachmentCmd),
    /// QA review of outbound email: list the queue, show, approve, reject with remarks.
    #[command(subcommand)]
    Review(email::ReviewCmd),
    /// Import customers or cases from a CSV file: every row validated like any write, bad rows reported.
    #[command(subcommand)]
    Import(transfer::ImportCmd),
    /// Export customers, cases or follow-ups as CSV or JSON lines, streaming.
    Export(transfer::ExportArgs),
    /// Copy the store into a folder while it stays in use: a consistent snapshot and a manifest.
    Backup(ops::BackupArgs),
    /// Replace the store with a backup; refused while anything has the store open.
    Restore(ops::RestoreArgs),
    /// Remove attachment files no record references (never one written after gc started).
    Gc,
    /// Chat: your state, accept, reject, send, end, log, list; simulate a day.
    #[command(subcommand)]
    Chat(chat::ChatCmd),
    /// Queues: list, show, add, remove (admins); join and leave your own (manage_own_queues).
    #[command(subcommand)]
    Queue(queue::QueueCmd),
    /// Print the completion script for a shell: bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `dossier man > dossier.1`.
    Man,
}

/// Entry point of the `dossier` binary: runs the command line given in
/// `args` (program name first) and returns the exit code for the process.
///
/// - `0`: the command succeeded, `--help` or `--version` was printed, or
///   whoever read stdout closed it early (`dossier ... | head`).
/// - `1`: the command failed; the error was printed on stderr as one
///   sentence, `error: ...`.
/// - `2`: the arguments were wrong; clap's usage message was printed.
///
/// Log events (plugin log lines, script prints) go to stderr through a
/// `tracing` subscriber filtered by `DOSSIER_LOG`, installed here unless the
/// process already has one.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with success; usage errors print
            // clap's own message (already one clear paragraph), as JSON
            // when `--json` was asked for, and exit 2.
            if e.use_stderr() && json_asked(&args) {
                note!("{}", usage_error_json(&e));
            } else {
                let _ = e.print();
            }
            return u8::try_from(e.exit_code()).map_or(ExitCode::FAILURE, ExitCode::from);
        }
    };
    logging::install();
    let json = cli.json;
    // An MTA pipes mail into `email ingest` and reads its exit code.
    let sysexits = matches!(cli.command, Command::Email(email::EmailCmd::Ingest(_)));
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if output::closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                note!("{}", json_error(&e));
            } else {
                note!("error: {}", output::printable(&e.to_string()));
            }
            if sysexits {
                ExitCode::from(email::exit_code(&e))
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Whether `--json` is among the arguments clap could not parse (before a
/// `--`, which ends the options).
fn json_asked(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| a.as_os_str() != "--")
        .any(|a| a.as_os_str() == "--json")
}

/// A usage error as `--json` prints it: code `usage`, and clap's message
/// without its `error: ` prefix, its usage line and its help hint kept.
fn usage_error_json(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let message = text.trim().strip_prefix("error: ").unwrap_or(text.trim());
    serde_json::json!({
        "error": { "code": "usage", "message": message }
    })
    .to_string()
}

/// `error` as `--json` prints it: `{"error": {"code": ..., "message": ...}}`,
/// the code from [`Error::code`], on one line.
fn json_error(error: &Error) -> String {
    serde_json::json!({
        "error": { "code": error.code(), "message": error.to_string() }
    })
    .to_string()
}

/// The environment variable naming the config file when `--config` is not given.
pub(crate) const CONFIG_ENV: &str = "DOSSIER_CONFIG";

/// The config's file name, looked for here and in parent folders.
const CONFIG_FILE: &str = "dossier.toml";

/// Which config file a command uses: `--config`, else `$DOSSIER_CONFIG`,
/// else `dossier.toml` in the current folder or the nearest parent folder
/// holding one (as cargo finds `Cargo.toml`), else `dossier.toml` here
/// (where `init` writes it, and what the "no config" error names). `init`
/// does not look in parent folders: it starts a store where it is run.
fn config_path(explicit: Option<PathBuf>, search_parents: bool) -> PathBuf {
    if let Some(path) = explicit {
        return path;
    }
    if let Some(path) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    if search_parents
        && let Ok(here) = std::env::current_dir()
        && let Some(dir) = here.ancestors().find(|dir| dir.join(CONFIG_FILE).is_file())
    {
        // Found here: named as typed, so messages say `dossier.toml`.
        return if dir == here {
            PathBuf::from(CONFIG_FILE)
        } else {
            dir.join(CONFIG_FILE)
        };
    }
    PathBuf::from(CONFIG_FILE)
}

/// Runs the parsed command.
fn execute(cli: Cli) -> Result<()> {
    let out = Out::new(cli.json);
    let init = matches!(cli.command, Command::Init(_));
    let config = config_path(cli.config, !init);
    let as_agent = cli.as_agent;
    let open = |config: &Path| open_as(config, as_agent.as_deref());
    match cli.command {
        Command::Init(args) => init::run(&config, args, &out),
        Command::Demo(args) => demo::run(args, &out),
        Command::Customer(cmd) => records::customer(&open(&config)?, cmd, &out),
        Command::Case(cmd) => records::case(&open(&config)?, cmd, &out),
        Command::FollowUp(cmd) => records::follow_up(&open(&config)?, cmd, &out),
        Command::Task(cmd) => records::task(&open(&config)?, cmd, &out),
        Command::Pop(args) => pop::run(&open(&config)?, args, &out),
        Command::Dispose(args) => dispose::run(&open(&config)?, args, &out),
        Command::Notify(args) => notify::run(&open(&config)?, args, &out),
        Command::Run(args) => {
            refuse_when_served(&config)?;
            run::run(&open(&config)?, args, &out)
        }
        Command::Serve(args) => serve::run(&config, args, as_agent.as_deref()),
        Command::Script(cmd) => script::run(&config, cmd, &out),
        Command::Plugin(cmd) => plugin::run(&config, cmd, &out),
        Command::Outbox(cmd) => outbox::run(&open(&config)?, cmd, &out),
        Command::Agent(cmd) => agents::agent(&open(&config)?, cmd, &out),
        Command::Group(cmd) => agents::group(&open(&config)?, cmd, &out),
        Command::Search(args) => search::run(&open(&config)?, args, &out),
        Command::Email(cmd) => email::email(&open(&config)?, cmd, &out),
        Command::Workbin(cmd) => email::workbin(&open(&config)?, cmd, &out),
        Command::Attachment(cmd) => email::attachment(&open(&config)?, cmd, &out),
        Command::Review(cmd) => email::review(&open(&config)?, cmd, &out),
        Command::Faq(cmd) => faq::faq(&open(&config)?, cmd, &out),
        Command::Signature(cmd) => faq::signature_cmd(&open(&config)?, cmd, &out),
        Command::Import(cmd) => {
            let host = if cmd.no_hooks() {
                let mut config = load(&config)?;
                config.scripts.enabled = false;
                config.plugins.clear();
                act_as(Host::open(config)?, as_agent.as_deref())?
            } else {
                open(&config)?
            };
            transfer::import(&host, cmd, &out)
        }
        Command::Export(args) => transfer::export(&open(&config)?, args),
        Command::Backup(args) => ops::backup(&open(&config)?, args, &out),
        Command::Restore(args) => ops::restore(&config, args, &out, as_agent.as_deref()),
        Command::Gc => ops::gc(&open(&config)?, &out),
        Command::Chat(chat::ChatCmd::Simulate(args)) => chat::simulate_cmd(args, &out),
        Command::Chat(cmd) => chat::run(&open(&config)?, cmd, &out),
        Command::Queue(cmd) => queue::run(&open(&config)?, cmd, &out),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "dossier", &mut script);
            output::emit(&String::from_utf8_lossy(&script))
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|source| Error::Io {
                    what: "cannot render the manual page to",
                    path: PathBuf::from(output::STDOUT),
                    source,
                })?;
            output::emit(&String::from_utf8_lossy(&page))
        }
    }
}

/// Refuses to start `dossier run` on a store a server holds: the server
/// does that work (from `dossier serve` part 2 on), and two loops would
/// compete for the same reminders.
fn refuse_when_served(config: &Path) -> Result<()> {
    let store = load(config)?.store_path();
    match dossier_server::lock::held(&store) {
        Ok(Some(server)) => Err(Error::Refused(format!(
            "a server serves {} ({server}): it does what `dossier run` would; stop it first",
            store.display()
        ))),
        Ok(None) => Ok(()),
        Err(e) => Err(Error::Refused(e.to_string())),
    }
}

/// Opens the host `config` describes, acting as the agent the command line
/// names: `--as LOGIN`, else `$DOSSIER_AGENT`, else `$USER`. A store that
/// has no agent yet is single-user and runs as `system` (unless `--as` was
/// given, which needs the agent to exist); otherwise the agent must exist
/// and be enabled.
pub(crate) fn open_as(config: &Path, explicit: Option<&str>) -> Result<Host> {
    act_as(open(config)?, explicit)
}

/// `host` acting as the agent the command line names (see [`open_as`]).
fn act_as(host: Host, explicit: Option<&str>) -> Result<Host> {
    if host.agents()?.is_empty() && explicit.is_none() {
        return Ok(host);
    }
    let login = explicit.map(str::to_owned).unwrap_or_else(default_login);
    host.as_agent(&login)
}

/// Who runs the command line when `--as` is not given: `$DOSSIER_AGENT`,
/// then `$USER`, then `admin`.
pub(crate) fn default_login() -> String {
    std::env::var("DOSSIER_AGENT")
        .ok()
        .filter(|l| !l.is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|l| !l.is_empty()))
        .unwrap_or_else(|| "admin".to_owned())
}

/// Loads the config and opens the host it describes.
pub(crate) fn open(config: &Path) -> Result<Host> {
    Host::open(load(config)?)
}

/// Loads the config, with the "run `dossier init`" error when it is missing.
fn load(config: &Path) -> Result<Config> {
    if !config.exists() {
        return Err(Error::Refused(format!(
            "no config file at {}: run `dossier init` first, pass --config PATH, or set {CONFIG_ENV}",
            config.display()
        )));
    }
    Config::load(config)
}

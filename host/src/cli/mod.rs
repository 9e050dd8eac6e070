//! The `dossier` command line: argument parsing and one module per command group.
//!
//! Commands print records for people by default and as JSON with `--json`.
//! Errors come back as the host's [`Error`]; [`run`] prints them as one
//! sentence and turns them into the exit code, so nothing in here ends the
//! process.

mod demo;
mod dispose;
mod init;
mod logging;
mod notify;
mod outbox;
mod output;
mod plugin;
mod pop;
mod records;
mod run;
mod script;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::host::Host;

pub(crate) use output::Out;

/// Dossier: the contact-centre CRM.
#[derive(Debug, Parser)]
#[command(name = "dossier", version, about, max_term_width = 100)]
struct Cli {
    /// The config file.
    #[arg(
        long,
        global = true,
        default_value = "dossier.toml",
        value_name = "PATH"
    )]
    config: PathBuf,
    /// Print records as JSON (for scripts and other tools).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a commented dossier.toml with example custom fields and create the database.
    Init(init::InitArgs),
    /// Run a short contact-centre session on a throw-away store and show what happens.
    Demo(demo::DemoArgs),
    /// Customers: add, show, list, update, find.
    #[command(subcommand)]
    Customer(records::CustomerCmd),
    /// Cases: open, show, list, update, assign, close.
    #[command(subcommand)]
    Case(records::CaseCmd),
    /// Follow-ups (append-only): add, list.
    #[command(subcommand, name = "followup")]
    FollowUp(records::FollowUpCmd),
    /// Tasks: add, list, done, reminders.
    #[command(subcommand)]
    Task(records::TaskCmd),
    /// Show what an interaction pops: a case, a customer, candidates or a new-customer form.
    Pop(pop::PopArgs),
    /// End an interaction with a disposition code, or without one (--none).
    Dispose(dispose::DisposeArgs),
    /// Check a notification and run it through the notification hooks (a sending plugin such as smtp-notify sends it).
    Notify(notify::NotifyArgs),
    /// Fire task reminders as they come due and deliver the outbox, until Ctrl-C or SIGTERM.
    Run(run::RunArgs),
    /// Rhai scripts: check, test a hook on a JSON file (dry run), docs.
    #[command(subcommand)]
    Script(script::ScriptCmd),
    /// Native plugins: list the configured ones, inspect a library.
    #[command(subcommand)]
    Plugin(plugin::PluginCmd),
    /// After-save deliveries: list pending, failed and dead ones; retry them.
    #[command(subcommand)]
    Outbox(outbox::OutboxCmd),
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
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with success; usage errors print
            // clap's own message (already one clear paragraph) and exit 2.
            let _ = e.print();
            return u8::try_from(e.exit_code()).map_or(ExitCode::FAILURE, ExitCode::from);
        }
    };
    logging::install();
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if output::closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the parsed command.
fn execute(cli: Cli) -> Result<()> {
    let out = Out::new(cli.json);
    match cli.command {
        Command::Init(args) => init::run(&cli.config, args, &out),
        Command::Demo(args) => demo::run(args, &out),
        Command::Customer(cmd) => records::customer(&open(&cli.config)?, cmd, &out),
        Command::Case(cmd) => records::case(&open(&cli.config)?, cmd, &out),
        Command::FollowUp(cmd) => records::follow_up(&open(&cli.config)?, cmd, &out),
        Command::Task(cmd) => records::task(&open(&cli.config)?, cmd, &out),
        Command::Pop(args) => pop::run(&open(&cli.config)?, args, &out),
        Command::Dispose(args) => dispose::run(&open(&cli.config)?, args, &out),
        Command::Notify(args) => notify::run(&open(&cli.config)?, args, &out),
        Command::Run(args) => run::run(&open(&cli.config)?, args, &out),
        Command::Script(cmd) => script::run(&cli.config, cmd, &out),
        Command::Plugin(cmd) => plugin::run(&cli.config, cmd, &out),
        Command::Outbox(cmd) => outbox::run(&open(&cli.config)?, cmd, &out),
    }
}

/// Loads the config and opens the host it describes.
pub(crate) fn open(config: &Path) -> Result<Host> {
    if !config.exists() {
        return Err(Error::Refused(format!(
            "no config file at {}: run `dossier init` first, or pass --config PATH",
            config.display()
        )));
    }
    Host::open(Config::load(config)?)
}

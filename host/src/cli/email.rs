//! `dossier email ingest`, `dossier workbin …` and `dossier attachment get`.
//!
//! `email ingest` is what a mail transfer agent pipes mail into (as with
//! rt-mailgate), so its exit codes follow sysexits(3): 0 when every message
//! was stored, dropped or seen before; 65 (`EX_DATAERR`) when a message
//! cannot be read as an email, which the MTA bounces; 64 (`EX_USAGE`) for
//! a wrong argument; 75 (`EX_TEMPFAIL`) for anything else (the store, a
//! failing script, a missing config), which the MTA retries later, so a
//! setup problem never bounces mail.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use dossier_sdk::{FollowUpId, Ingested, WorkbinItem};

use super::Out;
use super::output::{self, mailbox};
use crate::error::{Error, Result};
use crate::host::Host;

#[derive(Debug, Subcommand)]
pub(crate) enum EmailCmd {
    /// Ingest raw emails (RFC 5322 files, `-` for stdin, or a maildir's new/ folder): each becomes a follow-up on its case.
    Ingest(IngestArgs),
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// Message files; `-` reads one message from stdin (an MTA pipe).
    #[arg(required_unless_present = "maildir")]
    files: Vec<PathBuf>,
    /// Ingest every message in DIR/new, moving each to DIR/cur once its
    /// batch has committed.
    #[arg(long, value_name = "DIR", conflicts_with = "files")]
    maildir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum WorkbinCmd {
    /// What waits in your workbin (or another agent's, with --agent).
    List {
        /// Another agent's workbin (needs reassign_cases).
        #[arg(long)]
        agent: Option<String>,
        /// Include entries marked done.
        #[arg(long)]
        all: bool,
    },
    /// One entry, with its email.
    Show {
        /// The entry's id.
        id: i64,
    },
    /// Mark an entry done: it leaves the workbin.
    Done {
        /// The entry's id.
        id: i64,
    },
    /// Save an email (a follow-up) to your workbin for later.
    Save {
        /// The follow-up's id.
        #[arg(long = "follow-up", value_name = "ID")]
        follow_up: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AttachmentCmd {
    /// Write an attachment's bytes to a file, or to stdout.
    Get {
        /// The attachment's id, as `followup show` lists it.
        id: String,
        /// The file to write [default: stdout].
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// The sysexits(3) code for a failed `email ingest`.
pub(crate) fn exit_code(error: &Error) -> u8 {
    match error {
        Error::BadEmail { .. } => 65,
        Error::InvalidInput { .. } => 64,
        _ => 75,
    }
}

/// What became of one message, for people.
pub(crate) fn describe(outcome: &Ingested) -> String {
    match outcome {
        Ingested::Stored {
            case_number,
            follow_up,
            new_case,
            threaded_by,
            workbin,
        } => {
            let case = if *new_case {
                format!("opened case {case_number}")
            } else {
                format!("joined case {case_number}")
            };
            let bin = workbin
                .as_ref()
                .map(|w| format!(", in {w}'s workbin"))
                .unwrap_or_default();
            format!("{case} as follow-up #{follow_up}{bin}: {threaded_by}")
        }
        Ingested::Duplicate { follow_up, dropped } => match (follow_up, dropped) {
            (Some(f), _) => format!("seen before: follow-up #{f}; nothing new written"),
            (None, Some(why)) => format!("seen before and dropped ({why}); nothing new written"),
            (None, None) => "seen before; nothing new written".to_owned(),
        },
        Ingested::Dropped { reason } => format!("dropped: {reason}"),
    }
}

fn io_error(what: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Entry point of `dossier email`.
pub(crate) fn email(host: &Host, cmd: EmailCmd, out: &Out) -> Result<()> {
    match cmd {
        EmailCmd::Ingest(args) => match args.maildir {
            Some(dir) => maildir(host, &dir, out),
            None => files(host, &args.files, out),
        },
    }
}

/// What a run over several messages returns when some failed (each was
/// reported as it went): still a `BadEmail` when every failure was one, so
/// the exit code keeps its meaning.
fn summary(failures: Vec<Error>, total: usize) -> Result<()> {
    let Some(first) = failures.first() else {
        return Ok(());
    };
    if total == 1 {
        return Err(failures
            .into_iter()
            .next()
            .unwrap_or_else(|| Error::Refused(String::new())));
    }
    let n = failures.len();
    if failures.iter().all(|e| matches!(e, Error::BadEmail { .. })) {
        Err(Error::BadEmail {
            source_name: format!("input ({n} of {total} messages)"),
            reason: "they are not emails; see the errors above".to_owned(),
        })
    } else {
        Err(Error::Refused(format!(
            "{n} of {total} messages were not ingested (first: {first})"
        )))
    }
}

/// One line per message: its name and what became of it. A failure is
/// printed here only when there are several messages (a single one's error
/// is the command's).
fn report(out: &Out, name: &str, result: &Result<Ingested>, several: bool) -> Result<()> {
    match result {
        Ok(outcome) => {
            if out.json() {
                output::emit(&format!(
                    "{}\n",
                    serde_json::json!({ "source": name, "result": outcome })
                ))
            } else {
                out.say(format!("{name}: {}", describe(outcome)))
            }
        }
        Err(e) => {
            if several {
                eprintln!("error: {e}");
            }
            Ok(())
        }
    }
}

fn files(host: &Host, paths: &[PathBuf], out: &Out) -> Result<()> {
    let mut failures = Vec::new();
    for path in paths {
        let (name, bytes) = if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| io_error("cannot read", Path::new("stdin"), e))?;
            ("stdin".to_owned(), bytes)
        } else {
            let bytes = std::fs::read(path).map_err(|e| io_error("cannot read", path, e))?;
            (path.display().to_string(), bytes)
        };
        let result = host.ingest_email_from(&bytes, &name);
        report(out, &name, &result, paths.len() > 1)?;
        if let Err(e) = result {
            failures.push(e);
        }
    }
    summary(failures, paths.len())
}

/// Ingests DIR/new in batches of `[email] maildir_batch`; a message moves
/// to DIR/cur only after the transaction holding it has committed, so a
/// crash leaves it in new/ (and ingesting it again finds it already
/// stored). A message that cannot be read stays in new/ and is reported.
fn maildir(host: &Host, dir: &Path, out: &Out) -> Result<()> {
    let new = dir.join("new");
    let cur = dir.join("cur");
    std::fs::create_dir_all(&cur).map_err(|e| io_error("cannot create", &cur, e))?;
    let mut names: Vec<String> = std::fs::read_dir(&new)
        .map_err(|e| io_error("cannot list", &new, e))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    let batch = host.config().email.maildir_batch;
    let mut failures = Vec::new();
    let mut stored = 0usize;
    for chunk in names.chunks(batch) {
        let mut messages = Vec::with_capacity(chunk.len());
        for name in chunk {
            let path = new.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => messages.push((name.as_str(), bytes)),
                // Taken by another ingest meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("cannot read", &path, e)),
            }
        }
        let refs: Vec<(&str, &[u8])> = messages.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let results = host.ingest_emails(&refs);
        for ((name, _), result) in messages.iter().zip(results) {
            report(out, name, &result, true)?;
            match result {
                Ok(_) => {
                    stored += 1;
                    let flagged = if name.contains(":2,") {
                        (*name).to_owned()
                    } else {
                        format!("{name}:2,S")
                    };
                    let (from, to) = (new.join(name), cur.join(flagged));
                    match std::fs::rename(&from, &to) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io_error("cannot move", &from, e)),
                    }
                }
                Err(e) => failures.push(e),
            }
        }
    }
    out.say(format!(
        "{stored} message(s) ingested from {}{}",
        new.display(),
        if failures.is_empty() {
            String::new()
        } else {
            format!(", {} left in new/ (see the errors above)", failures.len())
        }
    ))?;
    let total = stored + failures.len();
    summary(failures, total.max(2))
}

fn describe_item(item: &WorkbinItem) -> String {
    let whose = match (&item.agent, &item.group) {
        (Some(a), _) => a.clone(),
        (None, Some(g)) => format!("group {g}"),
        (None, None) => String::new(),
    };
    let mut s = format!(
        "workbin entry {} ({whose}): case {} — {}\n  {}\n",
        item.id, item.case_number, item.subject, item.reason
    );
    if let Some(from) = &item.from {
        s.push_str(&format!("  from: {}\n", mailbox(from)));
    }
    if let Some(f) = item.follow_up {
        s.push_str(&format!("  email: follow-up #{f}\n"));
    }
    if let (Some(at), Some(by)) = (item.done_at, &item.done_by) {
        s.push_str(&format!("  done by {by} at {at}\n"));
    }
    s
}

/// Entry point of `dossier workbin`.
pub(crate) fn workbin(host: &Host, cmd: WorkbinCmd, out: &Out) -> Result<()> {
    match cmd {
        WorkbinCmd::List { agent, all } => {
            let items = match agent {
                Some(a) if !all => host.workbin(&a)?,
                Some(a) => host.workbin(&a)?.into_iter().collect(),
                None => host.my_workbin(all)?,
            };
            out.table(
                &items,
                &[
                    ("ID", &|i: &WorkbinItem| i.id.to_string()),
                    ("CASE", &|i: &WorkbinItem| i.case_number.to_string()),
                    ("FROM", &|i: &WorkbinItem| {
                        i.from.as_ref().map(mailbox).unwrap_or_default()
                    }),
                    ("SUBJECT", &|i: &WorkbinItem| i.subject.clone()),
                    ("WHY", &|i: &WorkbinItem| i.reason.clone()),
                    ("DONE", &|i: &WorkbinItem| {
                        i.done_by.clone().unwrap_or_default()
                    }),
                ],
                "your workbin is empty",
            )
        }
        WorkbinCmd::Show { id } => {
            let item = host.workbin_entry(id)?;
            out.one(&item, describe_item)?;
            if let (Some(f), false) = (item.follow_up, out.json()) {
                let zone = host.config().time.time_zone();
                output::emit(&output::follow_up(&host.follow_up(f)?, &zone))?;
            }
            Ok(())
        }
        WorkbinCmd::Done { id } => {
            let item = host.workbin_done(id)?;
            out.one(&item, |i| format!("workbin entry {} done\n", i.id))
        }
        WorkbinCmd::Save { follow_up } => {
            let item = host.save_to_workbin(FollowUpId(follow_up))?;
            out.one(&item, describe_item)
        }
    }
}

/// Entry point of `dossier attachment`.
pub(crate) fn attachment(host: &Host, cmd: AttachmentCmd, out: &Out) -> Result<()> {
    match cmd {
        AttachmentCmd::Get { id, output } => {
            let bytes = host.attachment(&id)?;
            match output {
                Some(path) => {
                    std::fs::write(&path, &bytes)
                        .map_err(|e| io_error("cannot write", &path, e))?;
                    out.say(format!(
                        "{} bytes written to {}",
                        bytes.len(),
                        path.display()
                    ))
                }
                None => {
                    use std::io::Write;
                    let mut stdout = std::io::stdout().lock();
                    stdout
                        .write_all(&bytes)
                        .and_then(|()| stdout.flush())
                        .map_err(|e| io_error("cannot write to", Path::new(output::STDOUT), e))
                }
            }
        }
    }
}

//! `script check`, `script test` and `script docs`: admin tooling for Rhai scripts.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde_json::json;

use super::Out;
use super::output::{emit, show, to_json};
use dossier_host::config::Config;
use dossier_host::scripts::{definitions, reference_markdown};
use dossier_host::{DryRun, DryRunOutcome, Scripts};
use dossier_host::{Error, Result};

/// `dossier script ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ScriptCmd {
    /// Compile every configured script and report every error with its position.
    Check,
    /// Run one hook on a record or event from a JSON file; nothing is committed.
    Test {
        /// The hook: before_save_case, on_screen_pop, ...
        hook: String,
        /// The record (for record hooks) or event data, as JSON; `-` reads
        /// standard input. Fields left out get the defaults the host gives
        /// them; a key no field has is refused.
        #[arg(long, value_name = "FILE.json")]
        input: PathBuf,
    },
    /// Print the reference of every type, property and function scripts can use.
    Docs {
        /// Write the Markdown reference to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also write Rhai definition files for editor completion into this directory.
        #[arg(long, value_name = "DIR")]
        definitions: Option<PathBuf>,
    },
}

/// Entry point of `dossier script`.
pub(crate) fn run(config: &Path, cmd: ScriptCmd, out: &Out) -> Result<()> {
    match cmd {
        ScriptCmd::Check => check(config, out),
        ScriptCmd::Test { hook, input } => test(config, &hook, &input, out),
        ScriptCmd::Docs {
            out: file,
            definitions: dir,
        } => docs(file.as_deref(), dir.as_deref(), out),
    }
}

fn check(config: &Path, out: &Out) -> Result<()> {
    if !config.exists() {
        return Err(Error::Refused(format!(
            "no config file at {}: run `dossier init` first, or pass --config PATH",
            config.display()
        )));
    }
    let config = Config::load(config)?;
    let report = Scripts::check(&config)?;
    if out.json() {
        let errors: Vec<serde_json::Value> = report
            .errors
            .iter()
            .chain(&report.findings)
            .map(|e| match e {
                Error::Script {
                    file,
                    line,
                    column,
                    message,
                } => json!({ "file": file, "line": line, "column": column, "message": message }),
                other => json!({ "message": other.to_string() }),
            })
            .collect();
        emit(&format!(
            "{}\n",
            to_json(&json!({ "scripts": report.scripts, "errors": errors }))
        ))?;
    } else {
        for s in &report.scripts {
            let hooks = if s.hooks.is_empty() {
                "no hooks".to_owned()
            } else {
                s.hooks.join(", ")
            };
            // Compiled, but the walk found mistakes: not "ok".
            let mistakes = report
                .findings
                .iter()
                .filter(|e| matches!(e, Error::Script { file, .. } if *file == s.name))
                .count();
            let status = if mistakes == 0 { "ok   " } else { "check" };
            show(&format!("{status} {} ({hooks})\n", s.name))?;
            for w in &s.warnings {
                show(&format!("      warning: {w}\n"))?;
            }
        }
        for e in report.errors.iter().chain(&report.findings) {
            show(&format!("error {e}\n"))?;
        }
        if report.scripts.is_empty() && report.errors.is_empty() {
            emit(&format!(
                "no scripts in {}\n",
                config.resolve(&config.scripts.dir).display()
            ))?;
        }
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    match (report.errors.len(), report.findings.len()) {
        (0, 0) => Ok(()),
        (n, 0) => Err(Error::Refused(format!(
            "{n} script{} did not compile",
            plural(n)
        ))),
        (0, f) => Err(Error::Refused(format!(
            "{f} mistake{} found in scripts",
            plural(f)
        ))),
        (n, f) => Err(Error::Refused(format!(
            "{n} script{} did not compile, and {f} mistake{} found in the others",
            plural(n),
            plural(f)
        ))),
    }
}

fn test(config: &Path, hook: &str, input: &Path, out: &Out) -> Result<()> {
    let from_stdin = input == Path::new("-");
    let text = if from_stdin {
        std::io::read_to_string(std::io::stdin()).map_err(|source| Error::Io {
            what: "cannot read the input from",
            path: PathBuf::from("standard input"),
            source,
        })?
    } else {
        std::fs::read_to_string(input).map_err(|source| Error::Io {
            what: "cannot read",
            path: input.to_owned(),
            source,
        })?
    };
    let shown = if from_stdin {
        "the standard input".to_owned()
    } else {
        input.display().to_string()
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Refused(format!("{shown} is not valid JSON: {e}")))?;
    let host = super::open(config)?;
    let run = host.test_hook(hook, &value)?;
    out.one(&run, human)?;
    match run.outcome {
        DryRunOutcome::Failed { .. } => Err(Error::Refused(format!("{hook} failed"))),
        _ => Ok(()),
    }
}

fn human(run: &DryRun) -> String {
    // What the scripts printed came before the outcome (an error stops the
    // hook after its prints), so it is shown first: in the order it happened.
    let mut s = String::new();
    for line in &run.printed {
        s.push_str(&format!("printed: {line}\n"));
    }
    s.push_str(&match &run.outcome {
        DryRunOutcome::Continue => format!("{}: continue\n", run.hook),
        DryRunOutcome::Vetoed { by, message } => {
            format!("{}: vetoed by {by}: {message}\n", run.hook)
        }
        DryRunOutcome::Invalid { field, message } => {
            format!("{}: invalid: field `{field}` {message}\n", run.hook)
        }
        DryRunOutcome::Failed { error } => format!("{}: failed: {error}\n", run.hook),
    });
    let event = match &run.event {
        dossier_sdk::Event::BeforeSave(e) => {
            s.push_str("record as the hooks left it:\n");
            to_json(&e.record)
        }
        other => {
            s.push_str("event as the hooks left it:\n");
            to_json(other)
        }
    };
    s.push_str(&event);
    s.push('\n');
    for w in &run.writes {
        s.push_str(&format!(
            "the hooks also wrote a {}:\n{}\n",
            w.kind(),
            to_json(w)
        ));
    }
    s.push_str("nothing was committed (dry run)\n");
    s
}

fn docs(file: Option<&Path>, dir: Option<&Path>, out: &Out) -> Result<()> {
    let markdown = reference_markdown();
    match file {
        Some(path) => {
            write(path, &markdown)?;
            out.say(format!("wrote {}", path.display()))?;
        }
        None => emit(&markdown)?,
    }
    if let Some(dir) = dir {
        dossier_host::files::create_dir_all(dir)?;
        let path = dir.join("dossier.d.rhai");
        write(&path, &definitions())?;
        if file.is_some() {
            out.say(format!("wrote {}", path.display()))?;
        } else {
            note!("wrote {}", path.display());
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    dossier_host::files::write(path, text.as_bytes())
}

//! `dossier dispose`: end an interaction with a disposition code (or without one).

use clap::Args;
use dossier_sdk::{CaseNumber, Channel, Interaction};

use super::Out;
use super::records::acting_login;
use dossier_host::Host;
use dossier_host::Result;

#[derive(Debug, Args)]
pub(crate) struct DisposeArgs {
    /// The disposition code (see [dispositions.<channel>] in dossier.toml).
    #[arg(required_unless_present = "none")]
    code: Option<String>,
    /// Finish the interaction without a code (refused when the channel requires one).
    #[arg(long, conflicts_with_all = ["code", "note", "note_file"])]
    none: bool,
    /// The case the interaction was about.
    #[arg(long)]
    case: Option<i64>,
    /// phone, chat or email.
    #[arg(long, default_value = "phone")]
    channel: Channel,
    /// The agent's note (`-` reads it from stdin).
    #[arg(long, conflicts_with = "note_file")]
    note: Option<String>,
    /// Read the note from this file (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    note_file: Option<std::path::PathBuf>,
    /// The agent (default: $DOSSIER_AGENT, then $USER).
    #[arg(long)]
    agent: Option<String>,
}

/// Entry point of `dossier dispose`.
pub(crate) fn run(host: &Host, args: DisposeArgs, out: &Out) -> Result<()> {
    let interaction = Interaction {
        case_number: args.case.map(CaseNumber),
        agent: Some(args.agent.unwrap_or_else(|| acting_login(host))),
        ..Interaction::new(args.channel)
    };
    let Some(code) = args.code.filter(|_| !args.none) else {
        host.finish_interaction(&interaction)?;
        let summary = serde_json::json!({ "finished": true, "channel": args.channel });
        out.one(&summary, |_| {
            format!(
                "{} interaction finished without a disposition\n",
                args.channel
            )
        })?;
        return Ok(());
    };
    let note = super::input::Input::default()
        .inline_or_file(("--note", args.note), ("--note-file", args.note_file))?;
    let done = host.dispose(interaction, &code, note)?;
    out.one(&done, |d| {
        let mut s = format!("disposition {}", d.disposition.code);
        match &d.case {
            Some(case) => s.push_str(&format!(
                " recorded on case {} (now {})\n",
                case.number, case.status
            )),
            None => s.push_str(" accepted (no case to record it on)\n"),
        }
        s
    })?;
    Ok(())
}

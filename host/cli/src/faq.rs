//! `dossier faq …` (the FAQ base) and `dossier signature …` (agents' and
//! groups' signatures).

use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand};
use dossier_sdk::{FaqChange, FaqEntry, NewFaqEntry, Signature, SignatureOwner};

use super::Out;
use super::input::Input;
use dossier_host::Actor;
use dossier_host::Host;
use dossier_host::{Error, Result};

#[derive(Debug, Subcommand)]
pub(crate) enum FaqCmd {
    /// Add an entry (needs manage_faq).
    #[command(group(ArgGroup::new("text").required(true).multiple(true)
        .args(["body", "body_file", "html", "html_file"])))]
    Add {
        /// The unique shortcut agents type as /SHORTCUT: ASCII letters, digits, - and _.
        shortcut: String,
        /// A short title.
        #[arg(long)]
        title: String,
        /// The full text (`-` reads stdin).
        #[arg(long)]
        body: Option<String>,
        /// Read the full text from this file (`-` for stdin).
        #[arg(long, value_name = "PATH", conflicts_with = "body")]
        body_file: Option<PathBuf>,
        /// An HTML version (`-` reads stdin), sanitized when saved; needs [email]
        /// rich_text. Without --body, the text is made from it.
        #[arg(long, conflicts_with = "html_file")]
        html: Option<String>,
        /// Read the HTML version from this file (`-` for stdin).
        #[arg(long, value_name = "PATH")]
        html_file: Option<PathBuf>,
        /// A page with the answer (http, https or mailto), inserted in link mode.
        #[arg(long, value_name = "URL")]
        link: Option<String>,
    },
    /// List every entry.
    List,
    /// Show one entry.
    Show {
        /// The shortcut.
        shortcut: String,
    },
    /// Change an entry's title, text or link (needs manage_faq).
    Update {
        /// The shortcut.
        shortcut: String,
        /// A new title.
        #[arg(long)]
        title: Option<String>,
        /// A new text (`-` reads stdin).
        #[arg(long, conflicts_with = "body_file")]
        body: Option<String>,
        /// Read the new text from this file (`-` for stdin).
        #[arg(long, value_name = "PATH")]
        body_file: Option<PathBuf>,
        /// A new link.
        #[arg(long, value_name = "URL")]
        link: Option<String>,
        /// Remove the link.
        #[arg(long, conflicts_with = "link")]
        no_link: bool,
        /// A new HTML version (`-` reads stdin), sanitized when saved; needs [email]
        /// rich_text. Without --body, the text is made from it.
        #[arg(long, conflicts_with = "html_file")]
        html: Option<String>,
        /// Read the new HTML version from this file (`-` for stdin).
        #[arg(long, value_name = "PATH")]
        html_file: Option<PathBuf>,
        /// Remove the HTML version (the text stays).
        #[arg(long, conflicts_with_all = ["html", "html_file"])]
        no_html: bool,
    },
    /// Remove an entry (needs manage_faq).
    Remove {
        /// The shortcut.
        shortcut: String,
    },
    /// Search the entries' titles and texts, best first.
    Search {
        /// The words to look for; every one must appear.
        #[arg(required = true)]
        words: Vec<String>,
        /// How many results at most (1 to 100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// Whose signatures a command is about.
#[derive(Debug, Args)]
pub(crate) struct Owner {
    /// An agent's signatures [default: yours].
    #[arg(long, value_name = "LOGIN", conflicts_with = "group")]
    agent: Option<String>,
    /// A group's signatures.
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
}

impl Owner {
    fn resolve(self, host: &Host) -> Result<SignatureOwner> {
        match (self.agent, self.group) {
            (Some(login), _) => Ok(SignatureOwner::Agent(login)),
            (None, Some(group)) => Ok(SignatureOwner::Group(group)),
            (None, None) => match host.actor() {
                Actor::Agent(login) => Ok(SignatureOwner::Agent(login.clone())),
                Actor::System => Err(Error::Refused(
                    "whose signatures? pass --agent LOGIN or --group GROUP (this store has no agents yet)"
                        .into(),
                )),
            },
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum SignatureCmd {
    /// Add a signature (yours, or with manage_agents another agent's or a group's).
    Add {
        /// Its name, unique for its owner.
        name: String,
        #[command(flatten)]
        owner: Owner,
        /// The plain-text signature (`-` reads stdin).
        #[arg(long)]
        text: String,
        /// The HTML signature (sanitized).
        #[arg(long)]
        html: Option<String>,
        /// Make it the default (an owner's first signature always is).
        #[arg(long)]
        default: bool,
    },
    /// List signatures.
    List {
        #[command(flatten)]
        owner: Owner,
    },
    /// Remove a signature.
    Remove {
        /// Its name.
        name: String,
        #[command(flatten)]
        owner: Owner,
    },
    /// Make a signature the default.
    Default {
        /// Its name.
        name: String,
        #[command(flatten)]
        owner: Owner,
    },
}

fn entry(e: &FaqEntry) -> String {
    let mut s = format!("/{}: {}\n", e.shortcut, e.title);
    if let Some(link) = &e.link {
        s.push_str(&format!("  link: {link}\n"));
    }
    if e.html.is_some() {
        s.push_str("  rich text: yes (the text below is its text version)\n");
    }
    for line in e.body.lines() {
        s.push_str(&format!("  {line}\n"));
    }
    s
}

fn entry_line(e: &FaqEntry) -> String {
    let link = e
        .link
        .as_deref()
        .map(|l| format!(" <{l}>"))
        .unwrap_or_default();
    format!("/{}: {}{link}\n", e.shortcut, e.title)
}

fn signature(s: &Signature) -> String {
    let default = if s.is_default { " (default)" } else { "" };
    let mut out = format!("{} of {}{default}\n", s.name, s.owner);
    for line in s.text.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    if let Some(html) = &s.html {
        out.push_str(&format!("  html: {html}\n"));
    }
    out
}

/// Entry point of `dossier faq`.
pub(crate) fn faq(host: &Host, cmd: FaqCmd, out: &Out) -> Result<()> {
    let input = Input::default();
    match cmd {
        FaqCmd::Add {
            shortcut,
            title,
            body,
            body_file,
            html,
            html_file,
            link,
        } => {
            let body = input
                .inline_or_file(("--body", body), ("--body-file", body_file))?
                .unwrap_or_default();
            let html = input.inline_or_file(("--html", html), ("--html-file", html_file))?;
            let added = host.faq_add(NewFaqEntry {
                shortcut,
                title,
                body,
                link,
                html,
            })?;
            out.one(&added, entry)
        }
        FaqCmd::List => out.many(&host.faq_list()?, entry_line, "no FAQ entries"),
        FaqCmd::Show { shortcut } => out.one(&host.faq_entry(&shortcut)?, entry),
        FaqCmd::Update {
            shortcut,
            title,
            body,
            body_file,
            link,
            no_link,
            html,
            html_file,
            no_html,
        } => {
            let body = input.inline_or_file(("--body", body), ("--body-file", body_file))?;
            let link = if no_link { Some(None) } else { link.map(Some) };
            let html = input.inline_or_file(("--html", html), ("--html-file", html_file))?;
            let html = if no_html { Some(None) } else { html.map(Some) };
            let change = FaqChange {
                title,
                body,
                link,
                html,
            };
            out.one(&host.faq_update(&shortcut, change)?, entry)
        }
        FaqCmd::Remove { shortcut } => {
            let removed = host.faq_remove(&shortcut)?;
            out.one(&removed, |e| format!("removed /{}\n", e.shortcut))
        }
        FaqCmd::Search { words, limit } => out.many(
            &host.faq_search(&words.join(" "), limit)?,
            entry_line,
            "nothing found",
        ),
    }
}

/// Entry point of `dossier signature`.
pub(crate) fn signature_cmd(host: &Host, cmd: SignatureCmd, out: &Out) -> Result<()> {
    match cmd {
        SignatureCmd::Add {
            name,
            owner,
            text,
            html,
            default,
        } => {
            let owner = owner.resolve(host)?;
            let text = Input::default().text("--text", text)?;
            let added = host.add_signature(&owner, &name, &text, html.as_deref(), default)?;
            out.one(&added, signature)
        }
        SignatureCmd::List { owner } => {
            let owner = owner.resolve(host)?;
            out.many(&host.signatures(&owner)?, signature, "no signatures")
        }
        SignatureCmd::Remove { name, owner } => {
            let owner = owner.resolve(host)?;
            let removed = host.remove_signature(&owner, &name)?;
            out.one(&removed, |s| format!("removed {} of {}\n", s.name, s.owner))
        }
        SignatureCmd::Default { name, owner } => {
            let owner = owner.resolve(host)?;
            let chosen = host.set_default_signature(&owner, &name)?;
            out.one(&chosen, |s| {
                format!("{} is now the default of {}\n", s.name, s.owner)
            })
        }
    }
}

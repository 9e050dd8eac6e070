//! `dossier agent …` and `dossier group …`: who works in the contact centre.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use clap::Subcommand;
use dossier_sdk::{Agent, Group, NewAgent, Permission, Role};

use super::Out;
use dossier_host::{AgentChange, ApiToken, Error, Host, Result};

#[derive(Debug, Subcommand)]
pub(crate) enum AgentCmd {
    /// Add an agent (needs manage_agents).
    Add {
        /// The unique login.
        login: String,
        /// The name colleagues and customers see [default: the login].
        #[arg(long)]
        name: Option<String>,
        /// Their email address (also their default From).
        #[arg(long)]
        email: Option<String>,
        /// agent, supervisor or admin.
        #[arg(long, default_value = "agent")]
        role: Role,
        /// A group they belong to; repeat for several.
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
    },
    /// List every agent with their role, groups and permissions.
    List,
    /// Show one agent.
    Show {
        /// The login.
        login: String,
    },
    /// Change your own profile: your name and email address, which is also
    /// your default From (needs edit_own_profile, which every role holds
    /// unless an admin withholds it). Your signatures: `dossier signature`.
    Profile {
        /// Your new display name.
        #[arg(long)]
        name: Option<String>,
        /// Your new email address, also your default From.
        #[arg(long, visible_alias = "from", conflicts_with = "no_email")]
        email: Option<String>,
        /// Remove your email address.
        #[arg(long)]
        no_email: bool,
    },
    /// Change an agent (needs manage_agents; your own name and email need
    /// only edit_own_profile).
    Update {
        /// The login.
        login: String,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// A new email address.
        #[arg(long)]
        email: Option<String>,
        /// A new role.
        #[arg(long)]
        role: Option<Role>,
        /// The agent's groups, replacing the old ones; repeat for several.
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// Remove the agent from every group.
        #[arg(long, conflicts_with = "groups")]
        no_groups: bool,
        /// Grant a permission the role does not give; repeat for several.
        #[arg(long, value_name = "PERMISSION")]
        grant: Vec<Permission>,
        /// Withhold a permission the role gives; repeat for several.
        #[arg(long, value_name = "PERMISSION")]
        withhold: Vec<Permission>,
        /// Back to the role's default for this permission; repeat for several.
        #[arg(long, value_name = "PERMISSION")]
        reset: Vec<Permission>,
    },
    /// Disable an agent: they can no longer act (needs manage_agents).
    Disable {
        /// The login.
        login: String,
    },
    /// Enable a disabled agent again (needs manage_agents).
    Enable {
        /// The login.
        login: String,
    },
    /// Set the password an agent signs in to `dossier serve` with (one's
    /// own; manage_agents for anyone's). Asked at the terminal (twice), or
    /// read from the first line of --password-file or of stdin. Signs the
    /// agent out of their open sessions.
    Password {
        /// The login.
        login: String,
        /// Read the password from the first line of this file (`-`: stdin).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// API tokens: what integrations send as `Authorization: Bearer TOKEN`.
    #[command(subcommand)]
    Token(TokenCmd),
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCmd {
    /// Make a token acting as LOGIN (one's own; manage_agents for anyone's)
    /// and print it, once: only its hash is kept.
    New {
        /// The agent the token acts as.
        login: String,
        /// How long it works: `90d`, `12h`, `1w` [default: until revoked].
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// What the token is for ("CTI connector").
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens: LOGIN's, or every one you may see.
    List {
        /// Only this agent's tokens.
        login: Option<String>,
    },
    /// Revoke a token: it stops working at its next use.
    Revoke {
        /// The token's id (see `agent token list`).
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum GroupCmd {
    /// Add a group (needs manage_agents).
    Add {
        /// The unique name.
        name: String,
        /// The group's shared address.
        #[arg(long)]
        email: Option<String>,
    },
    /// List every group.
    List,
    /// The members of a group.
    Members {
        /// The group's name.
        name: String,
    },
}

fn describe(a: &Agent) -> String {
    let permissions: Vec<&str> = a.permissions().iter().map(|p| p.as_str()).collect();
    let mut s = format!(
        "{} ({}){}: {}\n",
        a.login,
        a.display_name,
        if a.disabled { " [disabled]" } else { "" },
        a.role
    );
    if let Some(email) = &a.email {
        s.push_str(&format!("  email: {email} (also their default From)\n"));
    }
    if !a.groups.is_empty() {
        s.push_str(&format!("  groups: {}\n", a.groups.join(", ")));
    }
    let permissions = if permissions.is_empty() {
        "none".to_owned()
    } else {
        permissions.join(", ")
    };
    s.push_str(&format!("  permissions: {permissions}\n"));
    s
}

/// Entry point of `dossier agent`.
pub(crate) fn agent(host: &Host, cmd: AgentCmd, out: &Out) -> Result<()> {
    match cmd {
        AgentCmd::Add {
            login,
            name,
            email,
            role,
            groups,
        } => {
            let agent = host.add_agent(NewAgent {
                login,
                display_name: name.unwrap_or_default(),
                email,
                role,
                groups,
            })?;
            out.one(&agent, describe)
        }
        AgentCmd::List => out.table(
            &host.agents()?,
            &[
                ("LOGIN", &|a: &Agent| a.login.clone()),
                ("NAME", &|a: &Agent| a.display_name.clone()),
                ("ROLE", &|a: &Agent| a.role.to_string()),
                ("GROUPS", &|a: &Agent| a.groups.join(", ")),
                ("STATE", &|a: &Agent| {
                    if a.disabled { "disabled" } else { "enabled" }.to_owned()
                }),
            ],
            "no agents yet: `dossier agent add LOGIN`",
        ),
        AgentCmd::Show { login } => out.one(&host.agent(&login)?, describe),
        AgentCmd::Update {
            login,
            name,
            email,
            role,
            groups,
            no_groups,
            grant,
            withhold,
            reset,
        } => {
            let change = AgentChange {
                display_name: name,
                email: email.map(Some),
                role,
                groups: if no_groups {
                    Some(Vec::new())
                } else if groups.is_empty() {
                    None
                } else {
                    Some(groups)
                },
                grant: grant
                    .into_iter()
                    .map(|p| (p, true))
                    .chain(withhold.into_iter().map(|p| (p, false)))
                    .collect(),
                reset,
                disabled: None,
            };
            out.one(&host.update_agent(&login, change)?, describe)
        }
        AgentCmd::Profile {
            name,
            email,
            no_email,
        } => {
            let login = match host.actor() {
                dossier_host::Actor::Agent(login) => login.clone(),
                dossier_host::Actor::System => {
                    return Err(Error::Refused(
                        "agent profile changes your own profile: pass --as LOGIN \
                         (this store has no agents yet)"
                            .into(),
                    ));
                }
            };
            if name.is_none() && email.is_none() && !no_email {
                return out.one(&host.agent(&login)?, describe);
            }
            let change = AgentChange {
                display_name: name,
                email: if no_email {
                    Some(None)
                } else {
                    email.map(Some)
                },
                ..Default::default()
            };
            out.one(&host.update_agent(&login, change)?, describe)
        }
        AgentCmd::Disable { login } => out.one(&host.disable_agent(&login)?, describe),
        AgentCmd::Enable { login } => {
            let change = AgentChange {
                disabled: Some(false),
                ..Default::default()
            };
            out.one(&host.update_agent(&login, change)?, describe)
        }
        AgentCmd::Password {
            login,
            password_file,
        } => {
            let password = match password_file {
                Some(path) => password_from_file(&path)?,
                None => ask_password(&login)?,
            };
            host.set_password(&login, &password)?;
            out.one(
                &serde_json::json!({ "login": login, "password_set": true }),
                |_| format!("password set for {login}; their open sessions were closed\n"),
            )
        }
        AgentCmd::Token(cmd) => token(host, cmd, out),
    }
}

/// Entry point of `dossier agent token`.
fn token(host: &Host, cmd: TokenCmd, out: &Out) -> Result<()> {
    match cmd {
        TokenCmd::New {
            login,
            expires,
            label,
        } => {
            let expires_at = expires
                .map(|d| Ok::<_, Error>(host.now() + parse_duration(&d)?))
                .transpose()?;
            let minted = host.mint_token(&login, &label, expires_at)?;
            let shown = serde_json::json!({
                "token": minted.secret,
                "id": minted.token.id,
                "login": minted.token.login,
                "expires_at": minted.token.expires_at,
            });
            out.one(&shown, |_| {
                format!(
                    "{}\n(token #{} for {}; shown once: keep it now; expires {})\n",
                    minted.secret,
                    minted.token.id,
                    minted.token.login,
                    when(minted.token.expires_at)
                )
            })
        }
        TokenCmd::List { login } => out.table(
            &host.tokens(login.as_deref())?,
            &[
                ("ID", &|t: &ApiToken| t.id.to_string()),
                ("LOGIN", &|t: &ApiToken| t.login.clone()),
                ("LABEL", &|t: &ApiToken| t.label.clone()),
                ("CREATED", &|t: &ApiToken| t.created_at.to_rfc3339()),
                ("EXPIRES", &|t: &ApiToken| when(t.expires_at)),
                ("STATE", &|t: &ApiToken| {
                    if t.revoked_at.is_some() {
                        "revoked"
                    } else if t.usable_at(host.now()) {
                        "live"
                    } else {
                        "expired"
                    }
                    .to_owned()
                }),
            ],
            "no tokens: `dossier agent token new LOGIN`",
        ),
        TokenCmd::Revoke { id } => out.one(&host.revoke_token(id)?, |t: &ApiToken| {
            format!("token #{} of {} revoked\n", t.id, t.login)
        }),
    }
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "never".to_owned(), |t| t.to_rfc3339())
}

/// A duration as people write it (`90d`, `12h`, `1w`, `2h30m`), days of 24
/// hours.
fn parse_duration(text: &str) -> Result<chrono::Duration> {
    let refuse = |why: String| Error::input("--expires", why);
    let span: jiff::Span = text
        .parse()
        .map_err(|e| refuse(format!("`{text}` is not a duration like 90d or 12h: {e}")))?;
    let d = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| refuse(format!("`{text}`: {e}")))?;
    if d.is_negative() || d.is_zero() {
        return Err(refuse(format!("`{text}` must be longer than nothing")));
    }
    chrono::Duration::from_std(d.unsigned_abs()).map_err(|e| refuse(format!("`{text}`: {e}")))
}

/// The first line of `path` (`-`: stdin), without its line end.
fn password_from_file(path: &Path) -> Result<String> {
    let text = if path == Path::new("-") {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|source| Error::Io {
                what: "cannot read the password from",
                path: path.to_owned(),
                source,
            })?;
        line
    } else {
        std::fs::read_to_string(path).map_err(|source| Error::Io {
            what: "cannot read the password from",
            path: path.to_owned(),
            source,
        })?
    };
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

/// Asks for `login`'s new password at the terminal, twice; reads one line
/// of stdin when it is not a terminal.
pub(crate) fn ask_password(login: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return password_from_file(Path::new("-"));
    }
    let prompt = |text: &str| {
        rpassword::prompt_password(text).map_err(|source| Error::Io {
            what: "cannot read the password from",
            path: PathBuf::from("the terminal"),
            source,
        })
    };
    let first = prompt(&format!("new password for {login}: "))?;
    let again = prompt("again: ")?;
    if first != again {
        return Err(Error::input(
            "password",
            "the two entries differ; nothing was changed",
        ));
    }
    Ok(first)
}

/// Entry point of `dossier group`.
pub(crate) fn group(host: &Host, cmd: GroupCmd, out: &Out) -> Result<()> {
    match cmd {
        GroupCmd::Add { name, email } => out.one(&host.add_group(&name, email)?, |g: &Group| {
            format!("group {} added\n", g.name)
        }),
        GroupCmd::List => out.table(
            &host.groups()?,
            &[
                ("GROUP", &|g: &Group| g.name.clone()),
                ("EMAIL", &|g: &Group| g.email.clone().unwrap_or_default()),
            ],
            "no groups yet: `dossier group add NAME`",
        ),
        GroupCmd::Members { name } => {
            let members = host.group_members(&name)?;
            out.many(
                &members,
                |m| format!("{m}\n"),
                &format!("group {name} has no members"),
            )
        }
    }
}

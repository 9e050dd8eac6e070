//! `dossier agent …` and `dossier group …`: who works in the contact centre.

use clap::Subcommand;
use dossier_sdk::{Agent, Group, NewAgent, Permission, Role};

use super::Out;
use dossier_host::AgentChange;
use dossier_host::Host;
use dossier_host::Result;

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
    /// Change an agent (needs manage_agents).
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
        s.push_str(&format!("  email: {email}\n"));
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
        AgentCmd::Disable { login } => out.one(&host.disable_agent(&login)?, describe),
        AgentCmd::Enable { login } => {
            let change = AgentChange {
                disabled: Some(false),
                ..Default::default()
            };
            out.one(&host.update_agent(&login, change)?, describe)
        }
    }
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

//! The facade's agent and group operations.

use dossier_sdk::{Agent, Group, NewAgent};

use super::Host;
use crate::runtime::AgentChange;
use crate::typed::closest;
use dossier_types::contact::normalize_email;
use dossier_types::{Error, Result};

impl Host {
    /// Adds an agent. Needs `manage_agents` (held by admins, and by
    /// `system`). The login must be unique; the groups must exist.
    pub fn add_agent(&self, new: NewAgent) -> Result<Agent> {
        self.rt.add_agent(&self.ctx()?, new)
    }

    /// Changes an agent: name, email, role, groups, permission overrides,
    /// enabled or disabled. Needs `manage_agents`. The last enabled admin
    /// cannot be demoted or disabled.
    pub fn update_agent(&self, login: &str, change: AgentChange) -> Result<Agent> {
        self.rt.update_agent(&self.ctx()?, login, change)
    }

    /// Disables an agent: they can no longer act, their records keep their
    /// name. Needs `manage_agents`.
    pub fn disable_agent(&self, login: &str) -> Result<Agent> {
        self.update_agent(
            login,
            AgentChange {
                disabled: Some(true),
                ..Default::default()
            },
        )
    }

    /// One agent by login, enabled or not.
    pub fn agent(&self, login: &str) -> Result<Agent> {
        self.rt.agent(login)
    }

    /// Every agent, by login.
    pub fn agents(&self) -> Result<Vec<Agent>> {
        self.rt.list_agents()
    }

    /// Adds a group (a team cases can be assigned to), with its shared
    /// address if any. Needs `manage_agents`.
    pub fn add_group(&self, name: &str, email: Option<String>) -> Result<Group> {
        self.rt.add_group(&self.ctx()?, name, email)
    }

    /// Every group, by name.
    pub fn groups(&self) -> Result<Vec<Group>> {
        self.rt.list_groups()
    }

    /// The logins of a group's members.
    pub fn group_members(&self, name: &str) -> Result<Vec<String>> {
        self.rt.group_members(name)
    }

    /// Refuses `login`, typed for `what` (`--owner`, `owner`), unless an
    /// enabled agent has it: [`Error::InvalidInput`](dossier_types::Error::InvalidInput)
    /// naming it, and the nearest existing login when one is close
    /// ("did you mean `ann`?").
    pub fn check_login(&self, what: &str, login: &str) -> Result<()> {
        let agents = self.rt.list_agents()?;
        if let Some(agent) = agents.iter().find(|a| a.login == login) {
            if agent.disabled {
                return Err(Error::input(what, format!("agent `{login}` is disabled")));
            }
            return Ok(());
        }
        let logins: Vec<&str> = agents
            .iter()
            .filter(|a| !a.disabled)
            .map(|a| a.login.as_str())
            .collect();
        let hint = closest(login, &logins)
            .map(|near| format!("; did you mean `{near}`?"))
            .unwrap_or_default();
        Err(Error::input(
            what,
            format!("no agent has the login `{login}`{hint}"),
        ))
    }

    /// Refuses a task assignee that is neither an enabled agent's login
    /// nor a valid email address (a text with `@` is read as an address),
    /// with [`Error::InvalidInput`](dossier_types::Error::InvalidInput)
    /// naming it.
    pub fn check_assignee(&self, assignee: &str) -> Result<()> {
        const WHAT: &str = "assignee";
        if assignee.contains('@') {
            return normalize_email(assignee).map(|_| ()).map_err(|rule| {
                Error::input(
                    WHAT,
                    format!(
                        "`{assignee}` is neither an agent login nor a valid email address: \
                         the address {rule}"
                    ),
                )
            });
        }
        self.check_login(WHAT, assignee).map_err(|e| match e {
            Error::InvalidInput { what, message } => Error::InvalidInput {
                what,
                message: format!("{message} (an assignee is an agent's login or an email address)"),
            },
            other => other,
        })
    }

    /// Makes `login` the first admin of a store that has no agent yet (what
    /// `dossier init` does); `None` when the store already has agents.
    pub fn first_admin(&self, login: &str) -> Result<Option<Agent>> {
        self.rt.first_admin(login)
    }
}

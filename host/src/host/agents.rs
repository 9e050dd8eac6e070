//! The facade's agent and group operations.

use dossier_sdk::{Agent, Group, NewAgent};

use super::Host;
use crate::runtime::AgentChange;
use dossier_types::Result;

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

    /// Makes `login` the first admin of a store that has no agent yet (what
    /// `dossier init` does); `None` when the store already has agents.
    pub fn first_admin(&self, login: &str) -> Result<Option<Agent>> {
        self.rt.first_admin(login)
    }
}

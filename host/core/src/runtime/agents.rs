//! Agents and groups, and the permission checks operations make against
//! the acting agent.
//!
//! `system` (work no agent started, and embedders that do not say who acts)
//! holds every permission. An agent acts only while enabled, and holds
//! their role's defaults with an admin's overrides on top
//! (`dossier_sdk::Agent::has`).

use std::sync::Arc;

use dossier_sdk::{
    Agent, CaseNumber, DirectoryChange, DirectoryChanged, Event, Group, NewAgent, Permission, Role,
};

use super::Runtime;
use crate::events::{Actor, Ctx};
use dossier_types::contact::{address_without_tag, normalize_email};
use dossier_types::{Error, Result};

/// What an admin may change on an agent; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentChange {
    /// A new display name.
    pub display_name: Option<String>,
    /// A new email address (`Some(None)` clears it).
    pub email: Option<Option<String>>,
    /// A new role.
    pub role: Option<Role>,
    /// The agent's groups, replacing the old list.
    pub groups: Option<Vec<String>>,
    /// Permissions to grant (`true`) or withhold (`false`) against the role.
    pub grant: Vec<(Permission, bool)>,
    /// Permissions whose override is removed (back to the role's default).
    pub reset: Vec<Permission>,
    /// Disable (`true`) or enable again (`false`).
    pub disabled: Option<bool>,
}

fn check_login(login: &str) -> Result<()> {
    let ok = !login.is_empty()
        && login.chars().count() <= 64
        && login
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "agent login `{login}` must be 1 to 64 letters, digits, `.`, `_`, `-` or `@`"
        )))
    }
}

impl Runtime {
    /// The enabled agent with `login`, or [`Error::UnknownAgent`].
    pub fn acting_agent(&self, login: &str) -> Result<Agent> {
        match self.store().read(|tx| tx.agent(login))? {
            Some(agent) if !agent.disabled => Ok(agent),
            _ => Err(Error::UnknownAgent {
                login: login.to_owned(),
            }),
        }
    }

    /// Refuses mail from `address` by agent `login` unless it is theirs:
    /// their own address, one of their groups', one of `[email] addresses`
    /// or the reminders' From (those two in any `+tag` form), or they hold
    /// `send_as`. What the system sends is not checked here.
    pub fn require_from(&self, login: &str, address: &str) -> Result<()> {
        let address = address.trim().to_lowercase();
        let untagged = address_without_tag(&address);
        let config = self.config();
        let shared = config
            .email
            .addresses
            .iter()
            .chain(std::iter::once(&config.reminders.from))
            .any(|ours| address_without_tag(ours) == untagged);
        if shared {
            return Ok(());
        }
        let agent = self.agent(login)?;
        let mut own = agent.email.iter().cloned().collect::<Vec<_>>();
        for name in &agent.groups {
            if let Some(email) = self
                .store()
                .read(|tx| tx.group(name))?
                .and_then(|g| g.email)
            {
                own.push(email);
            }
        }
        if own.iter().any(|a| a.trim().eq_ignore_ascii_case(&address)) {
            return Ok(());
        }
        let holds = self
            .store()
            .read(|tx| tx.agent_holds(login, Permission::SendAs))?
            .unwrap_or(false);
        if holds {
            return Ok(());
        }
        Err(Error::PermissionDenied {
            login: login.to_owned(),
            permission: Permission::SendAs,
            action: format!(
                "send mail from {address} (an agent sends from their own address, their groups' or [email] addresses)"
            ),
        })
    }

    /// Refuses unless the context's actor holds `permission`; `action`
    /// says what was refused ("add agents").
    pub fn require(&self, ctx: &Ctx, permission: Permission, action: &str) -> Result<()> {
        match ctx.actor() {
            Actor::System => Ok(()),
            Actor::Agent(login) => {
                let holds = self
                    .store()
                    .read(|tx| tx.agent_holds(login, permission))?
                    .ok_or_else(|| Error::UnknownAgent {
                        login: login.clone(),
                    })?;
                if holds {
                    Ok(())
                } else {
                    Err(Error::PermissionDenied {
                        login: login.clone(),
                        permission,
                        action: action.to_owned(),
                    })
                }
            }
        }
    }

    fn check_groups(&self, groups: &[String]) -> Result<()> {
        for name in groups {
            if self.store().read(|tx| tx.group(name))?.is_none() {
                return Err(Error::Refused(format!(
                    "there is no group `{name}`: add it first"
                )));
            }
        }
        Ok(())
    }

    /// Adds an agent (`manage_agents`; the first agent of a store is an admin).
    pub fn add_agent(self: &Arc<Self>, ctx: &Ctx, new: NewAgent) -> Result<Agent> {
        self.require(ctx, Permission::ManageAgents, "add agents")?;
        let login = new.login.trim().to_owned();
        check_login(&login)?;
        let email = new
            .email
            .as_deref()
            .map(normalize_email)
            .transpose()
            .map_err(|rule| Error::Refused(format!("agent email {rule}")))?;
        self.check_groups(&new.groups)?;
        let now = self.now();
        let display_name = match new.display_name.trim() {
            "" => login.clone(),
            name => name.to_owned(),
        };
        let mut groups = new.groups;
        groups.sort();
        groups.dedup();
        let agent = Agent {
            login,
            display_name,
            email,
            role: new.role,
            groups,
            overrides: Default::default(),
            disabled: false,
            created_at: now,
            updated_at: now,
        };
        self.transaction("add agent", || {
            self.store()
                .write("add agent", |tx| tx.insert_agent(&agent))?;
            self.queue_directory_changed(ctx, Some(&agent), None, vec![DirectoryChange::Added])
        })?;
        Ok(agent)
    }

    /// Changes an agent's role, name, groups or permissions (`manage_agents`).
    /// An agent changing only their own name or email address needs
    /// `edit_own_profile` instead (every role holds it by default), and
    /// may not take an address another agent or a group has.
    pub fn update_agent(
        self: &Arc<Self>,
        ctx: &Ctx,
        login: &str,
        change: AgentChange,
    ) -> Result<Agent> {
        let own_profile = matches!(ctx.actor(), Actor::Agent(me) if me == login)
            && change.role.is_none()
            && change.groups.is_none()
            && change.grant.is_empty()
            && change.reset.is_empty()
            && change.disabled.is_none();
        let manager = self.require(ctx, Permission::ManageAgents, "change agents");
        if own_profile && manager.is_err() {
            self.require(ctx, Permission::EditOwnProfile, "change their own profile")?;
        } else {
            manager?;
        }
        if change
            .display_name
            .as_deref()
            .is_some_and(|n| n.trim().is_empty())
        {
            return Err(Error::input(
                "name",
                "an agent's display name cannot be empty",
            ));
        }
        if let Some(groups) = &change.groups {
            self.check_groups(groups)?;
        }
        let email = match change.email {
            Some(Some(e)) => {
                Some(Some(normalize_email(&e).map_err(|rule| {
                    Error::Refused(format!("agent email {rule}"))
                })?))
            }
            other => other,
        };
        if own_profile && let Some(Some(address)) = &email {
            self.refuse_taken_address(login, address)?;
        }
        let now = self.now();
        self.transaction("update agent", || {
            let (before, agent) = self.store().write("update agent", |tx| {
                let mut agent = tx.agent(login)?.ok_or_else(|| Error::UnknownAgent {
                    login: login.to_owned(),
                })?;
                let before = agent.clone();
                let was_admin = agent.role == Role::Admin && !agent.disabled;
                let was_manager = agent.has(Permission::ManageAgents);
                if let Some(name) = change.display_name {
                    agent.display_name = name;
                }
                if let Some(email) = email {
                    agent.email = email;
                }
                if let Some(role) = change.role {
                    agent.role = role;
                }
                if let Some(mut groups) = change.groups {
                    groups.sort();
                    groups.dedup();
                    agent.groups = groups;
                }
                for (permission, granted) in change.grant {
                    agent.overrides.insert(permission, granted);
                }
                for permission in change.reset {
                    agent.overrides.remove(&permission);
                }
                if let Some(disabled) = change.disabled {
                    agent.disabled = disabled;
                }
                let still_admin = agent.role == Role::Admin && !agent.disabled;
                if was_admin && !still_admin {
                    let admins = tx
                        .list_agents()?
                        .into_iter()
                        .filter(|a| a.role == Role::Admin && !a.disabled)
                        .count();
                    if admins <= 1 {
                        return Err(Error::Refused(format!(
                            "{login} is the last enabled admin: make another agent admin first"
                        )));
                    }
                }
                if was_manager && !agent.has(Permission::ManageAgents) {
                    let managers = tx
                        .list_agents()?
                        .into_iter()
                        .filter(|a| a.has(Permission::ManageAgents))
                        .count();
                    if managers <= 1 {
                        return Err(Error::Refused(format!(
                            "{login} is the last agent holding manage_agents: nobody could manage \
                             agents again; grant it to another agent first"
                        )));
                    }
                }
                agent.updated_at = now;
                tx.update_agent(&agent)?;
                Ok((before, agent))
            })?;
            let changes = DirectoryChange::between(Some(&before), &agent);
            self.queue_directory_changed(ctx, Some(&agent), None, changes)?;
            Ok(agent)
        })
    }

    /// Queues the `directory_changed` event of a change to `agent` or
    /// `group` made with `ctx`, in the transaction open on this thread, for
    /// delivery after it commits; nothing when `changes` is empty (a change
    /// that left everything as it was).
    fn queue_directory_changed(
        &self,
        ctx: &Ctx,
        agent: Option<&Agent>,
        group: Option<&Group>,
        changes: Vec<DirectoryChange>,
    ) -> Result<()> {
        if changes.is_empty() || self.pipeline().is_empty() {
            return Ok(());
        }
        let what = match (agent, group) {
            (Some(a), _) => format!("agent:{}", a.login),
            (None, Some(g)) => format!("group:{}", g.name),
            (None, None) => "directory".to_owned(),
        };
        let event = Event::DirectoryChanged(DirectoryChanged {
            agent: agent.cloned(),
            group: group.cloned(),
            changes,
        });
        self.queue_after_event(ctx, &event, &what)
    }

    /// Refuses `address` as agent `login`'s own when another agent or a
    /// group has it: taking it would let them send as that colleague or
    /// team.
    fn refuse_taken_address(&self, login: &str, address: &str) -> Result<()> {
        let (agents, groups) = self
            .store()
            .read(|tx| Ok((tx.list_agents()?, tx.list_groups()?)))?;
        let same = |a: &Option<String>| {
            a.as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(address))
        };
        let holder = agents
            .iter()
            .find(|a| a.login != login && same(&a.email))
            .map(|a| format!("agent {}", a.login))
            .or_else(|| {
                groups
                    .iter()
                    .find(|g| same(&g.email))
                    .map(|g| format!("group {}", g.name))
            });
        match holder {
            Some(holder) => Err(Error::input(
                "email",
                format!("{address} is {holder}'s address; ask an admin to change it"),
            )),
            None => Ok(()),
        }
    }

    /// One agent by login.
    pub fn agent(&self, login: &str) -> Result<Agent> {
        self.store()
            .read(|tx| tx.agent(login))?
            .ok_or_else(|| Error::UnknownAgent {
                login: login.to_owned(),
            })
    }

    /// Every agent, by login.
    pub fn list_agents(&self) -> Result<Vec<Agent>> {
        self.store().read(|tx| tx.list_agents())
    }

    /// Adds a group (`manage_agents`).
    pub fn add_group(
        self: &Arc<Self>,
        ctx: &Ctx,
        name: &str,
        email: Option<String>,
    ) -> Result<Group> {
        self.require(ctx, Permission::ManageAgents, "add groups")?;
        let name = name.trim();
        check_login(name).map_err(|_| {
            Error::Refused(format!(
                "group name `{name}` must be 1 to 64 letters, digits, `.`, `_`, `-` or `@`"
            ))
        })?;
        let email = email
            .as_deref()
            .map(normalize_email)
            .transpose()
            .map_err(|rule| Error::Refused(format!("group email {rule}")))?;
        let group = Group {
            name: name.to_owned(),
            email,
            created_at: self.now(),
        };
        self.transaction("add group", || {
            self.store()
                .write("add group", |tx| tx.insert_group(&group))?;
            self.queue_directory_changed(ctx, None, Some(&group), vec![DirectoryChange::Added])
        })?;
        Ok(group)
    }

    /// Every group, by name.
    pub fn list_groups(&self) -> Result<Vec<Group>> {
        self.store().read(|tx| tx.list_groups())
    }

    /// The logins of a group's members.
    pub fn group_members(&self, name: &str) -> Result<Vec<String>> {
        if self.store().read(|tx| tx.group(name))?.is_none() {
            return Err(Error::Refused(format!("there is no group `{name}`")));
        }
        self.store().read(|tx| tx.group_members(name))
    }

    /// Creates the first admin of a store that has no agent yet; returns
    /// `None` when the store already has agents.
    pub fn first_admin(self: &Arc<Self>, login: &str) -> Result<Option<Agent>> {
        if self.store().read(|tx| tx.count_agents())? > 0 {
            return Ok(None);
        }
        let system = Ctx::root(self.clone(), Actor::System);
        self.add_agent(
            &system,
            NewAgent {
                login: login.to_owned(),
                role: Role::Admin,
                ..Default::default()
            },
        )
        .map(Some)
    }

    /// Refuses an assignment the actor may not make: assigning a case to
    /// another agent, or to a group the actor is not in, needs
    /// `reassign_cases`.
    pub fn check_assignment(
        &self,
        ctx: &Ctx,
        number: CaseNumber,
        owner: Option<&str>,
        group: Option<&str>,
    ) -> Result<()> {
        let Actor::Agent(login) = ctx.actor() else {
            return Ok(());
        };
        let agent = self.acting_agent(login)?;
        let to_other = owner.is_some_and(|o| o != login);
        let to_foreign_group = group.is_some_and(|g| !agent.groups.iter().any(|m| m == g));
        if (to_other || to_foreign_group) && !agent.has(Permission::ReassignCases) {
            return Err(Error::PermissionDenied {
                login: login.clone(),
                permission: Permission::ReassignCases,
                action: format!(
                    "assign case {number} to {}",
                    match (owner, group) {
                        (Some(o), _) if to_other => format!("agent {o}"),
                        (_, Some(g)) => format!("group {g}"),
                        _ => "someone else".to_owned(),
                    }
                ),
            });
        }
        Ok(())
    }
}

impl Runtime {
    /// Which private cases the context's actor may see.
    pub fn viewer(&self, ctx: &Ctx) -> Result<dossier_store::Viewer> {
        match ctx.actor() {
            Actor::System => Ok(dossier_store::Viewer::All),
            Actor::Agent(_) => self.store().read(|tx| viewer_in(tx, ctx)),
        }
    }

    /// Refuses unless `viewer` may see case `number`: the same refusal
    /// whether the case is private to others or does not exist, so that it
    /// hints at neither.
    pub fn require_visible(
        &self,
        ctx: &Ctx,
        viewer: &dossier_store::Viewer,
        number: CaseNumber,
    ) -> Result<()> {
        if self.store().read(|tx| tx.case_visible(number, viewer))? {
            return Ok(());
        }
        Err(match ctx.actor() {
            Actor::Agent(login) if *viewer != dossier_store::Viewer::All => Error::Hidden {
                what: format!("case {number}"),
                login: login.clone(),
            },
            _ => Error::not_found(dossier_sdk::ObjectKind::Case, format!("#{number}")),
        })
    }
}

/// [`Runtime::viewer`] inside a read already open, so that an agent's pop or
/// list reads the agent and the records in one transaction.
pub fn viewer_in(tx: &dyn dossier_store::Tx, ctx: &Ctx) -> Result<dossier_store::Viewer> {
    match ctx.actor() {
        Actor::System => Ok(dossier_store::Viewer::All),
        Actor::Agent(login) => match tx.agent_holds(login, Permission::SeeAllPrivate)? {
            None => Err(Error::UnknownAgent {
                login: login.clone(),
            }),
            Some(true) => Ok(dossier_store::Viewer::All),
            Some(false) => Ok(dossier_store::Viewer::Agent(login.clone())),
        },
    }
}

//! Who works in the contact centre: agents, the groups they belong to, the
//! roles that give them permissions.
//!
//! An agent's permissions are their role's defaults ([`Permission::default_for`])
//! with the per-agent overrides an admin set on top.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an agent is in the contact centre.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Handles customers.
    #[default]
    Agent,
    /// Leads a team: sees its private cases, reassigns work.
    Supervisor,
    /// Runs Dossier: manages agents and groups.
    Admin,
}

impl Role {
    /// Every role, least privileged first.
    pub const ALL: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

    /// The snake_case name used in the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}` (roles: agent, supervisor, admin)"))
    }
}

/// A named right, granted by role and overridable per agent by an admin.
/// Each one guards an operation of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Add, change and disable agents and groups, and grant permissions.
    ManageAgents,
    /// Assign a case to an agent or group other than oneself.
    ReassignCases,
    /// See private cases that are neither one's own nor one's group's.
    SeeAllPrivate,
    /// Transfer an inbound email to another agent's or a group's workbin
    /// (held by every role unless an admin withdraws it).
    TransferEmail,
    /// Review outbound email in the QA queue: approve, edit, reject.
    ReviewEmail,
    /// Add, change and remove entries of the FAQ base (reading and
    /// searching them is open to every agent).
    ManageFaq,
    /// Reject a chat offered to oneself (which puts one on break and offers
    /// the chat to the next agent). Every role holds it unless an admin
    /// withholds it.
    RejectChat,
    /// Report interactions for other agents as a CTI connector does: the
    /// screen-pop is computed as the agent named and pushed to their screen
    /// (`POST /api/v1/interactions`); and speak for a chat's customer as a
    /// chat front end does (`dossier chat arrive`, `chat send --customer`).
    /// Admins hold it.
    Cti,
    /// Send mail from any address: without it, an agent's mail goes out
    /// only from their own address, one of their groups' or one of the
    /// configured shared addresses (`[email] addresses`). Admins hold it.
    SendAs,
    /// Ingest inbound email (`dossier email ingest`, the MTA's pipe): it
    /// writes into any case, private ones included, so it is the admins'
    /// and the MTA's own agent's. The system (an embedder's own handle)
    /// ingests without it.
    IngestEmail,
    /// Switch one's own assigned queues on and off (`dossier queue
    /// join|leave`). Supervisors and admins hold it; an admin grants it to
    /// agents when the centre lets them choose their queues.
    ManageOwnQueues,
    /// Change one's own profile: display name and email address (which is
    /// also one's default From). Every role holds it unless an admin
    /// withholds it; an address another agent or a group has is refused.
    EditOwnProfile,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 12] = [
        Permission::ManageAgents,
        Permission::ReassignCases,
        Permission::SeeAllPrivate,
        Permission::TransferEmail,
        Permission::ReviewEmail,
        Permission::ManageFaq,
        Permission::RejectChat,
        Permission::Cti,
        Permission::SendAs,
        Permission::IngestEmail,
        Permission::ManageOwnQueues,
        Permission::EditOwnProfile,
    ];

    /// The snake_case name used in the CLI, errors and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ManageAgents => "manage_agents",
            Permission::ReassignCases => "reassign_cases",
            Permission::SeeAllPrivate => "see_all_private",
            Permission::TransferEmail => "transfer_email",
            Permission::ReviewEmail => "review_email",
            Permission::ManageFaq => "manage_faq",
            Permission::RejectChat => "reject_chat",
            Permission::Cti => "cti",
            Permission::SendAs => "send_as",
            Permission::IngestEmail => "ingest_email",
            Permission::ManageOwnQueues => "manage_own_queues",
            Permission::EditOwnProfile => "edit_own_profile",
        }
    }

    /// Whether `role` holds this permission unless an admin overrides it.
    pub fn default_for(self, role: Role) -> bool {
        match self {
            Permission::ManageAgents
            | Permission::Cti
            | Permission::SendAs
            | Permission::IngestEmail => role == Role::Admin,
            Permission::ReassignCases
            | Permission::SeeAllPrivate
            | Permission::ReviewEmail
            | Permission::ManageFaq
            | Permission::ManageOwnQueues => {
                matches!(role, Role::Supervisor | Role::Admin)
            }
            Permission::TransferEmail | Permission::RejectChat | Permission::EditOwnProfile => true,
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
                format!(
                    "unknown permission `{s}` (permissions: {})",
                    names.join(", ")
                )
            })
    }
}

/// Someone who works in Dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// The unique login the embedder authenticated.
    pub login: String,
    /// The name colleagues and customers see.
    pub display_name: String,
    /// Where their mail goes, and their default From.
    #[serde(default)]
    pub email: Option<String>,
    /// Their role.
    pub role: Role,
    /// The groups (teams) they belong to.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Permissions an admin granted (`true`) or withheld (`false`) against
    /// the role's defaults.
    #[serde(default)]
    pub overrides: BTreeMap<Permission, bool>,
    /// A disabled agent can no longer act; their records keep their name.
    #[serde(default)]
    pub disabled: bool,
    /// When the agent was added.
    pub created_at: DateTime<Utc>,
    /// When the agent was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Agent {
    /// Whether the agent holds `permission`: the override if an admin set
    /// one, the role's default otherwise. A disabled agent holds none.
    pub fn has(&self, permission: Permission) -> bool {
        !self.disabled
            && self
                .overrides
                .get(&permission)
                .copied()
                .unwrap_or_else(|| permission.default_for(self.role))
    }

    /// Every permission the agent holds.
    pub fn permissions(&self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.has(*p))
            .collect()
    }
}

/// A new agent, as `dossier agent add` and `Host::add_agent` take it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAgent {
    /// The unique login.
    pub login: String,
    /// The display name; the login when empty.
    #[serde(default)]
    pub display_name: String,
    /// Their email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Their role.
    #[serde(default)]
    pub role: Role,
    /// The groups they belong to (each must exist).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// A team of agents; cases may be assigned to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The unique name.
    pub name: String,
    /// The group's shared address, used as From by its members.
    #[serde(default)]
    pub email: Option<String>,
    /// When the group was added.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(role: Role) -> Agent {
        Agent {
            login: "ann".into(),
            display_name: "Ann".into(),
            email: None,
            role,
            groups: Vec::new(),
            overrides: BTreeMap::new(),
            disabled: false,
            created_at: DateTime::<Utc>::MIN_UTC,
            updated_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    #[test]
    fn roles_grant_their_defaults_and_overrides_win() {
        assert_eq!(
            agent(Role::Agent).permissions(),
            vec![
                Permission::TransferEmail,
                Permission::RejectChat,
                Permission::EditOwnProfile
            ]
        );
        assert_eq!(
            agent(Role::Supervisor).permissions(),
            vec![
                Permission::ReassignCases,
                Permission::SeeAllPrivate,
                Permission::TransferEmail,
                Permission::ReviewEmail,
                Permission::ManageFaq,
                Permission::RejectChat,
                Permission::ManageOwnQueues,
                Permission::EditOwnProfile
            ]
        );
        assert_eq!(agent(Role::Admin).permissions(), Permission::ALL.to_vec());
        let mut granted = agent(Role::Agent);
        granted.overrides.insert(Permission::ReassignCases, true);
        assert!(granted.has(Permission::ReassignCases));
        let mut withheld = agent(Role::Admin);
        withheld.overrides.insert(Permission::ManageAgents, false);
        assert!(!withheld.has(Permission::ManageAgents));
        withheld.disabled = true;
        assert!(withheld.permissions().is_empty());
    }

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>(), Ok(p));
        }
        assert!("root".parse::<Role>().is_err());
    }
}

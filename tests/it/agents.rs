//! Agents, groups, roles and the permissions they guard, through the Host
//! on a real file.

use dossier_host::{AgentChange, Error};
use dossier_sdk::{NewAgent, NewCase, Permission, Role};

use crate::util::{FIELDS, TestStore};

fn agent(login: &str, role: Role, groups: &[&str]) -> NewAgent {
    NewAgent {
        login: login.into(),
        display_name: String::new(),
        email: Some(format!("{login}@Dossier.test")),
        role,
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

#[test]
fn the_first_admin_is_made_once_and_manages_agents_and_groups() {
    let t = TestStore::new(FIELDS);
    let admin = t
        .host
        .first_admin("root")
        .expect("first admin")
        .expect("made");
    assert_eq!(admin.role, Role::Admin);
    assert_eq!(t.host.first_admin("other").expect("second call"), None);

    let root = t.host.as_agent("root").expect("root acts");
    root.add_group("tier2", Some("Tier2@Dossier.test".into()))
        .expect("group");
    let ann = root
        .add_agent(agent("ann", Role::Agent, &["tier2"]))
        .expect("ann");
    assert_eq!(ann.display_name, "ann");
    assert_eq!(ann.email.as_deref(), Some("ann@dossier.test"));
    assert_eq!(t.host.group_members("tier2").expect("members"), vec!["ann"]);
    assert_eq!(
        t.host.groups().expect("groups")[0].email.as_deref(),
        Some("tier2@dossier.test")
    );

    // An agent without manage_agents is refused, naming the permission.
    let as_ann = t.host.as_agent("ann").expect("ann acts");
    let err = as_ann
        .add_agent(agent("bob", Role::Admin, &[]))
        .expect_err("refused");
    assert_eq!(err.code(), "permission_denied");
    assert_eq!(
        err.to_string(),
        "agent ann may not add agents: the `manage_agents` permission is missing"
    );
    assert!(t.host.agent("bob").is_err());

    // Mistakes are refused with the reason.
    for (new, message) in [
        (
            agent("ann", Role::Agent, &[]),
            "an agent with login `ann` already exists",
        ),
        (
            agent("no spaces", Role::Agent, &[]),
            "agent login `no spaces` must be 1 to 64 letters, digits, `.`, `_`, `-` or `@`",
        ),
        (
            agent("cid", Role::Agent, &["nope"]),
            "there is no group `nope`: add it first",
        ),
    ] {
        assert_eq!(root.add_agent(new).expect_err(message).to_string(), message);
    }
}

#[test]
fn unknown_and_disabled_agents_cannot_act() {
    let t = TestStore::new(FIELDS);
    t.host.first_admin("root").expect("admin");
    t.host
        .add_agent(agent("ann", Role::Agent, &[]))
        .expect("ann");
    let err = t.host.as_agent("zed").expect_err("unknown");
    assert_eq!(err.code(), "unknown_agent");
    assert_eq!(
        err.to_string(),
        "unknown agent `zed`: no enabled agent has this login"
    );
    let ann = t.host.as_agent("ann").expect("ann acts");
    t.host.disable_agent("ann").expect("disabled");
    assert!(t.host.as_agent("ann").is_err());
    // A handle made before the agent was disabled stops working too.
    let c = t.customer("AC-1", "+33123456789");
    let case = t.host.open_case(NewCase::new(c, "Printer")).expect("case");
    let err = ann
        .assign_case(case.number, Some("ann".into()), None)
        .expect_err("disabled");
    assert_eq!(err.code(), "unknown_agent");
    // So does every screen-pop, whether the number is known, unknown or
    // not a number at all (the pop by phone reads the agent itself).
    for caller in ["+33123456789", "+33999999999", "garbage"] {
        let mut call = dossier_sdk::Interaction::new(dossier_sdk::Channel::Phone);
        call.caller = Some(caller.into());
        let err = ann.screen_pop(call).expect_err("disabled");
        assert_eq!(err.code(), "unknown_agent", "{caller}");
    }
}

#[test]
fn reassigning_a_case_to_someone_else_needs_reassign_cases() {
    let t = TestStore::new(FIELDS);
    t.host.first_admin("root").expect("admin");
    t.host.add_group("tier2", None).expect("group");
    for (login, role) in [("ann", Role::Agent), ("sue", Role::Supervisor)] {
        t.host
            .add_agent(agent(login, role, &["tier2"]))
            .expect("agent");
    }
    let c = t.customer("AC-1", "+33123456789");
    let case = t.host.open_case(NewCase::new(c, "Printer")).expect("case");
    let ann = t.host.as_agent("ann").expect("ann");

    // To oneself and to one's own group: allowed.
    ann.assign_case(case.number, Some("ann".into()), Some("tier2".into()))
        .expect("own");
    // To someone else: refused, nothing written.
    let err = ann
        .assign_case(case.number, Some("sue".into()), None)
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        format!(
            "agent ann may not assign case {} to agent sue: the `reassign_cases` permission is missing",
            case.number
        )
    );
    assert_eq!(
        t.host.case(case.number).expect("case").owner.as_deref(),
        Some("ann")
    );
    // A supervisor holds it by role; an admin can grant it to an agent.
    t.host
        .as_agent("sue")
        .expect("sue")
        .assign_case(case.number, Some("ann".into()), None)
        .expect("supervisor");
    t.host
        .as_agent("root")
        .expect("root")
        .update_agent(
            "ann",
            AgentChange {
                grant: vec![(Permission::ReassignCases, true)],
                ..Default::default()
            },
        )
        .expect("granted");
    ann.assign_case(case.number, Some("sue".into()), None)
        .expect("granted now");
    assert_eq!(
        t.host.agent("ann").expect("ann").permissions(),
        vec![
            Permission::ReassignCases,
            Permission::TransferEmail,
            Permission::RejectChat,
            Permission::EditOwnProfile
        ],
        "the grant, beside what every agent holds"
    );
}

#[test]
fn the_last_enabled_admin_cannot_be_demoted_or_disabled() {
    let t = TestStore::new(FIELDS);
    t.host.first_admin("root").expect("admin");
    let err = t.host.disable_agent("root").expect_err("last admin");
    assert_eq!(
        err.to_string(),
        "root is the last enabled admin: make another agent admin first"
    );
    let err = t
        .host
        .update_agent(
            "root",
            AgentChange {
                role: Some(Role::Agent),
                ..Default::default()
            },
        )
        .expect_err("last admin");
    assert!(matches!(err, Error::Refused(_)), "{err:?}");
    t.host
        .add_agent(agent("max", Role::Admin, &[]))
        .expect("second admin");
    t.host.disable_agent("root").expect("now allowed");
    assert!(t.host.agent("root").expect("kept").disabled);
}

#[test]
fn the_last_holder_of_manage_agents_cannot_withhold_it_from_themself() {
    let t = TestStore::new(FIELDS);
    t.host.first_admin("root").expect("admin");
    let withhold = || AgentChange {
        grant: vec![(Permission::ManageAgents, false)],
        ..Default::default()
    };
    let err = t
        .host
        .update_agent("root", withhold())
        .expect_err("last holder");
    assert!(
        err.to_string().contains("last agent holding manage_agents"),
        "{err}"
    );
    assert!(
        t.host
            .agent("root")
            .expect("root")
            .has(Permission::ManageAgents)
    );
    // With a second holder (a plain agent granted it), it may go.
    t.host
        .add_agent(agent("ann", Role::Agent, &[]))
        .expect("ann");
    t.host
        .update_agent(
            "ann",
            AgentChange {
                grant: vec![(Permission::ManageAgents, true)],
                ..Default::default()
            },
        )
        .expect("granted");
    t.host
        .update_agent("root", withhold())
        .expect("ann still manages");
    assert!(
        !t.host
            .agent("root")
            .expect("root")
            .has(Permission::ManageAgents)
    );
    // Now ann is the last holder: she cannot give it up either, nor be disabled.
    let err = t.host.disable_agent("ann").expect_err("last holder");
    assert!(err.to_string().contains("manage_agents"), "{err}");
}

#[test]
fn a_case_update_that_changes_the_owner_is_checked_too_but_routing_hooks_are_not() {
    let t = TestStore::new(FIELDS);
    std::fs::create_dir_all(t.dir.path().join("scripts")).expect("scripts");
    std::fs::write(
        t.dir.path().join("scripts/route.rhai"),
        "fn before_save_case(c) { if c.subject.contains(\"billing\") { c.group = \"billing\"; } }\n",
    )
    .expect("script");
    let host = t
        .reopen(&format!("[scripts]\nfiles = [\"route.rhai\"]\n{FIELDS}"))
        .expect("host with the script");
    host.first_admin("root").expect("admin");
    host.add_group("billing", None).expect("group");
    host.add_agent(agent("ann", Role::Agent, &[])).expect("ann");
    let ann = host.as_agent("ann").expect("ann");
    let c = t.customer("AC-1", "+33123456789");
    // The admin's routing hook moves ann's new case to billing: allowed.
    let case = ann
        .open_case(NewCase::new(c, "billing question"))
        .expect("routed");
    assert_eq!(case.group.as_deref(), Some("billing"));
    // Ann giving the case to someone else through a plain update: refused.
    let mut changed = case.clone();
    changed.owner = Some("root".into());
    let err = ann.update_case(changed).expect_err("refused");
    assert_eq!(err.code(), "permission_denied");
    assert_eq!(host.case(case.number).expect("case").owner, None);
}

#[test]
fn an_agent_writes_follow_ups_as_themselves_and_admins_as_anyone() {
    let t = TestStore::new(FIELDS);
    t.host.first_admin("root").expect("admin");
    t.host
        .add_agent(agent("ann", Role::Agent, &[]))
        .expect("ann");
    let c = t.customer("AC-1", "+33123456789");
    let case = t.host.open_case(NewCase::new(c, "Printer")).expect("case");
    let ann = t.host.as_agent("ann").expect("ann");
    ann.add_follow_up(dossier_sdk::NewFollowUp::note(case.number, "ann", "mine"))
        .expect("as herself");
    let err = ann
        .add_follow_up(dossier_sdk::NewFollowUp::note(
            case.number,
            "root",
            "forged",
        ))
        .expect_err("as someone else");
    assert_eq!(
        err.to_string(),
        "agent ann may not write a follow-up as `root`: agents write as themselves, only admins may give another author"
    );
    t.host
        .as_agent("root")
        .expect("root")
        .add_follow_up(dossier_sdk::NewFollowUp::note(
            case.number,
            "ann",
            "for ann",
        ))
        .expect("an admin may");
}

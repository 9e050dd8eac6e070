//! The `audit-log` plugin writing a real JSON-lines file.

use dossier_sdk::{Case, Channel, Event, Interaction, NewCase, NewCustomer, Record, SaveOp};
use serde_json::Value;

use crate::built::entry;
use crate::util::TestStore;

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("audit file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn every_change_and_configured_event_becomes_one_json_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let audit = dir.path().join("audit.jsonl");
    let t = TestStore::new(&entry(
        "audit-log-plugin",
        &format!(
            "path = {:?}\nevents = [\"after_save\", \"screen_pop\"]",
            audit.display().to_string()
        ),
    ));
    let ann = t
        .host
        .create_customer(NewCustomer {
            account: "AC-9".into(),
            name: "Ann".into(),
            ..Default::default()
        })
        .expect("customer");
    let case = t
        .host
        .open_case(NewCase::new(ann.id, "Printer"))
        .expect("case");
    let closed = t.host.close_case(case.number).expect("closed");
    let mut email = Interaction::new(Channel::Email);
    email.account = Some("AC-9".into());
    t.host.screen_pop(email).expect("pop");

    let lines = lines(&audit);
    // kind, object, op, id of each line; `-` where a field is absent.
    let summary: Vec<String> = lines
        .iter()
        .map(|l| {
            ["kind", "object", "op", "id"]
                .map(|k| match &l[k] {
                    Value::Null => "-".to_owned(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .join(" ")
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            format!("after_save customer create {}", ann.id),
            format!("after_save case create {}", case.number),
            format!("after_save case update {}", case.number),
            "screen_pop - - -".to_owned(),
        ]
    );
    // The whole event is there, as the SDK encodes it.
    let last_case: Event = serde_json::from_value(lines[2]["event"].clone()).expect("an event");
    let Event::AfterSave(save) = last_case else {
        panic!("not an after_save")
    };
    assert_eq!(save.op, SaveOp::Update);
    assert_eq!(save.record, Record::Case(Case { ..closed }));
    for line in &lines {
        let at = line["at"].as_str().expect("a timestamp");
        chrono::DateTime::parse_from_rfc3339(at).expect("RFC 3339");
        // Nobody signed in: the host itself acted.
        assert_eq!(line["actor"], "system", "{line}");
    }
}

#[test]
fn each_line_names_the_agent_who_caused_the_event() {
    let dir = tempfile::tempdir().expect("temp dir");
    let audit = dir.path().join("audit.jsonl");
    let t = TestStore::new(&entry(
        "audit-log-plugin",
        &format!(
            "path = {:?}\nevents = [\"before_save\", \"after_save\", \"screen_pop\"]",
            audit.display().to_string()
        ),
    ));
    t.host
        .first_admin("root")
        .expect("first admin")
        .expect("made");
    let root = t.host.as_agent("root").expect("root acts");
    let ann = root
        .create_customer(NewCustomer {
            account: "AC-9".into(),
            name: "Ann".into(),
            ..Default::default()
        })
        .expect("customer");
    t.host
        .open_case(NewCase::new(ann.id, "Printer"))
        .expect("case");
    let mut call = Interaction::new(Channel::Phone);
    call.account = Some("AC-9".into());
    root.screen_pop(call).expect("pop");

    let who: Vec<String> = lines(&audit)
        .iter()
        .map(|l| {
            format!(
                "{} {} {}",
                l["actor"].as_str().expect("an actor"),
                l["kind"].as_str().expect("a kind"),
                l["object"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            "root before_save customer",
            "root after_save customer",
            "system before_save case",
            "system after_save case",
            "root screen_pop -",
        ]
    );
}

#[test]
fn a_log_file_that_cannot_be_opened_refuses_the_plugin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let audit = dir.path().join("no-such-dir").join("audit.jsonl");
    let config = entry(
        "audit-log-plugin",
        &format!("path = {:?}", audit.display().to_string()),
    );
    let t = tempfile::tempdir().expect("temp dir");
    let path = t.path().join("dossier.toml");
    std::fs::write(&path, config).expect("config");
    let err = dossier_host::Host::builder(dossier_host::Config::load(&path).expect("config"))
        .create_if_missing()
        .open()
        .expect_err("refused");
    let message = err.to_string();
    assert!(
        message.starts_with("plugin audit-log (")
            && message.contains("refused to start: invalid plugin config: cannot open")
            && message.contains("no-such-dir"),
        "{message}"
    );
}

/// Agent and group changes, logged by default: who did what to whom, with
/// no password or token secret in any line.
#[test]
fn agent_and_group_changes_are_logged_with_their_actor_and_no_secret() {
    use dossier_host::AgentChange;
    use dossier_sdk::{NewAgent, Permission, Role};

    let dir = tempfile::tempdir().expect("temp dir");
    let audit = dir.path().join("audit.jsonl");
    // No `events`: the default, record and directory changes.
    let t = TestStore::new(&entry(
        "audit-log-plugin",
        &format!("path = {:?}", audit.display().to_string()),
    ));
    t.host
        .first_admin("root")
        .expect("first admin")
        .expect("made");
    let root = t.host.as_agent("root").expect("root acts");
    root.add_group("billing", Some("billing@example.com".into()))
        .expect("group");
    root.add_agent(NewAgent {
        login: "ann".into(),
        display_name: "Ann".into(),
        email: Some("ann@example.com".into()),
        groups: vec!["billing".into()],
        ..Default::default()
    })
    .expect("ann");
    let password = "correct horse battery staple";
    root.set_password("ann", password).expect("password");
    let token = root.mint_token("ann", "crm sync", None).expect("token");
    root.update_agent(
        "ann",
        AgentChange {
            role: Some(Role::Supervisor),
            ..Default::default()
        },
    )
    .expect("role");
    root.update_agent(
        "ann",
        AgentChange {
            grant: vec![(Permission::TransferEmail, false)],
            ..Default::default()
        },
    )
    .expect("withheld");
    // A change that changes nothing is not logged.
    root.update_agent(
        "ann",
        AgentChange {
            role: Some(Role::Supervisor),
            ..Default::default()
        },
    )
    .expect("same role");
    // A refused change writes nothing, and logs nothing.
    root.update_agent(
        "root",
        AgentChange {
            role: Some(Role::Agent),
            ..Default::default()
        },
    )
    .expect_err("the last admin stays an admin");
    let ann = t
        .host
        .login("ann", password)
        .expect("login")
        .expect("ann signs in");
    ann.update_agent(
        "ann",
        AgentChange {
            display_name: Some("Ann Bellamy".into()),
            ..Default::default()
        },
    )
    .expect("own profile");
    root.disable_agent("ann").expect("disabled");

    let raw = std::fs::read_to_string(&audit).expect("audit file");
    assert!(!raw.contains(password), "a password in the log: {raw}");
    assert!(
        !raw.contains(&token.secret),
        "a token secret in the log: {raw}"
    );
    let lines = lines(&audit);
    let summary: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{} {} {} {}",
                l["actor"].as_str().expect("an actor"),
                l["kind"].as_str().expect("a kind"),
                l["subject"].as_str().expect("a subject"),
                l["changes"]
                    .as_array()
                    .expect("changes")
                    .iter()
                    .map(|c| c.as_str().expect("a change name"))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "system directory_changed agent root added",
            "root directory_changed group billing added",
            "root directory_changed agent ann added",
            "root directory_changed agent ann role",
            "root directory_changed agent ann permissions",
            "ann directory_changed agent ann profile",
            "root directory_changed agent ann disabled",
        ]
    );
    // What changed, as the event says it.
    let change = |i: usize| lines[i]["event"]["data"]["changes"][0].clone();
    assert_eq!(
        change(3),
        serde_json::json!({"change": "role", "from": "agent", "to": "supervisor"})
    );
    assert_eq!(
        change(4),
        serde_json::json!({"change": "permissions", "granted": [],
                           "withheld": ["transfer_email"], "reset": []})
    );
    assert_eq!(
        change(5),
        serde_json::json!({"change": "profile", "fields": ["display_name"]})
    );
    assert_eq!(
        lines[5]["event"]["data"]["agent"]["display_name"],
        "Ann Bellamy"
    );
    assert_eq!(lines[6]["event"]["data"]["agent"]["disabled"], true);
    assert_eq!(
        lines[1]["event"]["data"]["group"]["email"],
        "billing@example.com"
    );
    // The event reads back as the SDK's type.
    let event: Event = serde_json::from_value(lines[2]["event"].clone()).expect("an event");
    let Event::DirectoryChanged(added) = event else {
        panic!("not a directory_changed event")
    };
    let agent = added.agent.expect("the agent");
    assert_eq!(
        (agent.login.as_str(), agent.groups.as_slice()),
        ("ann", ["billing".to_owned()].as_slice())
    );
}

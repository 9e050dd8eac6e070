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

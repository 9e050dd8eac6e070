//! The example scripts shipped in `scripts/`, run as an admin would: copied
//! into a Dossier directory with the fields `dossier init` declares.

use dossier_host::Error;
use dossier_sdk::{FieldValue, NewCase, NewCustomer, Phone};

use super::{Env, ada, all_tasks, open_case};

fn example(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn env_with(name: &str) -> Env {
    Env::new("", &[(name, example(name).as_str())])
}

#[test]
fn sla_computes_hours_from_severity_and_tier() {
    let env = env_with("sla.rhai");
    let host = env.host();
    let regular = ada(&host);
    let gold = host
        .create_customer(NewCustomer {
            account: "AC-GOLD".into(),
            name: "Grace Hopper".into(),
            custom: [("tier".to_owned(), FieldValue::Choice("gold".into()))].into(),
            ..Default::default()
        })
        .expect("saved");
    let sla = |c: &dossier_sdk::Case| c.custom.get("sla_hours").cloned();
    let minor = open_case(&host, &regular, "Question").expect("saved");
    assert_eq!(sla(&minor), Some(FieldValue::Integer(72)));
    let critical = host
        .open_case(NewCase {
            severity: Some("critical".into()),
            ..NewCase::new(gold.id, "Down")
        })
        .expect("saved");
    assert_eq!(sla(&critical), Some(FieldValue::Integer(2)));
    let changed = host
        .modify_case(minor.number, "severity", |c| {
            c.severity = "major".into();
            Ok(())
        })
        .expect("saved");
    assert_eq!(sla(&changed), Some(FieldValue::Integer(24)));
}

#[test]
fn require_resolution_refuses_to_close_without_one() {
    let env = env_with("require_resolution.rhai");
    let host = env.host();
    let ada = ada(&host);
    let case = open_case(&host, &ada, "Printer").expect("saved");
    let err = host.close_case(case.number).expect_err("vetoed");
    assert!(
        matches!(&err, Error::Vetoed { by, message } if by == "scripts/require_resolution.rhai"
            && message.contains("cannot be closed without a resolution")),
        "{err:?}"
    );
    assert!(host.case(case.number).expect("case").status == "open");
    host.modify_case(case.number, "resolve", |c| {
        c.custom.insert(
            "resolution".into(),
            FieldValue::Text("Replaced toner".into()),
        );
        Ok(())
    })
    .expect("saved");
    let closed = host.close_case(case.number).expect("closed");
    assert_eq!(closed.status, "closed");
}

#[test]
fn customer_language_defaults_from_country_or_phone() {
    let env = env_with("customer_language.rhai");
    let host = env.host();
    let lang = |c: &dossier_sdk::Customer| c.custom.get("language").cloned();
    let by_phone = ada(&host);
    assert_eq!(lang(&by_phone), Some(FieldValue::Choice("fr".into())));
    let mut new = NewCustomer {
        account: "AC-DE".into(),
        name: "Emmy Noether".into(),
        ..Default::default()
    };
    new.address.country = "de".into();
    assert_eq!(
        lang(&host.create_customer(new).expect("saved")),
        Some(FieldValue::Choice("de".into()))
    );
    let chosen = host
        .create_customer(NewCustomer {
            account: "AC-EN".into(),
            name: "Alan Turing".into(),
            phones: vec![Phone {
                label: "work".into(),
                number: "+49 30 1234567".into(),
            }],
            custom: [("language".to_owned(), FieldValue::Choice("en".into()))].into(),
            ..Default::default()
        })
        .expect("saved");
    assert_eq!(lang(&chosen), Some(FieldValue::Choice("en".into())));
}

#[test]
fn critical_callback_plans_a_task_after_commit() {
    let env = env_with("critical_callback.rhai");
    let host = env.host();
    let ada = ada(&host);
    open_case(&host, &ada, "Minor").expect("saved");
    assert!(all_tasks(&host).is_empty());
    let critical = host
        .open_case(NewCase {
            severity: Some("critical".into()),
            owner: Some("marie".into()),
            ..NewCase::new(ada.id, "Site down")
        })
        .expect("saved");
    let tasks = all_tasks(&host);
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].case, Some(critical.number));
    assert_eq!(tasks[0].assignee.as_deref(), Some("marie"));
    assert_eq!(tasks[0].reminder_minutes, Some(15));
    assert!(tasks[0].subject.contains("Site down"));
}

#[test]
fn readme_lists_every_example() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts");
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("scripts/README.md");
    for entry in std::fs::read_dir(&dir).expect("scripts dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".rhai") {
            assert!(
                readme.contains(&name),
                "scripts/README.md does not list {name}"
            );
        }
    }
}

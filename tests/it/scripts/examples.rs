//! The example scripts shipped in `scripts/`, run as an admin would: copied
//! into a Dossier directory with the fields `dossier init` declares.

use dossier_host::Error;
use dossier_sdk::{FieldValue, NewCase, NewCustomer};

use super::{Env, ada, all_tasks, open_case};

fn example(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A Dossier directory configured by the template `dossier init` writes,
/// with the one example script in its scripts directory.
fn env_with(name: &str) -> Env {
    let template =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/cli/src/dossier.toml");
    let env = Env::new("", &[]);
    std::fs::copy(&template, env.config_path()).expect("copy the init template");
    env.write_script(name, &example(name));
    env
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
fn case_product_defaults_from_the_subject() {
    let env = env_with("case_product.rhai");
    let host = env.host();
    let ada = ada(&host);
    let product = |c: &dossier_sdk::Case| c.custom.get("product").cloned();
    let billing = open_case(&host, &ada, "Wrong INVOICE total").expect("saved");
    assert_eq!(
        product(&billing),
        Some(FieldValue::Choice("billing".into()))
    );
    let unknown = open_case(&host, &ada, "Something odd").expect("saved");
    assert_eq!(product(&unknown), None);
    let chosen = host
        .open_case(NewCase {
            custom: [("product".to_owned(), FieldValue::Choice("scheduler".into()))].into(),
            ..NewCase::new(ada.id, "Cannot log in to the portal")
        })
        .expect("saved");
    assert_eq!(
        product(&chosen),
        Some(FieldValue::Choice("scheduler".into()))
    );
    // Only new cases get a default.
    let later = host
        .modify_case(unknown.number, "describe", |c| {
            c.description = "billing question after all".into();
            Ok(())
        })
        .expect("saved");
    assert_eq!(product(&later), None);
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

//! Embedding Dossier in your own tool: open a host on a store file, create a
//! customer and a case, look the customer up by phone as a CTI connector
//! would, and read the case's follow-ups back newest first.

use dossier_host::{Config, Host, Page};
use dossier_sdk::{CustomerQuery, FieldValue, NewCase, NewCustomer, NewFollowUp, Phone};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let config_path = dir.path().join("dossier.toml");
    // A config is usually a file an admin edits; here it is written inline.
    std::fs::write(
        &config_path,
        r#"
[fields.customer.tier]
type = "choice"
choices = [{ key = "gold" }, { key = "standard" }]
default = "standard"
indexed = true
"#,
    )?;
    let host = Host::builder(Config::load(&config_path)?)
        .create_if_missing()
        .open()?;

    let customer = host.create_customer(NewCustomer {
        account: "AC-000042".into(),
        name: "Katherine Johnson".into(),
        phones: vec![Phone {
            label: "work".into(),
            number: "+1 (757) 555-0142".into(),
        }],
        custom: [("tier".to_owned(), FieldValue::Choice("gold".into()))].into(),
        ..Default::default()
    })?;
    let case = host.open_case(NewCase::new(customer.id, "Trajectory report missing"))?;
    host.add_follow_up(NewFollowUp::note(
        case.number,
        "agent.vaughan",
        "Called the customer.",
    ))?;
    host.add_follow_up(NewFollowUp::note(
        case.number,
        "agent.vaughan",
        "Report re-sent.",
    ))?;

    // The phone system sends the caller's number in its own format.
    let matches = host.find_customers(&CustomerQuery {
        phone: Some("+17575550142".into()),
        ..Default::default()
    })?;
    let caller = matches.first().ok_or("the caller should be found")?;
    println!("incoming call from {} ({})", caller.name, caller.account);

    for case in host.cases_of(caller.id, true)? {
        let (follow_ups, total) = host.follow_ups(case.number, Page::default())?;
        println!(
            "open case {}: {} ({total} follow-ups)",
            case.number, case.subject
        );
        for f in follow_ups {
            println!(
                "  {} {}: {}",
                f.created_at.format("%H:%M:%S"),
                f.author,
                f.body
            );
        }
    }
    Ok(())
}

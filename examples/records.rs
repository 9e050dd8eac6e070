//! The smallest embedding: a store file and its records, nothing else.
//! Built with `--no-default-features` it carries no mail, chat, scripting,
//! plugin loader or command line (BENCHMARKS.md gives its size).

use dossier_host::{Config, Host};
use dossier_sdk::{NewCase, NewCustomer, NewFollowUp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let config_path = dir.path().join("dossier.toml");
    std::fs::write(&config_path, "[store]\npath = \"records.db\"\n")?;
    let host = Host::builder(Config::load(&config_path)?)
        .create_if_missing()
        .open()?;

    let customer = host.create_customer(NewCustomer {
        account: "AC-000007".into(),
        name: "Dorothy Vaughan".into(),
        ..Default::default()
    })?;
    let case = host.open_case(NewCase::new(customer.id, "FORTRAN course request"))?;
    host.add_follow_up(NewFollowUp::note(
        case.number,
        "agent.jackson",
        "Sent the syllabus.",
    ))?;

    let stored = host.case(case.number)?;
    println!(
        "case {} for {}: {}",
        stored.number, customer.name, stored.subject
    );
    Ok(())
}

//! Test helper: writes to a Dossier store in a loop, from another process,
//! until its standard input closes.
//!
//! `write-loop CONFIG` opens the host `CONFIG` describes and, round after
//! round, opens a case, adds a note to it and attaches a file to it (a
//! blob of its own, unique content), all in one write transaction; after
//! each commit it prints the number of rounds committed so far, one per
//! line. When stdin closes it finishes the round, prints `done N` and
//! exits. Tests run backups, restores and `gc` against it.

#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dossier_host::{Config, Host};
use dossier_sdk::{NewCase, NewCustomer, NewFollowUp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = std::env::args().nth(1).ok_or("usage: write-loop CONFIG")?;
    let host = Host::open(Config::load(config.as_ref())?)?;
    let customer = host.create_customer(NewCustomer {
        account: format!("WRITER-{}", std::process::id()),
        name: "Loop writer".into(),
        ..Default::default()
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = stop.clone();
    std::thread::spawn(move || {
        let mut rest = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut rest);
        stopper.store(true, Ordering::SeqCst);
    });
    let mut stdout = std::io::stdout();
    let mut rounds = 0u64;
    while !stop.load(Ordering::SeqCst) {
        host.transaction("write loop", |host| {
            let case = host.open_case(NewCase::new(customer.id, format!("round {rounds}")))?;
            host.add_follow_up(NewFollowUp::note(case.number, "writer", "a note"))?;
            let bytes = format!("attachment of round {rounds} by {}", std::process::id());
            dossier_host::test_support::attach(host, case.number, "round.txt", bytes.as_bytes())?;
            Ok(())
        })?;
        rounds += 1;
        writeln!(stdout, "{rounds}")?;
        stdout.flush()?;
    }
    writeln!(stdout, "done {rounds}")?;
    stdout.flush()?;
    Ok(())
}

//! Per-write cost of Rhai script hooks: opening cases on a real SQLite file
//! with scripting off, with scripts loaded but no hook for cases, and with a
//! 10-line `before_save_case` hook; plus the hook call alone (`Host::fire`,
//! no write). Prints a Markdown table of medians and ratios to the baseline
//! measured in the same run.
//!
//! Run: `cargo bench -p dossier-host --bench script_hooks`

use std::path::Path;
use std::time::{Duration, Instant};

use dossier_host::{Config, Host};
use dossier_sdk::{Event, NewCase, NewCustomer, Record, SaveEvent, SaveOp};

const TEN_LINE_HOOK: &str = r#"
fn before_save_case(c) {
    let subject = c.subject;
    if subject.contains("urgent") {
        c.priority = "urgent";
    }
    let hours = if c.severity == "critical" { 4 } else { 72 };
    if c.priority == "urgent" {
        hours = hours / 2;
    }
    c.set_custom("sla_hours", hours);
    c.description = `SLA ${hours}h`;
}
"#;

const OTHER_HOOK: &str = "fn before_save_task(t) {\n    t.subject = t.subject.trim();\n}\n";

const WRITES_PER_ROUND: usize = 500;
const ROUNDS: usize = 9;

fn open(dir: &Path, scripts: Option<&str>) -> Result<Host, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir.join("scripts"))?;
    let scripts_section = match scripts {
        None => "[scripts]\nenabled = false\n".to_owned(),
        Some(text) => {
            std::fs::write(dir.join("scripts/bench.rhai"), text)?;
            "[scripts]\nfiles = [\"bench.rhai\"]\n".to_owned()
        }
    };
    let config = format!(
        "[store]\npath = \"bench.db\"\n\n{scripts_section}\n[fields.case.sla_hours]\ntype = \"integer\"\n"
    );
    let path = dir.join("dossier.toml");
    std::fs::write(&path, config)?;
    Ok(Host::open(Config::load(&path)?)?)
}

/// Median time per operation over `ROUNDS` rounds of `WRITES_PER_ROUND`.
fn measure(
    mut op: impl FnMut(usize) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<Duration, Box<dyn std::error::Error>> {
    for i in 0..WRITES_PER_ROUND / 5 {
        op(i)?;
    }
    let mut per_op = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let started = Instant::now();
        for i in 0..WRITES_PER_ROUND {
            op(round * WRITES_PER_ROUND + i)?;
        }
        per_op.push(started.elapsed() / WRITES_PER_ROUND as u32);
    }
    per_op.sort();
    Ok(per_op[ROUNDS / 2])
}

fn case_creation(scripts: Option<&str>) -> Result<Duration, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let host = open(dir.path(), scripts)?;
    let customer = host.create_customer(NewCustomer {
        account: "AC-BENCH".into(),
        name: "Bench".into(),
        ..Default::default()
    })?;
    measure(|i| {
        let subject = if i % 2 == 0 {
            "urgent: printer"
        } else {
            "printer"
        };
        host.open_case(NewCase::new(customer.id, subject))?;
        Ok(())
    })
}

fn hook_call_alone() -> Result<Duration, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let host = open(dir.path(), Some(TEN_LINE_HOOK))?;
    let customer = host.create_customer(NewCustomer {
        account: "AC-BENCH".into(),
        name: "Bench".into(),
        ..Default::default()
    })?;
    let case = host.open_case(NewCase::new(customer.id, "urgent: printer"))?;
    measure(|_| {
        let event = Event::BeforeSave(SaveEvent {
            op: SaveOp::Update,
            record: Record::Case(case.clone()),
        });
        host.fire(event)?;
        Ok(())
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let baseline = case_creation(None)?;
    let no_hook = case_creation(Some(OTHER_HOOK))?;
    let hook = case_creation(Some(TEN_LINE_HOOK))?;
    let alone = hook_call_alone()?;
    let ratio = |d: Duration| d.as_secs_f64() / baseline.as_secs_f64();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("| case creation | median per write | ratio to baseline |");
    println!("|---|---|---|");
    println!(
        "| scripting off (baseline) | {:.1} µs | 1.00 |",
        us(baseline)
    );
    println!(
        "| scripts loaded, no hook for cases | {:.1} µs | {:.2} |",
        us(no_hook),
        ratio(no_hook)
    );
    println!(
        "| 10-line `before_save_case` hook | {:.1} µs | {:.2} |",
        us(hook),
        ratio(hook)
    );
    println!(
        "\nhook overhead per write (hook − baseline): {:.1} µs; the hook call alone (`Host::fire`, no write): {:.1} µs",
        us(hook.saturating_sub(baseline)),
        us(alone)
    );
    Ok(())
}

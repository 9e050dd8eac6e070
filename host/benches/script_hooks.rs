//! Per-write cost of Rhai script hooks: opening cases on a real SQLite file
//! with scripting off, with scripts loaded but no hook for cases, and with a
//! 10-line `before_save_case` hook; plus the hook call alone (`test_support::fire`,
//! no write). Prints a Markdown table of medians and ratios to the baseline
//! measured in the same run.
//!
//! Run: `cargo bench -p dossier-host --bench script_hooks`

mod common;

use std::path::Path;
use std::time::Instant;

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

const WRITES_PER_ROUND: usize = 200;
const ROUNDS: usize = 21;

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
    Ok(Host::builder(Config::load(&path)?)
        .create_if_missing()
        .open()?)
}

type Op = Box<dyn FnMut(usize) -> Result<(), Box<dyn std::error::Error>>>;

/// Opens cases on a fresh store with `scripts`.
fn case_creation(dir: &Path, scripts: Option<&str>) -> Result<Op, Box<dyn std::error::Error>> {
    let host = open(dir, scripts)?;
    let customer = host.create_customer(NewCustomer {
        account: "AC-BENCH".into(),
        name: "Bench".into(),
        ..Default::default()
    })?;
    Ok(Box::new(move |i| {
        let subject = if i % 2 == 0 {
            "urgent: printer"
        } else {
            "printer"
        };
        host.open_case(NewCase::new(customer.id, subject))?;
        Ok(())
    }))
}

/// Fires `before_save` for a case through the hook, without writing.
fn hook_call_alone(dir: &Path) -> Result<Op, Box<dyn std::error::Error>> {
    let host = open(dir, Some(TEN_LINE_HOOK))?;
    let customer = host.create_customer(NewCustomer {
        account: "AC-BENCH".into(),
        name: "Bench".into(),
        ..Default::default()
    })?;
    let case = host.open_case(NewCase::new(customer.id, "urgent: printer"))?;
    Ok(Box::new(move |_| {
        let event = Event::BeforeSave(SaveEvent::new(SaveOp::Update, Record::Case(case.clone())));
        dossier_host::test_support::fire(&host, event)?;
        Ok(())
    }))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dirs = [
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    ];
    let names = [
        "scripting off (baseline)",
        "scripts loaded, no hook for cases",
        "10-line `before_save_case` hook",
        "the hook call alone (`test_support::fire`, no write)",
    ];
    let mut ops: Vec<Op> = vec![
        case_creation(dirs[0].path(), None)?,
        case_creation(dirs[1].path(), Some(OTHER_HOOK))?,
        case_creation(dirs[2].path(), Some(TEN_LINE_HOOK))?,
        hook_call_alone(dirs[3].path())?,
    ];
    // For profiling: `DOSSIER_BENCH_ONLY=alone` runs the cases whose name
    // contains the text, 100 rounds each, and prints their median and
    // fastest round alone.
    if let Ok(only) = std::env::var("DOSSIER_BENCH_ONLY") {
        for (name, op) in names.iter().zip(&mut ops) {
            if !name.contains(only.as_str()) {
                continue;
            }
            let mut rounds = Vec::new();
            for round in 0..100 {
                let started = Instant::now();
                for i in 0..WRITES_PER_ROUND {
                    op(round * WRITES_PER_ROUND + i)?;
                }
                rounds.push(started.elapsed().as_secs_f64() * 1e6 / WRITES_PER_ROUND as f64);
            }
            let (least, middle) = (
                rounds.iter().copied().fold(f64::MAX, f64::min),
                median(rounds),
            );
            println!(
                "{name}: median {middle:.2} µs, fastest round {least:.2} µs per operation; {}",
                common::machine()
            );
        }
        return Ok(());
    }
    // Warm up, then interleave the cases round by round so that a change in
    // machine load hits them alike.
    for op in &mut ops {
        for i in 0..WRITES_PER_ROUND {
            op(i)?;
        }
    }
    let mut micros: Vec<Vec<f64>> = vec![Vec::new(); ops.len()];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); ops.len()];
    for round in 1..=ROUNDS {
        let mut this_round = Vec::with_capacity(ops.len());
        for op in &mut ops {
            let started = Instant::now();
            for i in 0..WRITES_PER_ROUND {
                op(round * WRITES_PER_ROUND + i)?;
            }
            this_round.push(started.elapsed().as_secs_f64() * 1e6 / WRITES_PER_ROUND as f64);
        }
        for (k, t) in this_round.iter().enumerate() {
            micros[k].push(*t);
            ratios[k].push(t / this_round[0]);
        }
    }
    println!(
        "script hooks: {ROUNDS} interleaved rounds of {WRITES_PER_ROUND} operations; {}",
        common::machine()
    );
    println!("| case | median per operation | median ratio to baseline |");
    println!("|---|---|---|");
    for (k, name) in names.iter().enumerate() {
        println!(
            "| {name} | {:.1} µs | {:.2} |",
            median(micros[k].clone()),
            median(ratios[k].clone())
        );
    }
    let overhead: Vec<f64> = micros[2]
        .iter()
        .zip(&micros[0])
        .map(|(h, b)| h - b)
        .collect();
    println!(
        "\nper-write cost of the hook (hook case − baseline, median over rounds): {:.1} µs",
        median(overhead)
    );
    Ok(())
}

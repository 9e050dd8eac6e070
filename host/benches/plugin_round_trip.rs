//! Benchmark: the round trip of one `before_save` event through a loaded
//! native plugin, against the same event serialized and deserialized
//! in-process (the baseline), measured in the same run; and the round trip
//! of a plugin that changes one field (its reply carries a patch) against
//! one that changes nothing (issue 9's target: at most 1.3x).
//!
//! Run with `cargo bench -p dossier-host --bench plugin_round_trip`. It
//! builds the test plugins it loads (`noop-plugin`, `probe-plugin`) with the
//! same profile and target directory first.

#[path = "../../tests/cargo.rs"]
mod cargo;
mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use dossier_host::test_support::with_ctx;
use dossier_host::{Config, Handler, Host};
use dossier_sdk::{
    Case, CaseNumber, CustomFields, CustomerId, Event, FieldValue, Record, SaveEvent, SaveOp,
    Visibility,
};

type BoxError = Box<dyn std::error::Error>;

/// The profile directory this bench runs from (`target/release`), after
/// building the plugins it loads there.
fn built_plugins() -> Result<PathBuf, BoxError> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("bench executable is not in <target>/<profile>/deps")?
        .to_owned();
    let target_dir = profile_dir.parent().ok_or("no target directory")?;
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => "release",
    };
    let status = cargo::nested_cargo()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "--profile", profile, "--target-dir"])
        .arg(target_dir)
        .args(["-p", "noop-plugin", "-p", "probe-plugin"])
        .status()?;
    if !status.success() {
        return Err(format!("building the plugins failed: {status}").into());
    }
    Ok(profile_dir)
}

fn library(dir: &Path, package: &str) -> String {
    dir.join(format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    ))
    .display()
    .to_string()
}

/// A case as a `before_save` hook sees it: standard fields and a few custom ones.
fn event() -> Event {
    let at = Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .unwrap_or_default();
    let mut custom = CustomFields::new();
    custom.insert("contract_ref".into(), FieldValue::Text("CT-88121".into()));
    custom.insert("escalated".into(), FieldValue::Bool(false));
    custom.insert("units".into(), FieldValue::Integer(3));
    Event::BeforeSave(SaveEvent {
        op: SaveOp::Create,
        record: Record::Case(Case {
            number: CaseNumber(14355),
            customer: CustomerId(42),
            subject: "Printer jams on every second page".into(),
            description: "Customer reports jams since the firmware update.".into(),
            status: "open".into(),
            visibility: Visibility::Public,
            severity: "major".into(),
            priority: "normal".into(),
            owner: Some("agent7".into()),
            group: Some("hardware".into()),
            last_disposition: None,
            thread_token: None,
            custom,
            created_at: at,
            updated_at: at,
        }),
        changed: Vec::new(),
    })
}

/// Nanoseconds per call of each case, measured in interleaved rounds so
/// that a change in machine load hits every case alike: per case, the time
/// of one call in each round.
fn measure(cases: &mut [&mut dyn FnMut()]) -> Vec<Vec<f64>> {
    // Warm up, and size one sample of each case to about 20 ms.
    let mut per_sample = Vec::new();
    for f in cases.iter_mut() {
        let start = Instant::now();
        let mut calls = 0u64;
        while start.elapsed() < Duration::from_millis(100) {
            f();
            calls += 1;
        }
        per_sample.push((calls / 5).max(1));
    }
    let rounds = 31;
    let mut times = vec![Vec::with_capacity(rounds); cases.len()];
    for _ in 0..rounds {
        for (i, f) in cases.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..per_sample[i] {
                f();
            }
            times[i].push(start.elapsed().as_nanos() as f64 / per_sample[i] as f64);
        }
    }
    times
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The median over rounds of `case`'s time over `base`'s time in the same
/// round.
fn ratio(case: &[f64], base: &[f64]) -> f64 {
    let ratios: Vec<f64> = case.iter().zip(base).map(|(a, b)| a / b).collect();
    median(&ratios)
}

/// Entry point of the benchmark.
fn main() -> Result<(), BoxError> {
    let dir = built_plugins()?;
    let config = Config::parse(
        &format!(
            "[[plugins]]\npath = {:?}\ntrust = true\n\n\
             [[plugins]]\npath = {:?}\ntrust = true\n[plugins.config]\npriority = \"high\"\n\
             [[plugins]]\npath = {:?}\ntrust = true\n",
            library(&dir, "noop-plugin"),
            library(&dir, "probe-plugin"),
            library(&dir, "probe-plugin"),
        ),
        Path::new("bench.toml"),
    )?;
    let plugins = dossier_plugins::load(&config)?;
    // The probe twice: changing the case's priority, and with an empty
    // config, changing nothing (a control: the same plugin, serialized calls
    // and all, without the patch).
    let (noop, probe, idle) = match plugins.as_slice() {
        [noop, probe, idle] => (noop.clone(), probe.clone(), idle.clone()),
        _ => return Err("expected three plugins".into()),
    };
    // A host to pass to handlers; the event does not touch its store.
    let host = Host::open_in_memory(Config::parse("", Path::new("bench.toml"))?)?;
    let event = event();
    let size = serde_json::to_vec(&event)?.len();

    let mut baseline = || {
        let bytes = serde_json::to_vec(black_box(&event)).unwrap_or_default();
        let back: Result<Event, _> = serde_json::from_slice(&bytes);
        black_box(back.ok());
    };
    // The plugin rows clone the event per call (a handler needs its own
    // `&mut Event`); this row measures the clone alone.
    let mut clone = || {
        black_box(event.clone());
    };
    let mut through_noop = || {
        let mut e = event.clone();
        let outcome = with_ctx(&host, |ctx| noop.handle(ctx, black_box(&mut e)));
        black_box((outcome.ok(), e));
    };
    let probe_handler = probe.clone();
    let mut through_probe = || {
        let mut e = event.clone();
        let outcome = with_ctx(&host, |ctx| probe.handle(ctx, black_box(&mut e)));
        black_box((outcome.ok(), e));
    };
    let mut through_idle = || {
        let mut e = event.clone();
        let outcome = with_ctx(&host, |ctx| idle.handle(ctx, black_box(&mut e)));
        black_box((outcome.ok(), e));
    };
    let times = measure(&mut [
        &mut baseline,
        &mut clone,
        &mut through_noop,
        &mut through_probe,
        &mut through_idle,
    ]);
    let [base, clone, noop, probe, idle] = times.as_slice() else {
        return Err("five cases measured".into());
    };
    let patch = {
        let mut e = event.clone();
        let before = e.clone();
        with_ctx(&host, |ctx| probe_handler.handle(ctx, &mut e))?;
        let patch = dossier_sdk::abi::patch::EventPatch::diff(&before, e);
        serde_json::to_string(&patch)?
    };

    println!(
        "plugin round trip: one before_save event ({size} bytes of JSON), ns per call; {}",
        common::machine()
    );
    println!(
        "{:<56} {:>8} {:>8} {:>7}",
        "case", "median", "fastest", "ratio"
    );
    for (name, t) in [
        ("baseline: serialize + deserialize in-process", base),
        ("clone of the event (included in the rows below)", clone),
        ("no-op plugin (event unchanged: reply without patch)", noop),
        ("probe plugin (changes one field: reply with patch)", probe),
        ("probe plugin, empty config (changes nothing)", idle),
    ] {
        let fastest = t.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "{name:<56} {:>8.0} {fastest:>8.0} {:>6.2}x",
            median(t),
            ratio(t, base)
        );
    }
    println!(
        "(ratio: median over rounds of the case's time / the baseline's time in the same round)"
    );
    println!(
        "changes one field / changes nothing, median over rounds: probe / no-op {:.2}x \
         (target: at most 1.3x), probe / empty-config probe {:.2}x",
        ratio(probe, noop),
        ratio(probe, idle)
    );
    println!("the probe's patch, {} bytes: {patch}", patch.len());
    Ok(())
}

//! Benchmark: the round trip of one `before_save` event through a loaded
//! native plugin, against the same event serialized and deserialized
//! in-process (the baseline), measured in the same run.
//!
//! Run with `cargo bench -p dossier-host --bench plugin_round_trip`. It
//! builds the test plugins it loads (`noop-plugin`, `probe-plugin`) with the
//! same profile and target directory first.

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
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
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
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
/// that a change in machine load hits every case alike. Returns, per case,
/// the median time, the fastest sample, and the median of its per-round
/// ratio to case 0.
fn measure(cases: &mut [&mut dyn FnMut()]) -> Vec<(f64, f64, f64)> {
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
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    times
        .iter()
        .map(|t| {
            let ratios: Vec<f64> = t.iter().zip(&times[0]).map(|(a, b)| a / b).collect();
            let fastest = t.iter().copied().fold(f64::INFINITY, f64::min);
            (median(t), fastest, median(&ratios))
        })
        .collect()
}

/// Entry point of the benchmark.
fn main() -> Result<(), BoxError> {
    let dir = built_plugins()?;
    let config = Config::parse(
        &format!(
            "[[plugins]]\npath = {:?}\ntrust = true\n\n\
             [[plugins]]\npath = {:?}\ntrust = true\n[plugins.config]\npriority = \"high\"\n",
            library(&dir, "noop-plugin"),
            library(&dir, "probe-plugin"),
        ),
        Path::new("bench.toml"),
    )?;
    let plugins = dossier_host::test_support::load(&config)?;
    let (noop, probe) = match plugins.as_slice() {
        [noop, probe] => (noop.clone(), probe.clone()),
        _ => return Err("expected two plugins".into()),
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
    let mut through_probe = || {
        let mut e = event.clone();
        let outcome = with_ctx(&host, |ctx| probe.handle(ctx, black_box(&mut e)));
        black_box((outcome.ok(), e));
    };
    let results = measure(&mut [
        &mut baseline,
        &mut clone,
        &mut through_noop,
        &mut through_probe,
    ]);
    let [base, clone, noop, probe] = results.as_slice() else {
        return Err("four cases measured".into());
    };

    println!(
        "plugin round trip: one before_save event ({size} bytes of JSON), ns per call; {}",
        common::machine()
    );
    println!(
        "{:<56} {:>8} {:>8} {:>7}",
        "case", "median", "fastest", "ratio"
    );
    for (name, (median, fastest, ratio)) in [
        ("baseline: serialize + deserialize in-process", base),
        ("clone of the event (included in the rows below)", clone),
        ("no-op plugin (event unchanged: reply without event)", noop),
        ("probe plugin (changes the event: reply carries it)", probe),
    ] {
        println!("{name:<56} {median:>8.0} {fastest:>8.0} {ratio:>6.2}x");
    }
    println!(
        "(ratio: median over rounds of the case's time / the baseline's time in the same round)"
    );
    Ok(())
}

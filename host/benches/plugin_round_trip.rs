//! Benchmark: the round trip of one `before_save` event through a loaded
//! native plugin, against the same event serialized and deserialized
//! in-process (the baseline), measured in the same run.
//!
//! Run with `cargo bench -p dossier-host --bench plugin_round_trip`. It
//! builds the test plugins it loads (`noop-plugin`, `probe-plugin`) with the
//! same profile and target directory first.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
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
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().unwrap_or_default();
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
    })
}

/// Median and minimum nanoseconds per call of `f` over `samples` samples.
fn measure(mut f: impl FnMut()) -> (f64, f64) {
    // Warm up and size a sample to about 50 ms.
    let start = Instant::now();
    let mut warm = 0u64;
    while start.elapsed() < Duration::from_millis(200) {
        f();
        warm += 1;
    }
    let per_sample = (warm / 4).max(1);
    let mut results: Vec<f64> = (0..21)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_sample {
                f();
            }
            start.elapsed().as_nanos() as f64 / per_sample as f64
        })
        .collect();
    results.sort_by(f64::total_cmp);
    (results[results.len() / 2], results[0])
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
    let plugins = dossier_host::plugin::load(&config)?;
    let (noop, probe) = match plugins.as_slice() {
        [noop, probe] => (noop.clone(), probe.clone()),
        _ => return Err("expected two plugins".into()),
    };
    // A host to pass to handlers; the event does not touch its store.
    let host = Host::open_in_memory(Config::parse("", Path::new("bench.toml"))?)?;
    let event = event();
    let size = serde_json::to_vec(&event)?.len();

    let (base, base_min) = measure(|| {
        let bytes = serde_json::to_vec(black_box(&event)).unwrap_or_default();
        let back: Result<Event, _> = serde_json::from_slice(&bytes);
        black_box(back.ok());
    });
    let (noop_ns, noop_min) = measure(|| {
        let mut e = event.clone();
        let outcome = noop.handle(&host, black_box(&mut e));
        black_box((outcome.ok(), e));
    });
    let (clone_ns, _) = measure(|| {
        black_box(event.clone());
    });
    let (probe_ns, probe_min) = measure(|| {
        let mut e = event.clone();
        let outcome = probe.handle(&host, black_box(&mut e));
        black_box((outcome.ok(), e));
    });

    println!("plugin round trip: one before_save event ({size} bytes of JSON), ns per call");
    println!("{:<58} {:>9} {:>9} {:>7}", "case", "median", "min", "ratio");
    let row = |name: &str, median: f64, min: f64| {
        println!(
            "{name:<58} {median:>9.0} {min:>9.0} {:>6.2}x",
            median / base
        );
    };
    row("baseline: serialize + deserialize in-process", base, base_min);
    row("no-op plugin (event unchanged, reply without event)", noop_ns - clone_ns, noop_min - clone_ns);
    row("probe plugin (changes the event, reply carries it)", probe_ns - clone_ns, probe_min - clone_ns);
    println!("(plugin rows exclude the {clone_ns:.0} ns the bench spends cloning the event per call)");
    Ok(())
}

//! A client in another language: `tests/python/journeys.py` (Python with
//! `requests`, in the virtualenv `tests/python/venv.sh` makes) drives the
//! main journeys against a real `dossier serve` on 127.0.0.1.

use std::path::Path;
use std::process::Command;

use super::serve::{Centre, PASSWORD};

/// The virtualenv's interpreter, made on first use (.ci/run makes it
/// before the tests).
fn python() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("tests/python/venv.sh"))
        .output()
        .expect("bash runs tests/python/venv.sh");
    assert!(
        out.status.success(),
        "tests/python/venv.sh could not make the virtualenv (python3 -m venv, pip install requests): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn the_python_client_journeys_pass_against_a_real_server() {
    let python = python();
    let c = Centre::new();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/journeys.py");
    let out = Command::new(python)
        .arg(script)
        .env("DOSSIER_URL", &c.served.base)
        .env("DOSSIER_PASSWORD", PASSWORD)
        .env("DOSSIER_ANN_TOKEN", c.token("ann"))
        .env("DOSSIER_BOB_TOKEN", c.token("bob"))
        .env("DOSSIER_BOSS_TOKEN", c.token("boss"))
        .output()
        .expect("python runs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains(" passed, 0 failed"), "{report}");
    assert!(!report.contains("FAIL"), "{report}");
}

//! A client in another language: `tests/python/journeys.py` (Python with
//! `requests`, in the virtualenv `tests/python/venv.sh` makes) drives the
//! main journeys against a real `dossier serve` on 127.0.0.1.

use std::path::Path;
use std::process::Command;

use super::serve::{Centre, PASSWORD};
use super::util::{command, json};

/// Mail to a relay that refuses connections (sends queue), and a chat queue.
const CONFIG: &str = "\n[email.smtp]\nhost = \"127.0.0.1\"\nport = 1\nsecurity = \"none\"\ntimeout_ms = 500\n\n[chat.queues.sales]\nmembers = [\"ann\", \"bob\"]\n";

/// An email from Ada as the MTA hands it over.
fn mail(id: &str, subject: &str, extra: &str, body: &str) -> String {
    format!(
        "From: Ada Lovelace <ada@example.com>\r\nTo: Support <support@example.com>\r\n\
         Subject: {subject}\r\nMessage-ID: <{id}@example.com>\r\n\
         Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n{extra}\r\n{body}\r\n"
    )
}

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
    let c = Centre::with_config(CONFIG);
    // Ada writes; her case goes to ann; she writes again: ann's workbin.
    for (name, raw) in [
        ("one.eml", mail("m1", "Invoice", "", "Where is my invoice?")),
        (
            "two.eml",
            mail(
                "m2",
                "Re: Invoice",
                "In-Reply-To: <m1@example.com>\r\n",
                "Any news?",
            ),
        ),
    ] {
        std::fs::write(c.dir.path().join(name), raw).expect("mail");
        let out = command(c.dir.path(), &["--as", "boss", "email", "ingest", name])
            .output()
            .expect("ingest");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if name == "one.eml" {
            json(
                c.dir.path(),
                &["--as", "boss", "case", "assign", "1", "--owner", "ann"],
            );
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/journeys.py");
    let out = Command::new(python)
        .arg(script)
        .env("DOSSIER_URL", &c.served.base)
        .env("DOSSIER_BIN", env!("CARGO_BIN_EXE_dossier"))
        .env("DOSSIER_DIR", c.dir.path())
        .env_remove("DOSSIER_CONFIG")
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

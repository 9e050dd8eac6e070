//! Times typed on the command line: the forms people use, read in the
//! configured zone and shown back in it, and refusals (never a panic) for
//! what the store could not read back.

use crate::util::{dossier, failure, json};

fn store_with_a_case(zone: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    let config = std::fs::read_to_string(d.join("dossier.toml")).unwrap();
    let config = config.replace("zone = \"UTC\"", &format!("zone = \"{zone}\""));
    std::fs::write(d.join("dossier.toml"), config).unwrap();
    json(
        d,
        &["customer", "add", "--account", "AC-1", "--name", "Ada"],
    );
    json(d, &["case", "open", "--customer", "AC-1", "--subject", "x"]);
    dir
}

#[test]
fn out_of_range_times_are_refused_naming_the_option_and_the_store_stays_readable() {
    let dir = store_with_a_case("UTC");
    let d = dir.path();
    let task = |due: &str| {
        failure(
            d,
            &["task", "add", "--case", "1", "--subject", "x", "--due", due],
        )
    };
    let rendered = [
        task("+99999999999d"),
        task("+2913000d"),
        task("+-5m"),
        task("10000-01-01T00:00:00Z"),
        failure(
            d,
            &[
                "task",
                "add",
                "--case",
                "1",
                "--subject",
                "x",
                "--due",
                "0001-01-01",
                "--remind",
                "15",
            ],
        ),
        failure(d, &["run", "--until", "+9223372036854775807d"]),
        failure(d, &["run", "--until", "-5m"]),
    ];
    for r in &rendered {
        assert!(r.contains("exit 1: error: --"), "{r}");
    }
    insta::assert_snapshot!(rendered.join("\n"));
    // Nothing unreadable got in: every user can still list, finish and run.
    assert_eq!(json(d, &["task", "list"]), serde_json::json!([]));
    let run = dossier(d, &["run", "--once"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn times_are_read_and_shown_in_the_configured_zone() {
    let dir = store_with_a_case("Europe/Paris");
    let d = dir.path();
    let task = json(
        d,
        &[
            "task",
            "add",
            "--case",
            "1",
            "--subject",
            "Call",
            "--due",
            "2030-07-02 09:00",
        ],
    );
    assert_eq!(task["due_at"], "2030-07-02T07:00:00Z");
    let relative = json(
        d,
        &[
            "task",
            "add",
            "--case",
            "1",
            "--subject",
            "Later",
            "--due",
            "+1h30m",
        ],
    );
    assert!(relative["due_at"].is_string());
    let shown = dossier(d, &["task", "list"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("2030-07-02 09:00 CEST"), "{text}");
}

//! `dossier script check|test|docs`, run as an admin would after `dossier init`.

use std::path::Path;
use std::process::{Command, Output};

fn dossier(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dossier"))
        .args(args)
        .current_dir(dir)
        .env_remove("DOSSIER_LOG")
        .output()
        .expect("dossier runs")
}

/// `exit code`, stdout and stderr of one run, as a snapshot shows them.
fn session(dir: &Path, args: &[&str]) -> String {
    let out = dossier(dir, args);
    format!(
        "$ dossier {}\nexit {}\n{}{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name);
    std::fs::read_to_string(path).expect("example script")
}

#[test]
fn check_test_and_docs_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    std::fs::write(d.join("scripts/sla.rhai"), example("sla.rhai")).expect("write");
    std::fs::write(
        d.join("scripts/require_resolution.rhai"),
        example("require_resolution.rhai"),
    )
    .expect("write");
    let mut transcript = session(d, &["script", "check"]);

    let out = dossier(
        d,
        &[
            "--json",
            "customer",
            "add",
            "--account",
            "AC-1",
            "--name",
            "Ada Lovelace",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        d.join("closing.json"),
        r#"{ "op": "update", "record": { "number": 1, "customer": 1, "subject": "Printer", "severity": "critical", "status": "closed" } }"#,
    )
    .expect("write");
    std::fs::write(
        d.join("new.json"),
        r#"{ "customer": 1, "subject": "Printer", "severity": "critical" }"#,
    )
    .expect("write");
    transcript.push_str(&session(
        d,
        &["script", "test", "before_save_case", "--input", "new.json"],
    ));
    transcript.push_str(&session(
        d,
        &[
            "script",
            "test",
            "before_save_case",
            "--input",
            "closing.json",
        ],
    ));
    // Nothing was committed by the dry runs.
    let cases = dossier(d, &["--json", "case", "list"]);
    assert_eq!(String::from_utf8_lossy(&cases.stdout).trim(), "[]");

    std::fs::write(
        d.join("scripts/broken.rhai"),
        "fn before_save_task(t) {\n    t.subject = ;\n}\n",
    )
    .expect("write");
    transcript.push_str(&session(d, &["script", "check"]));

    let docs = dossier(d, &["script", "docs", "--definitions", "defs"]);
    assert!(docs.status.success());
    assert!(String::from_utf8_lossy(&docs.stdout).starts_with("# Dossier script reference"));
    let defs = std::fs::read_to_string(d.join("defs/dossier.d.rhai")).expect("definitions written");
    assert!(defs.contains("fn veto("));

    insta::with_settings!({filters => vec![
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[time]"),
    ]}, {
        insta::assert_snapshot!(transcript);
    });
}

#[test]
fn a_reminder_whose_hooks_failed_is_reported_failed_with_a_nonzero_exit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    std::fs::write(
        d.join("scripts/snooze.rhai"),
        "fn on_task_reminder(r) {\n    if r.task.subject.contains(\"broken\") { veto(\"no notice for broken tasks\"); }\n}\n",
    )
    .expect("write");
    let add = |subject: &str| {
        let out = dossier(
            d,
            &[
                "task",
                "add",
                "--subject",
                subject,
                "--due",
                "+10m",
                "--remind",
                "10",
                "--customer",
                "AC-000001",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let demo_customer = dossier(
        d,
        &[
            "customer",
            "add",
            "--account",
            "AC-000001",
            "--name",
            "Ada Lovelace",
        ],
    );
    assert!(demo_customer.status.success());
    add("Call back, broken");
    let reminders = session(d, &["task", "reminders"]);
    add("Call back, broken again");
    let json = dossier(d, &["--json", "run", "--once"]);
    assert_eq!(json.status.code(), Some(1));
    let line: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON line");
    assert_eq!(line["outcome"], "failed");
    assert!(
        line["problem"]
            .as_str()
            .is_some_and(|p| p.contains("no notice for broken tasks"))
    );
    add("Call back");
    let fine = session(d, &["run", "--once"]);
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "[time]"),
    ]}, {
        insta::assert_snapshot!(format!("{reminders}\n{fine}"));
    });
}

/// `dossier script test HOOK --input -` with `input` on standard input.
fn test_from_stdin(dir: &Path, hook: &str, input: &str) -> String {
    let out = crate::util::feed(
        Command::new(env!("CARGO_BIN_EXE_dossier"))
            .args(["script", "test", hook, "--input", "-"])
            .current_dir(dir)
            .env_remove("DOSSIER_LOG"),
        input.as_bytes(),
    );
    format!(
        "$ dossier script test {hook} --input - <<< '{input}'\nexit {}\n{}{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn script_test_takes_partial_events_from_stdin_and_prints_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    std::fs::write(
        d.join("scripts/events.rhai"),
        r#"
fn on_notification(n) {
    print(`to ${n.to.len()} recipients, subject ${n.subject}`);
    if n.subject == "fail" { n.to[0].adress; }
    n.subject = `[${n.audience}] ${n.subject}`;
}

fn on_screen_pop(pop) {
    print(`${pop.interaction.channel} call from ${pop.interaction.caller}`);
    pop.reason = "checked";
}
"#,
    )
    .expect("write");
    let mut transcript = test_from_stdin(
        d,
        "on_notification",
        r#"{ "subject": "Hello", "to": [{ "address": "ada@example.com" }] }"#,
    );
    transcript.push_str(&test_from_stdin(
        d,
        "on_notification",
        r#"{ "subject": "fail", "to": [{ "name": "Ada", "address": "ada@example.com" }] }"#,
    ));
    transcript.push_str(&test_from_stdin(
        d,
        "on_screen_pop",
        r#"{ "interaction": { "caller": "+33612345678" } }"#,
    ));
    // A key no field has is refused, naming it and the valid ones.
    transcript.push_str(&test_from_stdin(
        d,
        "on_notification",
        r#"{ "subject": "Hello", "caus": "reminder" }"#,
    ));
    insta::assert_snapshot!(transcript);
}

#[test]
fn script_check_names_typos_with_did_you_mean_and_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    std::fs::write(
        d.join("scripts/typos.rhai"),
        "fn before_save_cse(c) {}\n\nfn before_save_case(c) {\n    if c.severty == \"critical\" { add_tsk(#{}); }\n    c.set_custom(\"sla_hour\", 4);\n}\n",
    )
    .expect("write");
    insta::assert_snapshot!(session(d, &["script", "check"]));
}

#[test]
fn a_scripts_dir_that_does_not_exist_is_a_config_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    let config = std::fs::read_to_string(d.join("dossier.toml")).expect("config");
    let with_dir = |name: &str| {
        let edited = config.replace("\ndir = \"scripts\"\n", &format!("\ndir = \"{name}\"\n"));
        assert_ne!(edited, config, "the template names [scripts] dir");
        std::fs::write(d.join("dossier.toml"), edited).expect("config");
    };
    // A typo: `script check` and every command that opens the store refuse.
    with_dir("scrpits");
    let expected = "error: config is invalid: [scripts] dir `scrpits` names no folder \
                    (scrpits does not exist): correct the path, or create the folder\n";
    for args in [&["script", "check"][..], &["customer", "list"]] {
        let out = dossier(d, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), expected, "{args:?}");
    }
    // A named folder that exists but is empty is fine: no scripts.
    std::fs::create_dir(d.join("empty")).expect("empty folder");
    with_dir("empty");
    let out = dossier(d, &["script", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "no scripts in empty\n"
    );
    // Without `dir`, the default folder may be missing: no scripts either.
    std::fs::write(d.join("dossier.toml"), "").expect("config");
    std::fs::remove_dir_all(d.join("scripts")).expect("remove scripts");
    let out = dossier(d, &["script", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "no scripts in scripts\n"
    );
    assert!(dossier(d, &["customer", "list"]).status.success());
}

/// A hook that builds a chain of closures, each capturing the one before,
/// until its operations run out at the ceiling `[scripts.limits]` accepts:
/// freeing that chain takes one stack frame per link, which overflowed the
/// main thread's stack and aborted the process (rc 134). The write is
/// refused naming the limit, nothing is written, and the next write works.
#[test]
fn a_hook_that_builds_closures_until_its_operations_run_out_does_not_abort_the_process() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    let mut config = std::fs::read_to_string(d.join("dossier.toml")).expect("config");
    config.push_str("\n[scripts.limits]\nmax_operations = 1000000\ntimeout_ms = 600000\n");
    std::fs::write(d.join("dossier.toml"), config).expect("write config");
    std::fs::write(
        d.join("scripts/chain.rhai"),
        "fn before_save_task(t) {\n    if t.subject == \"chain\" {\n        let f = || 0;\n        loop { let g = f; f = || g.call() + 1; }\n    }\n}\n",
    )
    .expect("write script");
    let add = |subject: &str| {
        dossier(
            d,
            &[
                "task",
                "add",
                "--subject",
                subject,
                "--due",
                "+10m",
                "--customer",
                "AC-000001",
            ],
        )
    };
    let customer = dossier(
        d,
        &[
            "customer",
            "add",
            "--account",
            "AC-000001",
            "--name",
            "Ada Lovelace",
        ],
    );
    assert!(customer.status.success());
    let out = add("chain");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the hook ran more than 1000000 operations"),
        "{stderr}"
    );
    let out = add("call back");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = dossier(d, &["task", "list"]);
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.contains("call back") && !list.contains("chain"),
        "{list}"
    );
}

/// Nested arrays and maps, each level holding the one before, built until
/// the hook's clock stops them, with every data limit at its ceiling: the
/// hook fails with a named error, the structure is freed on the command's
/// thread, and the next write goes through.
#[test]
fn a_hook_that_nests_arrays_and_maps_at_the_ceilings_does_not_abort_the_process() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    let mut config = std::fs::read_to_string(d.join("dossier.toml")).expect("config");
    config.push_str(
        "\n[scripts.limits]\nmax_operations = 1000000\nmax_array_size = 10000000\n\
         max_map_size = 10000000\nmax_string_size = 268435456\ntimeout_ms = 3000\n",
    );
    std::fs::write(d.join("dossier.toml"), config).expect("write config");
    std::fs::write(
        d.join("scripts/nest.rhai"),
        "fn before_save_task(t) {\n\
         \x20   if t.subject == \"arrays\" { let a = []; loop { a = [a, \"x\"]; } }\n\
         \x20   if t.subject == \"maps\" { let m = #{}; loop { m = #{ inner: m, n: 1 }; } }\n\
         \x20   if t.subject == \"both\" { let v = []; loop { v = #{ list: [v] }; } }\n\
         }\n",
    )
    .expect("write script");
    let customer = dossier(
        d,
        &["customer", "add", "--account", "AC-000001", "--name", "Ada"],
    );
    assert!(customer.status.success());
    let add = |subject: &str| {
        dossier(
            d,
            &[
                "task",
                "add",
                "--subject",
                subject,
                "--due",
                "+10m",
                "--customer",
                "AC-000001",
            ],
        )
    };
    for subject in ["arrays", "maps", "both"] {
        let out = add(subject);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{subject}: {stderr}");
        assert!(
            stderr.contains("operations") || stderr.contains("3000 ms"),
            "{subject}: {stderr}"
        );
    }
    let out = add("call back");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn script_docs_list_the_agent_group_mail_and_time_functions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    let docs = dossier(d, &["script", "docs"]);
    assert!(docs.status.success());
    let docs = String::from_utf8_lossy(&docs.stdout);
    for needle in [
        "- `agent(login: &str) -> ?`: The agent with this login as a map",
        "- `group(name: &str) -> ?`: The group with this name as a map",
        "- `mail_settings() -> Map`: What dossier.toml says about mail",
        "- `format_time(time: &str, format: &str) -> String`: `time` (RFC 3339",
    ] {
        assert!(docs.contains(needle), "missing {needle}");
    }
}

#[test]
fn a_reminder_whose_hook_fails_is_retried_by_the_outbox_until_the_script_is_fixed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    std::fs::write(
        d.join("scripts/remind.rhai"),
        "fn on_task_reminder(r) {\n    throw \"the desk is closed\";\n}\n",
    )
    .expect("write");
    let ok = |args: &[&str]| {
        let out = dossier(d, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&[
        "customer",
        "add",
        "--account",
        "AC-000001",
        "--name",
        "Ada Lovelace",
    ]);
    ok(&[
        "task",
        "add",
        "--subject",
        "Call back",
        "--due",
        "+10m",
        "--remind",
        "10",
        "--customer",
        "AC-000001",
    ]);
    let failed = session(d, &["run", "--once"]);
    let listed = session(d, &["outbox", "list"]);
    assert!(listed.contains("task_reminder"), "{listed}");
    assert!(listed.contains("the desk is closed"), "{listed}");
    std::fs::write(d.join("scripts/remind.rhai"), "fn on_task_reminder(r) {}\n").expect("fix");
    let retried = session(d, &["outbox", "retry"]);
    let after = session(d, &["outbox", "list"]);
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?( ?(UTC|Z|\+00:00))?", "[time]"),
    ]}, {
        insta::assert_snapshot!(format!("{failed}\n{listed}\n{retried}\n{after}"));
    });
}

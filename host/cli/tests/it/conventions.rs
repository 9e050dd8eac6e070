//! What users expect of a command line (after cargo, gh and ripgrep): the
//! config found from a subfolder, `-` for stdin and `--note-file`, shell
//! completions and a man page, tables, JSON errors, "did you mean", and a
//! help that says what Dossier is.

use crate::util::{command, dossier, json, with_stdin};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    assert!(dossier(dir.path(), &["init"]).status.success());
    json(
        dir.path(),
        &[
            "customer",
            "add",
            "--account",
            "AC-1",
            "--name",
            "Ada Lovelace",
            "--phone",
            "+33 1 23 45 67 89",
        ],
    );
    json(
        dir.path(),
        &["case", "open", "--customer", "AC-1", "--subject", "Jet"],
    );
    dir
}

#[test]
fn the_config_is_found_in_a_parent_folder_or_through_dossier_config() {
    let dir = store();
    let deep = dir.path().join("calls/2030");
    std::fs::create_dir_all(&deep).unwrap();
    let listed = json(&deep, &["customer", "list"]);
    assert_eq!(listed[0]["account"], "AC-1");

    let elsewhere = tempfile::tempdir().unwrap();
    let config = dir.path().join("dossier.toml");
    let out = command(elsewhere.path(), &["--json", "customer", "list"])
        .env("DOSSIER_CONFIG", &config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("AC-1"));

    // --config wins over the variable.
    let out = command(
        elsewhere.path(),
        &["customer", "list", "--config", "nowhere.toml"],
    )
    .env("DOSSIER_CONFIG", &config)
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no config file at nowhere.toml"),
        "{}",
        text(&out.stderr)
    );

    // init starts a store where it runs, even below another one.
    assert!(dossier(&deep, &["init"]).status.success());
    assert!(deep.join("dossier.toml").is_file());
}

#[test]
fn a_dash_reads_stdin_and_file_options_read_files() {
    let dir = store();
    let d = dir.path();
    let note = "Customer called.\nSays the schedule is wrong.\n";
    let out = with_stdin(
        d,
        &["--json", "followup", "add", "--case", "1", "--note", "-"],
        note.as_bytes(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(added["body"], note, "stdin is kept exactly");

    std::fs::write(d.join("mail.txt"), "Dear Ada,\n\nall fixed.\n").unwrap();
    let mail = json(
        d,
        &[
            "followup",
            "add",
            "--case",
            "1",
            "--kind",
            "email_out",
            "--body-file",
            "mail.txt",
        ],
    );
    assert_eq!(mail["body"], "Dear Ada,\n\nall fixed.\n");
    let out = with_stdin(
        d,
        &["--json", "case", "update", "1", "--description-file", "-"],
        b"Long text",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(json(d, &["case", "show", "1"])["description"], "Long text");

    // Stdin once per command, UTF-8 only, a missing file named.
    let out = with_stdin(
        d,
        &[
            "case",
            "update",
            "1",
            "--description",
            "-",
            "--subject",
            "x",
        ],
        b"ok",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = with_stdin(
        d,
        &[
            "followup",
            "add",
            "--case",
            "1",
            "--note-file",
            "-",
            "--field",
            "x=1",
        ],
        &[0xff, 0xfe],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: --note-file: stdin is not UTF-8 text (invalid byte at offset 0)\n"
    );
    let out = dossier(
        d,
        &[
            "followup",
            "add",
            "--case",
            "1",
            "--note-file",
            "missing.txt",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: cannot read missing.txt: "),
        "{}",
        text(&out.stderr)
    );
    let listed = json(d, &["followup", "list", "--case", "1"]);
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(2),
        "nothing half-written"
    );
}

#[test]
fn completions_and_the_man_page() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "_dossier()"),
        ("zsh", "#compdef dossier"),
        ("fish", "complete -c dossier"),
    ] {
        let out = dossier(dir.path(), &["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        assert!(script.contains("followup"), "{shell} completes subcommands");
    }
    let out = dossier(dir.path(), &["man"]);
    assert!(out.status.success());
    let page = text(&out.stdout);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq \\(aq") || page.contains(".TH dossier"),
        "{page}"
    );
    assert!(page.contains("contact\\-centre CRM"), "{page}");
}

#[test]
fn lists_are_tables_in_colour_only_when_asked_and_json_is_unchanged() {
    let dir = store();
    let d = dir.path();
    json(
        d,
        &[
            "customer",
            "add",
            "--account",
            "AC-2",
            "--name",
            "Bob",
            "--field",
            "tier=gold",
        ],
    );
    let plain = dossier(d, &["customer", "list"]);
    insta::assert_snapshot!(text(&plain.stdout));
    assert!(!text(&plain.stdout).contains('\u{1b}'));

    let forced = command(d, &["customer", "list"])
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(
        text(&forced.stdout).contains("\u{1b}["),
        "CLICOLOR_FORCE colours"
    );
    let refused = command(d, &["customer", "list"])
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(text(&refused.stdout), text(&plain.stdout), "NO_COLOR wins");

    let listed = json(d, &["customer", "list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    assert_eq!(listed[1]["custom"]["tier"]["choice"], "gold");
}

#[test]
fn with_json_an_error_is_a_json_object_on_stderr() {
    let dir = store();
    let out = dossier(dir.path(), &["--json", "customer", "show", "AC-404"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let error: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(
        error,
        serde_json::json!({"error": {"code": "not_found", "message": "customer with account AC-404 not found"}})
    );
    let out = dossier(
        dir.path(),
        &[
            "--json",
            "task",
            "add",
            "--case",
            "1",
            "--subject",
            "x",
            "--due",
            "+-5m",
        ],
    );
    let error: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(error["error"]["code"], "invalid_input");
}

#[test]
fn misspellings_get_a_suggestion() {
    let dir = store();
    let d = dir.path();
    let out = dossier(d, &["custmer", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("'customer'"),
        "{}",
        text(&out.stderr)
    );
    let out = dossier(d, &["customer", "list", "--pag", "2"]);
    assert!(
        text(&out.stderr).contains("a similar argument exists: '--page'"),
        "{}",
        text(&out.stderr)
    );
    let out = dossier(
        d,
        &[
            "customer",
            "add",
            "--account",
            "AC-9",
            "--name",
            "X",
            "--field",
            "tierr=gold",
        ],
    );
    assert_eq!(
        text(&out.stderr),
        "error: customer is invalid: field `tierr` is not a custom field; did you mean `tier`? \
         (known: credit_limit, loyalty_id, tier)\n"
    );
    let out = dossier(d, &["customer", "update", "AC-1", "--unset", "loyaltyid"]);
    assert!(
        text(&out.stderr).contains("did you mean `loyalty_id`?"),
        "{}",
        text(&out.stderr)
    );
    let out = dossier(d, &["customer", "find", "--field", "teir=gold"]);
    assert!(
        text(&out.stderr).contains("did you mean `tier`?"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_help_says_what_dossier_is_and_shows_examples() {
    let dir = tempfile::tempdir().unwrap();
    let out = dossier(dir.path(), &["--help"]);
    let help = text(&out.stdout);
    assert!(help.starts_with("Dossier: a contact-centre CRM."), "{help}");
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("dossier completions bash|zsh|fish"), "{help}");
}

/// Found by `props::free_text_arguments_never_crash_the_binary`: errors
/// quote what was typed, escape sequences included.
#[test]
fn an_error_quoting_typed_control_characters_shows_them_escaped() {
    let dir = store();
    let out = dossier(
        dir.path(),
        &[
            "customer",
            "add",
            "--account",
            "AC-9",
            "--name",
            "n",
            "--phone",
            "\u{1b}[2J\r1",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r'),
        "{stderr:?}"
    );
    assert!(stderr.contains("\\u{1b}[2J\\r1"), "{stderr}");
}

//! Property test of every CLI argument that takes free text, through the
//! real binary: whatever is typed, `dossier` answers with success, a usage
//! error (exit 2) or one `error:` line (exit 1), never a panic (exit 101).
//! The case count is small in CI because each case starts the binary;
//! `PROPTEST_CASES` runs more (RELIABILITY.md).

use std::path::Path;

use proptest::prelude::*;

use crate::util::{dossier, json};

/// The commands, with `{}` where the free text goes.
const TEMPLATES: &[&[&str]] = &[
    &["customer", "add", "--account", "{}", "--name", "n"],
    &["customer", "add", "--account", "AC-P", "--name", "{}"],
    &[
        "customer",
        "add",
        "--account",
        "AC-Q",
        "--name",
        "n",
        "--phone",
        "{}",
    ],
    &[
        "customer",
        "add",
        "--account",
        "AC-R",
        "--name",
        "n",
        "--email",
        "{}",
    ],
    &[
        "customer",
        "add",
        "--account",
        "AC-S",
        "--name",
        "n",
        "--field",
        "{}",
    ],
    &[
        "customer",
        "add",
        "--account",
        "AC-T",
        "--name",
        "n",
        "--city",
        "{}",
    ],
    &["customer", "show", "{}"],
    &["customer", "update", "AC-1", "--name", "{}"],
    &["customer", "update", "AC-1", "--unset", "{}"],
    &["customer", "find", "--phone", "{}"],
    &["customer", "find", "--email", "{}"],
    &["customer", "find", "--name", "{}"],
    &["customer", "find", "--field", "{}"],
    &["case", "open", "--customer", "{}", "--subject", "s"],
    &["case", "open", "--customer", "AC-1", "--subject", "{}"],
    &[
        "case",
        "open",
        "--customer",
        "AC-1",
        "--subject",
        "s",
        "--severity",
        "{}",
    ],
    &[
        "case",
        "open",
        "--customer",
        "AC-1",
        "--subject",
        "s",
        "--description",
        "{}",
    ],
    &["case", "update", "1", "--status", "{}"],
    &["case", "update", "1", "--priority", "{}"],
    &["case", "assign", "1", "--owner", "{}"],
    &["case", "list", "--owner", "{}"],
    &["followup", "add", "--case", "1", "--note", "{}"],
    &[
        "followup", "add", "--case", "1", "--kind", "{}", "--body", "b",
    ],
    &["followup", "add", "--case", "1", "--note-file", "{}"],
    &[
        "task",
        "add",
        "--case",
        "1",
        "--subject",
        "{}",
        "--due",
        "+1h",
    ],
    &[
        "task",
        "add",
        "--case",
        "1",
        "--subject",
        "s",
        "--due",
        "{}",
    ],
    &[
        "task",
        "add",
        "--case",
        "1",
        "--subject",
        "s",
        "--due",
        "{}",
        "--remind",
        "4000000000",
    ],
    &["task", "list", "--assignee", "{}"],
    &["pop", "--phone", "{}"],
    &["pop", "--email", "{}"],
    &["pop", "--account", "{}"],
    &["pop", "--phone", "1", "--context", "{}"],
    &["dispose", "{}", "--case", "1"],
    &["dispose", "resolved", "--case", "1", "--note", "{}"],
    &["notify", "--to", "{}", "--subject", "s"],
    &[
        "notify",
        "--to",
        "a@example.com",
        "--subject",
        "{}",
        "--from",
        "{}",
    ],
    &["plugin", "inspect", "{}"],
    &["completions", "{}"],
    &["import", "customers", "{}"],
    &["import", "cases", "{}"],
    &["export", "{}"],
    &["restore", "{}"],
];

/// Text people might type, and text nobody would.
fn free_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            " ",
            "#",
            "#-1",
            "#99999999999999999999",
            "=",
            "tier=",
            "=gold",
            "tier=gold",
            "label:",
            ":x",
            "+",
            "+-5m",
            "+99999999999d",
            "9999-12-31T23:59:59Z",
            "🙂",
            "a\nb",
            "\u{202e}",
            "NaN",
            "-0",
            "..",
            "/",
            "%s%n",
            "'; DROP TABLE customers; --",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,24}",
        any::<String>(),
        "[0-9+ ()-]{0,20}",
    ]
    // A NUL cannot be in an argument; `-` alone would wait for stdin.
    .prop_filter("a usable argument", |s| !s.contains('\0') && s != "-")
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn check(dir: &Path, template: &[&str], text: &str) -> Result<(), TestCaseError> {
    let args: Vec<&str> = template
        .iter()
        .map(|a| if *a == "{}" { text } else { *a })
        .collect();
    let out = dossier(dir, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    prop_assert!(
        matches!(code, Some(0..=2)),
        "dossier {args:?} ended with {code:?}: {stderr}"
    );
    prop_assert!(!stderr.contains("panicked"), "dossier {args:?}: {stderr}");
    if code == Some(1) {
        prop_assert!(stderr.starts_with("error: "), "dossier {args:?}: {stderr}");
        // One line, unless it quotes a line break the user typed.
        if !text.contains([
            '\n', '\r', '\u{85}', '\u{2028}', '\u{2029}', '\u{b}', '\u{c}',
        ]) {
            prop_assert_eq!(stderr.lines().count(), 1, "dossier {:?}: {}", args, stderr);
        }
        // Control characters typed reach the terminal escaped.
        prop_assert!(!stderr.contains('\u{1b}'), "dossier {:?}: {}", args, stderr);
    }
    Ok(())
}

#[test]
fn free_text_arguments_never_crash_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    json(
        d,
        &["customer", "add", "--account", "AC-1", "--name", "Ada"],
    );
    json(d, &["case", "open", "--customer", "AC-1", "--subject", "x"]);
    let config = ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(template in prop::sample::select(TEMPLATES.to_vec()), text in free_text())| {
        check(d, template, &text)?;
    });
    // Every template still works with ordinary text: none of them is a
    // usage error, so the cases above reached the commands.
    for template in TEMPLATES {
        let args: Vec<&str> = template
            .iter()
            .enumerate()
            .map(|(i, a)| match (*a, i.checked_sub(1).map(|p| template[p])) {
                ("{}", Some("--field" | "--context")) => "tier=gold",
                ("{}", Some("--kind")) => "note",
                ("{}", Some("completions")) => "bash",
                ("{}", Some("export")) => "customers",
                ("{}", _) => "x",
                (other, _) => other,
            })
            .collect();
        let out = dossier(d, &args);
        assert_ne!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

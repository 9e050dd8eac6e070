//! What a user sees when a plugin fails, through the real `dossier` binary
//! and real libraries: a library that does not load keeps the loader's own
//! reason, and a panicking plugin is one `error:` line, with no panic
//! report or backtrace from the plugin's side on the terminal.

use std::path::Path;
use std::process::Output;

use crate::built::{dossier_bin, entry};

fn dossier(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(dossier_bin())
        .current_dir(dir)
        .args(args)
        .env_remove("DOSSIER_LOG")
        .env_remove("DOSSIER_CONFIG")
        // What a developer chasing a bug has set: the plugin's default
        // panic hook would print a whole backtrace with it.
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run dossier")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_panicking_plugin_is_one_line_without_a_backtrace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::write(d.join("dossier.toml"), entry("panicky-plugin", "")).expect("config");
    crate::util::create_store(d);
    let out = dossier(
        d,
        &["customer", "add", "--account", "AC-1", "--name", "Ada"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: plugin panicky: panicked on the before_save event: panicky plugin panics in before_save\n"
    );
    // The write was rolled back, and the next command works.
    let out = dossier(d, &["--json", "customer", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n");

    // A panic while the instance is created: one line as well.
    std::fs::write(
        d.join("dossier.toml"),
        entry("panicky-plugin", "panic_in_new = true"),
    )
    .expect("config");
    let out = dossier(d, &["customer", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.ends_with("panicked while starting: panicky plugin panics in new\n"),
        "{text}"
    );
}

#[test]
fn a_library_that_does_not_load_keeps_the_loaders_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let fake = d.join("libfake.so");
    std::fs::write(
        &fake,
        "this is a text file, not a shared library\n".repeat(4),
    )
    .expect("file");
    let out = dossier(d, &["plugin", "inspect", &fake.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("cannot be loaded: dlopen failed: "), "{text}");
    // glibc and musl word it differently; both name the file's problem.
    assert!(
        text.contains("invalid ELF header") || text.contains("Exec format error"),
        "{text}"
    );
}

//! The tidy rules, run on the workspace (`tidy_<rule>`), and each shown to
//! catch a deliberately broken tree (`tidy_..._is_caught`): a few files in a
//! temporary directory, or a made-up `cargo metadata`, holding exactly one
//! violation among look-alikes the rule must let pass.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use dossier_tidy::{
    Violation, crate_graph_block, crate_graph_drift, crate_graph_drift_in, database_dependencies,
    facade_dependents, missing_forbid_unsafe, panics_in_libraries, sleeps_in_tests,
    sql_outside_backend, undocumented_plugin_keys,
};
use serde_json::{Value, json};
use tempfile::TempDir;

// ---------------------------------------------------------------------------
// Helpers

/// The workspace root: two levels above this package.
fn root() -> &'static Path {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("{} has no grandparent", env!("CARGO_MANIFEST_DIR")));
    assert!(
        root.join("Cargo.toml").is_file(),
        "{} is not the workspace root",
        root.display()
    );
    root
}

/// `cargo metadata --format-version 1 --no-deps` of the workspace, run once.
fn metadata() -> &'static Value {
    static METADATA: OnceLock<Value> = OnceLock::new();
    METADATA.get_or_init(|| {
        let out = Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(root())
            .output()
            .unwrap_or_else(|e| panic!("cannot run cargo metadata: {e}"));
        assert!(
            out.status.success(),
            "cargo metadata failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("cargo metadata printed something that is not JSON: {e}"))
    })
}

/// Fails listing every violation, one `path:line: message` per line.
fn assert_clean(rule: &str, violations: &[Violation]) {
    assert_clean_or(rule, violations, "");
}

/// [`assert_clean`], adding `advice` after the list.
fn assert_clean_or(rule: &str, violations: &[Violation], advice: &str) {
    if violations.is_empty() {
        return;
    }
    let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
    panic!(
        "{rule}: {} violation(s)\n{}\n{advice}",
        violations.len(),
        list.join("\n")
    );
}

/// Asserts the checker found exactly the violations at `expected`
/// (`path:line`), and that each message mentions `about`.
fn assert_caught(violations: &[Violation], expected: &[&str], about: &str) {
    let found: Vec<String> = violations.iter().map(Violation::location).collect();
    let rendered: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        expected,
        "violations found:\n{}",
        rendered.join("\n")
    );
    for v in violations {
        assert!(v.message.contains(about), "`{v}` should mention `{about}`");
    }
}

/// A temporary tree holding `files` (relative path, contents).
fn tree(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot make a temporary dir: {e}"));
    for (rel, text) in files {
        let path = dir.path().join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    dir
}

/// A made-up package as `cargo metadata` describes it. `targets` are
/// (kind, root source), `deps` (name, kind: `None` for normal, `Some("dev")`
/// or `Some("build")`); `dossier-*` dependencies are path dependencies.
fn package(
    root: &Path,
    name: &str,
    manifest: &str,
    targets: &[(&str, &str)],
    deps: &[(&str, Option<&str>)],
) -> Value {
    let abs = |rel: &str| -> String { root.join(rel).to_string_lossy().into_owned() };
    let targets: Vec<Value> = targets
        .iter()
        .map(|(kind, src)| json!({ "kind": [kind], "crate_types": [kind], "src_path": abs(src) }))
        .collect();
    let deps: Vec<Value> = deps
        .iter()
        .map(|(dep, kind)| {
            let mut d = json!({ "name": dep, "kind": kind, "rename": null });
            if dep.starts_with("dossier-") {
                d["path"] = json!(abs(dep));
            }
            d
        })
        .collect();
    json!({
        "name": name,
        "manifest_path": abs(manifest),
        "targets": targets,
        "dependencies": deps,
    })
}

/// Made-up metadata holding `packages`.
fn made_up_metadata(root: &Path, packages: Vec<Value>) -> Value {
    json!({ "packages": packages, "workspace_root": root.to_string_lossy() })
}

fn path_of(dir: &TempDir) -> PathBuf {
    dir.path().to_path_buf()
}

// ---------------------------------------------------------------------------
// Rule 1: SQL and database crates only in the store's backend modules.

#[test]
fn tidy_sql_only_in_store_backend() {
    assert_clean(
        "SQL and database crate names belong in the store's backend modules",
        &sql_outside_backend(root()),
    );
}

#[test]
fn tidy_sql_outside_backend_is_caught() {
    let dir = tree(&[
        (
            "host/src/records.rs",
            r####"//! Records. A doc comment may say SELECT id FROM customers.
/* INSERT INTO customers VALUES (1) */
pub fn brace() -> &'static str {
    "{"
}

#[cfg(test)]
mod tests {
    const CLOSE: char = '}';

    #[test]
    fn sql_in_a_test_module_is_fine() {
        let _ = "DELETE FROM cases WHERE id = 1";
        let _ = CLOSE;
    }
}

pub fn prose() -> &'static str {
    "select a case from the list, then BEGIN typing"
}

pub fn lookup() -> &'static str {
    r#"SELECT id FROM customers WHERE account = ?1"#
}
"####,
        ),
        (
            "host/src/email/parse.rs",
            "#[cfg(test)]\nmod tests;\n\npub fn parse() {}\n",
        ),
        (
            "host/src/email/parse/tests.rs",
            "const Q: &str = \"INSERT INTO emails VALUES (1)\";\n",
        ),
        (
            "host/store/src/sqlite/customers.rs",
            "use rusqlite::Connection;\nconst Q: &str = \"SELECT id FROM customers\";\n",
        ),
        (
            "tests/it/store.rs",
            "const Q: &str = \"UPDATE cases SET title = 'x'\";\n",
        ),
        (
            "host/benches/store.rs",
            "const Q: &str = \"PRAGMA journal_mode = WAL\";\n",
        ),
        (
            "examples/embed.rs",
            "const Q: &str = \"CREATE TABLE t (x)\";\n",
        ),
    ]);
    assert_caught(
        &sql_outside_backend(&path_of(&dir)),
        &["host/src/records.rs:23"],
        "SELECT id FROM customers",
    );
}

#[test]
fn tidy_database_name_outside_backend_is_caught() {
    let dir = tree(&[
        (
            "host/src/runtime/mod.rs",
            r#"//! Uses no rusqlite: this comment names it.
pub fn describe() -> &'static str {
    "rusqlite is named in a string, which is not code"
}

pub fn open(postgres_url: &str) -> Result<(), rusqlite::Error> {
    let _ = postgres_url;
    Ok(())
}
"#,
        ),
        (
            "host/store/src/sqlite/mod.rs",
            "pub use rusqlite::Connection;\n",
        ),
    ]);
    assert_caught(
        &sql_outside_backend(&path_of(&dir)),
        &["host/src/runtime/mod.rs:6"],
        "`rusqlite` named",
    );
}

#[test]
fn tidy_sql_lexer_edge_cases_are_caught() {
    let dir = tree(&[(
        "host/src/tx.rs",
        r####"/* outer /* nested "SELECT a FROM b" */ still a comment: SELECT x FROM y */
pub fn first<'a>(s: &'a str) -> &'a str { s }
pub const QUOTE_BYTE: u8 = b'"';
pub const QUOTE: char = '"';
pub const RAW: &str = r##"a "# quote"##;
pub const ESCAPED: &str = "a \" quote {";
pub fn r#match() -> &'static str { "COMMIT" }
pub const PROSE: &str = "please COMMIT your work";
"####,
    )]);
    assert_caught(
        &sql_outside_backend(&path_of(&dir)),
        &["host/src/tx.rs:7"],
        "COMMIT",
    );
}

#[test]
fn tidy_database_crates_only_in_store() {
    assert_clean(
        "only dossier-store (and test-only packages) may depend on a database crate",
        &database_dependencies(root(), metadata()),
    );
}

#[test]
fn tidy_database_crate_elsewhere_is_caught() {
    let dir = tree(&[
        (
            "host/Cargo.toml",
            r#"[package]
name = "dossier-host"

[dependencies]
dossier-store.workspace = true
serde.workspace = true
rusqlite = { workspace = true }

[dev-dependencies]
rusqlite.workspace = true
"#,
        ),
        (
            "host/store/Cargo.toml",
            "[package]\nname = \"dossier-store\"\n\n[dependencies]\nrusqlite.workspace = true\n",
        ),
        (
            "host/email/Cargo.toml",
            "[package]\nname = \"dossier-email\"\n\n[dev-dependencies]\nrusqlite.workspace = true\n",
        ),
    ]);
    let root = path_of(&dir);
    let metadata = made_up_metadata(
        &root,
        vec![
            package(
                &root,
                "dossier-host",
                "host/Cargo.toml",
                &[("lib", "host/src/lib.rs")],
                &[
                    ("dossier-store", None),
                    ("serde", None),
                    ("rusqlite", None),
                    ("rusqlite", Some("dev")),
                ],
            ),
            package(
                &root,
                "dossier-store",
                "host/store/Cargo.toml",
                &[("lib", "host/store/src/lib.rs")],
                &[("rusqlite", None)],
            ),
            package(
                &root,
                "dossier-email",
                "host/email/Cargo.toml",
                &[("lib", "host/email/src/lib.rs")],
                &[("rusqlite", Some("dev"))],
            ),
            package(
                &root,
                "dossier-tests",
                "tests/Cargo.toml",
                &[("lib", "tests/lib.rs")],
                &[("rusqlite", None), ("postgres", None)],
            ),
        ],
    );
    assert_caught(
        &database_dependencies(&root, &metadata),
        &["host/Cargo.toml:7"],
        "dossier-host depends on rusqlite",
    );
}

// ---------------------------------------------------------------------------
// Rule 2: no unwrap, expect or panic! in library code.

#[test]
fn tidy_no_panics_in_libraries() {
    assert_clean(
        "library code returns errors: no .unwrap(), .expect(..), panic!, todo!, unimplemented!",
        &panics_in_libraries(root(), metadata()),
    );
}

#[test]
fn tidy_panic_in_library_is_caught() {
    let dir = tree(&[
        (
            "host/src/lib.rs",
            r#"//! The host.
//!
//! ```
//! let n: u8 = "1".parse().unwrap();
//! ```

mod records;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(test)]
mod tests;

pub fn first(v: &[u8]) -> u8 {
    v.first().copied().unwrap_or(0)
}
"#,
        ),
        (
            "host/src/cli/mod.rs",
            "mod args;\npub fn run() -> u8 { args::count().unwrap_or_else(|_| 0) }\n",
        ),
        (
            "host/src/cli/args.rs",
            "pub fn count() -> Result<u8, String> { Ok(String::new().parse().unwrap_or_default()) }\n",
        ),
        (
            "host/src/records.rs",
            r#"/// Parses a count.
///
/// ```
/// assert_eq!(dossier_host::count("2").unwrap(), 2);
/// ```
pub fn count(s: &str) -> Result<u8, String> {
    s.parse().map_err(|e| format!("{e}: \".unwrap()\" {{"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts() {
        assert_eq!(super::count("2").unwrap(), 2);
        let _ = '{';
    }
}

pub fn must(s: &str) -> u8 {
    count(s).expect("a count")
}
"#,
        ),
        (
            "host/src/tests.rs",
            "#[test]\nfn t() { None::<u8>.unwrap(); }\n",
        ),
        (
            "host/src/orphan.rs",
            "pub fn f() { panic!(\"not in the module tree\") }\n",
        ),
        (
            "host/src/main.rs",
            "fn main() { std::env::args().next().unwrap(); }\n",
        ),
        ("host/benches/b.rs", "fn main() { None::<u8>.unwrap(); }\n"),
        ("tests/lib.rs", "pub fn wait() { panic!(\"gave up\") }\n"),
        ("tests/plugins/noop/src/lib.rs", "pub fn f() { todo!() }\n"),
        (
            "plugins/webhook/src/lib.rs",
            r#"pub fn send() -> Result<(), String> { Err("x".into()).map_err(|e: String| e) }

#[cfg(all(test, unix))]
mod unix_tests {
    fn f() { None::<u8>.unwrap(); unimplemented!() }
}
"#,
        ),
    ]);
    let root = path_of(&dir);
    let metadata = made_up_metadata(
        &root,
        vec![
            package(
                &root,
                "dossier-host",
                "host/Cargo.toml",
                &[
                    ("lib", "host/src/lib.rs"),
                    ("bin", "host/src/main.rs"),
                    ("bench", "host/benches/b.rs"),
                ],
                &[],
            ),
            package(
                &root,
                "dossier-tests",
                "tests/Cargo.toml",
                &[("lib", "tests/lib.rs")],
                &[],
            ),
            package(
                &root,
                "noop-plugin",
                "tests/plugins/noop/Cargo.toml",
                &[("cdylib", "tests/plugins/noop/src/lib.rs")],
                &[],
            ),
            package(
                &root,
                "webhook-plugin",
                "plugins/webhook/Cargo.toml",
                &[("cdylib", "plugins/webhook/src/lib.rs")],
                &[],
            ),
        ],
    );
    assert_caught(
        &panics_in_libraries(&root, &metadata),
        &["host/src/records.rs:20"],
        ".expect(..) in library code",
    );
}

// ---------------------------------------------------------------------------
// Rule 3: nothing below the facade depends on it.

#[test]
fn tidy_nothing_below_facade_depends_on_it() {
    assert_clean(
        "only the front ends and test-only packages may depend on dossier-host",
        &facade_dependents(root(), metadata()),
    );
}

#[test]
fn tidy_facade_dependency_is_caught() {
    let dir = tree(&[(
        "host/store/Cargo.toml",
        r#"[package]
name = "dossier-store"

[dependencies]
dossier-types.workspace = true

[target.'cfg(unix)'.dependencies]
dossier-host = { path = "../../host" }
"#,
    )]);
    let root = path_of(&dir);
    let metadata = made_up_metadata(
        &root,
        vec![
            package(
                &root,
                "dossier-store",
                "host/store/Cargo.toml",
                &[("lib", "host/store/src/lib.rs")],
                &[("dossier-types", None), ("dossier-host", None)],
            ),
            package(
                &root,
                "dossier-cli",
                "host/cli/Cargo.toml",
                &[("bin", "host/cli/src/main.rs")],
                &[("dossier-host", None)],
            ),
            package(
                &root,
                "dossier-tests",
                "tests/Cargo.toml",
                &[("lib", "tests/lib.rs")],
                &[("dossier-host", None)],
            ),
            package(
                &root,
                "dossier-email",
                "host/email/Cargo.toml",
                &[("lib", "host/email/src/lib.rs")],
                &[("dossier-host", Some("dev"))],
            ),
        ],
    );
    assert_caught(
        &facade_dependents(&root, &metadata),
        &["host/store/Cargo.toml:8"],
        "dossier-store depends on the facade dossier-host",
    );
}

// ---------------------------------------------------------------------------
// Rule 4: #![forbid(unsafe_code)] on every crate root outside the ABI glue.

#[test]
fn tidy_crate_roots_forbid_unsafe() {
    assert_clean(
        "every crate root outside the ABI glue, the plugin loader and plugins starts with #![forbid(unsafe_code)]",
        &missing_forbid_unsafe(root(), metadata()),
    );
}

#[test]
fn tidy_missing_forbid_unsafe_is_caught() {
    let dir = tree(&[
        (
            "host/types/src/lib.rs",
            "//! Types.\n\n#![forbid(unsafe_code)]\n#![warn(missing_docs)]\n",
        ),
        (
            "host/cli/src/main.rs",
            "#![warn(missing_docs)]\n#![forbid(\n    unsafe_code,\n    unused_must_use\n)]\nfn main() {}\n",
        ),
        (
            "host/store/src/lib.rs",
            r#"//! The store; no #[no_mangle] here.
// #![forbid(unsafe_code)] belongs here
#![warn(missing_docs)]

pub const NOTE: &str = "declare_plugin! is for plugins";
"#,
        ),
        ("sdk/src/lib.rs", "//! The ABI glue.\n"),
        ("host/plugins/src/lib.rs", "//! The loader.\n"),
        (
            "plugins/webhook/src/lib.rs",
            "dossier_sdk::declare_plugin!(Webhook);\n",
        ),
    ]);
    let root = path_of(&dir);
    let metadata = made_up_metadata(
        &root,
        vec![
            package(
                &root,
                "dossier-types",
                "host/types/Cargo.toml",
                &[("lib", "host/types/src/lib.rs")],
                &[],
            ),
            package(
                &root,
                "dossier-cli",
                "host/cli/Cargo.toml",
                &[("bin", "host/cli/src/main.rs")],
                &[],
            ),
            package(
                &root,
                "dossier-store",
                "host/store/Cargo.toml",
                &[("lib", "host/store/src/lib.rs")],
                &[],
            ),
            package(
                &root,
                "dossier-sdk",
                "sdk/Cargo.toml",
                &[("lib", "sdk/src/lib.rs")],
                &[],
            ),
            package(
                &root,
                "dossier-plugins",
                "host/plugins/Cargo.toml",
                &[("lib", "host/plugins/src/lib.rs")],
                &[],
            ),
            package(
                &root,
                "webhook-plugin",
                "plugins/webhook/Cargo.toml",
                &[("cdylib", "plugins/webhook/src/lib.rs")],
                &[],
            ),
        ],
    );
    assert_caught(
        &missing_forbid_unsafe(&root, &metadata),
        &["host/store/src/lib.rs:1"],
        "lacks #![forbid(unsafe_code)]",
    );
}

#[test]
fn tidy_nested_plugin_does_not_exempt_its_parent_is_caught() {
    let dir = tree(&[
        ("tests/lib.rs", "//! Test helpers.\n"),
        (
            "tests/plugins/noop/src/lib.rs",
            "dossier_sdk::declare_plugin!(Noop);\n",
        ),
    ]);
    let root = path_of(&dir);
    let metadata = made_up_metadata(
        &root,
        vec![
            package(
                &root,
                "dossier-tests",
                "tests/Cargo.toml",
                &[("lib", "tests/lib.rs")],
                &[],
            ),
            package(
                &root,
                "noop-plugin",
                "tests/plugins/noop/Cargo.toml",
                &[("cdylib", "tests/plugins/noop/src/lib.rs")],
                &[],
            ),
        ],
    );
    assert_caught(
        &missing_forbid_unsafe(&root, &metadata),
        &["tests/lib.rs:1"],
        "dossier-tests lacks",
    );
}

// ---------------------------------------------------------------------------
// Rule 5: tests never sleep, but in wait_until.

/// tests/lib.rs with the waiting helper as proposed for it: its sleep is
/// the one allowed.
const WAIT_HELPER: &str = r#"//! Test servers the integration tests in `it/` share. The tests themselves
//! live in `it/`.

#![forbid(unsafe_code)]

pub mod smtp;

/// Polls `done` every few milliseconds until it returns `true`; panics
/// naming `what` and `patience` if it still has not when `patience` has
/// passed. Tests wait for a condition, never for a fixed time: this body
/// is the one place test code may sleep (`tidy_tests_never_sleep`).
pub fn wait_until(what: &str, patience: std::time::Duration, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    loop {
        if done() {
            return;
        }
        if start.elapsed() >= patience {
            panic!("gave up waiting for {what} after {patience:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
"#;

#[test]
fn tidy_tests_never_sleep() {
    assert_clean(
        "tests wait for conditions with wait_until (tests/lib.rs); they never sleep",
        &sleeps_in_tests(root()),
    );
}

#[test]
fn tidy_sleep_in_test_is_caught() {
    let dir = tree(&[
        ("tests/lib.rs", WAIT_HELPER),
        (
            "tests/it/chat.rs",
            r#"use std::time::Duration;

// Never thread::sleep(Duration::from_secs(1)) here.
fn asleep(agent: &str) -> String {
    format!("{agent} is asleep (not sleep(1))")
}

#[test]
fn waits_for_nothing() {
    let _ = asleep("ann");
    std::thread::sleep(Duration::from_millis(10));
}
"#,
        ),
        (
            "host/src/clock.rs",
            "pub fn pause(d: std::time::Duration) { std::thread::sleep(d) }\n",
        ),
        (
            "tests/plugins/probe/src/lib.rs",
            "pub fn spin() { std::thread::yield_now() }\n",
        ),
    ]);
    assert_caught(
        &sleeps_in_tests(&path_of(&dir)),
        &["tests/it/chat.rs:11"],
        "a test sleeps",
    );
}

#[test]
fn tidy_sleep_in_test_module_is_caught() {
    let dir = tree(&[
        ("tests/lib.rs", WAIT_HELPER),
        (
            "host/src/chat/deadlines.rs",
            r#"pub fn soon() {
    std::thread::sleep(std::time::Duration::from_millis(1));
}

#[cfg(test)]
mod tests {
    #[test]
    fn waits() {
        tokio::time::sleep(std::time::Duration::from_millis(1));
    }
}
"#,
        ),
    ]);
    assert_caught(
        &sleeps_in_tests(&path_of(&dir)),
        &["host/src/chat/deadlines.rs:9"],
        "a test sleeps",
    );
}

#[test]
fn tidy_sleep_outside_wait_helper_is_caught() {
    let helper_then_sleep = format!(
        "{WAIT_HELPER}\n/// A fake clock's nap is a definition, not a call.\npub fn sleep(_: u64) {{}}\n\npub fn settle() {{\n    std::thread::sleep(std::time::Duration::from_millis(50));\n}}\n"
    );
    let dir = tree(&[("tests/lib.rs", &helper_then_sleep)]);
    assert_caught(
        &sleeps_in_tests(&path_of(&dir)),
        &["tests/lib.rs:29"],
        "a test sleeps",
    );
}

// ---------------------------------------------------------------------------
// Rule 6: the crate graph is the one ARCHITECTURE.md draws.

#[test]
fn tidy_crate_graph_matches_architecture() {
    let violations = crate_graph_drift(root(), metadata());
    assert_clean_or(
        "ARCHITECTURE.md's crate graph must match the workspace",
        &violations,
        &format!(
            "The block that matches the workspace today:\n\n{}",
            crate_graph_block(root(), metadata())
        ),
    );
}

/// A small workspace: manifests, and the metadata describing them.
fn graph_workspace(drawing: &str) -> (TempDir, Value) {
    let dir = tree(&[
        ("ARCHITECTURE.md", drawing),
        (
            "host/Cargo.toml",
            r#"[package]
name = "dossier-host"

[dependencies]
dossier-sdk.workspace = true
dossier-store.workspace = true
dossier-types = { path = "types" }
"#,
        ),
        (
            "plugins/webhook/Cargo.toml",
            "[package]\nname = \"webhook-plugin\"\n",
        ),
    ]);
    let root = path_of(&dir);
    let metadata = made_up_metadata(
        &root,
        vec![
            package(&root, "dossier-sdk", "sdk/Cargo.toml", &[], &[]),
            package(
                &root,
                "dossier-types",
                "host/types/Cargo.toml",
                &[],
                &[("dossier-sdk", None)],
            ),
            package(
                &root,
                "dossier-store",
                "host/store/Cargo.toml",
                &[],
                &[
                    ("dossier-sdk", None),
                    ("dossier-types", None),
                    ("dossier-tests", Some("dev")),
                ],
            ),
            package(
                &root,
                "dossier-host",
                "host/Cargo.toml",
                &[],
                &[
                    ("dossier-sdk", None),
                    ("dossier-store", None),
                    ("dossier-types", None),
                    ("serde", None),
                ],
            ),
            package(
                &root,
                "dossier-tests",
                "tests/Cargo.toml",
                &[],
                &[("dossier-host", None)],
            ),
            package(
                &root,
                "noop-plugin",
                "tests/plugins/noop/Cargo.toml",
                &[],
                &[("dossier-sdk", None)],
            ),
            package(
                &root,
                "webhook-plugin",
                "plugins/webhook/Cargo.toml",
                &[],
                &[("dossier-sdk", None), ("serde_json", None)],
            ),
        ],
    );
    (dir, metadata)
}

/// The drawing of [`graph_workspace`] (in ARCHITECTURE.md, from line 5),
/// with `host` as dossier-host's line (8) and `rest` after it (from 9).
fn drawing(host: &str, rest: &str) -> String {
    format!(
        "# Architecture\n\n<!-- tidy:crate-graph -->\n```text\ndossier-sdk ->\ndossier-types -> dossier-sdk\ndossier-store -> dossier-sdk, dossier-types\n{host}\n{rest}\n```\n"
    )
}

const HOST_LINE: &str = "dossier-host -> dossier-sdk, dossier-store, dossier-types";
const WEBHOOK_LINE: &str = "webhook-plugin -> dossier-sdk";

#[test]
fn tidy_crate_graph_undrawn_edge_is_caught() {
    let (dir, metadata) = graph_workspace(&drawing(HOST_LINE, WEBHOOK_LINE));
    assert_caught(&crate_graph_drift(&path_of(&dir), &metadata), &[], "");

    let (dir, metadata) = graph_workspace(&drawing(
        "dossier-host -> dossier-sdk, dossier-store",
        WEBHOOK_LINE,
    ));
    assert_caught(
        &crate_graph_drift(&path_of(&dir), &metadata),
        &["host/Cargo.toml:7"],
        "dossier-host depends on dossier-types, but the crate graph in ARCHITECTURE.md (line 8)",
    );
}

#[test]
fn tidy_crate_graph_edge_not_in_code_is_caught() {
    let (dir, metadata) = graph_workspace(&drawing(
        "dossier-host -> dossier-sdk, dossier-store, dossier-types, dossier-email",
        WEBHOOK_LINE,
    ));
    assert_caught(
        &crate_graph_drift(&path_of(&dir), &metadata),
        &["ARCHITECTURE.md:8"],
        "draws dossier-host -> dossier-email",
    );
}

#[test]
fn tidy_crate_graph_undrawn_package_is_caught() {
    let (dir, metadata) = graph_workspace(&drawing(HOST_LINE, ""));
    assert_caught(
        &crate_graph_drift(&path_of(&dir), &metadata),
        &["plugins/webhook/Cargo.toml:2"],
        "webhook-plugin is missing from the crate graph",
    );
}

#[test]
fn tidy_crate_graph_drawn_package_not_in_code_is_caught() {
    let (dir, metadata) = graph_workspace(&drawing(
        HOST_LINE,
        &format!("{WEBHOOK_LINE}\ndossier-tests -> dossier-host"),
    ));
    assert_caught(
        &crate_graph_drift(&path_of(&dir), &metadata),
        &["ARCHITECTURE.md:10"],
        "draws dossier-tests, which is test-only",
    );
}

#[test]
fn tidy_crate_graph_missing_block_is_caught() {
    let (dir, metadata) = graph_workspace("# Architecture\n\nNo drawing yet.\n");
    assert_caught(
        &crate_graph_drift(&path_of(&dir), &metadata),
        &["ARCHITECTURE.md:1"],
        "the crate graph block is missing",
    );
}

/// The block the repo test prints is the one that makes it pass: pasted
/// into a scratch copy of the real ARCHITECTURE.md, it matches.
#[test]
fn tidy_crate_graph_block_round_trips() {
    let original = fs::read_to_string(root().join("ARCHITECTURE.md"))
        .unwrap_or_else(|e| panic!("cannot read ARCHITECTURE.md: {e}"));
    let without_block = original
        .split("<!-- tidy:crate-graph -->")
        .next()
        .unwrap_or_default();
    let block = crate_graph_block(root(), metadata());
    let dir = tree(&[(
        "ARCHITECTURE.md",
        &format!("{without_block}\n## Crate graph\n\n{block}"),
    )]);
    let scratch = dir.path().join("ARCHITECTURE.md");
    assert_clean(
        "the printed crate graph block must match the workspace",
        &crate_graph_drift_in(root(), metadata(), &scratch),
    );
}

// ---------------------------------------------------------------------------
// Guides

/// Every guide in docs/ holding a Rust block is compiled as doctests of a
/// crate (`#[doc = include_str!("../../docs/NAME.md")]` under
/// `cfg(doctest)`), so no snippet there can stop building unseen.
#[test]
fn tidy_every_rust_block_in_docs_is_compiled() {
    let included: String = ["host/src/lib.rs", "sdk/src/lib.rs"]
        .iter()
        .map(|file| fs::read_to_string(root().join(file)).expect("a crate root"))
        .collect();
    let mut missing = Vec::new();
    for entry in fs::read_dir(root().join("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        let text = fs::read_to_string(&path).unwrap_or_default();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let rust = text.lines().any(|l| l.trim_start().starts_with("```rust"));
        if rust && !included.contains(&format!("include_str!(\"../../docs/{name}\")")) {
            missing.push(name.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "docs with Rust blocks no crate compiles as doctests: {missing:?}"
    );
}

// ---------------------------------------------------------------------------
// Rule: every config key a shipped plugin reads is in the plugin guide.

#[test]
fn tidy_plugin_config_keys_are_in_the_plugin_guide() {
    assert_clean(
        "every key a shipped plugin reads from [plugins.config] is in docs/plugins.md",
        &undocumented_plugin_keys(root()),
    );
}

#[test]
fn tidy_undocumented_plugin_key_is_caught() {
    let plugin = r#"use serde::Deserialize;

/// Config.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Where to write.
    path: String,
    // A comment: not_a_key: here
    #[serde(default)]
    rotate_mb: Option<u64>,
}
"#;
    let dir = tree(&[
        ("plugins/audit/src/lib.rs", plugin),
        ("plugins/quiet/src/lib.rs", "pub fn nothing() {}\n"),
        (
            "plugins/lost/src/lib.rs",
            "struct Config {\n    url: String,\n}\n",
        ),
        (
            "docs/plugins.md",
            "# Plugins\n\n### `audit`\n\n| key | meaning |\n|---|---|\n| `path` | the file |\n| `format` | gone |\n\n## Next\n\n| `rotate_mb` | elsewhere |\n",
        ),
    ]);
    let found = undocumented_plugin_keys(&path_of(&dir));
    let rendered: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        found.iter().map(Violation::location).collect::<Vec<_>>(),
        [
            "docs/plugins.md:8",
            "plugins/audit/src/lib.rs:11",
            "plugins/lost/src/lib.rs:1",
        ],
        "{}",
        rendered.join("\n")
    );
    assert!(rendered[0].contains("`format`, which plugin `audit` does not read"));
    assert!(rendered[1].contains("config key `rotate_mb` of plugin `audit` is not in"));
    assert!(rendered[2].contains("has no ### `lost` section"));
}

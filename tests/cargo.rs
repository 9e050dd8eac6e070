//! Cargo run from inside a test or a bench: shared by `dossier-tests` and
//! the host's benches (which include this file by path).

/// A `cargo` command for a build nested in a running test or bench, with
/// the variables cargo set for the running target removed.
///
/// A nested cargo hands its environment to the build scripts it runs, and
/// some record what they read (`ring`'s records `CARGO_MANIFEST_DIR`): a
/// value inherited from the test would differ from the outer
/// `cargo test`'s, so the next `cargo test` would rebuild that crate and
/// everything above it. With these removed, both see the same environment
/// and a warm run rebuilds nothing (`.ci/run` checks it).
pub fn nested_cargo() -> std::process::Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(set_by_cargo_for_the_target) {
            command.env_remove(key);
        }
    }
    command
}

/// Whether cargo sets variable `key` for a crate it compiles or a test it
/// runs (as opposed to one that configures cargo itself, such as
/// `CARGO_HOME` or `CARGO_TARGET_DIR`).
fn set_by_cargo_for_the_target(key: &str) -> bool {
    key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_BIN_EXE_")
        || key.starts_with("CARGO_CFG_")
        || matches!(
            key,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "OUT_DIR"
        )
}

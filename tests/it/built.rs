//! Real built artifacts for the tests: the plugin libraries and the
//! `dossier` binary, built once per test run with the same cargo, profile
//! and target directory as the tests themselves.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Every cdylib the tests load, by package name.
const PLUGINS: &[&str] = &[
    "webhook-plugin",
    "audit-log-plugin",
    "noop-plugin",
    "probe-plugin",
    "panicky-plugin",
    "garbage-plugin",
    "wrong-abi-plugin",
    "old-abi-plugin",
    "old-sdk-plugin",
    "no-entry-plugin",
];

/// The profile directory (`target/debug`) holding the built artifacts.
fn profile_dir() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        // The test binary is `<target>/<profile>/deps/it-<hash>`.
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executable lives in <target>/<profile>/deps")
            .to_owned();
        let target_dir = profile_dir.parent().expect("target directory");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_owned(),
            Some(other) => other.to_owned(),
        };
        // Two builds: target selection (`--bin`) applies to every `-p` of one
        // command, so a combined command would skip the plugins' libraries.
        let bin = vec!["-p", "dossier-cli", "--bin", "dossier"];
        let mut libs = vec!["--lib"];
        for p in PLUGINS {
            libs.extend(["-p", p]);
        }
        for targets in [bin, libs] {
            let status = dossier_tests::cargo::nested_cargo()
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .arg("build")
                .arg("--quiet")
                .arg("--profile")
                .arg(&profile)
                .arg("--target-dir")
                .arg(target_dir)
                .args(&targets)
                .status()
                .expect("run cargo build for the plugins");
            assert!(
                status.success(),
                "building {targets:?} for the tests failed: {status}"
            );
        }
        profile_dir
    })
}

/// The built library of plugin package `package` (e.g. `probe-plugin`).
pub fn plugin(package: &str) -> PathBuf {
    assert!(PLUGINS.contains(&package), "{package} is not in PLUGINS");
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    profile_dir().join(file)
}

/// The built `dossier` binary.
pub fn dossier_bin() -> PathBuf {
    profile_dir().join(format!("dossier{}", std::env::consts::EXE_SUFFIX))
}

/// The lower-case hex SHA-256 of a file, as `sha256 =` in the config wants it.
pub fn sha256(path: &Path) -> String {
    dossier_plugins::file_sha256(path).expect("hash plugin library")
}

/// A `[[plugins]]` entry for `package` with its correct hash and `config`
/// (TOML lines for `[plugins.config]`).
pub fn entry(package: &str, config: &str) -> String {
    let path = plugin(package);
    format!(
        "\n[[plugins]]\npath = {path:?}\nsha256 = \"{}\"\n[plugins.config]\n{config}\n",
        sha256(&path),
        path = path.display().to_string(),
    )
}

//! Rule 4: `#![forbid(unsafe_code)]` on every crate root outside the ABI
//! glue.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::metadata::{Package, bad_metadata, packages};
use crate::source::Source;
use crate::tree::{Tree, has_component, rel_path};
use crate::{Violation, pattern};

/// The packages allowed `unsafe`, and why. Change the loader's entry to
/// `dossier-plugins` when the plugin loader moves out of the host.
pub const UNSAFE_ALLOWED: &[(&str, &str)] = &[
    ("dossier-sdk", "the plugin ABI glue"),
    (
        "dossier-plugins",
        "the plugin loader and the host callbacks",
    ),
];

/// What a plugin crate's source uses to export its entry symbol; a package
/// using either is a plugin and may not forbid `unsafe`.
static EXPORTS_SYMBOLS: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"\bdeclare_plugin\s*!|\bno_mangle\b"));

/// Finds the crate roots (of lib and bin targets) of workspace packages
/// that do not start with `#![forbid(unsafe_code)]` among their inner
/// attributes. [`UNSAFE_ALLOWED`] packages and plugin crates (whose own
/// source uses `declare_plugin!` or `no_mangle`) are exempt.
pub fn missing_forbid_unsafe(root: &Path, metadata: &Value) -> Vec<Violation> {
    let packages = match packages(metadata) {
        Ok(p) => p,
        Err(e) => return vec![bad_metadata(e)],
    };
    let tree = Tree::scan(root);
    let mut violations = tree.problems.clone();
    let dirs: Vec<PathBuf> = packages.iter().map(|p| p.dir().to_path_buf()).collect();
    for package in &packages {
        if UNSAFE_ALLOWED.iter().any(|(name, _)| *name == package.name)
            || exports_symbols(package, &dirs, &tree)
        {
            continue;
        }
        let roots: BTreeSet<&Path> = package
            .targets
            .iter()
            .filter(|t| t.is_lib() || t.is_bin())
            .map(|t| t.src_path.as_path())
            .collect();
        for crate_root in roots {
            let rel = rel_path(root, crate_root);
            match fs::read_to_string(crate_root) {
                Ok(text) if forbids_unsafe(&Source::parse(&text)) => {}
                Ok(_) => violations.push(Violation::new(
                    rel,
                    1,
                    format!(
                        "crate root of {} lacks #![forbid(unsafe_code)] at the top",
                        package.name
                    ),
                )),
                Err(e) => violations.push(Violation::new(rel, 1, format!("cannot read: {e}"))),
            }
        }
    }
    violations
}

/// Whether the package's own source (not its tests, benches or examples,
/// nor packages nested in its directory) exports symbols.
fn exports_symbols(package: &Package, dirs: &[PathBuf], tree: &Tree) -> bool {
    let dir = package.dir();
    tree.files.iter().any(|file| {
        let Ok(inside) = file.path.strip_prefix(dir) else {
            return false;
        };
        let nested = dirs
            .iter()
            .any(|d| d.as_path() != dir && d.starts_with(dir) && file.path.starts_with(d));
        let own = rel_path(Path::new(""), inside);
        !nested
            && !has_component(&own, &["tests", "benches", "examples"])
            && EXPORTS_SYMBOLS
                .find_iter(file.source.code())
                .any(|m| !file.source.in_test(m.start()))
    })
}

/// Whether the file's leading inner attributes include
/// `#![forbid(unsafe_code)]` (alone or among other lints).
fn forbids_unsafe(source: &Source) -> bool {
    let code = source.code();
    let b = code.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if !code[i..].starts_with("#!") {
            return false;
        }
        let Some(open) = code[i..].find('[').map(|n| i + n) else {
            return false;
        };
        if !code[i + 2..open].trim().is_empty() {
            return false;
        }
        let Some(end) = source.bracket_end(open) else {
            return false;
        };
        let attr: String = code[open + 1..end - 1]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Some(lints) = attr
            .strip_prefix("forbid(")
            .and_then(|l| l.strip_suffix(')'))
            && lints.split(',').any(|lint| lint == "unsafe_code")
        {
            return true;
        }
        i = end;
    }
}

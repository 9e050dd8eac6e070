//! Rule 2: no `unwrap`, `expect` or `panic!` in library code.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::metadata::{bad_metadata, packages};
use crate::source::Source;
use crate::tree::{module_file, rel_path};
use crate::{Violation, pattern};

/// What library code must not call, with the name a message gives it.
/// `unwrap_or`, `unwrap_or_else`, `unwrap_or_default` and `expect_err` do
/// not match.
const FORBIDDEN: &[(&str, &str)] = &[
    (r"\.\s*unwrap\s*\(\s*\)", ".unwrap()"),
    (r"\.\s*expect\s*\(", ".expect(..)"),
    (r"\bpanic\s*!\s*[(\[{]", "panic!"),
    (r"\btodo\s*!\s*[(\[{]", "todo!"),
    (r"\bunimplemented\s*!\s*[(\[{]", "unimplemented!"),
];

static CALLS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    FORBIDDEN
        .iter()
        .map(|(source, name)| (pattern(source), *name))
        .collect()
});

/// Finds `.unwrap()`, `.expect(`, `panic!`, `todo!` and `unimplemented!`
/// in the library code of every workspace package but the test-only ones
/// (`TEST_ONLY_PACKAGES` and the fixture plugins).
///
/// Library code is the module tree of each library target (lib, rlib,
/// cdylib, ...), followed from its root through `mod name;` declarations,
/// minus `#[cfg(test)]` items and the modules they declare. Binaries,
/// tests, benches and examples are other targets, so they are not in it.
pub fn panics_in_libraries(root: &Path, metadata: &Value) -> Vec<Violation> {
    let packages = match packages(metadata) {
        Ok(p) => p,
        Err(e) => return vec![bad_metadata(e)],
    };
    let mut violations = Vec::new();
    let mut seen = BTreeSet::new();
    for package in packages.iter().filter(|p| !p.is_test_only(root)) {
        for target in package.targets.iter().filter(|t| t.is_lib()) {
            let mut pending: Vec<(PathBuf, bool)> = vec![(target.src_path.clone(), true)];
            while let Some((path, root_like)) = pending.pop() {
                if !seen.insert(path.clone()) {
                    continue;
                }
                let rel = rel_path(root, &path);
                let text = match fs::read_to_string(&path) {
                    Ok(text) => text,
                    Err(e) => {
                        violations.push(Violation::new(rel, 1, format!("cannot read: {e}")));
                        continue;
                    }
                };
                let source = Source::parse(&text);
                check_file(&rel, &source, &mut violations);
                for decl in source.mod_decls() {
                    if source.in_test(decl.offset) {
                        continue;
                    }
                    match module_file(&path, root_like || path.ends_with("mod.rs"), &decl) {
                        Some(child) => pending.push((child, false)),
                        None => violations.push(Violation::new(
                            rel.clone(),
                            source.line(decl.offset),
                            format!("cannot find the file of module `{}`", decl.name),
                        )),
                    }
                }
            }
        }
    }
    violations.sort();
    violations
}

fn check_file(rel: &str, source: &Source, violations: &mut Vec<Violation>) {
    for (call, name) in CALLS.iter() {
        for m in call.find_iter(source.code()) {
            if source.in_test(m.start()) {
                continue;
            }
            violations.push(Violation::new(
                rel.to_owned(),
                source.line(m.start()),
                format!("{name} in library code: return an error instead"),
            ));
        }
    }
}

//! Rule 3: nothing below the facade depends on it.

use std::path::Path;

use serde_json::Value;

use crate::Violation;
use crate::metadata::{Manifest, bad_metadata, packages};

/// The facade package: `Host` and what embedders call.
pub const FACADE: &str = "dossier-host";

/// The packages that may list [`FACADE`] among their normal dependencies:
/// the front ends above it and the test-only packages.
pub const FACADE_DEPENDENTS: &[&str] = &[
    "dossier-cli",
    "dossier-server",
    "dossier-tests",
    "dossier-tidy",
];

/// Finds packages other than [`FACADE_DEPENDENTS`] with a normal
/// dependency on [`FACADE`] (a dev-dependency, for tests, is fine).
pub fn facade_dependents(root: &Path, metadata: &Value) -> Vec<Violation> {
    let packages = match packages(metadata) {
        Ok(p) => p,
        Err(e) => return vec![bad_metadata(e)],
    };
    let mut violations = Vec::new();
    for package in &packages {
        if FACADE_DEPENDENTS.contains(&package.name.as_str()) {
            continue;
        }
        for dep in package.normal_deps().filter(|d| d.name == FACADE) {
            let manifest = Manifest::read(root, package);
            violations.push(Violation::new(
                manifest.rel.clone(),
                manifest.dep_line(dep),
                format!(
                    "{} depends on the facade {FACADE}; only {} may",
                    package.name,
                    FACADE_DEPENDENTS.join(", ")
                ),
            ));
        }
    }
    violations
}

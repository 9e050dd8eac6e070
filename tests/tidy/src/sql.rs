//! Rule 1: SQL, and the database crates, only in the store's backend
//! modules.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::metadata::{Manifest, bad_metadata, packages};
use crate::tree::{Tree, has_component};
use crate::{Violation, pattern, snippet};

/// The store's backend modules, relative to the workspace root: the only
/// source that may hold SQL or name a database crate. The PostgreSQL
/// backend is listed ahead of its arrival.
pub const STORE_BACKENDS: &[&str] = &["host/store/src/sqlite/", "host/store/src/postgres/"];

/// The database client crates, as package names (what manifests list) and
/// as they are spelled in code.
pub const DATABASE_CRATES: &[(&str, &str)] = &[
    ("rusqlite", "rusqlite"),
    ("postgres", "postgres"),
    ("tokio-postgres", "tokio_postgres"),
];

/// The packages that may depend on a database crate (normal dependencies;
/// dev-dependencies are free): the store, and the test-only packages.
pub const DATABASE_DEPENDENTS: &[&str] = &["dossier-store", "dossier-tests", "dossier-tidy"];

/// Directories whose files are exempt wherever they are: tests, benches
/// and examples may set up or inspect a database directly.
const EXEMPT_DIRS: &[&str] = &["tests", "benches", "examples"];

/// SQL statements as they start inside a string literal. Upper case only,
/// so prose ("select a case from the list") is not SQL.
static STATEMENT: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?x)
          \bSELECT\s[^;]*?\bFROM\b
        | \b(?:INSERT|REPLACE)\s+(?:OR\s+[A-Z]+\s+)?INTO\b
        | \bUPDATE\s+\S+\s+SET\b
        | \bDELETE\s+FROM\b
        | \bCREATE\s+(?:TEMP(?:ORARY)?\s+)?(?:UNIQUE\s+)?(?:TABLE|INDEX|TRIGGER|VIEW|VIRTUAL\s+TABLE)\b
        | \b(?:ALTER|DROP)\s+(?:TABLE|INDEX|TRIGGER|VIEW)\b
        | \bPRAGMA\s
        ",
    )
});

/// Transaction control, which is SQL only when it is the whole literal
/// (`"BEGIN IMMEDIATE"`, `"COMMIT"`), not a word in a sentence.
static TRANSACTION: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^\s*(?:BEGIN|COMMIT|ROLLBACK|END)(?:\s+(?:IMMEDIATE|DEFERRED|EXCLUSIVE|TRANSACTION))*\s*;?\s*$",
    )
});

/// A database crate named in code (`use rusqlite::...`, `postgres::Client`).
static CRATE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    let names: Vec<&str> = DATABASE_CRATES
        .iter()
        .map(|(_, in_code)| *in_code)
        .collect();
    pattern(&format!(r"\b(?:{})\b", names.join("|")))
});

/// Finds SQL in string literals, and the database crates named in code,
/// outside [`STORE_BACKENDS`]. Test code (files under `tests/` or
/// `benches/` directories, `#[cfg(test)]` items), examples and comments
/// are exempt.
pub fn sql_outside_backend(root: &Path) -> Vec<Violation> {
    let tree = Tree::scan(root);
    let mut violations = tree.problems;
    for file in &tree.files {
        if file.test
            || has_component(&file.rel, EXEMPT_DIRS)
            || STORE_BACKENDS.iter().any(|dir| file.rel.starts_with(dir))
        {
            continue;
        }
        let source = &file.source;
        for literal in source.literals() {
            if file.test_at(literal.offset) {
                continue;
            }
            let found = STATEMENT
                .find(&literal.text)
                .or_else(|| TRANSACTION.find(&literal.text));
            if let Some(m) = found {
                let line = source.line(literal.offset + m.start());
                let sql = snippet(&literal.text[m.start()..], 60);
                violations.push(Violation::new(
                    file.rel.clone(),
                    line,
                    format!("SQL outside the store's backend modules: \"{sql}\""),
                ));
            }
        }
        for m in CRATE_NAME.find_iter(source.code()) {
            if file.test_at(m.start()) {
                continue;
            }
            violations.push(Violation::new(
                file.rel.clone(),
                source.line(m.start()),
                format!(
                    "`{}` named outside the store's backend modules ({})",
                    m.as_str(),
                    STORE_BACKENDS.join(", ")
                ),
            ));
        }
    }
    violations
}

/// Finds packages other than [`DATABASE_DEPENDENTS`] that list a database
/// crate among their normal dependencies.
pub fn database_dependencies(root: &Path, metadata: &Value) -> Vec<Violation> {
    let packages = match packages(metadata) {
        Ok(p) => p,
        Err(e) => return vec![bad_metadata(e)],
    };
    let mut violations = Vec::new();
    for package in packages
        .iter()
        .filter(|p| !DATABASE_DEPENDENTS.contains(&p.name.as_str()))
    {
        let mut manifest = None;
        for dep in package.normal_deps() {
            if !DATABASE_CRATES.iter().any(|(name, _)| *name == dep.name) {
                continue;
            }
            let manifest = manifest.get_or_insert_with(|| Manifest::read(root, package));
            violations.push(Violation::new(
                manifest.rel.clone(),
                manifest.dep_line(dep),
                format!(
                    "{} depends on {}; only {} may (SQL lives in the store's backend)",
                    package.name,
                    dep.name,
                    DATABASE_DEPENDENTS.join(", ")
                ),
            ));
        }
    }
    violations
}

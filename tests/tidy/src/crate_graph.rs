//! Rule 6: the crate graph in the code is the one ARCHITECTURE.md draws.
//!
//! The drawing is the fenced code block after the line
//! `<!-- tidy:crate-graph -->`; each non-empty line of it is
//! `crate -> dep, dep` (or `crate ->` for a crate with none), listing the
//! crate's direct normal dependencies on other workspace packages.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::Violation;
use crate::metadata::{Manifest, Package, bad_metadata, packages};
use crate::tree::rel_path;

/// The line that announces the drawing.
pub const GRAPH_MARKER: &str = "<!-- tidy:crate-graph -->";

/// The document holding the drawing, relative to the workspace root.
pub const ARCHITECTURE_FILE: &str = "ARCHITECTURE.md";

/// A crate as the code has it: its workspace-internal normal dependencies,
/// each with the manifest line that declares it.
struct CodeCrate {
    name: String,
    manifest: Manifest,
    deps: BTreeMap<String, usize>,
}

/// A line of the drawing.
struct DrawnCrate {
    name: String,
    line: usize,
    deps: Vec<String>,
}

/// Compares the crate graph drawn in `ARCHITECTURE.md` with the one in
/// the metadata. Every workspace package but the test-only ones and the
/// fixture plugins must be drawn, with exactly its direct normal
/// dependencies on workspace packages.
pub fn crate_graph_drift(root: &Path, metadata: &Value) -> Vec<Violation> {
    crate_graph_drift_in(root, metadata, &root.join(ARCHITECTURE_FILE))
}

/// [`crate_graph_drift`], reading the drawing from `architecture` instead
/// of the workspace's own ARCHITECTURE.md (to try a drawing on a copy).
pub fn crate_graph_drift_in(root: &Path, metadata: &Value, architecture: &Path) -> Vec<Violation> {
    let packages = match packages(metadata) {
        Ok(p) => p,
        Err(e) => return vec![bad_metadata(e)],
    };
    let doc = rel_path(root, architecture);
    let text = match fs::read_to_string(architecture) {
        Ok(text) => text,
        Err(e) => return vec![Violation::new(doc, 1, format!("cannot read: {e}"))],
    };
    let (drawing, mut violations) = read_drawing(&text, &doc);
    let Some(drawing) = drawing else {
        return violations;
    };
    let code = code_graph(root, &packages);
    let workspace: BTreeSet<&str> = packages.iter().map(|p| p.name.as_str()).collect();

    let mut drawn: BTreeMap<&str, &DrawnCrate> = BTreeMap::new();
    for line in &drawing {
        if let Some(first) = drawn.get(line.name.as_str()) {
            violations.push(Violation::new(
                doc.clone(),
                line.line,
                format!(
                    "{} is drawn twice (first on line {})",
                    line.name, first.line
                ),
            ));
            continue;
        }
        drawn.insert(&line.name, line);
        let Some(krate) = code.iter().find(|c| c.name == line.name) else {
            let why = if workspace.contains(line.name.as_str()) {
                "is test-only; the crate graph leaves test-only packages and fixture plugins out"
            } else {
                "is not a workspace package"
            };
            violations.push(Violation::new(
                doc.clone(),
                line.line,
                format!("the crate graph draws {}, which {why}", line.name),
            ));
            continue;
        };
        let mut seen = BTreeSet::new();
        for dep in &line.deps {
            if !seen.insert(dep) {
                violations.push(Violation::new(
                    doc.clone(),
                    line.line,
                    format!("the crate graph draws {} -> {dep} twice", line.name),
                ));
            } else if !krate.deps.contains_key(dep) {
                violations.push(Violation::new(
                    doc.clone(),
                    line.line,
                    format!(
                        "the crate graph draws {} -> {dep}, but {} has no normal dependency on {dep}",
                        line.name, line.name
                    ),
                ));
            }
        }
    }

    for krate in &code {
        let Some(line) = drawn.get(krate.name.as_str()) else {
            violations.push(Violation::new(
                krate.manifest.rel.clone(),
                krate.manifest.name_line(),
                format!(
                    "{} is missing from the crate graph in {doc}; draw it as `{}`",
                    krate.name,
                    graph_line(krate)
                ),
            ));
            continue;
        };
        for (dep, &dep_line) in &krate.deps {
            if !line.deps.contains(dep) {
                violations.push(Violation::new(
                    krate.manifest.rel.clone(),
                    dep_line,
                    format!(
                        "{} depends on {dep}, but the crate graph in {doc} (line {}) does not draw that edge",
                        krate.name, line.line
                    ),
                ));
            }
        }
    }
    violations
}

/// The marker line and fenced block that draw the crate graph of the
/// metadata, ready to paste into ARCHITECTURE.md. Each crate comes after
/// those it depends on; ties keep the metadata's (the members') order.
pub fn crate_graph_block(root: &Path, metadata: &Value) -> String {
    let packages = match packages(metadata) {
        Ok(p) => p,
        Err(e) => return format!("(no crate graph: {})", bad_metadata(e)),
    };
    let code = code_graph(root, &packages);
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut block = format!("{GRAPH_MARKER}\n```text\n");
    while placed.len() < code.len() {
        // The first crate whose drawn dependencies are all placed; on a
        // cycle (which cargo refuses anyway), the first unplaced one.
        let unplaced = || code.iter().filter(|c| !placed.contains(c.name.as_str()));
        let ready = unplaced().find(|c| {
            c.deps
                .keys()
                .all(|d| placed.contains(d.as_str()) || !code.iter().any(|o| &o.name == d))
        });
        let Some(next) = ready.or_else(|| unplaced().next()) else {
            break;
        };
        block.push_str(&graph_line(next));
        block.push('\n');
        placed.insert(&next.name);
    }
    block.push_str("```\n");
    block
}

/// The drawing's line for a crate.
fn graph_line(krate: &CodeCrate) -> String {
    let deps: Vec<&str> = krate.deps.keys().map(String::as_str).collect();
    if deps.is_empty() {
        format!("{} ->", krate.name)
    } else {
        format!("{} -> {}", krate.name, deps.join(", "))
    }
}

/// The crates the drawing must show, with their edges, in the metadata's
/// order.
fn code_graph(root: &Path, packages: &[Package]) -> Vec<CodeCrate> {
    let workspace: BTreeSet<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    packages
        .iter()
        .filter(|p| !p.is_test_only(root))
        .map(|p| {
            let manifest = Manifest::read(root, p);
            let deps = p
                .normal_deps()
                .filter(|d| d.path.is_some() && workspace.contains(d.name.as_str()))
                .map(|d| (d.name.clone(), manifest.dep_line(d)))
                .collect();
            CodeCrate {
                name: p.name.clone(),
                manifest,
                deps,
            }
        })
        .collect()
}

/// Reads the drawing out of the document: `None` (with the reason) when
/// there is none; otherwise its lines, and any line that does not parse.
fn read_drawing(text: &str, doc: &str) -> (Option<Vec<DrawnCrate>>, Vec<Violation>) {
    let lines: Vec<&str> = text.lines().collect();
    let Some(marker) = lines.iter().position(|l| l.trim() == GRAPH_MARKER) else {
        return (
            None,
            vec![Violation::new(
                doc.to_owned(),
                1,
                format!(
                    "the crate graph block is missing: no line `{GRAPH_MARKER}` followed by a fenced code block"
                ),
            )],
        );
    };
    let fence_at = lines
        .iter()
        .enumerate()
        .skip(marker + 1)
        .find(|(_, l)| !l.trim().is_empty());
    let Some((open, fence)) = fence_at
        .map(|(i, l)| (i, l.trim()))
        .filter(|(_, l)| l.starts_with("```") || l.starts_with("~~~"))
    else {
        return (
            None,
            vec![Violation::new(
                doc.to_owned(),
                marker + 1,
                format!(
                    "the crate graph block is missing: `{GRAPH_MARKER}` is not followed by a fenced code block"
                ),
            )],
        );
    };
    let fence_chars = &fence[..3];
    let Some(close) = lines
        .iter()
        .enumerate()
        .skip(open + 1)
        .find(|(_, l)| l.trim().starts_with(fence_chars))
        .map(|(i, _)| i)
    else {
        return (
            None,
            vec![Violation::new(
                doc.to_owned(),
                open + 1,
                "the crate graph's code block is never closed".to_owned(),
            )],
        );
    };
    let mut drawing = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in lines.iter().enumerate().take(close).skip(open + 1) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((name, deps)) = line
            .split_once("->")
            .filter(|(name, _)| !name.trim().is_empty())
        else {
            problems.push(Violation::new(
                doc.to_owned(),
                i + 1,
                format!("`{line}` is not `crate -> dep, dep`"),
            ));
            continue;
        };
        drawing.push(DrawnCrate {
            name: name.trim().to_owned(),
            line: i + 1,
            deps: deps
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect(),
        });
    }
    (Some(drawing), problems)
}

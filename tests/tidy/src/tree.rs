//! The Rust files of the workspace, lexed, and which of them are tests.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use crate::Violation;
use crate::source::{ModDecl, Source};

/// Directories the walk never enters (besides hidden ones such as `.git`):
/// build output.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules"];

/// A lexed Rust file.
#[derive(Debug)]
pub struct File {
    /// The path relative to the workspace root, with `/` separators.
    pub rel: String,
    /// The path as found.
    pub path: PathBuf,
    /// The lexed contents.
    pub source: Source,
    /// Whether the whole file is test code: it sits under a `tests/` or
    /// `benches/` directory, or is (inside) an out-of-line `#[cfg(test)]`
    /// module.
    pub test: bool,
}

impl File {
    /// Whether the code at `offset` is test code.
    pub fn test_at(&self, offset: usize) -> bool {
        self.test || self.source.in_test(offset)
    }
}

/// Every `.rs` file under the workspace root, sorted by path.
#[derive(Debug)]
pub struct Tree {
    /// The files.
    pub files: Vec<File>,
    /// Files or directories that could not be read.
    pub problems: Vec<Violation>,
}

impl Tree {
    /// Walks `root` (skipping hidden directories and build output), lexes
    /// every `.rs` file and marks the test ones.
    pub fn scan(root: &Path) -> Tree {
        let mut paths = Vec::new();
        let mut problems = Vec::new();
        walk(root, root, &mut paths, &mut problems);
        paths.sort();
        let mut files = Vec::new();
        for path in paths {
            let rel = rel_path(root, &path);
            match fs::read_to_string(&path) {
                Ok(text) => {
                    let test = has_component(&rel, &["tests", "benches"]);
                    files.push(File {
                        rel,
                        path,
                        source: Source::parse(&text),
                        test,
                    });
                }
                Err(e) => problems.push(Violation::new(rel, 1, format!("cannot read: {e}"))),
            }
        }
        mark_test_modules(&mut files);
        Tree { files, problems }
    }
}

/// Marks the files of out-of-line modules declared inside `#[cfg(test)]`
/// code, and the modules below them, as test files.
fn mark_test_modules(files: &mut [File]) {
    let index: HashMap<PathBuf, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.clone(), i))
        .collect();
    let mut pending: Vec<usize> = Vec::new();
    for file in files.iter() {
        for decl in file.source.mod_decls() {
            if file.source.in_test(decl.offset)
                && let Some(child) = module_file(&file.path, owns_dir(&file.path), &decl)
                && let Some(&i) = index.get(&child)
            {
                pending.push(i);
            }
        }
    }
    let mut seen = BTreeSet::new();
    while let Some(i) = pending.pop() {
        if !seen.insert(i) {
            continue;
        }
        files[i].test = true;
        let file = &files[i];
        for decl in file.source.mod_decls() {
            if let Some(child) = module_file(&file.path, owns_dir(&file.path), &decl)
                && let Some(&j) = index.get(&child)
            {
                pending.push(j);
            }
        }
    }
}

/// Whether a file's submodules live next to it (`lib.rs`, `main.rs`,
/// `mod.rs`) rather than in a directory named after it.
pub fn owns_dir(file: &Path) -> bool {
    matches!(
        file.file_name().and_then(|n| n.to_str()),
        Some("lib.rs" | "main.rs" | "mod.rs")
    )
}

/// The file holding the module `decl` declares in `file`, if it exists.
/// `root_like` says the file's submodules live next to it (a crate root or
/// a `mod.rs`).
pub fn module_file(file: &Path, root_like: bool, decl: &ModDecl) -> Option<PathBuf> {
    let dir = file.parent()?;
    let mut base = if root_like {
        dir.to_path_buf()
    } else {
        dir.join(file.file_stem()?)
    };
    if let Some(path) = &decl.path_attr {
        let from = if decl.inline_path.is_empty() {
            dir.to_path_buf()
        } else {
            decl.inline_path.iter().fold(base, |b, m| b.join(m))
        };
        let candidate = from.join(path);
        return candidate.is_file().then_some(candidate);
    }
    for m in &decl.inline_path {
        base.push(m);
    }
    [
        base.join(format!("{}.rs", decl.name)),
        base.join(&decl.name).join("mod.rs"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>, problems: &mut Vec<Violation>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(Violation::new(
                rel_path(root, dir),
                1,
                format!("cannot read the directory: {e}"),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_ref()) {
                walk(root, &path, out, problems);
            }
        } else if kind.is_file() && name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// `path` relative to `root`, with `/` separators; the whole path if it is
/// not under `root`.
pub fn rel_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a directory of the relative path `rel` (not its file name) is
/// one of `names`.
pub fn has_component(rel: &str, names: &[&str]) -> bool {
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    parts.iter().any(|p| names.contains(p))
}

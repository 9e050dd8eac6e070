//! The parts of `cargo metadata --format-version 1` the rules read, and
//! line numbers in `Cargo.toml` files, which the metadata does not give.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::tree::rel_path;
use crate::{FIXTURE_PLUGINS_DIR, TEST_ONLY_PACKAGES, Violation};

/// Which table of the manifest a dependency comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    /// `[dependencies]`.
    Normal,
    /// `[dev-dependencies]`.
    Dev,
    /// `[build-dependencies]`.
    Build,
}

/// A dependency as the metadata lists it.
#[derive(Debug, Clone)]
pub struct Dep {
    /// The depended-on package's name.
    pub name: String,
    /// The key the manifest uses for it when it renames it.
    pub rename: Option<String>,
    /// Which table it is in.
    pub kind: DepKind,
    /// Set for path dependencies (workspace-internal ones among them).
    pub path: Option<PathBuf>,
}

impl Dep {
    /// The key the dependency is written under in the manifest.
    pub fn key(&self) -> &str {
        self.rename.as_deref().unwrap_or(&self.name)
    }
}

/// A build target of a package.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its kinds: `lib`, `cdylib`, `bin`, `test`, `bench`, `example`, ...
    pub kinds: Vec<String>,
    /// Its root source file.
    pub src_path: PathBuf,
}

impl Target {
    /// Whether the target is a library of some kind.
    pub fn is_lib(&self) -> bool {
        self.kinds.iter().any(|k| {
            matches!(
                k.as_str(),
                "lib" | "rlib" | "cdylib" | "dylib" | "staticlib" | "proc-macro"
            )
        })
    }

    /// Whether the target is a binary.
    pub fn is_bin(&self) -> bool {
        self.kinds.iter().any(|k| k == "bin")
    }
}

/// A workspace package.
#[derive(Debug, Clone)]
pub struct Package {
    /// Its name.
    pub name: String,
    /// Its `Cargo.toml`.
    pub manifest: PathBuf,
    /// Its targets.
    pub targets: Vec<Target>,
    /// Its dependencies, all kinds.
    pub deps: Vec<Dep>,
}

impl Package {
    /// The directory of its manifest.
    pub fn dir(&self) -> &Path {
        self.manifest.parent().unwrap_or(Path::new(""))
    }

    /// Whether it exists only to test the others: a test-only package or a
    /// fixture plugin.
    pub fn is_test_only(&self, root: &Path) -> bool {
        TEST_ONLY_PACKAGES.contains(&self.name.as_str()) || self.is_fixture_plugin(root)
    }

    /// Whether it is a fixture plugin under `tests/plugins/`.
    pub fn is_fixture_plugin(&self, root: &Path) -> bool {
        rel_path(root, &self.manifest).starts_with(FIXTURE_PLUGINS_DIR)
    }

    /// Its normal (not dev, not build) dependencies.
    pub fn normal_deps(&self) -> impl Iterator<Item = &Dep> {
        self.deps.iter().filter(|d| d.kind == DepKind::Normal)
    }
}

/// The workspace packages in `metadata`, in the metadata's order.
pub fn packages(metadata: &Value) -> Result<Vec<Package>, String> {
    let list = metadata
        .get("packages")
        .and_then(Value::as_array)
        .ok_or("the metadata has no `packages` array")?;
    let members: Option<Vec<&str>> = metadata
        .get("workspace_members")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect());
    let mut packages = Vec::new();
    for p in list {
        if let Some(members) = &members {
            let id = p.get("id").and_then(Value::as_str).unwrap_or("");
            if !members.contains(&id) {
                continue;
            }
        }
        packages.push(package(p)?);
    }
    Ok(packages)
}

fn package(p: &Value) -> Result<Package, String> {
    let name = text(p, "name")?;
    let manifest = PathBuf::from(text(p, "manifest_path")?);
    let mut targets = Vec::new();
    for t in p
        .get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        targets.push(Target {
            kinds: t
                .get("kind")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            src_path: PathBuf::from(text(t, "src_path")?),
        });
    }
    let mut deps = Vec::new();
    for d in p
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = match d.get("kind").and_then(Value::as_str) {
            None => DepKind::Normal,
            Some("dev") => DepKind::Dev,
            Some("build") => DepKind::Build,
            Some(other) => return Err(format!("{name}: unknown dependency kind `{other}`")),
        };
        deps.push(Dep {
            name: text(d, "name")?,
            rename: d.get("rename").and_then(Value::as_str).map(str::to_owned),
            kind,
            path: d.get("path").and_then(Value::as_str).map(PathBuf::from),
        });
    }
    Ok(Package {
        name,
        manifest,
        targets,
        deps,
    })
}

fn text(v: &Value, key: &str) -> Result<String, String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("a metadata entry has no string `{key}`: {v}"))
}

/// The violation reported when the metadata cannot be read.
pub fn bad_metadata(message: String) -> Violation {
    Violation::new(
        "Cargo.toml".to_owned(),
        1,
        format!("cargo metadata: {message}"),
    )
}

/// A package's manifest, read once for line numbers.
#[derive(Debug)]
pub struct Manifest {
    /// The path relative to the workspace root.
    pub rel: String,
    text: String,
}

impl Manifest {
    /// Reads the manifest of `package`; an unreadable one has no lines
    /// and every lookup answers line 1.
    pub fn read(root: &Path, package: &Package) -> Manifest {
        Manifest {
            rel: rel_path(root, &package.manifest),
            text: fs::read_to_string(&package.manifest).unwrap_or_default(),
        }
    }

    /// The line of the `name = ...` key of `[package]`, or 1.
    pub fn name_line(&self) -> usize {
        let mut in_package = false;
        for (i, line) in self.text.lines().enumerate() {
            if let Some(header) = table_header(line) {
                in_package = header == "package";
            } else if in_package && key_of(line) == Some("name") {
                return i + 1;
            }
        }
        1
    }

    /// The line where the dependency `dep` is written, or 1 if it cannot be
    /// found (a dependency table spelled in a way this does not know).
    pub fn dep_line(&self, dep: &Dep) -> usize {
        let table = match dep.kind {
            DepKind::Normal => "dependencies",
            DepKind::Dev => "dev-dependencies",
            DepKind::Build => "build-dependencies",
        };
        let key = dep.key();
        let mut in_table = false;
        for (i, line) in self.text.lines().enumerate() {
            if let Some(header) = table_header(line) {
                let header = header.replace('_', "-");
                if is_table(&header, table) {
                    in_table = true;
                    continue;
                }
                in_table = false;
                // `[dependencies.name]` or `[target.'cfg(..)'.dependencies.name]`.
                if let Some((head, last)) = header.rsplit_once('.')
                    && is_table(head, table)
                    && last.trim().trim_matches('"') == key
                {
                    return i + 1;
                }
            } else if in_table && key_of(line) == Some(key) {
                return i + 1;
            }
        }
        1
    }
}

/// The name of the table a `[header]` line opens (not `[[array]]` ones).
fn table_header(line: &str) -> Option<String> {
    let line = line.trim();
    if line.starts_with("[[") {
        return Some(String::new());
    }
    let inner = line.strip_prefix('[')?;
    let end = inner.rfind(']')?;
    Some(
        inner[..end]
            .split('.')
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// Whether the table `header` is the dependency table `table`, directly or
/// for a target.
fn is_table(header: &str, table: &str) -> bool {
    header == table || (header.starts_with("target.") && header.ends_with(&format!(".{table}")))
}

/// The first key of a `key = value` or `key.sub = value` line.
fn key_of(line: &str) -> Option<&str> {
    let line = line.trim_start();
    if line.starts_with('#') || !line.contains('=') {
        return None;
    }
    let end = line.find(['=', '.', ' ', '\t'])?;
    Some(line[..end].trim_matches('"'))
}

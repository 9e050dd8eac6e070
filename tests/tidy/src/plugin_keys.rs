//! Every config key a shipped plugin reads is documented in the plugin
//! guide, and the guide documents no key a plugin does not read.
//!
//! A plugin reads its `[plugins.config]` table into a `struct Config` in
//! its `src/lib.rs`; the guide has a `### `name`` section per plugin (the
//! plugin's directory name) with a table whose rows start with the key:
//! ``| `url` | ...``.

use std::fs;
use std::path::Path;

use crate::Violation;

/// Where the shipped plugins live, relative to the workspace root.
pub const PLUGINS_DIR: &str = "plugins";

/// The plugin guide, relative to the workspace root.
pub const PLUGIN_GUIDE: &str = "docs/plugins.md";

/// The fields of the first `struct Config` in `source`, with their 1-based
/// lines.
fn config_fields(source: &str) -> Option<(usize, Vec<(usize, String)>)> {
    let field = crate::pattern(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?([a-z_][a-z0-9_]*)\s*:");
    let mut lines = source.lines().enumerate();
    let (start, _) = lines.find(|(_, l)| {
        let l = l.trim_start();
        l.starts_with("struct Config {") || l.starts_with("pub struct Config {")
    })?;
    let mut out = Vec::new();
    for (i, line) in lines {
        let trimmed = line.trim_start();
        if trimmed.starts_with('}') {
            break;
        }
        if trimmed.starts_with("//") || trimmed.starts_with('#') {
            continue;
        }
        if let Some(c) = field.captures(line) {
            out.push((i + 1, c[1].to_owned()));
        }
    }
    Some((start + 1, out))
}

/// The keys the guide's `### `name`` section documents, with their lines.
fn documented(guide: &str, name: &str) -> Option<Vec<(usize, String)>> {
    let heading = format!("### `{name}`");
    let mut lines = guide.lines().enumerate();
    lines.find(|(_, l)| l.trim_end() == heading)?;
    let row = crate::pattern(r"^\|\s*`([a-z_][a-z0-9_]*)`\s*\|");
    let mut out = Vec::new();
    for (i, line) in lines {
        if line.starts_with("## ") || line.starts_with("### ") {
            break;
        }
        if let Some(c) = row.captures(line) {
            out.push((i + 1, c[1].to_owned()));
        }
    }
    Some(out)
}

/// Every config key a plugin under [`PLUGINS_DIR`] reads that
/// [`PLUGIN_GUIDE`] does not document, and every documented key no plugin
/// reads.
pub fn undocumented_plugin_keys(root: &Path) -> Vec<Violation> {
    let guide = fs::read_to_string(root.join(PLUGIN_GUIDE)).unwrap_or_default();
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(root.join(PLUGINS_DIR)) else {
        return out;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("src/lib.rs").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let path = format!("{PLUGINS_DIR}/{name}/src/lib.rs");
        let source = fs::read_to_string(root.join(&path)).unwrap_or_default();
        let Some((start, fields)) = config_fields(&source) else {
            continue;
        };
        let Some(documented) = documented(&guide, &name) else {
            out.push(Violation::new(
                path,
                start,
                format!("plugin `{name}` reads a config but {PLUGIN_GUIDE} has no ### `{name}` section listing its keys"),
            ));
            continue;
        };
        for (line, key) in &fields {
            if !documented.iter().any(|(_, k)| k == key) {
                out.push(Violation::new(
                    path.clone(),
                    *line,
                    format!("config key `{key}` of plugin `{name}` is not in {PLUGIN_GUIDE}'s ### `{name}` table"),
                ));
            }
        }
        for (line, key) in documented {
            if !fields.iter().any(|(_, k)| *k == key) {
                out.push(Violation::new(
                    PLUGIN_GUIDE.to_owned(),
                    line,
                    format!("documents config key `{key}`, which plugin `{name}` does not read"),
                ));
            }
        }
    }
    out.sort();
    out
}

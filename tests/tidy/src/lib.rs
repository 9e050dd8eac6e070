//! The tidy rules: what ARCHITECTURE.md and STYLE.md say about the shape of
//! the code, checked on the source files and on `cargo metadata`.
//!
//! Each rule is a function that takes the workspace root (and, when it
//! needs the crate graph, the parsed output of `cargo metadata
//! --format-version 1 --no-deps`) and returns every [`Violation`] it finds,
//! each naming a file and a line. `tests/tidy.rs` runs them on the real
//! workspace, and on small broken trees to show each one bites.
//!
//! | Rule | Function |
//! |---|---|
//! | SQL and database crates only in the store's backend modules | [`sql_outside_backend`], [`database_dependencies`] |
//! | No `unwrap`, `expect` or `panic!` in library code | [`panics_in_libraries`] |
//! | Nothing below the facade depends on `dossier-host` | [`facade_dependents`] |
//! | `#![forbid(unsafe_code)]` on every crate root outside the ABI glue | [`missing_forbid_unsafe`] |
//! | Tests never sleep (but in `wait_until`) | [`sleeps_in_tests`] |
//! | The crate graph is the one ARCHITECTURE.md draws | [`crate_graph_drift`] |
//! | Every config key a shipped plugin reads is in the plugin guide | [`undocumented_plugin_keys`] |
//!
//! Code means code: comments (doc comments and their examples included)
//! and string literals are masked before a rule looks for a call or a
//! name, and "test code" is files under a `tests/` or `benches/`
//! directory plus `#[cfg(test)]` items anywhere.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;

mod crate_graph;
mod facade;
mod metadata;
mod panics;
mod plugin_keys;
mod sleep;
mod source;
mod sql;
mod tree;
mod unsafe_code;

pub use crate_graph::{
    ARCHITECTURE_FILE, GRAPH_MARKER, crate_graph_block, crate_graph_drift, crate_graph_drift_in,
};
pub use facade::{FACADE, FACADE_DEPENDENTS, facade_dependents};
pub use panics::panics_in_libraries;
pub use plugin_keys::{PLUGIN_GUIDE, PLUGINS_DIR, undocumented_plugin_keys};
pub use sleep::{WAIT_HELPER, WAIT_HELPER_FILE, sleeps_in_tests};
pub use sql::{
    DATABASE_CRATES, DATABASE_DEPENDENTS, STORE_BACKENDS, database_dependencies,
    sql_outside_backend,
};
pub use unsafe_code::{UNSAFE_ALLOWED, missing_forbid_unsafe};

/// Packages that exist only to test the others; the rules about library
/// code and the crate graph leave them out.
pub const TEST_ONLY_PACKAGES: &[&str] = &["dossier-tests", "dossier-tidy"];

/// Where the fixture plugins live (relative to the workspace root): test
/// code too.
pub const FIXTURE_PLUGINS_DIR: &str = "tests/plugins/";

/// One broken rule at one place: `path:line: message`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// The file, relative to the workspace root, with `/` separators.
    pub path: String,
    /// The 1-based line.
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

impl Violation {
    /// A violation at `path:line`.
    pub fn new(path: String, line: usize, message: String) -> Violation {
        Violation {
            path,
            line,
            message,
        }
    }

    /// `path:line`, without the message.
    pub fn location(&self) -> String {
        format!("{}:{}", self.path, self.line)
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.message)
    }
}

/// Compiles one of the rules' built-in patterns.
fn pattern(source: &str) -> regex::Regex {
    regex::Regex::new(source)
        .unwrap_or_else(|e| panic!("tidy: the built-in pattern `{source}` does not compile: {e}"))
}

/// Shortens `text` to one line of at most `max` characters, for messages.
fn snippet(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}...")
    }
}

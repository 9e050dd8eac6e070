//! Rule 5: tests never sleep; they wait for a condition with the one
//! helper that may.

use std::ops::Range;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::source::Source;
use crate::tree::Tree;
use crate::{Violation, pattern};

/// The file holding the waiting helper, relative to the workspace root.
pub const WAIT_HELPER_FILE: &str = "tests/lib.rs";

/// The helper whose body is the one place test code may sleep: it polls a
/// condition until it holds or a deadline passes.
pub const WAIT_HELPER: &str = "wait_until";

/// A call of `sleep`, whatever the path to it (`std::thread::sleep(`,
/// `thread::sleep(`, `tokio::time::sleep(`, `sleep(`), and its cousins.
static SLEEP: LazyLock<Regex> = LazyLock::new(|| pattern(r"\b(?:sleep|sleep_ms|sleep_until)\s*\("));

/// Finds calls of `sleep` in test code: files under a `tests/` or
/// `benches/` directory (the top-level `tests/` tree and the fixture
/// plugins in it included) and `#[cfg(test)]` items anywhere. The body of
/// [`WAIT_HELPER`] in [`WAIT_HELPER_FILE`] is exempt.
pub fn sleeps_in_tests(root: &Path) -> Vec<Violation> {
    let tree = Tree::scan(root);
    let mut violations = tree.problems;
    for file in &tree.files {
        let source = &file.source;
        let helper = if file.rel == WAIT_HELPER_FILE {
            helper_body(source)
        } else {
            None
        };
        for m in SLEEP.find_iter(source.code()) {
            let at = m.start();
            if !file.test_at(at)
                || helper.as_ref().is_some_and(|body| body.contains(&at))
                || is_definition(&source.code()[..at])
            {
                continue;
            }
            violations.push(Violation::new(
                file.rel.clone(),
                source.line(at),
                format!(
                    "a test sleeps: wait for the condition with {WAIT_HELPER} ({WAIT_HELPER_FILE})"
                ),
            ));
        }
    }
    violations
}

/// Whether the code before a `sleep(` ends in `fn`: a function named
/// like that being defined, not a call.
fn is_definition(before: &str) -> bool {
    before
        .trim_end()
        .strip_suffix("fn")
        .is_some_and(|rest| !rest.ends_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// The span of the body of `fn wait_until`, braces included.
fn helper_body(source: &Source) -> Option<Range<usize>> {
    static HELPER: LazyLock<Regex> = LazyLock::new(|| pattern(&format!(r"\bfn\s+{WAIT_HELPER}\b")));
    let code = source.code();
    let name = HELPER.find(code)?;
    let open = name.end() + code[name.end()..].find('{')?;
    let end = source.bracket_end(open)?;
    Some(open..end)
}

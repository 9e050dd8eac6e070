//! Regular expressions for scripts: `text.matches(pattern)` and
//! `text.captures(pattern)`.
//!
//! A hook runs many times with the same literal patterns, so each pattern is
//! compiled once and kept in a small process-wide cache. Patterns are
//! bounded twice: in length ([`MAX_PATTERN_LEN`]) and in the size of the
//! compiled program ([`MAX_COMPILED_SIZE`]), so a script cannot make the host
//! build a huge automaton. The `regex` crate matches in linear time, so no
//! input can make a match run away.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;
use regex::{Regex, RegexBuilder};
use rhai::{Array, Dynamic, FuncRegistration, Module};

use super::records::{RhaiResult, doc_lines, script_error};

/// The longest pattern a script may use, in bytes.
pub const MAX_PATTERN_LEN: usize = 1024;
/// The largest compiled pattern, in bytes (the `regex` crate's size limit).
const MAX_COMPILED_SIZE: usize = 1 << 20;
/// How many compiled patterns are kept; past it the cache starts over.
const CACHE_SIZE: usize = 256;

static CACHE: LazyLock<Mutex<HashMap<String, Arc<Regex>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The compiled `pattern`, from the cache when it was compiled before.
fn compiled(pattern: &str) -> RhaiResult<Arc<Regex>> {
    if let Some(re) = CACHE.lock().get(pattern) {
        return Ok(re.clone());
    }
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(script_error(format!(
            "the regular expression is {} bytes long; at most {MAX_PATTERN_LEN} are allowed",
            pattern.len()
        )));
    }
    let re = RegexBuilder::new(pattern)
        .size_limit(MAX_COMPILED_SIZE)
        .build()
        .map_err(|e| {
            let why = match e {
                regex::Error::CompiledTooBig(_) => {
                    "it compiles to more than 1 MiB; simplify it".to_owned()
                }
                other => other
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .to_owned(),
            };
            script_error(format!("invalid regular expression `{pattern}`: {why}"))
        })?;
    let re = Arc::new(re);
    let mut cache = CACHE.lock();
    if cache.len() >= CACHE_SIZE {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), re.clone());
    Ok(re)
}

/// Registers `matches` and `captures` into `module`.
pub fn register(module: &mut Module) {
    FuncRegistration::new("matches")
        .in_global_namespace()
        .with_params_info(["text: &str", "pattern: &str", "bool"])
        .with_comments([doc_lines(
            "Whether `pattern`, a regular expression (Rust `regex` syntax), matches somewhere in\n`text`; anchor it with `^...$` to match the whole text. `(?i)` ignores case. Patterns\nare compiled once and cached; at most 1024 bytes. An invalid pattern is an error.",
        )])
        .set_into_module(module, |text: &str, pattern: &str| -> RhaiResult<bool> {
            Ok(compiled(pattern)?.is_match(text))
        });

    FuncRegistration::new("captures")
        .in_global_namespace()
        .with_params_info(["text: &str", "pattern: &str", "?"])
        .with_comments([doc_lines(
            "The first match of `pattern` in `text`, as an array: the whole match, then each\ngroup (`()` for a group that took no part); `()` when nothing matches. Named groups\n(`(?<order>\\d+)`) are also in the array by position. Same patterns as `matches`.",
        )])
        .set_into_module(module, |text: &str, pattern: &str| -> RhaiResult<Dynamic> {
            let re = compiled(pattern)?;
            Ok(match re.captures(text) {
                None => Dynamic::UNIT,
                Some(caps) => caps
                    .iter()
                    .map(|g| g.map_or(Dynamic::UNIT, |m| m.as_str().to_owned().into()))
                    .collect::<Array>()
                    .into(),
            })
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_is_compiled_once_and_an_oversized_one_refused() {
        let first = compiled("^case-(\\d+)$").unwrap_or_else(|e| panic!("{e}"));
        let again = compiled("^case-(\\d+)$").unwrap_or_else(|e| panic!("{e}"));
        assert!(Arc::ptr_eq(&first, &again), "the second use hits the cache");
        let long = "a".repeat(MAX_PATTERN_LEN + 1);
        assert!(compiled(&long).is_err());
        // Short, but compiling to a huge program.
        let big = compiled("(\\w{100}){100}");
        assert!(
            big.as_ref()
                .err()
                .is_some_and(|e| e.to_string().contains("more than 1 MiB")),
            "{big:?}"
        );
    }
}

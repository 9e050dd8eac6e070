//! Turning Rhai's errors into the admin-facing [`Error::Script`]: file, line,
//! column, a plain message, and the offending source line with a caret.

use rhai::{EvalAltResult, ParseError, Position};

use super::api::{TIMEOUT_MARK, VETO_MARK};
use dossier_core::config::ScriptLimits;
use dossier_types::Error;

/// A script's name and text, for messages.
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

impl Source<'_> {
    /// An [`Error::Script`] at `pos` with `message`, quoting the source line.
    pub fn error(&self, pos: Position, message: impl Into<String>) -> Error {
        let line = pos.line().unwrap_or(0);
        let column = pos.position().unwrap_or(0);
        let mut message = message.into();
        if let Some(quote) = self.quote(line, column) {
            message.push('\n');
            message.push_str(&quote);
        }
        Error::Script {
            file: self.name.to_owned(),
            line,
            column,
            message,
        }
    }

    /// The source line `line` and a caret under `column`, both 1-based.
    fn quote(&self, line: usize, column: usize) -> Option<String> {
        let text = self.text.lines().nth(line.checked_sub(1)?)?;
        // Tabs become single spaces so that the caret lines up.
        let text: String = text
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .collect();
        let gutter = line.to_string();
        let pad = " ".repeat(gutter.len());
        let mut out = format!("{gutter} | {}", text.trim_end());
        if column > 0 {
            out.push_str(&format!("\n{pad} | {}^", " ".repeat(column - 1)));
        }
        Some(out)
    }

    /// A compile error.
    pub fn parse_error(&self, err: &ParseError) -> Error {
        self.error(err.position(), err.err_type().to_string())
    }

    /// A runtime error of hook `hook`. `limits` explain the sandbox errors.
    pub fn runtime_error(&self, err: &EvalAltResult, hook: &str, limits: &ScriptLimits) -> Error {
        let mut calls: Vec<(&str, usize)> = Vec::new();
        let mut inner = err;
        while let EvalAltResult::ErrorInFunctionCall(name, _, e, _) = inner {
            if name != hook {
                match calls.last_mut() {
                    Some((last, n)) if *last == name.as_str() => *n += 1,
                    _ => calls.push((name.as_str(), 1)),
                }
            }
            inner = e;
        }
        let what = describe(inner, limits);
        let mut context = format!("in {hook}");
        for (name, times) in &calls {
            context.push_str(&format!(" > {name}"));
            if *times > 1 {
                context.push_str(&format!(" (x{times})"));
            }
        }
        let mut pos = inner.position();
        if pos.is_none() {
            // Sandbox limits stop a script between operations, without a
            // position: point at the function that was running.
            let function = calls.last().map_or(hook, |(name, _)| name);
            let line = super::find_fn_line(self.text, function);
            if line > 0 {
                pos = Position::new(line, 1);
            }
        }
        self.error(pos, format!("{what} ({context})"))
    }
}

/// The deepest position of an error (inside nested function calls).
pub fn innermost_position(err: &EvalAltResult) -> Position {
    err.unwrap_inner().position()
}

/// Plain words for one error, naming the limit when a sandbox limit stopped it.
fn describe(err: &EvalAltResult, limits: &ScriptLimits) -> String {
    match err {
        EvalAltResult::ErrorTooManyOperations(_) => format!(
            "the hook ran more than {} operations and was stopped ([scripts.limits] max_operations); is there an endless loop?",
            limits.max_operations
        ),
        EvalAltResult::ErrorStackOverflow(_) => format!(
            "function calls nested deeper than {} ([scripts.limits] max_call_depth); is there runaway recursion?",
            limits.max_call_depth
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => {
            let limit = match what.as_str() {
                w if w.contains("string") || w.contains("String") => {
                    format!("max_string_size = {} bytes", limits.max_string_size)
                }
                w if w.contains("rray") => {
                    format!("max_array_size = {}", limits.max_array_size)
                }
                w if w.contains("ap") => format!("max_map_size = {}", limits.max_map_size),
                _ => "a size limit".to_owned(),
            };
            format!("{what} grew past the sandbox limit ([scripts.limits] {limit})")
        }
        EvalAltResult::ErrorTerminated(mark, _) if mark.to_string() == TIMEOUT_MARK => format!(
            "the hook ran longer than {} ms and was stopped {}",
            limits.timeout_ms,
            dossier_types::SCRIPT_TIMEOUT
        ),
        EvalAltResult::ErrorTerminated(mark, _) if mark.to_string() == VETO_MARK => {
            "the hook was stopped".to_owned()
        }
        EvalAltResult::ErrorFunctionNotFound(sig, _) => {
            format!("unknown function or wrong argument types: {sig}")
        }
        EvalAltResult::ErrorRuntime(value, _) => value.to_string(),
        other => strip_position(&other.to_string()).to_owned(),
    }
}

/// Rhai's messages end with ` (line 3, position 7)`; the rendering shows the
/// position already.
fn strip_position(message: &str) -> &str {
    match message.rfind(" (line ") {
        Some(i) if message.ends_with(')') => &message[..i],
        _ => message,
    }
}

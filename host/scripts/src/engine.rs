//! The sandboxed engine: a raw Rhai engine with only the language packages
//! scripts need, Dossier's own functions and types, and the limits from
//! `[scripts.limits]`.

use std::time::Instant;

use rhai::packages::{
    BasicArrayPackage, BasicMapPackage, BasicMathPackage, CorePackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{Dynamic, Engine, Module};

use super::api::{self, TIMEOUT_MARK};
use super::context;
use super::records;
use super::{lookup, patterns, payload};
use dossier_core::config::ScriptLimits;

/// How often (in operations) the wall-clock deadline is checked. Reading the
/// clock (about 20 ns) on every operation would double the cost of the
/// cheapest ones; every 16th keeps that under a nanosecond per operation
/// while a hook overruns `timeout_ms` by at most 15 operations.
const CLOCK_CHECK_EVERY: u64 = 16;

/// Builds the engine. No file, network or process access exists in it: the
/// packages loaded have none, `eval` and `import` are disabled, and there is
/// no module resolver.
pub fn build(limits: &ScriptLimits) -> Engine {
    let mut engine = Engine::new_raw();
    // One module holds the language packages and Dossier's own functions:
    // Rhai looks a function up in each global module in turn, afresh on
    // every hook call, so one module is one lookup instead of up to seven.
    // Dossier's functions come last and win a name clash, as when they were
    // a module of their own registered after the packages.
    let mut all = Module::new();
    CorePackage::init(&mut all);
    LogicPackage::init(&mut all);
    BasicArrayPackage::init(&mut all);
    BasicMapPackage::init(&mut all);
    MoreStringPackage::init(&mut all);
    BasicMathPackage::init(&mut all);
    all.combine_flatten(dossier_module());
    // Rhai's packages list their functions in manifests searched one by
    // one (hashing each entry) on every lookup that reaches them; put them
    // all in the module's hash table once, here.
    all.register_lazy_functions();
    all.build_index();
    engine.register_global_module(all.into());

    engine.disable_symbol("eval");
    engine.disable_symbol("import");
    engine.disable_symbol("export");
    engine.set_strict_variables(true);

    engine.set_max_operations(nonzero(limits.max_operations));
    engine.set_max_call_levels(limits.max_call_depth);
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth);
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);

    engine.on_progress(|ops| {
        if ops % CLOCK_CHECK_EVERY == 0
            && let Some(deadline) = context::deadline()
            && Instant::now() >= deadline
        {
            return Some(Dynamic::from(TIMEOUT_MARK.to_owned()));
        }
        None
    });
    engine.on_print(|text| emit(text, None));
    engine.on_debug(|text, _, pos| emit(text, Some(pos.line().unwrap_or(0))));
    engine
}

/// An engine that only parses: the same language and symbols as [`build`]'s,
/// no optimization, for checks that need the script as written.
pub fn parse_only() -> Engine {
    let mut engine = Engine::new_raw();
    engine.disable_symbol("eval");
    engine.disable_symbol("import");
    engine.disable_symbol("export");
    // Not strict: a hook using a top-level constant must reach the
    // top-level check, which says what to do, rather than fail here.
    engine.set_optimization_level(rhai::OptimizationLevel::None);
    engine
}

/// `0` in the config would mean "unlimited" to Rhai; keep a floor instead.
fn nonzero(ops: u64) -> u64 {
    ops.max(1)
}

/// The `tracing` target of script output, whatever module emits it.
const LOG_TARGET: &str = "dossier_host::script";

/// Script output (`print`, or `debug` with its `line`): collected by
/// `dossier script test`, else an `info` event naming the script and hook,
/// so an admin can find it in the service log.
fn emit(text: &str, line: Option<usize>) {
    if context::capturing() {
        context::capture_print(match line {
            Some(line) => format!("{text} (line {line})"),
            None => text.to_owned(),
        });
        return;
    }
    match (context::current_script(), line) {
        (Some((s, hook)), None) => {
            tracing::info!(target: LOG_TARGET, script = s.name.as_str(), hook, "{text}");
        }
        (Some((s, hook)), Some(line)) => {
            tracing::info!(target: LOG_TARGET, script = s.name.as_str(), hook, line, "{text}");
        }
        (None, None) => tracing::info!(target: LOG_TARGET, "{text}"),
        (None, Some(line)) => tracing::info!(target: LOG_TARGET, line, "{text}"),
    }
}

/// Dossier's types and functions, in one module so the reference can be
/// generated from it.
pub fn dossier_module() -> Module {
    let mut module = Module::new();
    module.set_doc(
        "//! Functions and types Dossier gives admin scripts, on top of the Rhai language.",
    );
    records::register(&mut module);
    api::register(&mut module);
    lookup::register(&mut module);
    payload::register(&mut module);
    patterns::register(&mut module);
    module.build_index();
    module
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hook past its deadline stops within [`CLOCK_CHECK_EVERY`]
    /// operations: each turn of this loop prints once and takes several
    /// operations, so fewer prints than that prove the bound (512 between
    /// checks let about 170 through).
    #[test]
    fn a_passed_deadline_stops_a_hook_within_the_clock_check_interval() {
        let engine = build(&ScriptLimits::default());
        let outer = context::replace_deadline(Some(Instant::now()));
        let capture = context::start_capture();
        let result = engine.run("let n = 0; loop { n += 1; print(n); }");
        let printed = context::finish_capture(capture).printed;
        context::replace_deadline(outer);
        let err = result.expect_err("the loop never ends by itself");
        assert!(
            matches!(*err, rhai::EvalAltResult::ErrorTerminated(..)),
            "{err:?}"
        );
        assert!(
            printed.len() < CLOCK_CHECK_EVERY as usize,
            "{} turns ran past the deadline",
            printed.len()
        );
    }
}

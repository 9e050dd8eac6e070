//! The admin's Rhai scripts: one sandboxed engine, scripts compiled once and
//! recompiled when their file changes, and the [`Handler`] that runs their
//! hooks for every [`Event`].
//!
//! A script handles an event by defining a function named after it
//! ([`Event::hook_name`]): `before_save_case(c)`, `on_screen_pop(pop)`, ...
//! Record events pass typed record handles (see [`records`]); the other
//! events pass [`payload::Payload`] maps the hook may change, read back
//! into the event afterwards. Scripts run in `[scripts] files` order; the first veto or
//! error stops the chain.
//!
//! Invariants:
//! - A script that fails to compile never replaces one that works.
//! - Only function definitions are allowed at the top level, so calling a
//!   hook never runs other code; scripts keep no state between calls.
//! - The engine has no file, network, process, `eval` or module access.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod check;
mod context;
mod convert;
mod docs;
mod dry_run;
mod engine;
mod errors;
mod lookup;
mod patterns;
mod payload;
mod records;
mod shapes;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use dossier_sdk::{Event, ObjectKind, Outcome, Record, SaveOp};
use parking_lot::{Mutex, RwLock};
use rhai::{AST, CallFnOptions, Dynamic, Engine, Scope};
use serde::Serialize;
use serde::de::DeserializeOwned;

use dossier_core::config::{Config, ScriptLimits};
use dossier_core::events::{Ctx, HOOKS, Handler, hook_index};
use dossier_types::{Error, Result};

use context::Frame;
use errors::Source;
use records::{Access, Prior, Rec, ScriptRecord};

pub use docs::{definitions, hook_table_markdown, input_table_markdown, reference_markdown};
pub use dry_run::{DryRun, DryRunOutcome};

/// The file state a compiled script was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
    })
}

/// One compiled script.
pub struct LoadedScript {
    /// The file on disk.
    path: PathBuf,
    /// The name shown to admins: the path as configured (`scripts/tier.rhai`).
    name: String,
    text: String,
    ast: AST,
    /// Bit `i` set when the script defines `HOOKS[i]`.
    hooks: u32,
    /// `"<name> (<hook>)"` for each hook, in [`HOOKS`] order: what the
    /// script's writes are marked with.
    running: Vec<Arc<str>>,
    warnings: Vec<String>,
    stamp: Option<Stamp>,
}

impl LoadedScript {
    fn source(&self) -> Source<'_> {
        Source {
            name: &self.name,
            text: &self.text,
        }
    }

    fn defines(&self, hook: usize) -> bool {
        self.hooks & (1 << hook) != 0
    }
}

/// What one script defines, as `dossier script check` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptSummary {
    /// The script's name (its path as configured).
    pub name: String,
    /// The hooks it defines, in [`HOOKS`] order.
    pub hooks: Vec<&'static str>,
    /// Things that compile but are probably mistakes.
    pub warnings: Vec<String>,
}

/// The result of compiling every configured script.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Scripts that compiled.
    pub scripts: Vec<ScriptSummary>,
    /// One error per script that did not, with its position.
    pub errors: Vec<Error>,
    /// Mistakes found by walking the scripts that compiled (an unknown
    /// function, property, custom field or hook name), each an
    /// [`Error::Script`] with its position and a "did you mean" when a
    /// known name is close.
    pub findings: Vec<Error>,
}

/// What a reload did.
#[derive(Debug, Default)]
pub struct ReloadReport {
    /// Scripts compiled anew (changed or added files).
    pub reloaded: Vec<String>,
    /// Scripts dropped because their file went away.
    pub removed: Vec<String>,
    /// Scripts that failed to compile; the previous version (if any) stays in use.
    pub errors: Vec<Error>,
}

impl ReloadReport {
    /// Whether nothing changed and nothing failed.
    pub fn is_empty(&self) -> bool {
        self.reloaded.is_empty() && self.removed.is_empty() && self.errors.is_empty()
    }
}

/// The admin's scripts and the engine that runs them: the script
/// [`Handler`] of a `Host`.
pub struct Scripts {
    engine: Engine,
    /// The same language without optimization, to see the top level of a
    /// script as written: the optimizer drops a top-level `const`, which
    /// then fails as an undefined variable where a hook uses it.
    parse_only: Engine,
    limits: ScriptLimits,
    /// Where scripts come from: the configured directory and file list.
    dir: PathBuf,
    dir_name: PathBuf,
    /// Whether a missing `dir` is an error rather than "no scripts".
    dir_must_exist: bool,
    files: Vec<PathBuf>,
    loaded: RwLock<Arc<Vec<Arc<LoadedScript>>>>,
    /// Union of every loaded script's hook mask, for a lock-free `handles`.
    mask: AtomicU32,
    /// Serializes reloads.
    reloading: Mutex<()>,
}

impl std::fmt::Debug for Scripts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.loaded.read().iter().map(|s| s.name.clone()).collect();
        f.debug_struct("Scripts")
            .field("dir", &self.dir)
            .field("loaded", &names)
            .finish_non_exhaustive()
    }
}

impl Scripts {
    /// Compiles the scripts `config` names. `Ok(None)` when scripts are
    /// disabled; the first compile error otherwise.
    pub fn from_config(config: &Config) -> Result<Option<Scripts>> {
        if !config.scripts.enabled {
            return Ok(None);
        }
        let scripts = Scripts::unloaded(config);
        let report = scripts.reload_all()?;
        match report.errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(Some(scripts)),
        }
    }

    fn unloaded(config: &Config) -> Scripts {
        let cfg = &config.scripts;
        Scripts {
            engine: engine::build(&cfg.limits),
            parse_only: engine::parse_only(),
            limits: cfg.limits.clone(),
            dir: config.resolve(&cfg.dir),
            dir_name: cfg.dir.clone(),
            dir_must_exist: cfg.dir_must_exist(),
            files: cfg.files.clone(),
            loaded: RwLock::new(Arc::new(Vec::new())),
            mask: AtomicU32::new(0),
            reloading: Mutex::new(()),
        }
    }

    /// Compiles every configured script without loading any, reporting each
    /// error with its position: `dossier script check`.
    pub fn check(config: &Config) -> Result<CheckReport> {
        let scripts = Scripts::unloaded(config);
        let schema = dossier_types::schema::Schema::from_config(
            &config.fields,
            &config.phone.default_region,
        )?;
        let known = check::Known::from_engine(&scripts.engine);
        let mut report = CheckReport::default();
        for (path, name) in scripts.paths()? {
            match scripts.compile(&path, name) {
                Ok(s) => {
                    let found = check::check(&s.ast, &known, &schema, |f| find_fn_line(&s.text, f));
                    let mut summary = s.summary();
                    // A misspelt hook is reported once: as a finding, with
                    // its position, rather than also as the load warning.
                    summary.warnings.retain(|w| {
                        !found
                            .iter()
                            .filter_map(|f| f.misspelt_hook.as_deref())
                            .any(|name| w.starts_with(&format!("`{name}` ")))
                    });
                    report.scripts.push(summary);
                    report.findings.extend(
                        found
                            .into_iter()
                            .map(|f| s.source().error(f.pos, f.message)),
                    );
                }
                Err(e) => report.errors.push(e),
            }
        }
        Ok(report)
    }

    /// The script files to load, in order, with their display names.
    fn paths(&self) -> Result<Vec<(PathBuf, String)>> {
        let display = |rel: &Path| self.dir_name.join(rel).display().to_string();
        if !self.files.is_empty() {
            return Ok(self
                .files
                .iter()
                .map(|f| (self.dir.join(f), display(f)))
                .collect());
        }
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !self.dir_must_exist => {
                return Ok(Vec::new());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Config(format!(
                    "[scripts] dir `{}` names no folder ({} does not exist): correct the path, \
                     or create the folder",
                    self.dir_name.display(),
                    self.dir.display()
                )));
            }
            Err(source) => {
                return Err(Error::Io {
                    what: "cannot list scripts in",
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| PathBuf::from(e.file_name()))
            .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
            .collect();
        names.sort();
        Ok(names
            .into_iter()
            .map(|f| (self.dir.join(&f), display(&f)))
            .collect())
    }

    fn compile(&self, path: &Path, name: String) -> Result<LoadedScript> {
        let stamp = stamp(path);
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            what: "cannot read script",
            path: path.to_owned(),
            source,
        })?;
        let source = Source {
            name: &name,
            text: &text,
        };
        // The script as written first: a top-level `const` or `let` must be
        // refused as top-level code, not reported where a hook uses it.
        if let Ok(as_written) = self.parse_only.compile(&text)
            && let Some(stmt) = as_written.statements().first()
        {
            return Err(source.error(
                stmt.position(),
                "only `fn` definitions are allowed at the top level of a script: put this code inside a hook function",
            ));
        }
        let mut ast = self
            .engine
            .compile(&text)
            .map_err(|e| source.parse_error(&e))?;
        ast.set_source(name.as_str());
        if let Some(stmt) = ast.statements().first() {
            return Err(source.error(
                stmt.position(),
                "only `fn` definitions are allowed at the top level of a script: put this code inside a hook function",
            ));
        }
        let mut hooks = 0u32;
        let mut warnings = Vec::new();
        for f in ast.iter_functions() {
            match HOOKS.iter().position(|h| *h == f.name) {
                Some(i) => {
                    if f.params.len() != 1 {
                        let line = find_fn_line(&text, f.name);
                        return Err(source.error(
                            rhai::Position::new(line, 1),
                            format!(
                                "hook `{}` must take exactly one parameter, not {}",
                                f.name,
                                f.params.len()
                            ),
                        ));
                    }
                    hooks |= 1 << i;
                }
                None if f.name.starts_with("before_save_")
                    || f.name.starts_with("after_save_")
                    || (f.name.starts_with("on_") && f.params.len() == 1) =>
                {
                    warnings.push(format!(
                        "`{}` looks like a hook but is not one, so it never runs (hooks: {})",
                        f.name,
                        HOOKS.join(", ")
                    ));
                }
                None => {}
            }
        }
        let running = HOOKS
            .iter()
            .map(|hook| Arc::from(format!("{name} ({hook})")))
            .collect();
        Ok(LoadedScript {
            path: path.to_owned(),
            name,
            text,
            ast,
            hooks,
            running,
            warnings,
            stamp,
        })
    }

    /// Recompiles every script.
    fn reload_all(&self) -> Result<ReloadReport> {
        self.reload_with(|_, _| true)
    }

    /// Recompiles the scripts whose files changed since they were compiled;
    /// picks up added files and drops removed ones. Cheap when nothing
    /// changed: one `stat` per script.
    pub fn reload_if_changed(&self) -> Result<ReloadReport> {
        self.reload_with(|old, path| old.is_none_or(|s| s.stamp != stamp(path)))
    }

    /// Recompiles every script now.
    pub fn reload(&self) -> Result<ReloadReport> {
        self.reload_all()
    }

    fn reload_with(
        &self,
        stale: impl Fn(Option<&LoadedScript>, &Path) -> bool,
    ) -> Result<ReloadReport> {
        let _serial = self.reloading.lock();
        let current = self.loaded.read().clone();
        let mut report = ReloadReport::default();
        let mut next = Vec::new();
        let paths = self.paths()?;
        for (path, name) in &paths {
            let old = current.iter().find(|s| &s.path == path);
            if !stale(old.map(|s| s.as_ref()), path) {
                if let Some(old) = old {
                    next.push(old.clone());
                }
                continue;
            }
            match self.compile(path, name.clone()) {
                Ok(s) => {
                    report.reloaded.push(s.name.clone());
                    next.push(Arc::new(s));
                }
                Err(e) => {
                    report.errors.push(e);
                    if let Some(old) = old {
                        next.push(old.clone());
                    }
                }
            }
        }
        for old in current.iter() {
            if !paths.iter().any(|(p, _)| p == &old.path) {
                report.removed.push(old.name.clone());
            }
        }
        let changed = !report.reloaded.is_empty() || !report.removed.is_empty();
        if changed {
            let mask = next.iter().fold(0, |m, s| m | s.hooks);
            *self.loaded.write() = Arc::new(next);
            self.mask.store(mask, Ordering::Release);
        }
        Ok(report)
    }

    /// What each loaded script defines, in run order.
    pub fn summaries(&self) -> Vec<ScriptSummary> {
        self.loaded.read().iter().map(|s| s.summary()).collect()
    }

    /// Whether any loaded script defines the hook named `hook`.
    pub fn defines(&self, hook: &str) -> bool {
        HOOKS
            .iter()
            .position(|h| *h == hook)
            .is_some_and(|i| self.mask.load(Ordering::Acquire) & (1 << i) != 0)
    }

    /// The sandbox limits in force.
    pub fn limits(&self) -> &ScriptLimits {
        &self.limits
    }

    fn snapshot(&self) -> Arc<Vec<Arc<LoadedScript>>> {
        self.loaded.read().clone()
    }

    /// Calls hook `HOOKS[index]` of `script` with `arg`; a veto comes back
    /// as `Ok(Some)`.
    fn call(
        &self,
        ctx: &Ctx,
        script: &Arc<LoadedScript>,
        index: usize,
        arg: Dynamic,
    ) -> Result<Option<String>> {
        let hook = HOOKS[index];
        let deadline = (self.limits.timeout_ms > 0)
            .then(|| Instant::now() + Duration::from_millis(self.limits.timeout_ms));
        // Writes this script makes name it (not just "scripts") in their chain.
        let outer = ctx.set_running(script.running.get(index).cloned());
        let guard = context::enter(
            Frame {
                script: script.clone(),
                hook,
                veto: None,
                invalid: None,
                failure: None,
            },
            deadline,
        );
        let mut scope = Scope::new();
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        let result = self.engine.call_fn_with_options::<Dynamic>(
            options,
            &mut scope,
            &script.ast,
            hook,
            (arg,),
        );
        let context::Ending {
            veto,
            invalid,
            failure,
        } = guard.finish();
        ctx.set_running(outer);
        if let Some(message) = veto {
            return Ok(Some(message));
        }
        if let Some((field, rule)) = invalid {
            // `invalid` is only accepted in `before_save_<object>` hooks.
            let object = ObjectKind::ALL
                .into_iter()
                .find(|o| hook.strip_prefix("before_save_") == Some(o.as_str()));
            if let Some(object) = object {
                return Err(Error::Validation {
                    object,
                    field,
                    rule,
                });
            }
        }
        let source = script.source();
        if let Some(failure) = failure {
            let pos = match &result {
                Err(e) => errors::innermost_position(e),
                Ok(_) => rhai::Position::NONE,
            };
            return Err(match failure {
                // Already names its origin; a nested write's veto or the
                // chain cap must reach the admin as they are.
                Error::Vetoed { .. } | Error::Script { .. } | Error::ChainTooDeep { .. } => failure,
                other => source.error(pos, format!("{other} (in {hook})")),
            });
        }
        match result {
            Ok(_) => Ok(None),
            Err(e) => Err(source.runtime_error(&e, hook, &self.limits)),
        }
    }

    /// Runs every script's hook for `event`, in order.
    fn run(&self, ctx: &Ctx, event: &mut Event) -> Result<Option<(String, String)>> {
        let index = hook_index(event);
        let scripts: Vec<Arc<LoadedScript>> = self
            .snapshot()
            .iter()
            .filter(|s| s.defines(index))
            .cloned()
            .collect();
        if scripts.is_empty() {
            return Ok(None);
        }
        match event {
            Event::BeforeSave(e) | Event::AfterSave(e) => {
                let access = |is_new| {
                    if index < 4 {
                        Access::Saving { is_new }
                    } else {
                        Access::ReadOnly { is_new }
                    }
                };
                let is_new = e.op == SaveOp::Create;
                let before = index < 4;
                let changed = &e.changed;
                let record = std::mem::replace(&mut e.record, placeholder());
                let (record, veto) = match record {
                    Record::Customer(r) => {
                        let prior = prior(before, is_new, changed);
                        self.run_record(ctx, &scripts, index, r, access(is_new), prior)
                    }
                    Record::Case(r) => {
                        let prior = prior(before, is_new, changed);
                        self.run_record(ctx, &scripts, index, r, access(is_new), prior)
                    }
                    Record::FollowUp(r) => {
                        let prior = prior(before, is_new, changed);
                        self.run_record(ctx, &scripts, index, r, access(is_new), prior)
                    }
                    Record::Task(r) => {
                        let prior = prior(before, is_new, changed);
                        self.run_record(ctx, &scripts, index, r, access(is_new), prior)
                    }
                };
                e.record = record;
                veto
            }
            Event::ScreenPop(v) => self.run_map(ctx, &scripts, index, v),
            Event::Disposition(v) => self.run_map(ctx, &scripts, index, v),
            Event::Notification(v) => self.run_map(ctx, &scripts, index, v),
            Event::EmailReceived(v) => self.run_map(ctx, &scripts, index, v),
            Event::EmailHeld(v) => self.run_map(ctx, &scripts, index, v),
            Event::ChatOffered(v) | Event::ChatEnded(v) => self.run_map(ctx, &scripts, index, v),
            Event::TaskReminder(v) => self.run_map(ctx, &scripts, index, v),
            Event::DirectoryChanged(v) => self.run_map(ctx, &scripts, index, v),
        }
    }

    /// Runs record hook `HOOKS[index]`; always hands the record back
    /// (changed or not) so the event stays whole even on error.
    fn run_record<T: ScriptRecord>(
        &self,
        ctx: &Ctx,
        scripts: &[Arc<LoadedScript>],
        index: usize,
        record: T,
        access: Access,
        prior: Prior<T>,
    ) -> (Record, Result<Option<(String, String)>>) {
        let handle = Rec::with_prior(record, access, prior);
        let mut outcome = Ok(None);
        for script in scripts {
            match self.call(ctx, script, index, Dynamic::from(handle.clone())) {
                Ok(None) => {}
                Ok(Some(message)) => {
                    outcome = Ok(Some((script.name.clone(), message)));
                    break;
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        (handle.into_inner().into_record(), outcome)
    }

    /// Runs hook `HOOKS[index]`, which receives the event as an object map,
    /// then reads the map back into `value`. The map also carries the
    /// deprecated `case` key beside each `case_number` (see
    /// [`convert::add_deprecated_keys`]).
    fn run_map<T: Serialize + DeserializeOwned>(
        &self,
        ctx: &Ctx,
        scripts: &[Arc<LoadedScript>],
        index: usize,
        value: &mut T,
    ) -> Result<Option<(String, String)>> {
        let hook = HOOKS[index];
        for script in scripts {
            let mut map = rhai::serde::to_dynamic(&*value).map_err(|e| {
                script.source().error(
                    rhai::Position::NONE,
                    format!("cannot pass the event to {hook}: {e}"),
                )
            })?;
            convert::add_deprecated_keys(&mut map);
            let before = map.clone();
            let handle = payload::Payload::root(map, hook.trim_start_matches("on_"));
            if let Some(message) = self.call(ctx, script, index, Dynamic::from(handle.clone()))? {
                return Ok(Some((script.name.clone(), message)));
            }
            let mut after = handle.into_value();
            convert::fold_deprecated_keys(&mut after, Some(&before));
            *value = rhai::serde::from_dynamic::<T>(&after).map_err(|e| {
                let hook_line = find_fn_line(&script.text, hook);
                let (pos, why) = match payload::diagnose::<T>(&before, &after) {
                    Some((key, why)) => {
                        let pos =
                            payload::assignment_position(&script.text, hook_line.into(), &key)
                                .and_then(|(l, c)| {
                                    Some(rhai::Position::new(
                                        u16::try_from(l).ok()?,
                                        u16::try_from(c).ok()?,
                                    ))
                                })
                                .unwrap_or(rhai::Position::new(hook_line, 1));
                        (pos, why)
                    }
                    None => (rhai::Position::new(hook_line, 1), e.to_string()),
                };
                script
                    .source()
                    .error(pos, format!("{hook} left its argument malformed: {why}"))
            })?;
        }
        Ok(None)
    }
}

/// What a record hook may learn about the record before the save: the
/// stored version for a `before_save_*` of an update (read when a script
/// asks), the event's changed fields for an `after_save_*`.
fn prior<T>(before: bool, is_new: bool, changed: &[String]) -> Prior<T> {
    match (before, is_new) {
        (true, false) => Prior::Stored(std::sync::OnceLock::new()),
        (true, true) => Prior::None,
        (false, _) => Prior::Listed(changed.to_vec()),
    }
}

/// A record that allocates nothing, left in an event while hooks hold the real one.
fn placeholder() -> Record {
    Record::Customer(dossier_sdk::Customer {
        id: dossier_sdk::CustomerId(0),
        account: String::new(),
        name: String::new(),
        address: dossier_sdk::Address::default(),
        phones: Vec::new(),
        emails: Vec::new(),
        custom: dossier_sdk::CustomFields::new(),
        created_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
        updated_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
    })
}

/// The line of `fn name` in `text` (1-based), 0 if not found.
fn find_fn_line(text: &str, name: &str) -> u16 {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix("fn ")
                .or_else(|| l.strip_prefix("private fn "))
                .is_some_and(|rest| {
                    rest.trim_start()
                        .strip_prefix(name)
                        .is_some_and(|r| r.trim_start().starts_with('('))
                })
        })
        .map(|i| u16::try_from(i + 1).unwrap_or(u16::MAX))
        .unwrap_or(0)
}

impl LoadedScript {
    fn summary(&self) -> ScriptSummary {
        ScriptSummary {
            name: self.name.clone(),
            hooks: HOOKS
                .iter()
                .enumerate()
                .filter(|(i, _)| self.defines(*i))
                .map(|(_, h)| *h)
                .collect(),
            warnings: self.warnings.clone(),
        }
    }
}

impl Handler for Scripts {
    fn name(&self) -> &str {
        "scripts"
    }

    fn handles(&self, event: &Event) -> bool {
        self.mask.load(Ordering::Acquire) & (1 << hook_index(event)) != 0
    }

    fn handle(&self, ctx: &mut Ctx, event: &mut Event) -> Result<Outcome> {
        match self.run(ctx, event)? {
            None => Ok(Outcome::Continue),
            // The pipeline would attribute an `Outcome::Veto` to this
            // handler as a whole; the admin needs the script file.
            Some((by, message)) => Err(Error::Vetoed { by, message }),
        }
    }
}

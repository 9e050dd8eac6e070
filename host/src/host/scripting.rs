//! The facade's script operations: reloads and `dossier script test`.

use serde_json::Value;

use super::Host;
use crate::script::{DryRun, ReloadReport};
use dossier_types::{Error, Result};

impl Host {
    /// Recompiles every script now. A script that fails to compile keeps
    /// its previous version running; its error is in the report.
    pub fn reload_scripts(&self) -> Result<ReloadReport> {
        match self.scripts() {
            Some(s) => s.reload(),
            None => Ok(ReloadReport::default()),
        }
    }

    /// Recompiles scripts whose files changed (one `stat` per script when
    /// nothing did): what long-running modes call between iterations.
    pub fn reload_scripts_if_changed(&self) -> Result<ReloadReport> {
        match self.scripts() {
            Some(s) => s.reload_if_changed(),
            None => Ok(ReloadReport::default()),
        }
    }

    /// Runs every script's `hook` on `input` inside a transaction that is
    /// rolled back: nothing is committed, whatever the hook does.
    ///
    /// `input` is the event data for the hook: for record hooks the record
    /// (unset standard fields get defaults, custom fields may be plain JSON
    /// values), optionally wrapped as `{"op": "update", "record": {...}}`;
    /// for the other hooks the event's fields (`ScreenPop`, `Disposition`,
    /// ...). A whole event (`{"event": "screen_pop", "data": {...}}`) is
    /// accepted too.
    pub fn test_hook(&self, hook: &str, input: &Value) -> Result<DryRun> {
        let scripts = self.scripts().ok_or_else(|| {
            Error::Refused("scripts are disabled ([scripts] enabled = false)".into())
        })?;
        scripts.test_hook(self.runtime(), hook, input)
    }
}

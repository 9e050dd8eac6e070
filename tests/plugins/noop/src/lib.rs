//! A plugin that handles `before_save` and does nothing: the benchmark's
//! subject, and the cheapest well-behaved plugin for tests.

use dossier_sdk::prelude::*;

/// The plugin: no state.
struct Noop;

impl Plugin for Noop {
    const EVENTS: &'static [EventKind] = &[EventKind::BeforeSave, EventKind::AfterSave];
    const THREAD_SAFE: bool = true;

    fn new(_config: dossier_sdk::serde_json::Value, _host: HostApi) -> Result<Self> {
        Ok(Noop)
    }
}

declare_plugin!(Noop, name = "noop");

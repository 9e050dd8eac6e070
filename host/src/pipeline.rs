//! The event pipeline: built-in behaviour, then scripts, then plugins.
//!
//! The host fires an [`Event`] at each interesting moment. [`Pipeline::run`]
//! hands it to every registered [`Handler`] in order; a handler may change the
//! event in place or veto it. A veto or an error stops the pipeline; for
//! guarding events the caller is inside the write's transaction, so the
//! error rolls the write back.

use std::sync::Arc;

use dossier_sdk::{Event, Outcome};
use parking_lot::RwLock;

use crate::Host;
use crate::error::{Error, Result};

/// Something that handles events: the admin's scripts, one native plugin.
pub trait Handler: Send + Sync {
    /// The name shown in errors and logs (script directory, plugin name).
    fn name(&self) -> &str;

    /// Whether this handler wants `event` at all. Called before [`handle`]
    /// so that an event nobody handles costs no serialization.
    ///
    /// [`handle`]: Handler::handle
    fn handles(&self, event: &Event) -> bool;

    /// Handles `event`, possibly changing it. `Ok(Outcome::Veto(msg))` stops
    /// the pipeline and is reported as vetoed by [`name`](Handler::name); an
    /// error stops it too. `host` is the host firing the event: during a
    /// guarding event its writes join the guarded transaction.
    fn handle(&self, host: &Host, event: &mut Event) -> Result<Outcome>;
}

/// The ordered handlers of one host.
#[derive(Default)]
pub(crate) struct Pipeline {
    /// Scripts come first, then plugins in config order.
    scripts: RwLock<Option<Arc<dyn Handler>>>,
    plugins: RwLock<Vec<Arc<dyn Handler>>>,
}

impl Pipeline {
    pub(crate) fn set_scripts(&self, handler: Option<Arc<dyn Handler>>) {
        *self.scripts.write() = handler;
    }

    pub(crate) fn set_plugins(&self, handlers: Vec<Arc<dyn Handler>>) {
        *self.plugins.write() = handlers;
    }

    /// Runs every handler on `event` in order; the first veto or error wins.
    pub(crate) fn run(&self, host: &Host, event: &mut Event) -> Result<()> {
        let scripts = self.scripts.read().clone();
        let plugins = self.plugins.read().clone();
        for handler in scripts.iter().chain(plugins.iter()) {
            if !handler.handles(event) {
                continue;
            }
            match handler.handle(host, event)? {
                Outcome::Continue => {}
                Outcome::Veto(message) => {
                    return Err(Error::Vetoed {
                        by: handler.name().to_owned(),
                        message,
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether any handler wants `event`.
    pub(crate) fn any_handles(&self, event: &Event) -> bool {
        let scripts = self.scripts.read();
        let plugins = self.plugins.read();
        scripts
            .iter()
            .chain(plugins.iter())
            .any(|h| h.handles(event))
    }

    /// Whether any handler is registered.
    pub(crate) fn is_empty(&self) -> bool {
        self.scripts.read().is_none() && self.plugins.read().is_empty()
    }
}

//! A plugin that panics in every handler (and in `new` when its config says
//! `panic_in_new = true`): the host must catch it and stay up.

use dossier_sdk::prelude::*;

/// The plugin: no state.
struct Panicky;

impl Plugin for Panicky {
    const EVENTS: &'static [EventKind] = &EventKind::ALL;

    fn new(config: dossier_sdk::serde_json::Value, _host: HostApi) -> Result<Self> {
        if config.get("panic_in_new").and_then(|v| v.as_bool()) == Some(true) {
            panic!("panicky plugin panics in new");
        }
        Ok(Panicky)
    }

    fn before_save(&self, _: &mut SaveEvent) -> Result<Outcome> {
        panic!("panicky plugin panics in before_save")
    }
    fn after_save(&self, _: &mut SaveEvent) -> Result<Outcome> {
        panic!("panicky plugin panics in after_save")
    }
    fn screen_pop(&self, _: &mut ScreenPop) -> Result<Outcome> {
        panic!("panicky plugin panics in screen_pop")
    }
    fn disposition(&self, _: &mut Disposition) -> Result<Outcome> {
        panic!("panicky plugin panics in disposition")
    }
    fn notification(&self, _: &mut Notification) -> Result<Outcome> {
        panic!("panicky plugin panics in notification")
    }
    fn email_received(&self, _: &mut EmailReceived) -> Result<Outcome> {
        panic!("panicky plugin panics in email_received")
    }
    fn email_held(&self, _: &mut EmailHeld) -> Result<Outcome> {
        panic!("panicky plugin panics in email_held")
    }
    fn chat_offered(&self, _: &mut ChatEvent) -> Result<Outcome> {
        panic!("panicky plugin panics in chat_offered")
    }
    fn chat_ended(&self, _: &mut ChatEvent) -> Result<Outcome> {
        panic!("panicky plugin panics in chat_ended")
    }
    fn task_reminder(&self, _: &mut TaskReminder) -> Result<Outcome> {
        panic!("panicky plugin panics in task_reminder")
    }
}

declare_plugin!(Panicky, name = "panicky");

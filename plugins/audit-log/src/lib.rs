//! The `audit-log` plugin: appends every change to a JSON-lines file.
//!
//! Each handled event becomes one line: when it was logged, who caused it
//! (`actor`: an agent's login, or `system`), the event kind, for save
//! events the object, operation and id, for `directory_changed` the agent
//! or group changed (`subject`: `agent ann`, `group billing`) and what
//! changed (`changes`: `added`, `role`, `permissions`, ...), and the whole
//! event (an agent carries no password or token, so neither does a line). The
//! line is written with one `write` call on a file opened for appending and
//! made durable with `File::sync_data` before the handler returns, so a line
//! the host saw succeed survives a crash.
//!
//! Config (`[plugins.config]` of its `[[plugins]]` entry):
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `path` | string | required | the file to append to; created if missing |
//! | `events` | array of event names | `["after_save", "directory_changed"]` | which events to log |
//!
//! The plugin does not declare itself thread-safe, so the host hands it one
//! event at a time and lines never interleave.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use dossier_sdk::prelude::*;
use serde::{Deserialize, Serialize};

/// The plugin instance: the open file and the events to log.
struct AuditLog {
    file: File,
    path: PathBuf,
    events: Vec<EventKind>,
    host: HostApi,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    path: PathBuf,
    #[serde(default = "default_events")]
    events: Vec<EventKind>,
}

fn default_events() -> Vec<EventKind> {
    vec![EventKind::AfterSave, EventKind::DirectoryChanged]
}

/// One line of the log.
#[derive(Serialize)]
struct Line<'a> {
    at: String,
    /// Who caused the event; `null` from a host that does not say.
    actor: Option<String>,
    kind: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<ObjectKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    op: Option<SaveOp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    /// For `directory_changed`: `agent <login>` or `group <name>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    /// For `directory_changed`: the names of what changed, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<Vec<&'static str>>,
    event: &'a Event,
}

impl AuditLog {
    fn append(&self, event: &Event) -> Result<Outcome> {
        let save = match event {
            Event::BeforeSave(s) | Event::AfterSave(s) => Some(s),
            _ => None,
        };
        let directory = match event {
            Event::DirectoryChanged(d) => Some(d),
            _ => None,
        };
        let line = Line {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            actor: self.host.actor(),
            kind: event.kind(),
            object: save.map(|s| s.record.kind()),
            op: save.map(|s| s.op),
            id: save.map(|s| s.record.id()),
            subject: directory.and_then(|d| match (&d.agent, &d.group) {
                (Some(a), _) => Some(format!("agent {}", a.login)),
                (None, Some(g)) => Some(format!("group {}", g.name)),
                (None, None) => None,
            }),
            changes: directory.map(|d| d.changes.iter().map(DirectoryChange::name).collect()),
            event,
        };
        let mut bytes = dossier_sdk::serde_json::to_vec(&line)
            .map_err(|e| Error::failed(format!("cannot encode audit line: {e}")))?;
        bytes.push(b'\n');
        // `&File` implements Write; the host serializes calls, so no lock is needed.
        (&self.file)
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| Error::failed(format!("cannot append to {}: {e}", self.path.display())))?;
        Ok(Outcome::Continue)
    }
}

impl Plugin for AuditLog {
    const EVENTS: &'static [EventKind] = &EventKind::ALL;

    fn new(config: dossier_sdk::serde_json::Value, host: HostApi) -> Result<Self> {
        let config: Config = dossier_sdk::serde_json::from_value(config).map_err(Error::config)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.path)
            .map_err(|e| Error::config(format!("cannot open {}: {e}", config.path.display())))?;
        Ok(AuditLog {
            file,
            path: config.path,
            events: config.events,
            host,
        })
    }

    fn events(&self) -> Vec<EventKind> {
        self.events.clone()
    }

    fn before_save(&self, event: &mut SaveEvent) -> Result<Outcome> {
        self.append(&Event::BeforeSave(event.clone()))
    }

    fn after_save(&self, event: &mut SaveEvent) -> Result<Outcome> {
        self.append(&Event::AfterSave(event.clone()))
    }

    fn screen_pop(&self, pop: &mut ScreenPop) -> Result<Outcome> {
        self.append(&Event::ScreenPop(pop.clone()))
    }

    fn disposition(&self, disposition: &mut Disposition) -> Result<Outcome> {
        self.append(&Event::Disposition(disposition.clone()))
    }

    fn notification(&self, notification: &mut Notification) -> Result<Outcome> {
        self.append(&Event::Notification(notification.clone()))
    }

    fn email_received(&self, email: &mut EmailReceived) -> Result<Outcome> {
        self.append(&Event::EmailReceived(email.clone()))
    }

    fn email_held(&self, held: &mut EmailHeld) -> Result<Outcome> {
        self.append(&Event::EmailHeld(held.clone()))
    }

    fn chat_offered(&self, chat: &mut ChatEvent) -> Result<Outcome> {
        self.append(&Event::ChatOffered(chat.clone()))
    }

    fn chat_ended(&self, chat: &mut ChatEvent) -> Result<Outcome> {
        self.append(&Event::ChatEnded(chat.clone()))
    }

    fn task_reminder(&self, reminder: &mut TaskReminder) -> Result<Outcome> {
        self.append(&Event::TaskReminder(reminder.clone()))
    }

    fn directory_changed(&self, change: &mut DirectoryChanged) -> Result<Outcome> {
        self.append(&Event::DirectoryChanged(change.clone()))
    }
}

declare_plugin!(AuditLog, name = "audit-log");

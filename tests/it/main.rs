//! End-to-end tests of the host library on real SQLite files.

mod agents;
mod built;
mod dispositions;
mod errors;
mod events_table;
mod fields;
mod interact_scripts;
mod notify;
mod pipeline;
mod plugin_audit;
mod plugin_cli;
mod plugin_failures;
mod plugin_smtp;
mod plugin_webhook;
mod plugin_webhook_tls;
mod plugins;
mod pop;
mod records;
mod reminders;
mod runner;
mod scripts;
mod search;
mod store;
mod store_invariants;
mod util;
mod visibility;

//! End-to-end tests of the host library on real SQLite files.

mod built;
mod fields;
mod pipeline;
mod plugin_audit;
mod plugin_cli;
mod plugin_smtp;
mod plugin_webhook;
mod plugins;
mod records;
mod scripts;
mod store;
mod util;

//! The `dossier` binary, run as a user would, in a fresh directory per test.

mod agents_cli;
mod chat_cli;
mod cli;
mod conventions;
mod daily;
mod email_cli;
mod faq_cli;
mod interact;
mod notify_options;
mod ops;
mod process;
mod props;
mod queue_cli;
mod script_cli;
mod serve;
mod serve_channels;
mod serve_cli;
mod serve_events;
mod serve_python;
mod serve_search;
mod serve_tls;
mod serve_web;
mod signals;
mod times;
mod trust;
mod util;

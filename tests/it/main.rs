//! End-to-end tests of the host library on real SQLite files.

mod dispositions;
mod fields;
mod notify;
mod pipeline;
mod pop;
mod records;
mod reminders;
mod store;
mod util;

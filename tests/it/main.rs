//! End-to-end tests of the host library on real SQLite files.

mod built;
mod fields;
mod plugins;
mod records;
mod store;
mod util;

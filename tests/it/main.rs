//! End-to-end tests of the host library on real SQLite files.

mod fields;
mod records;
mod store;
mod util;

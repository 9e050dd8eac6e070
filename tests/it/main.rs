//! End-to-end tests of the host library on real SQLite files.

mod fields;
mod pipeline;
mod records;
mod scripts;
mod store;
mod util;

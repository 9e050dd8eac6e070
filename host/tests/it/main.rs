//! The `dossier` binary, run as a user would, in a fresh directory per test.

mod cli;
mod script_cli;

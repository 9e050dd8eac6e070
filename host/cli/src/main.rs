//! The `dossier` command-line tool.

#![forbid(unsafe_code)]

use std::process::ExitCode;

/// Entry point of the `dossier` binary: everything, error messages and the
/// exit code included, happens in `dossier_cli::run`.
fn main() -> ExitCode {
    dossier_cli::run(std::env::args_os())
}

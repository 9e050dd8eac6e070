//! The `dossier` command-line tool.

use std::process::ExitCode;

/// Entry point of the `dossier` binary: runs the command, prints any error
/// as one sentence on stderr and exits non-zero.
fn main() -> ExitCode {
    match dossier_host::cli::run(std::env::args_os()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

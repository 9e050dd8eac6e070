//! The `dossier` command-line tool.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

/// Entry point of the `dossier` binary: everything, error messages and the
/// exit code included, happens in `dossier_cli::run`, on a thread with the
/// stack hooks need (`main`'s 8 MiB is not enough for what a script may
/// build within its limits).
fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().collect();
    let command = std::thread::Builder::new()
        .name("dossier".into())
        .stack_size(dossier_host::HOOK_THREAD_STACK)
        .spawn(move || dossier_cli::run(args));
    match command.map(|thread| thread.join()) {
        Ok(Ok(code)) => code,
        // The panic message is already on stderr.
        Ok(Err(_)) => ExitCode::from(101),
        Err(e) => {
            // An error that cannot be printed still ends with its code.
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot start the command's thread: {e}"
            );
            ExitCode::from(71)
        }
    }
}

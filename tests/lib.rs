//! Test servers the integration tests in `it/` share. The tests themselves
//! live in `it/`.

#![forbid(unsafe_code)]

pub mod cargo;
pub mod smtp;

/// Polls `done` every few milliseconds until it returns `true`; panics
/// naming `what` and `patience` if it still has not when `patience` has
/// passed. Tests wait for a condition, never for a fixed time: this body
/// is the one place test code may sleep (`tidy_tests_never_sleep`).
pub fn wait_until(what: &str, patience: std::time::Duration, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    loop {
        if done() {
            return;
        }
        if start.elapsed() >= patience {
            panic!("gave up waiting for {what} after {patience:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

//! Test servers the integration tests in `it/` share. The tests themselves
//! live in `it/`.

pub mod smtp;

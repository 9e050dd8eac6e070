//! Nothing here: this crate exists for its integration tests in `it/`.

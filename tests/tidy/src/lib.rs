//! The tidy rules (filled in by the tidy work).

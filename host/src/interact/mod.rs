//! Interactions: screen-pop, dispositions, task reminders and the
//! notification hook. Each file adds its operations to [`Host`] in its own
//! `impl` block; all of them go through [`Host::fire`] for scripts and
//! plugins, and through `crate::store` for SQL.
//!
//! [`Host`]: crate::Host
//! [`Host::fire`]: crate::Host::fire

mod disposition;
mod notify;
mod pop;
mod reminder;

pub use disposition::Disposed;
pub use reminder::{FiredReminder, Tick};

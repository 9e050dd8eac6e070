//! Interactions: screen-pop, dispositions, task reminders and the
//! notification hook. Each file is one [`Step`](crate::events::Step) of the
//! event runner and the runtime operation that runs it; SQL goes through
//! `crate::store`. The facade (`host/interact.rs`) exposes them.

mod disposition;
mod notify;
mod pop;
mod reminder;

pub use disposition::Disposed;
pub use reminder::{FiredReminder, Tick};

pub(crate) use disposition::{disposition_code, dispositions, finish_interaction};

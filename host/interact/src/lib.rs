//! Interactions: screen-pop, dispositions, task reminders and the
//! notification hook. Each file is one [`Step`](dossier_core::events::Step) of the
//! event runner and the runtime operation that runs it; SQL goes through
//! `crate::store`. The facade (`host/interact.rs`) exposes them.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod disposition;
pub mod notify;
pub mod pop;
pub mod reminder;

pub use disposition::Disposed;
pub use reminder::FiredReminder;

pub use disposition::{disposition_code, dispositions, finish_interaction};

/// The interaction operations on the runtime, as extension traits: `use dossier_interact::prelude::*;` to call them.
pub mod prelude {
    pub use crate::disposition::Dispositions;
    pub use crate::notify::Notifications;
    pub use crate::pop::ScreenPops;
    pub use crate::reminder::Reminders;
}

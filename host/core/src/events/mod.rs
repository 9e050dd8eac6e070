//! Events: the pipeline of handlers, the context they get, the runner
//! every feature's event goes through, and the outbox that carries
//! after-save events past the commit.

pub mod context;
mod hooks;
mod lease;
mod outbox;
mod pipeline;
mod runner;

pub use context::{Actor, Ctx, MAX_PER_PAGE};
pub use hooks::HOOKS;
pub use lease::Leases;
pub use outbox::{Attempt, Delivery, DeliveryState, Lease, MAX_ATTEMPTS, OutboxDelivery, Redo};
pub use pipeline::Handler;

pub use hooks::hook_index;

pub use pipeline::Pipeline;
pub use runner::Step;

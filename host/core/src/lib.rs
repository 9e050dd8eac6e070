//! # dossier-core
//!
//! The core of the Dossier host, below every channel and handler: the
//! configuration (`dossier.toml`), times and the injectable clock, the event
//! machinery (the handler [`Pipeline`](events::Pipeline), the one runner
//! every event goes through, the [`Ctx`](events::Ctx) handlers receive, the
//! outbox that carries after-save events and notifications past the
//! commit), and the [`Runtime`](runtime::Runtime): record writes and reads,
//! agents, permissions and visibility, the FAQ base.
//!
//! **It names no channel, no scripting engine and no plugin loader.**
//! Channels plug in as runner steps and, for what leaves the host, as a
//! [`Delivery`](events::Delivery); a channel keeps its own state in the
//! runtime's typed slots ([`Runtime::state`](runtime::Runtime::state)).
//! Scripts and plugins are [`Handler`](events::Handler)s and see a `Ctx`.
//!
//! Not a public API of its own: embedders use `dossier-host`, which
//! re-exports what they need.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod clock;
pub mod config;
pub mod events;
pub mod runtime;
pub mod time;

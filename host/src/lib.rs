//! # dossier-host
//!
//! The Dossier host runtime: the SQLite store of customers, cases,
//! follow-ups and tasks with admin-defined custom fields; the event pipeline
//! that runs admins' Rhai scripts and developers' native plugins; and the
//! [`Host`] facade that contact centres embed.
//!
//! ```no_run
//! use dossier_host::{Config, Host};
//! use dossier_sdk::{NewCase, NewCustomer};
//!
//! # fn main() -> Result<(), dossier_host::Error> {
//! let host = Host::open(Config::load("dossier.toml".as_ref())?)?;
//! let ada = host.create_customer(NewCustomer {
//!     account: "AC-000001".into(),
//!     name: "Ada Lovelace".into(),
//!     ..Default::default()
//! })?;
//! let case = host.open_case(NewCase::new(ada.id, "Jet scheduling problem"))?;
//! println!("opened case {}", case.number);
//! # Ok(())
//! # }
//! ```
//!
//! ## Features
//!
//! - `cli` (default): the `cli` module behind the `dossier` binary, with
//!   its argument parser and log subscriber. Embedders who only want the
//!   library turn it off:
//!   `dossier-host = { version = "0.1", default-features = false }`.
//!
//! ## Logging
//!
//! Plugin log lines and script `print`/`debug` output are [`tracing`]
//! events (targets `dossier_host::plugin` and `dossier_host::script`). The
//! library installs no subscriber: an embedder installs its own, and the
//! `dossier` binary installs one on stderr filtered by `DOSSIER_LOG`.

#![warn(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod clock;
pub mod config;
pub mod contact;
mod error;
mod host;
mod interact;
pub mod pipeline;
pub mod plugin;
pub mod schema;
pub mod script;
mod store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use error::{Error, Result};
pub use host::{Host, HostBuilder};
pub use interact::{Disposed, FiredReminder, Tick};
pub use pipeline::Handler;
pub use script::Scripts;
pub use store::{CaseFilter, MAX_WRITE_DEPTH, OutboxEntry, Page, TaskFilter};

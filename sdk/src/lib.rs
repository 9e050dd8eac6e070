//! # dossier-sdk
//!
//! The public face of Dossier, the contact-centre CRM: the records
//! ([`Customer`], [`Case`], [`FollowUp`], [`Task`]), custom field values
//! ([`FieldValue`]), the [`Event`]s that admins' scripts and developers'
//! plugins handle, and the [`Plugin`] trait native plugins implement.
//!
//! ## A complete plugin
//!
//! A plugin is a `cdylib` crate that depends on this crate (plus `serde` if
//! it wants typed config). It implements [`Plugin`] for one type and names
//! that type in [`declare_plugin!`]:
//!
//! ```
//! use dossier_sdk::prelude::*;
//!
//! /// Tags new cases of VIP customers and leaves them a note.
//! struct VipTagger {
//!     host: HostApi,
//!     field: String,
//! }
//!
//! #[derive(serde::Deserialize)]
//! struct Config {
//!     /// The customer custom field that marks a VIP.
//!     field: String,
//! }
//!
//! impl Plugin for VipTagger {
//!     const EVENTS: &'static [EventKind] = &[EventKind::BeforeSave];
//!
//!     fn new(config: serde_json::Value, host: HostApi) -> Result<Self> {
//!         let config: Config = serde_json::from_value(config).map_err(Error::config)?;
//!         Ok(VipTagger { host, field: config.field })
//!     }
//!
//!     fn before_save(&self, event: &mut SaveEvent) -> Result<Outcome> {
//!         let Record::Case(case) = &mut event.record else {
//!             return Ok(Outcome::Continue);
//!         };
//!         let Some(customer) = self.host.customer(case.customer)? else {
//!             return Ok(Outcome::Veto(format!("customer {} does not exist", case.customer)));
//!         };
//!         if customer.custom.get(&self.field) == Some(&FieldValue::Bool(true)) {
//!             case.priority = "high".into();
//!             self.host.info(&format!("case for VIP {} raised to high", customer.account));
//!         }
//!         Ok(Outcome::Continue)
//!     }
//! }
//!
//! declare_plugin!(VipTagger);
//! # fn main() {
//! #     // The exported entry point returns the plugin's table.
//! #     let table = unsafe { &*dossier_plugin_entry() };
//! #     assert_eq!(table.header.abi_version, dossier_sdk::abi::ABI_VERSION);
//! #     let plugin = VipTagger::new(serde_json::json!({"field": "vip"}), HostApi::detached());
//! #     assert!(plugin.is_ok());
//! # }
//! ```
//!
//! Build it with `cargo build --release`; the host loads
//! `target/release/libvip_tagger.so` (`.dylib`, `.dll`) from a `[[plugins]]`
//! entry of `dossier.toml` that gives its path and SHA-256.
//!
//! ## What crosses the boundary
//!
//! Host and plugin may be built by different compilers, so they share only a
//! C ABI ([`abi`]): `#[repr(C)]` tables that start with their size and ABI
//! version, and events and replies as JSON bytes (a reply carries only what
//! the handler changed, [`abi::patch`]). A panic on either side is
//! caught and becomes an error; each side frees what it allocated. The
//! [`declare_plugin!`] macro writes all of it: plugin code is safe Rust.
//!
//! This crate knows nothing about SQLite, Rhai or dynamic loading, so a
//! plugin that depends on it builds in seconds. Everything here derives serde:
//! it crosses the plugin boundary as bytes and the CLI prints it as JSON.

#![warn(missing_docs)]

pub mod abi;
pub mod agents;
pub mod email;
mod error;
pub mod events;
mod export;
pub mod faq;
pub mod fields;
pub mod model;
mod plugin;

/// What the plugin glue needs from macro call sites; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::export::{Identity, table};
}

/// Everything a plugin author needs, in one `use dossier_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::abi::LogLevel;
    pub use crate::declare_plugin;
    pub use crate::error::{Error, Result};
    pub use crate::events::{
        Audience, Cause, Channel, ChatEvent, DirectoryChange, DirectoryChanged, Disposition,
        EmailHeld, EmailReceived, Event, EventKind, Interaction, Notification, Outcome, PopTarget,
        SaveEvent, SaveOp, ScreenPop, TaskReminder,
    };
    pub use crate::fields::FieldValue;
    pub use crate::model::{
        Case, CaseNumber, Customer, CustomerId, CustomerQuery, FollowUp, Mailbox, NewFollowUp,
        NewTask, ObjectKind, Record, Task, TaskKind,
    };
    pub use crate::plugin::{CaseQuery, FollowUpQuery, HostApi, Plugin};
}

/// The JSON library plugin configs arrive in, re-exported so that plugins
/// use the same version as the SDK.
pub use serde_json;

pub use agents::{Agent, Group, NewAgent, Permission, Role};
pub use email::{
    Draft, DraftChange, DraftKind, DraftState, HeldEmail, HeldState, Ingested, ReviewStep,
    WorkbinItem,
};
pub use error::{Error, Result};
pub use faq::{ExpandMode, FaqChange, FaqEntry, NewFaqEntry, Signature, SignatureOwner};
pub use plugin::{CaseQuery, FollowUpQuery, HostApi, Plugin, dispatch};

pub use events::{
    Audience, Cause, Channel, ChatEvent, Direction, DirectoryChange, DirectoryChanged, Disposition,
    EmailHeld, EmailReceived, Event, EventKind, EventSpec, Interaction, Notification, Outcome,
    PopTarget, SaveEvent, SaveOp, ScreenPop, TaskReminder,
};
pub use fields::{FieldType, FieldValue};
pub use model::{
    Address, Attachment, Case, CaseNumber, CustomFields, Customer, CustomerId, CustomerQuery,
    Email, EmailHeaders, FollowUp, FollowUpId, FollowUpKind, Mailbox, NewCase, NewCustomer,
    NewFollowUp, NewTask, ObjectKind, Phone, Record, Task, TaskId, TaskKind, TaskStatus,
    ThreadToken, Visibility,
};

/// The version of this SDK, as plugins report it in their handshake.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// docs/plugins.md's Rust blocks, compiled as doctests of this crate, so
/// that the plugin guide builds as written.
#[cfg(doctest)]
#[doc = include_str!("../../docs/plugins.md")]
pub struct PluginsGuide;

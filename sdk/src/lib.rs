//! # dossier-sdk
//!
//! The public face of Dossier, the contact-centre CRM: the records
//! ([`Customer`], [`Case`], [`FollowUp`], [`Task`]), custom field values
//! ([`FieldValue`]), and the [`Event`]s that admins' scripts and developers'
//! plugins handle.
//!
//! This crate knows nothing about SQLite or Rhai, so a plugin that depends on
//! it builds in seconds. Everything here derives serde: it crosses the plugin
//! boundary as bytes and the CLI prints it as JSON.

#![warn(missing_docs)]

pub mod events;
pub mod fields;
pub mod model;

pub use events::{
    Channel, ChatEvent, Direction, Disposition, EmailReceived, Event, EventKind, Interaction,
    Notification, Outcome, PopTarget, SaveEvent, SaveOp, ScreenPop, TaskReminder,
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

//! What the FAQ base and the signatures keep: entries by shortcut (with a
//! full-text index over title and body), and the signatures of agents and
//! groups.

use dossier_sdk::{FaqEntry, Signature, SignatureOwner};

use dossier_types::Result;

/// The FAQ base's and the signatures' tables.
pub trait FaqTx {
    /// Adds `entry`; `false` when its shortcut is taken (ignoring case).
    fn insert_faq(&self, entry: &FaqEntry) -> Result<bool>;

    /// The entry with `shortcut` (ignoring case), if there is one.
    fn faq(&self, shortcut: &str) -> Result<Option<FaqEntry>>;

    /// Every entry, by shortcut.
    fn list_faq(&self) -> Result<Vec<FaqEntry>>;

    /// Rewrites the entry with `entry.shortcut` (title, body, link,
    /// updated time); `false` when there is none.
    fn update_faq(&self, entry: &FaqEntry) -> Result<bool>;

    /// Removes the entry with `shortcut`; `false` when there is none.
    fn delete_faq(&self, shortcut: &str) -> Result<bool>;

    /// The best `limit` entries containing every one of `terms` in their
    /// title or body, best first (bm25, a title match weighing more).
    fn search_faq(&self, terms: &[String], limit: u32) -> Result<Vec<FaqEntry>>;

    /// Adds `signature`; `false` when its owner has one by that name. When
    /// it is the default, the owner's previous default stops being one.
    fn insert_signature(&self, signature: &Signature) -> Result<bool>;

    /// `owner`'s signatures, by name.
    fn signatures(&self, owner: &SignatureOwner) -> Result<Vec<Signature>>;

    /// `owner`'s signature `name`, if there is one.
    fn signature(&self, owner: &SignatureOwner, name: &str) -> Result<Option<Signature>>;

    /// `owner`'s default signature, if they have one.
    fn default_signature(&self, owner: &SignatureOwner) -> Result<Option<Signature>>;

    /// Removes `owner`'s signature `name`; `false` when there is none.
    fn delete_signature(&self, owner: &SignatureOwner, name: &str) -> Result<bool>;

    /// Makes `owner`'s signature `name` their default (and no other);
    /// `false` when there is none by that name.
    fn set_default_signature(&self, owner: &SignatureOwner, name: &str) -> Result<bool>;
}

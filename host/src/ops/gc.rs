//! `Host::gc`: removes the attachment blobs no row references.
//!
//! A blob is written before the rows that reference it commit: email
//! ingest writes an email's attachments before its write transaction, so
//! that the transaction only writes rows (hashing and writing thousands of
//! files never holds the write lock). So the collector lists the
//! references and deletes files **while it holds the write lock** (one
//! `Store::write` transaction), and deletes only files last written more
//! than [`GRACE`] **before it started**: a blob written (or written again:
//! `put` refreshes the time of a blob it already has) within the grace
//! period, or after the collection started, is kept even while the rows
//! that will reference it are not committed yet. Times are read from the
//! file system's own clock: the time of a marker file the collector writes
//! first, so the comparison is between two file times.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::host::Host;
use dossier_types::{Error, Result};

/// How long before a collection starts a blob must have been last written
/// to be removed when nothing references it: far longer than any write
/// transaction (the rows of a blob written before one commit within it).
pub const GRACE: Duration = Duration::from_secs(3600);

/// What a collection did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Collected {
    /// Blobs found in the blob store.
    pub blobs: u64,
    /// Blobs some row references: kept.
    pub referenced: u64,
    /// Unreferenced blobs written less than [`GRACE`] before the collection
    /// started, or since: kept.
    pub recent: u64,
    /// Unreferenced blobs removed.
    pub removed: u64,
    /// The ids of the removed blobs.
    pub removed_ids: Vec<String>,
}

impl Host {
    /// Removes attachment blobs that no row references and that were last
    /// written more than [`GRACE`] (an hour) before this call started;
    /// never one written later, whose rows may not be committed yet. Holds
    /// the write lock while it reads the references and deletes, so other
    /// writers wait for it (briefly: a listing and some unlinks). Only
    /// `system` and admins may collect.
    pub fn gc(&self) -> Result<Collected> {
        self.require_admin("collect unreferenced attachments")?;
        let started = self.gc_start()?;
        let rt = self.runtime();
        rt.store().write("gc", |tx| {
            let referenced: HashSet<String> = tx.referenced_blobs()?.into_iter().collect();
            let mut out = Collected::default();
            for (id, written) in rt.blobs().list()? {
                out.blobs += 1;
                if referenced.contains(&id) {
                    out.referenced += 1;
                } else if started.is_none_or(|started| written + GRACE >= started) {
                    out.recent += 1;
                } else {
                    rt.blobs().remove(&id)?;
                    out.removed += 1;
                    out.removed_ids.push(id);
                }
            }
            Ok(out)
        })
    }

    /// When the collection starts, on the blob folder's clock: the time of
    /// a marker file written there now (removed again). `None` when there
    /// is no folder, hence no blob to collect; an in-memory store has the
    /// system clock.
    fn gc_start(&self) -> Result<Option<SystemTime>> {
        let Some(root) = self.runtime().blobs().root() else {
            return Ok(Some(SystemTime::now()));
        };
        if !root.is_dir() {
            return Ok(None);
        }
        let marker = root.join(format!(".gc-{}.start", std::process::id()));
        let io = |what, source| Error::Io {
            what,
            path: marker.clone(),
            source,
        };
        let file = dossier_store::files::create(&marker, dossier_store::files::Existing::Replace)?;
        let time = file
            .metadata()
            .and_then(|m| m.modified())
            .map_err(|e| io("cannot read the time of", e));
        drop(file);
        let _ = std::fs::remove_file(&marker);
        time.map(Some)
    }
}

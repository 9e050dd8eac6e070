//! `Host::gc`: removes the attachment blobs no row references.
//!
//! The blob store's invariant is that a blob is written inside the write
//! transaction whose rows reference it. So the collector lists the
//! references and deletes files **while it holds the write lock** (one
//! `Store::write` transaction): no transaction that could reference a new
//! blob is running meanwhile, and every unreferenced file it sees belongs
//! to no committed row. It also deletes only files last written **before it
//! started**, so a blob written after that (by a transaction that took the
//! write lock only at its first write, after writing its blob) is never
//! removed, even before its reference is committed. "Before it started" is
//! read from the file system's own clock: the time of a marker file the
//! collector writes first, so the comparison is between two file times.

use std::collections::HashSet;
use std::time::SystemTime;

use serde::Serialize;

use crate::host::Host;
use dossier_types::{Error, Result};

/// What a collection did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Collected {
    /// Blobs found in the blob store.
    pub blobs: u64,
    /// Blobs some row references: kept.
    pub referenced: u64,
    /// Unreferenced blobs written after the collection started: kept.
    pub recent: u64,
    /// Unreferenced blobs removed.
    pub removed: u64,
    /// The ids of the removed blobs.
    pub removed_ids: Vec<String>,
}

impl Host {
    /// Removes attachment blobs that no row references and that were last
    /// written before this call started; never one written after. Holds
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
                } else if started.is_none_or(|started| written >= started) {
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

//! Attachment bytes, kept outside the rows: content-addressed files in a
//! folder beside the database (`dossier.db` → `dossier.blobs/`), named by
//! the sha256 of their content, so the same file attached twice is stored
//! once.
//!
//! **Invariant** (what `dossier gc` relies on): the host writes a blob (or
//! writes it again, which refreshes its time) less than `gc`'s grace period
//! (an hour) before the transaction whose rows reference it commits; email
//! ingest writes attachments just before its write transaction, so that
//! the transaction only writes rows. A collector that holds the write lock
//! and keeps unreferenced blobs younger than the grace period therefore
//! never removes one on its way in.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use dossier_types::{Error, Result};

/// Where attachment bytes live.
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` (once per distinct content) and returns their id, the
    /// sha256 in lower-case hex. Storing content that exists refreshes its
    /// time, so a collector that started earlier leaves it alone.
    fn put(&self, bytes: &[u8]) -> Result<String>;

    /// The bytes of blob `id`.
    fn get(&self, id: &str) -> Result<Vec<u8>>;

    /// Every blob with the time it was last written.
    fn list(&self) -> Result<Vec<(String, SystemTime)>>;

    /// Deletes blob `id` (no error if it is gone already).
    fn remove(&self, id: &str) -> Result<()>;

    /// The folder holding the files, for a store on disk.
    fn root(&self) -> Option<&Path>;
}

/// The id `put` gives `bytes`.
pub fn blob_id(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// Checks that `id` is a blob id (64 lower-case hex digits), so a path
/// built from it never leaves the folder.
pub fn check_id(id: &str) -> Result<()> {
    if id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(Error::input(
            "attachment",
            format!("`{id}` is not an attachment id (64 hexadecimal digits)"),
        ))
    }
}

/// The blob folder for the database at `db`: its file name with the
/// extension replaced by `blobs`.
pub fn folder_for(db: &Path) -> PathBuf {
    db.with_extension("blobs")
}

/// Blobs as files: `ROOT/ab/abcdef…` (the first two hex digits fan the
/// files out over 256 folders).
pub struct FsBlobs {
    root: PathBuf,
}

impl FsBlobs {
    /// The store at `root`; the folder is made on the first `put`.
    pub fn new(root: PathBuf) -> FsBlobs {
        FsBlobs { root }
    }

    fn path_of(&self, id: &str) -> PathBuf {
        self.root.join(&id[..2]).join(id)
    }

    fn io(&self, what: &'static str, path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            what,
            path: path.to_owned(),
            source,
        }
    }
}

impl BlobStore for FsBlobs {
    fn put(&self, bytes: &[u8]) -> Result<String> {
        let id = blob_id(bytes);
        let path = self.path_of(&id);
        if path.exists() {
            // Same content: keep the file, refresh its time.
            let file = fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(|e| self.io("cannot open attachment", &path, e))?;
            file.set_modified(SystemTime::now())
                .map_err(|e| self.io("cannot touch attachment", &path, e))?;
            return Ok(id);
        }
        let dir = path.parent().unwrap_or(&self.root).to_owned();
        // Owner-only, as the files in it (`files`).
        crate::files::create_dir_all(&dir)?;
        // Write beside the final name, flush to disk, then rename: a crash
        // leaves either no file or the whole file under its id.
        let tmp = dir.join(format!(".{id}.{}.tmp", std::process::id()));
        let mut file = crate::files::create(&tmp, crate::files::Existing::Replace)?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io("cannot write attachment", &tmp, e))?;
        drop(file);
        fs::rename(&tmp, &path).map_err(|e| self.io("cannot store attachment", &path, e))?;
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(id)
    }

    fn get(&self, id: &str) -> Result<Vec<u8>> {
        check_id(id)?;
        let path = self.path_of(id);
        fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::not_found(
                    dossier_sdk::ObjectKind::FollowUp,
                    format!("attachment {id}"),
                )
            } else {
                self.io("cannot read attachment", &path, e)
            }
        })
    }

    fn list(&self) -> Result<Vec<(String, SystemTime)>> {
        let mut out = Vec::new();
        let top = match fs::read_dir(&self.root) {
            Ok(top) => top,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(self.io("cannot list attachments", &self.root, e)),
        };
        for fan in top {
            let fan = fan.map_err(|e| self.io("cannot list attachments", &self.root, e))?;
            if !fan.path().is_dir() {
                continue;
            }
            let files = fs::read_dir(fan.path())
                .map_err(|e| self.io("cannot list attachments", &fan.path(), e))?;
            for file in files {
                let file = file.map_err(|e| self.io("cannot list attachments", &fan.path(), e))?;
                let name = file.file_name().to_string_lossy().into_owned();
                if check_id(&name).is_err() {
                    continue; // a temporary file, or not ours
                }
                let modified = file
                    .metadata()
                    .and_then(|m| m.modified())
                    .map_err(|e| self.io("cannot list attachments", &file.path(), e))?;
                out.push((name, modified));
            }
        }
        out.sort();
        Ok(out)
    }

    fn remove(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let path = self.path_of(id);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io("cannot remove attachment", &path, e)),
        }
    }

    fn root(&self) -> Option<&Path> {
        Some(&self.root)
    }
}

/// Blobs in memory, for an in-memory store.
#[derive(Default)]
pub struct MemBlobs {
    blobs: Mutex<HashMap<String, (Vec<u8>, SystemTime)>>,
}

impl BlobStore for MemBlobs {
    fn put(&self, bytes: &[u8]) -> Result<String> {
        let id = blob_id(bytes);
        self.blobs
            .lock()
            .insert(id.clone(), (bytes.to_vec(), SystemTime::now()));
        Ok(id)
    }

    fn get(&self, id: &str) -> Result<Vec<u8>> {
        check_id(id)?;
        self.blobs
            .lock()
            .get(id)
            .map(|(b, _)| b.clone())
            .ok_or_else(|| {
                Error::not_found(
                    dossier_sdk::ObjectKind::FollowUp,
                    format!("attachment {id}"),
                )
            })
    }

    fn list(&self) -> Result<Vec<(String, SystemTime)>> {
        let mut out: Vec<_> = self
            .blobs
            .lock()
            .iter()
            .map(|(id, (_, t))| (id.clone(), *t))
            .collect();
        out.sort();
        Ok(out)
    }

    fn remove(&self, id: &str) -> Result<()> {
        self.blobs.lock().remove(id);
        Ok(())
    }

    fn root(&self) -> Option<&Path> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_content_is_stored_once_under_its_sha256() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = FsBlobs::new(dir.path().join("d.blobs"));
        let a = blobs.put(b"hello").expect("put");
        let b = blobs.put(b"hello").expect("put again");
        assert_eq!(a, b);
        assert_eq!(
            a,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(blobs.get(&a).expect("get"), b"hello");
        assert_eq!(blobs.list().expect("list").len(), 1);
        blobs.remove(&a).expect("remove");
        assert!(blobs.get(&a).is_err());
        assert!(blobs.list().expect("list").is_empty());
    }

    #[test]
    fn an_id_that_is_not_a_digest_is_refused_before_any_path_is_built() {
        let blobs = FsBlobs::new(PathBuf::from("/nonexistent"));
        for bad in ["../../etc/passwd", "", "ABC", &"g".repeat(64)] {
            assert!(
                matches!(blobs.get(bad), Err(Error::InvalidInput { .. })),
                "{bad}"
            );
        }
    }
}

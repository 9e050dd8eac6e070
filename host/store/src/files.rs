//! Files and folders Dossier writes, readable by their owner only.
//!
//! Everything the store and the command line put on disk (the store file,
//! attachment blobs and their folders, backups, exports, rejects files, an
//! attachment saved with `-o`, a refused chat message's text) holds
//! customers' data, so every such file is created `0600` and every folder
//! `0700` here, and nowhere else: one place to read, one place to test.
//! (On other systems than Unix the modes are left to the system.)

use std::fs::File;
use std::io::Write as _;
use std::path::Path;

use dossier_types::{Error, Result};

/// The mode of every file Dossier creates: read and write for its owner.
pub const FILE_MODE: u32 = 0o600;

/// The mode of every folder Dossier creates: its owner only.
pub const DIR_MODE: u32 = 0o700;

/// How [`create`] treats a file already at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse it (`create_new`): the file must not exist yet.
    Refuse,
    /// Truncate and reuse it, its mode set to [`FILE_MODE`] as well.
    Replace,
    /// Open it as it is, content kept (a lock file another process may
    /// hold); a file this call creates gets [`FILE_MODE`].
    Keep,
}

/// Creates `path` for writing with mode [`FILE_MODE`]; what happens to a
/// file already there is `existing`'s. Errors are [`Error::Io`] naming the
/// path.
pub fn create(path: &Path, existing: Existing) -> Result<File> {
    let io = |what, source| Error::Io {
        what,
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    match existing {
        Existing::Refuse => options.create_new(true),
        Existing::Replace => options.create(true).truncate(true),
        Existing::Keep => options.create(true).truncate(false),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    let file = options.open(path).map_err(|e| io("cannot create", e))?;
    // The mode above applies only to a file this call created; one that
    // was there keeps its own unless it is set.
    #[cfg(unix)]
    if existing == Existing::Replace {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))
            .map_err(|e| io("cannot restrict the permissions of", e))?;
    }
    Ok(file)
}

/// Writes `bytes` to `path` (replacing a file there) with mode
/// [`FILE_MODE`].
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    create(path, Existing::Replace)?
        .write_all(bytes)
        .map_err(|source| Error::Io {
            what: "cannot write",
            path: path.to_owned(),
            source,
        })
}

/// Creates `dir` and the missing folders above it with mode [`DIR_MODE`]
/// (folders already there are left as they are).
pub fn create_dir_all(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder.create(dir).map_err(|source| Error::Io {
        what: "cannot create directory",
        path: dir.to_owned(),
        source,
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn files_are_created_0600_folders_0700_and_a_replaced_file_is_restricted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let nested = dir.path().join("a/b");
        create_dir_all(&nested).expect("folders");
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);
        let file = nested.join("f");
        write(&file, b"secret").expect("write");
        assert_eq!(mode(&file), 0o600);
        let err = create(&file, Existing::Refuse).expect_err("exists");
        assert_eq!(err.code(), "io");
        let new = nested.join("new");
        drop(create(&new, Existing::Refuse).expect("a new file"));
        assert_eq!(mode(&new), 0o600);
        let open = dir.path().join("was-open");
        std::fs::write(&open, b"x").expect("plain write");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write(&open, b"secret").expect("replace");
        assert_eq!(mode(&open), 0o600);
        assert_eq!(std::fs::read(&open).expect("read"), b"secret");
        // Keep: created 0600, or opened with its content as it is.
        let lock = dir.path().join("lock");
        drop(create(&lock, Existing::Keep).expect("created"));
        assert_eq!(mode(&lock), 0o600);
        drop(create(&open, Existing::Keep).expect("opened"));
        assert_eq!(std::fs::read(&open).expect("read"), b"secret");
    }
}

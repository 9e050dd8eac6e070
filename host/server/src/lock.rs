//! The lock file a server holds beside its store (`STORE.serve.lock`), so
//! that `dossier run` knows the background work is the server's, and a
//! second server on the same file refuses to start.

use std::fs::{File, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Result, ServerError};

/// The lock file of the store at `store`.
pub fn path_for(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".serve.lock");
    PathBuf::from(name)
}

/// A held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct ServeLock {
    _file: File,
}

fn open(path: &Path) -> Result<File> {
    Ok(dossier_host::files::create(
        path,
        dossier_host::files::Existing::Keep,
    )?)
}

impl ServeLock {
    /// Takes the lock of the store at `store`, noting this process's id
    /// and `listen` in it; refused when a server already holds it.
    pub fn acquire(store: &Path, listen: &str) -> Result<ServeLock> {
        let path = path_for(store);
        let mut file = open(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(ServerError::Io {
                    what: format!(
                        "a server already serves {} ({})",
                        store.display(),
                        std::fs::read_to_string(&path).unwrap_or_default().trim()
                    ),
                    source: std::io::Error::from(std::io::ErrorKind::WouldBlock),
                });
            }
            Err(TryLockError::Error(source)) => {
                return Err(ServerError::Io {
                    what: format!("cannot lock {}", path.display()),
                    source,
                });
            }
        }
        let note = format!("pid {} listening on {listen}\n", std::process::id());
        file.set_len(0)
            .and_then(|()| file.write_all(note.as_bytes()))
            .map_err(|source| ServerError::Io {
                what: format!("cannot write the lock file {}", path.display()),
                source,
            })?;
        Ok(ServeLock { _file: file })
    }
}

/// Whether a server holds the lock of the store at `store` now, and what
/// its lock file says of it.
pub fn held(store: &Path) -> Result<Option<String>> {
    let path = path_for(store);
    if !path.exists() {
        return Ok(None);
    }
    let file = open(&path)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(None),
        Err(TryLockError::WouldBlock) => Ok(Some(
            std::fs::read_to_string(&path)
                .unwrap_or_default()
                .trim()
                .to_owned(),
        )),
        Err(TryLockError::Error(source)) => Err(ServerError::Io {
            what: format!("cannot check the lock file {}", path.display()),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_server_per_store_and_others_see_it() {
        let dir = tempfile::tempdir().expect("dir");
        let store = dir.path().join("dossier.db");
        assert_eq!(held(&store).expect("check"), None);
        let lock = ServeLock::acquire(&store, "127.0.0.1:1").expect("first");
        let seen = held(&store).expect("check").expect("held");
        assert!(seen.contains("127.0.0.1:1"), "{seen}");
        let second = ServeLock::acquire(&store, "127.0.0.1:2").expect_err("second");
        assert!(second.to_string().contains("already serves"), "{second}");
        drop(lock);
        assert_eq!(held(&store).expect("check"), None);
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path_for(&store))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

//! What the backend's unit tests share: times by second and a store in a
//! fresh temporary folder.

use chrono::{DateTime, Duration, Utc};

/// `s` seconds after the Unix epoch.
pub(crate) fn at(s: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(s)
}

/// A new store file in a new temporary folder (kept as long as the folder).
pub(crate) fn temp_store() -> (tempfile::TempDir, Box<dyn crate::Store>) {
    let dir = tempfile::tempdir().expect("dir");
    let store = crate::open(
        &dir.path().join("s.db"),
        crate::OpenOptions {
            create: true,
            ..Default::default()
        },
    )
    .expect("store");
    (dir, store)
}

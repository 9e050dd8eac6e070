//! `[store]` settings reach the store the host opens.

use crate::{Config, Host};
use dossier_store::Store;
use dossier_types::Result;

/// Runs `depth` reads nested on this thread, each on its own reader
/// connection, and returns how many ran.
fn nest(store: &dyn Store, depth: usize) -> Result<usize> {
    store.read(|_| match depth {
        0 => Ok(0),
        _ => nest(store, depth - 1).map(|n| n + 1),
    })
}

#[test]
fn the_store_keeps_as_many_idle_readers_as_store_readers_says() -> Result<()> {
    for readers in [1, 3, 12] {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = format!("[store]\nreaders = {readers}\n");
        let config = Config::parse(&text, &dir.path().join("dossier.toml"))?;
        let host = Host::builder(config).create_if_missing().open()?;
        let store = host.runtime().store();
        // Sixteen reads at once hold sixteen reader connections; when they
        // end, the store keeps `readers` of them open and closes the rest.
        assert_eq!(nest(store, 15)?, 15);
        assert_eq!(store.idle_readers(), readers, "[store] readers = {readers}");
    }
    Ok(())
}

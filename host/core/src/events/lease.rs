//! Outbox leases while a delivery runs. A claim holds a delivery for
//! `[outbox] lease_seconds`; one thread per runtime (started with the first
//! claim) renews every lease this runtime holds, every third of that, until
//! the delivery records its outcome. A holder that dies stops renewing, and
//! its lease runs out: another process then takes the delivery over.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration as StdDuration;

use chrono::Duration;
use parking_lot::{Condvar, Mutex};

use crate::runtime::Runtime;
use dossier_types::{Error, Result};

/// The leases a runtime holds, and the thread that renews them.
pub struct Leases {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

struct State {
    /// Delivery id → the holder token of this runtime's claim on it.
    held: HashMap<i64, String>,
    /// How often the held leases are renewed.
    every: StdDuration,
    started: bool,
    closed: bool,
}

impl Leases {
    /// Leases of `lease`, renewed every third of it.
    pub fn new(lease: Duration) -> Leases {
        let every = (lease / 3).to_std().unwrap_or(StdDuration::from_secs(1));
        Leases {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    held: HashMap::new(),
                    every,
                    started: false,
                    closed: false,
                }),
                wake: Condvar::new(),
            }),
        }
    }

    /// Renews held leases every `every` from now on (tests pick an
    /// interval shorter or longer than a third of the lease).
    pub fn renew_every(&self, every: StdDuration) {
        self.shared.state.lock().every = every;
        self.shared.wake.notify_all();
    }

    /// Keeps `holder`'s lease on delivery `id` renewed until the returned
    /// guard is dropped.
    pub(crate) fn hold(&self, rt: &Arc<Runtime>, id: i64, holder: &str) -> Result<Held> {
        let mut state = self.shared.state.lock();
        state.held.insert(id, holder.to_owned());
        if !state.started {
            let shared = self.shared.clone();
            let weak = Arc::downgrade(rt);
            std::thread::Builder::new()
                .name("dossier-outbox-leases".into())
                .spawn(move || renew(&shared, &weak))
                .map_err(|e| {
                    Error::Refused(format!("cannot start the outbox lease renewal: {e}"))
                })?;
            state.started = true;
        }
        Ok(Held {
            shared: self.shared.clone(),
            id,
        })
    }
}

impl Drop for Leases {
    fn drop(&mut self) {
        self.shared.state.lock().closed = true;
        self.shared.wake.notify_all();
    }
}

/// A lease kept renewed; dropping it stops the renewal.
pub(crate) struct Held {
    shared: Arc<Shared>,
    id: i64,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.shared.state.lock().held.remove(&self.id);
    }
}

/// The renewal thread: wakes every `every`, extends each held lease to the
/// runtime clock's now plus the lease, and ends with the runtime.
fn renew(shared: &Shared, rt: &Weak<Runtime>) {
    let mut state = shared.state.lock();
    loop {
        let every = state.every;
        shared.wake.wait_for(&mut state, every);
        if state.closed {
            return;
        }
        if state.held.is_empty() {
            continue;
        }
        let held: Vec<(i64, String)> = state
            .held
            .iter()
            .map(|(id, holder)| (*id, holder.clone()))
            .collect();
        let renewed = parking_lot::MutexGuard::unlocked(&mut state, || {
            let rt = rt.upgrade()?;
            let until = rt.now() + rt.lease_duration();
            Some(rt.store().write("outbox lease", |tx| {
                held.iter()
                    .map(|(id, holder)| Ok((*id, tx.outbox_renew(*id, holder, until)?)))
                    .collect::<Result<Vec<_>>>()
            }))
        });
        match renewed {
            None => return,
            Some(Err(e)) => tracing::warn!("cannot renew the outbox leases: {e}"),
            Some(Ok(kept)) => {
                for (id, _) in kept.iter().filter(|(_, kept)| !kept) {
                    tracing::warn!(
                        "outbox delivery {id}: the lease was taken over by another process \
                         while this one delivered it"
                    );
                }
            }
        }
    }
}

//! Zone transfer inside the daemon, as one object the reload, the front
//! ends and the metrics talk to: the IXFR journals (recorded before every
//! swap), the kept serials (saved after it), NOTIFY out to secondaries and
//! the secondary zones' tasks (told after it), the NOTIFY hints those tasks
//! take, and the counters. The query path never touches it; a NOTIFY or a
//! transfer reads it without taking a lock that a reload holds.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use super::journal::Journals;
use super::notifier::Notifier;
use super::secondary::{CopyStore, Hints, Manager, Sink, Timeouts};
use super::stats::XfrStats;
use super::store::{KeptSerials, SerialStore};
use crate::name::Name;
use crate::snapshot::Snapshot;

/// Transfers out over TCP at once (BIND's `transfers-out` is 10): past
/// this, a request gets SERVFAIL and its secondary retries on its timer.
pub const MAX_TRANSFERS_OUT: usize = 16;

/// What `start` needs from the daemon.
pub struct Wiring {
    pub runtime: Handle,
    /// Where secondary zones' pulls go (the daemon's reload).
    pub sink: Arc<dyn Sink>,
    pub copies: Arc<dyn CopyStore>,
    pub serials: Box<dyn SerialStore>,
}

#[derive(Default)]
struct Parts {
    runtime: Option<Handle>,
    notifier: Option<Notifier>,
    manager: Option<Manager>,
    serials: Option<Box<dyn SerialStore>>,
    saved: Option<KeptSerials>,
}

pub struct Replication {
    pub journals: Journals,
    pub stats: Arc<XfrStats>,
    /// Places for transfers out over TCP.
    pub transfers: Arc<Semaphore>,
    hints: ArcSwap<Hints>,
    /// Taken by the reload thread (after a swap) and at start-up only.
    parts: Mutex<Parts>,
}

impl Default for Replication {
    fn default() -> Self {
        Replication {
            journals: Journals::default(),
            stats: Arc::default(),
            transfers: Arc::new(Semaphore::new(MAX_TRANSFERS_OUT)),
            hints: ArcSwap::default(),
            parts: Mutex::new(Parts::default()),
        }
    }
}

impl Replication {
    /// Starts NOTIFY out and the secondary zones' tasks for the snapshot in
    /// service (`current`): every zone with a `notify` list tells its
    /// secondaries now (one that missed a change while we were down hears
    /// of it), every secondary zone asks its primaries now.
    pub fn start(&self, wiring: Wiring, current: &Snapshot) {
        {
            let mut p = self.parts.lock().unwrap_or_else(|e| e.into_inner());
            p.notifier = Some(Notifier::default().counting(self.stats.clone()));
            p.manager = Some(
                Manager::new(wiring.sink, wiring.copies, Timeouts::default())
                    .counting(self.stats.clone()),
            );
            p.saved = Some(wiring.serials.load());
            p.serials = Some(wiring.serials);
            p.runtime = Some(wiring.runtime);
        }
        self.after_swap(None, current);
    }

    /// Before `new` replaces `old`: the journal gets the change, so that a
    /// secondary that sees the new serial finds the delta that leads to it.
    pub fn before_swap(&self, old: &Snapshot, new: &Snapshot) {
        self.journals.record(old, new);
    }

    /// After `new` is in service (`old` is `None` at start-up): keep the
    /// serials, NOTIFY the secondaries of zones that changed, and start,
    /// keep or stop the secondary zones' tasks as the config says.
    pub fn after_swap(&self, old: Option<&Snapshot>, new: &Snapshot) {
        let mut p = self.parts.lock().unwrap_or_else(|e| e.into_inner());
        let p = &mut *p;
        if let Some(store) = &p.serials {
            let kept = KeptSerials::of(new);
            if p.saved.as_ref() != Some(&kept) {
                match store.save(&kept) {
                    Ok(()) => p.saved = Some(kept),
                    Err(e) => warn!(
                        "cannot keep the zone serials in the state directory: {e}; a restart may reuse a serial"
                    ),
                }
            }
        }
        self.stats.retain(|z| {
            new.config
                .zones
                .iter()
                .any(|c| &c.name == z && c.is_local())
        });
        let Some(runtime) = &p.runtime else {
            return;
        };
        let _in_runtime = runtime.enter();
        if let Some(n) = &mut p.notifier {
            let started = n.changed(old, new);
            if started > 0 {
                debug!(started, "NOTIFY sent to secondaries");
            }
        }
        if let Some(m) = &mut p.manager {
            m.reconcile(&new.config);
            self.hints.store(Arc::new(m.hints()));
        }
    }

    /// A primary's NOTIFY for secondary zone `zone` (already checked):
    /// refresh now. False when the zone has no running task.
    pub fn notified(&self, zone: &Name, serial: Option<u32>) -> bool {
        match self.hints.load().get(zone) {
            // A refresh already waiting absorbs this one.
            Some(tx) => {
                let _ = tx.try_send(serial);
                true
            }
            None => false,
        }
    }
}

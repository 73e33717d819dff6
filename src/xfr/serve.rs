//! Zone transfer in `pldns serve`: what it keeps in the state directory
//! (the `zones` namespace: the serials of our zones, each secondary zone's
//! copy), the kept copies in the first snapshot and the kept serials in it
//! before it serves, then NOTIFY and the secondary zones' tasks, whose pulls
//! go through the reload like any record source's.

use std::sync::{Arc, Weak};

use tracing::{info, warn};

use super::notify::unix_now;
use super::replication::Wiring;
use super::secondary::{CopyStore, DirStore, Sink, ZoneCopy, ZoneSettings};
use super::store::{SerialStore, StateSerialStore};
use crate::config::Config;
use crate::load::Loader;
use crate::name::Name;
use crate::snapshot::Snapshot;
use crate::sources::SourceId;
use crate::state::State;

/// The state namespace of zone transfer.
pub const NAMESPACE: &str = "zones";

/// The source a secondary zone's data comes in as.
pub fn source_id(zone: &Name) -> SourceId {
    SourceId::Secondary(zone.to_string())
}

/// Between `Loader::open` and `Loader::first_build`.
pub struct Startup {
    copies: Arc<DirStore>,
    serials: StateSerialStore,
}

/// Hands every secondary zone's kept copy (unless past its SOA expire) to
/// the loader, so the first snapshot serves it.
pub fn prepare(loader: &mut Loader, config: &Config) -> Startup {
    let ns = loader.state_dir().namespace(NAMESPACE);
    let copies = Arc::new(DirStore { ns: ns.clone() });
    let now = unix_now();
    for zone in ZoneSettings::of(config).into_iter().map(|s| s.zone) {
        match copies.load(&zone) {
            Ok(Some(kept)) if !kept.expired(now) => {
                info!(%zone, serial = kept.copy.serial(), "secondary zone: serving the copy kept in the state directory");
                let contents = kept.copy.contents();
                loader
                    .sources_mut()
                    .submit(source_id(&zone), contents, true);
            }
            Ok(Some(_)) => {
                warn!(%zone, "secondary zone: the kept copy is past its SOA expire; SERVFAIL until a primary answers")
            }
            Ok(None) => {
                info!(%zone, "secondary zone: no copy yet; SERVFAIL until a primary answers")
            }
            Err(e) => warn!(%zone, "secondary zone: kept copy unreadable ({e}); pulling a new one"),
        }
    }
    Startup {
        copies,
        serials: StateSerialStore { ns },
    }
}

impl Startup {
    /// Gives the first snapshot the serials of the last run (a restart
    /// never moves a serial back, nor bumps one whose data did not change).
    pub fn restore(&self, snap: &mut Snapshot) {
        let now = u32::try_from(unix_now()).unwrap_or(u32::MAX);
        self.serials.load().restore(snap, now);
    }

    /// Starts NOTIFY and the secondary zones. Inside the runtime, once the
    /// state exists and before the reload task runs.
    pub fn start(self, state: &Arc<State>) {
        let wiring = Wiring {
            runtime: tokio::runtime::Handle::current(),
            sink: Arc::new(StateSink(Arc::downgrade(state))),
            copies: self.copies,
            serials: Box::new(self.serials),
        };
        state.xfr.start(wiring, &state.snapshot());
    }
}

/// Secondary zones' pulls into the reload: each copy is a record source,
/// applied whole or not at all like a file.
struct StateSink(Weak<State>);

impl Sink for StateSink {
    fn publish(&self, zone: &Name, copy: Arc<ZoneCopy>) {
        let Some(state) = self.0.upgrade() else {
            return;
        };
        // The kept copy the first snapshot already serves: no rebuild.
        let snap = state.snapshot();
        let serving = snap
            .zone_of(zone.wire())
            .and_then(|zi| snap.zones[zi].local.as_ref()?.pulled.as_deref())
            .is_some_and(|c| *c == *copy);
        if !serving {
            state.submit_source(source_id(zone), copy.contents(), false);
        }
    }

    fn expire(&self, zone: &Name) {
        if let Some(state) = self.0.upgrade() {
            state.remove_source(source_id(zone));
        }
    }

    fn removed(&self, zone: &Name) {
        self.expire(zone);
    }
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;

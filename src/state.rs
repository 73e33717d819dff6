//! The daemon's shared state: the current snapshot behind an atomic
//! pointer (queries load it without locking; a reload swaps it whole) and
//! the stop flag.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::{ArcSwap, ArcSwapOption, Guard};

use crate::cache::Cache;
use crate::diag::Diagnostics;
use crate::forward::Forwarder;
use crate::snapshot::Snapshot;

pub struct State {
    config_path: PathBuf,
    current: ArcSwap<Snapshot>,
    /// Replaced only when `[cache]` changes; entries of other snapshots are
    /// told apart by their generation (see `cache`).
    cache: ArcSwapOption<Cache>,
    /// Forwarder health outlives reloads: it is about the servers, not the
    /// config that names them.
    pub forwarder: Forwarder,
    pub reload_stats: crate::reload::ReloadStats,
    pub metrics: crate::metrics::Metrics,
    /// Bumped by every UDP loop round (at least every 200 ms, idle or not):
    /// the systemd watchdog pings only while it moves.
    pub udp_heartbeat: std::sync::atomic::AtomicU64,
    stopping: AtomicBool,
}

impl State {
    pub fn new(config_path: &Path, snapshot: Snapshot) -> State {
        State {
            config_path: config_path.to_path_buf(),
            cache: ArcSwapOption::new(Cache::new(&snapshot.config.cache).map(Arc::new)),
            forwarder: Forwarder::new(),
            metrics: crate::metrics::Metrics::default(),
            udp_heartbeat: std::sync::atomic::AtomicU64::new(0),
            reload_stats: {
                let stats = crate::reload::ReloadStats::default();
                stats.mark_ok();
                stats
            },
            current: ArcSwap::from_pointee(snapshot),
            stopping: AtomicBool::new(false),
        }
    }

    /// The snapshot a query uses from start to end.
    pub fn snapshot(&self) -> Guard<Arc<Snapshot>> {
        self.current.load()
    }

    pub fn cache(&self) -> Guard<Option<Arc<Cache>>> {
        self.cache.load()
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Builds a new snapshot from the files on disk and swaps it in; on any
    /// error the running snapshot stays. Blocking (file I/O): call it off the
    /// async workers. Returns the old and the new snapshot.
    pub fn reload(&self) -> Result<(Arc<Snapshot>, Arc<Snapshot>), Diagnostics> {
        let old = self.current.load_full();
        let new = Arc::new(crate::load(&self.config_path, Some(&old))?);
        if new.config.cache != old.config.cache {
            self.cache
                .store(Cache::new(&new.config.cache).map(Arc::new));
        }
        self.current.store(new.clone());
        Ok((old, new))
    }
}

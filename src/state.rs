//! The daemon's shared state: the current snapshot behind an atomic
//! pointer (queries load it without locking; a reload swaps it whole), the
//! loader that builds the next one (config, record sources, state
//! directory), what the last load found broken, and the stop flag.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::{ArcSwap, ArcSwapOption, Guard};

use crate::cache::Cache;
use crate::diag::Diagnostics;
use crate::forward::Forwarder;
use crate::load::{Loader, Report};
use crate::snapshot::Snapshot;
use crate::sources::{Contents, SourceId};
use crate::statedir::StateDir;

/// A producer's news for its source, applied at the next rebuild.
#[derive(Debug)]
enum SourceOp {
    Submit(SourceId, Contents, bool),
    Fail(SourceId, Diagnostics),
    Remove(SourceId),
}

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
    /// The query path's counters and missing-name events.
    pub stats: crate::stats::Stats,
    /// The consumer of those events: log, register, subscribers.
    pub missing: crate::metrics::MissingNames,
    /// Azure sync's sources: progress for /metrics and the status page.
    pub sync: crate::sync::SyncRegistry,
    /// Bumped after every swap, for tasks that follow the config.
    swapped: tokio::sync::watch::Sender<u64>,
    /// Bumped by every UDP loop round (at least every 200 ms, idle or not):
    /// the systemd watchdog pings only while it moves.
    pub udp_heartbeat: std::sync::atomic::AtomicU64,
    stopping: AtomicBool,
    /// When the daemon started (wall clock, for display; and monotonic,
    /// for the uptime).
    pub started: std::time::SystemTime,
    pub started_at: std::time::Instant,
    /// Held by the reload task for the length of a rebuild, never by the
    /// query path or a metrics scrape.
    loader: Mutex<Loader>,
    state_dir: StateDir,
    /// Producers' submissions, taken by the next rebuild.
    pending: Mutex<Vec<SourceOp>>,
    /// Wakes the reload task when a producer submits.
    source_changed: tokio::sync::Notify,
    /// What the last load found broken (metrics, /healthz, systemd status).
    report: ArcSwap<Report>,
    /// Zone transfer: journals, NOTIFY, secondary zones, their counters;
    /// told of every swap.
    pub xfr: crate::xfr::replication::Replication,
}

impl State {
    /// `snapshot` and `report` are what `loader.start()` returned.
    pub fn new(loader: Loader, snapshot: Snapshot, report: Report) -> State {
        let stats = crate::reload::ReloadStats::default();
        stats.mark_loaded();
        State {
            config_path: loader.config_path().to_path_buf(),
            state_dir: loader.state_dir().clone(),
            cache: ArcSwapOption::new(Cache::new(&snapshot.config.cache).map(Arc::new)),
            forwarder: Forwarder::new(),
            stats: crate::stats::Stats::default(),
            missing: crate::metrics::MissingNames::default(),
            sync: crate::sync::SyncRegistry::default(),
            swapped: tokio::sync::watch::channel(0).0,
            udp_heartbeat: std::sync::atomic::AtomicU64::new(0),
            reload_stats: stats,
            current: ArcSwap::from_pointee(snapshot),
            stopping: AtomicBool::new(false),
            started: std::time::SystemTime::now(),
            started_at: std::time::Instant::now(),
            loader: Mutex::new(loader),
            pending: Mutex::new(Vec::new()),
            source_changed: tokio::sync::Notify::new(),
            report: ArcSwap::from_pointee(report),
            xfr: Default::default(),
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

    /// Where this daemon keeps its state; producers take a namespace of
    /// their own from it (`sync`, `zones`).
    pub fn state_dir(&self) -> &StateDir {
        &self.state_dir
    }

    /// What the last load found broken.
    pub fn report(&self) -> Guard<Arc<Report>> {
        self.report.load()
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// New contents for a producer's source (a pull, a transfer): the
    /// reload task rebuilds the table with them, through the same placement
    /// rules and all-or-nothing swap as a file. `from_state`: the contents
    /// were read back from the state directory (at start-up), not fetched.
    pub fn submit_source(&self, id: SourceId, contents: Contents, from_state: bool) {
        self.push(SourceOp::Submit(id, contents, from_state));
    }

    /// A producer's attempt failed: its last contents stay in service and
    /// the fault is reported (log, `pldns_config_valid`) until it submits.
    pub fn source_failed(&self, id: SourceId, error: Diagnostics) {
        self.push(SourceOp::Fail(id, error));
    }

    /// A producer's source is gone: its records leave the table.
    pub fn remove_source(&self, id: SourceId) {
        self.push(SourceOp::Remove(id));
    }

    fn push(&self, op: SourceOp) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(op);
        self.source_changed.notify_one();
    }

    /// Changes after every swap of the snapshot (a reload, a producer's
    /// submission): what follows the config in service (Azure sync's
    /// tasks) looks again.
    pub fn swaps(&self) -> tokio::sync::watch::Receiver<u64> {
        self.swapped.subscribe()
    }

    /// Resolves when a producer has submitted since the last call (a
    /// submit before the wait is not lost).
    pub async fn source_changed(&self) {
        self.source_changed.notified().await;
    }

    /// Rebuilds from the files on disk and the producers' submissions and
    /// swaps the result in. A broken source keeps its last good contents,
    /// a config that does not parse keeps the config in service, so there
    /// is always a snapshot to swap. Blocking (file I/O): call it off the
    /// async workers. Returns the old and the new snapshot and the report.
    /// `hold`: files being written right now; they keep their contents
    /// this time (see `reload`).
    pub fn reload(&self, hold: &[PathBuf]) -> (Arc<Snapshot>, Arc<Snapshot>, Arc<Report>) {
        let mut loader = self.loader.lock().unwrap_or_else(|e| e.into_inner());
        let ops = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let sources = loader.sources_mut();
        for op in ops {
            match op {
                SourceOp::Submit(id, contents, from_state) => {
                    sources.submit(id, contents, from_state)
                }
                SourceOp::Fail(id, error) => sources.fail(id, error),
                SourceOp::Remove(id) => sources.remove(&id),
            }
        }
        let old = self.current.load_full();
        let (new, report) = loader.reload(&old, hold);
        let new = Arc::new(new);
        if new.config.cache != old.config.cache {
            self.cache
                .store(Cache::new(&new.config.cache).map(Arc::new));
        }
        self.xfr.before_swap(&old, &new);
        self.current.store(new.clone());
        let mut report = report;
        report.state_error = loader.persist();
        let report = Arc::new(report);
        self.report.store(report.clone());
        self.swapped.send_modify(|n| *n = n.wrapping_add(1));
        // Zone transfer hears of the swap from `reload::apply`, once the
        // reload is counted and logged (`Replication::after_swap`).
        (old, new, report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostic;
    use crate::name::Name;
    use crate::sources::{Entry, EntryData};
    use std::time::{Duration, Instant};

    fn a(state: &State, name: &str) -> Vec<String> {
        let wire = Name::from_text(name).unwrap();
        state
            .snapshot()
            .node(wire.wire())
            .map(|n| n.a().iter().map(|ip| ip.to_string()).collect())
            .unwrap_or_default()
    }

    async fn until(what: &str, mut ok: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(3);
        while !ok() {
            assert!(Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The path Azure sync and secondary zones use: a producer inside the
    /// daemon submits, the reload task rebuilds and swaps.
    #[test]
    fn a_synthetic_producer_source_goes_through_the_reload_task() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("pldns.toml");
        std::fs::write(
            &cfg,
            "[server]\nstate_dir = \"state\"\n[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"a.hosts\"]\non_miss = \"nxdomain\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("a.hosts"),
            "10.0.0.1 one.blob.core.windows.net\n",
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut loader = Loader::new(&cfg, true);
            let (snap, report) = loader.start().unwrap();
            let state = Arc::new(State::new(loader, snap, report));
            let (_hup, hup_rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(crate::reload::start(state.clone(), hup_rx));
            let id = SourceId::Sync("test".into());
            let pulled = |ip: &str| {
                Contents::new(vec![Entry {
                    name: Name::from_text("pulled.blob.core.windows.net").unwrap(),
                    data: EntryData::A(ip.parse().unwrap()),
                    ttl: None,
                    line: 1,
                }])
            };
            state.submit_source(id.clone(), pulled("10.9.0.1"), false);
            until("first submission applied", || {
                a(&state, "pulled.privatelink.blob.core.windows.net") == ["10.9.0.1"]
            })
            .await;
            assert_eq!(
                a(&state, "one.privatelink.blob.core.windows.net"),
                ["10.0.0.1"]
            );
            // A burst: the last submission wins.
            state.submit_source(id.clone(), pulled("10.9.0.2"), false);
            state.submit_source(id.clone(), pulled("10.9.0.3"), false);
            until("last submission applied", || {
                a(&state, "pulled.privatelink.blob.core.windows.net") == ["10.9.0.3"]
            })
            .await;
            assert!(state.report().valid());
            // A failed pull keeps the last one and is reported.
            state.source_failed(
                id.clone(),
                Diagnostics(vec![Diagnostic::file(&id.label(), "sign-in failed")]),
            );
            until("failure reported", || !state.report().valid()).await;
            assert_eq!(
                a(&state, "pulled.privatelink.blob.core.windows.net"),
                ["10.9.0.3"]
            );
            state.remove_source(id);
            until("source removed", || {
                a(&state, "pulled.privatelink.blob.core.windows.net").is_empty()
            })
            .await;
            assert!(state.report().valid());
        });
    }

    /// A producer's kept state is in the first snapshot: submitted between
    /// `Loader::open` and `first_build`.
    #[test]
    fn kept_producer_contents_are_in_the_first_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("pldns.toml");
        std::fs::write(
            &cfg,
            "[server]\nstate_dir = \"state\"\n[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = []\non_miss = \"nxdomain\"\n",
        )
        .unwrap();
        let mut loader = Loader::new(&cfg, true);
        let (config, error) = loader.open().unwrap();
        assert_eq!(loader.state_dir().root(), dir.path().join("state"));
        loader.sources_mut().submit(
            SourceId::Sync("kept".into()),
            Contents::new(vec![Entry {
                name: Name::from_text("kept.privatelink.blob.core.windows.net").unwrap(),
                data: EntryData::A("10.9.9.9".parse().unwrap()),
                ttl: None,
                line: 1,
            }]),
            true,
        );
        let (snap, report) = loader.first_build(config, error);
        assert!(report.valid());
        assert!(report.sources[0].from_state);
        let state = State::new(loader, snap, report);
        assert_eq!(
            a(&state, "kept.privatelink.blob.core.windows.net"),
            ["10.9.9.9"]
        );
    }
}

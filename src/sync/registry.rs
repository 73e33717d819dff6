//! The daemon's sync sources as the rest of pldns sees them (one
//! [`SyncRegistry`] in `State`): their progress for the status page
//! ([`SyncRegistry::status`]) and /metrics, and the door a missed name
//! knocks on to ask for an early pull ([`SyncRegistry::missed`]). The
//! tasks that pull (`task`) write here; readers take a short lock, never
//! one the query path holds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;

use super::schedule::Kind;
use super::{PullResult, SyncError, SyncMetrics};
use crate::config::SyncConfig;
use crate::name::Name;
use crate::sources::SourceId;

/// How the last pull of a source ended.
#[derive(Debug, Clone, PartialEq)]
pub struct PullOutcome {
    pub ended: SystemTime,
    pub took: Duration,
    pub result: PullResult,
    /// Why it failed (never a secret); `None` when it worked.
    pub error: Option<String>,
    /// It was an early pull (asked for by a miss).
    pub early: bool,
}

/// One sync source, for the status page.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncStatus {
    /// `sync:<name>`, as logs, metrics and `FILE:LINE` messages name it.
    pub id: SourceId,
    /// "subscription <id> (<resource groups>)".
    pub scope: String,
    /// public, china or usgov.
    pub cloud: &'static str,
    /// Kind and IDs, never the secret.
    pub credential: String,
    /// "private-endpoints", "private-dns-zones".
    pub pulls: Vec<&'static str>,
    pub interval: Duration,
    pub min_interval: Duration,
    /// A pull is running now.
    pub pulling: bool,
    pub last_pull: Option<PullOutcome>,
    pub last_success: Option<SystemTime>,
    /// Records in the pull in service (the kept one until the first pull).
    pub records: Option<usize>,
    /// While the pull in service is the one kept in the state directory
    /// (no pull has worked since start-up): when that pull ended.
    pub serving_kept_pull_from: Option<SystemTime>,
    /// When the next pull starts unless a miss asks sooner (`None` while one
    /// runs, or when the source cannot run).
    pub next_pull: Option<SystemTime>,
    /// A miss asked for an early pull that has not started yet.
    pub early_pending: bool,
    pub early_pulls: u64,
    pub early_coalesced: u64,
    /// The zones a miss in which asks this source for an early pull;
    /// `None`: every zone with records.
    pub feeds: Option<Vec<Name>>,
    /// The last failure to write the kept copy, until a write works.
    pub kept_error: Option<String>,
}

/// What changes while a source runs.
#[derive(Debug, Default, Clone)]
pub(super) struct Progress {
    pub pulling: bool,
    pub last: Option<PullOutcome>,
    pub last_success: Option<SystemTime>,
    pub records: Option<usize>,
    pub kept_from: Option<SystemTime>,
    pub next: Option<SystemTime>,
    pub feeds: Option<Vec<Name>>,
    pub kept_error: Option<String>,
}

/// One source: fixed facts, counters, the early-pull request, progress.
pub(super) struct Handle {
    pub id: SourceId,
    pub name: String,
    pub config: SyncConfig,
    pub credential: String,
    pub metrics: Arc<SyncMetrics>,
    early: AtomicBool,
    /// Wakes the source's task: an early pull was asked for.
    pub wake: Notify,
    progress: Mutex<Progress>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Handle {
    pub fn new(
        name: String,
        config: SyncConfig,
        credential: String,
        metrics: Arc<SyncMetrics>,
        progress: Progress,
    ) -> Handle {
        Handle {
            id: SourceId::Sync(name.clone()),
            name,
            config,
            credential,
            metrics,
            early: AtomicBool::new(false),
            wake: Notify::new(),
            progress: Mutex::new(progress),
        }
    }

    pub fn progress(&self) -> MutexGuard<'_, Progress> {
        lock(&self.progress)
    }

    /// Asks for an early pull; one already pending absorbs this one.
    pub fn ask_early(&self) {
        if self.early.swap(true, Ordering::AcqRel) {
            self.metrics.coalesced();
        } else {
            self.wake.notify_one();
        }
    }

    pub fn early_pending(&self) -> bool {
        self.early.load(Ordering::Acquire)
    }

    /// A pull starts: it answers every miss seen so far.
    pub fn take_early(&self) {
        self.early.store(false, Ordering::Release);
    }

    fn feeds(&self, zone: &Name) -> bool {
        self.progress()
            .feeds
            .as_ref()
            .is_none_or(|zones| zones.contains(zone))
    }

    pub fn set_next(&self, at: Option<Instant>) {
        let now = Instant::now();
        self.progress().next = at.map(|at| SystemTime::now() + at.saturating_duration_since(now));
    }

    pub fn started(&self) {
        let mut p = self.progress();
        p.pulling = true;
        p.next = None;
    }

    /// A pull worked: `records` entries, feeding `feeds`.
    pub fn pulled(&self, kind: Kind, took: Duration, records: usize, feeds: Option<Vec<Name>>) {
        let ended = SystemTime::now();
        let mut p = self.progress();
        p.pulling = false;
        p.last = Some(PullOutcome {
            ended,
            took,
            result: PullResult::Ok,
            error: None,
            early: kind == Kind::Early,
        });
        p.last_success = Some(ended);
        p.records = Some(records);
        p.kept_from = None;
        p.feeds = feeds;
    }

    pub fn failed(&self, kind: Kind, took: Duration, error: &SyncError) {
        let mut p = self.progress();
        p.pulling = false;
        p.last = Some(PullOutcome {
            ended: SystemTime::now(),
            took,
            result: error.result(),
            error: Some(error.to_string()),
            early: kind == Kind::Early,
        });
    }

    fn status(&self) -> SyncStatus {
        let p = self.progress().clone();
        let c = &self.config;
        let mut pulls = Vec::new();
        if c.pull.private_endpoints {
            pulls.push("private-endpoints");
        }
        if c.pull.private_dns_zones {
            pulls.push("private-dns-zones");
        }
        SyncStatus {
            id: self.id.clone(),
            scope: c.label(),
            cloud: c.cloud.label(),
            credential: self.credential.clone(),
            pulls,
            interval: c.interval,
            min_interval: c.min_interval,
            pulling: p.pulling,
            last_pull: p.last,
            last_success: p.last_success,
            records: p.records,
            serving_kept_pull_from: p.kept_from,
            next_pull: p.next,
            early_pending: self.early_pending(),
            early_pulls: self.metrics.early_pulls(),
            early_coalesced: self.metrics.early_coalesced(),
            feeds: p.feeds,
            kept_error: p.kept_error,
        }
    }
}

/// Every sync source of the daemon, in config order.
#[derive(Default)]
pub struct SyncRegistry {
    sources: Mutex<Vec<Arc<Handle>>>,
}

impl SyncRegistry {
    /// Each source's progress, in config order (empty without `[[sync]]`).
    pub fn status(&self) -> Vec<SyncStatus> {
        lock(&self.sources).iter().map(|h| h.status()).collect()
    }

    /// `name` was asked in `zone`, whose table lacks it: every source whose
    /// pulls can produce names there pulls early (or already will).
    pub fn missed(&self, zone: &Name) {
        for h in lock(&self.sources).iter() {
            if h.feeds(zone) {
                h.ask_early();
            }
        }
    }

    /// The `pldns_sync_*` series of every source.
    pub fn write_prometheus(&self, out: &mut String) {
        let sources = lock(&self.sources).clone();
        let labels: Vec<String> = sources.iter().map(|h| h.id.to_string()).collect();
        let series: Vec<(&str, &SyncMetrics)> = labels
            .iter()
            .zip(&sources)
            .map(|(l, h)| (l.as_str(), &*h.metrics))
            .collect();
        super::write_prometheus(out, &series);
    }

    pub(super) fn set(&self, sources: Vec<Arc<Handle>>) {
        *lock(&self.sources) = sources;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(name: &str, feeds: Option<Vec<Name>>) -> Arc<Handle> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pldns.toml");
        std::fs::write(
            &path,
            "[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = []\non_miss = \"nxdomain\"\n[[sync]]\nsubscription = \"00000000-0000-0000-0000-000000000000\"\ncredential = \"managed-identity\"\n",
        )
        .unwrap();
        let config = crate::config::load(&path).unwrap();
        let progress = Progress {
            feeds,
            ..Progress::default()
        };
        Arc::new(Handle::new(
            name.into(),
            config.sync[0].clone(),
            "managed-identity".into(),
            Arc::default(),
            progress,
        ))
    }

    #[test]
    fn a_miss_asks_the_sources_that_feed_its_zone_once() {
        let blob = Name::from_text("privatelink.blob.core.windows.net").unwrap();
        let queue = Name::from_text("privatelink.queue.core.windows.net").unwrap();
        let endpoints = handle("pe", None);
        let dns_zones = handle("zones", Some(vec![queue.clone()]));
        let registry = SyncRegistry::default();
        registry.set(vec![endpoints.clone(), dns_zones.clone()]);

        registry.missed(&blob);
        assert!(endpoints.early_pending());
        assert!(
            !dns_zones.early_pending(),
            "it has no Private DNS zone for blob"
        );
        for _ in 0..5 {
            registry.missed(&blob);
        }
        assert_eq!(endpoints.metrics.early_coalesced(), 5);
        registry.missed(&queue);
        assert!(dns_zones.early_pending());
        endpoints.take_early();
        assert!(!endpoints.early_pending());

        let status = registry.status();
        assert_eq!(status.len(), 2);
        assert_eq!(status[0].id.to_string(), "sync:pe");
        assert_eq!(status[0].feeds, None);
        assert_eq!(status[1].feeds, Some(vec![queue]));
        assert!(status[1].early_pending);
        assert_eq!(status[0].pulls, ["private-endpoints", "private-dns-zones"]);
    }
}

//! Reload while serving: file watching (notify) and SIGHUP feed one reload
//! task; bursts of events are coalesced into one rebuild; the rebuild runs
//! off the query path and is swapped in whole, or not at all.
//!
//! Directories are watched, not files: an editor's write-to-temp-then-rename
//! replaces the file's inode, and a watch on the old inode would go deaf.
//! After every reload the watches are renewed, so a records directory that
//! was replaced whole is watched again.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::snapshot::Snapshot;
use crate::state::State;

/// Quiet time that ends a burst of file events.
const SETTLE: Duration = Duration::from_millis(150);
/// A burst that never settles is still applied after this long, so an edit
/// takes effect within the two seconds the contract promises.
const MAX_DELAY: Duration = Duration::from_millis(1000);

/// Reload counters, for logs now and the metrics endpoint.
#[derive(Default)]
pub struct ReloadStats {
    pub ok: AtomicU64,
    pub failed: AtomicU64,
    /// Unix seconds of the last reload that applied (or of start-up).
    pub last_ok_unix: AtomicU64,
}

impl ReloadStats {
    pub fn mark_ok(&self) {
        self.ok.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.last_ok_unix.store(now, Ordering::Relaxed);
    }
}

/// Why a reload runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Signal,
    Files,
}

/// What a reload changed, for the log line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    pub zones_added: Vec<String>,
    pub zones_removed: Vec<String>,
    pub records_added: usize,
    pub records_removed: usize,
    pub config_changed: bool,
}

impl Diff {
    pub fn between(old: &Snapshot, new: &Snapshot) -> Diff {
        let names = |s: &Snapshot| {
            s.zones
                .iter()
                .map(|z| z.name.to_string())
                .collect::<BTreeSet<_>>()
        };
        let (before, after) = (names(old), names(new));
        let (records_added, records_removed) = new.record_diff(old);
        Diff {
            zones_added: after.difference(&before).cloned().collect(),
            zones_removed: before.difference(&after).cloned().collect(),
            records_added,
            records_removed,
            config_changed: old.config != new.config,
        }
    }
}

/// Every path whose change means a reload, and the directories to watch to
/// see them.
struct Watched {
    config: PathBuf,
    files: BTreeSet<PathBuf>,
    dirs: BTreeSet<PathBuf>,
    watch: BTreeSet<PathBuf>,
}

impl Watched {
    fn of(config_path: &Path, snap: &Snapshot) -> Watched {
        let mut w = Watched {
            config: config_path.to_path_buf(),
            files: BTreeSet::new(),
            dirs: BTreeSet::new(),
            watch: BTreeSet::new(),
        };
        if let Some(parent) = config_path.parent() {
            w.watch.insert(parent.to_path_buf());
        }
        for source in snap
            .config
            .zones
            .iter()
            .flat_map(|z| z.records.iter().flatten())
        {
            if source.is_dir() {
                w.dirs.insert(source.clone());
                w.watch.insert(source.clone());
            } else {
                w.files.insert(source.clone());
            }
            // The parent sees the source itself being created, removed or
            // replaced (a directory swapped in by rename included).
            if let Some(parent) = source.parent() {
                w.watch.insert(parent.to_path_buf());
            }
        }
        w
    }

    fn is_relevant(&self, path: &Path) -> bool {
        path == self.config
            || self.files.contains(path)
            || self.dirs.contains(path)
            || path
                .parent()
                .is_some_and(|p| self.dirs.contains(p) && crate::records::is_record_file_name(path))
    }
}

/// Runs the reload task until the process ends: reacts to SIGHUP (`hup`)
/// and to changes of the config and record files.
pub async fn run(state: Arc<State>, mut hup: mpsc::UnboundedReceiver<()>) {
    let (tx, mut events) = mpsc::unbounded_channel::<notify::Event>();
    let mut watcher: Option<RecommendedWatcher> =
        match notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(event) = res {
                let _ = tx.send(event);
            }
        }) {
            Ok(w) => Some(w),
            Err(e) => {
                warn!("file watching unavailable ({e}); reload with SIGHUP");
                None
            }
        };
    let mut watched = Watched::of(state.config_path(), &state.snapshot());
    renew_watches(&mut watcher, &watched, &BTreeSet::new());

    loop {
        let trigger = tokio::select! {
            Some(()) = hup.recv() => Trigger::Signal,
            Some(event) = events.recv() => {
                if !changes_content(&event) || !event.paths.iter().any(|p| watched.is_relevant(p)) {
                    continue;
                }
                debug!(paths = ?event.paths, "record or config file changed");
                Trigger::Files
            }
            else => return,
        };
        // Coalesce the burst: one rebuild, from the last state on disk.
        let started = Instant::now();
        while started.elapsed() < MAX_DELAY {
            match tokio::time::timeout(SETTLE, events.recv()).await {
                Ok(Some(e)) if changes_content(&e) => continue,
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        while hup.try_recv().is_ok() {}
        apply(&state, trigger).await;
        let previous = std::mem::take(&mut watched.watch);
        watched = Watched::of(state.config_path(), &state.snapshot());
        renew_watches(&mut watcher, &watched, &previous);
    }
}

/// Reading a file raises access events too, our own reloads' reads
/// included: reacting to those would reload forever. Only creation,
/// modification (data, metadata such as `touch`, renames) and removal count.
fn changes_content(event: &notify::Event) -> bool {
    use notify::EventKind;
    matches!(
        event.kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any
    )
}

fn renew_watches(
    watcher: &mut Option<RecommendedWatcher>,
    watched: &Watched,
    previous: &BTreeSet<PathBuf>,
) {
    let Some(w) = watcher else { return };
    for gone in previous.difference(&watched.watch) {
        let _ = w.unwatch(gone);
    }
    for dir in &watched.watch {
        // Re-adding renews a watch on a directory that was replaced.
        let _ = w.unwatch(dir);
        if let Err(e) = w.watch(dir, RecursiveMode::NonRecursive) {
            debug!(dir = %dir.display(), error = %e, "cannot watch");
        }
    }
}

/// Rebuilds from disk and swaps the result in, logging what changed; on
/// error logs every `FILE:LINE: reason` and keeps what runs.
pub async fn apply(state: &Arc<State>, trigger: Trigger) {
    let started = Instant::now();
    let st = state.clone();
    // A thread of its own at low priority: the rebuild reads files and
    // builds the table while the query threads keep their CPU.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("pldns-reload".into())
        .spawn(move || {
            crate::sys::lower_thread_priority();
            let _ = tx.send(st.reload());
        });
    let result = match spawned {
        Ok(_) => rx.await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(Ok((old, new))) => {
            state.reload_stats.mark_ok();
            let diff = Diff::between(&old, &new);
            info!(
                trigger = ?trigger,
                ms,
                records = new.record_count(),
                zones = new.zones.len(),
                records_added = diff.records_added,
                records_removed = diff.records_removed,
                zones_added = ?diff.zones_added,
                zones_removed = ?diff.zones_removed,
                config_changed = diff.config_changed,
                "reload applied in {ms} ms: +{} -{} records",
                diff.records_added,
                diff.records_removed,
            );
            if new.config.listen != old.config.listen {
                warn!(
                    "listen addresses changed ({:?} -> {:?}); restart pldns to apply them",
                    old.config.listen, new.config.listen
                );
            }
            if new.config.metrics != old.config.metrics {
                warn!("the metrics address changed; restart pldns to apply it");
            }
        }
        Ok(Err(diags)) => {
            state.reload_stats.failed.fetch_add(1, Ordering::Relaxed);
            for d in diags.iter() {
                error!("{d}");
            }
            error!(
                trigger = ?trigger,
                "reload failed: {} error(s); the previous configuration and records stay in service",
                diags.len()
            );
        }
        Err(e) => {
            state.reload_stats.failed.fetch_add(1, Ordering::Relaxed);
            error!("reload task failed: {e}");
        }
    }
}

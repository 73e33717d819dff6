//! Reload while serving: file watching (notify) and SIGHUP feed one reload
//! task; bursts of events are coalesced into one rebuild; the rebuild runs
//! off the query path and is swapped in whole, or not at all.
//!
//! Directories are watched, not files: an editor's write-to-temp-then-rename
//! replaces the file's inode, and a watch on the old inode would go deaf.
//! After every reload the watches are renewed, so a records directory that
//! was replaced whole is watched again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::load::Report;
use crate::logging::List;
use crate::snapshot::Snapshot;
use crate::sources::EMPTY_GRACE;
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
    /// The last reload, for the status page (written by the reload task,
    /// read by scrapes; the query path never looks).
    last: ArcSwapOption<LastReload>,
}

/// What the last reload did: when, why, how long it took and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastReload {
    pub at: SystemTime,
    pub trigger: Trigger,
    pub took: Duration,
    pub diff: Diff,
}

impl ReloadStats {
    /// The start-up load: the table's time, not a reload.
    pub fn mark_loaded(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.last_ok_unix.store(now, Ordering::Relaxed);
    }

    pub fn mark_ok(&self) {
        self.ok.fetch_add(1, Ordering::Relaxed);
        self.mark_loaded();
    }

    /// The last reload, `None` until the first one (the start-up load is
    /// not a reload).
    pub fn last(&self) -> Option<Arc<LastReload>> {
        self.last.load_full()
    }

    fn set_last(&self, last: LastReload) {
        self.last.store(Some(Arc::new(last)));
    }
}

/// Why a reload runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Signal,
    Files,
    /// A producer (Azure sync, a secondary zone) submitted new contents.
    Source,
}

impl Trigger {
    pub fn label(self) -> &'static str {
        match self {
            Trigger::Signal => "SIGHUP",
            Trigger::Files => "files",
            Trigger::Source => "source",
        }
    }
}

/// While anything is broken, the log says so again this often.
const REMINDER: Duration = Duration::from_secs(600);

/// What a reload changed, for the log line and the status page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// Directories to watch, with their (device, inode) when they exist: a
    /// directory replaced by a rename needs a new watch, an unchanged one
    /// keeps its own (dropping and adding it again would miss the events
    /// in between).
    watch: BTreeMap<PathBuf, Option<(u64, u64)>>,
}

fn identity(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir).ok().map(|m| (m.dev(), m.ino()))
}

impl Watched {
    fn of(config_path: &Path, snap: &Snapshot) -> Watched {
        let mut w = Watched {
            config: config_path.to_path_buf(),
            files: BTreeSet::new(),
            dirs: BTreeSet::new(),
            watch: BTreeMap::new(),
        };
        if let Some(parent) = config_path.parent() {
            w.watch.insert(parent.to_path_buf(), None);
        }
        for source in snap
            .config
            .zones
            .iter()
            .flat_map(|z| z.records.iter().flatten())
        {
            if source.is_dir() {
                w.dirs.insert(source.clone());
                w.watch.insert(source.clone(), None);
            } else {
                w.files.insert(source.clone());
            }
            // The parent sees the source itself being created, removed or
            // replaced (a directory swapped in by rename included).
            if let Some(parent) = source.parent() {
                w.watch.insert(parent.to_path_buf(), None);
            }
        }
        for (dir, id) in w.watch.iter_mut() {
            *id = identity(dir);
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

/// Sets up the file watches now (so that an edit made as soon as `serve`
/// says it is listening is seen) and returns the reload task, to run until
/// the process ends: it reacts to SIGHUP (`hup`), to changes of the config
/// and record files, and to producers' submissions.
pub fn start(
    state: Arc<State>,
    hup: mpsc::UnboundedReceiver<()>,
) -> impl std::future::Future<Output = ()> {
    let (tx, events) = mpsc::unbounded_channel::<notify::Event>();
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
    let watched = Watched::of(state.config_path(), &state.snapshot());
    let _ = renew_watches(&mut watcher, &watched, &BTreeMap::new());
    run(state, hup, watcher, watched, events)
}

async fn run(
    state: Arc<State>,
    mut hup: mpsc::UnboundedReceiver<()>,
    mut watcher: Option<RecommendedWatcher>,
    mut watched: Watched,
    mut events: mpsc::UnboundedReceiver<notify::Event>,
) {
    let mut reminder = tokio::time::interval(REMINDER);
    reminder.tick().await;
    // A rebuild that had to leave files being written alone comes back
    // for them once they are quiet.
    let mut follow_up: Option<tokio::time::Instant> = None;
    // The last change seen to each file, kept across rounds for EMPTY_GRACE.
    let mut changed: HashMap<PathBuf, Instant> = HashMap::new();

    loop {
        let mut recent: HashMap<PathBuf, Instant> = HashMap::new();
        let trigger = tokio::select! {
            Some(()) = hup.recv() => Trigger::Signal,
            () = state.source_changed() => Trigger::Source,
            () = sleep_until(follow_up), if follow_up.is_some() => Trigger::Files,
            _ = reminder.tick() => {
                remind(&state.report());
                continue;
            }
            Some(event) = events.recv() => {
                if !changes_content(&event) || !event.paths.iter().any(|p| watched.is_relevant(p)) {
                    continue;
                }
                debug!(paths = ?List(&event.paths.iter().map(|p| p.display()).collect::<Vec<_>>()), "record or config file changed");
                note(&mut recent, &event);
                Trigger::Files
            }
            else => return,
        };
        follow_up = None;
        // Coalesce the burst: one rebuild, from the last state on disk.
        let started = Instant::now();
        let mut settled = false;
        while started.elapsed() < MAX_DELAY {
            match tokio::time::timeout(SETTLE, events.recv()).await {
                Ok(Some(e)) if changes_content(&e) => note(&mut recent, &e),
                Ok(Some(_)) => {}
                _ => {
                    settled = true;
                    break;
                }
            }
        }
        // A file written to in the last SETTLE may be half written (an
        // in-place save truncates, then writes): it keeps what it had until
        // it is quiet, and the rest of the burst applies now.
        let hold: Vec<PathBuf> = if settled {
            Vec::new()
        } else {
            recent
                .iter()
                .filter(|(_, t)| t.elapsed() < SETTLE)
                .map(|(p, _)| p.clone())
                .collect()
        };
        if !hold.is_empty() {
            follow_up = Some(tokio::time::Instant::now() + SETTLE);
        }
        // A record file an edit left empty keeps its contents for
        // EMPTY_GRACE (sources::files): come back once that is over, so a
        // file emptied on purpose takes effect.
        changed.retain(|_, t| t.elapsed() < EMPTY_GRACE);
        changed.extend(recent);
        for (path, at) in &changed {
            if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
                let again = tokio::time::Instant::from_std(*at + EMPTY_GRACE);
                follow_up = Some(follow_up.map_or(again, |f| f.min(again)));
            }
        }
        while hup.try_recv().is_ok() {}
        apply(&state, trigger, &hold).await;
        let previous = std::mem::take(&mut watched.watch);
        watched = Watched::of(state.config_path(), &state.snapshot());
        if renew_watches(&mut watcher, &watched, &previous) {
            follow_up.get_or_insert(tokio::time::Instant::now() + SETTLE);
        }
    }
}

fn note(recent: &mut HashMap<PathBuf, Instant>, event: &notify::Event) {
    let now = Instant::now();
    for p in &event.paths {
        recent.insert(p.clone(), now);
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
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

/// Returns true when a directory got a new watch: what was written into
/// it before the watch was in place went unseen, so it must be read again.
fn renew_watches(
    watcher: &mut Option<RecommendedWatcher>,
    watched: &Watched,
    previous: &BTreeMap<PathBuf, Option<(u64, u64)>>,
) -> bool {
    let Some(w) = watcher else { return false };
    let mut added = false;
    for gone in previous.keys().filter(|d| !watched.watch.contains_key(*d)) {
        let _ = w.unwatch(gone);
    }
    for (dir, id) in &watched.watch {
        match previous.get(dir) {
            Some(old) if old.is_some() && old == id => continue,
            // Replaced (or newly created): the old watch follows the old
            // inode, so it is dropped and the directory watched again.
            Some(_) => {
                let _ = w.unwatch(dir);
            }
            None => {}
        }
        match w.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => added = true,
            Err(e) => debug!(dir = %dir.display(), error = %e, "cannot watch"),
        }
    }
    added
}

/// Rebuilds from disk and swaps the result in, logging what changed and
/// every `FILE:LINE: reason` that keeps something out of service (those
/// sources serve their last good contents; a config that does not parse
/// keeps the config in service).
/// `hold`: files being written to right now, which keep their contents
/// this time.
pub async fn apply(state: &Arc<State>, trigger: Trigger, hold: &[PathBuf]) {
    let started = Instant::now();
    let st = state.clone();
    let before = state.report();
    let hold = hold.to_vec();
    // A thread of its own at low priority: the rebuild reads files and
    // builds the table while the query threads keep their CPU.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("pldns-reload".into())
        .spawn(move || {
            crate::sys::lower_thread_priority();
            let _ = tx.send(st.reload(&hold));
        });
    let result = match spawned {
        Ok(_) => rx.await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let ms = started.elapsed().as_millis() as u64;
    let (old, new, report) = match result {
        Ok(r) => r,
        Err(e) => {
            state.reload_stats.failed.fetch_add(1, Ordering::Relaxed);
            error!("reload task failed: {e}");
            return;
        }
    };
    if report.valid() {
        state.reload_stats.mark_ok();
    } else {
        state.reload_stats.failed.fetch_add(1, Ordering::Relaxed);
    }
    log_warnings(&report, Some(&before));
    log_errors(&report);
    let diff = Diff::between(&old, &new);
    info!(
        trigger = trigger.label(),
        ms,
        records = new.record_count(),
        zones = new.zones.len(),
        records_added = diff.records_added,
        records_removed = diff.records_removed,
        zones_added = ?List(&diff.zones_added),
        zones_removed = ?List(&diff.zones_removed),
        config_changed = diff.config_changed,
        "reload applied in {ms} ms: +{} -{} records",
        diff.records_added,
        diff.records_removed,
    );
    state.reload_stats.set_last(LastReload {
        at: SystemTime::now(),
        trigger,
        took: Duration::from_millis(ms),
        diff,
    });
    if new.config.listen != old.config.listen {
        warn!(
            "listen addresses changed ({:?} -> {:?}); restart pldns to apply them",
            old.config.listen, new.config.listen
        );
    }
    if new.config.metrics != old.config.metrics {
        warn!("the metrics address changed; restart pldns to apply it");
    }
    crate::status::notify_systemd(&new, &report);
    // Zone transfer: keep the serials, NOTIFY the secondaries of zones that
    // changed, start or stop secondary zones (file I/O: off the workers).
    let st = state.clone();
    let after = tokio::task::spawn_blocking(move || st.xfr.after_swap(Some(&old), &new));
    if let Err(e) = after.await {
        error!("zone transfer's part of the reload failed: {e}");
    }
}

/// Warnings new since `before` (all of them at start-up): a warning that
/// stays is not repeated at every reload.
pub fn log_warnings(report: &Report, before: Option<&Report>) {
    for w in &report.warnings {
        if before.is_none_or(|b| !b.warnings.contains(w)) {
            warn!("{w}");
        }
    }
}

/// Every error, then what is served instead.
pub fn log_errors(report: &Report) {
    for line in crate::status::error_lines(report) {
        error!("{line}");
    }
}

fn remind(report: &Report) {
    if !report.valid() {
        warn!("still broken: {}", crate::status::one_line(report));
    }
}

//! Azure sync inside `serve`: one task per `[[sync]]` table, started,
//! stopped and restarted as config reloads add, remove or change tables
//! (or the zones they fill), and the listener that turns missed names into
//! early pulls. The kept pulls read at start-up seed each source.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::kept::{self, KeptPull, Restored};
use super::registry::{Handle, Progress};
use super::{SyncMetrics, SyncOptions, SyncSource, source_names, task};
use crate::config::{Config, SyncConfig};
use crate::name::Name;
use crate::sources::SourceId;
use crate::state::State;

/// Missed-name events the listener may fall behind by; a burst beyond it
/// loses events, not early pulls (one is pending already).
const MISS_BACKLOG: usize = 1024;

/// What a running task was started from: a change restarts it.
#[derive(PartialEq)]
struct Fingerprint {
    table: SyncConfig,
    /// The zones with records (the Private DNS zones to read, and where
    /// names are placed).
    zones: Vec<Name>,
}

struct Running {
    fingerprint: Fingerprint,
    handle: Arc<Handle>,
    source: Option<Arc<SyncSource>>,
    task: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// Runs Azure sync for the daemon until the process ends. `restored`: the
/// kept pulls `kept::restore` handed to the first table.
pub async fn run(state: Arc<State>, restored: Restored) {
    let mut kept = restored.pulls;
    let mut misses = state.missing.subscribe(MISS_BACKLOG);
    let mut swaps = state.swaps();
    let mut running: HashMap<String, Running> = HashMap::new();
    reconcile(&state, &mut running, &mut kept);
    remove_stale_copies(&state, &running).await;
    loop {
        tokio::select! {
            missed = misses.recv() => match missed {
                Some(m) => state.sync.missed(&m.zone),
                None => misses = state.missing.subscribe(MISS_BACKLOG),
            },
            changed = swaps.changed() => {
                if changed.is_err() {
                    return;
                }
                if reconcile(&state, &mut running, &mut kept) {
                    remove_stale_copies(&state, &running).await;
                }
            }
        }
    }
}

/// Brings the tasks in line with the config in service. Returns true when
/// a source went away.
fn reconcile(
    state: &Arc<State>,
    running: &mut HashMap<String, Running>,
    kept: &mut HashMap<String, KeptPull>,
) -> bool {
    let config = state.snapshot().config.clone();
    let names = source_names(&config.sync);
    let zones: Vec<Name> = config
        .zones
        .iter()
        .filter(|z| z.has_records())
        .map(|z| z.name.clone())
        .collect();
    let gone: Vec<String> = running
        .keys()
        .filter(|n| !names.contains(n))
        .cloned()
        .collect();
    for name in &gone {
        running.remove(name);
        info!("sync:{name}: its [[sync]] table is gone; its records leave the table");
        state.remove_source(SourceId::Sync(name.clone()));
    }
    let mut changed = !gone.is_empty();
    for (i, name) in names.iter().enumerate() {
        let fingerprint = Fingerprint {
            table: config.sync[i].clone(),
            zones: zones.clone(),
        };
        let previous = match running.remove(name) {
            Some(r) if r.fingerprint == fingerprint => {
                running.insert(name.clone(), r);
                continue;
            }
            other => other,
        };
        if previous.is_some() {
            info!("sync:{name}: its [[sync]] table or the zones changed; pulling again");
        }
        changed = true;
        let r = start(
            state,
            &config,
            i,
            name,
            fingerprint,
            previous,
            kept.remove(name),
        );
        running.insert(name.clone(), r);
    }
    if changed {
        let handles = names
            .iter()
            .filter_map(|n| running.get(n).map(|r| r.handle.clone()))
            .collect();
        state.sync.set(handles);
    }
    !gone.is_empty()
}

/// Starts the task of `config.sync[index]`, carrying over what the task it
/// replaces (or the kept pull) knew.
fn start(
    state: &Arc<State>,
    config: &Arc<Config>,
    index: usize,
    name: &str,
    fingerprint: Fingerprint,
    previous: Option<Running>,
    kept: Option<KeptPull>,
) -> Running {
    let table = &config.sync[index];
    let (metrics, mut progress, entries) = match &previous {
        Some(p) => (
            p.handle.metrics.clone(),
            p.handle.progress().clone(),
            p.source.as_ref().and_then(|s| s.previous()),
        ),
        None => (Arc::new(SyncMetrics::default()), Progress::default(), None),
    };
    drop(previous);
    progress.pulling = false;
    progress.next = None;
    let entries = match kept {
        Some(k) => {
            info!(
                "sync:{name}: serving the pull kept in the state directory ({} records, pulled {}) until a pull works",
                k.pull.entries.len(),
                httpdate::fmt_http_date(k.pulled_at)
            );
            progress.records = Some(k.pull.entries.len());
            progress.kept_from = Some(k.pulled_at);
            if !table.pull.private_endpoints {
                progress.feeds = Some(k.pull.zones.clone());
            }
            Some(k.pull.entries)
        }
        None => entries,
    };
    if table.pull.private_endpoints {
        progress.feeds = None;
    }
    let id = SourceId::Sync(name.to_string());
    let source = SyncSource::new(config.clone(), index, SyncOptions::default()).map(|s| {
        Arc::new(
            s.with_metrics(metrics.clone())
                .with_previous(entries)
                .with_log_name(id.to_string()),
        )
    });
    let credential = match &source {
        Ok(s) => s.credential().to_string(),
        Err(_) => table.credential.kind().to_string(),
    };
    let handle = Arc::new(Handle::new(
        name.to_string(),
        table.clone(),
        credential,
        metrics,
        progress,
    ));
    match source {
        Ok(source) => {
            let task = tokio::spawn(task::run(state.clone(), handle.clone(), source.clone()));
            Running {
                fingerprint,
                handle,
                source: Some(source),
                task: Some(task),
            }
        }
        Err(e) => {
            warn!("{id}: cannot pull: {e}");
            state.source_failed(id.clone(), task::failure(&id, &e.to_string()));
            Running {
                fingerprint,
                handle,
                source: None,
                task: None,
            }
        }
    }
}

/// Removes the kept pulls of sources that are no longer configured (as the
/// copies of record files that are no longer sources are).
async fn remove_stale_copies(state: &Arc<State>, running: &HashMap<String, Running>) {
    let ns = kept::namespace(state.state_dir());
    let live: Vec<std::path::PathBuf> = running.keys().map(|n| kept::key(n)).collect();
    let removed = tokio::task::spawn_blocking(move || {
        let mut removed = Vec::new();
        for key in ns.keys(None).unwrap_or_default() {
            if !live.contains(&key) && ns.remove(&key).is_ok() {
                removed.push(key);
            }
        }
        removed
    })
    .await
    .unwrap_or_default();
    for key in removed {
        info!(
            "removed the kept pull {} (no [[sync]] reads it any more)",
            key.display()
        );
    }
}

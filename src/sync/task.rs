//! One source's task inside `serve`: pull when the schedule says so, hand
//! each good pull to the table (the same placement and all-or-nothing swap
//! as a file) and to the state directory, report a failed one while the
//! previous pull stays in service.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tracing::warn;

use super::registry::Handle;
use super::schedule::{Kind, Next, Schedule};
use super::{SyncSource, kept};
use crate::diag::{Diagnostic, Diagnostics};
use crate::state::State;

/// Runs `source` until the task is aborted (its table removed or changed).
pub(super) async fn run(state: Arc<State>, handle: Arc<Handle>, source: Arc<SyncSource>) {
    let id = handle.id.clone();
    let ns = kept::namespace(state.state_dir());
    let key = kept::key(&handle.name);
    let mut schedule = Schedule::new(Instant::now(), source.interval(), source.min_interval());
    // The failure the table was last told about: the same one again does
    // not rebuild the table and log it again at every retry.
    let mut reported: Option<String> = None;
    loop {
        let now = Instant::now();
        let kind = match schedule.next(now, handle.early_pending()) {
            Next::Pull(kind) => kind,
            Next::Wait(at) => {
                handle.set_next(Some(at));
                tokio::select! {
                    () = tokio::time::sleep_until(at.into()) => {}
                    () = handle.wake.notified() => {}
                }
                continue;
            }
        };
        // This pull reads Azure after every miss seen so far: they are
        // answered by it, and later ones ask again.
        handle.take_early();
        if kind == Kind::Early {
            handle.metrics.early_pull();
        }
        schedule.started(kind, now);
        handle.started();
        let result = source.pull().await;
        let took = now.elapsed();
        schedule.finished(result.is_ok(), now);
        match result {
            Ok(pull) => {
                state.submit_source(id.clone(), kept::contents(&id, &pull), false);
                reported = None;
                let feeds = (!source.config().pull.private_endpoints).then(|| pull.zones.clone());
                handle.pulled(kind, took, pull.entries.len(), feeds);
                let bytes = kept::encode(&id, &pull, SystemTime::now());
                let (ns, key) = (ns.clone(), key.clone());
                let written = tokio::task::spawn_blocking(move || ns.write(&key, &bytes))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()));
                let mut p = handle.progress();
                match written {
                    Ok(()) => p.kept_error = None,
                    Err(e) => {
                        if p.kept_error.is_none() {
                            warn!(
                                "{id}: cannot keep the pull in {}: {e}; a restart without Azure would serve an older pull",
                                kept::namespace(state.state_dir()).dir().display()
                            );
                        }
                        p.kept_error = Some(e);
                    }
                }
            }
            Err(e) => {
                handle.failed(kind, took, &e);
                let text = e.to_string();
                if reported.as_deref() != Some(text.as_str()) {
                    state.source_failed(id.clone(), failure(&id, &text));
                    reported = Some(text);
                }
            }
        }
    }
}

/// The error the table's report carries for a failed pull.
pub(super) fn failure(id: &crate::sources::SourceId, why: &str) -> Diagnostics {
    Diagnostics(vec![Diagnostic::file(
        &id.label(),
        format!("pull failed: {why}"),
    )])
}

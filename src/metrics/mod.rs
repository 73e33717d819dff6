//! What operators watch, apart from the query path: the Prometheus
//! exposition of the query core's counters ([`exposition`]), `/healthz`, the
//! HTTP side ([`http`]), the query log ([`querylog`]) and the consumer of the
//! missing-name events ([`missing`]): the signal that matters most here,
//! names asked inside a Private Link zone that the table lacks (a storage
//! account Azure Backup added and nobody has put in the records yet).
//!
//! The query path only bumps atomics ([`crate::stats`]) and queues miss
//! events ([`crate::missing`]); everything here reads them.

mod exposition;
mod front;
mod http;
pub mod missing;
pub mod page;
mod querylog;
mod status;
mod upstream;
mod xfr;

pub use exposition::render;
pub use http::serve;
pub use missing::MissingNames;
pub use querylog::log_query;

use std::time::Instant;

use crate::state::State;

/// Every forwarder the configuration names, once.
pub(crate) fn all_forwarders(snap: &crate::snapshot::Snapshot) -> Vec<std::net::SocketAddr> {
    let mut all: Vec<_> = snap
        .upstream
        .iter()
        .chain(snap.zones.iter().flat_map(|z| z.forwarders.iter()))
        .copied()
        .collect();
    all.sort();
    all.dedup();
    all
}

/// How long `/healthz` reports a worker panic after it happened.
pub const PANIC_REPORTED_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// `/healthz`: healthy when the table is loaded and at least one forwarder
/// is up (or none is configured: a table-only daemon needs none).
pub fn health(state: &State) -> Result<String, String> {
    health_with(state, &state.forwarder.health())
}

/// [`health`] with the forwarders' health given (the status page's
/// sampled copy).
pub fn health_with(
    state: &State,
    health: &[(std::net::SocketAddr, crate::forward::Health)],
) -> Result<String, String> {
    // Serving from last good contents is still serving: say so, stay 200.
    // A worker that panicked was restarted: the same.
    let report = state.report();
    let mut degraded = String::new();
    if !report.valid() {
        degraded.push_str(&format!("degraded: {}\n", crate::status::one_line(&report)));
    }
    if let Some(line) = recent_panic(state) {
        degraded.push_str(&line);
    }
    health_of_forwarders(state, health).map(|ok| ok + &degraded)
}

/// "degraded: ..." while the last worker panic is recent.
fn recent_panic(state: &State) -> Option<String> {
    let last = state.stats.panics.last()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let ago = now.saturating_sub(last);
    (ago < PANIC_REPORTED_FOR.as_secs()).then(|| {
        let total: u64 = crate::stats::Worker::ALL
            .iter()
            .map(|&w| state.stats.panics.total(w))
            .sum();
        format!(
            "degraded: a worker panicked {ago} s ago and was restarted ({total} since start; see the log and pldns_worker_panics_total)\n"
        )
    })
}

fn health_of_forwarders(
    state: &State,
    health: &[(std::net::SocketAddr, crate::forward::Health)],
) -> Result<String, String> {
    let snap = state.snapshot();
    let all = all_forwarders(&snap);
    if all.is_empty() {
        return Ok(format!(
            "ok: {} records, no forwarders configured\n",
            snap.record_count()
        ));
    }
    let now = Instant::now();
    let down: Vec<String> = all
        .iter()
        .filter(|a| health.iter().any(|(s, h)| s == *a && h.is_down(now)))
        .map(|a| a.to_string())
        .collect();
    if down.len() == all.len() {
        Err(format!(
            "unhealthy: every forwarder failed recently ({})\n",
            down.join(", ")
        ))
    } else {
        Ok(format!(
            "ok: {} records, {} of {} forwarders up\n",
            snap.record_count(),
            all.len() - down.len(),
            all.len()
        ))
    }
}

//! Building the [`StatusPage`] from the daemon's state.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

use super::{
    ForwarderStatus, LastReload, MissingName, MissingZone, OutcomeCount, Queries, ReloadStatus,
    Replication, SourceRow, StatusPage, SyncPull, SyncStatus, ZoneStatus, hint,
};
use crate::config::OnMiss;
use crate::forward::Health;
use crate::metrics::missing::MissedName;
use crate::state::State;
use crate::stats::{Label, Transport};
use crate::xfr::stats::{OutResult, Refresh, ZoneReport};

/// How often [`ForwarderSample`] copies the forwarders' health.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// A copy of the forwarders' health, taken by one task every
/// [`SAMPLE_INTERVAL`]: the forwarding path holds the health lock, and a
/// page request (which anyone who reaches the listener can make, as often
/// as they like) must never wait on it or make it wait.
pub struct ForwarderSample {
    health: ArcSwap<Vec<(SocketAddr, Health)>>,
}

impl ForwarderSample {
    pub fn new(state: &State) -> Arc<ForwarderSample> {
        Arc::new(ForwarderSample {
            health: ArcSwap::from_pointee(state.forwarder.health()),
        })
    }

    /// Copies the health again every [`SAMPLE_INTERVAL`], until the
    /// process ends.
    pub async fn run(self: Arc<Self>, state: Arc<State>) {
        let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.health.store(Arc::new(state.forwarder.health()));
        }
    }

    pub fn get(&self) -> Arc<Vec<(SocketAddr, Health)>> {
        self.health.load_full()
    }
}

fn replication(r: &ZoneReport) -> Replication {
    let out = |want: Option<OutResult>| {
        r.transfers_out
            .iter()
            .filter(|(_, result, _)| want.is_none_or(|w| *result == w))
            .map(|(_, _, n)| n)
            .sum()
    };
    let refreshes = |want: &[Refresh]| {
        r.refreshes
            .iter()
            .filter(|(k, _)| want.contains(k))
            .map(|(_, n)| n)
            .sum()
    };
    Replication {
        transfers_out: out(None),
        transfers_out_refused: out(Some(OutResult::Refused)),
        transfers_out_failed: out(Some(OutResult::Failed)),
        notify_sent: r.notify_sent,
        notify_acknowledged: r.notify_acknowledged,
        notify_given_up: r.notify_given_up,
        notify_in_accepted: r.notify_in_accepted,
        notify_in_refused: r.notify_in_refused,
        refreshes_ok: refreshes(&[Refresh::Transferred, Refresh::Current]),
        refreshes_failed: refreshes(&[Refresh::Failed]),
        last_refresh: (r.last_refresh_unix > 0).then_some(r.last_refresh_unix),
        copy_serial: r.secondary.as_ref().map(|s| s.serial),
        copy_expires_in_s: r.secondary.as_ref().map(|s| s.expires_in_s),
        copy_expired: r.secondary.as_ref().is_some_and(|s| s.expired),
    }
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The page as of now.
pub fn build(state: &State, sample: &ForwarderSample) -> StatusPage {
    let snap = state.snapshot();
    let report = state.report();
    let config = &snap.config;
    let now = SystemTime::now();
    let (healthy, health) = match crate::metrics::health_with(state, &sample.get()) {
        Ok(text) => (true, text),
        Err(text) => (false, text),
    };
    let config_path = config.path.display().to_string();

    let xfr = state.xfr.stats.zones(unix(now));
    let zones = snap
        .zones
        .iter()
        .zip(config.zones.iter())
        .map(|(z, zc)| ZoneStatus {
            name: z.name.to_string(),
            kind: if zc.is_secondary() {
                "secondary"
            } else if z.local.is_some() {
                "records"
            } else {
                "forward"
            }
            .into(),
            records: z.local.as_ref().map(|l| l.records),
            names: z.local.as_ref().map(|l| l.names),
            serial: z.local.as_ref().map(|l| l.soa.serial()),
            ttl: z.local.as_ref().map(|l| l.ttl),
            on_miss: z.local.as_ref().map(|l| {
                match l.on_miss {
                    OnMiss::Forward => "forward",
                    OnMiss::Nxdomain => "nxdomain",
                }
                .to_string()
            }),
            missing_total: z.local.as_ref().map(|l| l.misses.count()),
            forwarders: z.forwarders.iter().map(|a| a.to_string()).collect(),
            transfer: zc.transfer.describe(),
            replication: xfr.iter().find(|r| r.zone == z.name).map(replication),
        })
        .collect();

    let synced = !config.sync.is_empty();
    let mut missing: Vec<MissingZone> = Vec::new();
    for m in state.missing.names() {
        let entry = missed(&snap, &m, &config_path, synced);
        let zone = m.zone.to_string();
        match missing.iter_mut().find(|z| z.zone == zone) {
            Some(z) => z.names.push(entry),
            None => missing.push(MissingZone {
                zone,
                names: vec![entry],
            }),
        }
    }

    StatusPage {
        host: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default(),
        version: env!("CARGO_PKG_VERSION").into(),
        now: unix(now),
        started: unix(state.started),
        uptime_s: state.started_at.elapsed().as_secs(),
        config: config_path,
        healthy,
        health: health.trim_end().to_string(),
        queries: queries(state),
        zones,
        missing,
        forwarders: forwarders(&snap, &sample.get()),
        reload: reload(state, &report),
        syncs: syncs(state, &report),
    }
}

fn syncs(state: &State, report: &crate::load::Report) -> Vec<SyncStatus> {
    let opt = |t: Option<SystemTime>| t.map(unix);
    state
        .sync
        .status()
        .into_iter()
        .map(|s| {
            let row = report.sources.iter().find(|r| r.id == s.id);
            SyncStatus {
                source: s.id.to_string(),
                scope: s.scope,
                cloud: s.cloud.to_string(),
                credential: s.credential,
                pulls: s.pulls.iter().map(|p| p.to_string()).collect(),
                interval_s: s.interval.as_secs(),
                min_interval_s: s.min_interval.as_secs(),
                pulling: s.pulling,
                last_pull: s.last_pull.map(|p| SyncPull {
                    ended: unix(p.ended),
                    took_ms: u64::try_from(p.took.as_millis()).unwrap_or(u64::MAX),
                    result: p.result.label().to_string(),
                    error: p.error,
                    early: p.early,
                }),
                last_success: opt(s.last_success),
                records: s.records,
                serving_kept_pull_from: opt(s.serving_kept_pull_from),
                next_pull: opt(s.next_pull),
                early_pending: s.early_pending,
                early_pulls: s.early_pulls,
                early_coalesced: s.early_coalesced,
                feeds: s.feeds.map(|z| z.iter().map(|n| n.to_string()).collect()),
                kept_error: s.kept_error,
                ok: row.map(|r| r.error.is_none()),
                errors: row
                    .and_then(|r| r.error.as_ref())
                    .map(|d| d.iter().map(|d| d.to_string()).collect())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

fn missed(
    snap: &crate::snapshot::Snapshot,
    m: &MissedName,
    config: &str,
    synced: bool,
) -> MissingName {
    let files = snap
        .config
        .zones
        .iter()
        .find(|z| z.name == m.zone)
        .is_some_and(|z| z.records.as_ref().is_some_and(|r| !r.is_empty()));
    let feeds = hint::Feeds { files, synced };
    let name = m.name.to_string();
    // `acct.privatelink.blob.core.windows.net` is asked (and listed by
    // Azure) as `acct.blob.core.windows.net`.
    let public_name = m.zone.public_twin().and_then(|twin| {
        let zone = m.zone.to_string();
        let head = name.strip_suffix(&zone)?;
        Some(format!("{head}{twin}"))
    });
    let answered_now = snap
        .node(m.name.wire())
        .is_some_and(|n| !n.a().is_empty() || !n.aaaa().is_empty() || n.cname().is_some());
    MissingName {
        hint: hint::hint(&name, public_name.as_deref(), config, feeds),
        name,
        public_name,
        first_seen: unix(m.first_seen),
        last_seen: unix(m.last_seen),
        count: m.count,
        answered_now,
    }
}

fn queries(state: &State) -> Queries {
    let stats = &state.stats;
    let by_outcome: Vec<OutcomeCount> = Label::ALL
        .iter()
        .map(|&l| OutcomeCount {
            outcome: l.label().to_string(),
            count: Transport::ALL.iter().map(|&t| stats.queries(t, l)).sum(),
        })
        .collect();
    let latency = stats.latency();
    let count = latency.count();
    Queries {
        total: by_outcome.iter().map(|o| o.count).sum(),
        by_outcome,
        mean_latency_us: (count > 0)
            .then(|| u64::try_from(latency.sum().as_micros() / u128::from(count)).unwrap_or(0)),
    }
}

fn forwarders(
    snap: &crate::snapshot::Snapshot,
    health: &[(SocketAddr, Health)],
) -> Vec<ForwarderStatus> {
    let now = Instant::now();
    crate::metrics::all_forwarders(snap)
        .into_iter()
        .map(|addr| {
            let h = health
                .iter()
                .find(|(a, _)| *a == addr)
                .map(|(_, h)| *h)
                .unwrap_or_default();
            let mut used_by = Vec::new();
            if snap.upstream.contains(&addr) {
                used_by.push("upstream".to_string());
            }
            used_by.extend(
                snap.zones
                    .iter()
                    .filter(|z| z.forwarders.contains(&addr))
                    .map(|z| z.name.to_string()),
            );
            ForwarderStatus {
                server: addr.to_string(),
                used_by,
                up: !h.is_down(now),
                srtt_ms: h.srtt.map(|d| (d.as_secs_f64() * 1e4).round() / 10.0),
                requests: h.requests,
                failures: h.failures,
                servfails: h.servfails,
                refused: h.refused,
                consecutive_failures: h.consecutive_failures,
                last_failure_ago_s: h
                    .last_failure
                    .map(|t| now.saturating_duration_since(t).as_secs()),
            }
        })
        .collect()
}

fn reload(state: &State, report: &crate::load::Report) -> ReloadStatus {
    use std::sync::atomic::Ordering::Relaxed;
    let r = &state.reload_stats;
    ReloadStatus {
        loaded: r.last_ok_unix.load(Relaxed),
        reloads_ok: r.ok.load(Relaxed),
        reloads_failed: r.failed.load(Relaxed),
        last: r.last().map(|l| LastReload {
            at: unix(l.at),
            trigger: l.trigger.label().into(),
            took_ms: u64::try_from(l.took.as_millis()).unwrap_or(u64::MAX),
            records_added: l.diff.records_added,
            records_removed: l.diff.records_removed,
            zones_added: l.diff.zones_added.clone(),
            zones_removed: l.diff.zones_removed.clone(),
            config_changed: l.diff.config_changed,
        }),
        valid: report.valid(),
        errors: crate::status::error_lines(report),
        warnings: report.warnings.iter().map(|w| w.to_string()).collect(),
        sources: report
            .sources
            .iter()
            .map(|s| SourceRow {
                source: s.id.to_string(),
                entries: s.entries,
                ok: s.error.is_none(),
                from_state: s.from_state,
            })
            .collect(),
        state_dir: state.state_dir().root().display().to_string(),
        state_error: report.state_error.clone(),
    }
}

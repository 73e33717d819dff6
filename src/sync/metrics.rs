//! What an operator watches per sync source: pulls by result, records in
//! the last good pull, records pulled in all, when the last good pull
//! ended, whether the last pull worked, and the early pulls misses asked
//! for. Plain atomics, written by the puller and read at scrape time;
//! `write_prometheus` renders them for the /metrics page.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::PullResult;

#[derive(Debug, Default)]
pub struct SyncMetrics {
    pulls: [AtomicU64; PullResult::ALL.len()],
    records: AtomicU64,
    records_total: AtomicU64,
    /// Unix seconds; 0 until the first good pull.
    last_success: AtomicU64,
    last_duration_ms: AtomicU64,
    /// 1 when the last pull worked, 0 when it failed or none ended yet.
    last_ok: AtomicU64,
    early: AtomicU64,
    coalesced: AtomicU64,
}

impl SyncMetrics {
    /// Counts one pull; `records` is the pull's record count when it was good.
    pub fn record(&self, result: PullResult, records: Option<usize>, took: Duration) {
        self.pulls[result as usize].fetch_add(1, Relaxed);
        self.last_duration_ms
            .store(u64::try_from(took.as_millis()).unwrap_or(u64::MAX), Relaxed);
        self.last_ok
            .store(u64::from(result == PullResult::Ok), Relaxed);
        if let Some(n) = records {
            let n = n as u64;
            self.records.store(n, Relaxed);
            self.records_total.fetch_add(n, Relaxed);
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            self.last_success.store(now, Relaxed);
        }
    }

    pub fn pulls(&self, result: PullResult) -> u64 {
        self.pulls[result as usize].load(Relaxed)
    }

    /// Records in the last good pull.
    pub fn records(&self) -> u64 {
        self.records.load(Relaxed)
    }

    /// Records pulled, summed over every good pull.
    pub fn records_total(&self) -> u64 {
        self.records_total.load(Relaxed)
    }

    /// Unix time of the end of the last good pull.
    pub fn last_success(&self) -> Option<u64> {
        Some(self.last_success.load(Relaxed)).filter(|&t| t != 0)
    }

    pub fn last_duration(&self) -> Duration {
        Duration::from_millis(self.last_duration_ms.load(Relaxed))
    }

    /// True when the last pull worked (false before the first one ends).
    pub fn last_ok(&self) -> bool {
        self.last_ok.load(Relaxed) == 1
    }

    /// An early pull started because a name was missed.
    pub fn early_pull(&self) {
        self.early.fetch_add(1, Relaxed);
    }

    /// A miss found an early pull already pending and joined it.
    pub fn coalesced(&self) {
        self.coalesced.fetch_add(1, Relaxed);
    }

    pub fn early_pulls(&self) -> u64 {
        self.early.load(Relaxed)
    }

    pub fn early_coalesced(&self) -> u64 {
        self.coalesced.load(Relaxed)
    }
}

/// Prometheus text (exposition format 0.0.4) for every source, labelled
/// `source="<label>"`.
pub fn write_prometheus(out: &mut String, sources: &[(&str, &SyncMetrics)]) {
    if sources.is_empty() {
        return;
    }
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let _ = writeln!(
        out,
        "# HELP pldns_sync_pulls_total Pulls from Azure Resource Manager, by result.\n# TYPE pldns_sync_pulls_total counter"
    );
    for (label, m) in sources {
        for r in PullResult::ALL {
            let _ = writeln!(
                out,
                "pldns_sync_pulls_total{{source=\"{}\",result=\"{}\"}} {}",
                esc(label),
                r.label(),
                m.pulls(r)
            );
        }
    }
    type Series = (
        &'static str,
        &'static str,
        &'static str,
        fn(&SyncMetrics) -> String,
    );
    let gauges: [Series; 7] = [
        (
            "pldns_sync_records",
            "gauge",
            "Records in the last good pull.",
            |m| m.records().to_string(),
        ),
        (
            "pldns_sync_records_pulled_total",
            "counter",
            "Records pulled, summed over good pulls.",
            |m| m.records_total().to_string(),
        ),
        (
            "pldns_sync_last_success_timestamp_seconds",
            "gauge",
            "Unix time of the last good pull (0: none yet).",
            |m| m.last_success().unwrap_or(0).to_string(),
        ),
        (
            "pldns_sync_last_pull_duration_seconds",
            "gauge",
            "How long the last pull took.",
            |m| format!("{:.3}", m.last_duration().as_secs_f64()),
        ),
        (
            "pldns_sync_last_pull_ok",
            "gauge",
            "1 when the last pull worked; 0 when it failed (the previous pull stays in service) or none ended yet.",
            |m| u8::from(m.last_ok()).to_string(),
        ),
        (
            "pldns_sync_early_pulls_total",
            "counter",
            "Early pulls: started because a name was missed in a zone the source feeds.",
            |m| m.early_pulls().to_string(),
        ),
        (
            "pldns_sync_early_pulls_coalesced_total",
            "counter",
            "Misses that found an early pull already pending (one early pull per min_interval_s at most).",
            |m| m.early_coalesced().to_string(),
        ),
    ];
    for (name, kind, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (label, m) in sources {
            let _ = writeln!(out, "{name}{{source=\"{}\"}} {}", esc(label), value(m));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let m = SyncMetrics::default();
        m.record(PullResult::Ok, Some(5), Duration::from_millis(1500));
        m.record(PullResult::Throttled, None, Duration::from_millis(10));
        m.record(PullResult::Ok, Some(7), Duration::from_millis(20));
        assert_eq!(m.pulls(PullResult::Ok), 2);
        assert_eq!(m.pulls(PullResult::Throttled), 1);
        assert_eq!(m.records(), 7);
        assert_eq!(m.records_total(), 12);
        assert!(m.last_success().is_some());
        assert!(m.last_ok());
        m.early_pull();
        m.coalesced();
        m.coalesced();
        let mut text = String::new();
        write_prometheus(&mut text, &[("sub \"a\"", &m)]);
        assert!(text.contains("pldns_sync_pulls_total{source=\"sub \\\"a\\\"\",result=\"ok\"} 2"));
        assert!(text.contains("pldns_sync_records{source=\"sub \\\"a\\\"\"} 7"));
        assert!(
            text.contains("pldns_sync_pulls_total{source=\"sub \\\"a\\\"\",result=\"timeout\"} 0")
        );
        assert!(text.contains("pldns_sync_early_pulls_total{source=\"sub \\\"a\\\"\"} 1"));
        assert!(
            text.contains("pldns_sync_early_pulls_coalesced_total{source=\"sub \\\"a\\\"\"} 2")
        );
        m.record(PullResult::HttpError, None, Duration::ZERO);
        assert!(!m.last_ok());
    }
}

//! What operators watch: query counters by transport and outcome, a latency
//! histogram, per-forwarder health, the cache, reloads, records per zone,
//! and the signal that matters most here: names asked inside a Private
//! Link zone that the table lacks (a storage account Azure Backup added
//! and nobody has put in the records yet).
//!
//! The query path only does relaxed atomic increments; the text format
//! (Prometheus exposition 0.0.4) is written at scrape time. The HTTP side
//! is in `metrics/http.rs`.

mod http;
mod status;

pub use http::serve;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use tracing::warn;

use crate::resolve::Transport;
use crate::state::State;

/// Where an answer came from, as the front end knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// From the table (a public name answered from its twin included).
    Local,
    Cached,
    /// From a forwarder, relayed as it came.
    Forwarded,
    /// From a forwarder, its CNAME chain completed from the table.
    Spliced,
    /// An error answer the daemon made itself (FORMERR, REFUSED, ...).
    Own,
}

/// The `outcome` label of `pldns_queries_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Outcome {
    Local,
    Forwarded,
    Cached,
    Spliced,
    Nxdomain,
    Refused,
    Servfail,
    Formerr,
    Other,
}

const OUTCOMES: [(&str, Outcome); 9] = [
    ("local", Outcome::Local),
    ("forwarded", Outcome::Forwarded),
    ("cached", Outcome::Cached),
    ("spliced", Outcome::Spliced),
    ("nxdomain", Outcome::Nxdomain),
    ("refused", Outcome::Refused),
    ("servfail", Outcome::Servfail),
    ("formerr", Outcome::Formerr),
    ("other", Outcome::Other),
];

impl Outcome {
    /// Error rcodes name the outcome; otherwise the source does.
    pub fn of(reply: &[u8], source: Source) -> Outcome {
        match reply.get(3).map(|b| b & 0x0F) {
            Some(1) => Outcome::Formerr,
            Some(2) => Outcome::Servfail,
            Some(3) => Outcome::Nxdomain,
            Some(5) => Outcome::Refused,
            Some(0) => match source {
                Source::Local => Outcome::Local,
                Source::Cached => Outcome::Cached,
                Source::Forwarded => Outcome::Forwarded,
                Source::Spliced => Outcome::Spliced,
                Source::Own => Outcome::Other,
            },
            _ => Outcome::Other,
        }
    }

    pub fn label(self) -> &'static str {
        OUTCOMES[self as usize].0
    }
}

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(d.as_nanos() as u64, Relaxed);
    }
}

/// How often the same missing name is logged again.
const MISS_LOG_INTERVAL: Duration = Duration::from_secs(600);
/// Names remembered for that; past this, the memory is cleared (and the
/// names may be logged again sooner).
const MISS_LOG_NAMES: usize = 10_000;
/// A flood of random names (a random-subdomain attack, a misconfigured
/// client) must not flood the log: at most this many lines per window.
const MISS_LOG_BURST: u32 = 20;
const MISS_LOG_WINDOW: Duration = Duration::from_secs(10);

/// The per-name memory and the log budget of the current window.
#[derive(Default)]
struct MissLog {
    logged: HashMap<Box<[u8]>, Instant>,
    window_start: Option<Instant>,
    lines: u32,
    suppressed: u64,
}

#[derive(Default)]
pub struct Metrics {
    queries: [[AtomicU64; OUTCOMES.len()]; 2],
    dropped: AtomicU64,
    latency: Histogram,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    /// Zone name -> names asked that its table lacks.
    misses: Mutex<BTreeMap<crate::name::Name, u64>>,
    miss_log: Mutex<MissLog>,
    forwards_rejected: AtomicU64,
}

impl Metrics {
    pub fn answered(&self, transport: Transport, reply: &[u8], source: Source, took: Duration) {
        let t = transport as usize;
        self.queries[t][Outcome::of(reply, source) as usize].fetch_add(1, Relaxed);
        self.latency.observe(took);
    }

    /// One line per query, when `[log] queries = true`.
    #[allow(clippy::too_many_arguments)]
    pub fn log_query(
        &self,
        client: std::net::IpAddr,
        transport: Transport,
        reply: &[u8],
        source: Source,
        upstream: Option<std::net::SocketAddr>,
        took: Duration,
    ) {
        let (name, qtype) = question_of(reply);
        let outcome = Outcome::of(reply, source).label();
        let proto = if transport == Transport::Udp {
            "udp"
        } else {
            "tcp"
        };
        let latency_us = took.as_micros() as u64;
        match upstream {
            Some(up) => {
                tracing::info!(target: "pldns::query", %client, proto = %proto, %name, qtype, outcome = %outcome, upstream = %up, latency_us, "query")
            }
            None => {
                tracing::info!(target: "pldns::query", %client, proto = %proto, %name, qtype, outcome = %outcome, latency_us, "query")
            }
        }
    }

    pub fn dropped(&self) {
        self.dropped.fetch_add(1, Relaxed);
    }

    pub fn cache(&self, hit: bool) {
        if hit {
            self.cache_hits.fetch_add(1, Relaxed);
        } else {
            self.cache_misses.fetch_add(1, Relaxed);
        }
    }

    pub fn forward_rejected(&self) {
        self.forwards_rejected.fetch_add(1, Relaxed);
    }

    pub fn queries(&self, transport: Transport, outcome: Outcome) -> u64 {
        self.queries[transport as usize][outcome as usize].load(Relaxed)
    }

    /// A name inside zone `zone` (which has records) that the table lacks
    /// was asked, directly or through a forwarded chain. Counted per zone;
    /// logged with the name, once per name per ten minutes, because that
    /// name is the record someone has to add (and at most
    /// `MISS_LOG_BURST` lines per window, whatever the traffic).
    pub fn missing(&self, zone: &crate::name::Name, name: &[u8]) {
        {
            // Look up before inserting: a flood of misses costs no allocation.
            let mut misses = self.misses.lock().unwrap();
            match misses.get_mut(zone) {
                Some(n) => *n += 1,
                None => {
                    misses.insert(zone.clone(), 1);
                }
            }
        }
        let now = Instant::now();
        let mut log = self.miss_log.lock().unwrap();
        if log.logged.len() >= MISS_LOG_NAMES {
            log.logged.clear();
        }
        let due = log
            .logged
            .get(name)
            .is_none_or(|&at| now.duration_since(at) >= MISS_LOG_INTERVAL);
        if !due {
            return;
        }
        if log
            .window_start
            .is_none_or(|t| now.duration_since(t) >= MISS_LOG_WINDOW)
        {
            if log.suppressed > 0 {
                warn!(
                    suppressed = log.suppressed,
                    "{} more missing names were not logged (see pldns_missing_records_total)",
                    log.suppressed
                );
            }
            log.window_start = Some(now);
            log.lines = 0;
            log.suppressed = 0;
        }
        if log.lines >= MISS_LOG_BURST {
            log.suppressed += 1;
            return;
        }
        log.lines += 1;
        log.logged.insert(name.into(), now);
        drop(log);
        let mut text = String::new();
        let _ = crate::name::write_text(name, &mut text);
        warn!(
            zone = %zone,
            name = %text,
            "missing record: {text} was asked in zone {zone}, which has records, but the table lacks it"
        );
    }

    pub fn misses(&self, zone: &crate::name::Name) -> u64 {
        self.misses.lock().unwrap().get(zone).copied().unwrap_or(0)
    }
}

/// The question of a reply, for the query log: name text and type code.
fn question_of(reply: &[u8]) -> (String, u16) {
    let mut name = String::new();
    let mut at = crate::wire::HEADER_LEN;
    let mut wire = Vec::new();
    while let Some(&len) = reply.get(at) {
        if len == 0 || len & 0xC0 != 0 {
            break;
        }
        let Some(label) = reply.get(at + 1..at + 1 + len as usize) else {
            break;
        };
        wire.push(len);
        wire.extend(label.iter().map(u8::to_ascii_lowercase));
        at += 1 + len as usize;
    }
    wire.push(0);
    let _ = crate::name::write_text(&wire, &mut name);
    let qtype = reply
        .get(at + 1..at + 3)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    (name, qtype)
}

/// Writes the exposition text for everything the daemon knows.
pub fn render(state: &State) -> String {
    let m = &state.metrics;
    let snap = state.snapshot();
    let mut s = String::with_capacity(8192);
    let head = |s: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };

    head(
        &mut s,
        "pldns_queries_total",
        "counter",
        "Queries answered, by transport and outcome.",
    );
    for (t, tname) in [(Transport::Udp, "udp"), (Transport::Tcp, "tcp")] {
        for (label, outcome) in OUTCOMES {
            let _ = writeln!(
                s,
                "pldns_queries_total{{transport=\"{tname}\",outcome=\"{label}\"}} {}",
                m.queries(t, outcome)
            );
        }
    }
    head(
        &mut s,
        "pldns_queries_dropped_total",
        "counter",
        "Packets dropped unanswered (runts, responses).",
    );
    let _ = writeln!(s, "pldns_queries_dropped_total {}", m.dropped.load(Relaxed));
    head(
        &mut s,
        "pldns_forwards_rejected_total",
        "counter",
        "Queries answered SERVFAIL because too many forwards were in flight.",
    );
    let _ = writeln!(
        s,
        "pldns_forwards_rejected_total {}",
        m.forwards_rejected.load(Relaxed)
    );

    head(
        &mut s,
        "pldns_query_duration_seconds",
        "histogram",
        "Time from receiving a query to sending its answer.",
    );
    let mut cumulative = 0;
    for (i, b) in BUCKETS.iter().enumerate() {
        cumulative += m.latency.buckets[i].load(Relaxed);
        let _ = writeln!(
            s,
            "pldns_query_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}"
        );
    }
    let count = m.latency.count.load(Relaxed);
    let _ = writeln!(
        s,
        "pldns_query_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        s,
        "pldns_query_duration_seconds_sum {}",
        m.latency.sum_ns.load(Relaxed) as f64 / 1e9
    );
    let _ = writeln!(s, "pldns_query_duration_seconds_count {count}");

    head(
        &mut s,
        "pldns_missing_records_total",
        "counter",
        "Names asked inside a zone with records that its table lacks, per zone.",
    );
    for z in snap.zones.iter().filter(|z| z.local.is_some()) {
        let _ = writeln!(
            s,
            "pldns_missing_records_total{{zone=\"{}\"}} {}",
            z.name,
            m.misses(&z.name)
        );
    }
    head(
        &mut s,
        "pldns_zone_records",
        "gauge",
        "Records in the table, per zone with records.",
    );
    for z in &snap.zones {
        if let Some(l) = &z.local {
            let _ = writeln!(s, "pldns_zone_records{{zone=\"{}\"}} {}", z.name, l.records);
        }
    }

    let now = Instant::now();
    let health = state.forwarder.health();
    head(
        &mut s,
        "pldns_upstream_requests_total",
        "counter",
        "Queries sent to each forwarder.",
    );
    for (a, h) in &health {
        let _ = writeln!(
            s,
            "pldns_upstream_requests_total{{server=\"{a}\"}} {}",
            h.requests
        );
    }
    head(
        &mut s,
        "pldns_upstream_failures_total",
        "counter",
        "Tries that timed out or got SERVFAIL/REFUSED, per forwarder.",
    );
    for (a, h) in &health {
        let _ = writeln!(
            s,
            "pldns_upstream_failures_total{{server=\"{a}\"}} {}",
            h.failures
        );
    }
    head(
        &mut s,
        "pldns_upstream_rtt_seconds",
        "gauge",
        "Smoothed round-trip time per forwarder.",
    );
    for (a, h) in &health {
        if let Some(rtt) = h.srtt {
            let _ = writeln!(
                s,
                "pldns_upstream_rtt_seconds{{server=\"{a}\"}} {}",
                rtt.as_secs_f64()
            );
        }
    }
    head(
        &mut s,
        "pldns_upstream_up",
        "gauge",
        "1 when a forwarder is healthy, 0 while it is backed off after failures.",
    );
    for a in all_forwarders(&snap) {
        let up = health
            .iter()
            .find(|(s, _)| *s == a)
            .is_none_or(|(_, h)| !h.is_down(now));
        let _ = writeln!(s, "pldns_upstream_up{{server=\"{a}\"}} {}", u8::from(up));
    }

    head(
        &mut s,
        "pldns_cache_hits_total",
        "counter",
        "Forwarded answers served from the cache.",
    );
    let _ = writeln!(s, "pldns_cache_hits_total {}", m.cache_hits.load(Relaxed));
    head(
        &mut s,
        "pldns_cache_misses_total",
        "counter",
        "Queries to forward that the cache did not have.",
    );
    let _ = writeln!(
        s,
        "pldns_cache_misses_total {}",
        m.cache_misses.load(Relaxed)
    );
    let cache = state.cache();
    head(
        &mut s,
        "pldns_cache_entries",
        "gauge",
        "Answers in the cache.",
    );
    let _ = writeln!(
        s,
        "pldns_cache_entries {}",
        cache.as_ref().map_or(0, |c| c.len())
    );
    head(
        &mut s,
        "pldns_cache_evictions_total",
        "counter",
        "Answers evicted to make room.",
    );
    let _ = writeln!(
        s,
        "pldns_cache_evictions_total {}",
        cache.as_ref().map_or(0, |c| c.evictions())
    );

    let r = &state.reload_stats;
    head(
        &mut s,
        "pldns_reloads_total",
        "counter",
        "Reloads, by result.",
    );
    let _ = writeln!(
        s,
        "pldns_reloads_total{{result=\"ok\"}} {}",
        r.ok.load(Relaxed)
    );
    let _ = writeln!(
        s,
        "pldns_reloads_total{{result=\"failed\"}} {}",
        r.failed.load(Relaxed)
    );
    head(
        &mut s,
        "pldns_last_reload_success_timestamp_seconds",
        "gauge",
        "When the table in service was loaded (Unix time): start-up or the last reload.",
    );
    let _ = writeln!(
        s,
        "pldns_last_reload_success_timestamp_seconds {}",
        r.last_ok_unix.load(Relaxed)
    );
    status::render(state, &mut s);
    s
}

/// Every forwarder the configuration names, once.
fn all_forwarders(snap: &crate::snapshot::Snapshot) -> Vec<std::net::SocketAddr> {
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

/// `/healthz`: healthy when the table is loaded and at least one forwarder
/// is up (or none is configured: a table-only daemon needs none).
pub fn health(state: &State) -> Result<String, String> {
    // Serving from last good contents is still serving: say so, stay 200.
    let report = state.report();
    let degraded = (!report.valid()).then(|| crate::status::one_line(&report));
    health_of_forwarders(state).map(|ok| match degraded {
        Some(d) => format!("{ok}degraded: {d}\n"),
        None => ok,
    })
}

fn health_of_forwarders(state: &State) -> Result<String, String> {
    let snap = state.snapshot();
    let all = all_forwarders(&snap);
    if all.is_empty() {
        return Ok(format!(
            "ok: {} records, no forwarders configured\n",
            snap.record_count()
        ));
    }
    let now = Instant::now();
    let health = state.forwarder.health();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miss_log_is_bounded_but_every_miss_counts() {
        let m = Metrics::default();
        let zone = crate::name::Name::from_text("privatelink.blob.core.windows.net").unwrap();
        for i in 0..100 {
            let name =
                crate::name::Name::from_text(&format!("r{i}.privatelink.blob.core.windows.net"))
                    .unwrap();
            m.missing(&zone, name.wire());
            m.missing(&zone, name.wire());
        }
        assert_eq!(m.misses(&zone), 200);
        let log = m.miss_log.lock().unwrap();
        assert_eq!(log.lines, MISS_LOG_BURST);
        assert_eq!(log.logged.len(), MISS_LOG_BURST as usize);
        // Names not logged yet stay due: they are logged once budget returns.
        assert_eq!(log.suppressed, 160);
    }

    #[test]
    fn outcome_comes_from_rcode_then_source() {
        let reply = |rcode: u8| [0, 0, 0x81, 0x80 | rcode];
        assert_eq!(Outcome::of(&reply(0), Source::Spliced), Outcome::Spliced);
        assert_eq!(Outcome::of(&reply(3), Source::Local), Outcome::Nxdomain);
        assert_eq!(Outcome::of(&reply(2), Source::Forwarded), Outcome::Servfail);
        assert_eq!(Outcome::of(&reply(5), Source::Own), Outcome::Refused);
        assert_eq!(Outcome::Cached.label(), "cached");
    }
}

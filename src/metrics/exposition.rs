//! The Prometheus text exposition (format 0.0.4) of everything the daemon
//! counts, written at scrape time from the counters the query core owns
//! ([`crate::stats`], the zones' miss counts) and the state around it.

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

use crate::state::State;
use crate::stats::{LATENCY_BUCKETS, Label, Transport};

/// `# HELP` and `# TYPE` lines of one metric family.
pub(super) fn head(s: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Writes the exposition text for everything the daemon knows.
pub fn render(state: &State) -> String {
    let m = &state.stats;
    let snap = state.snapshot();
    let mut s = String::with_capacity(16384);

    head(
        &mut s,
        "pldns_queries_total",
        "counter",
        "Queries answered, by transport and outcome (counted before response rate limiting; stale: served past its TTL because every forwarder failed).",
    );
    for t in Transport::ALL {
        for label in Label::ALL {
            let _ = writeln!(
                s,
                "pldns_queries_total{{transport=\"{}\",outcome=\"{}\"}} {}",
                t.label(),
                label.label(),
                m.queries(t, label)
            );
        }
    }
    head(
        &mut s,
        "pldns_queries_dropped_total",
        "counter",
        "Packets dropped unanswered (runts, responses).",
    );
    let _ = writeln!(s, "pldns_queries_dropped_total {}", m.dropped_total());
    head(
        &mut s,
        "pldns_forwards_rejected_total",
        "counter",
        "Queries answered SERVFAIL because too many forwards were in flight.",
    );
    let _ = writeln!(s, "pldns_forwards_rejected_total {}", m.forwards_rejected());

    head(
        &mut s,
        "pldns_query_duration_seconds",
        "histogram",
        "Time from receiving a query to sending its answer.",
    );
    let latency = m.latency();
    let mut cumulative = 0;
    for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
        cumulative += latency.bucket(i);
        let _ = writeln!(
            s,
            "pldns_query_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}"
        );
    }
    let count = latency.count();
    let _ = writeln!(
        s,
        "pldns_query_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        s,
        "pldns_query_duration_seconds_sum {}",
        latency.sum().as_secs_f64()
    );
    let _ = writeln!(s, "pldns_query_duration_seconds_count {count}");

    head(
        &mut s,
        "pldns_missing_records_total",
        "counter",
        "Names asked inside a zone with records that its table lacks, per zone.",
    );
    for z in &snap.zones {
        if let Some(l) = &z.local {
            let _ = writeln!(
                s,
                "pldns_missing_records_total{{zone=\"{}\"}} {}",
                z.name,
                l.misses.count()
            );
        }
    }
    head(
        &mut s,
        "pldns_missing_events_dropped_total",
        "counter",
        "Missing-name events the log and register did not see (queue full); the counts above include them.",
    );
    let _ = writeln!(
        s,
        "pldns_missing_events_dropped_total {}",
        m.misses.dropped()
    );
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

    super::upstream::render(state, &snap, &mut s);

    head(
        &mut s,
        "pldns_cache_hits_total",
        "counter",
        "Forwarded answers served from the cache.",
    );
    let _ = writeln!(s, "pldns_cache_hits_total {}", m.cache_hits());
    head(
        &mut s,
        "pldns_cache_misses_total",
        "counter",
        "Queries to forward that the cache did not have.",
    );
    let _ = writeln!(s, "pldns_cache_misses_total {}", m.cache_misses());
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
    head(
        &mut s,
        "pldns_cache_weight",
        "gauge",
        "Room the cached answers take, in units of one started KiB per answer; at most [cache] size.",
    );
    let _ = writeln!(
        s,
        "pldns_cache_weight {}",
        cache.as_ref().map_or(0, |c| c.weight())
    );
    head(
        &mut s,
        "pldns_cache_stale_answers_total",
        "counter",
        "Answers served from the cache past their TTL (with TTL 30) because every forwarder of the name failed (RFC 8767, [cache] serve_stale_s).",
    );
    let _ = writeln!(
        s,
        "pldns_cache_stale_answers_total {}",
        cache.as_ref().map_or(0, |c| c.stale_served())
    );
    super::front::render(state, &snap, &mut s);

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
    super::status::render(state, &mut s);
    state.sync.write_prometheus(&mut s);
    super::xfr::render(state, &mut s);
    s
}

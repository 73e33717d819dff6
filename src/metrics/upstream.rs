//! The forwarders as the daemon sees them: tries, what each try told us
//! (answers, failures, SERVFAIL and REFUSED apart, since those say nothing
//! about the server's health), smoothed RTT, up or backed off, and the
//! upstream messages thrown away before anything read them.

use std::fmt::Write;
use std::time::Instant;

use super::exposition::head;
use crate::snapshot::Snapshot;
use crate::state::State;

pub(super) fn render(state: &State, snap: &Snapshot, s: &mut String) {
    let now = Instant::now();
    let health = state.forwarder.health();
    let per_server = [
        (
            "pldns_upstream_requests_total",
            "Tries sent to each forwarder.",
        ),
        (
            "pldns_upstream_failures_total",
            "Tries that count against a forwarder's health, per forwarder: no answer in time, a network error, garbage, or FORMERR/NOTIMP even to a plain query. SERVFAIL and REFUSED are counted apart.",
        ),
        (
            "pldns_upstream_servfails_total",
            "SERVFAIL answers per forwarder: the query failed over to the next forwarder, but the server stays healthy (one broken domain says nothing about it).",
        ),
        (
            "pldns_upstream_refused_total",
            "REFUSED answers per forwarder: failed over like SERVFAIL, health unchanged.",
        ),
    ];
    for (i, (name, help)) in per_server.iter().enumerate() {
        head(s, name, "counter", help);
        for (a, h) in &health {
            let v = [h.requests, h.failures, h.servfails, h.refused][i];
            let _ = writeln!(s, "{name}{{server=\"{a}\"}} {v}");
        }
    }
    head(
        s,
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
        s,
        "pldns_upstream_up",
        "gauge",
        "1 when a forwarder is healthy, 0 while it is backed off after failures.",
    );
    for a in super::all_forwarders(snap) {
        let up = health
            .iter()
            .find(|(s, _)| *s == a)
            .is_none_or(|(_, h)| !h.is_down(now));
        let _ = writeln!(s, "pldns_upstream_up{{server=\"{a}\"}} {}", u8::from(up));
    }
    let d = state.forwarder.discards();
    head(
        s,
        "pldns_upstream_discards_total",
        "counter",
        "Upstream messages thrown away before they could reach a client or the cache, by reason: malformed (not a whole DNS message), mismatched (wrong ID, not a response, another question), oversized (UDP answer above our advertised size; asked again over TCP), formerr and notimp (the server rejected our query; retried without EDNS, then the next forwarder).",
    );
    for (reason, v) in [
        ("malformed", d.malformed),
        ("mismatched", d.mismatched),
        ("oversized", d.oversized),
        ("formerr", d.formerr),
        ("notimp", d.notimp),
    ] {
        let _ = writeln!(
            s,
            "pldns_upstream_discards_total{{reason=\"{reason}\"}} {v}"
        );
    }
    head(
        s,
        "pldns_upstream_plain_retries_total",
        "counter",
        "Queries asked again without EDNS after a FORMERR or NOTIMP (RFC 6891 §7).",
    );
    let _ = writeln!(s, "pldns_upstream_plain_retries_total {}", d.plain_retries);
}

//! The front ends' own numbers: TCP connections (open, accepted, refused at
//! a cap, closed and why, reading paused by backpressure), response rate
//! limiting (answers dropped or slipped, per kind), and worker panics.

use std::fmt::Write;

use super::exposition::head;
use crate::rrl::KIND_LABELS;
use crate::snapshot::Snapshot;
use crate::state::State;
use crate::stats::{CloseReason, Worker};

pub(super) fn render(state: &State, snap: &Snapshot, s: &mut String) {
    let tcp = &state.stats.tcp;
    head(
        s,
        "pldns_tcp_connections",
        "gauge",
        "TCP connections open now.",
    );
    let _ = writeln!(s, "pldns_tcp_connections {}", tcp.open_now());
    head(
        s,
        "pldns_tcp_connections_total",
        "counter",
        "TCP connections accepted.",
    );
    let _ = writeln!(s, "pldns_tcp_connections_total {}", tcp.accepted_total());
    head(
        s,
        "pldns_tcp_refused_total",
        "counter",
        "TCP connections reset at once, by cap: per_client ([server] tcp_max_connections_per_client, none of the client's connections idle) or full (tcp_max_connections, no connection idle). At a cap the longest-idle connection is closed first (closed reason evicted).",
    );
    for (cap, per_client) in [("per_client", true), ("full", false)] {
        let _ = writeln!(
            s,
            "pldns_tcp_refused_total{{cap=\"{cap}\"}} {}",
            tcp.refused_total(per_client)
        );
    }
    head(
        s,
        "pldns_tcp_closed_total",
        "counter",
        "TCP connections closed, by reason: client, idle (nothing outstanding and no whole message within tcp_idle_timeout_ms), garbage (a message that is not a query), write_timeout (the client did not take a reply in time), evicted (idle, closed to make room at a cap), shutdown, panic.",
    );
    for why in CloseReason::ALL {
        let _ = writeln!(
            s,
            "pldns_tcp_closed_total{{reason=\"{}\"}} {}",
            why.label(),
            tcp.closed_total(why)
        );
    }
    head(
        s,
        "pldns_tcp_reads_paused_total",
        "counter",
        "Times a TCP connection stopped reading because as many of its queries as allowed were outstanding (backpressure on a client that does not read its replies).",
    );
    let _ = writeln!(s, "pldns_tcp_reads_paused_total {}", tcp.paused_total());

    head(
        s,
        "pldns_rrl_enabled",
        "gauge",
        "1 while response rate limiting ([rrl]) is on.",
    );
    let _ = writeln!(s, "pldns_rrl_enabled {}", u8::from(snap.rrl.is_some()));
    head(
        s,
        "pldns_rrl_limited_total",
        "counter",
        "UDP answers limited by response rate limiting, by kind of answer and action: dropped, or slipped (sent truncated, TC=1, so a real client retries over TCP).",
    );
    let counts = snap.rrl.as_ref().map(|r| r.counts()).unwrap_or_default();
    for (i, kind) in KIND_LABELS.iter().enumerate() {
        for (action, v) in [("dropped", counts.dropped), ("slipped", counts.slipped)] {
            let _ = writeln!(
                s,
                "pldns_rrl_limited_total{{kind=\"{kind}\",action=\"{action}\"}} {}",
                v.get(i).copied().unwrap_or(0)
            );
        }
    }

    head(
        s,
        "pldns_worker_panics_total",
        "counter",
        "Panics caught in workers (a bug: please report it), by worker: udp (the thread went on with its socket), tcp (that connection closed), forward (its client got SERVFAIL). /healthz reports the last one for 10 minutes.",
    );
    for w in Worker::ALL {
        let _ = writeln!(
            s,
            "pldns_worker_panics_total{{worker=\"{}\"}} {}",
            w.label(),
            state.stats.panics.total(w)
        );
    }
}

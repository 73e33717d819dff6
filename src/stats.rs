//! The counters the query path bumps, owned by the query core: relaxed
//! atomic increments and nothing else (no lock, no allocation). Reading and
//! exposing them is `crate::metrics`' business; missing names go through
//! [`crate::missing`]. The front ends' own counters (TCP connections,
//! worker panics) are in [`front`].

mod front;

pub use front::{CloseReason, Panics, TcpStats, Worker};

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::missing::MissQueue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub const ALL: [Transport; 2] = [Transport::Udp, Transport::Tcp];

    pub fn label(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// Where an answer came from, as the query core knows it.
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
    /// From the cache past its TTL, because every forwarder failed
    /// (RFC 8767).
    Stale,
}

/// What a query is counted as: the `outcome` label of
/// `pldns_queries_total`. Error rcodes name it; otherwise the source does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Label {
    Local,
    Forwarded,
    Cached,
    Spliced,
    Stale,
    Nxdomain,
    Refused,
    Servfail,
    Formerr,
    Other,
}

impl Label {
    pub const ALL: [Label; 10] = [
        Label::Local,
        Label::Forwarded,
        Label::Cached,
        Label::Spliced,
        Label::Stale,
        Label::Nxdomain,
        Label::Refused,
        Label::Servfail,
        Label::Formerr,
        Label::Other,
    ];

    pub fn of(reply: &[u8], source: Source) -> Label {
        match reply.get(3).map(|b| b & 0x0F) {
            Some(1) => Label::Formerr,
            Some(2) => Label::Servfail,
            Some(3) => Label::Nxdomain,
            Some(5) => Label::Refused,
            Some(0) => match source {
                Source::Local => Label::Local,
                Source::Cached => Label::Cached,
                Source::Forwarded => Label::Forwarded,
                Source::Spliced => Label::Spliced,
                Source::Stale => Label::Stale,
                Source::Own => Label::Other,
            },
            _ => Label::Other,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Label::Local => "local",
            Label::Forwarded => "forwarded",
            Label::Cached => "cached",
            Label::Spliced => "spliced",
            Label::Stale => "stale",
            Label::Nxdomain => "nxdomain",
            Label::Refused => "refused",
            Label::Servfail => "servfail",
            Label::Formerr => "formerr",
            Label::Other => "other",
        }
    }
}

/// Upper bounds of the latency buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];

/// Query latency: counts per bucket (not cumulative), total and sum.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_ns
            .fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Relaxed);
    }

    /// Observations in bucket `i` alone (not cumulative).
    pub fn bucket(&self, i: usize) -> u64 {
        self.buckets.get(i).map_or(0, |b| b.load(Relaxed))
    }

    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    pub fn sum(&self) -> Duration {
        Duration::from_nanos(self.sum_ns.load(Relaxed))
    }
}

/// Every counter of the query path.
#[derive(Default)]
pub struct Stats {
    queries: [[AtomicU64; Label::ALL.len()]; Transport::ALL.len()],
    dropped: AtomicU64,
    latency: Histogram,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    forwards_rejected: AtomicU64,
    /// Names asked that a zone's table lacks.
    pub misses: MissQueue,
    pub tcp: TcpStats,
    pub panics: Panics,
}

impl Stats {
    /// One answered query: its reply, where it came from, how long it took.
    pub fn answered(&self, transport: Transport, reply: &[u8], source: Source, took: Duration) {
        self.queries[transport as usize][Label::of(reply, source) as usize].fetch_add(1, Relaxed);
        self.latency.observe(took);
    }

    /// A packet dropped unanswered (a runt, a response).
    pub fn dropped(&self) {
        self.dropped.fetch_add(1, Relaxed);
    }

    /// A query to forward looked up in the cache.
    pub fn cache(&self, hit: bool) {
        let counter = if hit {
            &self.cache_hits
        } else {
            &self.cache_misses
        };
        counter.fetch_add(1, Relaxed);
    }

    /// A query answered SERVFAIL because too many forwards were in flight.
    pub fn forward_rejected(&self) {
        self.forwards_rejected.fetch_add(1, Relaxed);
    }

    pub fn queries(&self, transport: Transport, label: Label) -> u64 {
        self.queries[transport as usize][label as usize].load(Relaxed)
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    pub fn latency(&self) -> &Histogram {
        &self.latency
    }

    pub fn cache_hits(&self) -> u64 {
        self.cache_hits.load(Relaxed)
    }

    pub fn cache_misses(&self) -> u64 {
        self.cache_misses.load(Relaxed)
    }

    pub fn forwards_rejected(&self) -> u64 {
        self.forwards_rejected.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_comes_from_rcode_then_source() {
        let reply = |rcode: u8| [0, 0, 0x81, 0x80 | rcode];
        assert_eq!(Label::of(&reply(0), Source::Spliced), Label::Spliced);
        assert_eq!(Label::of(&reply(3), Source::Local), Label::Nxdomain);
        assert_eq!(Label::of(&reply(2), Source::Forwarded), Label::Servfail);
        assert_eq!(Label::of(&reply(5), Source::Own), Label::Refused);
        assert_eq!(Label::Cached.label(), "cached");
        for (i, l) in Label::ALL.iter().enumerate() {
            assert_eq!(*l as usize, i);
        }
    }

    #[test]
    fn answered_counts_by_transport_and_label_and_times_it() {
        let s = Stats::default();
        s.answered(
            Transport::Tcp,
            &[0, 0, 0x81, 0x80],
            Source::Cached,
            Duration::from_micros(70),
        );
        assert_eq!(s.queries(Transport::Tcp, Label::Cached), 1);
        assert_eq!(s.queries(Transport::Udp, Label::Cached), 0);
        assert_eq!(s.latency().bucket(1), 1, "70 us falls in the 100 us bucket");
        assert_eq!(s.latency().count(), 1);
        assert_eq!(s.latency().sum(), Duration::from_micros(70));
    }
}

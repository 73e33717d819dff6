//! Counters of the front ends themselves, apart from the queries they
//! carry: TCP connections (opened, refused, closed and why) and worker
//! panics. Relaxed atomics, read by the exposition side.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

/// Why a TCP connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum CloseReason {
    /// The client closed it (or reset it).
    Client,
    /// Nothing outstanding and no whole message within the idle timeout
    /// (RFC 7766 §6.2.3), a message begun and never finished included.
    Idle,
    /// A message that is not a query we can answer on a stream (shorter
    /// than a header, a response, a body that does not parse).
    Garbage,
    /// A reply not taken by the client within the write deadline.
    WriteTimeout,
    /// Closed while idle to make room for a new connection at the cap.
    Evicted,
    /// The daemon is stopping.
    Shutdown,
    /// Its task panicked (logged and counted as a worker panic).
    Panic,
}

impl CloseReason {
    pub const ALL: [CloseReason; 7] = [
        CloseReason::Client,
        CloseReason::Idle,
        CloseReason::Garbage,
        CloseReason::WriteTimeout,
        CloseReason::Evicted,
        CloseReason::Shutdown,
        CloseReason::Panic,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CloseReason::Client => "client",
            CloseReason::Idle => "idle",
            CloseReason::Garbage => "garbage",
            CloseReason::WriteTimeout => "write_timeout",
            CloseReason::Evicted => "evicted",
            CloseReason::Shutdown => "shutdown",
            CloseReason::Panic => "panic",
        }
    }
}

/// The TCP front end's counters.
#[derive(Default)]
pub struct TcpStats {
    accepted: AtomicU64,
    open: AtomicU64,
    /// Turned away at the overall cap with no idle connection to close.
    refused_full: AtomicU64,
    /// Turned away because the client already held its share.
    refused_per_client: AtomicU64,
    closed: [AtomicU64; CloseReason::ALL.len()],
    /// Times a connection stopped reading because it had as many queries
    /// outstanding as it may (backpressure, RFC 7766 §6.2.1.2).
    paused: AtomicU64,
}

impl TcpStats {
    pub fn opened(&self) {
        self.accepted.fetch_add(1, Relaxed);
        self.open.fetch_add(1, Relaxed);
    }

    pub fn closed(&self, why: CloseReason) {
        self.closed[why as usize].fetch_add(1, Relaxed);
        self.open.fetch_sub(1, Relaxed);
    }

    pub fn refused(&self, per_client: bool) {
        let c = if per_client {
            &self.refused_per_client
        } else {
            &self.refused_full
        };
        c.fetch_add(1, Relaxed);
    }

    pub fn paused(&self) {
        self.paused.fetch_add(1, Relaxed);
    }

    pub fn accepted_total(&self) -> u64 {
        self.accepted.load(Relaxed)
    }

    pub fn open_now(&self) -> u64 {
        self.open.load(Relaxed)
    }

    pub fn refused_total(&self, per_client: bool) -> u64 {
        if per_client {
            self.refused_per_client.load(Relaxed)
        } else {
            self.refused_full.load(Relaxed)
        }
    }

    pub fn closed_total(&self, why: CloseReason) -> u64 {
        self.closed[why as usize].load(Relaxed)
    }

    pub fn paused_total(&self) -> u64 {
        self.paused.load(Relaxed)
    }
}

/// The kinds of worker that can panic and be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Worker {
    /// A UDP receive thread (it re-enters its loop on the same socket).
    Udp,
    /// A TCP connection task (that connection closes) or accept loop
    /// (restarted).
    Tcp,
    /// A forwarded query's task (its client gets SERVFAIL).
    Forward,
}

impl Worker {
    pub const ALL: [Worker; 3] = [Worker::Udp, Worker::Tcp, Worker::Forward];

    pub fn label(self) -> &'static str {
        match self {
            Worker::Udp => "udp",
            Worker::Tcp => "tcp",
            Worker::Forward => "forward",
        }
    }
}

/// Panics caught in workers, and when the last one was.
#[derive(Default)]
pub struct Panics {
    count: [AtomicU64; Worker::ALL.len()],
    /// Unix seconds of the last one; 0 for never.
    last_unix: AtomicU64,
}

impl Panics {
    pub fn caught(&self, worker: Worker) {
        self.count[worker as usize].fetch_add(1, Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_secs().max(1));
        self.last_unix.store(now, Relaxed);
    }

    pub fn total(&self, worker: Worker) -> u64 {
        self.count[worker as usize].load(Relaxed)
    }

    /// Unix seconds of the last panic, if there was one.
    pub fn last(&self) -> Option<u64> {
        Some(self.last_unix.load(Relaxed)).filter(|&t| t > 0)
    }
}

//! Forwarder failures in the log (timeouts, network errors, SERVFAIL and
//! REFUSED answers, discarded messages) at warning level, without flooding
//! it during an outage: per server, a failure is logged at once when the
//! server had none logged in the last [`WINDOW`]; the ones in between are
//! counted by kind and the next line says how many there were. Taken only
//! on failure paths; the counters of `/metrics` stay exact regardless.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tracing::warn;

use super::reply::Discard;

/// At most one line per server per this long.
pub const WINDOW: Duration = Duration::from_secs(10);

/// What went wrong with one try (or one message of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    Network,
    ServFail,
    Refused,
    /// A message thrown away (not ours, malformed, oversized; FORMERR or
    /// NOTIMP to our plain query).
    Discarded(Discard),
}

impl Failure {
    const KINDS: usize = 5;

    fn index(self) -> usize {
        match self {
            Failure::Timeout => 0,
            Failure::Network => 1,
            Failure::ServFail => 2,
            Failure::Refused => 3,
            Failure::Discarded(_) => 4,
        }
    }

    /// The kind, as counted in the "N more" part of a line.
    fn kind_label(index: usize) -> &'static str {
        [
            "timed out",
            "network error",
            "SERVFAIL",
            "REFUSED",
            "discarded",
        ]
        .get(index)
        .copied()
        .unwrap_or("other")
    }

    pub fn label(self) -> &'static str {
        match self {
            Failure::Discarded(why) => why.label(),
            other => Self::kind_label(other.index()),
        }
    }
}

#[derive(Debug, Default)]
struct Window {
    logged_at: Option<Instant>,
    suppressed: [u64; Failure::KINDS],
}

/// The per-server windows.
#[derive(Debug, Default)]
pub struct FailureLog {
    servers: Mutex<HashMap<SocketAddr, Window>>,
}

impl FailureLog {
    /// Notes a failure of `server`; logs it if the window allows, with
    /// `detail()` (built only then).
    pub fn note(&self, server: SocketAddr, failure: Failure, detail: impl FnOnce() -> String) {
        if let Some(suppressed) = self.decide(server, failure, Instant::now()) {
            let detail = detail();
            let more = summary(&suppressed);
            let total: u64 = suppressed.iter().sum();
            warn!(
                %server,
                failure = failure.label(),
                suppressed = total,
                "forwarder {server}: {detail}{more}"
            );
        }
    }

    /// `Some(counts suppressed since the last line)` when this failure is
    /// to be logged now.
    fn decide(
        &self,
        server: SocketAddr,
        failure: Failure,
        now: Instant,
    ) -> Option<[u64; Failure::KINDS]> {
        let mut servers = self.servers.lock();
        let w = servers.entry(server).or_default();
        let due = w
            .logged_at
            .is_none_or(|at| now.saturating_duration_since(at) >= WINDOW);
        if due {
            w.logged_at = Some(now);
            Some(std::mem::take(&mut w.suppressed))
        } else {
            if let Some(n) = w.suppressed.get_mut(failure.index()) {
                *n = n.saturating_add(1);
            }
            None
        }
    }
}

/// `" (and 12 more since the last line: 10 timed out, 2 SERVFAIL)"`, or
/// nothing.
fn summary(suppressed: &[u64; Failure::KINDS]) -> String {
    let total: u64 = suppressed.iter().sum();
    if total == 0 {
        return String::new();
    }
    let parts: Vec<String> = suppressed
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| format!("{n} {}", Failure::kind_label(i)))
        .collect();
    format!(
        " (and {total} more failures since the last line: {})",
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_server_per_window_with_the_count() {
        let log = FailureLog::default();
        let a: SocketAddr = "127.0.0.1:53".parse().unwrap();
        let b: SocketAddr = "127.0.0.2:53".parse().unwrap();
        let t0 = Instant::now();
        assert_eq!(log.decide(a, Failure::Timeout, t0), Some([0; 5]));
        // Another server has a window of its own.
        assert!(log.decide(b, Failure::ServFail, t0).is_some());
        for i in 0..100 {
            let f = if i % 10 == 0 {
                Failure::ServFail
            } else {
                Failure::Timeout
            };
            assert_eq!(log.decide(a, f, t0 + Duration::from_millis(i * 50)), None);
        }
        let later = t0 + WINDOW + Duration::from_millis(1);
        let counts = log.decide(a, Failure::Timeout, later).unwrap();
        assert_eq!(counts, [90, 0, 10, 0, 0]);
        assert_eq!(
            summary(&counts),
            " (and 100 more failures since the last line: 90 timed out, 10 SERVFAIL)"
        );
        assert_eq!(log.decide(a, Failure::Timeout, later), None);
    }

    #[test]
    fn labels() {
        assert_eq!(Failure::Timeout.label(), "timed out");
        assert_eq!(
            Failure::Discarded(Discard::Mismatched).label(),
            "mismatched"
        );
        assert_eq!(summary(&[0; 5]), "");
    }
}

//! Per-forwarder health: what one try told us about the server (not about
//! the name asked), and the back-off that orders servers for the next query.

use std::time::{Duration, Instant};

/// A server that failed is tried after the healthy ones for a while after
/// its last failure: 1 s, doubling per consecutive failure up to
/// `2^MAX_BACKOFF_DOUBLINGS` s (16 s); then it is probed again in its normal
/// place, so it is never skipped for good.
const MAX_BACKOFF_DOUBLINGS: u32 = 4;

#[derive(Debug, Clone, Copy, Default)]
pub struct Health {
    pub srtt: Option<Duration>,
    pub consecutive_failures: u32,
    pub last_failure: Option<Instant>,
    /// Tries sent.
    pub requests: u64,
    /// Tries that count against the server: timeouts, network errors,
    /// garbage, and FORMERR/NOTIMP even without EDNS.
    pub failures: u64,
    /// SERVFAIL answers: the server is up, one name is broken.
    pub servfails: u64,
    /// REFUSED answers: the server is up and does not serve this name.
    pub refused: u64,
}

/// What one try says about the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A useful answer, after this round-trip time.
    Answered(Duration),
    /// SERVFAIL: alive, but this name failed there. We fail over for the
    /// query, but a broken domain must not make a healthy server look down.
    ServFail,
    /// REFUSED: alive; same reasoning as SERVFAIL.
    Refused,
    /// No answer, a network error, garbage, or an answer it should never
    /// give (FORMERR/NOTIMP to a plain query).
    Failed,
}

impl Health {
    pub fn is_down(&self, now: Instant) -> bool {
        let Some(last) = self.last_failure else {
            return false;
        };
        // Zero after a success: the last failure no longer counts.
        let Some(doublings) = self.consecutive_failures.checked_sub(1) else {
            return false;
        };
        let backoff = Duration::from_secs(1 << doublings.min(MAX_BACKOFF_DOUBLINGS));
        now.saturating_duration_since(last) < backoff
    }

    pub fn record(&mut self, verdict: Verdict, now: Instant) {
        self.requests = self.requests.saturating_add(1);
        match verdict {
            Verdict::Answered(rtt) => {
                self.consecutive_failures = 0;
                // RFC 6298-style smoothing, weight 1/8.
                self.srtt = Some(
                    self.srtt
                        .map_or(rtt, |s| s.saturating_mul(7).saturating_add(rtt) / 8),
                );
            }
            // Proof of life, but not an RTT sample: a SERVFAIL may come after
            // the upstream's own long timeouts.
            Verdict::ServFail => {
                self.consecutive_failures = 0;
                self.servfails = self.servfails.saturating_add(1);
            }
            Verdict::Refused => {
                self.consecutive_failures = 0;
                self.refused = self.refused.saturating_add(1);
            }
            Verdict::Failed => {
                self.failures = self.failures.saturating_add(1);
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.last_failure = Some(now);
            }
        }
    }
}

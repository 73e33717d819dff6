//! Forwarding policy: which forwarder to try first (health: smoothed RTT and
//! recent failures), failover to the next on timeout, garbage, SERVFAIL or
//! REFUSED, one retry without EDNS after FORMERR/NOTIMP, an overall deadline
//! per client query, and coalescing of identical concurrent questions into
//! one upstream query. One exchange over one transport lives in `udp.rs` and
//! `tcp.rs`; what we send and accept back in `reply.rs`.

mod faillog;
mod health;
mod reply;
mod tcp;
mod udp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::Name;
use parking_lot::Mutex;
use thiserror::Error;
use tokio::sync::oneshot;
use tracing::debug;

pub use faillog::{Failure, FailureLog};
pub use health::{Health, Verdict};
pub use reply::{Discard, DiscardCounts, Discards, PLAIN_PAYLOAD, UPSTREAM_PAYLOAD, accept};

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ForwardError {
    #[error("no forwarders configured")]
    NoServers,
    #[error("no forwarder answered usefully ({tried} tried)")]
    Exhausted { tried: usize },
    #[error("the query's deadline passed ({tried} forwarders tried)")]
    Deadline { tried: usize },
    #[error("invalid name for an upstream query")]
    BadName,
}

/// Why one try gave nothing usable.
#[derive(Debug)]
pub(crate) enum TryError {
    Timeout,
    Network(std::io::Error),
    /// Over UDP, an answer longer than we allowed: ask again over TCP.
    Oversized,
    /// A TCP stream that carried something other than a DNS message.
    Garbage,
}

impl std::fmt::Display for TryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TryError::Timeout => f.write_str("timed out"),
            TryError::Network(e) => write!(f, "{e}"),
            TryError::Oversized => f.write_str("oversized UDP answer"),
            TryError::Garbage => f.write_str("garbage on TCP"),
        }
    }
}

/// What to ask upstream.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    /// Lowercase wire format.
    pub name: &'a [u8],
    pub qtype: u16,
    pub dnssec_ok: bool,
    pub checking_disabled: bool,
}

/// Servers whose smoothed RTTs fall in the same band keep their configured
/// order, so a primary/secondary pair behaves as written.
const RTT_BAND: Duration = Duration::from_millis(50);

/// An upstream's reply and the server that gave it.
pub type Answer = (Arc<Message>, SocketAddr);

type Waiters = Vec<oneshot::Sender<Result<Answer, ForwardError>>>;

#[derive(Clone, PartialEq, Eq, Hash)]
struct FlightKey {
    servers: Arc<[SocketAddr]>,
    name: Box<[u8]>,
    qtype: u16,
    flags: u8,
}

/// Health and in-flight tables behind `parking_lot` locks: held for a few
/// map operations, never across an await, and they cannot be poisoned.
#[derive(Default)]
pub struct Forwarder {
    health: Mutex<HashMap<SocketAddr, Health>>,
    inflight: Mutex<HashMap<FlightKey, Waiters>>,
    discards: Discards,
    failures: FailureLog,
}

/// Removes an in-flight entry when the leading query ends, however it ends:
/// if it is cancelled, the waiters see a closed channel instead of hanging.
struct FlightGuard<'a> {
    forwarder: &'a Forwarder,
    key: Option<FlightKey>,
}

impl FlightGuard<'_> {
    fn finish(mut self, result: &Result<Answer, ForwardError>) {
        let Some(key) = self.key.take() else { return };
        let waiters = self.forwarder.inflight.lock().remove(&key);
        for w in waiters.into_iter().flatten() {
            let _ = w.send(result.clone());
        }
    }
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.forwarder.inflight.lock().remove(&key);
        }
    }
}

impl Forwarder {
    pub fn new() -> Forwarder {
        Forwarder::default()
    }

    /// Health of every forwarder used so far.
    pub fn health(&self) -> Vec<(SocketAddr, Health)> {
        let mut v: Vec<_> = self.health.lock().iter().map(|(a, h)| (*a, *h)).collect();
        v.sort_by_key(|(a, _)| *a);
        v
    }

    /// Upstream messages discarded so far, per reason.
    pub fn discards(&self) -> DiscardCounts {
        self.discards.get()
    }

    /// Asks `servers` (in order of health) until one answers usefully, each
    /// try given at most `timeout` and none started at or after `deadline`
    /// (one deadline per client query, however many hops its chain takes).
    /// Identical questions to the same servers in flight share one query.
    pub async fn query(
        &self,
        servers: &Arc<[SocketAddr]>,
        q: Question<'_>,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<Answer, ForwardError> {
        if servers.is_empty() {
            return Err(ForwardError::NoServers);
        }
        let key = FlightKey {
            servers: servers.clone(),
            name: q.name.into(),
            qtype: q.qtype,
            flags: u8::from(q.dnssec_ok) | (u8::from(q.checking_disabled) << 1),
        };
        let waiter = {
            let mut inflight = self.inflight.lock();
            match inflight.get_mut(&key) {
                Some(waiters) => {
                    let (tx, rx) = oneshot::channel();
                    waiters.push(tx);
                    Some(rx)
                }
                None => {
                    inflight.insert(key.clone(), Vec::new());
                    None
                }
            }
        };
        if let Some(rx) = waiter {
            // The leader may have a later deadline than ours: wait no longer
            // than our own. If it was cancelled, ask ourselves.
            let until = tokio::time::Instant::from_std(deadline);
            return match tokio::time::timeout_at(until, rx).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => self.ask(servers, q, timeout, deadline).await,
                Err(_) => Err(ForwardError::Deadline { tried: 0 }),
            };
        }
        let guard = FlightGuard {
            forwarder: self,
            key: Some(key),
        };
        let result = self.ask(servers, q, timeout, deadline).await;
        guard.finish(&result);
        result
    }

    /// `servers` sorted for trying: up before down, then by RTT band, then
    /// as configured.
    pub fn order(&self, servers: &[SocketAddr]) -> Vec<SocketAddr> {
        let now = Instant::now();
        let health = self.health.lock();
        let mut ranked: Vec<(bool, u128, usize, SocketAddr)> = servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let h = health.get(s).copied().unwrap_or_default();
                let band = h.srtt.map_or(0, |r| r.as_micros() / RTT_BAND.as_micros());
                (h.is_down(now), band, i, *s)
            })
            .collect();
        drop(health);
        ranked.sort();
        ranked.into_iter().map(|(_, _, _, s)| s).collect()
    }

    fn record(&self, server: SocketAddr, verdict: Verdict) {
        let now = Instant::now();
        self.health
            .lock()
            .entry(server)
            .or_default()
            .record(verdict, now);
    }

    async fn ask(
        &self,
        servers: &[SocketAddr],
        q: Question<'_>,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<Answer, ForwardError> {
        let name = hickory_name(q.name).ok_or(ForwardError::BadName)?;
        let order = self.order(servers);
        let mut tried = 0;
        for &server in &order {
            if Instant::now() >= deadline {
                return Err(ForwardError::Deadline { tried });
            }
            tried += 1;
            let started = Instant::now();
            let mut outcome = self
                .exchange(server, &name, q, true, timeout, deadline)
                .await;
            if let Ok(reply) = &outcome
                && let Some(why) = refuses_our_query(reply)
            {
                // RFC 6891 §7: a server that does not understand EDNS may
                // answer FORMERR (or NOTIMP); ask it once more without.
                self.discards.count(why);
                debug!(%server, why = why.label(), "forwarder rejected our EDNS query; retrying without");
                outcome = if Instant::now() < deadline {
                    self.discards.plain_retry();
                    self.exchange(server, &name, q, false, timeout, deadline)
                        .await
                } else {
                    Err(TryError::Timeout)
                };
            }
            let verdict = match &outcome {
                Ok(reply) => match (reply.metadata.response_code, refuses_our_query(reply)) {
                    // Even without EDNS: the server cannot serve us.
                    (_, Some(why)) => {
                        self.discards.count(why);
                        self.failures.note(server, Failure::Discarded(why), || {
                            format!("answered {} to {}", why.label(), asked(q))
                        });
                        Verdict::Failed
                    }
                    (ResponseCode::ServFail, _) => {
                        self.failures.note(server, Failure::ServFail, || {
                            format!("answered SERVFAIL to {}", asked(q))
                        });
                        Verdict::ServFail
                    }
                    (ResponseCode::Refused, _) => {
                        self.failures.note(server, Failure::Refused, || {
                            format!("answered REFUSED to {}", asked(q))
                        });
                        Verdict::Refused
                    }
                    _ => Verdict::Answered(started.elapsed()),
                },
                Err(e) => {
                    let failure = match e {
                        TryError::Timeout => Failure::Timeout,
                        TryError::Network(_) => Failure::Network,
                        TryError::Oversized => Failure::Discarded(Discard::Oversized),
                        TryError::Garbage => Failure::Discarded(Discard::Malformed),
                    };
                    self.failures.note(server, failure, || match e {
                        TryError::Timeout => format!(
                            "no answer to {} within {} ms",
                            asked(q),
                            timeout.as_millis()
                        ),
                        other => format!("{other} asking {}", asked(q)),
                    });
                    Verdict::Failed
                }
            };
            self.record(server, verdict);
            if let (Verdict::Answered(_), Ok(reply)) = (verdict, outcome) {
                return Ok((Arc::new(reply), server));
            }
            debug!(%server, "trying the next forwarder");
        }
        Err(ForwardError::Exhausted { tried })
    }

    /// One try: UDP, then TCP when the UDP answer is truncated (RFC 7766
    /// §5) or larger than we allowed. Never past `deadline`.
    async fn exchange(
        &self,
        server: SocketAddr,
        name: &Name,
        q: Question<'_>,
        edns: bool,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<Message, TryError> {
        let now = Instant::now();
        let until = tokio::time::Instant::from_std(deadline.min(now + timeout));
        let id: u16 = rand::random();
        let query = reply::build_query(id, name, q, edns).ok_or(TryError::Garbage)?;
        let advertised = if edns {
            UPSTREAM_PAYLOAD
        } else {
            PLAIN_PAYLOAD
        };
        match udp::exchange(
            server,
            &query,
            q,
            advertised,
            until,
            &self.discards,
            &self.failures,
        )
        .await
        {
            Ok(reply) if reply.metadata.truncation => {
                tcp::exchange(server, &query, q, until, &self.discards, &self.failures).await
            }
            Err(TryError::Oversized) => {
                tcp::exchange(server, &query, q, until, &self.discards, &self.failures).await
            }
            other => other,
        }
    }
}

/// `name TYPE` of a question, for the log.
fn asked(q: Question<'_>) -> String {
    let mut text = String::new();
    let _ = crate::name::write_text(q.name, &mut text);
    format!("{text} {}", crate::wire::names::type_name(q.qtype))
}

/// FORMERR or NOTIMP: the server did not take our query, whatever the name.
fn refuses_our_query(reply: &Message) -> Option<Discard> {
    match reply.metadata.response_code {
        ResponseCode::FormErr => Some(Discard::FormErr),
        ResponseCode::NotImp => Some(Discard::NotImp),
        _ => None,
    }
}

/// A hickory `Name` from lowercase wire format.
pub fn hickory_name(wire: &[u8]) -> Option<Name> {
    let labels = crate::name::suffixes(wire)
        .filter_map(|s| s.get(1..1 + *s.first()? as usize))
        .filter(|l| !l.is_empty());
    let mut name = Name::from_labels(labels).ok()?;
    name.set_fqdn(true);
    Some(name)
}

/// Lowercase wire format of a hickory `Name`.
pub fn wire_of(name: &Name) -> Vec<u8> {
    let mut w = Vec::with_capacity(name.len() + 2);
    for label in name.iter() {
        w.push(label.len() as u8);
        w.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    w.push(0);
    w
}

#[cfg(test)]
mod tests;

//! Forwarding policy: which forwarder to try first (health: smoothed RTT and
//! recent failures), failover to the next on timeout, SERVFAIL or REFUSED,
//! and coalescing of identical concurrent questions into one upstream query.
//! One exchange over one transport lives in `udp.rs` and `tcp.rs`.

mod tcp;
mod udp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use thiserror::Error;
use tokio::sync::oneshot;
use tracing::debug;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ForwardError {
    #[error("no forwarders configured")]
    NoServers,
    #[error("no forwarder answered usefully ({tried} tried)")]
    Exhausted { tried: usize },
    #[error("invalid name for an upstream query")]
    BadName,
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

/// A server that failed is tried after the healthy ones until this long
/// after its last failure (doubling per consecutive failure, from 1 s),
/// then it is probed again in its normal place: never skipped for good.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Servers whose smoothed RTTs fall in the same band keep their configured
/// order, so a primary/secondary pair behaves as written.
const RTT_BAND: Duration = Duration::from_millis(50);
/// EDNS payload we advertise upstream (RFC 6891 §6.2.5, DNS Flag Day 2020).
const UPSTREAM_PAYLOAD: u16 = 1232;

#[derive(Debug, Clone, Copy, Default)]
pub struct Health {
    pub srtt: Option<Duration>,
    pub consecutive_failures: u32,
    pub last_failure: Option<Instant>,
    pub requests: u64,
    pub failures: u64,
}

impl Health {
    pub fn is_down(&self, now: Instant) -> bool {
        let Some(last) = self.last_failure else {
            return false;
        };
        if self.consecutive_failures == 0 {
            return false;
        }
        let backoff =
            Duration::from_secs(1u64 << self.consecutive_failures.min(5).saturating_sub(1));
        now.saturating_duration_since(last) < backoff.min(MAX_BACKOFF)
    }
}

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

#[derive(Default)]
pub struct Forwarder {
    health: Mutex<HashMap<SocketAddr, Health>>,
    inflight: Mutex<HashMap<FlightKey, Waiters>>,
}

/// Removes an in-flight entry when the leading query ends, however it ends:
/// if it is cancelled, the waiters see a closed channel instead of hanging.
struct FlightGuard<'a> {
    forwarder: &'a Forwarder,
    key: Option<FlightKey>,
}

impl FlightGuard<'_> {
    fn finish(mut self, result: &Result<Answer, ForwardError>) {
        let key = self.key.take().expect("finish once");
        let waiters = self.forwarder.inflight.lock().unwrap().remove(&key);
        for w in waiters.into_iter().flatten() {
            let _ = w.send(result.clone());
        }
    }
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.forwarder.inflight.lock().unwrap().remove(&key);
        }
    }
}

impl Forwarder {
    pub fn new() -> Forwarder {
        Forwarder::default()
    }

    /// Health of every forwarder used so far.
    pub fn health(&self) -> Vec<(SocketAddr, Health)> {
        let mut v: Vec<_> = self
            .health
            .lock()
            .unwrap()
            .iter()
            .map(|(a, h)| (*a, *h))
            .collect();
        v.sort_by_key(|(a, _)| *a);
        v
    }

    /// Asks `servers` (in order of health) until one answers usefully.
    /// Identical questions to the same servers in flight share one query.
    pub async fn query(
        &self,
        servers: &Arc<[SocketAddr]>,
        q: Question<'_>,
        timeout: Duration,
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
            let mut inflight = self.inflight.lock().unwrap();
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
            // The leader was cancelled: ask ourselves rather than fail.
            return match rx.await {
                Ok(result) => result,
                Err(_) => self.ask(servers, q, timeout).await,
            };
        }
        let guard = FlightGuard {
            forwarder: self,
            key: Some(key),
        };
        let result = self.ask(servers, q, timeout).await;
        guard.finish(&result);
        result
    }

    /// `servers` sorted for trying: up before down, then by RTT band, then
    /// as configured.
    pub fn order(&self, servers: &[SocketAddr]) -> Vec<SocketAddr> {
        let now = Instant::now();
        let health = self.health.lock().unwrap();
        let mut ranked: Vec<(bool, u128, usize, SocketAddr)> = servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let h = health.get(s).copied().unwrap_or_default();
                let band = h.srtt.map_or(0, |r| r.as_micros() / RTT_BAND.as_micros());
                (h.is_down(now), band, i, *s)
            })
            .collect();
        ranked.sort();
        ranked.into_iter().map(|(_, _, _, s)| s).collect()
    }

    fn record(&self, server: SocketAddr, outcome: Result<Duration, ()>) {
        let mut health = self.health.lock().unwrap();
        let h = health.entry(server).or_default();
        h.requests += 1;
        match outcome {
            Ok(rtt) => {
                h.consecutive_failures = 0;
                // RFC 6298-style smoothing, weight 1/8.
                h.srtt = Some(h.srtt.map_or(rtt, |s| (s * 7 + rtt) / 8));
            }
            Err(()) => {
                h.failures += 1;
                h.consecutive_failures = h.consecutive_failures.saturating_add(1);
                h.last_failure = Some(Instant::now());
            }
        }
    }

    async fn ask(
        &self,
        servers: &[SocketAddr],
        q: Question<'_>,
        timeout: Duration,
    ) -> Result<Answer, ForwardError> {
        let name = hickory_name(q.name).ok_or(ForwardError::BadName)?;
        let order = self.order(servers);
        for server in &order {
            let id: u16 = rand::random();
            let query = build_query(id, &name, q);
            let started = Instant::now();
            let outcome = match udp::exchange(*server, &query, q, timeout).await {
                Ok(reply) if reply.metadata.truncation => {
                    // RFC 7766 §5: a truncated UDP answer is retried over TCP.
                    tcp::exchange(*server, &query, q, timeout).await
                }
                other => other,
            };
            match outcome {
                Ok(reply)
                    if !matches!(
                        reply.metadata.response_code,
                        ResponseCode::ServFail | ResponseCode::Refused
                    ) =>
                {
                    self.record(*server, Ok(started.elapsed()));
                    return Ok((Arc::new(reply), *server));
                }
                Ok(reply) => {
                    debug!(%server, rcode = %reply.metadata.response_code, "forwarder refused or failed");
                    self.record(*server, Err(()));
                }
                Err(e) => {
                    debug!(%server, error = %e, "forwarder did not answer");
                    self.record(*server, Err(()));
                }
            }
        }
        Err(ForwardError::Exhausted { tried: order.len() })
    }
}

/// A hickory `Name` from lowercase wire format.
pub fn hickory_name(wire: &[u8]) -> Option<Name> {
    let labels = crate::name::suffixes(wire)
        .map(|s| &s[1..1 + s[0] as usize])
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

fn build_query(id: u16, name: &Name, q: Question<'_>) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = id;
    m.metadata.recursion_desired = true;
    m.metadata.checking_disabled = q.checking_disabled;
    m.add_query(Query::query(name.clone(), RecordType::from(q.qtype)));
    let mut edns = Edns::new();
    edns.set_max_payload(UPSTREAM_PAYLOAD);
    edns.set_dnssec_ok(q.dnssec_ok);
    m.set_edns(edns);
    m.to_vec().unwrap_or_default()
}

/// RFC 5452 §9.1: accept a reply only if its ID and question match what we
/// asked (the source address is checked by the connected socket).
fn matches(reply: &Message, id: u16, q: Question<'_>) -> bool {
    reply.metadata.id == id
        && reply.metadata.message_type == hickory_proto::op::MessageType::Response
        && reply.queries.len() == 1
        && u16::from(reply.queries[0].query_type()) == q.qtype
        && wire_of(reply.queries[0].name()) == q.name
}

#[cfg(test)]
mod tests;

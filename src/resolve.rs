//! The resolution core: query bytes, client address and one snapshot in,
//! answer bytes (or a forwarding job) out. No sockets here, so the front ends
//! and the benches drive the same function.
//!
//! Order of the steps: parse -> ACL -> sanity rules -> classify -> answer
//! locally or hand over to forwarding.

use std::net::IpAddr;
use std::time::Instant;

use crate::cache::{Cache, Depends};
use crate::classify::{Route, classify};
use crate::forward::{Forwarder, Question};
use crate::local::{self, Outcome, Start};
use crate::metrics::{Metrics, Source};
use crate::snapshot::Snapshot;
use crate::splice::{Spliced, splice};
use crate::wire::{
    self, CLASS_IN, Malformed, NameBuf, Query, Rcode, ResponseWriter, error_reply, parse_query,
    rtype, udp_limit,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    /// The largest answer `q` may get: its UDP payload size (RFC 6891), or
    /// a whole TCP message.
    pub fn limit(self, q: &Query<'_>, snap: &Snapshot) -> usize {
        match self {
            Transport::Udp => udp_limit(q.edns, snap.config.edns_udp_size),
            Transport::Tcp => u16::MAX as usize,
        }
    }
}

/// What the front end does with a packet.
#[derive(Debug)]
pub enum Action {
    /// `out` holds the reply.
    Reply(Source),
    /// Send nothing.
    Drop,
    /// The answer needs a forwarder: hand the packet and this snapshot to
    /// [`complete`], which replays the local part and forwards the rest.
    Forward,
}

/// Answers one packet. `out` is cleared and reused. Answers that need a
/// forwarder come from `cache` when it has them, else as `Action::Forward`.
pub fn resolve(
    snap: &Snapshot,
    cache: Option<&Cache>,
    metrics: &Metrics,
    packet: &[u8],
    client: IpAddr,
    transport: Transport,
    out: &mut Vec<u8>,
) -> Action {
    let q = match parse_query(packet) {
        Ok(q) => q,
        Err(Malformed::Drop) => return Action::Drop,
        Err(_) if !snap.is_allowed(client) => {
            error_reply(out, packet, Rcode::Refused);
            return Action::Reply(Source::Own);
        }
        Err(Malformed::FormErr) => {
            error_reply(out, packet, Rcode::FormErr);
            return Action::Reply(Source::Own);
        }
        Err(Malformed::NotImp) => {
            error_reply(out, packet, Rcode::NotImp);
            return Action::Reply(Source::Own);
        }
    };
    let limit = transport.limit(&q, snap);
    let ours = snap.config.edns_udp_size;
    let finish = |w: ResponseWriter<'_>, rcode| w.finish(q.edns, ours, limit, rcode);

    if !snap.is_allowed(client) {
        finish(
            ResponseWriter::new(out, &q, Rcode::Refused, false),
            Rcode::Refused,
        );
        return Action::Reply(Source::Own);
    }
    if let Some(rcode) = refusal(&q) {
        finish(ResponseWriter::new(out, &q, rcode, false), rcode);
        return Action::Reply(Source::Own);
    }

    let start = match classify(snap, q.qname.wire()) {
        Route::Local(zone) => Start::Local(zone),
        Route::Twin { zone, mapped } => Start::Twin { zone, mapped },
        Route::Forward(_) => {
            if cached(snap, cache, metrics, &q, limit, out) {
                return Action::Reply(Source::Cached);
            }
            out.clear();
            return Action::Forward;
        }
    };
    let mut w = ResponseWriter::new(out, &q, Rcode::NoError, false);
    match local::answer(snap, &q, start, &mut w, Some(metrics)) {
        Outcome::Done(Rcode::ServFail) => {
            // A CNAME loop in the table: say nothing rather than half a chain.
            finish(
                ResponseWriter::new(out, &q, Rcode::ServFail, false),
                Rcode::ServFail,
            );
        }
        Outcome::Done(rcode) => {
            w.set_rcode(rcode);
            finish(w, rcode);
        }
        Outcome::Forward { .. } => {
            if cached(snap, cache, metrics, &q, limit, out) {
                return Action::Reply(Source::Cached);
            }
            return Action::Forward;
        }
    }
    Action::Reply(Source::Local)
}

fn cached(
    snap: &Snapshot,
    cache: Option<&Cache>,
    metrics: &Metrics,
    q: &Query<'_>,
    limit: usize,
    out: &mut Vec<u8>,
) -> bool {
    let Some(c) = cache else { return false };
    let hit = c.answer(
        q,
        snap.generations(),
        Instant::now(),
        (snap.config.edns_udp_size, limit),
        out,
    );
    metrics.cache(hit);
    hit
}

/// How many times one client query may go upstream: the name itself, then
/// names where chains left the table (on_miss = "forward").
const MAX_FORWARDS: usize = 4;

/// Finishes a query that [`resolve`] handed over as `Action::Forward`:
/// replays its local part on the same snapshot, asks the forwarders, splices
/// their answer into the zones with records, caches the result and returns
/// the reply for this client.
pub async fn complete(
    snap: &Snapshot,
    forwarder: &Forwarder,
    cache: Option<&Cache>,
    metrics: &Metrics,
    packet: &[u8],
    transport: Transport,
) -> Completed {
    let mut out = Vec::with_capacity(512);
    let own = |reply| Completed {
        reply,
        source: Source::Own,
        upstream: None,
    };
    let Ok(q) = parse_query(packet) else {
        error_reply(&mut out, packet, Rcode::FormErr);
        return own(out);
    };
    let limit = transport.limit(&q, snap);
    let ours = snap.config.edns_udp_size;
    let timeout = snap.config.timeout;
    fn question<'n>(name: &'n NameBuf, q: &Query<'_>) -> Question<'n> {
        Question {
            name: name.wire(),
            qtype: q.qtype,
            dnssec_ok: q.edns.is_some_and(|e| e.dnssec_ok),
            checking_disabled: q.cd,
        }
    }

    let mut w = ResponseWriter::new(&mut out, &q, Rcode::NoError, false);
    // Replayed, not counted again: `resolve` reported its misses already.
    let replay = |start, w: &mut ResponseWriter<'_>| match local::answer(snap, &q, start, w, None) {
        Outcome::Forward { name, zone } => Some((name, zone)),
        Outcome::Done(_) => None,
    };
    let first = match classify(snap, q.qname.wire()) {
        Route::Local(zone) => replay(Start::Local(zone), &mut w).map(|(n, z)| (n, z, true)),
        Route::Twin { zone, mapped } => {
            replay(Start::Twin { zone, mapped }, &mut w).map(|(n, z)| (n, z, true))
        }
        Route::Forward(zone) => Some((q.qname.clone(), zone, false)),
    };
    let Some((mut name, mut zone, mut touched)) = first else {
        // The same snapshot gives the same local answer; finish it as is.
        w.finish(q.edns, ours, limit, Rcode::NoError);
        return Completed {
            reply: out,
            source: Source::Local,
            upstream: None,
        };
    };
    // Upstream data for a name inside a zone with records is relayed but
    // never cached: the table may gain that name at any moment.
    let mut cacheable = true;
    let mut upstream = None;
    let deadline = Instant::now() + snap.config.query_timeout;
    for _ in 0..MAX_FORWARDS {
        cacheable &= snap.local_zone_of(name.wire()).is_none();
        let reply = match forwarder
            .query(
                snap.forwarders(zone),
                question(&name, &q),
                timeout,
                deadline,
            )
            .await
        {
            Ok((reply, server)) => {
                upstream = Some(server);
                reply
            }
            Err(_) => break,
        };
        match splice(snap, &q, &mut w, name.wire(), &reply, Some(metrics)) {
            Spliced::Done {
                rcode,
                cut,
                authentic,
            } => {
                touched |= cut;
                w.set_rcode(rcode);
                w.set_flags(authentic && !touched);
                let body = w.finish_body();
                if cacheable && let Some(cache) = cache {
                    let depends = if touched {
                        Depends::Table
                    } else {
                        Depends::Routing
                    };
                    let generation = Cache::generation_for(depends, snap.generations());
                    cache.store(&q, body, rcode, generation, Instant::now());
                }
                wire::seal(body, q.edns, ours, limit, rcode);
                let source = if touched {
                    Source::Spliced
                } else {
                    Source::Forwarded
                };
                return Completed {
                    reply: out,
                    source,
                    upstream,
                };
            }
            Spliced::Forward {
                name: next,
                zone: next_zone,
            } => {
                name = next;
                zone = next_zone;
                touched = true;
            }
        }
    }
    let mut out = Vec::with_capacity(128);
    servfail(snap, packet, transport, &mut out);
    Completed {
        upstream,
        ..own(out)
    }
}

/// A finished forwarded query.
pub struct Completed {
    pub reply: Vec<u8>,
    pub source: Source,
    /// The forwarder whose answer it carries (the last one asked).
    pub upstream: Option<std::net::SocketAddr>,
}

/// Queries answered with an error before any lookup.
fn refusal(q: &Query<'_>) -> Option<Rcode> {
    if let Some(e) = q.edns
        && e.version > 0
    {
        // RFC 6891 §6.1.3.
        return Some(Rcode::BadVers);
    }
    if q.qclass != CLASS_IN {
        return Some(Rcode::Refused);
    }
    match q.qtype {
        // Zone transfers are not offered; OPT is not a question.
        251 | 252 => Some(Rcode::Refused),
        rtype::OPT => Some(Rcode::FormErr),
        _ => None,
    }
}

/// SERVFAIL for `packet` (a query that parsed before), for when forwarding
/// fails or is not possible.
pub fn servfail(snap: &Snapshot, packet: &[u8], transport: Transport, out: &mut Vec<u8>) {
    match wire::parse_query(packet) {
        Ok(q) => {
            let limit = transport.limit(&q, snap);
            ResponseWriter::new(out, &q, Rcode::ServFail, false).finish(
                q.edns,
                snap.config.edns_udp_size,
                limit,
                Rcode::ServFail,
            );
        }
        Err(_) => error_reply(out, packet, Rcode::ServFail),
    }
}

//! The resolution core: query bytes, client address and one snapshot in, an
//! [`Outcome`] out: the answer bytes, nothing, or a [`Pending`] forwarded
//! query that [`Pending::resume`] finishes. No sockets here, so the front
//! ends and the benches drive the same functions.
//!
//! The steps, in order, each in one place: parse (zone transfers, NOTIFY
//! and signed queries are handed over here) -> ACL -> [`screen`] the
//! question -> classify -> the table ([`chain`]) or the cache -> forward ->
//! splice -> the table again where the chain enters it -> cache, or (every
//! forwarder failed) a stale answer from the cache (RFC 8767). A forwarded
//! query is parsed, classified and answered from the table once: what
//! `resolve` wrote travels in the `Pending`, and the forwarding step
//! appends to it. Response rate limiting ([`rate_limit`]) judges the
//! finished UDP reply, once its kind is known.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::cache::Cache;
use crate::chain::{self, End, Hop, Start};
use crate::classify::{Route, classify};
use crate::snapshot::Snapshot;
use crate::stats::Stats;
use crate::wire::{
    self, CLASS_IN, Malformed, Query, Rcode, ResponseWriter, Suspended, error_reply, parse_query,
    rtype, udp_limit,
};

pub use crate::stats::{Source, Transport};
pub use limit::rate_limit;
pub use pending::{Completed, Pending, Step};

mod limit;
mod pending;

/// What the front end does with a packet.
#[derive(Debug)]
pub enum Outcome {
    /// `out` holds the reply.
    Reply(Source),
    /// Send nothing.
    Drop,
    /// The answer needs a forwarder: hand this to [`Pending::resume`] (or,
    /// when it cannot be forwarded now, answer [`Pending::fail`]).
    Forward(Box<Pending>),
    /// Not a query for this core: a zone transfer (AXFR, IXFR), a NOTIFY,
    /// or a TSIG-signed query. The front end hands the packet to zone
    /// transfer (`crate::xfr`), which decides who may ask (its
    /// `transfer_allow` and keys, beside `allow`).
    Handover,
}

/// The largest answer `q` may get: its UDP payload size (RFC 6891), or a
/// whole TCP message.
pub fn limit(transport: Transport, q: &Query<'_>, snap: &Snapshot) -> usize {
    match transport {
        Transport::Udp => udp_limit(q.edns, snap.config.edns_udp_size),
        Transport::Tcp => u16::MAX as usize,
    }
}

/// Answers one packet from the table or the cache, or hands it over for
/// forwarding. `out` is cleared and reused. Local answers and cache hits
/// allocate nothing.
pub fn resolve(
    snap: &Arc<Snapshot>,
    cache: Option<&Cache>,
    stats: &Stats,
    packet: &[u8],
    client: IpAddr,
    transport: Transport,
    out: &mut Vec<u8>,
) -> Outcome {
    // Matched by reference: moving the parsed query out would copy it.
    let parsed = parse_query(packet);
    let q = match &parsed {
        Ok(q) if q.signed || q.qtype == rtype::AXFR || q.qtype == rtype::IXFR => {
            return Outcome::Handover;
        }
        Ok(q) => q,
        Err(Malformed::Drop) => return Outcome::Drop,
        Err(Malformed::NotImp) if wire::opcode(packet) == Some(wire::OPCODE_NOTIFY) => {
            return Outcome::Handover;
        }
        Err(malformed) => {
            let rcode = match malformed {
                _ if !snap.is_allowed(client) => Rcode::Refused,
                Malformed::NotImp => Rcode::NotImp,
                _ => Rcode::FormErr,
            };
            error_reply(out, packet, rcode);
            return Outcome::Reply(Source::Own);
        }
    };
    let limit = limit(transport, q, snap);
    let ours = snap.config.edns_udp_size;
    let own = |out: &mut Vec<u8>, rcode| {
        ResponseWriter::new(out, q, rcode, false).finish(q.edns, ours, limit, rcode);
        Outcome::Reply(Source::Own)
    };

    if !snap.is_allowed(client) && !snap.is_refresh_query(client, q.qname.wire(), q.qtype) {
        return own(out, Rcode::Refused);
    }
    if let Some(rcode) = screen(q) {
        return own(out, rcode);
    }

    let start = match classify(snap, q.qname.wire()) {
        Route::Local(zone) => Start::Local(zone),
        Route::Twin { zone, mapped } => Start::Twin { zone, mapped },
        Route::Forward(zone) => {
            let hop = Hop {
                name: q.qname.clone(),
                zone,
            };
            return forward(snap, cache, stats, q, limit, hop, None, out);
        }
    };
    let mut w = ResponseWriter::new(out, q, Rcode::NoError, false);
    match chain::follow(snap, q, &start, &mut w, &stats.misses) {
        // A CNAME loop in the table: say nothing rather than half a chain.
        End::Done(Rcode::ServFail) => own(out, Rcode::ServFail),
        End::Done(rcode) => {
            w.set_rcode(rcode);
            w.finish(q.edns, ours, limit, rcode);
            Outcome::Reply(Source::Local)
        }
        End::Forward(hop) => {
            let table_part = w.suspend();
            forward(snap, cache, stats, q, limit, hop, Some(table_part), out)
        }
    }
}

/// A query whose answer needs a forwarder: from the cache when it has it;
/// REFUSED when the client asked for no recursion; else a [`Pending`]
/// holding what the table wrote so far (`table_part`, in `out`).
#[allow(clippy::too_many_arguments)]
fn forward(
    snap: &Arc<Snapshot>,
    cache: Option<&Cache>,
    stats: &Stats,
    q: &Query<'_>,
    limit: usize,
    hop: Hop,
    table_part: Option<Suspended>,
    out: &mut Vec<u8>,
) -> Outcome {
    // A miss leaves `out` as it was: the table's part is still there.
    if let Some(c) = cache {
        let seal = (snap.config.edns_udp_size, limit);
        let hit = c.answer(q, snap.generations(), Instant::now(), seal, out);
        stats.cache(hit);
        if hit {
            return Outcome::Reply(Source::Cached);
        }
    }
    if !q.rd {
        // RD=0 asks for no recursion: what the table and the cache cannot
        // answer is refused, as Unbound does (RFC 1034 §4.3.1 leaves it to
        // the server whether it recurses).
        ResponseWriter::new(out, q, Rcode::Refused, false).finish(
            q.edns,
            snap.config.edns_udp_size,
            limit,
            Rcode::Refused,
        );
        return Outcome::Reply(Source::Own);
    }
    let (draft, writer, touched) = match table_part {
        Some(writer) => (out.clone(), writer, true),
        None => {
            let mut draft = Vec::with_capacity(512);
            let writer = ResponseWriter::new(&mut draft, q, Rcode::NoError, false).suspend();
            (draft, writer, false)
        }
    };
    let pending = Pending::new(snap, q, limit, hop, (draft, writer), touched);
    Outcome::Forward(Box::new(pending))
}

/// Error answers decided by the question alone, before any lookup (zone
/// transfers never get here: they are handed over first).
fn screen(q: &Query<'_>) -> Option<Rcode> {
    const MAILB: u16 = 253;
    const MAILA: u16 = 254;
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
        // RFC 6895 §3.1: OPT, TSIG and TKEY are meta-types that describe a
        // message, not data one can ask for; type 0 is reserved.
        0 | rtype::OPT | rtype::TKEY | rtype::TSIG => Some(Rcode::FormErr),
        // Obsolete mail QTYPEs (RFC 1035 §3.2.3) that nothing serves.
        MAILB | MAILA => Some(Rcode::NotImp),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

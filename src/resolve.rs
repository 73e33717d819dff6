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

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use hickory_proto::op::Message;

use crate::cache::{Cache, Depends};
use crate::chain::{self, End, Hop, Start};
use crate::classify::{Route, classify};
use crate::forward::{self, Forwarder};
use crate::name::MAX_WIRE_LEN;
use crate::snapshot::Snapshot;
use crate::splice::{Spliced, splice};
use crate::stats::Stats;
use crate::wire::{
    self, CLASS_IN, Edns, HEADER_LEN, Malformed, NameBuf, Query, Rcode, ResponseWriter, Suspended,
    error_reply, parse_query, rtype, udp_limit,
};

pub use crate::stats::{Source, Transport};
pub use limit::rate_limit;

mod limit;

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
    Outcome::Forward(Box::new(Pending {
        snap: Arc::clone(snap),
        question: Question::of(q),
        limit,
        hop,
        draft,
        writer,
        touched,
        cacheable: true,
        forwards: 0,
        upstream: None,
    }))
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

/// How many times one client query may go upstream: the name itself, then
/// names where chains left the table.
const MAX_FORWARDS: usize = 4;

/// A query's question, owned: what a forwarded query carries across the wait
/// for upstream instead of the packet.
struct Question {
    /// The header and question as the client sent them (case kept, for
    /// clients that use 0x20 randomisation).
    echo: [u8; HEADER_LEN + MAX_WIRE_LEN + 4],
    echo_len: usize,
    id: u16,
    rd: bool,
    cd: bool,
    qname: NameBuf,
    qtype: u16,
    qclass: u16,
    edns: Option<Edns>,
}

impl Question {
    fn of(q: &Query<'_>) -> Question {
        let mut echo = [0; HEADER_LEN + MAX_WIRE_LEN + 4];
        let sent = &q.packet[..q.question_end.min(q.packet.len()).min(echo.len())];
        echo[..sent.len()].copy_from_slice(sent);
        Question {
            echo,
            echo_len: sent.len(),
            id: q.id,
            rd: q.rd,
            cd: q.cd,
            qname: q.qname.clone(),
            qtype: q.qtype,
            qclass: q.qclass,
            edns: q.edns,
        }
    }

    /// The query again, as the writer and the cache take it: its `packet`
    /// is the header and question only.
    fn query(&self) -> Query<'_> {
        Query {
            packet: &self.echo[..self.echo_len],
            id: self.id,
            rd: self.rd,
            cd: self.cd,
            qname: self.qname.clone(),
            qtype: self.qtype,
            qclass: self.qclass,
            question_end: self.echo_len,
            edns: self.edns,
            signed: false,
        }
    }
}

/// A query on its way to a forwarder: the continuation of [`resolve`].
pub struct Pending {
    /// The snapshot `resolve` used: one view to the end (zone indexes in
    /// `hop` refer to it).
    snap: Arc<Snapshot>,
    question: Question,
    /// The client's answer size limit.
    limit: usize,
    /// What to ask next.
    hop: Hop,
    /// The answer so far: header, question, and what the table wrote before
    /// the chain left it.
    draft: Vec<u8>,
    writer: Suspended,
    /// The table wrote part of the answer: it is counted as spliced and
    /// cached only while the table is unchanged.
    touched: bool,
    /// No hop so far asked about a name inside a zone with records.
    cacheable: bool,
    /// Answers fed so far (at most [`MAX_FORWARDS`]).
    forwards: usize,
    /// The forwarder whose answer was fed last.
    upstream: Option<SocketAddr>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("qname", &self.question.qname)
            .field("qtype", &self.question.qtype)
            .field("hop", &self.hop)
            .field("touched", &self.touched)
            .finish()
    }
}

/// A finished forwarded query.
pub struct Completed {
    pub reply: Vec<u8>,
    pub source: Source,
    /// The forwarder whose answer it carries (the last one asked).
    pub upstream: Option<SocketAddr>,
}

/// What a [`Pending`] becomes once it is fed its forwarders' answer.
pub enum Step {
    /// The client's reply is ready.
    Done(Completed),
    /// The chain left the table again: ask [`Pending::question`] next.
    Ask(Box<Pending>),
}

impl Pending {
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snap
    }

    /// The header and question as the client sent them.
    pub fn question_packet(&self) -> &[u8] {
        self.question
            .echo
            .get(..self.question.echo_len)
            .unwrap_or(&[])
    }

    /// SERVFAIL for this query, in `out`, for when it cannot be forwarded
    /// (too many forwards in flight).
    pub fn fail(&self, out: &mut Vec<u8>) {
        let ours = self.snap.config.edns_udp_size;
        servfail(&self.question.query(), ours, self.limit, out);
    }

    /// What to ask upstream now.
    pub fn question(&self) -> forward::Question<'_> {
        let q = &self.question;
        forward::Question {
            name: self.hop.name.wire(),
            qtype: q.qtype,
            dnssec_ok: q.edns.is_some_and(|e| e.dnssec_ok),
            checking_disabled: q.cd,
        }
    }

    /// Whom to ask it: the forwarders of the zone the name is in.
    pub fn servers(&self) -> &Arc<[SocketAddr]> {
        self.snap.forwarders(self.hop.zone)
    }

    /// Asks the forwarders, splices their answer into the zones with
    /// records, follows the chain on through the table (and upstream again
    /// where it leaves it), caches the result and returns this client's
    /// reply. The sockets are here; every decision is in [`Pending::feed`].
    pub async fn resume(
        self: Box<Self>,
        forwarder: &Forwarder,
        cache: Option<&Cache>,
        stats: &Stats,
    ) -> Completed {
        // One deadline for the whole client query, however many hops and
        // forwarders it takes: no try starts after it.
        let deadline = Instant::now() + self.snap.config.query_timeout;
        let timeout = self.snap.config.timeout;
        let mut pending = self;
        loop {
            let servers = pending.servers();
            let answer = forwarder.query(servers, pending.question(), timeout, deadline);
            let answer = answer.await.ok();
            let answer = answer.as_ref().map(|(reply, server)| (&**reply, *server));
            match pending.feed(answer, cache, stats) {
                Step::Done(done) => return done,
                Step::Ask(next) => pending = next,
            }
        }
    }

    /// Takes the forwarders' answer to [`Pending::question`] (`None`: none
    /// answered usefully in time) and the server that gave it: splices it
    /// into the zones with records, follows the chain on through the table,
    /// and either finishes the reply (cached when it may be) or says what
    /// to ask next. No I/O, so tests and fuzzing drive it with scripted
    /// answers.
    pub fn feed(
        self: Box<Self>,
        answer: Option<(&Message, SocketAddr)>,
        cache: Option<&Cache>,
        stats: &Stats,
    ) -> Step {
        let mut p = *self;
        let q = p.question.query();
        let ours = p.snap.config.edns_udp_size;
        let Some((reply, server)) = answer else {
            return Step::Done(p.give_up(&q, cache));
        };
        p.upstream = Some(server);
        // Upstream data for a name inside a zone with records is relayed but
        // never cached: the table may gain that name at any moment.
        p.cacheable &= p.snap.local_zone_of(p.hop.name.wire()).is_none();
        p.forwards += 1;
        let mut w = ResponseWriter::resume(&mut p.draft, p.writer);
        let end = match splice(&p.snap, q.qtype, &mut w, p.hop.name.wire(), reply) {
            Spliced::Relayed { rcode, authentic } => {
                // RFC 4035 §3.2.3: AD only for data we relay untouched.
                w.set_flags(authentic && !p.touched);
                End::Done(rcode)
            }
            Spliced::Cut { zone, name } => {
                p.touched = true;
                w.set_flags(false);
                let cut = Start::Cut { zone, name };
                chain::follow(&p.snap, &q, &cut, &mut w, &stats.misses)
            }
        };
        let rcode = match end {
            End::Done(rcode) => rcode,
            End::Forward(next) => {
                p.writer = w.suspend();
                if p.forwards >= MAX_FORWARDS {
                    // The chain kept leaving the table.
                    return Step::Done(p.give_up(&q, cache));
                }
                p.hop = next;
                p.touched = true;
                return Step::Ask(Box::new(p));
            }
        };
        w.set_rcode(rcode);
        let body = w.finish_body();
        if p.cacheable
            && let Some(cache) = cache
        {
            let depends = if p.touched {
                Depends::Table
            } else {
                Depends::Routing
            };
            let generation = Cache::generation_for(depends, p.snap.generations());
            cache.store(&q, body, rcode, generation, Instant::now());
        }
        wire::seal(body, q.edns, ours, p.limit, rcode);
        let source = if p.touched {
            Source::Spliced
        } else {
            Source::Forwarded
        };
        Step::Done(Completed {
            reply: p.draft,
            source,
            upstream: p.upstream,
        })
    }

    /// Every forwarder failed (timeouts, SERVFAIL, REFUSED, garbage, the
    /// query's deadline), or the chain kept leaving the table. RFC 8767 §4:
    /// an answer that expired less than `serve_stale_s` ago, with TTL 30,
    /// beats SERVFAIL. (Its §5 "client response timer", which answers stale
    /// before resolution gives up, is not used: the query's own deadline,
    /// `query_timeout_ms`, already bounds the wait.)
    fn give_up(&self, q: &Query<'_>, cache: Option<&Cache>) -> Completed {
        let ours = self.snap.config.edns_udp_size;
        let mut out = Vec::with_capacity(512);
        if let Some(cache) = cache {
            let seal = (ours, self.limit);
            let generations = self.snap.generations();
            if cache.stale_answer(q, generations, Instant::now(), seal, &mut out) {
                return Completed {
                    reply: out,
                    source: Source::Stale,
                    upstream: None,
                };
            }
        }
        servfail(q, ours, self.limit, &mut out);
        Completed {
            reply: out,
            source: Source::Own,
            upstream: self.upstream,
        }
    }
}

fn servfail(q: &Query<'_>, ours: u16, limit: usize, out: &mut Vec<u8>) {
    ResponseWriter::new(out, q, Rcode::ServFail, false).finish(
        q.edns,
        ours,
        limit,
        Rcode::ServFail,
    );
}

#[cfg(test)]
mod tests;

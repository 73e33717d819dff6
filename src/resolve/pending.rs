//! The forwarding step of [`super::resolve`]: a [`Pending`] query carries
//! what `resolve` parsed and wrote across the wait for upstream; [`Pending::feed`]
//! takes the forwarders' answer (no I/O: tests and fuzzing drive it with
//! scripted answers) and [`Pending::resume`] is its async driver over the
//! sockets.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hickory_proto::op::Message;

use crate::cache::{Cache, Depends};
use crate::chain::{self, End, Hop, Start};
use crate::forward::{self, Forwarder};
use crate::name::MAX_WIRE_LEN;
use crate::snapshot::Snapshot;
use crate::splice::{Spliced, splice};
use crate::stats::{Source, Stats};
use crate::wire::{self, Edns, HEADER_LEN, NameBuf, Query, Rcode, ResponseWriter, Suspended};

/// How many times one client query may go upstream: the name itself, then
/// names where chains left the table.
pub(super) const MAX_FORWARDS: usize = 4;

/// A query's question, owned: what a forwarded query carries across the wait
/// for upstream instead of the packet.
pub(super) struct Question {
    /// The header and question as the client sent them (case kept, for
    /// clients that use 0x20 randomisation).
    echo: [u8; HEADER_LEN + MAX_WIRE_LEN + 4],
    echo_len: usize,
    id: u16,
    rd: bool,
    cd: bool,
    qname: NameBuf,
    pub(super) qtype: u16,
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
    pub(super) fn query(&self) -> Query<'_> {
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
    pub(super) question: Question,
    /// The client's answer size limit.
    limit: usize,
    /// What to ask next.
    pub(super) hop: Hop,
    /// The answer so far: header, question, and what the table wrote before
    /// the chain left it.
    pub(super) draft: Vec<u8>,
    pub(super) writer: Suspended,
    /// The table wrote part of the answer: it is counted as spliced and
    /// cached only while the table is unchanged.
    pub(super) touched: bool,
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
    pub(super) fn new(
        snap: &Arc<Snapshot>,
        q: &Query<'_>,
        limit: usize,
        hop: Hop,
        (draft, writer): (Vec<u8>, Suspended),
        touched: bool,
    ) -> Pending {
        Pending {
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
        }
    }

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

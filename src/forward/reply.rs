//! What we send upstream and what we accept back: the query we build, the
//! checks an upstream message must pass before anything reads it, and the
//! counters of what was thrown away (read by the exposition side).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};

use super::{Question, wire_of};

/// EDNS payload we advertise upstream (RFC 6891 §6.2.5, DNS Flag Day 2020).
pub const UPSTREAM_PAYLOAD: u16 = 1232;
/// What a server may send over UDP to a query without EDNS (RFC 1035 §2.3.4).
pub const PLAIN_PAYLOAD: u16 = 512;

/// Why an upstream message was thrown away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discard {
    /// Not a whole DNS message (does not parse, or the counts do not add up
    /// to its length).
    Malformed,
    /// Parses, but is not the answer to our query (ID, QR or question).
    Mismatched,
    /// Over UDP, larger than the payload size we advertised.
    Oversized,
    /// FORMERR: the server could not read our query.
    FormErr,
    /// NOTIMP: the server does not do what we asked.
    NotImp,
}

impl Discard {
    pub fn label(self) -> &'static str {
        match self {
            Discard::Malformed => "malformed",
            Discard::Mismatched => "mismatched",
            Discard::Oversized => "oversized",
            Discard::FormErr => "FORMERR",
            Discard::NotImp => "NOTIMP",
        }
    }
}

/// Counts of discarded upstream messages, per reason; plain atomics so
/// the query path never waits for a scrape.
#[derive(Debug, Default)]
pub struct Discards {
    malformed: AtomicU64,
    mismatched: AtomicU64,
    oversized: AtomicU64,
    formerr: AtomicU64,
    notimp: AtomicU64,
    /// Queries retried without EDNS after FORMERR/NOTIMP (RFC 6891 §7).
    plain_retries: AtomicU64,
}

/// A copy of [`Discards`] for exposition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiscardCounts {
    pub malformed: u64,
    pub mismatched: u64,
    pub oversized: u64,
    pub formerr: u64,
    pub notimp: u64,
    pub plain_retries: u64,
}

impl Discards {
    pub fn count(&self, why: Discard) {
        let c = match why {
            Discard::Malformed => &self.malformed,
            Discard::Mismatched => &self.mismatched,
            Discard::Oversized => &self.oversized,
            Discard::FormErr => &self.formerr,
            Discard::NotImp => &self.notimp,
        };
        c.fetch_add(1, Relaxed);
    }

    pub fn plain_retry(&self) {
        self.plain_retries.fetch_add(1, Relaxed);
    }

    pub fn get(&self) -> DiscardCounts {
        DiscardCounts {
            malformed: self.malformed.load(Relaxed),
            mismatched: self.mismatched.load(Relaxed),
            oversized: self.oversized.load(Relaxed),
            formerr: self.formerr.load(Relaxed),
            notimp: self.notimp.load(Relaxed),
            plain_retries: self.plain_retries.load(Relaxed),
        }
    }
}

/// The query for one try. `edns` false: the plain form we fall back to
/// after FORMERR or NOTIMP (RFC 6891 §7). `None` if it cannot be encoded.
pub fn build_query(id: u16, name: &Name, q: Question<'_>, edns: bool) -> Option<Vec<u8>> {
    let mut m = Message::query();
    m.metadata.id = id;
    m.metadata.recursion_desired = true;
    m.metadata.checking_disabled = q.checking_disabled;
    m.add_query(Query::query(name.clone(), RecordType::from(q.qtype)));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(UPSTREAM_PAYLOAD);
        e.set_dnssec_ok(q.dnssec_ok);
        m.set_edns(e);
    }
    m.to_vec()
        .ok()
        .filter(|v| v.len() >= crate::wire::HEADER_LEN)
}

/// Parses an upstream message, whole: hickory must read it and our own walk
/// must end exactly at its last byte (no short counts, no trailing bytes).
pub fn parse_whole(bytes: &[u8]) -> Result<Message, Discard> {
    if crate::wire::walk(bytes) != Some(bytes.len()) {
        return Err(Discard::Malformed);
    }
    Message::from_vec(bytes).map_err(|_| Discard::Malformed)
}

/// RFC 5452 §9.1: accept a reply only if its ID and question match what we
/// asked (the source address is checked by the connected socket).
pub fn matches(reply: &Message, id: u16, q: Question<'_>) -> bool {
    reply.metadata.id == id
        && reply.metadata.message_type == MessageType::Response
        // An UPDATE-coded reply may carry empty-RDATA records that hickory
        // reads only in UPDATE messages: relayed, they make an answer no
        // client can parse.
        && reply.metadata.op_code == OpCode::Query
        && reply.queries.len() == 1
        && reply
            .queries
            .first()
            .is_some_and(|rq| u16::from(rq.query_type()) == q.qtype && wire_of(rq.name()) == q.name)
}

/// Checks one upstream message against the query `id`/`q`.
pub fn accept(bytes: &[u8], id: u16, q: Question<'_>) -> Result<Message, Discard> {
    let reply = parse_whole(bytes)?;
    if matches(&reply, id, q) {
        Ok(reply)
    } else {
        Err(Discard::Mismatched)
    }
}

//! What every reply to a client must be, whatever the query and whatever
//! upstream said: true by contract (../shared/CONTRACT.md, the RFCs it
//! cites) and cheap to check. A broken invariant panics with both packets.

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};
use pldns::forward::wire_of;
use pldns::resolve::{Transport, limit};
use pldns::snapshot::Snapshot;
use pldns::wire::{Malformed, parse_query};

fn ensure(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_string()) }
}

/// Checks `reply`, sent over `transport` for `query`, which asked upstream
/// about `asked`; returns it parsed.
pub fn reply(
    snap: &Snapshot,
    query: &[u8],
    transport: Transport,
    reply: &[u8],
    asked: &[Vec<u8>],
) -> Message {
    match try_reply(snap, query, transport, reply, asked) {
        Ok(m) => m,
        Err(e) => panic!("{e}\nquery {query:02x?}\nreply {reply:02x?}"),
    }
}

fn try_reply(
    snap: &Snapshot,
    query: &[u8],
    transport: Transport,
    reply: &[u8],
    asked: &[Vec<u8>],
) -> Result<Message, String> {
    let m = Message::from_vec(reply).map_err(|e| format!("the reply does not parse: {e}"))?;
    let header = |p: &[u8], at: usize| p.get(at).copied().unwrap_or(0);
    ensure(
        reply.get(..2) == query.get(..2),
        "the reply's ID is not the query's",
    )?;
    ensure(m.metadata.message_type == MessageType::Response, "QR clear")?;
    ensure(
        header(reply, 2) & 0x78 == header(query, 2) & 0x78,
        "opcode not copied",
    )?;
    ensure(
        header(reply, 2) & 1 == header(query, 2) & 1,
        "RD not copied",
    )?;
    let q = match parse_query(query) {
        Ok(q) => q,
        Err(Malformed::Drop) => return Err("a reply to a packet that must be dropped".into()),
        Err(_) => {
            let rcode = m.metadata.response_code;
            let errors = [
                ResponseCode::FormErr,
                ResponseCode::NotImp,
                ResponseCode::Refused,
            ];
            ensure(errors.contains(&rcode), "an unparsed query got no error")?;
            let small = transport == Transport::Tcp || reply.len() <= 512;
            return ensure(small, "an error reply over 512 bytes").map(|()| m);
        }
    };
    ensure(
        reply.len() <= limit(transport, &q, snap),
        "longer than the client's limit",
    )?;
    // The question as the client wrote it (0x20 case included).
    let question = 12..q.question_end;
    ensure(m.queries.len() == 1, "not one question")?;
    ensure(
        reply.get(question.clone()) == query.get(question),
        "question not echoed",
    )?;
    // RFC 6891 §7: OPT in the reply iff in the query; RFC 3225 §3: DO copied.
    match (q.edns, &m.edns) {
        (Some(e), Some(r)) => ensure(r.flags().dnssec_ok == e.dnssec_ok, "DO not copied")?,
        (None, None) => {}
        (Some(_), None) => return Err("no OPT in the reply to an EDNS query".into()),
        (None, Some(_)) => return Err("OPT in the reply to a query without EDNS".into()),
    }
    local_data_is_the_tables(snap, &m, asked)?;
    Ok(m)
}

/// Contract 2 and 5: a name the table has is answered with the table's
/// data only (its A, AAAA or CNAME); a name inside a zone with records that
/// the table lacks carries upstream data only when a query for a name in
/// such a zone was forwarded (`on_miss = "forward"` relays the answer). The
/// apex SOA and NS are synthesised, and relayed for misses.
fn local_data_is_the_tables(snap: &Snapshot, m: &Message, asked: &[Vec<u8>]) -> Result<(), String> {
    let relayed_miss = asked.iter().any(|a| snap.local_zone_of(a).is_some());
    let records = m.answers.iter().chain(&m.authorities).chain(&m.additionals);
    for r in records {
        let owner = wire_of(&r.name);
        let Some(zone) = snap.local_zone_of(&owner) else {
            continue;
        };
        let apex = snap.zones[zone].name.wire() == owner.as_slice();
        if apex && matches!(r.record_type(), RecordType::SOA | RecordType::NS) {
            continue;
        }
        let ok = match snap.node(&owner) {
            Some(node) => match &r.data {
                RData::A(a) => node.a().contains(&a.0),
                RData::AAAA(a) => node.aaaa().contains(&a.0),
                RData::CNAME(t) => node.cname().is_some_and(|(c, _)| c == wire_of(&t.0)),
                _ => false,
            },
            None => relayed_miss,
        };
        ensure(ok, &format!("{r} is not the table's data"))?;
    }
    Ok(())
}

/// A record as compared between a reply and its cached copy: owner, type
/// and data, TTL aside (it counts down), case aside (the question's case
/// comes from each client).
fn key(r: &Record) -> (String, RecordType, String) {
    (
        r.name.to_string().to_ascii_lowercase(),
        r.record_type(),
        r.data.to_string().to_ascii_lowercase(),
    )
}

/// Contract 6: a cached answer is the answer that was cached.
pub fn same_answer(first: &Message, again: &Message) {
    let sections = |m: &Message| {
        let f = &m.metadata;
        let flags = (
            f.response_code,
            f.authoritative,
            f.truncation,
            f.authentic_data,
        );
        let all = [&m.answers, &m.authorities, &m.additionals];
        let recs: Vec<Vec<_>> = all.iter().map(|s| s.iter().map(key).collect()).collect();
        (flags, recs, m.edns.as_ref().map(|e| e.flags().dnssec_ok))
    };
    assert_eq!(
        sections(first),
        sections(again),
        "the cached answer differs"
    );
}

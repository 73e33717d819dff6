//! Splicing a forwarded answer: follow its CNAME chain from the name we
//! asked; where the chain enters a zone with records, cut it there, so that
//! the table finishes the answer (the Private Link case: upstream says
//! `acct.blob.core.windows.net CNAME acct.privatelink.blob.core.windows.net`
//! and a public address; the client gets the CNAME and the private address).
//! An answer whose chain never enters such a zone is relayed as it came.
//! This module only reads the upstream answer; going on from the cut is
//! [`crate::chain`]'s job, which the caller runs.

use hickory_proto::op::Message;
use hickory_proto::rr::{Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use crate::forward::wire_of;
use crate::snapshot::Snapshot;
use crate::wire::{ANSWER, AUTHORITY, NameBuf, Rcode, ResponseWriter, rtype};

/// Longest forwarded chain we follow looking for a cut point.
const MAX_CHAIN: usize = 16;
const ADDITIONAL: usize = 2;

#[derive(Debug, PartialEq, Eq)]
pub enum Spliced {
    /// The upstream answer is relayed whole: the message is complete.
    Relayed { rcode: Rcode, authentic: bool },
    /// The chain up to the cut is written; the answer goes on from the table
    /// at `name`, in zone `zone` (a zone with records).
    Cut { zone: usize, name: NameBuf },
}

/// Appends `reply` (the upstream's answer to `asked`, for a query of type
/// `qtype`) to `w`.
pub fn splice(
    snap: &Snapshot,
    qtype: u16,
    w: &mut ResponseWriter<'_>,
    asked: &[u8],
    reply: &Message,
) -> Spliced {
    let asked_is_local = snap.local_zone_of(asked).is_some();
    let mut chain: Vec<&Record> = Vec::new();
    let mut current = asked.to_vec();
    let mut cut = None;
    // RFC 1034 §3.6.2: a query for the CNAME itself gets the CNAME, not the
    // chain behind it: nothing to cut, wherever the CNAME points.
    let hops = if qtype == rtype::CNAME { 0 } else { MAX_CHAIN };
    for _ in 0..hops {
        let Some(rec) = reply
            .answers
            .iter()
            .find(|r| r.record_type() == RecordType::CNAME && wire_of(&r.name) == current)
        else {
            break;
        };
        let hickory_proto::rr::RData::CNAME(target) = &rec.data else {
            break;
        };
        chain.push(rec);
        let target = wire_of(&target.0);
        // For a name the table lacks (`on_miss = "forward"`), upstream's
        // chain is relayed as it is while it stays outside the table; it is
        // cut only where it reaches a name the table has, which is answered
        // from the table alone (contract item 2).
        if let Some(zone) = snap.local_zone_of(&target)
            && (!asked_is_local || snap.node(&target).is_some())
        {
            cut = NameBuf::from_wire(&target).map(|name| (zone, name));
            break;
        }
        current = target;
    }

    let Some((zone, name)) = cut else {
        // No cut: relay every section. Records the upstream sent for names
        // inside our zones with records are dropped (they would be public
        // data for private names), unless we asked about such a name; even
        // then, never for a name the table has.
        let keep = |r: &Record| {
            let owner = wire_of(&r.name);
            match snap.local_zone_of(&owner) {
                None => true,
                Some(_) => asked_is_local && snap.node(&owner).is_none(),
            }
        };
        w.section(ANSWER);
        reply
            .answers
            .iter()
            .filter(|r| keep(r))
            .for_each(|r| relay(w, ANSWER, r));
        w.section(AUTHORITY);
        reply
            .authorities
            .iter()
            .filter(|r| keep(r))
            .for_each(|r| relay(w, AUTHORITY, r));
        w.section(ADDITIONAL);
        reply
            .additionals
            .iter()
            .filter(|r| keep(r))
            .for_each(|r| relay(w, ADDITIONAL, r));
        w.section(ANSWER);
        return Spliced::Relayed {
            rcode: rcode_of(reply),
            authentic: reply.metadata.authentic_data,
        };
    };
    for rec in chain {
        relay(w, ANSWER, rec);
    }
    Spliced::Cut { zone, name }
}

fn rcode_of(reply: &Message) -> Rcode {
    match u16::from(reply.metadata.response_code) {
        0 => Rcode::NoError,
        1 => Rcode::FormErr,
        3 => Rcode::NxDomain,
        4 => Rcode::NotImp,
        5 => Rcode::Refused,
        // Anything else (YXDOMAIN, extended codes) becomes SERVFAIL: we cannot
        // vouch for an answer we do not understand.
        _ => Rcode::ServFail,
    }
}

/// Appends one upstream record, RDATA re-encoded without compression
/// pointers (they pointed into the upstream's message, not ours).
fn relay(w: &mut ResponseWriter<'_>, section: usize, rec: &Record) {
    let rtype = u16::from(rec.record_type());
    if rtype == 41 {
        return;
    }
    let mut rdata = Vec::with_capacity(64);
    {
        let mut enc = BinEncoder::new(&mut rdata);
        enc.set_name_encoding(NameEncoding::Uncompressed);
        if rec.data.emit(&mut enc).is_err() {
            return;
        }
    }
    let class = u16::from(rec.dns_class);
    w.section(section);
    w.relayed(section, &wire_of(&rec.name), rtype, class, rec.ttl, &rdata);
}

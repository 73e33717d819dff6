//! Authoritative data from the table for one name in one zone with records:
//! the apex SOA and NS, the records of the asked type, a CNAME to follow,
//! NODATA and NXDOMAIN with the zone's SOA; SERVFAIL for a secondary zone
//! without data. Going from name to name along a
//! CNAME chain is [`crate::chain`]'s job; this module answers for one name.

use crate::config::OnMiss;
use crate::missing::MissQueue;
use crate::snapshot::{LocalZone, Snapshot};
use crate::table::NodeRef;
use crate::wire::{AUTHORITY, Rdata, ResponseWriter, rtype};

/// What the table says about one name.
#[derive(Debug, PartialEq, Eq)]
pub enum Found<'s> {
    /// The answer for the name is written: its data, or NODATA with the SOA.
    Answered,
    /// The name is an alias and the query follows it: its CNAME is written;
    /// the answer goes on at `.0`.
    Alias(&'s [u8]),
    /// The table lacks the name. Nothing is written: the zone's `on_miss`
    /// decides (see [`negative`]).
    Missing,
    /// A secondary zone without data (never pulled, or past its SOA
    /// expire): nothing is written, the answer is SERVFAIL.
    Unavailable,
}

/// Looks `name` (lowercase wire, inside zone `zone`) up for `qtype` and
/// writes what the table has.
pub fn lookup<'s>(
    snap: &'s Snapshot,
    zone: usize,
    name: &[u8],
    qtype: u16,
    w: &mut ResponseWriter<'_>,
) -> Found<'s> {
    let Some((apex, lz)) = zone_with_records(snap, zone) else {
        return Found::Missing;
    };
    if !lz.available() {
        return Found::Unavailable;
    }
    if name == apex {
        match qtype {
            rtype::SOA | rtype::ANY => soa(w, apex, lz, false),
            rtype::NS => {
                for (ttl, target) in &lz.ns {
                    w.record(apex, rtype::NS, *ttl, Rdata::Name(target));
                }
            }
            _ => soa(w, apex, lz, true),
        }
        return Found::Answered;
    }
    let Some(node) = snap.node(name) else {
        return Found::Missing;
    };
    if let Some((target, ttl)) = node.cname()
        && qtype != rtype::CNAME
        && qtype != rtype::ANY
    {
        w.record(name, rtype::CNAME, ttl, Rdata::Name(target));
        return Found::Alias(target);
    }
    let before = w.len();
    match qtype {
        rtype::A => a_records(w, name, node),
        rtype::AAAA => aaaa_records(w, name, node),
        rtype::CNAME => {
            if let Some((target, ttl)) = node.cname() {
                w.record(name, rtype::CNAME, ttl, Rdata::Name(target));
            }
        }
        // RFC 8482 §4.1: answer ANY with one RRset of the name, not all.
        rtype::ANY => {
            if let Some((target, ttl)) = node.cname() {
                w.record(name, rtype::CNAME, ttl, Rdata::Name(target));
            } else if !node.a().is_empty() {
                a_records(w, name, node);
            } else {
                aaaa_records(w, name, node);
            }
        }
        _ => {}
    }
    if w.len() == before {
        // NODATA, empty non-terminals included (RFC 8020).
        soa(w, apex, lz, true);
    }
    Found::Answered
}

/// Counts that zone `zone`'s table lacks `name` (the signal operators watch
/// for) and says what the zone does about it.
pub fn missing(snap: &Snapshot, zone: usize, name: &[u8], misses: &MissQueue) -> OnMiss {
    let Some((_, lz)) = zone_with_records(snap, zone) else {
        return OnMiss::Nxdomain;
    };
    misses.record(&lz.misses, name);
    lz.on_miss
}

/// Writes the negative part of an NXDOMAIN from zone `zone`: its SOA in the
/// authority section (RFC 2308 §3).
pub fn negative(snap: &Snapshot, zone: usize, w: &mut ResponseWriter<'_>) {
    if let Some((apex, lz)) = zone_with_records(snap, zone) {
        soa(w, apex, lz, true);
    }
}

/// The TTL of what zone `zone` synthesises (the CNAME to a public name's
/// twin).
pub fn zone_ttl(snap: &Snapshot, zone: usize) -> u32 {
    zone_with_records(snap, zone).map_or(0, |(_, lz)| lz.ttl)
}

fn zone_with_records(snap: &Snapshot, zone: usize) -> Option<(&[u8], &LocalZone)> {
    let z = snap.zones.get(zone)?;
    Some((z.name.wire(), z.local.as_ref()?))
}

fn a_records(w: &mut ResponseWriter<'_>, owner: &[u8], node: NodeRef<'_>) {
    for ip in node.a() {
        w.record(owner, rtype::A, node.a_ttl(), Rdata::Bytes(&ip.octets()));
    }
}

fn aaaa_records(w: &mut ResponseWriter<'_>, owner: &[u8], node: NodeRef<'_>) {
    for ip in node.aaaa() {
        w.record(
            owner,
            rtype::AAAA,
            node.aaaa_ttl(),
            Rdata::Bytes(&ip.octets()),
        );
    }
}

/// The zone's SOA, in the answer or (for negative answers, RFC 2308 §3) in
/// the authority section.
fn soa(w: &mut ResponseWriter<'_>, apex: &[u8], lz: &LocalZone, authority: bool) {
    let ttl = if authority {
        w.section(AUTHORITY);
        lz.soa.negative_ttl()
    } else {
        lz.soa.ttl()
    };
    w.record(apex, rtype::SOA, ttl, Rdata::Bytes(lz.soa.rdata()));
}

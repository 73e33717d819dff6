//! Authoritative answers from the table: records of the asked type, CNAME
//! chains followed through the table, the apex SOA/NS, NODATA and NXDOMAIN
//! with the zone's SOA. A chain that leaves the table is handed back to the
//! caller to finish by forwarding.

use crate::classify::twin_in_table;
use crate::config::OnMiss;
use crate::metrics::Metrics;
use crate::snapshot::{LocalZone, NS_RDATA, Snapshot};
use crate::table::NodeRef;
use crate::wire::{AUTHORITY, NameBuf, Query, Rcode, Rdata, ResponseWriter, rtype};

/// RFC 1034 §3.6.2 lets a resolver bound CNAME chains; 8 is what BIND and
/// Unbound allow, and covers every real Private Link chain (one or two).
pub const MAX_CHAIN: usize = 8;

#[derive(Debug)]
pub enum Outcome {
    /// The message holds the whole answer.
    Done(Rcode),
    /// The chain left the table at `name`: ask `zone`'s forwarders (or
    /// `[upstream]` for `None`) and append their answer to the message.
    Forward { name: NameBuf, zone: Option<usize> },
}

/// Where the answer starts.
pub enum Start {
    /// The query name, inside local zone `.0`.
    Local(usize),
    /// A public name: synthesise `qname CNAME mapped`, continue at `mapped`.
    Twin { zone: usize, mapped: NameBuf },
    /// A forwarded CNAME chain that entered local zone `zone` at `name`.
    Chain { zone: usize, name: NameBuf },
}

/// `metrics`, when given, hears of every name the table lacks (`None` when
/// a caller replays an answer it has already counted).
pub fn answer(
    snap: &Snapshot,
    q: &Query<'_>,
    start: Start,
    w: &mut ResponseWriter<'_>,
    metrics: Option<&Metrics>,
) -> Outcome {
    let (mut name, mut zone) = match start {
        Start::Local(zone) => {
            w.set_authoritative(true);
            (q.qname.clone(), zone)
        }
        Start::Twin { zone, mapped } => {
            let ttl = local(snap, zone).ttl;
            w.record(
                q.qname.wire(),
                rtype::CNAME,
                ttl,
                Rdata::Name(mapped.wire()),
            );
            (mapped, zone)
        }
        Start::Chain { zone, name } => (name, zone),
    };
    for _ in 0..MAX_CHAIN {
        let z = &snap.zones[zone];
        let lz = local(snap, zone);
        if name.wire() == z.name.wire() {
            match q.qtype {
                rtype::SOA | rtype::ANY => soa(w, z.name.wire(), lz, false),
                rtype::NS => w.record(z.name.wire(), rtype::NS, lz.ttl, Rdata::Name(NS_RDATA)),
                _ => soa(w, z.name.wire(), lz, true),
            }
            return Outcome::Done(Rcode::NoError);
        }
        let Some(node) = snap.node(name.wire()) else {
            if let Some(m) = metrics {
                m.missing(&z.name, name.wire());
            }
            return match lz.on_miss {
                OnMiss::Nxdomain => {
                    soa(w, z.name.wire(), lz, true);
                    Outcome::Done(Rcode::NxDomain)
                }
                OnMiss::Forward => Outcome::Forward {
                    name,
                    zone: Some(zone),
                },
            };
        };
        if let Some((target, ttl)) = node.cname()
            && q.qtype != rtype::CNAME
            && q.qtype != rtype::ANY
        {
            w.record(name.wire(), rtype::CNAME, ttl, Rdata::Name(target));
            let next = target;
            match snap.zone_of(next) {
                Some(zi) if snap.zones[zi].local.is_some() => {
                    name = NameBuf::from_wire(next).expect("table names fit");
                    zone = zi;
                }
                outside => match twin_in_table(snap, next) {
                    Some((zi, mapped)) => {
                        let ttl = local(snap, zi).ttl;
                        w.record(next, rtype::CNAME, ttl, Rdata::Name(mapped.wire()));
                        name = mapped;
                        zone = zi;
                    }
                    None => {
                        return Outcome::Forward {
                            name: NameBuf::from_wire(next).expect("table names fit"),
                            zone: outside,
                        };
                    }
                },
            }
            continue;
        }
        let before = w.len();
        let owner = name.wire();
        match q.qtype {
            rtype::A => a_records(w, owner, node),
            rtype::AAAA => aaaa_records(w, owner, node),
            rtype::CNAME => {
                if let Some((target, ttl)) = node.cname() {
                    w.record(owner, rtype::CNAME, ttl, Rdata::Name(target));
                }
            }
            // RFC 8482 §4.1: answer ANY with one RRset of the name, not all.
            rtype::ANY => {
                if let Some((target, ttl)) = node.cname() {
                    w.record(owner, rtype::CNAME, ttl, Rdata::Name(target));
                } else if !node.a().is_empty() {
                    a_records(w, owner, node);
                } else {
                    aaaa_records(w, owner, node);
                }
            }
            _ => {}
        }
        if w.len() == before {
            // NODATA, empty non-terminals included (RFC 8020).
            soa(w, z.name.wire(), lz, true);
        }
        return Outcome::Done(Rcode::NoError);
    }
    Outcome::Done(Rcode::ServFail)
}

fn local(snap: &Snapshot, zone: usize) -> &LocalZone {
    snap.zones[zone]
        .local
        .as_ref()
        .expect("only zones with records reach local::answer")
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
    if authority {
        w.section(AUTHORITY);
    }
    w.record(apex, rtype::SOA, lz.soa_ttl(), Rdata::Bytes(&lz.soa_rdata));
}

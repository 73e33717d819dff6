//! The query log: one line per query when `[log] queries = true`, written
//! from the reply, so it says what the client got: the question (type by
//! name), the rcode, the first few addresses of the answer and the first
//! CNAME target, where the answer came from, the upstream that gave it,
//! the client and transport, and the time from receipt to reply. Off, it
//! costs the query path one branch on the config (`server::act`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::logging::List;
use crate::snapshot::Snapshot;
use crate::stats::{Source, Transport};
use crate::wire::names::{rcode_name, type_name};
use crate::wire::rtype;
use crate::xfr::msg::read::{Parsed, rdata_name};

/// Addresses of the answer the log shows; the rest are counted.
pub const ADDRESSES_SHOWN: usize = 4;

/// Logs one answered query.
pub fn log_query(
    snap: &Snapshot,
    client: IpAddr,
    transport: Transport,
    reply: &[u8],
    source: Source,
    upstream: Option<SocketAddr>,
    took: Duration,
) {
    let seen = Seen::of(reply);
    let from = origin(snap, source, &seen.name_wire);
    let latency_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    let proto = transport.label();
    let (name, qtype, rcode) = (&seen.name, type_name(seen.qtype), rcode_name(seen.rcode));
    let answers = List(&seen.addresses);
    // Absent fields are left out of the line (an `Option` of a value).
    let more = (seen.more > 0).then_some(seen.more as u64);
    let cname = seen.cname.as_deref().map(tracing::field::display);
    let upstream = upstream.map(tracing::field::display);
    tracing::info!(
        target: "pldns::query", %client, proto = %proto, name = %name, qtype = %qtype,
        rcode = %rcode, source = %from, answers = ?answers, more, cname, upstream,
        latency_us, "query"
    );
}

/// Where an answer came from, for the log: `table`, `twin` (a public name
/// answered from its privatelink twin in the table), `cache`, `forwarder`,
/// `splice` (a forwarded chain completed from the table), `stale` (the
/// cache past its TTL, every forwarder having failed: RFC 8767), or `own`
/// (an error the daemon made itself: REFUSED, FORMERR, ...).
pub fn origin(snap: &Snapshot, source: Source, qname: &[u8]) -> &'static str {
    match source {
        Source::Local if snap.route(qname).twin.is_some() => "twin",
        Source::Local => "table",
        Source::Cached => "cache",
        Source::Forwarded => "forwarder",
        Source::Spliced => "splice",
        Source::Stale => "stale",
        Source::Own => "own",
    }
}

/// What the log says about a reply.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    name: String,
    name_wire: Vec<u8>,
    qtype: u16,
    rcode: u16,
    /// The first [`ADDRESSES_SHOWN`] A/AAAA addresses of the answer section.
    addresses: Vec<IpAddr>,
    /// Addresses past those.
    more: usize,
    cname: Option<String>,
}

impl Seen {
    fn of(reply: &[u8]) -> Seen {
        let mut seen = Seen::default();
        let Ok(p) = Parsed::new(reply) else {
            return seen;
        };
        seen.rcode = u16::from(p.header.rcode());
        if let Some(q) = &p.question {
            seen.name_wire = q.name.wire().to_vec();
            let _ = crate::name::write_text(q.name.wire(), &mut seen.name);
            seen.qtype = q.qtype;
        }
        for r in p.records() {
            let Ok(r) = r else { break };
            if r.section != 0 {
                // The OPT record may carry the upper bits of the rcode.
                if r.rtype == rtype::OPT {
                    seen.rcode |= u16::from((r.ttl >> 24) as u8) << 4;
                }
                continue;
            }
            let address = match (r.rtype, r.rdata.len()) {
                (rtype::A, 4) => <[u8; 4]>::try_from(r.rdata)
                    .ok()
                    .map(|b| IpAddr::from(Ipv4Addr::from(b))),
                (rtype::AAAA, 16) => <[u8; 16]>::try_from(r.rdata)
                    .ok()
                    .map(|b| IpAddr::from(Ipv6Addr::from(b))),
                (rtype::CNAME, _) => {
                    if seen.cname.is_none()
                        && let Ok(target) = rdata_name(reply, &r)
                    {
                        let mut text = String::new();
                        let _ = crate::name::write_text(target.wire(), &mut text);
                        seen.cname = Some(text);
                    }
                    None
                }
                _ => None,
            };
            if let Some(ip) = address {
                if seen.addresses.len() < ADDRESSES_SHOWN {
                    seen.addresses.push(ip);
                } else {
                    seen.more += 1;
                }
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(rcode: u8, answers: &[(u16, &[u8])]) -> Vec<u8> {
        let mut m = vec![
            0,
            1,
            0x85,
            0x80 | rcode,
            0,
            1,
            0,
            answers.len() as u8,
            0,
            0,
            0,
            0,
        ];
        m.extend_from_slice(b"\x03WWW\x07example\x03com\x00\x00\x01\x00\x01");
        for (t, rdata) in answers {
            m.extend_from_slice(&[0xC0, 12]);
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(rdata);
        }
        m
    }

    #[test]
    fn reads_question_rcode_addresses_and_cname() {
        let target = b"\x04acct\x0bprivatelink\x07example\x03com\x00";
        let r = reply(
            0,
            &[
                (rtype::CNAME, target),
                (rtype::A, &[10, 0, 0, 1]),
                (rtype::A, &[10, 0, 0, 2]),
                (
                    rtype::AAAA,
                    &[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5],
                ),
                (rtype::A, &[10, 0, 0, 3]),
                (rtype::A, &[10, 0, 0, 4]),
                (rtype::A, &[10, 0, 0, 5]),
            ],
        );
        let seen = Seen::of(&r);
        assert_eq!(seen.name, "www.example.com");
        assert_eq!(seen.qtype, 1);
        assert_eq!(seen.rcode, 0);
        assert_eq!(
            seen.addresses,
            ["10.0.0.1", "10.0.0.2", "fd00::5", "10.0.0.3"].map(|a| a.parse::<IpAddr>().unwrap())
        );
        assert_eq!(seen.more, 2);
        assert_eq!(seen.cname.as_deref(), Some("acct.privatelink.example.com"));
    }

    #[test]
    fn an_error_reply_and_garbage() {
        let seen = Seen::of(&reply(3, &[]));
        assert_eq!((seen.rcode, seen.addresses.len()), (3, 0));
        assert_eq!(rcode_name(seen.rcode), "NXDOMAIN");
        assert_eq!(Seen::of(b"\x00\x01"), Seen::default());
    }
}

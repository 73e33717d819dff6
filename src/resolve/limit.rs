//! Response rate limiting on the UDP path (BIND-style, see [`crate::rrl`]):
//! once a reply is finished, what kind of answer it is, and whether it goes
//! out whole, as its slip form (TC=1, so a real client retries over TCP),
//! or not at all. It runs after the ACL (whose REFUSED answers count as
//! errors like any other), on every UDP reply: local, cached, forwarded
//! and the daemon's own errors. TCP answers are not limited: a TCP client
//! has proved its address.

use std::net::IpAddr;
use std::time::Instant;

use crate::rrl::{Kind, Rrl, Verdict};
use crate::snapshot::Snapshot;
use crate::wire;

/// The zone of a name no zone routes: the root, as in BIND.
const ROOT: &[u8] = &[0];

/// Applies `rrl` to the finished UDP `reply` to `client`; on `Slip` the
/// reply is rewritten in place. False: send nothing. Allocates nothing.
pub fn rate_limit(
    rrl: &Rrl,
    snap: &Snapshot,
    client: IpAddr,
    reply: &mut Vec<u8>,
    now: Instant,
) -> bool {
    let verdict = {
        let rcode = reply.get(3).map_or(2, |b| b & 0x0F);
        let question = wire::question(reply);
        let (qname, qtype) = match &question {
            Some((name, qtype)) => (name.wire(), *qtype),
            None => (ROOT, 0),
        };
        let negative = rcode == 3 || (rcode == 0 && reply.get(6..8) == Some(&[0, 0]));
        // RFC 2308 §3: a negative answer names its zone by the SOA it
        // carries; else the zone that routes the name.
        let soa_owner = negative.then(|| wire::authority_soa_owner(reply)).flatten();
        let zone = match &soa_owner {
            Some(owner) => owner.wire(),
            None if negative => snap
                .zone_of(qname)
                .and_then(|zi| snap.zones.get(zi))
                .map_or(ROOT, |z| z.name.wire()),
            None => ROOT,
        };
        rrl.check(client, Kind::of_reply(reply, qname, qtype, zone), now)
    };
    match verdict {
        Verdict::Send => true,
        Verdict::Drop => false,
        Verdict::Slip => {
            wire::slip(reply);
            true
        }
    }
}

//! NOTIFY (RFC 1996): telling secondaries that a zone changed (out, over
//! UDP with retransmission), and reading a primary's NOTIFY (in), which
//! only a listed primary may send.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

use super::msg::build::{AA, QR};
use super::msg::kind::{OPCODE_NOTIFY, RCODE_NOTAUTH};
use super::msg::read::{Header, Malformed, Parsed, Soa};
use super::msg::{Data, MessageWriter};
use super::tsig::sign::{AnswerError, sign_request, verify_request};
use super::tsig::{Key, RequestAuth, ServerSequence};
use crate::name::Name;
use crate::snapshot::Snapshot;
use crate::wire::{CLASS_IN, NameBuf, Rcode, rtype};

const NOTIFY_FLAGS: u16 = (OPCODE_NOTIFY as u16) << 11;

/// RFC 1996 §3.6 leaves the schedule to us: quick first tries (a secondary
/// should see a change within seconds), backing off, five in all (about a
/// minute), then give up until the next change.
pub const RETRIES: [Duration; 5] = [
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
    Duration::from_secs(32),
];

/// A NOTIFY request for `zone`, with its current SOA in the answer section
/// (RFC 1996 §3.7 allows it; BIND sends it too).
pub fn request(id: u16, zone: &Name, soa_ttl: u32, soa_rdata: &[u8]) -> Vec<u8> {
    let mut w = MessageWriter::new(id, NOTIFY_FLAGS | AA, Some((zone.wire(), rtype::SOA)), 512);
    w.push(zone.wire(), rtype::SOA, soa_ttl, Data::Bytes(soa_rdata));
    w.finish()
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("no answer after {0} tries")]
    NoAnswer(usize),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("answered with rcode {0}")]
    Rejected(u8),
    #[error("TSIG: {0}")]
    Tsig(#[from] AnswerError),
}

/// Sends a NOTIFY to `target` and waits for its answer, resending on the
/// `schedule` of timeouts. Signed with `key` when given (the answer must
/// then be signed too).
pub async fn send(
    target: SocketAddr,
    zone: &Name,
    soa_ttl: u32,
    soa_rdata: &[u8],
    key: Option<&Arc<Key>>,
    schedule: &[Duration],
) -> Result<(), NotifyError> {
    let bind: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind).await?;
    let id = rand::random::<u16>();
    let mut msg = request(id, zone, soa_ttl, soa_rdata);
    let mut verifier = key.map(|k| sign_request(&mut msg, k, unix_now()));
    let mut buf = vec![0u8; 4096];
    for &wait in schedule {
        socket.send_to(&msg, target).await?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let got = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await;
            let Ok(got) = got else { break };
            let (len, from) = got?;
            let answer = &buf[..len];
            let Ok(h) = Header::parse(answer) else {
                continue;
            };
            // Anything but the answer to this request (RFC 5452 spirit).
            if from != target || h.id != id || !h.is_response() || h.opcode() != OPCODE_NOTIFY {
                continue;
            }
            if let Some(v) = &mut verifier {
                v.verify(answer, unix_now())?;
            }
            return match h.rcode() {
                0 => Ok(()),
                rcode => Err(NotifyError::Rejected(rcode)),
            };
        }
    }
    Err(NotifyError::NoAnswer(schedule.len()))
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A NOTIFY received.
#[derive(Debug, Clone)]
pub struct Notify {
    pub id: u16,
    pub zone: NameBuf,
    /// The serial the primary announced, if it sent its SOA.
    pub serial: Option<u32>,
}

/// True for a message with opcode NOTIFY (what the front ends route here).
pub fn is_notify(packet: &[u8]) -> bool {
    packet.len() >= 12 && (packet[2] >> 3) & 0x0F == OPCODE_NOTIFY
}

pub fn parse(packet: &[u8]) -> Result<Notify, Malformed> {
    let p = Parsed::new(packet)?;
    if p.header.is_response() || p.header.opcode() != OPCODE_NOTIFY {
        return Err(Malformed("not a NOTIFY request"));
    }
    let q = p
        .question
        .as_ref()
        .ok_or(Malformed("NOTIFY without a question"))?;
    if p.header.counts[0] != 1 || q.qtype != rtype::SOA || q.qclass != CLASS_IN {
        return Err(Malformed("NOTIFY asks about one SOA of class IN"));
    }
    let mut serial = None;
    for r in p.records() {
        let r = r?;
        if r.section == 0 && r.rtype == rtype::SOA && r.owner.wire() == q.name.wire() {
            serial = Some(Soa::of(packet, &r)?.serial);
        }
    }
    Ok(Notify {
        id: p.header.id,
        zone: q.name.clone(),
        serial,
    })
}

/// What a received NOTIFY asks of the secondary manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refresh {
    /// Index of the secondary zone in the snapshot's zones.
    pub zone: usize,
    pub serial: Option<u32>,
}

/// Answers a NOTIFY from `source` (RFC 1996 §4.7): NOERROR and a refresh
/// for a secondary zone that lists `source` among its primaries; REFUSED
/// from anyone else; NOTAUTH for a zone that is not a secondary zone here
/// (as BIND), or with the TSIG error for a bad signature. A NOTIFY is only
/// a hint (the refresh itself asks the primary, signed when the zone has a
/// key), so an unsigned one from a listed primary is accepted; a signed one
/// must verify. Returns the answer (empty for a packet not worth one).
pub fn handle(
    snap: &Snapshot,
    packet: &[u8],
    source: IpAddr,
    now: u64,
) -> (Vec<u8>, Option<Refresh>) {
    let Ok(n) = parse(packet) else {
        let mut out = Vec::new();
        if Header::parse(packet).is_ok_and(|h| !h.is_response()) {
            crate::wire::error_reply(&mut out, packet, Rcode::FormErr);
        }
        return (out, None);
    };
    let reply = |rcode: u8, signer: Option<ServerSequence>| {
        let flags = NOTIFY_FLAGS | QR | AA | u16::from(rcode);
        let mut msg =
            MessageWriter::new(n.id, flags, Some((n.zone.wire(), rtype::SOA)), 512).finish();
        if let Some(mut s) = signer {
            s.sign(&mut msg, now);
        }
        msg
    };
    let signer = match verify_request(packet, &snap.config.tsig, now) {
        Ok(RequestAuth::Signed(s)) => Some(ServerSequence::new(&s)),
        Ok(RequestAuth::Unsigned) => None,
        Ok(RequestAuth::Failed(f)) => {
            let mut msg = reply(0, None);
            f.answer(&mut msg, now);
            return (msg, None);
        }
        Err(_) => return (reply(Rcode::FormErr as u8, None), None),
    };
    let zone = snap
        .zone_of(n.zone.wire())
        .filter(|&i| snap.zones[i].name.wire() == n.zone.wire())
        .filter(|&i| snap.config.zones[i].is_secondary());
    let Some(zone) = zone else {
        return (reply(RCODE_NOTAUTH, signer), None);
    };
    if !snap.config.zones[zone].transfer.is_primary(source) {
        tracing::info!(%source, zone = %snap.zones[zone].name, "NOTIFY refused: not from a listed primary");
        return (reply(Rcode::Refused as u8, signer), None);
    }
    let refresh = Refresh {
        zone,
        serial: n.serial,
    };
    (reply(0, signer), Some(refresh))
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;

//! Serving transfers of our zones. A request (AXFR or IXFR, signed or not)
//! is checked in this order: it parses (else FORMERR), its TSIG verifies
//! (else NOTAUTH with the TSIG error, RFC 8945 §5.2), it names a zone with
//! an AXFR comes over TCP (else REFUSED), it names a zone with records here
//! (else NOTAUTH, RFC 5936 §2.2.1), and the client is in the zone's
//! `transfer_allow` and signed with its `tsig_key` when it has one (else
//! REFUSED). Then the zone goes out as a stream of messages.

pub mod answer;
pub mod request;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::net::IpAddr;

use tracing::info;

use crate::snapshot::Snapshot;
use crate::wire::Rcode;
use crate::xfr::journal::Journals;
use crate::xfr::msg::kind::RCODE_NOTAUTH;
use crate::xfr::msg::read::Header;
use crate::xfr::serial;
use crate::xfr::tsig::sign::verify_request;
use crate::xfr::tsig::{RequestAuth, ServerSequence};
use crate::xfr::zone::ZoneView;

pub use answer::{MESSAGE_SIZE, Transfer};
use request::Kind;
pub use request::is_transfer;

/// What was answered, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    FormErr,
    NotAuth,
    /// TSIG failed (BADKEY, BADSIG, BADTIME, BADTRUNC).
    BadTsig,
    Refused,
    /// IXFR from a serial at or past ours: the lone current SOA.
    UpToDate,
    Ixfr,
    Axfr,
}

/// Answers one transfer request from `client`. `tcp` is false for UDP,
/// where AXFR is refused and IXFR gets the current SOA alone (RFC 1995 §2:
/// the client then retries over TCP). `now` is seconds since the epoch.
pub fn respond<'s>(
    snap: &'s Snapshot,
    journals: &Journals,
    packet: &[u8],
    client: IpAddr,
    tcp: bool,
    now: u64,
) -> (Transfer<'s>, Outcome) {
    let one = |m: Vec<u8>| Transfer::Ready(VecDeque::from([m]));
    let req = match request::parse(packet) {
        Ok(r) => r,
        Err(e) => {
            let mut out = Vec::new();
            if Header::parse(packet).is_ok_and(|h| !h.is_response()) {
                crate::wire::error_reply(&mut out, packet, Rcode::FormErr);
            }
            tracing::debug!(%client, "transfer request: {e}");
            let t = if out.is_empty() {
                Transfer::Ready(VecDeque::new())
            } else {
                one(out)
            };
            return (t, Outcome::FormErr);
        }
    };
    let what = if req.qtype() == crate::xfr::msg::kind::AXFR {
        "AXFR"
    } else {
        "IXFR"
    };
    let zone_text = {
        let mut s = String::new();
        let _ = crate::name::write_text(req.zone.wire(), &mut s);
        s
    };
    let auth = match verify_request(packet, &snap.config.tsig, now) {
        Ok(a) => a,
        Err(_) => RequestAuth::Unsigned,
    };
    let signer = match &auth {
        RequestAuth::Signed(s) => Some(ServerSequence::new(s)),
        _ => None,
    };
    let mut packer =
        answer::Packer::new(req.id, req.rd, req.zone.clone(), req.qtype(), signer, now);

    if let RequestAuth::Failed(f) = &auth {
        info!(%client, zone = %zone_text, "{what} refused: TSIG {} (key {})", f.error, f.key_name());
        let mut msg = packer.error(0);
        f.answer(&mut msg, now);
        return (one(msg), Outcome::BadTsig);
    }
    if req.kind == Kind::Axfr && !tcp {
        info!(%client, zone = %zone_text, "AXFR refused: over UDP");
        return (one(packer.error(Rcode::Refused as u8)), Outcome::Refused);
    }
    let Some(zone) = ZoneView::find(snap, req.zone.wire()) else {
        info!(%client, zone = %zone_text, "{what} refused: not a zone with records here");
        return (one(packer.error(RCODE_NOTAUTH)), Outcome::NotAuth);
    };
    let rules = &snap.config.zones[zone.index].transfer;
    let key_ok = match (&rules.key, &auth) {
        (None, _) => true,
        (Some(k), RequestAuth::Signed(s)) => s.key.name == k.name,
        (Some(_), _) => false,
    };
    if !rules.allows(client) || !key_ok {
        let why = if !rules.allows(client) {
            "client not in transfer_allow"
        } else {
            "not signed with the zone's tsig_key"
        };
        info!(%client, zone = %zone_text, "{what} refused: {why}");
        return (one(packer.error(Rcode::Refused as u8)), Outcome::Refused);
    }
    let current = zone.serial();
    match req.kind {
        Kind::Ixfr(theirs) if !serial::lt(theirs, current) || !tcp => {
            let msgs = packer.pack([zone.soa()]);
            (Transfer::Ready(msgs.into()), Outcome::UpToDate)
        }
        // RFC 1995 §4 lets the server send the whole zone instead; as BIND's
        // max-ixfr-ratio (100%), we do when the changes outnumber the
        // zone's records (the apex NS included).
        Kind::Ixfr(theirs) => match journals
            .path(zone.name(), theirs, current)
            .filter(|p| p.iter().map(|d| d.changes()).sum::<usize>() <= zone.local.records + 1)
        {
            Some(path) => {
                let msgs = packer.pack(answer::ixfr_records(zone.soa(), &path));
                info!(%client, zone = %zone_text, "IXFR {theirs} -> {current}: {} change sets, {} messages", path.len(), msgs.len());
                (Transfer::Ready(msgs.into()), Outcome::Ixfr)
            }
            None => {
                info!(%client, zone = %zone_text, "IXFR from {theirs}: not in the journal, sending the whole zone at {current}");
                (
                    Transfer::Axfr(answer::AxfrStream::new(zone, packer)),
                    Outcome::Axfr,
                )
            }
        },
        Kind::Axfr => {
            info!(%client, zone = %zone_text, "AXFR at serial {current}: {} records", zone.local.records);
            (
                Transfer::Axfr(answer::AxfrStream::new(zone, packer)),
                Outcome::Axfr,
            )
        }
    }
}

//! Ordinary queries that carry a TSIG record (a secondary's signed SOA
//! query before a transfer, RFC 8945 §5.3; an admin's `dig -y`): verified,
//! answered by the normal query path as if unsigned (forwarded too), and
//! the answer signed.

use super::msg::build::QR;
use super::msg::read::{Header, Parsed};
use super::msg::{MessageWriter, kind::TSIG};
use super::tsig::sign::verify_request;
use super::tsig::{Keyring, RequestAuth, ServerSequence};

/// True when the last record of `packet` is a TSIG. The front ends learn
/// it from the query parse (`wire::Query::signed`); this reads the packet
/// again, for tests and tools.
pub fn carries_tsig(packet: &[u8]) -> bool {
    let Ok(p) = Parsed::new(packet) else {
        return false;
    };
    if p.header.counts[3] == 0 {
        return false;
    }
    p.records()
        .last()
        .is_some_and(|r| r.is_ok_and(|r| r.rtype == TSIG))
}

/// What a query's TSIG says.
pub enum Verified {
    /// No TSIG: answer as usual.
    Unsigned,
    /// A good signature: answer `stripped` (the query without its TSIG) and
    /// [`seal`] the answer with `signer`.
    Signed {
        stripped: Vec<u8>,
        signer: ServerSequence,
    },
    /// A bad one: this answer, NOTAUTH with the TSIG error (§5.2), or
    /// FORMERR for a TSIG that does not parse.
    Rejected(Vec<u8>),
}

/// Checks the TSIG of `packet` against `keys` (`now`: seconds since the
/// epoch).
pub fn verify(packet: &[u8], keys: &Keyring, now: u64) -> Verified {
    let Ok(header) = Header::parse(packet) else {
        return Verified::Rejected(Vec::new());
    };
    let tsig = match verify_request(packet, keys, now) {
        Ok(RequestAuth::Unsigned) => return Verified::Unsigned,
        Ok(RequestAuth::Signed(s)) => s,
        Ok(RequestAuth::Failed(f)) => {
            let question = Parsed::new(packet).ok().and_then(|p| p.question);
            let q = question.as_ref().map(|q| (q.name.wire(), q.qtype));
            let flags = QR | (header.flags & 0x7900);
            let mut msg = MessageWriter::new(header.id, flags, q, 512).finish();
            f.answer(&mut msg, now);
            return Verified::Rejected(msg);
        }
        Err(_) => {
            let mut out = Vec::new();
            crate::wire::error_reply(&mut out, packet, crate::wire::Rcode::FormErr);
            return Verified::Rejected(out);
        }
    };
    let start = match crate::xfr::tsig::rr::find(packet) {
        Ok(Some(t)) => t.start,
        _ => return Verified::Rejected(Vec::new()),
    };
    let mut stripped = packet.get(..start).unwrap_or_default().to_vec();
    if stripped.len() < 12 {
        return Verified::Rejected(Vec::new());
    }
    let ar = u16::from_be_bytes([stripped[10], stripped[11]]).saturating_sub(1);
    stripped[10..12].copy_from_slice(&ar.to_be_bytes());
    Verified::Signed {
        stripped,
        signer: ServerSequence::new(&tsig),
    }
}

/// Signs the answer `msg` to a signed query. When the signed answer would
/// exceed `limit` (the client's UDP size) it goes out truncated instead
/// (TC, the question alone, signed: RFC 8945 §5.3), and the client asks
/// again over TCP.
pub fn seal(msg: &mut Vec<u8>, signer: &ServerSequence, limit: usize, now: u64) {
    if msg.is_empty() {
        return;
    }
    let unsigned = msg.len();
    signer.clone().sign(msg, now);
    if msg.len() > limit {
        msg.truncate(unsigned);
        crate::wire::slip(msg);
        signer.clone().sign(msg, now);
    }
}

/// Answers a signed query in one go: verifies it, hands the query without
/// its TSIG to `answer` (the normal query path), and signs what comes back.
/// An unsigned query goes to `answer` unchanged. `None` when `answer` gives
/// nothing (a packet to drop).
pub fn answer(
    packet: &[u8],
    keys: &Keyring,
    now: u64,
    answer: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    match verify(packet, keys, now) {
        Verified::Unsigned => answer(packet),
        Verified::Rejected(msg) => (!msg.is_empty()).then_some(msg),
        Verified::Signed { stripped, signer } => {
            let mut out = answer(&stripped)?;
            seal(&mut out, &signer, usize::from(u16::MAX), now);
            Some(out)
        }
    }
}

#[cfg(test)]
#[path = "signed_tests.rs"]
mod tests;

//! Ordinary queries that carry a TSIG record (a secondary's signed SOA
//! query before a transfer, RFC 8945 §5.3): verified, answered by the
//! normal query path as if unsigned, and the answer signed.

use super::msg::build::QR;
use super::msg::read::{Header, Parsed};
use super::msg::{MessageWriter, kind::TSIG};
use super::tsig::sign::verify_request;
use super::tsig::{Keyring, RequestAuth, ServerSequence};

/// True when the last record of `packet` is a TSIG: the cheap test a front
/// end makes before handing a query to [`answer`]. Queries without an
/// additional section (or whose last additional record is not a TSIG)
/// return false after reading the header alone or one walk.
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

/// Answers a signed query: verifies its TSIG against `keys`, hands the
/// query without its TSIG record to `answer` (the normal query path), and
/// signs what comes back. A bad signature gets NOTAUTH with the TSIG error
/// (§5.2), unanswered. An unsigned query goes to `answer` unchanged. `None`
/// when `answer` gives nothing (a packet to drop).
pub fn answer(
    packet: &[u8],
    keys: &Keyring,
    now: u64,
    answer: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let Ok(header) = Header::parse(packet) else {
        return None;
    };
    let tsig = match verify_request(packet, keys, now) {
        Ok(RequestAuth::Unsigned) => return answer(packet),
        Ok(RequestAuth::Signed(s)) => s,
        Ok(RequestAuth::Failed(f)) => {
            let question = Parsed::new(packet).ok().and_then(|p| p.question);
            let q = question.as_ref().map(|q| (q.name.wire(), q.qtype));
            let flags = QR | (header.flags & 0x7900);
            let mut msg = MessageWriter::new(header.id, flags, q, 512).finish();
            f.answer(&mut msg, now);
            return Some(msg);
        }
        Err(_) => {
            let mut out = Vec::new();
            crate::wire::error_reply(&mut out, packet, crate::wire::Rcode::FormErr);
            return Some(out);
        }
    };
    let start = crate::xfr::tsig::rr::find(packet).ok().flatten()?.start;
    let mut stripped = packet[..start].to_vec();
    let ar = u16::from_be_bytes([stripped[10], stripped[11]]).saturating_sub(1);
    stripped[10..12].copy_from_slice(&ar.to_be_bytes());
    let mut out = answer(&stripped)?;
    ServerSequence::new(&tsig).sign(&mut out, now);
    Some(out)
}

#[cfg(test)]
#[path = "signed_tests.rs"]
mod tests;

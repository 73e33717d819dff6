//! Whole-message helpers on finished replies: the per-client seal (OPT
//! record, truncation), error replies, the slip form of a reply, and the
//! walks the cache needs (TTL offsets, what the sections hold).

use super::writer::ResponseWriter;
use super::{
    DEFAULT_PAYLOAD, Edns, HEADER_LEN, MAX_WIRE_LEN, NameBuf, Rcode, rtype, skip_name, u16_at,
};

/// Finishes a complete message body in `out` for one client: appends the
/// OPT record when the query had EDNS, and truncates to `limit` with TC set
/// when it does not fit.
pub fn seal(out: &mut Vec<u8>, edns: Option<Edns>, our_payload: u16, limit: usize, rcode: Rcode) {
    if out.len() < HEADER_LEN {
        return;
    }
    let opt_len = if edns.is_some() { 11 } else { 0 };
    if out.len() + opt_len > limit {
        // RFC 2181 §9: a truncated answer drops whole sections; the
        // question stays so the client can match it and retry over TCP.
        let qend = question_end(out).unwrap_or(HEADER_LEN);
        out.truncate(qend);
        out[6..12].fill(0);
        out[2] |= 0x02;
    }
    if let Some(e) = edns {
        let arcount = u16_at(out, 10).unwrap_or(0).saturating_add(1);
        out[10..12].copy_from_slice(&arcount.to_be_bytes());
        push_opt(out, our_payload, rcode, e.dnssec_ok);
    }
}

/// Appends an OPT record (RFC 6891 §6.1.2) with version 0 and no options.
fn push_opt(out: &mut Vec<u8>, our_payload: u16, rcode: Rcode, dnssec_ok: bool) {
    out.push(0); // root owner
    out.extend_from_slice(&rtype::OPT.to_be_bytes());
    out.extend_from_slice(&our_payload.to_be_bytes());
    // RFC 3225 §3: the DO bit of the query MUST be copied into the
    // response. It tells the client we understood it; we add no
    // signatures of our own, and relay upstream ones as they came.
    let flags = if dnssec_ok { 0x80 } else { 0 };
    out.extend_from_slice(&[(rcode as u8) >> 4, 0, flags, 0]);
    out.extend_from_slice(&[0, 0]);
}

/// What the cache needs to know of a reply body.
#[derive(Debug, PartialEq, Eq)]
pub struct Sections {
    /// The smallest TTL in the answer section, if it has records.
    pub min_answer_ttl: Option<u32>,
    /// True when the answer holds data of the asked type (not only a chain).
    pub has_qtype_answer: bool,
    /// RFC 2308 §5: min(SOA TTL, SOA MINIMUM) of an authority-section SOA.
    pub negative_ttl: Option<u32>,
}

/// Walks a reply body (no OPT) for [`Sections`].
pub fn sections(msg: &[u8]) -> Option<Sections> {
    let qname_end = skip_name(msg, HEADER_LEN)?;
    let qtype = u16_at(msg, qname_end)?;
    let mut at = qname_end + 4;
    let an = u16_at(msg, 6)? as usize;
    let ns = u16_at(msg, 8)? as usize;
    let mut s = Sections {
        min_answer_ttl: None,
        has_qtype_answer: false,
        negative_ttl: None,
    };
    for i in 0..an + ns {
        at = skip_name(msg, at)?;
        let rtype = u16_at(msg, at)?;
        let ttl = u32::from_be_bytes(msg.get(at + 4..at + 8)?.try_into().ok()?);
        let rdlen = u16_at(msg, at + 8)? as usize;
        let rdata = at + 10;
        at = rdata + rdlen;
        if at > msg.len() {
            return None;
        }
        if i < an {
            s.min_answer_ttl = Some(s.min_answer_ttl.map_or(ttl, |m| m.min(ttl)));
            s.has_qtype_answer |= rtype == qtype || (qtype == rtype::ANY && rtype != rtype::CNAME);
        } else if rtype == rtype::SOA && rdlen >= 4 {
            // MINIMUM is the last 4 bytes of the SOA RDATA.
            let min = u32::from_be_bytes(msg.get(at - 4..at)?.try_into().ok()?);
            s.negative_ttl = Some(ttl.min(min));
        }
    }
    Some(s)
}

/// One resource record found by [`records`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordAt {
    /// 0 answer, 1 authority, 2 additional.
    pub section: usize,
    /// Offset of the owner name.
    pub start: usize,
    pub rtype: u16,
    /// Offset of the TTL field.
    pub ttl_at: usize,
    /// Offset just past the RDATA.
    pub end: usize,
}

/// Walks every resource record after the questions; `None` if the message
/// does not walk cleanly.
pub(crate) fn records(msg: &[u8]) -> Option<Vec<RecordAt>> {
    let mut at = HEADER_LEN;
    for _ in 0..u16_at(msg, 4)? {
        at = skip_name(msg, at)? + 4;
    }
    let counts = [u16_at(msg, 6)?, u16_at(msg, 8)?, u16_at(msg, 10)?];
    let total = counts.iter().map(|&c| c as usize).sum::<usize>();
    // Every record takes at least 11 bytes: a count that cannot fit fails
    // below, and does not size an allocation first.
    let mut out = Vec::with_capacity(total.min(msg.len() / 11));
    for (section, &count) in counts.iter().enumerate() {
        for _ in 0..count {
            let start = at;
            at = skip_name(msg, at)?;
            let rtype = u16_at(msg, at)?;
            let rdlen = u16_at(msg, at + 8)? as usize;
            let ttl_at = at + 4;
            at += 10 + rdlen;
            if at > msg.len() {
                return None;
            }
            out.push(RecordAt {
                section,
                start,
                rtype,
                ttl_at,
                end: at,
            });
        }
    }
    (at <= msg.len()).then_some(out)
}

/// The offset where a message's last record ends, if every section walks
/// cleanly: equal to the length for a whole message with nothing after it.
pub fn walk(msg: &[u8]) -> Option<usize> {
    let records = records(msg)?;
    match records.last() {
        Some(r) => Some(r.end),
        None => question_end_all(msg),
    }
}

/// Offsets of the TTL field of every record in a message without OPT, for
/// counting cached TTLs down. `None` if the message does not walk cleanly or
/// is too long for 16-bit offsets.
pub fn ttl_offsets(msg: &[u8]) -> Option<Vec<u16>> {
    records(msg)?
        .iter()
        .map(|r| u16::try_from(r.ttl_at).ok())
        .collect()
}

/// Offset just past the first question of a message.
fn question_end(msg: &[u8]) -> Option<usize> {
    if u16_at(msg, 4)? == 0 {
        return Some(HEADER_LEN);
    }
    Some(skip_name(msg, HEADER_LEN)? + 4)
}

/// Offset just past every question of a message.
fn question_end_all(msg: &[u8]) -> Option<usize> {
    let mut at = HEADER_LEN;
    for _ in 0..u16_at(msg, 4)? {
        at = skip_name(msg, at)? + 4;
    }
    (at <= msg.len()).then_some(at)
}

/// What of a query that failed to parse can still be trusted.
struct Salvaged {
    /// Offset just past the single question, when it parses.
    question_end: Option<usize>,
    edns: Option<Edns>,
}

/// Reads the question (one, labels only, as `parse_query` requires) and the
/// OPT record of a packet that did not parse as a query. The OPT counts only
/// when the records up to it walk cleanly and there is exactly one of it.
fn salvage(packet: &[u8]) -> Salvaged {
    let qdcount = u16_at(packet, 4).unwrap_or(0);
    let question_end = (qdcount == 1).then(|| plain_question_end(packet)).flatten();
    // Find the OPT: walk every question and record, stop at the first one
    // that does not parse.
    let mut edns = None;
    let mut opts = 0;
    let mut at = HEADER_LEN;
    let mut ok = true;
    for _ in 0..qdcount {
        match skip_name(packet, at) {
            Some(end) if end + 4 <= packet.len() => at = end + 4,
            _ => {
                ok = false;
                break;
            }
        }
    }
    let an = u16_at(packet, 6).unwrap_or(0) as usize;
    let ns = u16_at(packet, 8).unwrap_or(0) as usize;
    let ar = u16_at(packet, 10).unwrap_or(0) as usize;
    for i in 0..an + ns + ar {
        if !ok {
            break;
        }
        let name_start = at;
        let Some(end) = skip_name(packet, at) else {
            break;
        };
        let (Some(rt), Some(class), Some(ttl), Some(rdlen)) = (
            u16_at(packet, end),
            u16_at(packet, end + 2),
            packet.get(end + 4..end + 8),
            u16_at(packet, end + 8),
        ) else {
            break;
        };
        at = end + 10 + rdlen as usize;
        if at > packet.len() {
            break;
        }
        if rt == rtype::OPT {
            opts += 1;
            if i >= an + ns && packet.get(name_start) == Some(&0) {
                edns = Some(Edns {
                    payload: class,
                    version: ttl[1],
                    dnssec_ok: ttl[2] & 0x80 != 0,
                });
            }
        }
    }
    Salvaged {
        question_end,
        // RFC 6891 §6.1.1: more than one OPT is itself the error; answer as
        // if there were none.
        edns: edns.filter(|_| opts == 1),
    }
}

/// The end of a first question made of plain labels (no pointer), at most
/// 255 bytes of name, with its type and class.
fn plain_question_end(packet: &[u8]) -> Option<usize> {
    let mut at = HEADER_LEN;
    loop {
        let l = *packet.get(at)? as usize;
        if l & 0xC0 != 0 {
            return None;
        }
        at += 1 + l;
        if at - HEADER_LEN > MAX_WIRE_LEN {
            return None;
        }
        if l == 0 {
            break;
        }
    }
    (at + 4 <= packet.len()).then_some(at + 4)
}

/// Writes an error reply (FORMERR, NOTIMP, REFUSED, SERVFAIL) to a packet
/// whose header parsed but whose body could not be used, advertising our
/// default payload size. See [`error_reply_sized`].
pub fn error_reply(out: &mut Vec<u8>, packet: &[u8], rcode: Rcode) {
    error_reply_sized(out, packet, rcode, DEFAULT_PAYLOAD);
}

/// Writes an error reply to `packet`. RFC 6891 §7 and RFC 1035 §4.1.1: the
/// reply echoes the question and carries an OPT record (with the query's DO
/// bit, RFC 3225 §3) when those parts of the query could be read; only a
/// question that cannot be read is left out, and only an unreadable or
/// repeated OPT gives a reply without one.
pub fn error_reply_sized(out: &mut Vec<u8>, packet: &[u8], rcode: Rcode, our_payload: u16) {
    let found = salvage(packet);
    let qdcount = u16::from(found.question_end.is_some());
    let w = ResponseWriter::header_only(out, packet, rcode, qdcount);
    let out = w.finish_body();
    if let Some(end) = found.question_end {
        out.extend_from_slice(&packet[HEADER_LEN..end]);
    }
    seal(out, found.edns, our_payload, usize::MAX, rcode);
}

/// Turns a finished reply into its slip form for response rate limiting:
/// header with TC set, the question, and the OPT record if it had one; no
/// records. A client that really sent the query retries over TCP, where no
/// rate limit applies; a spoofed victim receives a packet no larger than
/// the query.
pub fn slip(out: &mut Vec<u8>) {
    if out.len() < HEADER_LEN {
        return;
    }
    let opt = records(out).and_then(|rs| {
        rs.iter()
            .find(|r| r.section == 2 && r.rtype == rtype::OPT)
            .map(|r| out[r.start..r.end].to_vec())
    });
    let qend = question_end(out).unwrap_or(HEADER_LEN).min(out.len());
    out.truncate(qend);
    out[6..12].fill(0);
    out[2] |= 0x02;
    if let Some(opt) = opt {
        out[11] = 1;
        out.extend_from_slice(&opt);
    }
}

/// Reads the (possibly compressed) name at `at` into lowercase wire form.
/// Pointers must point backwards, so no loop is possible; `None` for a name
/// that does not read cleanly or is longer than 255 bytes.
pub(crate) fn read_name(msg: &[u8], mut at: usize) -> Option<NameBuf> {
    let mut buf = [0u8; MAX_WIRE_LEN];
    let mut len = 0usize;
    loop {
        let l = *msg.get(at)? as usize;
        match l & 0xC0 {
            0x00 => {
                let label = msg.get(at + 1..at + 1 + l)?;
                let dst = buf.get_mut(len..len + 1 + l)?;
                dst[0] = l as u8;
                for (d, s) in dst[1..].iter_mut().zip(label) {
                    *d = s.to_ascii_lowercase();
                }
                len += 1 + l;
                if l == 0 {
                    return Some(NameBuf {
                        buf,
                        len: len as u8,
                    });
                }
                at += 1 + l;
            }
            0xC0 => {
                let target = usize::from(u16_at(msg, at)? & 0x3FFF);
                if target >= at {
                    return None;
                }
                at = target;
            }
            _ => return None,
        }
    }
}

/// The owner of the first SOA record in a reply's authority section: the
/// zone a negative answer speaks for (RFC 2308 §3).
pub fn authority_soa_owner(msg: &[u8]) -> Option<NameBuf> {
    let mut at = question_end_all(msg)?;
    let an = u16_at(msg, 6)? as usize;
    let ns = u16_at(msg, 8)? as usize;
    for i in 0..an + ns {
        let owner = at;
        at = skip_name(msg, at)?;
        let rtype = u16_at(msg, at)?;
        let rdlen = u16_at(msg, at + 8)? as usize;
        if i >= an && rtype == rtype::SOA {
            return read_name(msg, owner);
        }
        at += 10 + rdlen;
    }
    None
}

/// The first question of a reply: its name, lowercased, and type.
pub fn question(msg: &[u8]) -> Option<(NameBuf, u16)> {
    if u16_at(msg, 4)? == 0 {
        return None;
    }
    let name = read_name(msg, HEADER_LEN)?;
    let qtype = u16_at(msg, skip_name(msg, HEADER_LEN)?)?;
    Some((name, qtype))
}

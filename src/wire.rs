//! DNS wire format on the query path: an allocation-free parse of the
//! question and EDNS OPT of a query (here), a response writer that appends
//! to a caller-owned buffer (`writer.rs`), and whole-message helpers: OPT,
//! truncation, error replies, TTL walks (`message.rs`). Everything that
//! needs a full parse (upstream answers) uses hickory-proto instead.

mod message;
pub mod names;
mod writer;

pub(crate) use message::{RecordAt, records};
pub use message::{
    Sections, authority_soa_owner, error_reply, error_reply_sized, question, seal, sections, slip,
    ttl_offsets, walk,
};
pub use writer::{ANSWER, AUTHORITY, Rdata, ResponseWriter, Suspended};

use crate::name::MAX_WIRE_LEN;

pub const HEADER_LEN: usize = 12;

pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const AAAA: u16 = 28;
    pub const OPT: u16 = 41;
    /// Meta-types (RFC 6895 §3.1): a message's signature and key exchange,
    /// and the two zone transfers.
    pub const TKEY: u16 = 249;
    pub const TSIG: u16 = 250;
    pub const IXFR: u16 = 251;
    pub const AXFR: u16 = 252;
    pub const ANY: u16 = 255;
}

pub const CLASS_IN: u16 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Rcode {
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
    NxDomain = 3,
    NotImp = 4,
    Refused = 5,
    /// RFC 6891 §6.1.3: 16, carried as 0 in the header and 1 in the OPT
    /// extended-rcode byte.
    BadVers = 16,
}

/// The EDNS(0) part of a query (RFC 6891 §6.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    pub payload: u16,
    pub version: u8,
    pub dnssec_ok: bool,
}

/// A query's name, lowercased, in wire format, on the stack.
#[derive(Clone)]
pub struct NameBuf {
    buf: [u8; MAX_WIRE_LEN],
    len: u8,
}

impl NameBuf {
    pub fn wire(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// Builds `head` + `tail` (both wire; `head` without its root byte).
    pub fn concat(head: &[u8], tail: &[u8]) -> Option<NameBuf> {
        let len = head.len() + tail.len();
        if len > MAX_WIRE_LEN {
            return None;
        }
        let mut buf = [0; MAX_WIRE_LEN];
        buf[..head.len()].copy_from_slice(head);
        buf[head.len()..len].copy_from_slice(tail);
        Some(NameBuf {
            buf,
            len: len as u8,
        })
    }

    pub fn from_wire(wire: &[u8]) -> Option<NameBuf> {
        NameBuf::concat(&[], wire)
    }
}

impl PartialEq for NameBuf {
    fn eq(&self, other: &Self) -> bool {
        self.wire() == other.wire()
    }
}

impl Eq for NameBuf {}

impl std::fmt::Debug for NameBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        crate::name::write_text(self.wire(), &mut s)?;
        write!(f, "NameBuf({s})")
    }
}

/// A parsed query. Borrows the packet so the question can be echoed as sent
/// (its case intact, for clients that use 0x20 randomisation).
#[derive(Debug)]
pub struct Query<'a> {
    pub packet: &'a [u8],
    pub id: u16,
    pub rd: bool,
    pub cd: bool,
    pub qname: NameBuf,
    pub qtype: u16,
    pub qclass: u16,
    /// Offset just past the question (qtype and qclass included).
    pub question_end: usize,
    pub edns: Option<Edns>,
    /// The last record is a TSIG (RFC 8945 §5.1): a signed query, for zone
    /// transfer's TSIG code to verify.
    pub signed: bool,
}

/// Why a packet did not parse as a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Shorter than a header, or a response (QR set): never answered, so that
    /// a spoofed packet cannot make us reflect traffic or loop with a peer.
    Drop,
    /// The header parsed, the rest did not (or a rule was broken): FORMERR.
    FormErr,
    /// An opcode other than QUERY: NOTIMP.
    NotImp,
}

pub(crate) fn u16_at(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]))
}

/// Skips a possibly compressed name; returns the offset after it. Pointers
/// are not followed (skipping needs only their two bytes), so no loop is
/// possible here.
pub(crate) fn skip_name(p: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *p.get(at)?;
        match len & 0xC0 {
            0x00 if len == 0 => return Some(at + 1),
            0x00 => at += 1 + len as usize,
            0xC0 => return (at + 2 <= p.len()).then_some(at + 2),
            _ => return None,
        }
    }
}

/// Parses a query packet.
pub fn parse_query(packet: &[u8]) -> Result<Query<'_>, Malformed> {
    if packet.len() < HEADER_LEN || packet[2] & 0x80 != 0 {
        return Err(Malformed::Drop);
    }
    if (packet[2] >> 3) & 0x0F != 0 {
        return Err(Malformed::NotImp);
    }
    let qdcount = u16_at(packet, 4).unwrap_or(0);
    if qdcount != 1 {
        return Err(Malformed::FormErr);
    }
    // The question: labels only. A compression pointer in the first question
    // could only point back into the header, so it is refused outright.
    let mut buf = [0u8; MAX_WIRE_LEN];
    let mut at = HEADER_LEN;
    let mut len = 0usize;
    loop {
        let l = *packet.get(at).ok_or(Malformed::FormErr)? as usize;
        if l & 0xC0 != 0 {
            return Err(Malformed::FormErr);
        }
        if len + 1 + l > MAX_WIRE_LEN {
            return Err(Malformed::FormErr);
        }
        let label = packet.get(at + 1..at + 1 + l).ok_or(Malformed::FormErr)?;
        buf[len] = l as u8;
        for (d, s) in buf[len + 1..len + 1 + l].iter_mut().zip(label) {
            *d = s.to_ascii_lowercase();
        }
        len += 1 + l;
        at += 1 + l;
        if l == 0 {
            break;
        }
    }
    let qtype = u16_at(packet, at).ok_or(Malformed::FormErr)?;
    let qclass = u16_at(packet, at + 2).ok_or(Malformed::FormErr)?;
    let question_end = at + 4;

    // Answer and authority sections of a query are unusual but legal; skip
    // them. The additional section may carry one OPT (RFC 6891 §6.1.1).
    let ancount = u16_at(packet, 6).unwrap_or(0) as usize;
    let nscount = u16_at(packet, 8).unwrap_or(0) as usize;
    let arcount = u16_at(packet, 10).unwrap_or(0) as usize;
    let mut at = question_end;
    let mut edns = None;
    let mut last_type = 0;
    for i in 0..ancount + nscount + arcount {
        let name_start = at;
        at = skip_name(packet, at).ok_or(Malformed::FormErr)?;
        let rtype = u16_at(packet, at).ok_or(Malformed::FormErr)?;
        let class = u16_at(packet, at + 2).ok_or(Malformed::FormErr)?;
        let ttl = packet.get(at + 4..at + 8).ok_or(Malformed::FormErr)?;
        let rdlen = u16_at(packet, at + 8).ok_or(Malformed::FormErr)? as usize;
        at += 10 + rdlen;
        if at > packet.len() {
            return Err(Malformed::FormErr);
        }
        last_type = rtype;
        if rtype == rtype::OPT {
            let in_additional = i >= ancount + nscount;
            if !in_additional || edns.is_some() || packet[name_start] != 0 {
                return Err(Malformed::FormErr);
            }
            edns = Some(Edns {
                payload: class,
                version: ttl[1],
                dnssec_ok: ttl[2] & 0x80 != 0,
            });
        }
    }
    if at != packet.len() {
        // Trailing bytes mean the counts lie about the content.
        return Err(Malformed::FormErr);
    }
    Ok(Query {
        packet,
        id: u16::from_be_bytes([packet[0], packet[1]]),
        rd: packet[2] & 0x01 != 0,
        cd: packet[3] & 0x10 != 0,
        qname: NameBuf {
            buf,
            len: len as u8,
        },
        qtype,
        qclass,
        question_end,
        edns,
        signed: arcount > 0 && last_type == rtype::TSIG,
    })
}

/// NOTIFY (RFC 1996), the one opcode other than QUERY that pldns serves.
pub const OPCODE_NOTIFY: u8 = 4;

/// The opcode of a packet with a whole header.
pub fn opcode(packet: &[u8]) -> Option<u8> {
    (packet.len() >= HEADER_LEN).then(|| (packet[2] >> 3) & 0x0F)
}

/// The UDP payload limit for the answer to `edns` (RFC 6891 §6.2.5: never
/// below 512; our own maximum caps it).
pub fn udp_limit(edns: Option<Edns>, server_max: u16) -> usize {
    match edns {
        Some(e) => e.payload.clamp(512, server_max.max(512)) as usize,
        None => 512,
    }
}

/// Our EDNS payload size where no configuration is at hand (error replies
/// to packets we could not parse): the DNS Flag Day 2020 value.
pub const DEFAULT_PAYLOAD: u16 = 1232;

#[cfg(test)]
mod tests;

//! DNS wire format on the query path: an allocation-free parse of the
//! question and EDNS OPT of a query, and a response writer that appends to a
//! caller-owned buffer. Everything that needs a full parse (upstream
//! answers) uses hickory-proto instead.

use crate::name::MAX_WIRE_LEN;

pub const HEADER_LEN: usize = 12;

pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const AAAA: u16 = 28;
    pub const OPT: u16 = 41;
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

fn u16_at(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]))
}

/// Skips a possibly compressed name; returns the offset after it. Pointers
/// are not followed (skipping needs only their two bytes), so no loop is
/// possible here.
fn skip_name(p: &[u8], mut at: usize) -> Option<usize> {
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
    })
}

/// The UDP payload limit for the answer to `edns` (RFC 6891 §6.2.5: never
/// below 512; our own maximum caps it).
pub fn udp_limit(edns: Option<Edns>, server_max: u16) -> usize {
    match edns {
        Some(e) => e.payload.clamp(512, server_max.max(512)) as usize,
        None => 512,
    }
}

/// Where a name already in the message can be pointed at.
#[derive(Clone, Copy)]
struct Written {
    offset: u16,
    /// Offset into `names` of the lowercase wire copy.
    at: u16,
    len: u8,
}

/// Room for the names compression can point at: the question and a CNAME
/// chain or two. Names that do not fit are written uncompressed.
const NAMES: usize = 320;

/// Appends one response to a buffer: header, the query's question, records,
/// then the OPT record. Names are compressed against owner names and CNAME
/// targets already written.
pub struct ResponseWriter<'b> {
    out: &'b mut Vec<u8>,
    start: usize,
    section: usize,
    counts: [u16; 3],
    written: [Written; 8],
    nwritten: usize,
    names: [u8; NAMES],
    names_len: usize,
}

pub const ANSWER: usize = 0;
pub const AUTHORITY: usize = 1;

impl<'b> ResponseWriter<'b> {
    /// Starts a response to `q` in `out` (cleared first).
    pub fn new(out: &'b mut Vec<u8>, q: &Query<'_>, rcode: Rcode, authoritative: bool) -> Self {
        out.clear();
        let mut w = Self::header_only(out, q.packet, rcode, 1);
        if authoritative {
            w.out[w.start + 2] |= 0x04;
        }
        w.out
            .extend_from_slice(&q.packet[HEADER_LEN..q.question_end]);
        w.remember(HEADER_LEN as u16, q.qname.wire());
        w
    }

    /// A response carrying only the header of `packet`: FORMERR and NOTIMP
    /// for queries whose question cannot be trusted.
    pub fn header_only(out: &'b mut Vec<u8>, packet: &[u8], rcode: Rcode, qdcount: u16) -> Self {
        out.clear();
        let start = out.len();
        let rd = packet[2] & 0x01;
        let opcode = packet[2] & 0x78;
        let cd = packet[3] & 0x10;
        out.extend_from_slice(&[
            packet[0],
            packet[1],
            0x80 | opcode | rd,
            0x80 | cd | (rcode as u8 & 0x0F),
        ]);
        out.extend_from_slice(&qdcount.to_be_bytes());
        out.extend_from_slice(&[0; 6]);
        ResponseWriter {
            out,
            start,
            section: ANSWER,
            counts: [0; 3],
            written: [Written {
                offset: 0,
                at: 0,
                len: 0,
            }; 8],
            nwritten: 0,
            names: [0; NAMES],
            names_len: 0,
        }
    }

    pub fn set_rcode(&mut self, rcode: Rcode) {
        let b = &mut self.out[self.start + 3];
        *b = (*b & 0xF0) | (rcode as u8 & 0x0F);
    }

    pub fn set_authoritative(&mut self, aa: bool) {
        let b = &mut self.out[self.start + 2];
        *b = if aa { *b | 0x04 } else { *b & !0x04 };
    }

    pub fn section(&mut self, section: usize) {
        self.section = section;
    }

    pub fn len(&self) -> usize {
        self.out.len() - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn remember(&mut self, offset: u16, wire: &[u8]) {
        if self.nwritten == self.written.len()
            || self.names_len + wire.len() > self.names.len()
            || offset > 0x3FFF
        {
            return;
        }
        self.names[self.names_len..self.names_len + wire.len()].copy_from_slice(wire);
        self.written[self.nwritten] = Written {
            offset,
            at: self.names_len as u16,
            len: wire.len() as u8,
        };
        self.nwritten += 1;
        self.names_len += wire.len();
    }

    /// Writes `wire` (canonical, uncompressed) compressed against the names
    /// already in the message (RFC 1035 §4.1.4): the labels before the
    /// longest known suffix literally, then a pointer to that suffix.
    fn write_name(&mut self, wire: &[u8]) {
        let offset = (self.out.len() - self.start) as u16;
        for suffix in crate::name::suffixes(wire) {
            if suffix.len() == 1 {
                break;
            }
            if let Some(ptr) = self.find(suffix) {
                let head = wire.len() - suffix.len();
                self.out.extend_from_slice(&wire[..head]);
                self.out.extend_from_slice(&(0xC000 | ptr).to_be_bytes());
                if head > 0 {
                    self.remember(offset, wire);
                }
                return;
            }
        }
        self.out.extend_from_slice(wire);
        self.remember(offset, wire);
    }

    /// The message offset of `name` if it, or a name ending in it, is
    /// already in the message.
    fn find(&self, name: &[u8]) -> Option<u16> {
        self.written[..self.nwritten].iter().find_map(|w| {
            let seen = &self.names[w.at as usize..w.at as usize + w.len as usize];
            suffix_offset(seen, name).map(|skip| w.offset + skip as u16)
        })
    }

    /// Appends one record to the current section.
    pub fn record(&mut self, owner: &[u8], rtype: u16, ttl: u32, rdata: Rdata<'_>) {
        self.write_name(owner);
        self.out.extend_from_slice(&rtype.to_be_bytes());
        self.out.extend_from_slice(&CLASS_IN.to_be_bytes());
        self.out.extend_from_slice(&ttl.to_be_bytes());
        let len_at = self.out.len();
        self.out.extend_from_slice(&[0, 0]);
        match rdata {
            Rdata::Bytes(b) => self.out.extend_from_slice(b),
            // RFC 3597 §4: names in the RDATA of RFC 1035 types (CNAME,
            // NS, SOA) may be compressed.
            Rdata::Name(n) => self.write_name(n),
        }
        let rdlen = (self.out.len() - len_at - 2) as u16;
        self.out[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        self.counts[self.section] += 1;
    }

    /// Ends the message: writes the counts and the OPT record (when the query
    /// had EDNS), and truncates to `limit` with TC set when it does not fit.
    pub fn finish(self, edns: Option<Edns>, our_payload: u16, limit: usize, rcode: Rcode) {
        let out = self.finish_body();
        seal(out, edns, our_payload, limit, rcode);
    }

    /// Ends the message without OPT record or truncation: the form the cache
    /// keeps, sealed per client by [`seal`].
    pub fn finish_body(self) -> &'b mut Vec<u8> {
        let start = self.start;
        let out = self.out;
        for (i, count) in self.counts.iter().enumerate() {
            let at = start + 6 + 2 * i;
            out[at..at + 2].copy_from_slice(&count.to_be_bytes());
        }
        out
    }

    /// Appends a record whose RDATA is already encoded (uncompressed), as
    /// relayed from an upstream answer.
    pub fn relayed(
        &mut self,
        section: usize,
        owner: &[u8],
        rtype: u16,
        class: u16,
        ttl: u32,
        rdata: &[u8],
    ) {
        self.write_name(owner);
        self.out.extend_from_slice(&rtype.to_be_bytes());
        self.out.extend_from_slice(&class.to_be_bytes());
        self.out.extend_from_slice(&ttl.to_be_bytes());
        self.out
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        self.out.extend_from_slice(rdata);
        self.counts[section] += 1;
    }

    pub fn set_flags(&mut self, authentic_data: bool) {
        let b = &mut self.out[self.start + 3];
        *b = if authentic_data {
            *b | 0x20
        } else {
            *b & !0x20
        };
    }
}

/// Finishes a complete message body in `out` for one client: appends the
/// OPT record when the query had EDNS, and truncates to `limit` with TC set
/// when it does not fit.
pub fn seal(out: &mut Vec<u8>, edns: Option<Edns>, our_payload: u16, limit: usize, rcode: Rcode) {
    let opt_len = if edns.is_some() { 11 } else { 0 };
    if out.len() + opt_len > limit {
        // RFC 2181 §9: a truncated answer drops whole sections; the
        // question stays so the client can match it and retry over TCP.
        let qend = question_end(out).unwrap_or(HEADER_LEN);
        out.truncate(qend);
        out[6..12].fill(0);
        out[2] |= 0x02;
    }
    if edns.is_some() {
        let arcount = u16_at(out, 10).unwrap_or(0) + 1;
        out[10..12].copy_from_slice(&arcount.to_be_bytes());
        let ext = (rcode as u8) >> 4;
        out.push(0); // root owner
        out.extend_from_slice(&rtype::OPT.to_be_bytes());
        out.extend_from_slice(&our_payload.to_be_bytes());
        // ext-rcode, version 0, no flags: we sign nothing, so DO is not set
        // (RFC 3225 §3).
        out.extend_from_slice(&[ext, 0, 0, 0]);
        out.extend_from_slice(&[0, 0]);
    }
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
        } else if rtype == rtype::SOA {
            // MINIMUM is the last 4 bytes of the SOA RDATA.
            let min = u32::from_be_bytes(msg.get(at - 4..at)?.try_into().ok()?);
            s.negative_ttl = Some(ttl.min(min));
        }
    }
    Some(s)
}

/// Offsets of the TTL field of every record in a message without OPT, for
/// counting cached TTLs down. `None` if the message does not walk cleanly.
pub fn ttl_offsets(msg: &[u8]) -> Option<Vec<u16>> {
    let mut at = question_end(msg)?;
    let total: usize = (3..6)
        .map(|i| u16_at(msg, 2 * i).unwrap_or(0) as usize)
        .sum();
    let mut offsets = Vec::with_capacity(total);
    for _ in 0..total {
        at = skip_name(msg, at)?;
        offsets.push(u16::try_from(at + 4).ok()?);
        let rdlen = u16_at(msg, at + 8)? as usize;
        at += 10 + rdlen;
        if at > msg.len() {
            return None;
        }
    }
    Some(offsets)
}

/// RDATA to write: raw bytes, or a name that may become a compression target.
pub enum Rdata<'a> {
    Bytes(&'a [u8]),
    Name(&'a [u8]),
}

/// If `name` is a label-boundary suffix of `seen`, the offset of it in `seen`.
fn suffix_offset(seen: &[u8], name: &[u8]) -> Option<usize> {
    if name.len() > seen.len() || name.len() == 1 {
        return None;
    }
    crate::name::suffixes(seen)
        .find(|s| s.len() == name.len())
        .filter(|s| *s == name)
        .map(|s| seen.len() - s.len())
}

/// Offset just past the first question of a message.
fn question_end(msg: &[u8]) -> Option<usize> {
    if u16_at(msg, 4)? == 0 {
        return Some(HEADER_LEN);
    }
    Some(skip_name(msg, HEADER_LEN)? + 4)
}

/// Writes a header-only error reply (FORMERR, NOTIMP) for a packet whose
/// header parsed. The question is left out because it could not be read.
pub fn error_reply(out: &mut Vec<u8>, packet: &[u8], rcode: Rcode) {
    let w = ResponseWriter::header_only(out, packet, rcode, 0);
    w.finish(None, 0, usize::MAX, rcode);
}

#[cfg(test)]
mod tests;

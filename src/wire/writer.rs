//! The response writer: header, the query's question, records with names
//! compressed against names already written (RFC 1035 §4.1.4), then the OPT
//! record and truncation (`message::seal`).
//!
//! A compression pointer has 14 bits, so it can only reach offsets up to
//! 0x3FFF: a name that starts past that is never a target, and neither is a
//! suffix of an earlier name whose own offset lands past it. A name written
//! as labels plus a pointer is a target only at its literal labels: past
//! them the bytes are the pointer, not the rest of the name.

use super::{CLASS_IN, HEADER_LEN, Query, Rcode, message};

/// The largest offset a compression pointer can hold.
pub const MAX_POINTER: usize = 0x3FFF;

pub const ANSWER: usize = 0;
pub const AUTHORITY: usize = 1;

/// Where a name already in the message can be pointed at.
#[derive(Clone, Copy)]
struct Written {
    /// Message offset of the name's first byte (at most [`MAX_POINTER`]).
    offset: u16,
    /// Offset into `names` of the lowercase canonical wire copy.
    at: u16,
    len: u8,
    /// How many bytes at `offset` are labels; a pointer follows them when
    /// this is less than `len`.
    literal: u8,
}

/// Room for the names compression can point at: the question and a CNAME
/// chain or two. Names that do not fit are written uncompressed.
const NAMES: usize = 320;

/// RDATA to write: raw bytes, or a name that may become a compression target.
pub enum Rdata<'a> {
    Bytes(&'a [u8]),
    Name(&'a [u8]),
}

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

/// A [`ResponseWriter`] put aside: everything but the buffer.
pub struct Suspended {
    start: usize,
    section: usize,
    counts: [u16; 3],
    written: [Written; 8],
    nwritten: usize,
    names: [u8; NAMES],
    names_len: usize,
}

impl<'b> ResponseWriter<'b> {
    /// Starts a response to `q` in `out` (cleared first).
    pub fn new(out: &'b mut Vec<u8>, q: &Query<'_>, rcode: Rcode, authoritative: bool) -> Self {
        out.clear();
        let mut w = Self::header_only(out, q.packet, rcode, 1);
        if authoritative {
            w.out[w.start + 2] |= 0x04;
        }
        let question = q.packet.get(HEADER_LEN..q.question_end).unwrap_or(&[]);
        w.out.extend_from_slice(question);
        let qname = q.qname.wire();
        w.remember(HEADER_LEN, qname, qname.len());
        w
    }

    /// A response carrying only the header of `packet` (missing bytes read
    /// as zero) and `qdcount`; the caller appends the question it announces.
    pub fn header_only(out: &'b mut Vec<u8>, packet: &[u8], rcode: Rcode, qdcount: u16) -> Self {
        out.clear();
        let start = out.len();
        let byte = |i: usize| packet.get(i).copied().unwrap_or(0);
        let rd = byte(2) & 0x01;
        let opcode = byte(2) & 0x78;
        let cd = byte(3) & 0x10;
        out.extend_from_slice(&[
            byte(0),
            byte(1),
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
                literal: 0,
            }; 8],
            nwritten: 0,
            names: [0; NAMES],
            names_len: 0,
        }
    }

    /// Puts the writer aside so that the message can wait (for a forwarder)
    /// in an owned buffer; [`ResponseWriter::resume`] goes on where it
    /// stopped. `out` must travel with the returned state, unchanged.
    pub fn suspend(self) -> Suspended {
        Suspended {
            start: self.start,
            section: self.section,
            counts: self.counts,
            written: self.written,
            nwritten: self.nwritten,
            names: self.names,
            names_len: self.names_len,
        }
    }

    /// Goes on writing the message in `out` that [`ResponseWriter::suspend`]
    /// put aside.
    pub fn resume(out: &'b mut Vec<u8>, s: Suspended) -> Self {
        ResponseWriter {
            out,
            start: s.start,
            section: s.section,
            counts: s.counts,
            written: s.written,
            nwritten: s.nwritten,
            names: s.names,
            names_len: s.names_len,
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

    pub fn set_flags(&mut self, authentic_data: bool) {
        let b = &mut self.out[self.start + 3];
        *b = if authentic_data {
            *b | 0x20
        } else {
            *b & !0x20
        };
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

    /// Notes that `wire` starts at message offset `offset`, its first
    /// `literal` bytes written as labels.
    fn remember(&mut self, offset: usize, wire: &[u8], literal: usize) {
        if self.nwritten == self.written.len()
            || self.names_len + wire.len() > self.names.len()
            || offset > MAX_POINTER
        {
            return;
        }
        self.names[self.names_len..self.names_len + wire.len()].copy_from_slice(wire);
        self.written[self.nwritten] = Written {
            offset: offset as u16,
            at: self.names_len as u16,
            len: wire.len() as u8,
            literal: literal.min(wire.len()) as u8,
        };
        self.nwritten += 1;
        self.names_len += wire.len();
    }

    /// Writes `wire` (canonical, uncompressed) compressed against the names
    /// already in the message: the labels before the longest known suffix
    /// literally, then a pointer to that suffix.
    fn write_name(&mut self, wire: &[u8]) {
        let offset = self.len();
        for suffix in crate::name::suffixes(wire) {
            if suffix.len() == 1 {
                break;
            }
            if let Some(ptr) = self.find(suffix) {
                let head = wire.len() - suffix.len();
                self.out.extend_from_slice(&wire[..head]);
                self.out.extend_from_slice(&(0xC000 | ptr).to_be_bytes());
                if head > 0 {
                    self.remember(offset, wire, head);
                }
                return;
            }
        }
        self.out.extend_from_slice(wire);
        self.remember(offset, wire, wire.len());
    }

    /// The message offset of `name` if it, or a name ending in it, is
    /// already in the message where a pointer can reach it.
    fn find(&self, name: &[u8]) -> Option<u16> {
        self.written[..self.nwritten].iter().find_map(|w| {
            let seen = &self.names[w.at as usize..w.at as usize + w.len as usize];
            let skip = suffix_offset(seen, name)?;
            // Past the literal labels the bytes are a pointer, not the name.
            if skip >= w.literal as usize {
                return None;
            }
            let target = w.offset as usize + skip;
            (target <= MAX_POINTER).then_some(target as u16)
        })
    }

    /// Appends one record to the current section. A record whose RDATA
    /// cannot be described by a 16-bit length is left out.
    pub fn record(&mut self, owner: &[u8], rtype: u16, ttl: u32, rdata: Rdata<'_>) {
        let record_start = self.out.len();
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
        let Ok(rdlen) = u16::try_from(self.out.len() - len_at - 2) else {
            self.forget_from(record_start);
            return;
        };
        self.out[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        self.count(self.section);
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
        let Ok(rdlen) = u16::try_from(rdata.len()) else {
            return;
        };
        self.write_name(owner);
        self.out.extend_from_slice(&rtype.to_be_bytes());
        self.out.extend_from_slice(&class.to_be_bytes());
        self.out.extend_from_slice(&ttl.to_be_bytes());
        self.out.extend_from_slice(&rdlen.to_be_bytes());
        self.out.extend_from_slice(rdata);
        self.count(section);
    }

    /// A message this large is truncated by `seal` anyway (every record
    /// takes at least 11 bytes), so a saturated count never goes out.
    fn count(&mut self, section: usize) {
        if let Some(c) = self.counts.get_mut(section) {
            *c = c.saturating_add(1);
        }
    }

    /// Takes back a record that could not be finished, and every name it
    /// made a compression target.
    fn forget_from(&mut self, record_start: usize) {
        self.out.truncate(record_start);
        let rel = record_start - self.start;
        while self.nwritten > 0 && self.written[self.nwritten - 1].offset as usize >= rel {
            self.nwritten -= 1;
            self.names_len = self.written[self.nwritten].at as usize;
        }
    }

    /// Ends the message: writes the counts and the OPT record (when the query
    /// had EDNS), and truncates to `limit` with TC set when it does not fit.
    pub fn finish(self, edns: Option<super::Edns>, our_payload: u16, limit: usize, rcode: Rcode) {
        let out = self.finish_body();
        message::seal(out, edns, our_payload, limit, rcode);
    }

    /// Ends the message without OPT record or truncation: the form the cache
    /// keeps, sealed per client by [`message::seal`].
    pub fn finish_body(self) -> &'b mut Vec<u8> {
        let start = self.start;
        let out = self.out;
        for (i, count) in self.counts.iter().enumerate() {
            let at = start + 6 + 2 * i;
            out[at..at + 2].copy_from_slice(&count.to_be_bytes());
        }
        out
    }
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

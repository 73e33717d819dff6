//! Reading whole messages the transfer code receives (transfer requests,
//! transfer answers, NOTIFY, SOA answers): header, question, and every
//! record with its owner decompressed. Unlike `crate::wire`, which reads only
//! a query's question on the hot path, this follows compression pointers.

use crate::name::Name;
use crate::wire::{HEADER_LEN, NameBuf};

/// A message that does not walk cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed message: {0}")]
pub struct Malformed(pub &'static str);

pub fn u16_at(msg: &[u8], at: usize) -> Result<u16, Malformed> {
    match msg.get(at..at + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(Malformed("truncated")),
    }
}

pub fn u32_at(msg: &[u8], at: usize) -> Result<u32, Malformed> {
    match msg.get(at..at + 4) {
        Some(b) => Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(Malformed("truncated")),
    }
}

/// The fixed 12-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub flags: u16,
    /// QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT.
    pub counts: [u16; 4],
}

impl Header {
    pub fn parse(msg: &[u8]) -> Result<Header, Malformed> {
        if msg.len() < HEADER_LEN {
            return Err(Malformed("shorter than a header"));
        }
        Ok(Header {
            id: u16_at(msg, 0)?,
            flags: u16_at(msg, 2)?,
            counts: [
                u16_at(msg, 4)?,
                u16_at(msg, 6)?,
                u16_at(msg, 8)?,
                u16_at(msg, 10)?,
            ],
        })
    }

    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0F) as u8
    }

    pub fn authoritative(&self) -> bool {
        self.flags & 0x0400 != 0
    }

    pub fn truncated(&self) -> bool {
        self.flags & 0x0200 != 0
    }

    /// The 4-bit header RCODE (no EDNS extension).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0x0F) as u8
    }

    pub fn record_count(&self) -> usize {
        self.counts[1] as usize + self.counts[2] as usize + self.counts[3] as usize
    }
}

/// RFC 1035 §4.1.4 allows pointers to any earlier name; 128 hops is more
/// than any honest message needs and bounds the work of a hostile one.
const MAX_POINTERS: usize = 128;

/// Reads the (possibly compressed) name at `at`: returns it lowercased in
/// canonical wire form and the offset just past it in the message.
pub fn read_name(msg: &[u8], at: usize) -> Result<(NameBuf, usize), Malformed> {
    let mut out = [0u8; crate::name::MAX_WIRE_LEN];
    let mut len = 0usize;
    let mut pos = at;
    let mut end = None;
    let mut hops = 0;
    loop {
        let l = *msg.get(pos).ok_or(Malformed("name runs past the end"))?;
        match l & 0xC0 {
            0x00 => {
                let l = l as usize;
                if len + 1 + l > out.len() {
                    return Err(Malformed("name longer than 255 octets"));
                }
                let label = msg
                    .get(pos + 1..pos + 1 + l)
                    .ok_or(Malformed("label runs past the end"))?;
                out[len] = l as u8;
                for (d, s) in out[len + 1..len + 1 + l].iter_mut().zip(label) {
                    *d = s.to_ascii_lowercase();
                }
                len += 1 + l;
                pos += 1 + l;
                if l == 0 {
                    let next = end.unwrap_or(pos);
                    let name = NameBuf::from_wire(&out[..len]).ok_or(Malformed("name too long"))?;
                    return Ok((name, next));
                }
            }
            0xC0 => {
                let target = (u16_at(msg, pos)? & 0x3FFF) as usize;
                // Only backwards: a pointer to itself or further on could loop.
                if target >= pos {
                    return Err(Malformed("forward compression pointer"));
                }
                hops += 1;
                if hops > MAX_POINTERS {
                    return Err(Malformed("too many compression pointers"));
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(Malformed("unknown label type")),
        }
    }
}

/// Skips a name without reading it; returns the offset past it.
pub fn skip_name(msg: &[u8], mut at: usize) -> Result<usize, Malformed> {
    loop {
        let l = *msg.get(at).ok_or(Malformed("name runs past the end"))?;
        match l & 0xC0 {
            0x00 if l == 0 => return Ok(at + 1),
            0x00 => at += 1 + l as usize,
            0xC0 if at + 2 <= msg.len() => return Ok(at + 2),
            _ => return Err(Malformed("bad name")),
        }
    }
}

/// The question of a message.
#[derive(Debug, Clone)]
pub struct Question {
    pub name: NameBuf,
    pub qtype: u16,
    pub qclass: u16,
}

/// One resource record, borrowed from its message.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// 0 answer, 1 authority, 2 additional.
    pub section: usize,
    pub owner: NameBuf,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    /// Offset of the RDATA in the message (names in it may point back).
    pub rdata_at: usize,
    pub rdata: &'a [u8],
    /// Offsets of the whole record in the message.
    pub start: usize,
    pub end: usize,
}

/// A message walked: its header, its first question and its records.
pub struct Parsed<'a> {
    pub msg: &'a [u8],
    pub header: Header,
    pub question: Option<Question>,
    /// Offset of the first record (past the question section).
    pub records_at: usize,
}

impl<'a> Parsed<'a> {
    /// Reads the header and question section; records are read lazily.
    pub fn new(msg: &'a [u8]) -> Result<Parsed<'a>, Malformed> {
        let header = Header::parse(msg)?;
        let mut at = HEADER_LEN;
        let mut question = None;
        for _ in 0..header.counts[0] {
            let (name, next) = read_name(msg, at)?;
            let q = Question {
                name,
                qtype: u16_at(msg, next)?,
                qclass: u16_at(msg, next + 2)?,
            };
            question.get_or_insert(q);
            at = next + 4;
        }
        Ok(Parsed {
            msg,
            header,
            question,
            records_at: at,
        })
    }

    /// Every record, answer section first. Stops at the first error.
    pub fn records(&self) -> Records<'a> {
        Records {
            msg: self.msg,
            at: self.records_at,
            index: 0,
            bounds: [
                self.header.counts[1] as usize,
                self.header.counts[1] as usize + self.header.counts[2] as usize,
                self.header.record_count(),
            ],
            failed: false,
        }
    }
}

pub struct Records<'a> {
    msg: &'a [u8],
    at: usize,
    index: usize,
    /// Cumulative record counts at the end of each section.
    bounds: [usize; 3],
    failed: bool,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.index >= self.bounds[2] {
            return None;
        }
        let r = self.read();
        self.failed = r.is_err();
        Some(r)
    }
}

impl<'a> Records<'a> {
    fn read(&mut self) -> Result<Record<'a>, Malformed> {
        let start = self.at;
        let (owner, at) = read_name(self.msg, start)?;
        let rtype = u16_at(self.msg, at)?;
        let class = u16_at(self.msg, at + 2)?;
        let ttl = u32_at(self.msg, at + 4)?;
        let rdlen = u16_at(self.msg, at + 8)? as usize;
        let rdata_at = at + 10;
        let rdata = self
            .msg
            .get(rdata_at..rdata_at + rdlen)
            .ok_or(Malformed("RDATA runs past the end"))?;
        let section = self
            .bounds
            .iter()
            .position(|&b| self.index < b)
            .unwrap_or(2);
        self.index += 1;
        self.at = rdata_at + rdlen;
        Ok(Record {
            section,
            owner,
            rtype,
            class,
            ttl,
            rdata_at,
            rdata,
            start,
            end: self.at,
        })
    }

    /// Offset just past the last record read.
    pub fn offset(&self) -> usize {
        self.at
    }
}

/// The RDATA of an SOA record (RFC 1035 §3.3.13), names decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soa {
    pub mname: Name,
    pub rname: Name,
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

impl Soa {
    /// Reads an SOA's RDATA at `rdata_at`, with `rdlen` bytes.
    pub fn read(msg: &[u8], rdata_at: usize, rdlen: usize) -> Result<Soa, Malformed> {
        let (mname, at) = read_name(msg, rdata_at)?;
        let (rname, at) = read_name(msg, at)?;
        let (mname, rname) = (
            Name::from_canonical_wire(mname.wire()),
            Name::from_canonical_wire(rname.wire()),
        );
        if at + 20 != rdata_at + rdlen {
            return Err(Malformed("SOA RDATA has the wrong length"));
        }
        Ok(Soa {
            mname,
            rname,
            serial: u32_at(msg, at)?,
            refresh: u32_at(msg, at + 4)?,
            retry: u32_at(msg, at + 8)?,
            expire: u32_at(msg, at + 12)?,
            minimum: u32_at(msg, at + 16)?,
        })
    }

    pub fn of(msg: &[u8], r: &Record<'_>) -> Result<Soa, Malformed> {
        Soa::read(msg, r.rdata_at, r.rdata.len())
    }

    /// The RDATA in canonical (uncompressed, lowercase) wire form.
    pub fn to_rdata(&self) -> Vec<u8> {
        let mut r = Vec::with_capacity(self.mname.wire().len() + self.rname.wire().len() + 20);
        r.extend_from_slice(self.mname.wire());
        r.extend_from_slice(self.rname.wire());
        for v in [
            self.serial,
            self.refresh,
            self.retry,
            self.expire,
            self.minimum,
        ] {
            r.extend_from_slice(&v.to_be_bytes());
        }
        r
    }

    /// Reads canonical SOA RDATA (as [`Soa::to_rdata`] writes it).
    pub fn from_rdata(rdata: &[u8]) -> Result<Soa, Malformed> {
        Soa::read(rdata, 0, rdata.len())
    }
}

/// The serial of SOA RDATA: the first of the five u32 fields that end it.
pub use crate::soa::serial_of as soa_serial;

/// The single name in the RDATA of a CNAME or NS record, decompressed.
pub fn rdata_name(msg: &[u8], r: &Record<'_>) -> Result<NameBuf, Malformed> {
    let (name, end) = read_name(msg, r.rdata_at)?;
    if end != r.rdata_at + r.rdata.len() {
        return Err(Malformed("name RDATA has trailing bytes"));
    }
    Ok(name)
}

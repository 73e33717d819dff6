//! Writing the messages the transfer code sends (transfer answers of many
//! messages, SOA/IXFR/NOTIFY queries, NOTIFY answers) with a size bound per
//! message. Names compress against the question (the zone apex, RFC 1035
//! §4.1.4) and against the previous owner, which is what a zone's records
//! share.

use crate::name::suffixes;
use crate::wire::{CLASS_IN, HEADER_LEN};

/// Header flag bits.
pub const QR: u16 = 0x8000;
pub const AA: u16 = 0x0400;

/// RDATA to write.
#[derive(Debug, Clone, Copy)]
pub enum Data<'a> {
    /// Written as is (addresses, SOA with uncompressed names).
    Bytes(&'a [u8]),
    /// A single name (CNAME, NS): RFC 3597 §4 lets these compress.
    Name(&'a [u8]),
}

impl Data<'_> {
    fn len(&self) -> usize {
        match self {
            Data::Bytes(b) | Data::Name(b) => b.len(),
        }
    }
}

/// One message under construction.
pub struct MessageWriter {
    buf: Vec<u8>,
    limit: usize,
    counts: [u16; 3],
    section: usize,
    /// The question name (canonical wire) at offset 12, if any.
    qname: Option<Box<[u8]>>,
    /// The last owner written uncompressed or partly compressed: its offset
    /// and name.
    last: Option<(u16, Vec<u8>)>,
}

impl MessageWriter {
    /// Starts a message with header `id`/`flags` (counts filled in by
    /// [`finish`](Self::finish)) and an optional question. `limit` bounds the
    /// message's size; the first record is always written.
    pub fn new(id: u16, flags: u16, question: Option<(&[u8], u16)>, limit: usize) -> Self {
        let mut buf = Vec::with_capacity(limit.min(65_535));
        buf.extend_from_slice(&id.to_be_bytes());
        buf.extend_from_slice(&flags.to_be_bytes());
        buf.extend_from_slice(&[0, u8::from(question.is_some()), 0, 0, 0, 0, 0, 0]);
        let qname = question.map(|(name, qtype)| {
            buf.extend_from_slice(name);
            buf.extend_from_slice(&qtype.to_be_bytes());
            buf.extend_from_slice(&CLASS_IN.to_be_bytes());
            Box::from(name)
        });
        MessageWriter {
            buf,
            limit,
            counts: [0; 3],
            section: 0,
            qname,
            last: None,
        }
    }

    /// Replaces the header's flags word (QR, opcode, AA, ..., rcode).
    pub fn set_flags(&mut self, flags: u16) {
        self.buf[2..4].copy_from_slice(&flags.to_be_bytes());
    }

    /// Records from now on go to `section` (0 answer, 1 authority, 2
    /// additional).
    pub fn section(&mut self, section: usize) {
        self.section = section.min(2);
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|&c| c == 0)
    }

    /// Appends one record of class IN. Returns false, writing nothing, when
    /// it might not fit in the limit and the message already holds a record.
    pub fn push(&mut self, owner: &[u8], rtype: u16, ttl: u32, data: Data<'_>) -> bool {
        // Uncompressed size: an upper bound of what is written.
        let worst = owner.len() + 10 + data.len();
        if !self.is_empty() && self.buf.len() + worst > self.limit {
            return false;
        }
        if self.counts[self.section] == u16::MAX {
            return false;
        }
        let owner_at = self.buf.len();
        self.write_name(owner);
        self.remember(owner_at, owner);
        self.buf.extend_from_slice(&rtype.to_be_bytes());
        self.buf.extend_from_slice(&CLASS_IN.to_be_bytes());
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        match data {
            Data::Bytes(b) => self.buf.extend_from_slice(b),
            Data::Name(n) => self.write_name(n),
        }
        let rdlen = (self.buf.len() - len_at - 2) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        self.counts[self.section] += 1;
        true
    }

    fn remember(&mut self, at: usize, name: &[u8]) {
        if at <= 0x3FFF && self.last.as_ref().is_none_or(|(_, n)| n != name) {
            self.last = Some((at as u16, name.to_vec()));
        }
    }

    /// The labels of `name` up to the longest suffix already in the message
    /// (the last owner or the question name), then a pointer to it.
    fn write_name(&mut self, name: &[u8]) {
        for suffix in suffixes(name) {
            if suffix.len() == 1 {
                break;
            }
            let target = match (&self.last, &self.qname) {
                (Some((at, last)), _) if **last == *suffix => Some(*at),
                (_, Some(q)) if **q == *suffix => Some(HEADER_LEN as u16),
                _ => None,
            };
            if let Some(at) = target {
                let head = name.len() - suffix.len();
                self.buf.extend_from_slice(&name[..head]);
                self.buf.extend_from_slice(&(0xC000 | at).to_be_bytes());
                return;
            }
        }
        self.buf.extend_from_slice(name);
    }

    /// Writes the counts and returns the message.
    pub fn finish(mut self) -> Vec<u8> {
        for (i, count) in self.counts.iter().enumerate() {
            let at = 6 + 2 * i;
            self.buf[at..at + 2].copy_from_slice(&count.to_be_bytes());
        }
        self.buf
    }
}

/// Adds one to the ARCOUNT of a finished message (after appending a record
/// to its additional section by hand).
pub fn bump_arcount(msg: &mut [u8]) {
    if msg.len() >= HEADER_LEN {
        let n = u16::from_be_bytes([msg[10], msg[11]]).saturating_add(1);
        msg[10..12].copy_from_slice(&n.to_be_bytes());
    }
}

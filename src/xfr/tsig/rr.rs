//! The TSIG record (RFC 8945 §4.2): finding it at the end of a message,
//! reading its RDATA, writing one, and the "TSIG variables" and "timers"
//! that go into a MAC (§4.3.3, §5.3.1).

use crate::xfr::msg::build::bump_arcount;
use crate::xfr::msg::kind::{CLASS_ANY, TSIG};
use crate::xfr::msg::read::{Malformed, Parsed, read_name, u16_at};

/// A TSIG record read from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsigRecord {
    /// Where the record starts: the signed message is everything before.
    pub start: usize,
    /// Canonical (lowercase) wire names.
    pub key_name: Vec<u8>,
    pub algorithm: Vec<u8>,
    /// Seconds since the epoch, 48 bits on the wire.
    pub time_signed: u64,
    pub fudge: u16,
    pub mac: Vec<u8>,
    pub original_id: u16,
    pub error: u16,
    pub other: Vec<u8>,
}

/// Finds the message's TSIG record. RFC 8945 §5.1: it must be the last
/// record of the additional section; a TSIG anywhere else is FORMERR.
pub fn find(msg: &[u8]) -> Result<Option<TsigRecord>, Malformed> {
    let parsed = Parsed::new(msg)?;
    let total = parsed.header.record_count();
    let mut found = None;
    let mut records = parsed.records();
    for (i, r) in records.by_ref().enumerate() {
        let r = r?;
        if r.rtype != TSIG {
            continue;
        }
        if i + 1 != total || r.section != 2 {
            return Err(Malformed("TSIG record is not the last of the message"));
        }
        if r.class != CLASS_ANY || r.ttl != 0 {
            return Err(Malformed(
                "TSIG record with class other than ANY or TTL not 0",
            ));
        }
        found = Some(read_rdata(
            msg,
            r.start,
            r.rdata_at,
            r.rdata.len(),
            r.owner.wire(),
        )?);
    }
    if records.offset() != msg.len() {
        return Err(Malformed("bytes after the last record"));
    }
    Ok(found)
}

fn read_rdata(
    msg: &[u8],
    start: usize,
    at: usize,
    len: usize,
    owner: &[u8],
) -> Result<TsigRecord, Malformed> {
    let end = at + len;
    let (algorithm, at) = read_name(msg, at)?;
    let field = |from: usize, n: usize| {
        msg.get(from..from + n)
            .filter(|_| from + n <= end)
            .ok_or(Malformed("TSIG RDATA too short"))
    };
    let t = field(at, 6)?;
    let time_signed = t.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let fudge = u16_at(field(at + 6, 2)?, 0)?;
    let mac_len = u16_at(field(at + 8, 2)?, 0)? as usize;
    let mac = field(at + 10, mac_len)?.to_vec();
    let at = at + 10 + mac_len;
    let original_id = u16_at(field(at, 2)?, 0)?;
    let error = u16_at(field(at + 2, 2)?, 0)?;
    let other_len = u16_at(field(at + 4, 2)?, 0)? as usize;
    let other = field(at + 6, other_len)?.to_vec();
    if at + 6 + other_len != end {
        return Err(Malformed("TSIG RDATA has trailing bytes"));
    }
    Ok(TsigRecord {
        start,
        key_name: owner.to_vec(),
        algorithm: algorithm.wire().to_vec(),
        time_signed,
        fudge,
        mac,
        original_id,
        error,
        other,
    })
}

fn u48(v: u64) -> [u8; 6] {
    let b = v.to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

/// The fields of a TSIG record other than where it sits.
pub struct Fields<'a> {
    pub key_name: &'a [u8],
    pub algorithm: &'a [u8],
    pub time_signed: u64,
    pub fudge: u16,
    pub error: u16,
    pub other: &'a [u8],
}

impl Fields<'_> {
    /// RFC 8945 §4.3.3: the TSIG variables a first (or only) message's MAC
    /// covers, names in canonical form.
    pub fn variables(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.key_name.len() + self.algorithm.len() + 22);
        v.extend_from_slice(self.key_name);
        v.extend_from_slice(&CLASS_ANY.to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes());
        v.extend_from_slice(self.algorithm);
        v.extend_from_slice(&u48(self.time_signed));
        v.extend_from_slice(&self.fudge.to_be_bytes());
        v.extend_from_slice(&self.error.to_be_bytes());
        v.extend_from_slice(&(self.other.len() as u16).to_be_bytes());
        v.extend_from_slice(self.other);
        v
    }

    /// RFC 8945 §5.3.1: the timers the MAC of a later message of a
    /// sequence covers instead of the variables.
    pub fn timers(&self) -> [u8; 8] {
        let mut t = [0u8; 8];
        t[..6].copy_from_slice(&u48(self.time_signed));
        t[6..].copy_from_slice(&self.fudge.to_be_bytes());
        t
    }

    /// Appends the TSIG record with `mac` to a finished message and counts
    /// it in ARCOUNT. Names are written uncompressed (RFC 8945 §4.2).
    pub fn append(&self, msg: &mut Vec<u8>, mac: &[u8]) {
        let original_id = u16_at(msg, 0).unwrap_or(0);
        msg.extend_from_slice(self.key_name);
        msg.extend_from_slice(&TSIG.to_be_bytes());
        msg.extend_from_slice(&CLASS_ANY.to_be_bytes());
        msg.extend_from_slice(&0u32.to_be_bytes());
        let rdlen = self.algorithm.len() + 16 + mac.len() + self.other.len();
        msg.extend_from_slice(&(rdlen as u16).to_be_bytes());
        msg.extend_from_slice(self.algorithm);
        msg.extend_from_slice(&u48(self.time_signed));
        msg.extend_from_slice(&self.fudge.to_be_bytes());
        msg.extend_from_slice(&(mac.len() as u16).to_be_bytes());
        msg.extend_from_slice(mac);
        msg.extend_from_slice(&original_id.to_be_bytes());
        msg.extend_from_slice(&self.error.to_be_bytes());
        msg.extend_from_slice(&(self.other.len() as u16).to_be_bytes());
        msg.extend_from_slice(self.other);
        bump_arcount(msg);
    }

    /// Space the record takes, for leaving room in a size-bounded message.
    pub fn size(&self, mac_len: usize) -> usize {
        self.key_name.len() + 10 + self.algorithm.len() + 16 + mac_len + self.other.len()
    }
}

impl TsigRecord {
    pub fn fields(&self) -> Fields<'_> {
        Fields {
            key_name: &self.key_name,
            algorithm: &self.algorithm,
            time_signed: self.time_signed,
            fudge: self.fudge,
            error: self.error,
            other: &self.other,
        }
    }

    /// The message as it was before signing (RFC 8945 §4.3.1): the header
    /// with the original ID and ARCOUNT one less, then everything up to the
    /// TSIG record. Returned as the two pieces a MAC is fed.
    pub fn unsigned_parts<'m>(&self, msg: &'m [u8]) -> ([u8; 12], &'m [u8]) {
        let mut header = [0u8; 12];
        header.copy_from_slice(&msg[..12]);
        header[..2].copy_from_slice(&self.original_id.to_be_bytes());
        let ar = u16::from_be_bytes([header[10], header[11]]).saturating_sub(1);
        header[10..12].copy_from_slice(&ar.to_be_bytes());
        (header, &msg[12..self.start])
    }
}

//! The SOA and NS records every zone with records answers with, in one
//! place: their fields, the RDATA the query path writes, the master-file
//! line, and the serial arithmetic ([`serial`]). Our own zones' are
//! synthesised, RFC 6303 §3 style: `localhost.` as MNAME and NS target,
//! `nobody.invalid.` as RNAME (these zones exist only in pldns and its
//! secondaries). A secondary zone answers with its primary's SOA, taken as
//! sent ([`Soa::pulled`]).

pub mod serial;

use std::fmt;

/// MNAME, and the target of the apex NS record.
const MNAME: &[u8] = b"\x09localhost\x00";
const RNAME: &[u8] = b"\x06nobody\x07invalid\x00";
/// No secondary ever transfers these zones; the timers only need to be sane.
const REFRESH: u32 = 3600;
const RETRY: u32 = 600;
const EXPIRE: u32 = 86_400;

/// NS RDATA of every zone apex.
pub const NS_RDATA: &[u8] = MNAME;

/// The SOA of one zone with records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soa {
    serial: u32,
    /// The record's TTL (for our own zones, the zone TTL).
    ttl: u32,
    /// The MINIMUM field (for our own zones, the zone TTL too).
    minimum: u32,
    /// The RDATA, encoded once.
    rdata: Box<[u8]>,
}

/// The serial of SOA RDATA: the first of the five 32-bit fields that end
/// it (RFC 1035 §3.3.13).
pub fn serial_of(rdata: &[u8]) -> Option<u32> {
    field(rdata, 20)
}

/// The 32-bit field `from_end` octets before the end of SOA RDATA.
fn field(rdata: &[u8], from_end: usize) -> Option<u32> {
    let at = rdata.len().checked_sub(from_end)?;
    let b = rdata.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl Soa {
    pub fn new(serial: u32, ttl: u32) -> Soa {
        let mut r = Vec::with_capacity(MNAME.len() + RNAME.len() + 20);
        r.extend_from_slice(MNAME);
        r.extend_from_slice(RNAME);
        for v in [serial, REFRESH, RETRY, EXPIRE, ttl] {
            r.extend_from_slice(&v.to_be_bytes());
        }
        Soa {
            serial,
            ttl,
            minimum: ttl,
            rdata: r.into_boxed_slice(),
        }
    }

    /// A primary's SOA as pulled (canonical RDATA), for a secondary zone.
    /// `None` when the RDATA is too short to hold the five numbers.
    pub fn pulled(ttl: u32, rdata: &[u8]) -> Option<Soa> {
        Some(Soa {
            serial: serial_of(rdata)?,
            ttl,
            minimum: field(rdata, 4)?,
            rdata: rdata.into(),
        })
    }

    pub fn serial(&self) -> u32 {
        self.serial
    }

    pub fn rdata(&self) -> &[u8] {
        &self.rdata
    }

    /// The record's TTL.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }

    /// RFC 2308 §3: the SOA of a negative answer goes out with the smaller
    /// of its TTL and its MINIMUM field.
    pub fn negative_ttl(&self) -> u32 {
        self.ttl.min(self.minimum)
    }
}

/// The end of the uncompressed name at `at` in `rdata`.
fn name_end(rdata: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = usize::from(*rdata.get(at)?);
        at = at.checked_add(1 + len)?;
        if len == 0 {
            return Some(at);
        }
    }
}

/// The record as a master-file line for the zone apex (`@`).
impl fmt::Display for Soa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.rdata;
        let mname = name_end(r, 0).ok_or(fmt::Error)?;
        let rname = name_end(r, mname).ok_or(fmt::Error)?;
        f.write_str("@ IN SOA ")?;
        crate::name::write_text(r.get(..mname).ok_or(fmt::Error)?, f)?;
        f.write_str(". ")?;
        crate::name::write_text(r.get(mname..rname).ok_or(fmt::Error)?, f)?;
        f.write_str(".")?;
        for from_end in [20, 16, 12, 8, 4] {
            write!(f, " {}", field(r, from_end).ok_or(fmt::Error)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdata_and_master_file_line_carry_the_same_fields() {
        let soa = Soa::new(1_700_000_000, 300);
        assert_eq!(
            soa.to_string(),
            "@ IN SOA localhost. nobody.invalid. 1700000000 3600 600 86400 300"
        );
        let r = soa.rdata();
        let fields: Vec<u32> = r[MNAME.len() + RNAME.len()..]
            .chunks(4)
            .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(fields, [1_700_000_000, 3600, 600, 86_400, 300]);
        assert_eq!(soa.ttl(), 300);
        assert_eq!(serial_of(r), Some(1_700_000_000));
    }

    #[test]
    fn a_pulled_soa_keeps_the_primary_fields() {
        let mut rdata = b"\x02ns\x02bz\x04test\x00\x05admin\x02bz\x04test\x00".to_vec();
        for v in [42u32, 3600, 600, 86_400, 60] {
            rdata.extend_from_slice(&v.to_be_bytes());
        }
        let soa = Soa::pulled(300, &rdata).unwrap();
        assert_eq!(soa.serial(), 42);
        assert_eq!((soa.ttl(), soa.negative_ttl()), (300, 60));
        assert_eq!(soa.rdata(), &rdata[..]);
        assert_eq!(
            soa.to_string(),
            "@ IN SOA ns.bz.test. admin.bz.test. 42 3600 600 86400 60"
        );
        assert_eq!(Soa::pulled(300, &rdata[..10]), None);
    }
}

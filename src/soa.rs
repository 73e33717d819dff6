//! The SOA and NS records every zone with records answers with, in one
//! place: their fields, the RDATA the query path writes, the master-file
//! line, and the serial arithmetic ([`serial`]). RFC 6303 §3 style: `localhost.` as MNAME and
//! NS target, `nobody.invalid.` as RNAME; nothing here is meant to be
//! contacted, these zones exist only in this daemon.

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
    /// The zone TTL: the record's TTL and its MINIMUM field alike.
    ttl: u32,
    /// The RDATA, encoded once.
    rdata: Box<[u8]>,
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
            rdata: r.into_boxed_slice(),
        }
    }

    pub fn serial(&self) -> u32 {
        self.serial
    }

    pub fn rdata(&self) -> &[u8] {
        &self.rdata
    }

    /// RFC 2308 §5: a negative answer's TTL is the smaller of the SOA's TTL
    /// and its MINIMUM field; both are the zone TTL.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }
}

/// The record as a master-file line for the zone apex (`@`).
impl fmt::Display for Soa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("@ IN SOA ")?;
        crate::name::write_text(MNAME, f)?;
        f.write_str(". ")?;
        crate::name::write_text(RNAME, f)?;
        write!(
            f,
            ". {} {REFRESH} {RETRY} {EXPIRE} {}",
            self.serial, self.ttl
        )
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
    }
}

//! A secondary zone's copy as its primary sent it: what the source of a
//! secondary zone holds beside the entries the table is built from. The
//! snapshot answers the zone's apex with the primary's SOA and NS from it,
//! and transfers out pass it on whole (every type, so a pldns secondary of
//! a pldns secondary sees what the primary holds). Pulling, applying
//! change sets and keeping copies as zone files is zone transfer's
//! (`xfr::secondary::copy`); only the data lives here, where the snapshot
//! can hold it.

use std::collections::BTreeSet;

use crate::name::Name;

/// One record in canonical wire form (names uncompressed and lowercase in
/// the RDATA), so equal records compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rr {
    pub owner: Name,
    pub rtype: u16,
    pub ttl: u32,
    pub rdata: Box<[u8]>,
}

/// A whole zone as pulled: its SOA and every other record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneCopy {
    pub zone: Name,
    pub soa: Rr,
    /// Every record but the SOA, the apex NS included.
    pub records: BTreeSet<Rr>,
}

impl ZoneCopy {
    pub fn serial(&self) -> u32 {
        crate::soa::serial_of(&self.soa.rdata).unwrap_or(0)
    }

    /// The apex NS records.
    pub fn apex_ns(&self) -> impl Iterator<Item = &Rr> {
        self.records
            .iter()
            .filter(|r| r.rtype == crate::wire::rtype::NS && r.owner == self.zone)
    }
}

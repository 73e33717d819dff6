//! The records of one zone as a transfer carries them: the apex SOA and NS,
//! then every A, AAAA and CNAME of the table (a secondary zone: its copy as
//! pulled, every type), borrowed ([`RrRef`]) for
//! streaming a whole zone, or owned ([`Rr`]) for journals and pulled copies.

use crate::name::Name;
use crate::records::pulled::ZoneCopy;
use crate::snapshot::{LocalZone, Snapshot};
use crate::table::NodeRef;
use crate::wire::rtype;
use crate::xfr::msg::Data;

/// RDATA of a borrowed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    A([u8; 4]),
    Aaaa([u8; 16]),
    /// The one name of a CNAME or NS (compressible on the wire).
    Name(&'a [u8]),
    /// Anything else, in canonical wire form (SOA).
    Raw(&'a [u8]),
}

impl Value<'_> {
    pub fn data(&self) -> Data<'_> {
        match self {
            Value::A(b) => Data::Bytes(b),
            Value::Aaaa(b) => Data::Bytes(b),
            Value::Name(n) => Data::Name(n),
            Value::Raw(r) => Data::Bytes(r),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Value::A(b) => b,
            Value::Aaaa(b) => b,
            Value::Name(b) | Value::Raw(b) => b,
        }
    }
}

/// A record borrowed from a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RrRef<'a> {
    pub owner: &'a [u8],
    pub rtype: u16,
    pub ttl: u32,
    pub value: Value<'a>,
}

/// A record owned: journals and pulled zones. RDATA in canonical wire form
/// (names uncompressed and lowercase), so equal records compare equal.
/// Defined beside the secondary zone's copy, which the snapshot holds.
pub use crate::records::pulled::Rr;

impl Rr {
    /// The record borrowed, as transfers stream it.
    pub fn borrow(&self) -> RrRef<'_> {
        RrRef {
            owner: self.owner.wire(),
            rtype: self.rtype,
            ttl: self.ttl,
            value: match self.data() {
                Data::Name(n) => Value::Name(n),
                Data::Bytes(b) => Value::Raw(b),
            },
        }
    }

    pub fn from_ref(r: &RrRef<'_>) -> Rr {
        Rr {
            owner: Name::from_canonical_wire(r.owner),
            rtype: r.rtype,
            ttl: r.ttl,
            rdata: r.value.bytes().into(),
        }
    }

    /// The RDATA as the message writer takes it (CNAME and NS compress).
    pub fn data(&self) -> Data<'_> {
        match self.rtype {
            rtype::CNAME | rtype::NS => Data::Name(&self.rdata),
            _ => Data::Bytes(&self.rdata),
        }
    }

    /// Rough memory taken, for bounding journals.
    pub fn size(&self) -> usize {
        std::mem::size_of::<Rr>() + self.owner.wire().len() + self.rdata.len()
    }
}

/// Every record of one table name: its CNAME, or its A and AAAA records.
pub fn node_records<'a>(node: NodeRef<'a>) -> impl Iterator<Item = RrRef<'a>> + 'a {
    let owner = node.name();
    let cname = node.cname().map(|(target, ttl)| RrRef {
        owner,
        rtype: rtype::CNAME,
        ttl,
        value: Value::Name(target),
    });
    let a = node.a().iter().map(move |ip| RrRef {
        owner,
        rtype: rtype::A,
        ttl: node.a_ttl(),
        value: Value::A(ip.octets()),
    });
    let aaaa = node.aaaa().iter().map(move |ip| RrRef {
        owner,
        rtype: rtype::AAAA,
        ttl: node.aaaa_ttl(),
        value: Value::Aaaa(ip.octets()),
    });
    cname.into_iter().chain(a).chain(aaaa)
}

/// One zone with records of a snapshot, as a transfer sees it.
#[derive(Clone, Copy)]
pub struct ZoneView<'s> {
    pub snap: &'s Snapshot,
    pub index: usize,
    pub local: &'s LocalZone,
}

impl<'s> ZoneView<'s> {
    /// The zone named `apex` (canonical wire), if it is a zone with records
    /// or a secondary zone with data.
    pub fn find(snap: &'s Snapshot, apex: &[u8]) -> Option<ZoneView<'s>> {
        let index = snap.zone_of(apex)?;
        let zone = &snap.zones[index];
        if zone.name.wire() != apex {
            return None;
        }
        let local = zone.local.as_ref().filter(|l| l.available())?;
        Some(ZoneView { snap, index, local })
    }

    /// A secondary zone's copy, which transfers pass on as pulled.
    pub fn pulled(&self) -> Option<&'s ZoneCopy> {
        self.local.pulled.as_deref()
    }

    pub fn apex(&self) -> &'s [u8] {
        self.snap.zones[self.index].name.wire()
    }

    pub fn name(&self) -> &'s Name {
        &self.snap.zones[self.index].name
    }

    pub fn serial(&self) -> u32 {
        self.local.soa.serial()
    }

    pub fn soa(&self) -> RrRef<'s> {
        RrRef {
            owner: self.apex(),
            rtype: rtype::SOA,
            ttl: self.local.soa.ttl(),
            value: Value::Raw(self.local.soa.rdata()),
        }
    }

    /// The apex records other than the SOA: the NS set.
    pub fn apex_records(&self) -> impl Iterator<Item = RrRef<'s>> + 's {
        let apex = self.apex();
        self.local.ns.iter().map(move |(ttl, target)| RrRef {
            owner: apex,
            rtype: rtype::NS,
            ttl: *ttl,
            value: Value::Name(target),
        })
    }

    /// Every table record of the zone (apex records excluded), in table order.
    pub fn table_records(&self) -> impl Iterator<Item = RrRef<'s>> + Send + 's {
        let index = self.index;
        self.snap
            .table()
            .iter()
            .filter(move |n| n.zone() == index)
            .flat_map(node_records)
    }

    /// The zone without its SOA: the apex records then the table's, or a
    /// secondary zone's copy whole (every type its primary sent).
    pub fn records(&self) -> Box<dyn Iterator<Item = RrRef<'s>> + Send + 's> {
        match self.pulled() {
            Some(copy) => Box::new(copy.records.iter().map(Rr::borrow)),
            None => Box::new(self.apex_records().chain(self.table_records())),
        }
    }
}

//! A transfer request as the primary reads it: AXFR (RFC 5936 §2.1) or IXFR
//! with the client's SOA in the authority section (RFC 1995 §3).

use crate::wire::{CLASS_IN, NameBuf, rtype};
use crate::xfr::msg::kind::{AXFR, IXFR, OPCODE_QUERY};
use crate::xfr::msg::read::{Malformed, Parsed, Soa};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Axfr,
    /// IXFR from the client's serial.
    Ixfr(u32),
}

#[derive(Debug, Clone)]
pub struct Request {
    pub id: u16,
    pub rd: bool,
    pub zone: NameBuf,
    pub kind: Kind,
}

impl Request {
    pub fn qtype(&self) -> u16 {
        match self.kind {
            Kind::Axfr => AXFR,
            Kind::Ixfr(_) => IXFR,
        }
    }
}

/// True when `qtype` asks for a transfer: what the front ends route here.
pub fn is_transfer(qtype: u16) -> bool {
    qtype == AXFR || qtype == IXFR
}

/// Reads a transfer request.
pub fn parse(packet: &[u8]) -> Result<Request, Malformed> {
    let p = Parsed::new(packet)?;
    if p.header.is_response() || p.header.opcode() != OPCODE_QUERY {
        return Err(Malformed("not a query"));
    }
    if p.header.counts[0] != 1 {
        return Err(Malformed("a transfer request has one question"));
    }
    let q = p.question.as_ref().ok_or(Malformed("no question"))?;
    if q.qclass != CLASS_IN {
        return Err(Malformed("transfers are of class IN"));
    }
    let kind = match q.qtype {
        AXFR => Kind::Axfr,
        IXFR => {
            let mut serial = None;
            for r in p.records() {
                let r = r?;
                if r.section == 1 && r.rtype == rtype::SOA && r.owner.wire() == q.name.wire() {
                    serial = Some(Soa::of(packet, &r)?.serial);
                }
            }
            Kind::Ixfr(serial.ok_or(Malformed("IXFR without the client's SOA"))?)
        }
        _ => return Err(Malformed("not AXFR or IXFR")),
    };
    Ok(Request {
        id: p.header.id,
        rd: p.header.flags & 0x0100 != 0,
        zone: q.name.clone(),
        kind,
    })
}

//! A secondary zone's copy: the primary's SOA and every other record it
//! sent, replaced whole (AXFR) or changed set by set (IXFR, all or
//! nothing), written to the state directory as a zone file, and projected
//! onto what pldns answers.
//!
//! Every record is kept, whatever its type, so a pldns secondary passes the
//! zone on to its own secondaries as it got it. pldns answers A, AAAA and
//! CNAME queries (what Private Link zones hold) and the apex SOA and NS;
//! other types (TXT, MX, SRV...), names under a delegation and wildcards
//! are kept but not answered, and each pull says how many there are.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::name::Name;
use crate::records::{Contents, Entry, EntryData};
use crate::wire::rtype;
use crate::xfr::journal::Delta;
use crate::xfr::msg::read::{Soa, soa_serial};
use crate::xfr::rdata::type_name;
use crate::xfr::zone::Rr;
use crate::xfr::zonefile;

/// The copy itself is defined where the snapshot can hold it.
pub use crate::records::pulled::ZoneCopy;

/// What of a copy pldns answers, and what it keeps without answering.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    pub entries: Vec<Entry>,
    /// The apex NS records (the zone's own, answered at the apex).
    pub apex_ns: Vec<Rr>,
    /// Records kept but not answered, by type name.
    pub unanswered: BTreeMap<String, usize>,
    /// Records at or under a delegation (NS below the apex), not answered.
    pub delegated: usize,
}

impl Projection {
    /// A line for the log when the copy holds records pldns does not answer.
    pub fn summary(&self) -> Option<String> {
        if self.unanswered.is_empty() && self.delegated == 0 {
            return None;
        }
        let mut parts: Vec<String> = self
            .unanswered
            .iter()
            .map(|(t, n)| format!("{n} {t}"))
            .collect();
        if self.delegated > 0 {
            parts.push(format!("{} under delegations", self.delegated));
        }
        Some(format!(
            "kept but not answered (pldns answers A, AAAA and CNAME): {}",
            parts.join(", ")
        ))
    }
}

impl ZoneCopy {
    /// A copy from a whole-zone transfer.
    pub fn full(zone: Name, soa: Rr, records: Vec<Rr>) -> ZoneCopy {
        let records = records
            .into_iter()
            .filter(|r| !(r.rtype == rtype::SOA && r.owner == zone))
            .collect();
        ZoneCopy { zone, soa, records }
    }

    /// The SOA's fields (refresh, retry, expire drive the secondary).
    pub fn soa_fields(&self) -> Option<Soa> {
        Soa::from_rdata(&self.soa.rdata).ok()
    }

    /// The copy after `deltas` (RFC 1995 §4), ending at `soa`. All or
    /// nothing: a change set that does not start at our serial, or removes
    /// a record we do not have, fails the whole (the caller then asks for
    /// the whole zone, as BIND does).
    pub fn apply(&self, soa: &Rr, deltas: &[Delta]) -> Result<ZoneCopy, String> {
        let mut next = self.clone();
        for d in deltas {
            if d.from() != next.serial() {
                return Err(format!(
                    "change set from serial {} does not start at ours ({})",
                    d.from(),
                    next.serial()
                ));
            }
            for r in &d.removed {
                if !next.records.remove(r) {
                    return Err(format!(
                        "change set {} -> {} removes {} {} we do not have",
                        d.from(),
                        d.to(),
                        r.owner,
                        type_name(r.rtype)
                    ));
                }
            }
            next.records.extend(d.added.iter().cloned());
            next.soa = d.new_soa.clone();
        }
        if next.serial() != soa_serial(&soa.rdata).unwrap_or(0) {
            return Err("change sets do not reach the primary's serial".into());
        }
        next.soa = soa.clone();
        Ok(next)
    }

    /// The copy as a zone file, for the state directory.
    pub fn to_text(&self, comment: &str) -> String {
        let mut out = String::new();
        zonefile::write_zone(
            &mut out,
            &self.zone,
            comment,
            (
                self.soa.owner.wire(),
                self.soa.rtype,
                self.soa.ttl,
                &self.soa.rdata,
            ),
            self.records
                .iter()
                .map(|r| (r.owner.wire(), r.rtype, r.ttl, &r.rdata[..])),
        );
        out
    }

    pub fn from_text(zone: &Name, text: &str) -> Result<ZoneCopy, String> {
        let (soa, records) = zonefile::read_zone(text, zone)?;
        Ok(ZoneCopy::full(zone.clone(), soa, records))
    }

    /// The contents of the zone's record source: the entries pldns answers,
    /// with the copy itself (its SOA and NS answer at the apex; transfers
    /// out send it whole).
    pub fn contents(self: &Arc<Self>) -> Contents {
        Contents {
            entries: self.project().entries,
            warnings: Vec::new(),
            pulled: Some(self.clone()),
        }
    }

    /// What pldns answers from this copy.
    pub fn project(&self) -> Projection {
        let cuts: Vec<&Name> = self
            .records
            .iter()
            .filter(|r| r.rtype == rtype::NS && r.owner != self.zone)
            .map(|r| &r.owner)
            .collect();
        let mut p = Projection::default();
        for r in &self.records {
            if r.owner == self.zone && r.rtype == rtype::NS {
                p.apex_ns.push(r.clone());
                continue;
            }
            if r.owner == self.zone {
                // The table holds no data at a zone apex (SOA and NS only).
                *p.unanswered
                    .entry(format!("apex {}", type_name(r.rtype)))
                    .or_default() += 1;
                continue;
            }
            if cuts.iter().any(|c| r.owner.is_in(c)) {
                p.delegated += 1;
                continue;
            }
            let wildcard = r.owner.wire().starts_with(b"\x01*");
            let data = match r.rtype {
                _ if wildcard => None,
                rtype::A => <[u8; 4]>::try_from(&r.rdata[..])
                    .ok()
                    .map(|b| EntryData::A(b.into())),
                rtype::AAAA => <[u8; 16]>::try_from(&r.rdata[..])
                    .ok()
                    .map(|b| EntryData::Aaaa(b.into())),
                rtype::CNAME => Some(EntryData::Cname(Name::from_canonical_wire(&r.rdata))),
                _ => None,
            };
            match data {
                Some(data) => p.entries.push(Entry {
                    name: r.owner.clone(),
                    data,
                    ttl: Some(r.ttl),
                    line: 0,
                }),
                None => {
                    let what = if wildcard {
                        format!("wildcard {}", type_name(r.rtype))
                    } else {
                        type_name(r.rtype)
                    };
                    *p.unanswered.entry(what).or_default() += 1;
                }
            }
        }
        p
    }
}

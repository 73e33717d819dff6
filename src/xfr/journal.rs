//! The IXFR journal (RFC 1995): per zone, the record differences between
//! consecutive serials, computed when a new snapshot replaces the old one,
//! and kept in a memory bound. A secondary whose serial the journal no longer
//! reaches gets the whole zone instead.

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use super::serial;
use super::zone::{Rr, RrRef, Value, ZoneView, node_records};
use crate::name::Name;
use crate::records::pulled::ZoneCopy;
use crate::snapshot::Snapshot;
use crate::table::NodeRef;

/// Memory one zone's journal may hold: some ten thousand changed records,
/// the edits of weeks at the pace people and the Azure sync edit.
pub const DEFAULT_LIMIT: usize = 2 << 20;

/// The changes from one serial to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub old_soa: Rr,
    pub new_soa: Rr,
    pub removed: Vec<Rr>,
    pub added: Vec<Rr>,
}

impl Delta {
    pub fn from(&self) -> u32 {
        soa_serial(&self.old_soa)
    }

    pub fn to(&self) -> u32 {
        soa_serial(&self.new_soa)
    }

    pub fn size(&self) -> usize {
        self.old_soa.size()
            + self.new_soa.size()
            + self
                .removed
                .iter()
                .chain(&self.added)
                .map(Rr::size)
                .sum::<usize>()
    }

    /// Records removed and added.
    pub fn changes(&self) -> usize {
        self.removed.len() + self.added.len()
    }
}

fn soa_serial(soa: &Rr) -> u32 {
    crate::xfr::msg::read::soa_serial(&soa.rdata).unwrap_or(0)
}

/// True when `node` (of the zone being compared) holds record `r`, TTL
/// included: a TTL change is a removal and an addition in IXFR.
fn has(node: Option<NodeRef<'_>>, r: &RrRef<'_>) -> bool {
    let Some(n) = node else { return false };
    match r.value {
        Value::A(b) => n.a_ttl() == r.ttl && n.a().contains(&Ipv4Addr::from(b)),
        Value::Aaaa(b) => n.aaaa_ttl() == r.ttl && n.aaaa().contains(&Ipv6Addr::from(b)),
        Value::Name(t) => n.cname() == Some((t, r.ttl)),
        Value::Raw(_) => false,
    }
}

/// The delta between two copies of a secondary zone: their record sets'
/// differences.
fn copy_delta(old: &ZoneCopy, new: &ZoneCopy) -> Delta {
    Delta {
        old_soa: old.soa.clone(),
        new_soa: new.soa.clone(),
        removed: old.records.difference(&new.records).cloned().collect(),
        added: new.records.difference(&old.records).cloned().collect(),
    }
}

/// The delta of every zone whose serial moved from `old` to `new`. Zones
/// new in `new` have no delta (their secondaries need AXFR).
pub fn diff(old: &Snapshot, new: &Snapshot) -> Vec<(Name, Delta)> {
    // (old view, new view) per changed zone with records of its own,
    // indexed by new zone index; secondary zones compare their copies.
    let mut pairs: Vec<Option<(ZoneView<'_>, ZoneView<'_>)>> = vec![None; new.zones.len()];
    let mut old_to_new = vec![None; old.zones.len()];
    let mut pulled = Vec::new();
    for (ni, z) in new.zones.iter().enumerate() {
        let (Some(nv), Some(ov)) = (
            ZoneView::find(new, z.name.wire()),
            ZoneView::find(old, z.name.wire()),
        ) else {
            continue;
        };
        if nv.serial() == ov.serial() {
            continue;
        }
        match (ov.pulled(), nv.pulled()) {
            (Some(o), Some(n)) => pulled.push((z.name.clone(), copy_delta(o, n))),
            (None, None) => {
                pairs[ni] = Some((ov, nv));
                old_to_new[ov.index] = Some(ni);
            }
            // A zone that turned from one kind into the other: no delta.
            _ => {}
        }
    }
    let mut deltas: Vec<Option<Delta>> = pairs
        .iter()
        .map(|p| {
            p.map(|(ov, nv)| {
                let mut d = Delta {
                    old_soa: Rr::from_ref(&ov.soa()),
                    new_soa: Rr::from_ref(&nv.soa()),
                    removed: Vec::new(),
                    added: Vec::new(),
                };
                let (oa, na): (Vec<_>, Vec<_>) =
                    (ov.apex_records().collect(), nv.apex_records().collect());
                d.removed
                    .extend(oa.iter().filter(|r| !na.contains(r)).map(Rr::from_ref));
                d.added
                    .extend(na.iter().filter(|r| !oa.contains(r)).map(Rr::from_ref));
                d
            })
        })
        .collect();
    for node in new.table().iter() {
        let Some((ov, _)) = pairs[node.zone()] else {
            continue;
        };
        let before = old.node(node.name()).filter(|n| n.zone() == ov.index);
        if let Some(d) = &mut deltas[node.zone()] {
            d.added.extend(
                node_records(node)
                    .filter(|r| !has(before, r))
                    .map(|r| Rr::from_ref(&r)),
            );
        }
    }
    for node in old.table().iter() {
        let Some(ni) = old_to_new[node.zone()] else {
            continue;
        };
        let after = new.node(node.name()).filter(|n| n.zone() == ni);
        if let Some(d) = &mut deltas[ni] {
            d.removed.extend(
                node_records(node)
                    .filter(|r| !has(after, r))
                    .map(|r| Rr::from_ref(&r)),
            );
        }
    }
    new.zones
        .iter()
        .zip(deltas)
        .filter_map(|(z, d)| Some((z.name.clone(), d?)))
        .chain(pulled)
        .collect()
}

/// One zone's deltas, oldest first, each starting where the one before ends.
#[derive(Debug, Default)]
struct Journal {
    deltas: VecDeque<Arc<Delta>>,
    bytes: usize,
}

impl Journal {
    fn push(&mut self, delta: Delta, limit: usize) {
        let size = delta.size();
        if self
            .deltas
            .back()
            .is_some_and(|last| last.to() != delta.from())
            || size > limit
        {
            // A gap (the zone changed without a delta) or a delta too big to
            // keep: nothing older can be reached from here.
            self.deltas.clear();
            self.bytes = 0;
        }
        if size > limit {
            return;
        }
        self.bytes += size;
        self.deltas.push_back(Arc::new(delta));
        while self.bytes > limit {
            match self.deltas.pop_front() {
                Some(d) => self.bytes -= d.size(),
                None => break,
            }
        }
    }

    /// The deltas that lead from serial `from` to serial `to`.
    fn path(&self, from: u32, to: u32) -> Option<Vec<Arc<Delta>>> {
        let start = self.deltas.iter().position(|d| d.from() == from)?;
        let mut out = Vec::new();
        for d in self.deltas.iter().skip(start) {
            out.push(d.clone());
            if d.to() == to {
                return Some(out);
            }
            if !serial::lt(d.to(), to) {
                break;
            }
        }
        None
    }
}

/// The journals of every zone, shared by the reload (which appends) and the
/// transfer requests (which read). Neither holds the lock for long; the query
/// path never takes it.
pub struct Journals {
    zones: Mutex<HashMap<Name, Journal>>,
    limit: usize,
}

impl Default for Journals {
    fn default() -> Self {
        Journals::new(DEFAULT_LIMIT)
    }
}

impl Journals {
    pub fn new(limit: usize) -> Journals {
        Journals {
            zones: Mutex::new(HashMap::new()),
            limit,
        }
    }

    /// Records what changed from `old` to `new`. Call it with the new
    /// snapshot before it is swapped in, so a client that sees the new serial
    /// finds the delta that leads to it.
    pub fn record(&self, old: &Snapshot, new: &Snapshot) {
        let deltas = diff(old, new);
        let mut zones = self.zones.lock().unwrap_or_else(|e| e.into_inner());
        // Zones gone, or no longer zones with records, lose their journal.
        zones.retain(|name, _| ZoneView::find(new, name.wire()).is_some());
        for (name, delta) in deltas {
            zones.entry(name).or_default().push(delta, self.limit);
        }
    }

    /// The deltas from serial `from` to serial `to` of `zone`, if the journal
    /// still reaches back that far.
    pub fn path(&self, zone: &Name, from: u32, to: u32) -> Option<Vec<Arc<Delta>>> {
        let zones = self.zones.lock().unwrap_or_else(|e| e.into_inner());
        zones.get(zone)?.path(from, to)
    }

    /// Bytes held for `zone` (for metrics and tests).
    pub fn bytes(&self, zone: &Name) -> usize {
        let zones = self.zones.lock().unwrap_or_else(|e| e.into_inner());
        zones.get(zone).map_or(0, |j| j.bytes)
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;

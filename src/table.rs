//! The record table in compact form: every name once in a byte arena,
//! one fixed-size record per name, addresses in flat arrays, and a hash
//! index of node numbers. About 90 bytes per record, no heap object per
//! record, and one hash probe per lookup whatever the table's size.
//!
//! [`TableBuilder`] takes entries one at a time as the parsers produce
//! them, so loading a million records holds no intermediate maps.

use std::hash::BuildHasher;
use std::net::{Ipv4Addr, Ipv6Addr};

use hashbrown::HashTable;

/// Node numbers are u32: four billion names is more than any table here.
type Ix = u32;
const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct NodeRec {
    name: u32,
    name_len: u8,
    cname_len: u8,
    zone: u16,
    cname: u32,
    cname_ttl: u32,
    a_start: u32,
    a_len: u32,
    a_ttl: u32,
    aaaa_start: u32,
    aaaa_len: u32,
    aaaa_ttl: u32,
}

/// Per-zone totals, indexed like `Config::zones`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneStats {
    pub names: usize,
    pub records: usize,
    /// Order-independent hash of the zone's data: equal data, equal hash.
    pub content_hash: u64,
}

pub struct Table {
    names: Vec<u8>,
    nodes: Vec<NodeRec>,
    index: HashTable<Ix>,
    hasher: foldhash::fast::RandomState,
    a: Vec<Ipv4Addr>,
    aaaa: Vec<Ipv6Addr>,
    pub zones: Vec<ZoneStats>,
}

/// A borrowed view of one name's data.
#[derive(Clone, Copy)]
pub struct NodeRef<'t> {
    table: &'t Table,
    rec: &'t NodeRec,
}

impl<'t> NodeRef<'t> {
    pub fn name(&self) -> &'t [u8] {
        self.table.slice(self.rec.name, self.rec.name_len)
    }

    pub fn zone(&self) -> usize {
        self.rec.zone as usize
    }

    pub fn cname(&self) -> Option<(&'t [u8], u32)> {
        (self.rec.cname != NONE).then(|| {
            (
                self.table.slice(self.rec.cname, self.rec.cname_len),
                self.rec.cname_ttl,
            )
        })
    }

    pub fn a(&self) -> &'t [Ipv4Addr] {
        &self.table.a[self.rec.a_start as usize..(self.rec.a_start + self.rec.a_len) as usize]
    }

    pub fn a_ttl(&self) -> u32 {
        self.rec.a_ttl
    }

    pub fn aaaa(&self) -> &'t [Ipv6Addr] {
        &self.table.aaaa
            [self.rec.aaaa_start as usize..(self.rec.aaaa_start + self.rec.aaaa_len) as usize]
    }

    pub fn aaaa_ttl(&self) -> u32 {
        self.rec.aaaa_ttl
    }

    pub fn record_count(&self) -> usize {
        (self.rec.a_len + self.rec.aaaa_len) as usize + usize::from(self.rec.cname != NONE)
    }

    /// A name that exists only as the parent of table names (RFC 8020).
    pub fn is_empty_non_terminal(&self) -> bool {
        self.record_count() == 0
    }
}

impl Table {
    fn slice(&self, at: u32, len: u8) -> &[u8] {
        &self.names[at as usize..at as usize + len as usize]
    }

    fn hash(hasher: &foldhash::fast::RandomState, name: &[u8]) -> u64 {
        hasher.hash_one(name)
    }

    /// The data of `name` (canonical wire), if the table has it.
    pub fn get(&self, name: &[u8]) -> Option<NodeRef<'_>> {
        let h = Self::hash(&self.hasher, name);
        let ix = *self.index.find(h, |&ix| {
            let r = &self.nodes[ix as usize];
            r.name_len as usize == name.len() && self.slice(r.name, r.name_len) == name
        })?;
        Some(NodeRef {
            table: self,
            rec: &self.nodes[ix as usize],
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = NodeRef<'_>> {
        self.nodes.iter().map(|rec| NodeRef { table: self, rec })
    }

    /// Names, empty non-terminals included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn record_count(&self) -> usize {
        self.zones.iter().map(|z| z.records).sum()
    }

    /// Records in `self` that `other` lacks, counted per address and CNAME.
    pub fn records_missing_from(&self, other: &Table) -> usize {
        self.iter()
            .map(|n| match other.get(n.name()) {
                None => n.record_count(),
                Some(o) => {
                    n.a().iter().filter(|ip| !o.a().contains(ip)).count()
                        + n.aaaa().iter().filter(|ip| !o.aaaa().contains(ip)).count()
                        + usize::from(
                            n.cname().is_some() && n.cname().map(|c| c.0) != o.cname().map(|c| c.0),
                        )
                }
            })
            .sum()
    }
}

/// What one entry adds to a name.
#[derive(Debug, Clone, Copy)]
pub enum Data<'a> {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(&'a [u8]),
}

/// Where a datum came from: (file index, line), for conflict messages.
pub type Origin = (u32, u32);

/// Why an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// A CNAME beside other data (or the reverse); the first datum of the
    /// other kind came from `Origin`.
    CnameAndOther(Origin),
    /// A second, different CNAME target; the first came from `Origin`.
    TwoCnames { first: Origin, existing: Vec<u8> },
}

struct Acc {
    cname_origin: Option<Origin>,
    other_origin: Option<Origin>,
    /// The first address from another source than `other_origin`'s.
    second_source: Option<Origin>,
}

/// A name whose addresses came from several sources that do not agree (a
/// stale hosts line beside fresh az JSON): clients get every address in
/// rotation, the dead one included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixedSources {
    pub name: Vec<u8>,
    pub first: Origin,
    pub second: Origin,
}

pub struct TableBuilder {
    table: Table,
    accs: Vec<Acc>,
    /// (node, address, source): the source only tells apart who said what.
    a_pairs: Vec<(Ix, Ipv4Addr, u32)>,
    aaaa_pairs: Vec<(Ix, Ipv6Addr, u32)>,
}

impl Acc {
    fn note_address(&mut self, origin: Origin) {
        match self.other_origin {
            None => self.other_origin = Some(origin),
            Some(first) if first.0 != origin.0 && self.second_source.is_none() => {
                self.second_source = Some(origin);
            }
            Some(_) => {}
        }
    }
}

/// True when the sources that gave `ix` addresses of one type did not all
/// give the same set. `pairs` is sorted (node, address, source).
fn disagree<T: Copy + Ord>(pairs: &[(Ix, T, u32)], ix: Ix) -> bool {
    let start = pairs.partition_point(|p| p.0 < ix);
    let end = pairs.partition_point(|p| p.0 <= ix);
    let mine = &pairs[start..end];
    let mut sources: Vec<u32> = mine.iter().map(|p| p.2).collect();
    sources.sort_unstable();
    sources.dedup();
    if sources.len() < 2 {
        return false;
    }
    // Every address must come from every source (duplicates of one source
    // sit next to each other).
    let mut i = 0;
    while i < mine.len() {
        let addr = mine[i].1;
        let mut from: Vec<u32> = mine[i..]
            .iter()
            .take_while(|p| p.1 == addr)
            .map(|p| p.2)
            .collect();
        i += from.len();
        from.dedup();
        if from.len() != sources.len() {
            return true;
        }
    }
    false
}

impl TableBuilder {
    pub fn new(zone_count: usize) -> TableBuilder {
        TableBuilder {
            table: Table {
                names: Vec::new(),
                nodes: Vec::new(),
                index: HashTable::new(),
                hasher: foldhash::fast::RandomState::default(),
                a: Vec::new(),
                aaaa: Vec::new(),
                zones: vec![ZoneStats::default(); zone_count],
            },
            accs: Vec::new(),
            a_pairs: Vec::new(),
            aaaa_pairs: Vec::new(),
        }
    }

    fn node(&mut self, name: &[u8], zone: usize) -> Ix {
        let t = &mut self.table;
        let h = Table::hash(&t.hasher, name);
        let (names, nodes) = (&t.names, &t.nodes);
        let found = t.index.find(h, |&ix| {
            let r = &nodes[ix as usize];
            r.name_len as usize == name.len()
                && &names[r.name as usize..r.name as usize + name.len()] == name
        });
        if let Some(&ix) = found {
            return ix;
        }
        let ix = t.nodes.len() as Ix;
        let at = t.names.len() as u32;
        t.names.extend_from_slice(name);
        t.nodes.push(NodeRec {
            name: at,
            name_len: name.len() as u8,
            cname_len: 0,
            zone: zone as u16,
            cname: NONE,
            cname_ttl: 0,
            a_start: 0,
            a_len: 0,
            a_ttl: u32::MAX,
            aaaa_start: 0,
            aaaa_len: 0,
            aaaa_ttl: u32::MAX,
        });
        self.accs.push(Acc {
            cname_origin: None,
            other_origin: None,
            second_source: None,
        });
        let hasher = t.hasher.clone();
        let (names, nodes) = (&t.names, &t.nodes);
        t.index.insert_unique(h, ix, |&ix| {
            let r = &nodes[ix as usize];
            Table::hash(
                &hasher,
                &names[r.name as usize..r.name as usize + r.name_len as usize],
            )
        });
        ix
    }

    /// Adds one datum for `name` (canonical wire, placed in `zone`). The
    /// smallest TTL of an RRset wins (RFC 2181 §5.2: one TTL per RRset).
    pub fn insert(
        &mut self,
        name: &[u8],
        zone: usize,
        data: Data<'_>,
        ttl: u32,
        origin: Origin,
    ) -> Result<(), Conflict> {
        let ix = self.node(name, zone);
        let acc = &mut self.accs[ix as usize];
        let is_cname = matches!(data, Data::Cname(_));
        let clash = if is_cname {
            acc.other_origin
        } else {
            acc.cname_origin
        };
        if let Some(first) = clash {
            return Err(Conflict::CnameAndOther(first));
        }
        let rec = &mut self.table.nodes[ix as usize];
        match data {
            Data::Cname(target) => {
                if rec.cname != NONE {
                    let existing = &self.table.names
                        [rec.cname as usize..rec.cname as usize + rec.cname_len as usize];
                    if existing != target {
                        return Err(Conflict::TwoCnames {
                            first: acc.cname_origin.unwrap_or(origin),
                            existing: existing.to_vec(),
                        });
                    }
                    rec.cname_ttl = rec.cname_ttl.min(ttl);
                } else {
                    rec.cname = self.table.names.len() as u32;
                    rec.cname_len = target.len() as u8;
                    rec.cname_ttl = ttl;
                    self.table.names.extend_from_slice(target);
                }
                acc.cname_origin.get_or_insert(origin);
            }
            Data::A(ip) => {
                rec.a_ttl = rec.a_ttl.min(ttl);
                self.a_pairs.push((ix, ip, origin.0));
                acc.note_address(origin);
            }
            Data::Aaaa(ip) => {
                rec.aaaa_ttl = rec.aaaa_ttl.min(ttl);
                self.aaaa_pairs.push((ix, ip, origin.0));
                acc.note_address(origin);
            }
        }
        Ok(())
    }

    /// Like [`finish`](Self::finish), and also names every name whose
    /// addresses came from several sources that do not give the same set.
    pub fn finish_report(mut self, apex_lens: &[usize]) -> (Table, Vec<MixedSources>) {
        let several: Vec<Ix> = (0..self.accs.len())
            .filter(|&ix| self.accs[ix].second_source.is_some())
            .map(|ix| ix as Ix)
            .collect();
        let mut mixed = Vec::new();
        if !several.is_empty() {
            self.a_pairs.sort_unstable();
            self.aaaa_pairs.sort_unstable();
            for ix in several {
                if disagree(&self.a_pairs, ix) || disagree(&self.aaaa_pairs, ix) {
                    let acc = &self.accs[ix as usize];
                    let r = &self.table.nodes[ix as usize];
                    if let (Some(first), Some(second)) = (acc.other_origin, acc.second_source) {
                        mixed.push(MixedSources {
                            name: self.table.slice(r.name, r.name_len).to_vec(),
                            first,
                            second,
                        });
                    }
                }
            }
        }
        (self.finish(apex_lens), mixed)
    }

    /// Sorts the addresses into place, adds the empty non-terminals between
    /// every name and its zone's apex (`apexes[zone]` is the apex length),
    /// and totals the zones.
    pub fn finish(mut self, apex_lens: &[usize]) -> Table {
        fn place<T: Copy + Ord>(
            pairs: &mut Vec<(Ix, T, u32)>,
            nodes: &mut [NodeRec],
            out: &mut Vec<T>,
            set: fn(&mut NodeRec, u32, u32),
        ) {
            pairs.sort_unstable();
            pairs.dedup_by_key(|p| (p.0, p.1));
            out.reserve_exact(pairs.len());
            let mut i = 0;
            while i < pairs.len() {
                let ix = pairs[i].0;
                let start = out.len() as u32;
                while i < pairs.len() && pairs[i].0 == ix {
                    out.push(pairs[i].1);
                    i += 1;
                }
                set(&mut nodes[ix as usize], start, out.len() as u32 - start);
            }
            *pairs = Vec::new();
        }
        place(
            &mut self.a_pairs,
            &mut self.table.nodes,
            &mut self.table.a,
            |r, s, l| {
                r.a_start = s;
                r.a_len = l;
            },
        );
        place(
            &mut self.aaaa_pairs,
            &mut self.table.nodes,
            &mut self.table.aaaa,
            |r, s, l| {
                r.aaaa_start = s;
                r.aaaa_len = l;
            },
        );

        // Empty non-terminals: rare in practice (Private Link names sit
        // right under their zone's apex), so the copy per parent is cheap.
        let data_nodes = self.table.nodes.len();
        for i in 0..data_nodes {
            let rec = self.table.nodes[i];
            let apex = apex_lens[rec.zone as usize];
            let mut at = rec.name as usize;
            let end = at + rec.name_len as usize;
            loop {
                at += 1 + self.table.names[at] as usize;
                if end - at <= apex {
                    break;
                }
                let parent = self.table.names[at..end].to_vec();
                self.node(&parent, rec.zone as usize);
            }
        }

        let hasher = foldhash::quality::FixedState::with_seed(0x0070_6c64_6e73);
        for rec in &mut self.table.nodes {
            if rec.a_len == 0 {
                rec.a_ttl = 0;
            }
            if rec.aaaa_len == 0 {
                rec.aaaa_ttl = 0;
            }
        }
        let mut zones = std::mem::take(&mut self.table.zones);
        for rec in &self.table.nodes {
            let node = NodeRef {
                table: &self.table,
                rec,
            };
            let z = &mut zones[rec.zone as usize];
            let records = node.record_count();
            if records > 0 {
                z.names += 1;
                z.records += records;
                let h = hasher.hash_one((
                    node.name(),
                    node.cname(),
                    node.a(),
                    node.a_ttl(),
                    node.aaaa(),
                    node.aaaa_ttl(),
                ));
                z.content_hash = z.content_hash.wrapping_add(h);
            }
        }
        self.table.zones = zones;
        self.table.names.shrink_to_fit();
        self.table.nodes.shrink_to_fit();
        self.table
    }
}

#[cfg(test)]
mod tests;

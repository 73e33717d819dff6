//! Which zone a name belongs to, and the public-twin rule, in one place. A
//! zone with records (`privatelink.blob.core.windows.net`) owns its names and
//! the names of its public twin: its name without the leading `privatelink`
//! label (`acct.blob.core.windows.net` ->
//! `acct.privatelink.blob.core.windows.net`). The record loader places table
//! names with [`ZoneMap::place`] and the query path routes with
//! [`ZoneMap::route`], so the two never disagree about where a name lives.

use std::collections::HashMap as StdHashMap;

use crate::name::Name;
use crate::wire::NameBuf;

/// foldhash: fast on short keys and seeded per process.
type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;

/// Where a name goes among the zones with records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Index of the zone (in the config's zone list).
    pub zone: usize,
    /// The name inside that zone: the name itself, or its privatelink twin.
    pub name: NameBuf,
    /// True when `name` was mapped from the public twin.
    pub via_twin: bool,
}

/// Where the query path sends a name. Small and `Copy`: the twin's name is
/// built only when it is needed ([`ZoneMap::twin_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    /// The longest configured zone holding the name, with or without records.
    pub zone: Option<usize>,
    /// Set when a public twin is the longest match among the zones with
    /// records and their twins.
    pub twin: Option<Twin>,
}

/// A name's match on the public twin of a zone with records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Twin {
    /// The zone with records the twin belongs to.
    pub zone: usize,
    /// Octets of the name before the twin (the part kept when mapping).
    head: usize,
}

/// What one zone or twin name in the index stands for.
#[derive(Debug, Default)]
struct Entry {
    /// A configured zone of this name, and whether it has records.
    zone: Option<(usize, bool)>,
    /// The zone with records whose public twin this name is, and that
    /// zone's name (wire) to put in place of the twin.
    twin: Option<(usize, Box<[u8]>)>,
}

impl Entry {
    /// The placement this name gives: its zone with records, else its twin.
    /// A zone's own name beats a twin of the same name.
    fn placement(&self) -> Option<(usize, Option<&[u8]>)> {
        match (&self.zone, &self.twin) {
            (Some((zi, true)), _) => Some((*zi, None)),
            (_, Some((zi, zone))) => Some((*zi, Some(zone))),
            _ => None,
        }
    }
}

/// Every configured zone and every public twin, by name (wire).
#[derive(Debug, Default)]
pub struct ZoneMap {
    index: HashMap<Box<[u8]>, Entry>,
}

impl ZoneMap {
    /// Builds the map of the configured zones, in config order: (name, has
    /// records). The position of a zone is its index.
    pub fn new<'a>(zones: impl IntoIterator<Item = (&'a Name, bool)>) -> ZoneMap {
        let mut index: HashMap<Box<[u8]>, Entry> = HashMap::default();
        for (zi, (name, records)) in zones.into_iter().enumerate() {
            index.entry(name.wire().into()).or_default().zone = Some((zi, records));
            if records && let Some(twin) = name.public_twin() {
                index.entry(twin.wire().into()).or_default().twin = Some((zi, name.wire().into()));
            }
        }
        ZoneMap { index }
    }

    /// The zone with records a name (lowercase wire) belongs to and its name
    /// there: the longest matching zone with records or public twin wins.
    /// `None` outside every zone with records, or when the mapped name would
    /// exceed 255 octets.
    pub fn place(&self, name: &[u8]) -> Option<Placed> {
        let (suffix, (zone, twin)) =
            crate::name::suffixes(name).find_map(|s| Some((s, self.index.get(s)?.placement()?)))?;
        placed(name, suffix, zone, twin)
    }

    /// The longest configured zone holding `name` (with or without records).
    pub fn zone_of(&self, name: &[u8]) -> Option<usize> {
        crate::name::suffixes(name).find_map(|s| Some(self.index.get(s)?.zone?.0))
    }

    /// Both at once, in one walk up the name: the zone that routes it, and
    /// whether [`ZoneMap::place`] would map it through a public twin.
    pub fn route(&self, name: &[u8]) -> Located {
        let mut suffixes = crate::name::suffixes(name);
        // The longest match, usually a zone with records: then it is both
        // the zone and the placement, and the walk ends here.
        let first = suffixes.find_map(|s| Some((s, self.index.get(s)?)));
        let Some((s, e)) = first else {
            return Located {
                zone: None,
                twin: None,
            };
        };
        let zone = e.zone.map(|(zi, _)| zi);
        let twin_at = |s: &[u8], zi| Twin {
            zone: zi,
            head: name.len() - s.len(),
        };
        match e.placement() {
            Some((_, None)) => Located { zone, twin: None },
            Some((zi, Some(_))) => Located {
                // A twin without a zone of its own name: the zone is further up.
                zone: zone.or_else(|| suffixes.find_map(|s| Some(self.index.get(s)?.zone?.0))),
                twin: Some(twin_at(s, zi)),
            },
            // A zone without records: a twin or a zone with records further
            // up may still place the name.
            None => {
                let twin = suffixes.find_map(|s| match self.index.get(s)?.placement()? {
                    (_, None) => Some(None),
                    (zi, Some(_)) => Some(Some(twin_at(s, zi))),
                });
                Located {
                    zone,
                    twin: twin.flatten(),
                }
            }
        }
    }

    /// The privatelink name `name` maps to through `twin` (from
    /// [`ZoneMap::route`] of the same name); `None` past 255 octets.
    pub fn twin_name(&self, name: &[u8], twin: Twin) -> Option<NameBuf> {
        let suffix = name.get(twin.head..)?;
        let (_, mapped_to) = self.index.get(suffix)?.placement()?;
        NameBuf::concat(&name[..twin.head], mapped_to?)
    }
}

fn placed(name: &[u8], suffix: &[u8], zone: usize, twin_of: Option<&[u8]>) -> Option<Placed> {
    let name = match twin_of {
        None => NameBuf::from_wire(name)?,
        Some(zone_name) => NameBuf::concat(&name[..name.len() - suffix.len()], zone_name)?,
    };
    Some(Placed {
        zone,
        name,
        via_twin: twin_of.is_some(),
    })
}

#[cfg(test)]
mod tests;

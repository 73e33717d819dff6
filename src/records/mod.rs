//! The record sources of the zones with records: one parser per format
//! (hosts, TOML, az JSON), then placement of every name into its zone (public
//! names mapped into their privatelink twin) and merging. All problems are
//! collected as `FILE:LINE: reason`.

mod hosts;
mod json;
mod toml;

use std::collections::BTreeMap;
use std::collections::btree_map::Entry as MapEntry;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::name::Name;

/// One datum from one line of a source file, before placement.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The name as written (canonical form), maybe a public name.
    pub name: Name,
    pub data: EntryData,
    pub ttl: Option<u32>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EntryData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(Name),
}

impl From<IpAddr> for EntryData {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => EntryData::A(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                // `::ffff:10.0.0.4` in a hosts file means the IPv4 address.
                Some(v4) => EntryData::A(v4),
                None => EntryData::Aaaa(v6),
            },
        }
    }
}

/// The merged data of one name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RecordSet {
    pub cname: Option<(Name, u32)>,
    pub a: Vec<Ipv4Addr>,
    pub a_ttl: u32,
    pub aaaa: Vec<Ipv6Addr>,
    pub aaaa_ttl: u32,
}

impl RecordSet {
    pub fn record_count(&self) -> usize {
        self.a.len() + self.aaaa.len() + usize::from(self.cname.is_some())
    }
}

/// The records of every zone with records, indexed like `Config::zones`
/// (empty maps for forward-only zones), and the paths to watch.
#[derive(Debug, Clone, Default)]
pub struct Records {
    pub zones: Vec<BTreeMap<Name, RecordSet>>,
    /// Every file that was read, for the watcher and `check`.
    pub files: Vec<PathBuf>,
}

/// The record formats, chosen by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Hosts,
    Toml,
    Json,
}

fn format_of(path: &Path) -> Option<Format> {
    if path.file_name().is_some_and(|n| n == "hosts") {
        return Some(Format::Hosts);
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("hosts") => Some(Format::Hosts),
        Some("toml") => Some(Format::Toml),
        Some("json") => Some(Format::Json),
        _ => None,
    }
}

/// True for a file a records directory would read (by name only).
pub fn is_record_file_name(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n.starts_with('.'));
    !hidden && format_of(path).is_some()
}

/// Files a records directory contributes: known endings only, and not the
/// hidden or backup files editors leave behind (`.x.toml.swp`, `x.hosts~`).
fn directory_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if is_record_file_name(&path) && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Where names go: every zone with records and its public twin.
struct Placement<'a> {
    zones: Vec<(usize, &'a Name, Option<Name>)>,
}

impl<'a> Placement<'a> {
    fn new(config: &'a Config) -> Self {
        let zones = config
            .zones
            .iter()
            .enumerate()
            .filter(|(_, z)| z.has_records())
            .map(|(i, z)| (i, &z.name, z.name.public_twin()))
            .collect();
        Placement { zones }
    }

    /// The zone a name belongs to and its name inside that zone. The longest
    /// match wins; a zone's own name beats a twin of the same length.
    fn place(&self, name: &Name) -> Option<(usize, Name)> {
        let mut best: Option<(usize, usize, Option<&Name>, &Name)> = None;
        for (i, zone, twin) in &self.zones {
            if name.is_in(zone) {
                let len = zone.wire().len();
                if best.is_none_or(|b| len >= b.0) {
                    best = Some((len, *i, None, zone));
                }
            }
            if let Some(twin) = twin
                && name.is_in(twin)
            {
                let len = twin.wire().len();
                if best.is_none_or(|b| len > b.0) {
                    best = Some((len, *i, Some(twin), zone));
                }
            }
        }
        let (_, i, twin, zone) = best?;
        match twin {
            None => Some((i, name.clone())),
            Some(twin) => name.rebase(twin, zone).ok().map(|n| (i, n)),
        }
    }
}

/// Where the first datum of each kind for one name came from, to report a
/// conflict against it.
#[derive(Default)]
struct Origins {
    cname: Option<(usize, usize)>,
    other: Option<(usize, usize)>,
}

/// Reads every record source of `config` and merges them per zone.
pub fn load(config: &Config) -> Result<Records, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut files: Vec<PathBuf> = Vec::new();
    for zone in &config.zones {
        for source in zone.records.iter().flatten() {
            let found = if source.is_dir() {
                match directory_files(source) {
                    Ok(list) => list,
                    Err(e) => {
                        diags.push(Diagnostic::file(source, e.to_string()));
                        continue;
                    }
                }
            } else {
                vec![source.clone()]
            };
            for f in found {
                if !files.contains(&f) {
                    files.push(f);
                }
            }
        }
    }

    let placement = Placement::new(config);
    let mut zones: Vec<BTreeMap<Name, RecordSet>> = vec![BTreeMap::new(); config.zones.len()];
    let mut origins: Vec<BTreeMap<Name, Origins>> =
        (0..config.zones.len()).map(|_| BTreeMap::new()).collect();
    // Explicit TTLs seen per name and type; the smallest wins (RFC 2181 §5.2:
    // one TTL per RRset).
    let mut entries = Vec::new();

    for (file_idx, path) in files.iter().enumerate() {
        let Some(format) = format_of(path) else {
            diags.push(Diagnostic::file(
                path,
                "unknown record format: expected a .hosts, .toml or .json file, or one named hosts",
            ));
            continue;
        };
        let text = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) => {
                    diags.push(Diagnostic::file(path, "not UTF-8 text"));
                    continue;
                }
            },
            Err(e) => {
                diags.push(Diagnostic::file(path, e.to_string()));
                continue;
            }
        };
        entries.clear();
        match format {
            Format::Hosts => hosts::parse(path, &text, &mut entries, &mut diags),
            Format::Toml => toml::parse(path, &text, &mut entries, &mut diags),
            Format::Json => json::parse(path, &text, &mut entries, &mut diags),
        }
        for entry in entries.drain(..) {
            let Some((zi, name)) = placement.place(&entry.name) else {
                diags.push(Diagnostic::at(
                    path,
                    entry.line,
                    format!("{} is outside every zone with records", entry.name),
                ));
                continue;
            };
            let zone = &config.zones[zi];
            if name == zone.name {
                diags.push(Diagnostic::at(
                    path,
                    entry.line,
                    format!(
                        "{} is the apex of zone {}, which holds only its SOA and NS",
                        entry.name, zone.name
                    ),
                ));
                continue;
            }
            let origin = (file_idx, entry.line);
            let seen = origins[zi].entry(name.clone()).or_default();
            let is_cname = matches!(entry.data, EntryData::Cname(_));
            let conflict = if is_cname { seen.other } else { seen.cname };
            if let Some((f, l)) = conflict {
                diags.push(Diagnostic::at(
                    path,
                    entry.line,
                    format!(
                        "{name}: a CNAME cannot stand beside other data for the same name (see {}:{l})",
                        files[f].display()
                    ),
                ));
                continue;
            }
            let set = match zones[zi].entry(name.clone()) {
                MapEntry::Vacant(v) => v.insert(RecordSet {
                    a_ttl: u32::MAX,
                    aaaa_ttl: u32::MAX,
                    ..RecordSet::default()
                }),
                MapEntry::Occupied(o) => o.into_mut(),
            };
            let ttl = entry.ttl.unwrap_or(zone.ttl);
            match entry.data {
                EntryData::Cname(target) => {
                    match &mut set.cname {
                        Some((existing, t)) if *existing == target => *t = (*t).min(ttl),
                        Some((existing, _)) => {
                            let (f, l) = seen.cname.unwrap_or(origin);
                            diags.push(Diagnostic::at(
                                path,
                                entry.line,
                                format!(
                                    "{name} has two CNAME targets, {existing} (at {}:{l}) and {target}",
                                    files[f].display()
                                ),
                            ));
                            continue;
                        }
                        None => set.cname = Some((target, ttl)),
                    }
                    seen.cname.get_or_insert(origin);
                }
                EntryData::A(v4) => {
                    if !set.a.contains(&v4) {
                        set.a.push(v4);
                    }
                    set.a_ttl = set.a_ttl.min(ttl);
                    seen.other.get_or_insert(origin);
                }
                EntryData::Aaaa(v6) => {
                    if !set.aaaa.contains(&v6) {
                        set.aaaa.push(v6);
                    }
                    set.aaaa_ttl = set.aaaa_ttl.min(ttl);
                    seen.other.get_or_insert(origin);
                }
            }
        }
    }
    diags.into_result(Records { zones, files })
}

#[cfg(test)]
mod tests;

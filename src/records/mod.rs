//! The record sources of the zones with records: one parser per format
//! (hosts, TOML, az JSON), then placement of every name into its zone (public
//! names mapped into their privatelink twin) and merging. All problems are
//! collected as `FILE:LINE: reason`.

mod hosts;
mod json;
mod toml;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::name::Name;
use crate::table::{Conflict, Data, Origin, Table, TableBuilder};
use crate::wire::NameBuf;

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

/// The record table of every zone with records, and the files read.
pub struct Records {
    pub table: Table,
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
pub struct Placement<'a> {
    zones: Vec<(usize, &'a Name, Option<Name>)>,
}

impl<'a> Placement<'a> {
    pub fn new(config: &'a Config) -> Self {
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
    pub fn place(&self, name: &Name) -> Option<(usize, NameBuf)> {
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
        let mapped = match twin {
            None => NameBuf::from_wire(name.wire()),
            Some(twin) => NameBuf::concat(
                &name.wire()[..name.wire().len() - twin.wire().len()],
                zone.wire(),
            ),
        };
        mapped.map(|n| (i, n))
    }
}

/// Parses one record file as it is, names unmapped (for `pldns import`).
pub fn read_file(path: &Path) -> Result<Vec<Entry>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut entries = Vec::new();
    let Some(format) = format_of(path) else {
        diags.push(Diagnostic::file(
            path,
            "unknown record format: expected a .hosts, .toml or .json file, or one named hosts",
        ));
        return Err(diags);
    };
    let mut sink = |e: Entry| entries.push(e);
    match format {
        Format::Hosts => match std::fs::File::open(path) {
            Ok(f) => hosts::parse(path, std::io::BufReader::new(f), &mut sink, &mut diags),
            Err(e) => diags.push(Diagnostic::file(path, e.to_string())),
        },
        Format::Toml | Format::Json => match std::fs::read_to_string(path) {
            Ok(text) if format == Format::Toml => toml::parse(path, &text, &mut sink, &mut diags),
            Ok(text) => json::parse(path, &text, &mut sink, &mut diags),
            Err(e) => diags.push(Diagnostic::file(path, e.to_string())),
        },
    }
    diags.into_result(entries)
}

/// Reads every record source of `config` into one table.
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
    let mut builder = TableBuilder::new(config.zones.len());
    for (file_idx, path) in files.iter().enumerate() {
        let Some(format) = format_of(path) else {
            diags.push(Diagnostic::file(
                path,
                "unknown record format: expected a .hosts, .toml or .json file, or one named hosts",
            ));
            continue;
        };
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                diags.push(Diagnostic::file(path, e.to_string()));
                continue;
            }
        };
        let mut sink_diags = Diagnostics::default();
        let mut sink = |entry: Entry| {
            place_entry(
                config,
                &placement,
                &mut builder,
                &files,
                file_idx,
                path,
                entry,
                &mut sink_diags,
            )
        };
        match format {
            Format::Hosts => {
                hosts::parse(path, std::io::BufReader::new(file), &mut sink, &mut diags)
            }
            Format::Toml | Format::Json => {
                let mut text = String::new();
                if let Err(e) =
                    std::io::Read::read_to_string(&mut std::io::BufReader::new(file), &mut text)
                {
                    let why = if e.kind() == std::io::ErrorKind::InvalidData {
                        "not UTF-8 text".to_string()
                    } else {
                        e.to_string()
                    };
                    diags.push(Diagnostic::file(path, why));
                    continue;
                }
                if format == Format::Toml {
                    toml::parse(path, &text, &mut sink, &mut diags);
                } else {
                    json::parse(path, &text, &mut sink, &mut diags);
                }
            }
        }
        diags.0.extend(sink_diags.0);
    }
    // Keep file order: a parser's own errors and placement errors of one
    // file are reported together, by line.
    diags.0.sort_by(|a, b| {
        let fa = files.iter().position(|f| *f == a.file);
        let fb = files.iter().position(|f| *f == b.file);
        (fa, a.line).cmp(&(fb, b.line))
    });
    if !diags.is_empty() {
        return Err(diags);
    }
    let apexes: Vec<usize> = config.zones.iter().map(|z| z.name.wire().len()).collect();
    Ok(Records {
        table: builder.finish(&apexes),
        files,
    })
}

/// Places one parsed entry into its zone and the table, or reports why not.
#[allow(clippy::too_many_arguments)]
fn place_entry(
    config: &Config,
    placement: &Placement<'_>,
    builder: &mut TableBuilder,
    files: &[PathBuf],
    file_idx: usize,
    path: &Path,
    entry: Entry,
    diags: &mut Diagnostics,
) {
    let Some((zi, name)) = placement.place(&entry.name) else {
        diags.push(Diagnostic::at(
            path,
            entry.line,
            format!("{} is outside every zone with records", entry.name),
        ));
        return;
    };
    let zone = &config.zones[zi];
    if name.wire() == zone.name.wire() {
        diags.push(Diagnostic::at(
            path,
            entry.line,
            format!(
                "{} is the apex of zone {}, which holds only its SOA and NS",
                entry.name, zone.name
            ),
        ));
        return;
    }
    let data = match &entry.data {
        EntryData::A(ip) => Data::A(*ip),
        EntryData::Aaaa(ip) => Data::Aaaa(*ip),
        EntryData::Cname(target) => Data::Cname(target.wire()),
    };
    let ttl = entry.ttl.unwrap_or(zone.ttl);
    let origin = (file_idx as u32, entry.line as u32);
    let shown = |name: &NameBuf| {
        let mut s = String::new();
        let _ = crate::name::write_text(name.wire(), &mut s);
        s
    };
    let at = |(f, l): Origin| format!("{}:{l}", files[f as usize].display());
    match builder.insert(name.wire(), zi, data, ttl, origin) {
        Ok(()) => {}
        Err(Conflict::CnameAndOther(first)) => diags.push(Diagnostic::at(
            path,
            entry.line,
            format!(
                "{}: a CNAME cannot stand beside other data for the same name (see {})",
                shown(&name),
                at(first)
            ),
        )),
        Err(Conflict::TwoCnames { first, existing }) => {
            let EntryData::Cname(target) = &entry.data else {
                return;
            };
            let mut old = String::new();
            let _ = crate::name::write_text(&existing, &mut old);
            diags.push(Diagnostic::at(
                path,
                entry.line,
                format!(
                    "{} has two CNAME targets, {old} (at {}) and {target}",
                    shown(&name),
                    at(first)
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests;

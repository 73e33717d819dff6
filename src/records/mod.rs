//! Record files: one parser per format (hosts, TOML, Azure JSON), chosen by
//! the file's ending, over text decoded from whatever encoding Windows saved
//! it in; and the placement of a name into its zone (public names mapped
//! into their privatelink twin, by the rule of [`crate::zonemap`]). Every
//! problem is a `FILE:LINE: reason`.
//! Turning the sources into one table is `sources`' job.

mod decode;
mod hosts;
mod json;
pub mod pulled;
mod toml;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::name::Name;
use crate::table::Table;
use crate::zonemap::ZoneMap;
use pulled::ZoneCopy;

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

/// What one record source holds once parsed: its entries (names as
/// written, not yet placed) and the warnings about it. A source applies
/// whole or not at all, so errors are never part of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contents {
    pub entries: Vec<Entry>,
    pub warnings: Vec<Diagnostic>,
    /// A secondary zone's source: the copy its entries were taken from.
    pub pulled: Option<Arc<ZoneCopy>>,
}

impl Contents {
    pub fn new(entries: Vec<Entry>) -> Contents {
        Contents {
            entries,
            warnings: Vec::new(),
            pulled: None,
        }
    }
}

/// The record table of every zone with records, and the files read.
pub struct Records {
    pub table: Table,
    /// Every file that was read, for the watcher and `check`.
    pub files: Vec<PathBuf>,
    /// Per zone (config order): the copy a secondary zone is served from;
    /// `None` for other zones, and for a secondary zone that has no data
    /// (never pulled, or expired).
    pub pulled: Vec<Option<Arc<ZoneCopy>>>,
}

/// The record formats, chosen by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Hosts,
    Toml,
    Json,
}

/// The format of a record file by its name; endings match in any case
/// (`vault2.JSON` saved from Windows is JSON).
fn format_of(path: &Path) -> Option<Format> {
    if path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.eq_ignore_ascii_case("hosts"))
    {
        return Some(Format::Hosts);
    }
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "hosts" => Some(Format::Hosts),
        "toml" => Some(Format::Toml),
        "json" => Some(Format::Json),
        _ => None,
    }
}

const UNKNOWN_FORMAT: &str =
    "unknown record format: expected a .hosts, .toml or .json file, or one named hosts";

/// True for a file a records directory would read (by name only).
pub fn is_record_file_name(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n.starts_with('.'));
    !hidden && format_of(path).is_some()
}

/// What a records directory holds: the record files it contributes and
/// the other files, which `check` lists as ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub files: Vec<PathBuf>,
    pub ignored: Vec<PathBuf>,
}

/// Lists a records directory: known endings only, and not the hidden or
/// backup files editors leave behind (`.x.toml.swp`, `x.hosts~`).
pub fn list_directory(dir: &Path) -> std::io::Result<Listing> {
    let mut listing = Listing::default();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        if is_record_file_name(&path) {
            listing.files.push(path);
        } else {
            listing.ignored.push(path);
        }
    }
    listing.files.sort();
    listing.ignored.sort();
    Ok(listing)
}

/// Where the names of `config`'s zones with records go: the rule of
/// [`crate::zonemap`], which the query path routes by too.
pub fn placement(config: &Config) -> ZoneMap {
    ZoneMap::new(config.zones.iter().map(|z| (&z.name, z.has_records())))
}

/// Parses the bytes of one record file (the format from its name). The
/// result is the whole file or, with any error, nothing.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Contents, Diagnostics> {
    let mut diags = Diagnostics::default();
    let Some(format) = format_of(path) else {
        diags.push(Diagnostic::file(path, UNKNOWN_FORMAT));
        return Err(diags);
    };
    let text = match decode::decode(path, bytes) {
        Ok(t) => t,
        Err(d) => {
            diags.push(d);
            return Err(diags);
        }
    };
    let mut contents = Contents::default();
    let mut sink = |e: Entry| contents.entries.push(e);
    match format {
        Format::Hosts => hosts::parse(path, &text, &mut sink, &mut diags),
        Format::Toml => toml::parse(path, &text, &mut sink, &mut diags),
        Format::Json => {
            let mut warnings = Vec::new();
            json::parse(path, &text, &mut sink, &mut diags, &mut warnings);
            contents.warnings = warnings;
        }
    }
    diags.into_result(contents)
}

/// Reads and parses one record file as it is, names unmapped (for
/// `pldns import`).
pub fn read_file(path: &Path) -> Result<Vec<Entry>, Diagnostics> {
    if format_of(path).is_none() {
        return Err(Diagnostics(vec![Diagnostic::file(path, UNKNOWN_FORMAT)]));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Diagnostics(vec![Diagnostic::file(path, e.to_string())]))?;
    parse(path, &bytes).map(|c| c.entries)
}

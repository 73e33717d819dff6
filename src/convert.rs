//! Moving records in and out: `pldns import` turns hosts files and az JSON
//! into one TOML records file; `pldns export` writes the table in service
//! as hosts lines (zone files: `xfr::export`), for people migrating to or
//! from pldns.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use crate::diag::Diagnostics;
use crate::name::{Name, write_text};
use crate::records::{self, EntryData};
use crate::snapshot::Snapshot;

#[derive(Default)]
struct Merged {
    a: Vec<Ipv4Addr>,
    aaaa: Vec<Ipv6Addr>,
    cname: Option<Name>,
    ttl: Option<u32>,
}

/// Reads `files` (hosts, az JSON or TOML) and writes one TOML records file.
/// Names stay as written; pldns maps public names into their zones when it
/// loads the result.
pub fn import(files: &[PathBuf]) -> Result<String, Diagnostics> {
    let mut all = Diagnostics::default();
    let mut merged: BTreeMap<Name, Merged> = BTreeMap::new();
    for f in files {
        match records::read_file(f) {
            Ok(entries) => {
                for e in entries {
                    let m = merged.entry(e.name).or_default();
                    m.ttl = match (m.ttl, e.ttl) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    match e.data {
                        EntryData::A(ip) if !m.a.contains(&ip) => m.a.push(ip),
                        EntryData::Aaaa(ip) if !m.aaaa.contains(&ip) => m.aaaa.push(ip),
                        EntryData::Cname(t) => m.cname = Some(t),
                        _ => {}
                    }
                }
            }
            Err(d) => all.0.extend(d.0),
        }
    }
    if !all.is_empty() {
        return Err(all);
    }
    let mut out = String::from("# Written by `pldns import`.\n");
    for (name, m) in &merged {
        let _ = write!(out, "\n[[record]]\nname = \"{name}\"\n");
        if let Some(t) = &m.cname {
            let _ = writeln!(out, "cname = \"{t}\"");
        } else {
            let list = |v: Vec<String>| {
                v.iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if !m.a.is_empty() {
                let _ = writeln!(
                    out,
                    "a = [{}]",
                    list(m.a.iter().map(|i| i.to_string()).collect())
                );
            }
            if !m.aaaa.is_empty() {
                let _ = writeln!(
                    out,
                    "aaaa = [{}]",
                    list(m.aaaa.iter().map(|i| i.to_string()).collect())
                );
            }
        }
        if let Some(ttl) = m.ttl {
            let _ = writeln!(out, "ttl = {ttl}");
        }
    }
    Ok(out)
}

fn text(wire: &[u8]) -> String {
    let mut s = String::new();
    let _ = write_text(wire, &mut s);
    s
}

/// The table as hosts lines (CNAMEs, which hosts files cannot hold, as
/// comments), zone by zone.
pub fn export_hosts(snap: &Snapshot) -> String {
    let mut out = String::from("# Written by `pldns export --format hosts`.\n");
    for (zi, z) in snap
        .zones
        .iter()
        .enumerate()
        .filter(|(_, z)| z.local.is_some())
    {
        let _ = writeln!(out, "\n# zone {}", z.name);
        for n in sorted(snap, zi) {
            let name = text(n.name());
            for ip in n.a() {
                let _ = writeln!(out, "{ip} {name}");
            }
            for ip in n.aaaa() {
                let _ = writeln!(out, "{ip} {name}");
            }
            if let Some((target, _)) = n.cname() {
                let _ = writeln!(
                    out,
                    "# {name} CNAME {} (not expressible in hosts format)",
                    text(target)
                );
            }
        }
    }
    out
}

fn sorted(snap: &Snapshot, zone: usize) -> Vec<crate::table::NodeRef<'_>> {
    let mut v: Vec<_> = snap
        .table()
        .iter()
        .filter(|n| n.zone() == zone && !n.is_empty_non_terminal())
        .collect();
    v.sort_by_key(|n| text(n.name()));
    v
}

//! `pldns records add NAME IP [--file F]` and `pldns records remove NAME`:
//! edits of the record files the config reads, checked before anything is
//! written, so an admin never hand-edits under pressure. The name must land
//! in a zone with records (public names mapped as the loader maps them),
//! the address must be one, the edited file must load, and the table built
//! with it must take it (no CNAME beside an address); then the file is
//! replaced whole ([`atomic`]) and the running daemon's reload sees exactly
//! that one change. JSON files are `az` output: they are replaced by a new
//! export, never edited here.

pub mod atomic;
pub mod text;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::Config;
use crate::name::Name;
use crate::records::{self, Contents, EntryData};
use crate::snapshot::Snapshot;
use crate::sources::{SourceId, SourceSet};
use crate::zonemap::ZoneMap;

/// The file `records add` writes when not told: this name in the zone's
/// first records directory.
pub const DEFAULT_FILE: &str = "pldns-records.hosts";

/// What an edit did, for the command to print.
#[derive(Debug, Default)]
pub struct Done {
    /// Lines for stdout.
    pub report: Vec<String>,
    /// Lines for stderr (notes; with `still_served`, the reasons).
    pub notes: Vec<String>,
    /// The name is still answered after the edit (`remove` only).
    pub still_served: bool,
}

/// The config and every record source as the daemon would load them.
struct World {
    config: Config,
    placement: ZoneMap,
    sources: SourceSet,
}

impl World {
    fn load(config: &Path) -> Result<World, String> {
        let config = crate::config::load(config).map_err(|d| {
            let lines: Vec<String> = d.iter().map(|d| d.to_string()).collect();
            format!(
                "{}\nthe configuration does not load; fix it first",
                lines.join("\n")
            )
        })?;
        let mut sources = SourceSet::new(None, false);
        sources.refresh_files(&config, &[]);
        sources.build(&config);
        Ok(World {
            placement: records::placement(&config),
            config,
            sources,
        })
    }

    /// The name in the table a name given on the command line stands for,
    /// and its zone.
    fn place(&self, given: &str) -> Result<(Name, usize), String> {
        let plain = !given.is_empty()
            && given
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !plain {
            return Err(format!(
                "{given:?} is not a host name (letters, digits, '-', '_' and '.')"
            ));
        }
        let name = Name::from_text(given).map_err(|e| format!("{given}: {e}"))?;
        let Some(placed) = self.placement.place(name.wire()) else {
            let zones: Vec<String> = self
                .config
                .zones
                .iter()
                .filter(|z| z.has_records())
                .map(|z| z.name.to_string())
                .collect();
            return Err(format!(
                "{given} is in no zone with records (they are: {}); the daemon would skip it",
                if zones.is_empty() {
                    "none".to_string()
                } else {
                    zones.join(", ")
                }
            ));
        };
        let zone = &self.config.zones[placed.zone];
        if placed.name.wire() == zone.name.wire() {
            return Err(format!(
                "{given} is the apex of zone {}, which holds only its SOA and NS",
                zone.name
            ));
        }
        Ok((Name::from_canonical_wire(placed.name.wire()), placed.zone))
    }

    /// True when `entry_name` (as written in a file) lands on `target`.
    fn lands_on(&self, entry_name: &Name, target: &Name) -> bool {
        self.placement
            .place(entry_name.wire())
            .is_some_and(|p| p.name.wire() == target.wire())
    }

    /// Every file the daemon reads now.
    fn files(&self) -> Vec<PathBuf> {
        self.sources.files()
    }

    /// The table with `path` holding `contents`; `Err` with the reason the
    /// daemon would refuse it.
    fn try_with(&mut self, path: &Path, contents: Contents) -> Result<Snapshot, String> {
        let id = SourceId::File(path.to_path_buf());
        let mut config = self.config.clone();
        if !self.files().contains(&path.to_path_buf()) {
            // A new file in a records directory: named so the set has it.
            if let Some(z) = config.zones.iter_mut().find(|z| z.has_records()) {
                z.records
                    .get_or_insert_with(Vec::new)
                    .push(path.to_path_buf());
            }
            self.sources.refresh_files(&config, &[]);
            self.sources.build(&config);
        }
        self.sources.submit(id.clone(), contents, false);
        let built = self.sources.build(&config);
        if let Some(rejected) = self.sources.get(&id).and_then(|s| s.rejected.clone()) {
            let lines: Vec<String> = rejected.iter().map(|d| d.to_string()).collect();
            return Err(lines.join("\n"));
        }
        Ok(Snapshot::build(config, built.records, None))
    }
}

/// What `pldns records` says in the files it writes.
fn stamp(verb: &str) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{verb} by pldns records on {}",
        crate::metrics::page::time::utc(now)
    )
}

fn normal(path: &Path) -> PathBuf {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .components()
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Editable {
    Hosts,
    Toml,
}

fn editable(path: &Path) -> Result<Editable, String> {
    let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if file.eq_ignore_ascii_case("hosts") || ext == "hosts" {
        Ok(Editable::Hosts)
    } else if ext == "toml" {
        Ok(Editable::Toml)
    } else if ext == "json" {
        Err(format!(
            "{} is az output (JSON): replace it with a new export (az network private-endpoint show ... > FILE), or add the record to a .hosts or .toml file",
            path.display()
        ))
    } else {
        Err(format!(
            "{}: not a record file pldns reads (.hosts, .toml, or a file named hosts)",
            path.display()
        ))
    }
}

/// Reads a record file that must load now; `None` when it does not exist.
fn read_loading(path: &Path) -> Result<Option<(Vec<u8>, Contents)>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    match records::parse(path, &bytes) {
        Ok(c) => Ok(Some((bytes, c))),
        Err(d) => {
            let lines: Vec<String> = d.iter().map(|d| d.to_string()).collect();
            Err(format!(
                "{}\n{} does not load as it is: fix it first (pldns check shows the same)",
                lines.join("\n"),
                path.display()
            ))
        }
    }
}

/// The entries of `new` must be those of `old` and then `added`, in order
/// (the loader sees only the edit, nothing else moved).
fn same_entries_plus(old: &Contents, new: &Contents, added: &[EntryData]) -> bool {
    let key = |e: &records::Entry| (e.name.clone(), e.data.clone(), e.ttl);
    new.entries.len() == old.entries.len() + added.len()
        && old
            .entries
            .iter()
            .zip(&new.entries)
            .all(|(a, b)| key(a) == key(b))
        && new.entries[old.entries.len()..]
            .iter()
            .map(|e| &e.data)
            .eq(added.iter())
}

/// `pldns records add NAME IP [--file F]`.
pub fn add(config: &Path, given: &str, ip: &str, file: Option<&Path>) -> Result<Done, String> {
    let ip: IpAddr = ip.trim().parse().map_err(|_| {
        if given.trim().parse::<IpAddr>().is_ok() {
            format!(
                "{ip:?} is not an IPv4 or IPv6 address: the name comes first (pldns records add {} {})",
                ip.trim(),
                given.trim()
            )
        } else {
            format!("{ip:?} is not an IPv4 or IPv6 address")
        }
    })?;
    let data = EntryData::from(ip);
    let mut world = World::load(config)?;
    let (target, zi) = world.place(given)?;
    let zone = world.config.zones[zi].name.clone();
    let path = match file {
        Some(f) => normal(f),
        None => default_file(&world, zi)?,
    };
    let format = editable(&path)?;
    check_read_by_config(&world, &path)?;
    let current = read_loading(&path)?;
    // Already served? Then there is nothing to do.
    let snap = world.try_with(
        &path,
        current.as_ref().map(|(_, c)| c.clone()).unwrap_or_default(),
    )?;
    if let Some(node) = snap.node(target.wire()) {
        let has = match data {
            EntryData::A(v4) => node.a().contains(&v4),
            EntryData::Aaaa(v6) => node.aaaa().contains(&v6),
            EntryData::Cname(_) => false,
        };
        if has {
            return Ok(Done {
                report: vec![format!("{target} already has {ip}: nothing to do")],
                ..Done::default()
            });
        }
    }
    let old_text = match &current {
        Some((bytes, _)) => std::str::from_utf8(bytes)
            .map_err(|_| {
                format!(
                    "{} is not UTF-8 (saved by Windows as UTF-16?): edit it by hand or save it as UTF-8",
                    path.display()
                )
            })?
            .to_string(),
        None => match format {
            Editable::Hosts => "# Records added by `pldns records add` (hosts lines: IP NAME). Edit freely.\n".into(),
            Editable::Toml => String::new(),
        },
    };
    let written_name = given.trim_end_matches('.').to_ascii_lowercase();
    let new_text = match format {
        Editable::Hosts => {
            text::hosts_add(&old_text, &ip.to_string(), &written_name, &stamp("added"))
        }
        Editable::Toml => text::toml_add(&old_text, &written_name, ip, &stamp("added")),
    };
    let new = records::parse(&path, new_text.as_bytes())
        .map_err(|d| format!("the edit would not load ({d:?}): nothing written"))?;
    let old = current.as_ref().map(|(_, c)| c.clone()).unwrap_or_default();
    if !same_entries_plus(&old, &new, std::slice::from_ref(&data)) {
        return Err(format!(
            "{}: the edit would change more than the one record: nothing written",
            path.display()
        ));
    }
    world.try_with(&path, new)?;
    let expected = current.as_ref().map(|(b, _)| b.as_slice());
    let written = atomic::replace(&path, expected, new_text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mapped = if target.to_string() == written_name {
        String::new()
    } else {
        format!(" (as {target})")
    };
    Ok(Done {
        report: vec![format!(
            "added {ip} for {written_name}{mapped} in zone {zone} to {}",
            written.display()
        )],
        notes: vec![
            "the running pldns loads it within a second (pldns status shows the reload)".into(),
        ],
        still_served: false,
    })
}

/// `records add`'s file when none is given: [`DEFAULT_FILE`] in the zone's
/// first records directory, else the zone's first hosts or TOML file.
fn default_file(world: &World, zi: usize) -> Result<PathBuf, String> {
    let zone = &world.config.zones[zi];
    let listed = zone.records.iter().flatten();
    if let Some(dir) = listed.clone().find(|p| p.is_dir()) {
        return Ok(normal(&dir.join(DEFAULT_FILE)));
    }
    listed
        .clone()
        .find(|p| editable(p).is_ok())
        .map(|p| normal(p))
        .ok_or_else(|| {
            format!(
                "zone {} has no records directory and no .hosts or .toml file to add to: give --file (a file the config reads), or add a records directory to the zone",
                zone.name
            )
        })
}

/// The daemon reads `path`: it is one of its files, or a record file name
/// in one of its records directories.
fn check_read_by_config(world: &World, path: &Path) -> Result<(), String> {
    if world.files().iter().any(|f| f == path) {
        return Ok(());
    }
    let in_dir = world
        .config
        .zones
        .iter()
        .flat_map(|z| z.records.iter().flatten())
        .any(|r| r.is_dir() && path.parent() == Some(normal(r).as_path()));
    if in_dir && records::is_record_file_name(path) {
        return Ok(());
    }
    Err(format!(
        "{} is not read by {}: name a file it reads (pldns check lists them), or one in a records directory",
        path.display(),
        world.config.path.display()
    ))
}

/// `pldns records remove NAME`: every line and table for the name, in
/// every hosts and TOML file the config reads.
pub fn remove(config: &Path, given: &str) -> Result<Done, String> {
    let mut world = World::load(config)?;
    let (target, _) = world.place(given)?;
    let mut done = Done::default();
    let mut edits: Vec<(PathBuf, Vec<u8>, String)> = Vec::new();
    let mut after: Option<Snapshot> = None;
    for path in world.files() {
        let (bytes, contents) = match read_loading(&path) {
            Ok(Some(found)) => found,
            Ok(None) => continue,
            Err(_) => {
                done.notes.push(format!(
                    "{}: does not load now, so it was not searched (its last good contents may hold {target}: pldns export shows what is served)",
                    path.display()
                ));
                continue;
            }
        };
        let hits: Vec<&records::Entry> = contents
            .entries
            .iter()
            .filter(|e| world.lands_on(&e.name, &target))
            .collect();
        if hits.is_empty() {
            continue;
        }
        let lines: Vec<usize> = hits.iter().map(|e| e.line).collect();
        let at = |lines: &[usize]| {
            let mut l = lines.to_vec();
            l.dedup();
            l.iter()
                .map(|n| format!("{}:{n}", path.display()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Ok(format) = editable(&path) else {
            done.notes.push(format!(
                "{}: {target} comes from az output (JSON), which is not edited: export it again once the private endpoint is gone, or remove the file",
                at(&lines)
            ));
            continue;
        };
        let Ok(old_text) = std::str::from_utf8(&bytes) else {
            done.notes.push(format!(
                "{}: not UTF-8 (saved as UTF-16?): remove {target} from it by hand",
                at(&lines)
            ));
            continue;
        };
        let new_text = match format {
            Editable::Hosts => {
                text::hosts_remove(old_text, |n| {
                    Name::from_text(n).is_ok_and(|n| world.lands_on(&n, &target))
                })
                .0
            }
            Editable::Toml => match text::toml_remove(old_text, &lines) {
                Ok(t) => t,
                Err(line) => {
                    done.notes.push(format!(
                        "{}:{line}: not a [[record]] table: remove {target} from it by hand",
                        path.display()
                    ));
                    continue;
                }
            },
        };
        let new = records::parse(&path, new_text.as_bytes()).map_err(|_| {
            format!(
                "{}: the edit would not load: nothing written",
                path.display()
            )
        })?;
        let expected: Vec<_> = contents
            .entries
            .iter()
            .filter(|e| !world.lands_on(&e.name, &target))
            .map(|e| (e.name.clone(), e.data.clone(), e.ttl))
            .collect();
        let got: Vec<_> = new
            .entries
            .iter()
            .map(|e| (e.name.clone(), e.data.clone(), e.ttl))
            .collect();
        if got != expected {
            return Err(format!(
                "{}: the edit would change more than {target}'s records: nothing written",
                path.display()
            ));
        }
        after = Some(world.try_with(&path, new)?);
        done.report
            .push(format!("removed {target} from {}", at(&lines)));
        edits.push((path, bytes, new_text));
    }
    if edits.is_empty() {
        let mut why = format!("{target}: no .hosts or .toml line to remove");
        for n in &done.notes {
            why.push('\n');
            why.push_str(n);
        }
        if done.notes.is_empty() {
            why = format!(
                "{target} is in no record file the config reads: nothing to remove (Azure sync or a secondary zone may serve it: pldns status)"
            );
        }
        return Err(why);
    }
    for (path, old, new) in &edits {
        atomic::replace(path, Some(old), new.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    done.still_served = after
        .as_ref()
        .and_then(|s| s.node(target.wire()))
        .is_some_and(|n| !n.a().is_empty() || !n.aaaa().is_empty() || n.cname().is_some());
    if !edits.is_empty() {
        done.notes.push(
            "the running pldns loads the change within a second (pldns status shows the reload)"
                .into(),
        );
    }
    Ok(done)
}

#[cfg(test)]
mod tests;

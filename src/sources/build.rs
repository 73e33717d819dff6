//! One table from every source. Each source goes in whole or not at all:
//! a source whose newest contents clash with the rest (a CNAME in one file
//! beside an A in another) keeps what the table held from it before, and
//! the clash is that source's error. Sources whose contents did not change
//! go in first, so the edit that brings a clash is the one refused, never
//! the data that was already in service.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Contents, EntryData, SourceId, SourceSet};
use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::name::{Name, write_text};
use crate::records::{self, Records};
use crate::table::{Conflict, Data, Origin, TableBuilder};
use crate::wire::NameBuf;
use crate::zonemap::Placed;

/// The table of a build and what the admin should hear about it.
pub struct Built {
    pub records: Records,
    /// Names skipped, names with addresses from sources that disagree,
    /// and the warnings of every source's contents.
    pub warnings: Vec<Diagnostic>,
}

/// The contents a source may contribute, best first: its newest, then what
/// the table held, then nothing.
struct Candidates {
    list: Vec<Option<Arc<Contents>>>,
    pick: usize,
    /// Shown in messages about the newest contents, and about older ones
    /// (the state directory's copy of a file, which holds those bytes).
    label_new: PathBuf,
    label_old: PathBuf,
    rejected: Vec<Diagnostic>,
}

impl Candidates {
    fn chosen(&self) -> Option<&Arc<Contents>> {
        self.list.get(self.pick).and_then(Option::as_ref)
    }

    fn label(&self) -> &PathBuf {
        if self.pick == 0 {
            &self.label_new
        } else {
            &self.label_old
        }
    }
}

fn text(wire: &[u8]) -> String {
    let mut s = String::new();
    let _ = write_text(wire, &mut s);
    s
}

impl SourceSet {
    /// Builds the table from every source's good contents (see the module
    /// comment for the order), records what each source now has in
    /// service, and returns the table with the warnings.
    pub fn build(&mut self, config: &Config) -> Built {
        let ids = self.build_order();
        let records_ns = self.records_ns_dir();
        let mut cands: Vec<Candidates> = ids
            .iter()
            .map(|id| {
                let src = &self.sources[id];
                let mut list = vec![src.current.clone()];
                if !src.stable() {
                    if src.applied.is_some() {
                        list.push(src.applied.clone());
                    }
                    if list.iter().any(Option::is_some) {
                        list.push(None);
                    }
                }
                let live = id.label();
                let kept = match (id.file(), &records_ns) {
                    (Some(path), Some(dir)) => dir.join(crate::statedir::key_of(path)),
                    _ => live.clone(),
                };
                let label_new = if src.from_state { kept.clone() } else { live };
                Candidates {
                    list,
                    pick: 0,
                    label_new,
                    label_old: kept,
                    rejected: Vec::new(),
                }
            })
            .collect();
        // Unchanged sources first: they were consistent together before.
        let mut order: Vec<usize> = (0..ids.len())
            .filter(|&i| cands[i].list.len() == 1)
            .collect();
        order.extend((0..ids.len()).filter(|&i| cands[i].list.len() > 1));

        let placement = records::placement(config);
        // A secondary zone's source fills that zone alone (and no other
        // source fills it): Some(zone index), Some(None) when the zone is no
        // longer a secondary zone here.
        let secondary_of: Vec<Option<Option<usize>>> = ids
            .iter()
            .map(|id| match id {
                SourceId::Secondary(zone) => Some(config.zones.iter().position(|z| {
                    z.is_secondary() && Name::from_text(zone).is_ok_and(|n| n == z.name)
                })),
                _ => None,
            })
            .collect();
        let apexes: Vec<usize> = config.zones.iter().map(|z| z.name.wire().len()).collect();
        let (table, warnings) = 'attempt: loop {
            let mut builder = TableBuilder::new(config.zones.len());
            let mut warnings = Vec::new();
            for &i in &order {
                let Some(contents) = cands[i].chosen().cloned() else {
                    continue;
                };
                let label = cands[i].label().clone();
                for entry in &contents.entries {
                    let placed = match secondary_of[i] {
                        // Names the copy holds under a more specific zone
                        // configured here are not this zone's to answer.
                        Some(own) => own
                            .filter(|&zi| placement.zone_of(entry.name.wire()) == Some(zi))
                            .and_then(|zi| {
                                let name = NameBuf::from_wire(entry.name.wire())?;
                                Some(Placed {
                                    zone: zi,
                                    name,
                                    via_twin: false,
                                })
                            }),
                        None => placement.place(entry.name.wire()),
                    };
                    let Some(Placed { zone: zi, name, .. }) = placed else {
                        if secondary_of[i].is_some() {
                            continue;
                        }
                        warnings.push(Diagnostic::at(
                            &label,
                            entry.line,
                            outside_message(&entry.name),
                        ));
                        continue;
                    };
                    let zone = &config.zones[zi];
                    if name.wire() == zone.name.wire() {
                        warnings.push(Diagnostic::at(
                            &label,
                            entry.line,
                            format!(
                                "{} is the apex of zone {}, which holds only its SOA and NS: skipped",
                                entry.name, zone.name
                            ),
                        ));
                        continue;
                    }
                    let data = match &entry.data {
                        EntryData::A(ip) => Data::A(*ip),
                        EntryData::Aaaa(ip) => Data::Aaaa(*ip),
                        EntryData::Cname(target) => Data::Cname(target.wire()),
                    };
                    let ttl = entry.ttl.unwrap_or(zone.ttl);
                    let origin = (i as u32, entry.line as u32);
                    if let Err(conflict) = builder.insert(name.wire(), zi, data, ttl, origin) {
                        let at = |(s, l): Origin| {
                            let shown = cands.get(s as usize).map_or(&label, |c| c.label());
                            format!("{}:{l}", shown.display())
                        };
                        let message = match conflict {
                            Conflict::CnameAndOther(first) => format!(
                                "{}: a CNAME cannot stand beside other data for the same name (see {})",
                                text(name.wire()),
                                at(first)
                            ),
                            Conflict::TwoCnames { first, existing } => format!(
                                "{} has two CNAME targets, {} (at {}) and {}",
                                text(name.wire()),
                                text(&existing),
                                at(first),
                                match &entry.data {
                                    EntryData::Cname(t) => t.to_string(),
                                    _ => String::new(),
                                }
                            ),
                        };
                        let c = &mut cands[i];
                        c.rejected.push(Diagnostic::at(&label, entry.line, message));
                        c.pick += 1;
                        continue 'attempt;
                    }
                }
                warnings.extend(contents.warnings.iter().cloned());
            }
            let (table, mixed) = builder.finish_report(&apexes);
            for m in mixed {
                let at = |(s, l): Origin| {
                    let shown = cands
                        .get(s as usize)
                        .map_or_else(PathBuf::new, |c| c.label().clone());
                    (shown, l as usize)
                };
                let (first_file, first_line) = at(m.first);
                let (file, line) = at(m.second);
                warnings.push(Diagnostic::at(
                    &file,
                    line,
                    format!(
                        "{} also gets addresses from {}:{first_line}, and the two disagree: clients get every address in rotation, a stale one included",
                        text(&m.name),
                        first_file.display()
                    ),
                ));
            }
            break (table, warnings);
        };

        let mut pulled = vec![None; config.zones.len()];
        for (i, id) in ids.iter().enumerate() {
            let Some(src) = self.sources.get_mut(id) else {
                continue;
            };
            let c = &cands[i];
            src.applied = c.chosen().cloned();
            src.rejected = (c.pick > 0).then(|| Diagnostics(c.rejected.clone()));
            if let (Some(Some(zi)), Some(contents)) = (secondary_of[i], c.chosen())
                && let Some(slot) = pulled.get_mut(zi)
            {
                *slot = contents.pulled.clone();
            }
        }
        Built {
            records: Records {
                table,
                files: self.files(),
                pulled,
            },
            warnings,
        }
    }

    fn records_ns_dir(&self) -> Option<PathBuf> {
        self.state
            .as_ref()
            .map(|s| s.namespace(super::files::NAMESPACE).dir().to_path_buf())
    }
}

/// Why a name was skipped, with the fix when it is a Backup name whose
/// zone is missing (a zone named after the region instead of its geo code).
fn outside_message(name: &Name) -> String {
    let text = name.to_string();
    let mut msg = format!("{text} is outside every zone with records: skipped");
    for suffix in [
        "backup.windowsazure.com",
        "backup.windowsazure.us",
        "backup.windowsazure.cn",
    ] {
        let Some(head) = text.strip_suffix(&format!(".{suffix}")) else {
            continue;
        };
        if let Some(code) = head.rsplit('.').next().filter(|c| *c != "privatelink") {
            msg.push_str(&format!(
                " (its zone is privatelink.{code}.{suffix}, named after the Backup geo code {code:?})"
            ));
        }
        break;
    }
    msg
}

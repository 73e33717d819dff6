//! `pldns export --format zone`: one RFC 1035 zone file per zone with
//! records, each loadable on its own (`named-checkzone ZONE FILE`, a Windows
//! DNS zone created from a file), with the zone's SOA and NS as transfers
//! carry them.

use super::rdata::name_text;
use super::zone::ZoneView;
use super::zonefile::{Line, write_zone};
use crate::name::Name;
use crate::snapshot::Snapshot;

/// The file name a zone is written to: `<zone>.zone`.
pub fn file_name(zone: &Name) -> String {
    format!("{zone}.zone")
}

/// The zone file of one zone with records: the SOA, the NS, then the
/// records sorted by owner.
pub fn zone_text(view: ZoneView<'_>) -> String {
    // The apex first, then by owner (a secondary zone's copy whole).
    let apex = view.apex();
    let mut records: Vec<_> = view.records().collect();
    records.sort_by_cached_key(|r| (r.owner != apex, name_text(r.owner), r.rtype));
    let soa = view.soa();
    let mut out = String::new();
    let comment = format!(
        "zone {}, serial {}, {} records; written by pldns {}\ncheck with: named-checkzone {} {}",
        view.name(),
        view.serial(),
        view.local.records,
        env!("CARGO_PKG_VERSION"),
        view.name(),
        file_name(view.name()),
    );
    write_zone(
        &mut out,
        view.name(),
        &comment,
        (soa.owner, soa.rtype, soa.ttl, soa.value.bytes()),
        records
            .iter()
            .map(|r| -> Line<'_> { (r.owner, r.rtype, r.ttl, r.value.bytes()) }),
    );
    out
}

/// Every zone with records: (zone, file text).
pub fn zone_files(snap: &Snapshot) -> Vec<(Name, String)> {
    snap.zones
        .iter()
        .filter_map(|z| ZoneView::find(snap, z.name.wire()))
        .map(|v| (v.name().clone(), zone_text(v)))
        .collect()
}

/// `export --format zone` with `--dir DIR` (a `<zone>.zone` file per zone),
/// `--zone NAME` (that zone on stdout) or neither (the one zone with records
/// on stdout; with several, the caller must choose). Returns what to print.
pub fn run(
    snap: &Snapshot,
    dir: Option<&std::path::Path>,
    zone: Option<&str>,
) -> Result<String, String> {
    let files = zone_files(snap);
    let names = files
        .iter()
        .map(|(z, _)| z.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(wanted) = zone {
        let wanted = Name::from_text(wanted).map_err(|e| format!("--zone: {e}"))?;
        return files
            .into_iter()
            .find(|(z, _)| *z == wanted)
            .map(|(_, text)| text)
            .ok_or_else(|| format!("no zone with records named {wanted} (zones: {})", names));
    }
    let Some(dir) = dir else {
        return match files.len() {
            1 => Ok(files.into_iter().next().map(|(_, t)| t).unwrap_or_default()),
            0 => Err("no zone with records to export".into()),
            _ => Err(format!(
                "{} zones with records ({}): a zone file holds one zone; use --dir DIR for one file per zone, or --zone NAME",
                files.len(),
                names
            )),
        };
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut report = String::new();
    for (zone, text) in &files {
        let path = dir.join(file_name(zone));
        crate::statedir::write_atomic(&path, text.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        report.push_str(&format!("wrote {}\n", path.display()));
    }
    Ok(report)
}

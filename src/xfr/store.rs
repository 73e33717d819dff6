//! What zone transfer keeps on disk between runs: the serials of the zones
//! with records (so a restart never moves a serial back, nor bumps one whose
//! data did not change). Behind the [`SerialStore`] trait;
//! [`StateSerialStore`] keeps them in the state directory.

use std::collections::BTreeMap;
use std::path::Path;

use tracing::warn;

use super::serial::{self, Prior};
use crate::name::Name;
use crate::snapshot::Snapshot;
use crate::statedir::Namespace;

/// Zone -> its serial and the hash of its data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeptSerials(pub BTreeMap<Name, Prior>);

impl KeptSerials {
    /// One line per zone: `<zone> <serial> <hash in hex>`.
    pub fn to_text(&self) -> String {
        let mut s = String::from("# pldns zone serials: zone serial content-hash\n");
        for (zone, p) in &self.0 {
            s.push_str(&format!("{zone}. {} {:016x}\n", p.serial, p.hash));
        }
        s
    }

    /// Reads [`to_text`](Self::to_text)'s format; lines that do not parse are
    /// skipped (the zone then starts from the clock, as on a first run).
    pub fn from_text(text: &str) -> KeptSerials {
        let mut kept = BTreeMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut parts = line.split_whitespace();
            let parsed = (|| {
                let zone = Name::from_text(parts.next()?).ok()?;
                let serial = parts.next()?.parse().ok()?;
                let hash = u64::from_str_radix(parts.next()?, 16).ok()?;
                Some((zone, Prior { serial, hash }))
            })();
            match parsed {
                Some((zone, prior)) => {
                    kept.insert(zone, prior);
                }
                None if line.trim().is_empty() => {}
                None => warn!("kept serials: skipping unreadable line {line:?}"),
            }
        }
        KeptSerials(kept)
    }

    /// The serials of every zone with records in `snap`.
    pub fn of(snap: &Snapshot) -> KeptSerials {
        KeptSerials(
            snap.zones
                .iter()
                .filter_map(|z| {
                    // A secondary zone's serial is its primary's.
                    let l = z.local.as_ref().filter(|l| !l.secondary)?;
                    let p = Prior {
                        serial: l.soa.serial(),
                        hash: l.content_hash,
                    };
                    Some((z.name.clone(), p))
                })
                .collect(),
        )
    }

    /// Gives a snapshot built without a predecessor (at start-up) the serials
    /// kept from the last run: the same serial for unchanged data, a greater
    /// one for changed data (see [`serial::next`]).
    pub fn restore(&self, snap: &mut Snapshot, now: u32) {
        for z in &mut snap.zones {
            let (Some(l), Some(prior)) = (z.local.as_mut(), self.0.get(&z.name)) else {
                continue;
            };
            l.set_serial(serial::next(Some(*prior), l.content_hash, now));
        }
    }
}

/// Where kept serials live.
pub trait SerialStore: Send + Sync {
    fn load(&self) -> KeptSerials;
    fn save(&self, kept: &KeptSerials) -> std::io::Result<()>;
}

/// Kept serials in the state directory: the `serials` file of the
/// `zones` namespace.
pub struct StateSerialStore {
    pub ns: Namespace,
}

const SERIALS_KEY: &str = "serials";

impl SerialStore for StateSerialStore {
    fn load(&self) -> KeptSerials {
        match self.ns.read(Path::new(SERIALS_KEY)) {
            Ok(Some(bytes)) => KeptSerials::from_text(&String::from_utf8_lossy(&bytes)),
            Ok(None) => KeptSerials::default(),
            Err(e) => {
                warn!(
                    "cannot read kept serials in {}: {e}; serials start from the clock",
                    self.ns.dir().display()
                );
                KeptSerials::default()
            }
        }
    }

    fn save(&self, kept: &KeptSerials) -> std::io::Result<()> {
        self.ns
            .write(Path::new(SERIALS_KEY), kept.to_text().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_bad_lines() {
        let mut kept = KeptSerials::default();
        kept.0.insert(
            Name::from_text("privatelink.blob.core.windows.net").unwrap(),
            Prior {
                serial: 1_750_000_000,
                hash: 0xdead_beef_0123_4567,
            },
        );
        let text = kept.to_text();
        assert_eq!(KeptSerials::from_text(&text), kept);
        let with_junk = format!("{text}garbage line\nz.test notanumber 00\n\n");
        assert_eq!(KeptSerials::from_text(&with_junk), kept);
    }

    #[test]
    fn restore_keeps_unchanged_serials_and_moves_changed_ones_forward() {
        use crate::xfr::testutil::{CONFIG, n, snapshot};
        let serial = |s: &Snapshot, zone: &str| {
            let z = crate::xfr::zone::ZoneView::find(s, n(zone).wire()).unwrap();
            let in_soa = crate::xfr::msg::read::soa_serial(z.local.soa.rdata());
            assert_eq!(in_soa, Some(z.serial()));
            z.serial()
        };
        let recs = [
            ("a.zone.test", "A 10.0.0.1"),
            ("x.other.test", "A 10.0.0.9"),
        ];
        let before = snapshot(CONFIG, &recs, None);
        let kept = KeptSerials::of(&before);
        // A restart with zone.test edited while down, and the clock set back.
        let changed = [
            ("a.zone.test", "A 10.0.0.2"),
            ("x.other.test", "A 10.0.0.9"),
        ];
        let mut after = snapshot(CONFIG, &changed, None);
        kept.restore(&mut after, 1000);
        assert_eq!(serial(&after, "other.test"), serial(&before, "other.test"));
        assert!(serial::gt(
            serial(&after, "zone.test"),
            serial(&before, "zone.test")
        ));
    }

    #[test]
    fn state_store_saves_atomically_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateSerialStore {
            ns: crate::statedir::StateDir::at(dir.path()).namespace("zones"),
        };
        assert_eq!(store.load(), KeptSerials::default());
        let mut kept = KeptSerials::default();
        kept.0.insert(
            Name::from_text("z.test").unwrap(),
            Prior { serial: 5, hash: 6 },
        );
        store.save(&kept).unwrap();
        assert_eq!(store.load(), kept);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("zones"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["serials"], "no temporary file left behind");
    }
}

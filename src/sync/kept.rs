//! The state directory's copy of each source's last good pull
//! (`<state>/sync/<name>.jsonl`), so that a restart without Azure serves
//! what the last run pulled. Written whole after every good pull (through
//! `statedir`: temp file, fsync, rename); read back at start-up, before the
//! first table is built.
//!
//! JSON Lines: line 1 says what the file is and when the pull ended; every
//! further line is one Azure resource (a private endpoint, a record set)
//! with the records it gave. The records pldns serves from a pull carry the
//! line of their resource in this file, so `sync:<name>:LINE` in a warning
//! is `sed -n LINEp` of the copy.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::Pull;
use crate::config::Config;
use crate::diag::Diagnostic;
use crate::name::Name;
use crate::records::{Contents, Entry, EntryData};
use crate::sources::{SourceId, SourceSet};
use crate::statedir::{Namespace, StateDir};

/// The state directory namespace Azure sync owns.
pub const NAMESPACE: &str = "sync";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    pldns_sync: u32,
    source: String,
    /// Unix seconds at the end of the pull.
    pulled_at: u64,
    private_endpoints: usize,
    private_dns_zones: Vec<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Resource {
    origin: String,
    records: Vec<Record>,
}

#[derive(Serialize, Deserialize)]
struct Record {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<u32>,
}

/// A pull read back from the state directory.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptPull {
    pub pull: Pull,
    /// When that pull ended.
    pub pulled_at: SystemTime,
}

/// The key of source `name`'s copy in the [`NAMESPACE`].
pub fn key(name: &str) -> PathBuf {
    PathBuf::from(format!("{name}.jsonl"))
}

pub fn namespace(dir: &StateDir) -> Namespace {
    dir.namespace(NAMESPACE)
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The copy's bytes for `pull`, which ended at `pulled_at`.
pub fn encode(id: &SourceId, pull: &Pull, pulled_at: SystemTime) -> Vec<u8> {
    let header = Header {
        pldns_sync: VERSION,
        source: id.to_string(),
        pulled_at: unix(pulled_at),
        private_endpoints: pull.private_endpoints,
        private_dns_zones: pull.zones.iter().map(Name::to_string).collect(),
        warnings: pull.warnings.clone(),
    };
    let mut by_origin: Vec<Vec<Record>> = pull.origins.iter().map(|_| Vec::new()).collect();
    for e in &pull.entries {
        let Some(slot) = e.line.checked_sub(1).and_then(|i| by_origin.get_mut(i)) else {
            continue;
        };
        let (kind, data) = match &e.data {
            EntryData::A(ip) => ("A", ip.to_string()),
            EntryData::Aaaa(ip) => ("AAAA", ip.to_string()),
            EntryData::Cname(t) => ("CNAME", t.to_string()),
        };
        slot.push(Record {
            name: e.name.to_string(),
            kind: kind.into(),
            data,
            ttl: e.ttl,
        });
    }
    // Serialising these plain structs cannot fail.
    let mut out = serde_json::to_vec(&header).unwrap_or_default();
    out.push(b'\n');
    for (origin, records) in pull.origins.iter().zip(by_origin) {
        let line = Resource {
            origin: origin.clone(),
            records,
        };
        out.extend(serde_json::to_vec(&line).unwrap_or_default());
        out.push(b'\n');
    }
    out
}

/// Reads a copy [`encode`] wrote; the error names the line at fault.
pub fn decode(bytes: &[u8]) -> Result<KeptPull, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
    let mut lines = text.lines().enumerate();
    let header: Header = match lines.next() {
        Some((_, l)) => serde_json::from_str(l).map_err(|e| format!("line 1: {e}"))?,
        None => return Err("empty".into()),
    };
    if header.pldns_sync != VERSION {
        return Err(format!(
            "line 1: format version {} (this pldns reads {VERSION})",
            header.pldns_sync
        ));
    }
    let mut pull = Pull {
        private_endpoints: header.private_endpoints,
        warnings: header.warnings,
        ..Pull::default()
    };
    for z in &header.private_dns_zones {
        pull.zones
            .push(Name::from_text(z).map_err(|e| format!("line 1: zone {z:?}: {e}"))?);
    }
    for (i, line) in lines {
        let at = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let r: Resource = serde_json::from_str(line).map_err(|e| format!("line {at}: {e}"))?;
        pull.origins.push(r.origin);
        let index = pull.origins.len();
        for rec in r.records {
            let bad = |what: &str| format!("line {at}: {what} {:?}", rec.data);
            let name = Name::from_text(&rec.name)
                .map_err(|e| format!("line {at}: name {:?}: {e}", rec.name))?;
            let data = match rec.kind.as_str() {
                "A" => EntryData::A(rec.data.parse().map_err(|_| bad("IPv4 address"))?),
                "AAAA" => EntryData::Aaaa(rec.data.parse().map_err(|_| bad("IPv6 address"))?),
                "CNAME" => {
                    EntryData::Cname(Name::from_text(&rec.data).map_err(|_| bad("CNAME target"))?)
                }
                other => return Err(format!("line {at}: record type {other:?}")),
            };
            pull.entries.push(Entry {
                name,
                data,
                ttl: rec.ttl,
                line: index,
            });
        }
    }
    Ok(KeptPull {
        pull,
        pulled_at: UNIX_EPOCH + Duration::from_secs(header.pulled_at),
    })
}

/// What the table gets from a pull: its entries, each at the line of its
/// resource in the kept copy (line 1 is the header), and its warnings.
pub fn contents(id: &SourceId, pull: &Pull) -> Contents {
    let label = id.label();
    Contents {
        entries: pull
            .entries
            .iter()
            .map(|e| Entry {
                line: e.line + 1,
                ..e.clone()
            })
            .collect(),
        warnings: pull
            .warnings
            .iter()
            .map(|w| Diagnostic::file(&label, w.clone()))
            .collect(),
        pulled: None,
    }
}

/// The kept pulls found at start-up, by source name, and what went wrong
/// reading them.
#[derive(Debug, Default)]
pub struct Restored {
    pub pulls: HashMap<String, KeptPull>,
    /// One line per copy that could not be used (it is left alone; the next
    /// good pull replaces it).
    pub notes: Vec<String>,
}

/// Hands every configured source's kept pull to `sources` as contents
/// read back from the state directory, so that the first table serves
/// them before any pull (between `Loader::open` and `Loader::first_build`).
pub fn restore(dir: &StateDir, sources: &mut SourceSet, config: &Config) -> Restored {
    let ns = namespace(dir);
    let mut restored = Restored::default();
    for name in super::source_names(&config.sync) {
        let key = key(&name);
        let shown = ns
            .path(&key)
            .unwrap_or_else(|| ns.dir().join(&key))
            .display()
            .to_string();
        match ns.read(&key) {
            Ok(None) => {}
            Err(e) => restored
                .notes
                .push(format!("cannot read the kept pull {shown}: {e}")),
            Ok(Some(bytes)) => match decode(&bytes) {
                Ok(kept) => {
                    let id = SourceId::Sync(name.clone());
                    sources.submit(id.clone(), contents(&id, &kept.pull), true);
                    restored.pulls.insert(name, kept);
                }
                Err(e) => restored.notes.push(format!(
                    "{shown}:{e}: the kept pull is not usable; ignored until the next good pull replaces it"
                )),
            },
        }
    }
    restored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Pull {
        let a = |n: &str, d: EntryData, ttl, line| Entry {
            name: Name::from_text(n).unwrap(),
            data: d,
            ttl,
            line,
        };
        Pull {
            private_endpoints: 1,
            zones: vec![Name::from_text("privatelink.blob.core.windows.net").unwrap()],
            origins: vec!["/subscriptions/s/pe1".into(), "/subscriptions/s/rs1".into()],
            entries: vec![
                a(
                    "acct.blob.core.windows.net",
                    EntryData::A("10.0.0.1".parse().unwrap()),
                    None,
                    1,
                ),
                a(
                    "kv.vault.azure.net",
                    EntryData::Aaaa("fd00::1".parse().unwrap()),
                    None,
                    1,
                ),
                a(
                    "alias.privatelink.blob.core.windows.net",
                    EntryData::Cname(
                        Name::from_text("acct.privatelink.blob.core.windows.net").unwrap(),
                    ),
                    Some(10),
                    2,
                ),
            ],
            warnings: vec!["/subscriptions/s/pe2: the connection is Pending".into()],
            requests: 0,
        }
    }

    #[test]
    fn a_pull_survives_the_round_trip() {
        let id = SourceId::Sync("sub".into());
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let bytes = encode(&id, &sample(), at);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.lines()
                .nth(2)
                .unwrap()
                .contains("/subscriptions/s/rs1")
        );
        let kept = decode(&bytes).unwrap();
        assert_eq!(kept.pulled_at, at);
        assert_eq!(kept.pull, sample());
    }

    #[test]
    fn served_entries_point_at_their_line_in_the_copy() {
        let id = SourceId::Sync("sub".into());
        let c = contents(&id, &sample());
        assert_eq!(
            c.entries.iter().map(|e| e.line).collect::<Vec<_>>(),
            [2, 2, 3]
        );
        assert_eq!(
            c.warnings[0].to_string(),
            "sync:sub: /subscriptions/s/pe2: the connection is Pending"
        );
    }

    #[test]
    fn a_damaged_copy_is_refused_with_its_line() {
        let id = SourceId::Sync("sub".into());
        let good = String::from_utf8(encode(&id, &sample(), SystemTime::now())).unwrap();
        let cut = &good[..good.len() - 20];
        assert!(decode(cut.as_bytes()).unwrap_err().starts_with("line 3:"));
        let bad_ip = good.replace("10.0.0.1", "10.0.0.999");
        assert!(
            decode(bad_ip.as_bytes())
                .unwrap_err()
                .contains("line 2: IPv4 address")
        );
        assert!(decode(b"").is_err());
        assert!(decode(b"{\"pldns_sync\": 9}").is_err());
    }
}

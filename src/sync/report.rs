//! Saying what a pull found: the change since the previous pull, per zone
//! (the daemon's log line), and the listing `pldns sync --once` prints,
//! names placed into zones by the record files' rules.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

use super::{Pull, SyncOptions, SyncSource};
use crate::config::Config;
use crate::name::{Name, write_text};
use crate::records::{self, Entry, EntryData};
use crate::zonemap::Placed;

/// Records added and removed in one zone between two pulls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneChange {
    pub zone: Name,
    pub added: usize,
    pub removed: usize,
}

/// (zone, placed name, record) for every entry that lands in a zone.
fn placed(config: &Config, entries: &[Entry]) -> BTreeSet<(usize, String, String)> {
    let placement = records::placement(config);
    entries
        .iter()
        .filter_map(|e| {
            let Placed { zone: zi, name, .. } = placement.place(e.name.wire())?;
            let mut text = String::new();
            let _ = write_text(name.wire(), &mut text);
            Some((zi, text, rdata(&e.data)))
        })
        .collect()
}

/// Per zone, what `new` adds to and removes from `old`; zones without a
/// change are left out.
pub fn changes(config: &Config, old: &[Entry], new: &[Entry]) -> Vec<ZoneChange> {
    let (old, new) = (placed(config, old), placed(config, new));
    let mut per_zone: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for (zi, ..) in new.difference(&old) {
        per_zone.entry(*zi).or_default().0 += 1;
    }
    for (zi, ..) in old.difference(&new) {
        per_zone.entry(*zi).or_default().1 += 1;
    }
    per_zone
        .into_iter()
        .filter_map(|(zi, (added, removed))| {
            Some(ZoneChange {
                zone: config.zones.get(zi)?.name.clone(),
                added,
                removed,
            })
        })
        .collect()
}

/// "privatelink.blob.core.windows.net +2 -1, ..." or "no change".
pub fn describe_changes(changes: &[ZoneChange]) -> String {
    if changes.is_empty() {
        return "no change".into();
    }
    changes
        .iter()
        .map(|c| format!("{} +{} -{}", c.zone, c.added, c.removed))
        .collect::<Vec<_>>()
        .join(", ")
}

fn rdata(data: &EntryData) -> String {
    match data {
        EntryData::A(ip) => format!("A {ip}"),
        EntryData::Aaaa(ip) => format!("AAAA {ip}"),
        EntryData::Cname(t) => format!("CNAME {t}."),
    }
}

/// What `pldns sync --once` shows: the listing (stdout), warnings, and
/// one line per failed source.
#[derive(Debug, Default)]
pub struct OnceReport {
    pub listing: String,
    pub warnings: Vec<String>,
    pub failures: Vec<String>,
}

/// Pulls every `[[sync]]` of `config` once, changing nothing.
pub async fn pull_once(config: Arc<Config>, options: SyncOptions) -> OnceReport {
    let mut report = OnceReport::default();
    for (i, sync) in config.sync.iter().enumerate() {
        let who = format!("sync {} (line {})", i + 1, sync.line);
        let source = match SyncSource::new(config.clone(), i, options) {
            Ok(s) => s,
            Err(e) => {
                report.failures.push(format!("{who}: {e}"));
                continue;
            }
        };
        let started = Instant::now();
        let _ = writeln!(
            report.listing,
            "# {who}: {}, {} cloud, as {}",
            source.label(),
            sync.cloud.label(),
            source.credential()
        );
        match source.pull().await {
            Ok(pull) => list(&config, &pull, started, &who, &mut report),
            Err(e) => {
                let _ = writeln!(report.listing, "#   pull failed: {e}");
                report.failures.push(format!("{who}: {e}"));
            }
        }
    }
    report
}

fn list(config: &Config, pull: &Pull, started: Instant, who: &str, report: &mut OnceReport) {
    let placement = records::placement(config);
    let mut zones: BTreeMap<usize, BTreeSet<(String, String)>> = BTreeMap::new();
    for e in &pull.entries {
        let Some(Placed { zone: zi, name, .. }) = placement.place(e.name.wire()) else {
            report.warnings.push(format!(
                "{who}: {}: {} is outside every zone with records; skipped",
                pull.origin(e),
                e.name
            ));
            continue;
        };
        let Some(zone) = config.zones.get(zi) else {
            continue;
        };
        if name.wire() == zone.name.wire() {
            report.warnings.push(format!(
                "{who}: {}: {} is the apex of zone {}, which holds only its SOA and NS; skipped",
                pull.origin(e),
                e.name,
                zone.name
            ));
            continue;
        }
        let mut text = String::new();
        let _ = write_text(name.wire(), &mut text);
        let ttl = e.ttl.unwrap_or(zone.ttl);
        zones
            .entry(zi)
            .or_default()
            .insert((text, format!("{ttl} {}", rdata(&e.data))));
    }
    report
        .warnings
        .extend(pull.warnings.iter().map(|w| format!("{who}: {w}")));
    let records: usize = zones.values().map(BTreeSet::len).sum();
    let _ = writeln!(
        report.listing,
        "#   {records} records in {} zones, from {} private endpoints and {} Private DNS zones ({} requests, {:.1} s)",
        zones.len(),
        pull.private_endpoints,
        pull.zones.len(),
        pull.requests,
        started.elapsed().as_secs_f64()
    );
    for (zi, names) in &zones {
        let Some(zone) = config.zones.get(*zi) else {
            continue;
        };
        let _ = writeln!(report.listing, "zone {}", zone.name);
        for (name, record) in names {
            let _ = writeln!(report.listing, "  {name} {record}");
        }
    }
}

/// The `[[sync]]` part of the summary `check` prints and `serve` logs:
/// per source its cloud, scope, what it pulls and how often, its credential
/// and endpoints, and the kept pull the table starts with. Reads no network.
pub fn describe(config: &Config, report: Option<&crate::load::Report>) -> String {
    let mut s = String::new();
    if config.sync.is_empty() {
        return s;
    }
    let _ = writeln!(s, "sync sources: {}", config.sync.len());
    for (sync, name) in config.sync.iter().zip(super::source_names(&config.sync)) {
        let id = crate::sources::SourceId::Sync(name);
        let mut pulls = Vec::new();
        if sync.pull.private_endpoints {
            pulls.push("private-endpoints");
        }
        if sync.pull.private_dns_zones {
            pulls.push("private-dns-zones");
        }
        let scope = if sync.resource_groups.is_empty() {
            "the whole subscription".to_string()
        } else {
            format!("resource groups {}", sync.resource_groups.join(", "))
        };
        let _ = writeln!(
            s,
            "  {id} (line {}): {} cloud, subscription {}, {scope}; pulls {} every {} s, early on a miss at most every {} s",
            sync.line,
            sync.cloud.label(),
            sync.subscription,
            pulls.join(", "),
            sync.interval.as_secs(),
            sync.min_interval.as_secs()
        );
        let endpoints = crate::azure::endpoints(sync.cloud);
        let credential = super::credential::Credential::new(sync, &endpoints)
            .map(|c| c.label().to_string())
            .unwrap_or_else(|e| format!("{} (unusable: {e})", sync.credential.kind()));
        let arm = sync
            .arm_endpoint
            .as_ref()
            .map_or(endpoints.resource_manager.to_string(), |u| u.to_string());
        let login = match (&sync.credential, &sync.login_endpoint) {
            (crate::config::CredentialConfig::AzureCli { .. }, _) => "by az".to_string(),
            (crate::config::CredentialConfig::ManagedIdentity { .. }, None) => {
                "the managed identity endpoint".to_string()
            }
            (_, Some(u)) => u.to_string(),
            (_, None) => endpoints.login.to_string(),
        };
        let _ = writeln!(
            s,
            "    credential {credential}; Resource Manager {arm}, sign-in {login}"
        );
        let status = report.and_then(|r| r.sources.iter().find(|st| st.id == id));
        let _ = match status {
            Some(st) if st.from_state => writeln!(
                s,
                "    starts on the pull kept in the state directory: {} entries",
                st.entries
            ),
            _ => writeln!(s, "    no pull kept in the state directory yet"),
        };
    }
    s
}

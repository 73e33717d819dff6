//! Azure facts and presets. The two CSV files beside this one are copies,
//! byte for byte, of `shared/data/` (sources in shared/data/SOURCES.md);
//! they are embedded at build time and never retyped.
//!
//! An `[[azure]]` table in the config expands to the Private Link zones a
//! Recovery Services vault needs in one cloud: the Backup zone of each
//! region (named by its Backup geo code), the blob and queue zones, and
//! Site Recovery's when asked. `check` also warns about the mistakes
//! readers of the Azure docs make.

pub mod cli;
mod clouds;

pub use clouds::{Endpoints, endpoints};

use std::collections::BTreeSet;

use crate::config::{Config, OnMiss};
use crate::diag::Diagnostic;
use crate::name::Name;

const GEO_CODES: &str = include_str!("azure-backup-geo-codes.csv");
const ZONES: &str = include_str!("azure-privatelink-zones.csv");

/// Azure DNS's virtual IP: it answers only from inside a virtual network.
pub const AZURE_DNS: std::net::IpAddr =
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(168, 63, 129, 16));

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    Public,
    Usgov,
    China,
}

impl Cloud {
    pub fn label(self) -> &'static str {
        match self {
            Cloud::Public => "public",
            Cloud::Usgov => "usgov",
            Cloud::China => "china",
        }
    }

    /// Our names, and az's (`az cloud list`: AzureCloud, AzureUSGovernment,
    /// AzureChinaCloud), in any case.
    pub fn parse(s: &str) -> Option<Cloud> {
        match s.to_ascii_lowercase().as_str() {
            "public" | "azurecloud" => Some(Cloud::Public),
            "usgov" | "azureusgovernment" => Some(Cloud::Usgov),
            "china" | "azurechinacloud" => Some(Cloud::China),
            _ => None,
        }
    }
}

/// One row of the geo-code table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub name: &'static str,
    pub display: &'static str,
    pub geo_code: &'static str,
    pub cloud: &'static str,
}

fn rows(csv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    csv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').collect())
}

pub fn regions() -> Vec<Region> {
    rows(GEO_CODES)
        .map(|f| Region {
            name: f[0],
            display: f[1],
            geo_code: f[2],
            cloud: f[3],
        })
        .collect()
}

/// Finds a region by its name (`eastus`), display name (`East US`) or
/// Backup geo code (`eus`), in `cloud`.
pub fn find_region(cloud: Cloud, wanted: &str) -> Result<Region, String> {
    let key = |s: &str| s.to_ascii_lowercase().replace([' ', '-', '_'], "");
    let k = key(wanted);
    let all = regions();
    let in_cloud: Vec<&Region> = all.iter().filter(|r| r.cloud == cloud.label()).collect();
    if let Some(r) = in_cloud
        .iter()
        .find(|r| key(r.name) == k || key(r.display) == k || r.geo_code == k)
    {
        return Ok((*r).clone());
    }
    if let Some(other) = all.iter().find(|r| key(r.name) == k || r.geo_code == k) {
        return Err(format!(
            "region {wanted:?} is in the {} cloud, not {}",
            other.cloud,
            cloud.label()
        ));
    }
    let mut close: Vec<(usize, &str)> = in_cloud
        .iter()
        .map(|r| (edit_distance(&k, r.name), r.name))
        .filter(|(d, name)| *d <= 3 || name.starts_with(&k) || k.starts_with(name))
        .collect();
    close.sort();
    let close: Vec<&str> = close.into_iter().take(5).map(|(_, n)| n).collect();
    if close.is_empty() {
        Err(format!(
            "unknown {} region {wanted:?} (see `pldns zones --cloud {}`)",
            cloud.label(),
            cloud.label()
        ))
    } else {
        Err(format!(
            "unknown {} region {wanted:?}; did you mean {}?",
            cloud.label(),
            close.join(", ")
        ))
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The Private Link zones of a vault in `cloud` for `regions`: the Backup
/// zone per region, then the storage zones, then Site Recovery's.
pub fn zones(cloud: Cloud, regions: &[Region], site_recovery: bool) -> Result<Vec<String>, String> {
    let mut backup = Vec::new();
    let mut storage = BTreeSet::new();
    let mut recovery = BTreeSet::new();
    for f in rows(ZONES).filter(|f| f[2] == cloud.label()) {
        let (service, subresource, zone) = (f[0], f[1], f[3]);
        match service {
            "Azure Backup" if zone.contains("{region") => {
                for r in regions {
                    let z = zone
                        .replace("{regionCode}", r.geo_code)
                        .replace("{region}", r.geo_code);
                    if !backup.contains(&z) {
                        backup.push(z);
                    }
                }
            }
            "Azure Backup" | "Storage account" if !subresource.ends_with("_secondary") => {
                storage.insert(zone.to_string());
            }
            "Azure Site Recovery" => {
                recovery.insert(zone.to_string());
            }
            _ => {}
        }
    }
    if site_recovery && recovery.is_empty() {
        return Err(format!(
            "no Site Recovery Private Link zone is known for the {} cloud",
            cloud.label()
        ));
    }
    let mut out = backup;
    out.extend(storage);
    if site_recovery {
        out.extend(recovery);
    }
    Ok(out)
}

/// The geo code a Backup zone is named after, and its cloud, if `zone` is
/// one (`privatelink.eus.backup.windowsazure.com` -> `eus`, public).
fn backup_geo_code(zone: &Name) -> Option<(String, Cloud)> {
    let text = zone.to_string();
    let rest = text.strip_prefix("privatelink.")?;
    let (code, suffix) = rest.split_once('.')?;
    let cloud = match suffix {
        "backup.windowsazure.com" => Cloud::Public,
        "backup.windowsazure.us" => Cloud::Usgov,
        "backup.windowsazure.cn" => Cloud::China,
        _ => return None,
    };
    Some((code.to_string(), cloud))
}

/// Advice for a valid config: things that load fine but will not do what
/// the admin expects, each at the config line of the zone concerned.
pub fn warnings(config: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let at = |line: usize, msg: String| Diagnostic::at(&config.path, line, msg);
    let all = regions();
    for z in &config.zones {
        if let Some((code, cloud)) = backup_geo_code(&z.name) {
            if !all
                .iter()
                .any(|r| r.geo_code == code && r.cloud == cloud.label())
            {
                let hint = find_region(cloud, &code)
                    .map(|r| format!("{} is \"{}\"", r.display, r.geo_code))
                    .unwrap_or_else(|_| "East US is \"eus\", North Europe \"ne\"".into());
                out.push(at(z.line, format!(
                    "zone {}: {code:?} is not the Backup geo code of any {} region ({hint}; `pldns zones --cloud {} --region NAME` prints the right zone)",
                    z.name,
                    cloud.label(),
                    cloud.label()
                )));
            }
            if !z.has_records() {
                out.push(at(z.line, format!(
                    "zone {} has no records: Backup names have no public fallback (public DNS answers NXDOMAIN), so each one must come from its forwarders; add the vault's records (az network private-endpoint show ... > records.d/vault.json)",
                    z.name
                )));
            } else if z.on_miss == OnMiss::Forward && z.forwarders_inherited {
                out.push(at(z.line, format!(
                    "zone {}: names missing from the table go to [upstream], whose public answer for Backup names is NXDOMAIN; set forwarders to a resolver in the vault's VNet, or on_miss = \"nxdomain\"",
                    z.name
                )));
            }
        }
    }
    let users: Vec<&crate::config::ZoneConfig> = config
        .zones
        .iter()
        .filter(|z| !z.forwarders_inherited && z.forwarders.iter().any(|f| f.ip() == AZURE_DNS))
        .collect();
    let upstream = config.upstream.iter().any(|f| f.ip() == AZURE_DNS);
    if !users.is_empty() || upstream {
        let mut names: Vec<String> = users.iter().map(|z| z.name.to_string()).collect();
        if upstream {
            names.push("[upstream]".into());
        }
        let msg = format!(
            "168.63.129.16 is a forwarder of {}: Azure DNS answers only from inside an Azure virtual network. From on premises it is unreachable; forward to an Azure DNS Private Resolver inbound endpoint or a DNS server VM in the vault's VNet instead",
            names.join(", ")
        );
        out.push(match users.first() {
            Some(z) => at(z.line, msg),
            None => Diagnostic::file(&config.path, msg),
        });
    }
    out
}

#[cfg(test)]
mod tests;

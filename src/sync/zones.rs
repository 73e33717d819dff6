//! The `private-dns-zones` pull: the Private DNS zones of the subscription
//! (or resource groups) whose name is a configured zone with records, and
//! their A, AAAA and CNAME record sets with their TTLs. Record set names
//! are relative to the zone; `@` is the apex.

use serde::Deserialize;

use super::arm::{Arm, Ctx};
use super::{Pull, SyncError};
use crate::config::SyncConfig;
use crate::name::Name;
use crate::records::EntryData;

/// Microsoft.Network/privateDnsZones' stable API version
/// (azure-rest-api-specs, `RecordSetALLList.json`, 2024-06-01).
pub const API_VERSION: &str = "2024-06-01";

#[derive(Deserialize)]
struct Zone {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct RecordSet {
    id: Option<String>,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    properties: RecordSetProperties,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RecordSetProperties {
    ttl: Option<u32>,
    a_records: Option<Vec<ARecord>>,
    aaaa_records: Option<Vec<AaaaRecord>>,
    cname_record: Option<CnameRecord>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ARecord {
    ipv4_address: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AaaaRecord {
    ipv6_address: Option<String>,
}

#[derive(Deserialize)]
struct CnameRecord {
    cname: Option<String>,
}

pub async fn pull(
    arm: &Arm,
    config: &SyncConfig,
    wanted: &[Name],
    ctx: &mut Ctx,
    out: &mut Pull,
) -> Result<(), SyncError> {
    let sub = config.subscription.as_str();
    let mut scopes: Vec<Vec<&str>> = Vec::new();
    if config.resource_groups.is_empty() {
        scopes.push(vec!["subscriptions", sub]);
    }
    for rg in &config.resource_groups {
        scopes.push(vec!["subscriptions", sub, "resourceGroups", rg]);
    }
    let mut zones: Vec<(Zone, Name)> = Vec::new();
    for mut scope in scopes {
        scope.extend(["providers", "Microsoft.Network", "privateDnsZones"]);
        let url = arm.url(&scope, API_VERSION)?;
        let listed: Vec<Zone> = arm.list(url, ctx).await?;
        for z in listed {
            match Name::from_text(&z.name) {
                Ok(name) if wanted.contains(&name) => zones.push((z, name)),
                _ => {}
            }
        }
    }
    for (zone, name) in zones {
        out.zones.push(name.clone());
        let mut segments: Vec<&str> = zone.id.split('/').filter(|s| !s.is_empty()).collect();
        segments.push("ALL");
        let url = arm.url(&segments, API_VERSION)?;
        let sets: Vec<RecordSet> = arm.list(url, ctx).await?;
        for rs in &sets {
            add(rs, &zone, &name, out);
        }
    }
    Ok(())
}

fn add(rs: &RecordSet, zone: &Zone, zone_name: &Name, out: &mut Pull) {
    let kind = rs.kind.rsplit('/').next().unwrap_or("");
    if !matches!(kind.to_ascii_uppercase().as_str(), "A" | "AAAA" | "CNAME") {
        // SOA is synthesised here; MX, TXT, SRV, PTR are not served by pldns.
        return;
    }
    let fallback = format!("{}/{kind}/{}", zone.id, rs.name);
    let origin = rs.id.as_deref().unwrap_or(&fallback);
    if rs.name == "@" {
        out.warn(
            origin,
            format!("{kind} record at the apex of {zone_name}: pldns serves only SOA and NS there"),
        );
        return;
    }
    let Some(name) = out.name(origin, &format!("{}.{zone_name}", rs.name)) else {
        return;
    };
    let ttl = rs.properties.ttl;
    let p = &rs.properties;
    match kind.to_ascii_uppercase().as_str() {
        "A" => {
            for r in p.a_records.iter().flatten() {
                let text = r.ipv4_address.as_deref().unwrap_or("");
                match text.parse::<std::net::Ipv4Addr>() {
                    Ok(ip) => out.push(origin, name.clone(), EntryData::A(ip), ttl),
                    Err(_) => out.warn(origin, format!("invalid IPv4 address {text:?}")),
                }
            }
        }
        "AAAA" => {
            for r in p.aaaa_records.iter().flatten() {
                let text = r.ipv6_address.as_deref().unwrap_or("");
                match text.parse::<std::net::Ipv6Addr>() {
                    Ok(ip) => out.push(origin, name.clone(), EntryData::Aaaa(ip), ttl),
                    Err(_) => out.warn(origin, format!("invalid IPv6 address {text:?}")),
                }
            }
        }
        _ => match p.cname_record.as_ref().and_then(|c| c.cname.as_deref()) {
            Some(target) => match Name::from_text(target) {
                Ok(t) => out.push(origin, name, EntryData::Cname(t), ttl),
                Err(e) => out.warn(origin, format!("invalid CNAME target {target:?}: {e}")),
            },
            None => out.warn(origin, "CNAME record set without a target".into()),
        },
    }
}

//! The `private-endpoints` pull: every private endpoint of the
//! subscription (or of the listed resource groups) and the names in its
//! `customDnsConfigs`, which is what `az network private-endpoint list`
//! prints and what a `.json` record file holds.
//!
//! Nothing else in a private endpoint carries a name we can serve:
//! `ipConfigurations` hold static IPs per group member but no FQDN, and
//! private DNS zone groups are child resources (one more call per endpoint)
//! whose records Azure writes into the Private DNS zones; the
//! `private-dns-zones` pull reads those zones directly, records added there
//! by other means (Azure Backup's own) included.

use serde::Deserialize;

use super::arm::{Arm, Ctx};
use super::{Pull, SyncError};
use crate::config::SyncConfig;
use crate::records::EntryData;

/// Microsoft.Network's newest stable API version with the list examples
/// (azure-rest-api-specs, `PrivateEndpointList.json`, 2024-07-01).
pub const API_VERSION: &str = "2024-07-01";

#[derive(Deserialize)]
struct PrivateEndpoint {
    id: String,
    #[serde(default)]
    properties: Properties,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Properties {
    custom_dns_configs: Option<Vec<DnsConfig>>,
    private_link_service_connections: Option<Vec<Connection>>,
    manual_private_link_service_connections: Option<Vec<Connection>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DnsConfig {
    fqdn: Option<String>,
    ip_addresses: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Connection {
    properties: Option<ConnectionProperties>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionProperties {
    private_link_service_connection_state: Option<ConnectionState>,
}

#[derive(Deserialize)]
struct ConnectionState {
    status: Option<String>,
}

pub async fn pull(
    arm: &Arm,
    config: &SyncConfig,
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
    for mut scope in scopes {
        scope.extend(["providers", "Microsoft.Network", "privateEndpoints"]);
        let url = arm.url(&scope, API_VERSION)?;
        let endpoints: Vec<PrivateEndpoint> = arm.list(url, ctx).await?;
        for pe in endpoints {
            add(&pe, out);
        }
    }
    Ok(())
}

fn add(pe: &PrivateEndpoint, out: &mut Pull) {
    out.private_endpoints += 1;
    let configs = pe.properties.custom_dns_configs.as_deref().unwrap_or(&[]);
    if configs.is_empty() {
        return;
    }
    // The contract reads every endpoint's names; one whose connection is
    // not approved does not pass traffic yet, which the admin should know.
    let states: Vec<&str> = [
        &pe.properties.private_link_service_connections,
        &pe.properties.manual_private_link_service_connections,
    ]
    .into_iter()
    .flatten()
    .flatten()
    .filter_map(|c| c.properties.as_ref())
    .filter_map(|p| p.private_link_service_connection_state.as_ref())
    .filter_map(|s| s.status.as_deref())
    .collect();
    if !states.is_empty() && !states.iter().any(|s| s.eq_ignore_ascii_case("approved")) {
        out.warn(
            &pe.id,
            format!(
                "the connection is {} (not Approved): its names resolve, but the endpoint passes no traffic until it is approved",
                states.join(", ")
            ),
        );
    }
    for c in configs {
        let Some(fqdn) = c.fqdn.as_deref().filter(|f| !f.is_empty()) else {
            out.warn(&pe.id, "a customDnsConfigs entry has no fqdn".into());
            continue;
        };
        let Some(name) = out.name(&pe.id, fqdn) else {
            continue;
        };
        let addrs = c.ip_addresses.as_deref().unwrap_or(&[]);
        if addrs.is_empty() {
            out.warn(&pe.id, format!("{fqdn} has no ipAddresses"));
        }
        for a in addrs {
            match a.parse::<std::net::IpAddr>() {
                Ok(ip) => out.push(&pe.id, name.clone(), EntryData::from(ip), None),
                Err(_) => out.warn(&pe.id, format!("{fqdn}: invalid IP address {a:?}")),
            }
        }
    }
}

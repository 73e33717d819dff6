//! `[[sync]]` tables: where records are pulled from in Azure Resource
//! Manager, how often, and with which credential. Validated here into
//! [`SyncConfig`]; the pulling itself is `crate::sync`.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::{Validator, ZoneConfig};
use crate::azure::Cloud;

mod credential;

pub use credential::CredentialConfig;

pub const DEFAULT_SYNC_INTERVAL_S: u64 = 300;
pub const DEFAULT_SYNC_MIN_INTERVAL_S: u64 = 30;

/// One validated `[[sync]]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncConfig {
    /// Line of the table's `subscription` key, for messages about it.
    pub line: usize,
    pub cloud: Cloud,
    /// The subscription ID, lowercase.
    pub subscription: String,
    /// Empty: the whole subscription.
    pub resource_groups: Vec<String>,
    pub pull: PullKinds,
    pub interval: Duration,
    pub min_interval: Duration,
    pub credential: CredentialConfig,
    /// Overrides the cloud's Resource Manager URL (Azure Stack, proxies, tests).
    pub arm_endpoint: Option<Url>,
    /// Overrides the sign-in (or managed-identity token) URL; loopback only.
    pub login_endpoint: Option<Url>,
}

impl SyncConfig {
    /// How logs, metrics and `pldns sync` name this source.
    pub fn label(&self) -> String {
        if self.resource_groups.is_empty() {
            format!("subscription {}", self.subscription)
        } else {
            format!(
                "subscription {} ({})",
                self.subscription,
                self.resource_groups.join(", ")
            )
        }
    }
}

/// What a `[[sync]]` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullKinds {
    pub private_endpoints: bool,
    pub private_dns_zones: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSync {
    pub(super) cloud: Option<Spanned<String>>,
    pub(super) subscription: Spanned<String>,
    pub(super) resource_groups: Option<Vec<Spanned<String>>>,
    pub(super) pull: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) interval_s: Option<Spanned<i64>>,
    pub(super) min_interval_s: Option<Spanned<i64>>,
    pub(super) credential: Spanned<String>,
    pub(super) tenant_id: Option<Spanned<String>>,
    pub(super) client_id: Option<Spanned<String>>,
    pub(super) client_secret_file: Option<Spanned<String>>,
    pub(super) client_certificate_file: Option<Spanned<String>>,
    pub(super) client_certificate_key_file: Option<Spanned<String>>,
    pub(super) arm_endpoint: Option<Spanned<String>>,
    pub(super) login_endpoint: Option<Spanned<String>>,
}

impl Validator<'_> {
    /// Validates every `[[sync]]` table against the zones already validated.
    pub(super) fn validate_syncs(
        &mut self,
        raw: &[RawSync],
        base: &Path,
        zones: &[ZoneConfig],
    ) -> Vec<SyncConfig> {
        let mut out: Vec<SyncConfig> = Vec::with_capacity(raw.len());
        if !raw.is_empty() && !zones.iter().any(ZoneConfig::has_records) {
            self.error(
                &raw[0].subscription,
                "[[sync]] has no zone to fill: declare the zones it feeds as [[zone]] with records (records = [] for a zone only sync feeds)",
            );
        }
        for s in raw {
            if let Some(sync) = self.validate_sync(s, base) {
                if let Some(prev) = out.iter().find(|p| {
                    p.cloud == sync.cloud
                        && p.subscription == sync.subscription
                        && p.resource_groups == sync.resource_groups
                        && p.arm_endpoint == sync.arm_endpoint
                }) {
                    let msg = format!(
                        "this [[sync]] reads the same {} as the one at line {}",
                        sync.label(),
                        prev.line
                    );
                    self.error(&s.subscription, msg);
                    continue;
                }
                out.push(sync);
            }
        }
        out
    }

    fn validate_sync(&mut self, s: &RawSync, base: &Path) -> Option<SyncConfig> {
        let errors_before = self.diags.len();
        let line = crate::diag::line_of(self.text, s.subscription.span().start);

        let cloud = match &s.cloud {
            None => Cloud::Public,
            Some(c) => Cloud::parse(c.get_ref()).unwrap_or_else(|| {
                self.error(
                    c,
                    format!(
                        "unknown cloud {:?}: \"public\", \"china\" or \"usgov\"",
                        c.get_ref()
                    ),
                );
                Cloud::Public
            }),
        };

        let subscription = s.subscription.get_ref().trim().to_ascii_lowercase();
        if !is_guid(&subscription) {
            self.error(
                &s.subscription,
                format!(
                    "subscription {:?} is not a subscription ID (a GUID such as 00000000-0000-0000-0000-000000000000)",
                    s.subscription.get_ref()
                ),
            );
        }

        let mut resource_groups: Vec<String> = Vec::new();
        for rg in s.resource_groups.iter().flatten() {
            let name = rg.get_ref().trim();
            if let Err(why) = check_resource_group(name) {
                self.error(rg, format!("resource group {name:?}: {why}"));
            } else if resource_groups.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                // Resource group names are case-insensitive in ARM.
                self.error(rg, format!("resource group {name:?} listed twice"));
            } else {
                resource_groups.push(name.to_string());
            }
        }
        if s.resource_groups.as_ref().is_some_and(Vec::is_empty) {
            self.error(
                &s.subscription,
                "resource_groups is empty: leave it out to read the whole subscription",
            );
        }

        let pull = self.pull_kinds(s);
        let interval = self.seconds(&s.interval_s, "interval_s", DEFAULT_SYNC_INTERVAL_S);
        let min_interval = self.seconds(
            &s.min_interval_s,
            "min_interval_s",
            DEFAULT_SYNC_MIN_INTERVAL_S,
        );
        let credential = self.credential(s, base);
        let arm_endpoint = s
            .arm_endpoint
            .as_ref()
            .and_then(|u| self.endpoint(u, "arm_endpoint", false));
        let login_endpoint = s
            .login_endpoint
            .as_ref()
            .and_then(|u| self.endpoint(u, "login_endpoint", true));
        if let (Some(u), Some(CredentialConfig::AzureCli { .. })) = (&s.login_endpoint, &credential)
        {
            self.error(
                u,
                "login_endpoint does not apply to credential = \"azure-cli\" (az signs in by itself)",
            );
        }

        if self.diags.len() > errors_before {
            return None;
        }
        Some(SyncConfig {
            line,
            cloud,
            subscription,
            resource_groups,
            pull,
            interval,
            min_interval,
            credential: credential?,
            arm_endpoint,
            login_endpoint,
        })
    }

    fn pull_kinds(&mut self, s: &RawSync) -> PullKinds {
        let Some(list) = &s.pull else {
            return PullKinds {
                private_endpoints: true,
                private_dns_zones: true,
            };
        };
        let mut kinds = PullKinds {
            private_endpoints: false,
            private_dns_zones: false,
        };
        if list.get_ref().is_empty() {
            self.error(
                list,
                "pull is empty: name \"private-endpoints\" and/or \"private-dns-zones\"",
            );
        }
        for item in list.get_ref() {
            let flag = match item.get_ref().as_str() {
                "private-endpoints" => &mut kinds.private_endpoints,
                "private-dns-zones" => &mut kinds.private_dns_zones,
                other => {
                    self.error(
                        item,
                        format!(
                            "unknown pull {other:?}: \"private-endpoints\" or \"private-dns-zones\""
                        ),
                    );
                    continue;
                }
            };
            if *flag {
                self.error(item, format!("{:?} listed twice", item.get_ref()));
            }
            *flag = true;
        }
        kinds
    }

    fn seconds(&mut self, value: &Option<Spanned<i64>>, key: &str, default: u64) -> Duration {
        match value {
            None => Duration::from_secs(default),
            Some(v) if *v.get_ref() < 1 => {
                self.error(v, format!("{key} must be at least 1"));
                Duration::from_secs(default)
            }
            // A year: beyond that a typo, and `Instant` arithmetic stays far from overflow.
            Some(v) if *v.get_ref() > 31_536_000 => {
                self.error(v, format!("{key} must be at most 31536000 (a year)"));
                Duration::from_secs(default)
            }
            Some(v) => Duration::from_secs(v.get_ref().unsigned_abs()),
        }
    }

    fn endpoint(&mut self, value: &Spanned<String>, key: &str, loopback_only: bool) -> Option<Url> {
        let text = value.get_ref().trim();
        let url = match Url::parse(text) {
            Ok(u) => u,
            Err(e) => {
                self.error(value, format!("{key} {text:?} is not a URL: {e}"));
                return None;
            }
        };
        if !matches!(url.scheme(), "https" | "http") {
            self.error(value, format!("{key} must be an http:// or https:// URL"));
            return None;
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            self.error(
                value,
                format!("{key} must be a plain base URL (no user, query or fragment)"),
            );
            return None;
        }
        if loopback_only && !is_loopback(&url) {
            self.error(
                value,
                format!(
                    "{key} may only name a loopback address (127.0.0.0/8, ::1 or localhost): credentials are sent to it"
                ),
            );
            return None;
        }
        Some(url)
    }
}

/// True when `url` names this machine: a loopback IP literal or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

pub(super) fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub(super) fn is_domain(s: &str) -> bool {
    s.contains('.') && crate::name::Name::from_text(s).is_ok()
}

/// ARM's rule for resource group names: 1 to 90 letters, digits,
/// underscores, hyphens, periods and parentheses, not ending in a period.
fn check_resource_group(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.chars().count() > 90 {
        return Err("must be 1 to 90 characters");
    }
    if name.ends_with('.') {
        return Err("cannot end in a period");
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
    {
        return Err("may hold only letters, digits, _ - . ( and )");
    }
    Ok(())
}

#[cfg(test)]
mod tests;

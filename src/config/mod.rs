//! The TOML configuration: serde structs that mirror the file (unknown keys
//! rejected), then `validate` into a typed [`Config`] so that nothing past
//! start-up looks at a string again. Every error carries `FILE:LINE`.

mod addr;
mod limits;
mod raw;
mod sync;
mod tcp;
mod transfer;
mod udp;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

pub use addr::{parse_net, parse_server_addr};
pub use limits::{
    CacheConfig, DEFAULT_CACHE_SIZE, DEFAULT_SERVE_STALE_S, DEFAULT_TIMEOUT_MS, RrlConfig,
};
pub use sync::{CredentialConfig, PullKinds, SyncConfig, is_loopback};
pub use tcp::TcpConfig;
pub use transfer::ZoneTransfer;
pub use udp::UdpConfig;

use crate::diag::{Diagnostic, Diagnostics, line_of};
use crate::name::Name;
use raw::{RawAzure, RawConfig};

/// RFC 6891 §6.2.5 and the DNS Flag Day 2020 advice: 1232 bytes avoids IP
/// fragmentation on every common path.
pub const DEFAULT_EDNS_UDP_SIZE: u16 = 1232;
pub const DEFAULT_ZONE_TTL: u32 = 300;

/// What a zone with records does with a name its table lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnMiss {
    #[default]
    Forward,
    Nxdomain,
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from; record paths were resolved against its folder.
    pub path: PathBuf,
    pub listen: Vec<SocketAddr>,
    pub allow: Vec<IpNet>,
    pub metrics: Option<SocketAddr>,
    pub edns_udp_size: u16,
    /// The UDP front end: threads per address, the opt-in batching pause.
    pub udp: UdpConfig,
    pub upstream: Vec<SocketAddr>,
    pub timeout: Duration,
    pub cache: CacheConfig,
    pub zones: Vec<ZoneConfig>,
    pub log: LogConfig,
    /// `[[sync]]`: records pulled from Azure (see `crate::sync`).
    pub sync: Vec<SyncConfig>,
    // Query-path limits (config/limits.rs).
    /// Budget for one client query across every forwarder and chain hop:
    /// `Forwarder::query` starts no try past `received + query_timeout`.
    pub query_timeout: Duration,
    pub rrl: RrlConfig,
    pub tcp: TcpConfig,
    /// `[[tsig]]` keys (config/transfer.rs).
    pub tsig: crate::xfr::tsig::Keyring,
    /// `[server] state_dir`, resolved against the config file's folder;
    /// `None`: `$STATE_DIRECTORY`, else /var/lib/pldns (see `statedir`).
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ZoneConfig {
    pub name: Name,
    /// Line of the zone's `name` key, for messages about the zone.
    pub line: usize,
    /// `Some` for a zone with records (answered locally), even if the list is
    /// empty; `None` for a plain conditional forwarder.
    pub records: Option<Vec<PathBuf>>,
    pub on_miss: OnMiss,
    pub forwarders: Vec<SocketAddr>,
    /// True when `forwarders` was not given and came from `[upstream]`.
    pub forwarders_inherited: bool,
    pub ttl: u32,
    /// Replication: transfers out, NOTIFY, TSIG, or the primaries of a
    /// secondary zone.
    pub transfer: ZoneTransfer,
}

impl ZoneConfig {
    pub fn has_records(&self) -> bool {
        self.records.is_some()
    }

    /// A zone pulled from primaries (it has no records of its own).
    pub fn is_secondary(&self) -> bool {
        self.transfer.is_secondary()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Plain,
    Json,
}

/// `[log]`: level and format apply at start-up (RUST_LOG, when set, wins
/// over `level`); `queries` is read per query, so a reload turns the query
/// log on or off.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub level: String,
    pub format: LogFormat,
    pub queries: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Plain,
            queries: false,
        }
    }
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, Diagnostics> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostics(vec![Diagnostic::file(path, e.to_string())]))?;
    parse(path, &text)
}

/// Validates config text that was read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Config, Diagnostics> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        Diagnostics(vec![Diagnostic::at(path, line, e.message().trim_end())])
    })?;
    Validator {
        path,
        text,
        diags: Diagnostics::default(),
    }
    .validate(raw)
}

struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
    diags: Diagnostics,
}

impl Validator<'_> {
    fn error<T>(&mut self, spanned: &Spanned<T>, message: impl Into<String>) {
        let line = line_of(self.text, spanned.span().start);
        self.diags.push(Diagnostic::at(self.path, line, message));
    }

    fn addrs(
        &mut self,
        list: &[Spanned<String>],
        what: &str,
        parse: fn(&str) -> Result<SocketAddr, String>,
    ) -> Vec<SocketAddr> {
        let mut out = Vec::with_capacity(list.len());
        for item in list {
            match parse(item.get_ref()) {
                Ok(a) if out.contains(&a) => self.error(item, format!("{what} {a} listed twice")),
                Ok(a) => out.push(a),
                Err(e) => self.error(item, format!("invalid {what} {:?}: {e}", item.get_ref())),
            }
        }
        out
    }

    fn validate(mut self, raw: RawConfig) -> Result<Config, Diagnostics> {
        let base = self.path.parent().unwrap_or(Path::new(".")).to_path_buf();

        let listen = match &raw.server.listen {
            Some(list) => {
                let listen = self.addrs(list, "listen address", parse_server_addr);
                if list.is_empty() {
                    self.diags.push(Diagnostic::file(
                        self.path,
                        "[server].listen is empty: nothing to serve on",
                    ));
                }
                listen
            }
            // A forwarder for a site: every interface, guarded by `allow`.
            None => vec!["0.0.0.0:53".parse().unwrap(), "[::]:53".parse().unwrap()],
        };

        let allow = match &raw.server.allow {
            Some(list) => {
                let mut nets = Vec::with_capacity(list.len());
                for item in list {
                    match parse_net(item.get_ref()) {
                        Ok(n) => nets.push(n),
                        Err(e) => self.error(
                            item,
                            format!("invalid allow entry {:?}: {e}", item.get_ref()),
                        ),
                    }
                }
                nets
            }
            None => default_allow(),
        };

        let metrics =
            raw.server
                .metrics
                .as_ref()
                .and_then(|m| match m.get_ref().parse::<SocketAddr>() {
                    Ok(a) => Some(a),
                    Err(e) => {
                        self.error(m, format!("invalid metrics address {:?}: {e}", m.get_ref()));
                        None
                    }
                });

        let edns_udp_size = self.edns_udp_size(&raw.server.edns_udp_size);

        let udp = self.udp(&raw.server);

        let upstream = self.addrs(&raw.upstream.servers, "upstream server", parse_server_addr);
        let (timeout, query_timeout) =
            self.upstream_timeouts(&raw.upstream.timeout_ms, &raw.upstream.query_timeout_ms);
        let cache = self.cache(&raw.cache);
        let rrl = self.rrl(&raw.rrl);
        let tcp = self.tcp(&raw.server);

        let keys = self.tsig_keys(&raw.tsig, &base);
        let mut zones: Vec<ZoneConfig> = Vec::with_capacity(raw.zones.len());
        for z in &raw.zones {
            let line = line_of(self.text, z.name.span().start);
            let name = match Name::from_text(z.name.get_ref()) {
                Ok(n) if n.is_root() => {
                    self.error(
                        &z.name,
                        "the root zone cannot be a zone here; use [upstream]",
                    );
                    continue;
                }
                Ok(n) => n,
                Err(e) => {
                    self.error(&z.name, format!("invalid zone name: {e}"));
                    continue;
                }
            };
            if let Some(prev) = zones.iter().find(|p| p.name == name) {
                let msg = format!("zone {name} is already defined at line {}", prev.line);
                self.error(&z.name, msg);
                continue;
            }
            let records = z.records.as_ref().map(|list| {
                list.iter()
                    .map(|p| base.join(p.get_ref()))
                    .collect::<Vec<_>>()
            });
            if let Some(list) = &z.records {
                for p in list.iter().filter(|p| p.get_ref().trim().is_empty()) {
                    self.error(p, "empty path in records");
                }
            }
            let transfer = self.zone_transfer(
                &transfer::RawZoneTransfer {
                    transfer_allow: z.transfer_allow.as_ref(),
                    notify: z.notify.as_ref(),
                    tsig_key: z.tsig_key.as_ref(),
                    primaries: z.primaries.as_ref(),
                    records: z.records.is_some(),
                },
                &name,
                &z.name,
                &keys,
            );
            let (forwarders, inherited) = match &z.forwarders {
                Some(list) => (self.addrs(list, "forwarder", parse_server_addr), false),
                None => (upstream.clone(), true),
            };
            // A secondary zone is answered from its primary's data, which is
            // the whole zone: a name it lacks does not exist (as on BIND).
            let secondary = z.primaries.is_some();
            let on_miss = z.on_miss.unwrap_or(if secondary {
                OnMiss::Nxdomain
            } else {
                OnMiss::Forward
            });
            let local = records.is_some() || secondary;
            if forwarders.is_empty() && (!local || on_miss == OnMiss::Forward) {
                let why = if !local {
                    "a zone without records needs forwarders"
                } else {
                    "on_miss = \"forward\" needs forwarders"
                };
                self.error(
                    &z.name,
                    format!("zone {name}: {why} (in the zone or in [upstream].servers)"),
                );
            }
            if z.records.is_none()
                && let Some(t) = &z.ttl
            {
                self.error(t, "ttl applies only to a zone with records");
            }
            if !local && z.on_miss.is_some() {
                self.error(
                    &z.name,
                    format!("zone {name}: on_miss applies only to a zone with records"),
                );
            }
            let ttl = match &z.ttl {
                Some(t) if *t.get_ref() > 604_800 => {
                    self.error(t, "ttl must be at most 604800 (one week)");
                    DEFAULT_ZONE_TTL
                }
                Some(t) => *t.get_ref(),
                None => DEFAULT_ZONE_TTL,
            };
            zones.push(ZoneConfig {
                name,
                line,
                records,
                on_miss,
                forwarders,
                forwarders_inherited: inherited,
                ttl,
                transfer,
            });
        }

        for preset in &raw.azure {
            self.expand_azure(preset, &base, &upstream, &mut zones);
        }
        let sync = self.validate_syncs(&raw.sync, &base, &zones);

        // Relative to the config file, like `records`, so that a demo or a
        // test config can keep its state beside itself.
        let state_dir = match &raw.server.state_dir {
            Some(d) if d.get_ref().trim().is_empty() => {
                self.error(d, "state_dir is empty");
                None
            }
            Some(d) => Some(base.join(d.get_ref())),
            None => None,
        };

        let config = Config {
            state_dir,
            path: self.path.to_path_buf(),
            listen,
            allow,
            metrics,
            edns_udp_size,
            udp,
            upstream,
            timeout,
            cache,
            zones,
            log: raw.log.clone(),
            sync,
            query_timeout,
            rrl,
            tcp,
            tsig: keys.ring,
        };
        self.diags.into_result(config)
    }
}

impl Validator<'_> {
    /// Adds the zones of one `[[azure]]` table, each as if written as a
    /// `[[zone]]` with the table's records, forwarders, on_miss and ttl.
    fn expand_azure(
        &mut self,
        p: &RawAzure,
        base: &Path,
        upstream: &[SocketAddr],
        zones: &mut Vec<ZoneConfig>,
    ) {
        let line = line_of(self.text, p.cloud.span().start);
        let Some(cloud) = crate::azure::Cloud::parse(p.cloud.get_ref()) else {
            self.error(
                &p.cloud,
                format!(
                    "unknown cloud {:?}: \"public\", \"usgov\" or \"china\" (or az's AzureCloud, AzureUSGovernment, AzureChinaCloud)",
                    p.cloud.get_ref()
                ),
            );
            return;
        };
        if p.regions.get_ref().is_empty() {
            self.error(
                &p.regions,
                "regions is empty: name the vault's regions, e.g. [\"eastus\"]",
            );
            return;
        }
        let mut regions = Vec::new();
        for r in p.regions.get_ref() {
            match crate::azure::find_region(cloud, r.get_ref()) {
                Ok(region) => regions.push(region),
                Err(e) => self.error(r, e),
            }
        }
        let names = match crate::azure::zones(cloud, &regions, p.site_recovery) {
            Ok(n) => n,
            Err(e) => {
                self.error(&p.cloud, e);
                return;
            }
        };
        let (forwarders, inherited) = match &p.forwarders {
            Some(list) => (self.addrs(list, "forwarder", parse_server_addr), false),
            None => (upstream.to_vec(), true),
        };
        let on_miss = p.on_miss.unwrap_or_default();
        let records = p
            .records
            .as_ref()
            .map(|l| l.iter().map(|r| base.join(r.get_ref())).collect::<Vec<_>>());
        if forwarders.is_empty() && (records.is_none() || on_miss == OnMiss::Forward) {
            self.error(&p.cloud, "[[azure]] needs forwarders (its own or [upstream].servers), or records with on_miss = \"nxdomain\"");
        }
        let ttl = match &p.ttl {
            Some(t) if *t.get_ref() > 604_800 => {
                self.error(t, "ttl must be at most 604800 (one week)");
                DEFAULT_ZONE_TTL
            }
            Some(t) => *t.get_ref(),
            None => DEFAULT_ZONE_TTL,
        };
        for zone in names {
            let Ok(name) = Name::from_text(&zone) else {
                continue;
            };
            if let Some(prev) = zones.iter().find(|z| z.name == name) {
                let msg = format!(
                    "zone {name} from this [[azure]] preset is already defined at line {}",
                    prev.line
                );
                self.error(&p.cloud, msg);
                continue;
            }
            zones.push(ZoneConfig {
                name,
                line,
                records: records.clone(),
                on_miss,
                forwarders: forwarders.clone(),
                forwarders_inherited: inherited,
                ttl,
                transfer: ZoneTransfer::default(),
            });
        }
    }
}

/// Loopback, RFC 1918 and RFC 4193 unique-local: the clients a site resolver
/// serves, and never the internet at large (an open resolver is an
/// amplification weapon).
pub fn default_allow() -> Vec<IpNet> {
    [
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

#[cfg(test)]
mod tests;

//! The config file as it is written: serde structs that mirror the TOML
//! (`deny_unknown_fields`, values kept with their spans for `FILE:LINE`
//! messages), before validation turns them into a [`super::Config`].

use serde::Deserialize;
use toml::Spanned;

use super::{LogConfig, OnMiss};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) server: RawServer,
    #[serde(default)]
    pub(super) upstream: RawUpstream,
    #[serde(default)]
    pub(super) cache: super::limits::RawCache,
    #[serde(default, rename = "zone")]
    pub(super) zones: Vec<RawZone>,
    #[serde(default)]
    pub(super) azure: Vec<RawAzure>,
    #[serde(default)]
    pub(super) log: LogConfig,
    #[serde(default)]
    pub(super) sync: Vec<super::sync::RawSync>,
    pub(super) rrl: Option<super::limits::RawRrl>,
    #[serde(default)]
    pub(super) tsig: Vec<super::transfer::RawTsig>,
}

/// `[[azure]]`: the Private Link zones of a vault, from shared/data.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAzure {
    pub(super) cloud: Spanned<String>,
    pub(super) regions: Spanned<Vec<Spanned<String>>>,
    pub(super) forwarders: Option<Vec<Spanned<String>>>,
    pub(super) records: Option<Vec<Spanned<String>>>,
    pub(super) on_miss: Option<OnMiss>,
    pub(super) ttl: Option<Spanned<u32>>,
    #[serde(default)]
    pub(super) site_recovery: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) listen: Option<Vec<Spanned<String>>>,
    pub(super) allow: Option<Vec<Spanned<String>>>,
    pub(super) metrics: Option<Spanned<String>>,
    pub(super) edns_udp_size: Option<Spanned<u16>>,
    // The UDP front end (config/udp.rs).
    pub(super) max_batch_delay_us: Option<Spanned<u64>>,
    pub(super) udp_workers: Option<Spanned<usize>>,
    pub(super) busy_poll_us: Option<Spanned<u64>>,
    // The TCP front end (config/tcp.rs).
    pub(super) tcp_idle_timeout_ms: Option<Spanned<u64>>,
    pub(super) tcp_max_connections: Option<Spanned<usize>>,
    pub(super) tcp_max_connections_per_client: Option<Spanned<usize>>,
    // Last known good (issue 10): where the kept copies live.
    pub(super) state_dir: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstream {
    #[serde(default)]
    pub(super) servers: Vec<Spanned<String>>,
    pub(super) timeout_ms: Option<Spanned<u64>>,
    pub(super) query_timeout_ms: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawZone {
    pub(super) name: Spanned<String>,
    pub(super) records: Option<Vec<Spanned<String>>>,
    pub(super) on_miss: Option<OnMiss>,
    pub(super) forwarders: Option<Vec<Spanned<String>>>,
    pub(super) ttl: Option<Spanned<u32>>,
    pub(super) transfer_allow: Option<Vec<Spanned<String>>>,
    pub(super) notify: Option<Vec<Spanned<String>>>,
    pub(super) tsig_key: Option<Spanned<String>>,
    pub(super) primaries: Option<Vec<Spanned<String>>>,
}

//! The numbers the query path computes with: upstream timeouts and the
//! per-query budget, cache sizes and TTL bounds (serve-stale included), the
//! EDNS size, and response rate limiting. Each is range-checked and
//! cross-checked here, with `FILE:LINE`, so that nothing past start-up can
//! meet a value it cannot handle.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use super::{Validator, parse_net};

pub const DEFAULT_TIMEOUT_MS: u64 = 1500;
pub const DEFAULT_CACHE_SIZE: usize = 100_000;
/// RFC 8767 §5 suggests one to three days of serve-stale.
pub const DEFAULT_SERVE_STALE_S: u32 = 86_400;

/// `[cache]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Units of weight (one per started KiB of an answer); 0 disables the
    /// cache.
    pub size: usize,
    pub min_ttl: u32,
    pub max_ttl: u32,
    /// Upper bound of the TTL of cached negative answers (RFC 2308 §5).
    pub max_negative_ttl: u32,
    /// Seconds past expiry an answer may still be served when every
    /// forwarder fails (RFC 8767); 0 turns serve-stale off.
    pub serve_stale: u32,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            size: DEFAULT_CACHE_SIZE,
            min_ttl: 0,
            max_ttl: 86_400,
            max_negative_ttl: 3_600,
            serve_stale: DEFAULT_SERVE_STALE_S,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCache {
    size: Option<Spanned<usize>>,
    min_ttl: Option<Spanned<u32>>,
    max_ttl: Option<Spanned<u32>>,
    max_negative_ttl: Option<Spanned<u32>>,
    serve_stale_s: Option<Spanned<u32>>,
}

/// `[rrl]`, validated: BIND-style response rate limiting (see `rrl.rs`).
/// Off unless a rate is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrlConfig {
    /// Identical positive answers per second per client prefix; 0 = no limit.
    pub responses_per_second: u32,
    /// NODATA answers per second per client prefix and zone.
    pub nodata_per_second: u32,
    /// NXDOMAIN answers per second per client prefix and zone.
    pub nxdomains_per_second: u32,
    /// Error answers (SERVFAIL, REFUSED, FORMERR, ...) per second per prefix.
    pub errors_per_second: u32,
    /// All answers per second per client prefix; 0 = no such limit.
    pub all_per_second: u32,
    /// Seconds over which a client's excess is remembered (BIND `window`).
    pub window: u32,
    /// Every `slip`-th limited answer goes out truncated (TC=1) instead of
    /// being dropped; 0 drops all, 1 truncates all.
    pub slip: u32,
    pub ipv4_prefix_length: u8,
    pub ipv6_prefix_length: u8,
    /// Most accounting entries kept (memory: about 32 bytes each).
    pub max_table_size: usize,
    /// Clients never limited.
    pub exempt: Vec<IpNet>,
}

impl Default for RrlConfig {
    /// BIND's defaults, with every rate 0 (off).
    fn default() -> Self {
        RrlConfig {
            responses_per_second: 0,
            nodata_per_second: 0,
            nxdomains_per_second: 0,
            errors_per_second: 0,
            all_per_second: 0,
            window: 15,
            slip: 2,
            ipv4_prefix_length: 24,
            ipv6_prefix_length: 56,
            max_table_size: 100_000,
            exempt: Vec::new(),
        }
    }
}

impl RrlConfig {
    pub fn enabled(&self) -> bool {
        self.responses_per_second > 0
            || self.nodata_per_second > 0
            || self.nxdomains_per_second > 0
            || self.errors_per_second > 0
            || self.all_per_second > 0
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRrl {
    responses_per_second: Option<Spanned<u32>>,
    nodata_per_second: Option<Spanned<u32>>,
    nxdomains_per_second: Option<Spanned<u32>>,
    errors_per_second: Option<Spanned<u32>>,
    all_per_second: Option<Spanned<u32>>,
    window: Option<Spanned<u32>>,
    slip: Option<Spanned<u32>>,
    ipv4_prefix_length: Option<Spanned<u8>>,
    ipv6_prefix_length: Option<Spanned<u8>>,
    max_table_size: Option<Spanned<usize>>,
    exempt: Option<Vec<Spanned<String>>>,
}

/// BIND's ceiling for every RRL rate.
const MAX_RATE: u32 = 1_000;

impl Validator<'_> {
    /// `value` if in `range`, else an error at its line and `default`.
    pub(super) fn ranged<T: Copy + PartialOrd + Display>(
        &mut self,
        value: &Option<Spanned<T>>,
        key: &str,
        range: RangeInclusive<T>,
        default: T,
    ) -> T {
        match value {
            Some(v) if !range.contains(v.get_ref()) => {
                let msg = format!(
                    "{key} must be between {} and {}",
                    range.start(),
                    range.end()
                );
                self.error(v, msg);
                default
            }
            Some(v) => *v.get_ref(),
            None => default,
        }
    }

    /// `[server] edns_udp_size`: at least 512 (RFC 6891 §6.2.5), at most
    /// 4096 as BIND allows; larger UDP answers fragment on most paths.
    pub(super) fn edns_udp_size(&mut self, value: &Option<Spanned<u16>>) -> u16 {
        let default = super::DEFAULT_EDNS_UDP_SIZE;
        self.ranged(value, "edns_udp_size", 512..=4096, default)
    }

    /// `[upstream] timeout_ms` and `query_timeout_ms`: per try, and for one
    /// client query as a whole.
    ///
    /// The budget defaults to two tries' worth: enough for one failover
    /// from a silent forwarder to a good one (the common failure), short
    /// enough that the client, whose stub typically retries after 1 s
    /// (Windows) to 5 s (glibc), still gets our answer, SERVFAIL or a stale
    /// answer; and it bounds what one query can cost, where 3 forwarders x
    /// 1.5 s x 4 chain hops used to allow 18 s.
    pub(super) fn upstream_timeouts(
        &mut self,
        timeout_ms: &Option<Spanned<u64>>,
        query_timeout_ms: &Option<Spanned<u64>>,
    ) -> (Duration, Duration) {
        let per_try = self.ranged(timeout_ms, "timeout_ms", 10..=60_000, DEFAULT_TIMEOUT_MS);
        let budget = match query_timeout_ms {
            Some(b) if *b.get_ref() < per_try => {
                let msg = format!(
                    "query_timeout_ms ({}) is below timeout_ms ({per_try}): not even one try would fit",
                    b.get_ref()
                );
                self.error(b, msg);
                2 * per_try
            }
            other => self.ranged(other, "query_timeout_ms", 10..=120_000, 2 * per_try),
        };
        (
            Duration::from_millis(per_try),
            Duration::from_millis(budget),
        )
    }

    /// `[cache]`. `min_ttl` above `max_ttl` (given or default) is an error
    /// at the line of whichever was written last in the check.
    pub(super) fn cache(&mut self, raw: &RawCache) -> CacheConfig {
        let d = CacheConfig::default();
        let mut c = CacheConfig {
            // The cache allocates its index up front: keep it reasonable.
            size: self.ranged(&raw.size, "size", 0..=10_000_000, d.size),
            min_ttl: self.ranged(&raw.min_ttl, "min_ttl", 0..=86_400, d.min_ttl),
            // RFC 8767 §4: TTLs are capped at 7 days.
            max_ttl: self.ranged(&raw.max_ttl, "max_ttl", 1..=604_800, d.max_ttl),
            max_negative_ttl: self.ranged(
                &raw.max_negative_ttl,
                "max_negative_ttl",
                0..=86_400,
                d.max_negative_ttl,
            ),
            serve_stale: self.ranged(
                &raw.serve_stale_s,
                "serve_stale_s",
                0..=604_800,
                d.serve_stale,
            ),
        };
        if c.min_ttl > c.max_ttl {
            match (&raw.max_ttl, &raw.min_ttl) {
                (Some(max), _) => self.error(max, "max_ttl is below min_ttl"),
                (None, Some(min)) => {
                    let msg = format!(
                        "min_ttl ({}) is above max_ttl ({}, the default); set max_ttl too",
                        c.min_ttl, c.max_ttl
                    );
                    self.error(min, msg);
                }
                (None, None) => {}
            }
            c.min_ttl = c.max_ttl;
        }
        c
    }

    /// `[rrl]`, absent: off.
    pub(super) fn rrl(&mut self, raw: &Option<RawRrl>) -> RrlConfig {
        let Some(raw) = raw else {
            return RrlConfig::default();
        };
        let d = RrlConfig::default();
        let rate = |v: &mut Self, value: &Option<Spanned<u32>>, key: &str, default: u32| {
            v.ranged(value, key, 0..=MAX_RATE, default)
        };
        let responses = rate(self, &raw.responses_per_second, "responses_per_second", 0);
        let mut exempt = Vec::new();
        for item in raw.exempt.iter().flatten() {
            match parse_net(item.get_ref()) {
                Ok(n) => exempt.push(n),
                Err(e) => self.error(
                    item,
                    format!("invalid exempt entry {:?}: {e}", item.get_ref()),
                ),
            }
        }
        RrlConfig {
            responses_per_second: responses,
            // BIND: these default to responses-per-second.
            nodata_per_second: rate(self, &raw.nodata_per_second, "nodata_per_second", responses),
            nxdomains_per_second: rate(
                self,
                &raw.nxdomains_per_second,
                "nxdomains_per_second",
                responses,
            ),
            errors_per_second: rate(self, &raw.errors_per_second, "errors_per_second", responses),
            all_per_second: rate(self, &raw.all_per_second, "all_per_second", 0),
            window: self.ranged(&raw.window, "window", 1..=3_600, d.window),
            slip: self.ranged(&raw.slip, "slip", 0..=10, d.slip),
            ipv4_prefix_length: self.ranged(
                &raw.ipv4_prefix_length,
                "ipv4_prefix_length",
                8..=32,
                d.ipv4_prefix_length,
            ),
            ipv6_prefix_length: self.ranged(
                &raw.ipv6_prefix_length,
                "ipv6_prefix_length",
                16..=128,
                d.ipv6_prefix_length,
            ),
            max_table_size: self.ranged(
                &raw.max_table_size,
                "max_table_size",
                1..=1_000_000,
                d.max_table_size,
            ),
            exempt,
        }
    }
}

//! `[server]` keys of the TCP front end (RFC 7766): the idle timeout, which
//! is also how long a reply may wait for a client that does not read, and
//! the caps on open connections, overall and per client.

use std::time::Duration;

use super::Validator;
use super::raw::RawServer;

/// RFC 7766 §6.2.3 asks for an idle timeout of "a few seconds"; 10 s serves
/// slow clients without letting idle ones pile up (BIND and Unbound use
/// 30 s, but close idle ones early under pressure, as we do at the cap).
pub const DEFAULT_TCP_IDLE_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_TCP_MAX_CONNECTIONS: usize = 1024;
/// One host (an IPv4 address, an IPv6 /64) may hold this many at once.
pub const DEFAULT_TCP_MAX_PER_CLIENT: usize = 64;

/// The TCP front end's limits, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    /// A connection with nothing outstanding and no whole message for this
    /// long is closed; a reply the client does not take within it closes
    /// the connection too.
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_per_client: usize,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            idle_timeout: Duration::from_millis(DEFAULT_TCP_IDLE_TIMEOUT_MS),
            max_connections: DEFAULT_TCP_MAX_CONNECTIONS,
            max_per_client: DEFAULT_TCP_MAX_PER_CLIENT,
        }
    }
}

impl Validator<'_> {
    pub(super) fn tcp(&mut self, raw: &RawServer) -> TcpConfig {
        let d = TcpConfig::default();
        // Unbound's floor for its idle timeout is 200 ms.
        let idle = self.ranged(
            &raw.tcp_idle_timeout_ms,
            "tcp_idle_timeout_ms",
            200..=300_000,
            DEFAULT_TCP_IDLE_TIMEOUT_MS,
        );
        let max_connections = self.ranged(
            &raw.tcp_max_connections,
            "tcp_max_connections",
            1..=65_536,
            d.max_connections,
        );
        let mut max_per_client = self.ranged(
            &raw.tcp_max_connections_per_client,
            "tcp_max_connections_per_client",
            1..=65_536,
            d.max_per_client,
        );
        if max_per_client > max_connections {
            // A small overall cap alone lowers the per-client default; both
            // given and contradicting is an error.
            if let Some(per) = &raw.tcp_max_connections_per_client {
                let msg = format!(
                    "tcp_max_connections_per_client ({max_per_client}) is above tcp_max_connections ({max_connections})"
                );
                self.error(per, msg);
            }
            max_per_client = max_connections;
        }
        TcpConfig {
            idle_timeout: Duration::from_millis(idle),
            max_connections,
            max_per_client,
        }
    }
}

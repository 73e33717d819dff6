//! `[server]` keys of the UDP front end: how many receive threads share each
//! address (SO_REUSEPORT), the opt-in pause that trades latency for CPU at
//! moderate rates, and the opt-in busy poll that trades CPU for latency
//! (see `server::udp`).

use std::time::Duration;

use super::Validator;
use super::raw::RawServer;

/// The most `max_batch_delay_us` may be: a pause longer than a couple of
/// milliseconds would be visible to every client.
pub const MAX_BATCH_DELAY_US: u64 = 2_000;
/// The longest `busy_poll_us`: polling longer than this between datagrams
/// only burns the core.
pub const MAX_BUSY_POLL_US: u64 = 1_000;
/// Far more threads per address than any machine this runs on has cores.
pub const MAX_UDP_WORKERS: usize = 1_024;

/// The UDP front end's settings, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UdpConfig {
    /// Receive threads (one SO_REUSEPORT socket each) per `listen` address;
    /// `None`: one per core this process may run on. Read at start-up.
    pub workers: Option<usize>,
    /// Longest pause after a partial batch (0, the default: never pause).
    pub max_batch_delay: Duration,
    /// Longest poll of the socket before blocking, when datagrams come
    /// that close together (0, the default: never poll).
    pub busy_poll: Duration,
}

impl UdpConfig {
    /// The number of UDP threads per address: as configured, or one per
    /// core in this process's CPU affinity mask (and cgroup quota).
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }
}

impl Validator<'_> {
    pub(super) fn udp(&mut self, raw: &RawServer) -> UdpConfig {
        let workers = raw
            .udp_workers
            .as_ref()
            .map(|_| self.ranged(&raw.udp_workers, "udp_workers", 1..=MAX_UDP_WORKERS, 1));
        let delay = self.ranged(
            &raw.max_batch_delay_us,
            "max_batch_delay_us",
            0..=MAX_BATCH_DELAY_US,
            0,
        );
        let poll = self.ranged(&raw.busy_poll_us, "busy_poll_us", 0..=MAX_BUSY_POLL_US, 0);
        UdpConfig {
            workers,
            max_batch_delay: Duration::from_micros(delay),
            busy_poll: Duration::from_micros(poll),
        }
    }
}

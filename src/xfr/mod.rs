//! Zone transfer: replication to and from other DNS servers. AXFR (RFC 5936)
//! and IXFR (RFC 1995) for zones with records, NOTIFY (RFC 1996) out to
//! secondaries and in from primaries, secondary zones pulled from primaries,
//! TSIG (RFC 8945) on all of it, and the zone serial that ties it together.

pub mod export;
pub mod journal;
pub mod msg;
pub mod notifier;
pub mod notify;
pub mod outbound;
pub mod primary;
pub mod rdata;
pub mod replication;
pub mod secondary;
pub mod serve;
/// SOA serial arithmetic lives with the SOA (`crate::soa::serial`).
pub use crate::soa::serial;
pub mod signed;
pub mod stats;
pub mod store;
pub mod tsig;
pub mod zone;
pub mod zonefile;

#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod testserver;
#[cfg(test)]
mod testutil;

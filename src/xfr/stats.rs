//! What zone transfer counts, per zone, as atomics: transfers out by kind
//! and result (with their messages and bytes), NOTIFY out and in, and a
//! secondary zone's refreshes, serial and SOA expire. The metrics endpoint
//! and the status page read them ([`XfrStats::zones`]); the query path never
//! touches them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use arc_swap::ArcSwap;

use crate::name::Name;

/// How a transfer out ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutResult {
    /// Sent whole (an up-to-date IXFR's lone SOA included).
    Ok,
    /// Not allowed: outside `transfer_allow`, unsigned or badly signed, or
    /// AXFR over UDP.
    Refused,
    /// Started but not finished (the client went away, a write timed out),
    /// or a request that did not parse.
    Failed,
    /// The zone is not one this server transfers.
    NotAuth,
}

impl OutResult {
    pub const ALL: [OutResult; 4] = [
        OutResult::Ok,
        OutResult::Refused,
        OutResult::Failed,
        OutResult::NotAuth,
    ];

    pub fn label(self) -> &'static str {
        match self {
            OutResult::Ok => "ok",
            OutResult::Refused => "refused",
            OutResult::Failed => "failed",
            OutResult::NotAuth => "notauth",
        }
    }
}

/// AXFR or IXFR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Axfr,
    Ixfr,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Axfr, Kind::Ixfr];

    pub fn label(self) -> &'static str {
        match self {
            Kind::Axfr => "axfr",
            Kind::Ixfr => "ixfr",
        }
    }
}

/// What a secondary zone's refresh found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// A new copy was transferred.
    Transferred,
    /// The primary's serial is ours.
    Current,
    /// No primary answered usefully.
    Failed,
}

impl Refresh {
    pub const ALL: [Refresh; 3] = [Refresh::Transferred, Refresh::Current, Refresh::Failed];

    pub fn label(self) -> &'static str {
        match self {
            Refresh::Transferred => "transferred",
            Refresh::Current => "current",
            Refresh::Failed => "failed",
        }
    }
}

/// What happened to one NOTIFY we sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyOut {
    Sent,
    Acknowledged,
    /// No answer after every retry, or an error answer.
    GivenUp,
}

/// The counters of one zone.
#[derive(Debug, Default)]
pub struct ZoneStats {
    out: [[AtomicU64; 4]; 2],
    out_messages: AtomicU64,
    out_bytes: AtomicU64,
    notify_sent: AtomicU64,
    notify_acked: AtomicU64,
    notify_given_up: AtomicU64,
    notify_in_accepted: AtomicU64,
    notify_in_refused: AtomicU64,
    refreshes: [AtomicU64; 3],
    /// A secondary zone's state: serial served (valid while `has_copy`),
    /// the time of the last good refresh, its SOA expire.
    has_copy: AtomicBool,
    expired: AtomicBool,
    serial: AtomicU64,
    refreshed_unix: AtomicU64,
    expire_s: AtomicU64,
    last_refresh_unix: AtomicU64,
}

fn index<T: PartialEq>(all: &[T], x: T) -> usize {
    all.iter().position(|a| *a == x).unwrap_or(0)
}

impl ZoneStats {
    /// One transfer out, with the messages and bytes it sent.
    pub fn transfer_out(&self, kind: Kind, result: OutResult, messages: u64, bytes: u64) {
        self.out[index(&Kind::ALL, kind)][index(&OutResult::ALL, result)].fetch_add(1, Relaxed);
        self.out_messages.fetch_add(messages, Relaxed);
        self.out_bytes.fetch_add(bytes, Relaxed);
    }

    pub fn notify_out(&self, what: NotifyOut) {
        match what {
            NotifyOut::Sent => &self.notify_sent,
            NotifyOut::Acknowledged => &self.notify_acked,
            NotifyOut::GivenUp => &self.notify_given_up,
        }
        .fetch_add(1, Relaxed);
    }

    pub fn notify_in(&self, accepted: bool) {
        if accepted {
            &self.notify_in_accepted
        } else {
            &self.notify_in_refused
        }
        .fetch_add(1, Relaxed);
    }

    pub fn refresh(&self, result: Refresh, now: u64) {
        self.refreshes[index(&Refresh::ALL, result)].fetch_add(1, Relaxed);
        self.last_refresh_unix.store(now, Relaxed);
    }

    /// A secondary zone serves a copy at `serial`, confirmed with a primary
    /// at `refreshed` (seconds since the epoch), expiring `expire_s` later.
    pub fn serving(&self, serial: u32, refreshed: u64, expire_s: u64) {
        self.serial.store(u64::from(serial), Relaxed);
        self.refreshed_unix.store(refreshed, Relaxed);
        self.expire_s.store(expire_s, Relaxed);
        self.has_copy.store(true, Relaxed);
        self.expired.store(false, Relaxed);
    }

    /// A secondary zone went past its SOA expire: SERVFAIL until a refresh.
    pub fn expired(&self) {
        self.expired.store(true, Relaxed);
    }

    /// What the counters say now, `now` being seconds since the epoch.
    pub fn report(&self, zone: &Name, now: u64) -> ZoneReport {
        let load = |a: &AtomicU64| a.load(Relaxed);
        let mut out = Vec::new();
        for (ki, kind) in Kind::ALL.into_iter().enumerate() {
            for (ri, result) in OutResult::ALL.into_iter().enumerate() {
                out.push((kind, result, load(&self.out[ki][ri])));
            }
        }
        let secondary = self.has_copy.load(Relaxed).then(|| {
            let refreshed = load(&self.refreshed_unix);
            let until = refreshed.saturating_add(load(&self.expire_s));
            SecondaryReport {
                serial: load(&self.serial) as u32,
                refreshed_unix: refreshed,
                expires_in_s: if self.expired.load(Relaxed) {
                    0
                } else {
                    until.saturating_sub(now)
                },
                expired: self.expired.load(Relaxed),
            }
        });
        ZoneReport {
            zone: zone.clone(),
            transfers_out: out,
            out_messages: load(&self.out_messages),
            out_bytes: load(&self.out_bytes),
            notify_sent: load(&self.notify_sent),
            notify_acknowledged: load(&self.notify_acked),
            notify_given_up: load(&self.notify_given_up),
            notify_in_accepted: load(&self.notify_in_accepted),
            notify_in_refused: load(&self.notify_in_refused),
            refreshes: Refresh::ALL
                .into_iter()
                .zip(&self.refreshes)
                .map(|(r, a)| (r, load(a)))
                .collect(),
            last_refresh_unix: load(&self.last_refresh_unix),
            secondary,
        }
    }
}

/// One zone's transfer state, read at once (for `/metrics` and the status
/// page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneReport {
    pub zone: Name,
    /// Transfers out by kind and result.
    pub transfers_out: Vec<(Kind, OutResult, u64)>,
    pub out_messages: u64,
    pub out_bytes: u64,
    pub notify_sent: u64,
    pub notify_acknowledged: u64,
    pub notify_given_up: u64,
    pub notify_in_accepted: u64,
    pub notify_in_refused: u64,
    /// A secondary zone's refreshes by result.
    pub refreshes: Vec<(Refresh, u64)>,
    /// When the last refresh ended (0: none yet).
    pub last_refresh_unix: u64,
    /// A secondary zone that has a copy: what it serves.
    pub secondary: Option<SecondaryReport>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondaryReport {
    pub serial: u32,
    /// The last time a primary confirmed the copy.
    pub refreshed_unix: u64,
    /// Seconds until the copy expires without a refresh (0 once expired).
    pub expires_in_s: u64,
    pub expired: bool,
}

/// Every zone's counters. Zones appear at their first event; the exposition
/// shows the zones of the config in service only. The map is replaced
/// whole when a zone comes or goes (rare), so reading it never waits.
#[derive(Debug, Default)]
pub struct XfrStats {
    zones: ArcSwap<BTreeMap<Name, Arc<ZoneStats>>>,
}

impl XfrStats {
    /// The counters of `zone` (a configured zone: never a name taken from
    /// a request, which would let clients grow this map).
    pub fn zone(&self, zone: &Name) -> Arc<ZoneStats> {
        if let Some(z) = self.zones.load().get(zone) {
            return z.clone();
        }
        let mut found = None;
        self.zones.rcu(|map| {
            let mut map = BTreeMap::clone(map);
            found = Some(map.entry(zone.clone()).or_default().clone());
            map
        });
        found.unwrap_or_default()
    }

    /// Forgets zones no longer configured.
    pub fn retain(&self, keep: impl Fn(&Name) -> bool) {
        if self.zones.load().keys().all(&keep) {
            return;
        }
        self.zones.rcu(|map| {
            let mut map = BTreeMap::clone(map);
            map.retain(|z, _| keep(z));
            map
        });
    }

    /// Every zone's state now.
    pub fn zones(&self, now: u64) -> Vec<ZoneReport> {
        self.zones
            .load()
            .iter()
            .map(|(n, z)| z.report(n, now))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_zone_and_reports_the_secondary_state() {
        let stats = XfrStats::default();
        let zone = Name::from_text("z.test").unwrap();
        let z = stats.zone(&zone);
        z.transfer_out(Kind::Axfr, OutResult::Ok, 7, 100_000);
        z.transfer_out(Kind::Ixfr, OutResult::Refused, 1, 40);
        z.notify_out(NotifyOut::Sent);
        z.refresh(Refresh::Transferred, 1000);
        z.serving(42, 1000, 86_400);
        let r = &stats.zones(1100)[0];
        assert!(r.transfers_out.contains(&(Kind::Axfr, OutResult::Ok, 1)));
        assert!(
            r.transfers_out
                .contains(&(Kind::Ixfr, OutResult::Refused, 1))
        );
        assert_eq!((r.out_messages, r.out_bytes), (8, 100_040));
        assert_eq!(r.notify_sent, 1);
        let s = r.secondary.as_ref().unwrap();
        assert_eq!((s.serial, s.expires_in_s, s.expired), (42, 86_300, false));
        z.expired();
        assert_eq!(
            stats.zones(1100)[0]
                .secondary
                .as_ref()
                .unwrap()
                .expires_in_s,
            0
        );
        stats.retain(|_| false);
        assert!(stats.zones(0).is_empty());
    }
}

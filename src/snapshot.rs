//! The immutable table the query path reads: zones (with their forwarders
//! and synthesised SOA/NS), every table name with its records, the empty
//! non-terminals between them, and the client ACL. A reload builds a new
//! `Snapshot` and swaps it in whole; nothing in it changes after `build`
//! but what it shares with the snapshots before it on purpose: the zones'
//! miss counts and the response rate limiter (its accounting and counters
//! survive reloads that leave `[rrl]` as it was).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ipnet::IpNet;

use crate::config::{Config, OnMiss};
use crate::missing::ZoneMisses;
use crate::name::Name;
use crate::records::Records;
use crate::records::pulled::ZoneCopy;
use crate::rrl::Rrl;
use crate::soa::{NS_RDATA, Soa, serial};
use crate::table::{NodeRef, Table};
use crate::wire::NameBuf;
use crate::zonemap::{Located, Twin, ZoneMap};

pub struct Zone {
    pub name: Name,
    /// `Some` for a zone with records.
    pub local: Option<LocalZone>,
    pub forwarders: Arc<[SocketAddr]>,
}

pub struct LocalZone {
    pub on_miss: OnMiss,
    pub ttl: u32,
    /// Its serial moves when the zone's data changes (a secondary zone's
    /// is its primary's).
    pub soa: Soa,
    /// The apex NS records: (TTL, target in canonical wire form).
    pub ns: Box<[(u32, Box<[u8]>)]>,
    /// A secondary zone, pulled from its primaries.
    pub secondary: bool,
    /// A secondary zone's data as its primary sent it; `None` until the
    /// first pull, and after the SOA expire without a refresh: the zone
    /// then answers SERVFAIL (as BIND's secondaries do).
    pub pulled: Option<Arc<ZoneCopy>>,
    /// Hash of the zone's data.
    pub content_hash: u64,
    pub names: usize,
    pub records: usize,
    /// Names asked that the table lacks; shared with the previous snapshot's
    /// zone of the same name, so the count survives reloads.
    pub misses: Arc<ZoneMisses>,
}

impl LocalZone {
    /// Sets the serial of a zone with records of its own, in the SOA that
    /// carries it (serials kept from the last run are restored this way,
    /// see `xfr::store`). A secondary zone's serial is its primary's.
    pub fn set_serial(&mut self, serial: u32) {
        if !self.secondary {
            self.soa = Soa::new(serial, self.ttl);
        }
    }

    /// False for a secondary zone without data (SERVFAIL).
    pub fn available(&self) -> bool {
        !self.secondary || self.pulled.is_some()
    }
}

/// The synthesised apex NS of our own zones.
fn own_ns(ttl: u32) -> Box<[(u32, Box<[u8]>)]> {
    Box::new([(ttl, NS_RDATA.into())])
}

pub struct Snapshot {
    pub config: Arc<Config>,
    pub zones: Vec<Zone>,
    /// Zone and public-twin names -> index into `zones`.
    map: ZoneMap,
    table: Table,
    pub upstream: Arc<[SocketAddr]>,
    allow: Vec<IpNet>,
    /// The record files read for this snapshot (to watch them).
    pub files: Vec<std::path::PathBuf>,
    /// Changes when zones, forwarders or upstreams change: cached answers
    /// that never touched a zone with records depend only on this.
    pub routing_generation: u64,
    /// Changes when that or any zone's records change: cached answers that
    /// went through a zone with records depend on this.
    pub table_generation: u64,
    /// Response rate limiting of UDP answers; `None` when `[rrl]` is off,
    /// so the query path pays one branch for it.
    pub rrl: Option<Arc<Rrl>>,
}

impl Snapshot {
    /// Builds a snapshot from a validated config and its records. `previous`
    /// carries zone serials forward: a zone whose data did not change keeps
    /// its serial, a changed one gets a larger one.
    pub fn build(config: Config, records: Records, previous: Option<&Snapshot>) -> Snapshot {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(1);
        let mut zones = Vec::with_capacity(config.zones.len());
        let map = ZoneMap::new(config.zones.iter().map(|z| (&z.name, z.is_local())));
        for (zi, zc) in config.zones.iter().enumerate() {
            let local = zc.is_local().then(|| {
                let stats = &records.table.zones[zi];
                let pulled = zc
                    .is_secondary()
                    .then(|| records.pulled.get(zi).cloned().flatten())
                    .flatten();
                let pulled_soa = pulled
                    .as_ref()
                    .and_then(|c| Soa::pulled(c.soa.ttl, &c.soa.rdata));
                let mut h = DefaultHasher::new();
                (zc.ttl, stats.content_hash).hash(&mut h);
                if let Some(soa) = &pulled_soa {
                    soa.serial().hash(&mut h);
                }
                let content_hash = h.finish();
                let old = previous.and_then(|p| p.local_zone_named(&zc.name));
                let (soa, ns) = match (&pulled, pulled_soa) {
                    (Some(copy), Some(soa)) => {
                        let ns: Box<[_]> =
                            copy.apex_ns().map(|r| (r.ttl, r.rdata.clone())).collect();
                        (soa, ns)
                    }
                    // Not served (see `available`); placeholders.
                    _ if zc.is_secondary() => (Soa::new(0, zc.ttl), own_ns(zc.ttl)),
                    _ => {
                        let prior = old.filter(|o| !o.secondary).map(|old| serial::Prior {
                            serial: old.soa.serial(),
                            hash: old.content_hash,
                        });
                        let serial = serial::next(prior, content_hash, now);
                        (Soa::new(serial, zc.ttl), own_ns(zc.ttl))
                    }
                };
                LocalZone {
                    on_miss: zc.on_miss,
                    ttl: zc.ttl,
                    soa,
                    ns,
                    secondary: zc.is_secondary(),
                    pulled,
                    content_hash,
                    names: stats.names,
                    records: stats.records,
                    misses: old.map_or_else(
                        || ZoneMisses::new(zc.name.clone()),
                        |o| Arc::clone(&o.misses),
                    ),
                }
            });
            zones.push(Zone {
                name: zc.name.clone(),
                local,
                forwarders: zc.forwarders.clone().into(),
            });
        }

        let mut routing = DefaultHasher::new();
        config.upstream.hash(&mut routing);
        for z in &config.zones {
            (
                &z.name,
                z.is_local(),
                z.on_miss == OnMiss::Forward,
                &z.forwarders,
            )
                .hash(&mut routing);
        }
        let routing_generation = routing.finish();
        let mut table = DefaultHasher::new();
        routing_generation.hash(&mut table);
        for z in zones.iter().filter_map(|z| z.local.as_ref()) {
            (z.content_hash, z.ttl).hash(&mut table);
        }
        let table_generation = table.finish();
        let rrl = match previous {
            Some(p) if p.config.rrl == config.rrl => p.rrl.clone(),
            _ => Rrl::new(&config.rrl).map(|new| {
                if let Some(old) = previous.and_then(|p| p.rrl.as_deref()) {
                    new.continue_counts(old);
                }
                Arc::new(new)
            }),
        };

        Snapshot {
            rrl,
            routing_generation,
            table_generation,
            upstream: config.upstream.clone().into(),
            allow: config.allow.clone(),
            config: Arc::new(config),
            zones,
            map,
            table: records.table,
            files: records.files,
        }
    }

    fn local_zone_named(&self, name: &Name) -> Option<&LocalZone> {
        let zone = &self.zones[self.zone_of(name.wire())?];
        (zone.name == *name)
            .then_some(zone.local.as_ref())
            .flatten()
    }

    /// The zone a name falls in (longest match), if any.
    pub fn zone_of(&self, qname: &[u8]) -> Option<usize> {
        self.map.zone_of(qname)
    }

    /// The zone that routes `qname`, and whether the public-twin rule maps
    /// it (see [`ZoneMap::route`]).
    pub fn route(&self, qname: &[u8]) -> Located {
        self.map.route(qname)
    }

    /// The privatelink name of `qname` for the twin [`Snapshot::route`] found.
    pub fn twin_name(&self, qname: &[u8], twin: Twin) -> Option<NameBuf> {
        self.map.twin_name(qname, twin)
    }

    /// The forwarders of `zone`, or `[upstream]` for `None`.
    pub fn forwarders(&self, zone: Option<usize>) -> &Arc<[SocketAddr]> {
        match zone {
            Some(zi) => &self.zones[zi].forwarders,
            None => &self.upstream,
        }
    }

    /// True when `name` lies in a zone with records.
    pub fn local_zone_of(&self, name: &[u8]) -> Option<usize> {
        self.zone_of(name)
            .filter(|&zi| self.zones[zi].local.is_some())
    }

    pub fn generations(&self) -> (u64, u64) {
        (self.routing_generation, self.table_generation)
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    pub fn node(&self, name: &[u8]) -> Option<NodeRef<'_>> {
        self.table.get(name)
    }

    pub fn is_allowed(&self, client: IpAddr) -> bool {
        let client = match client {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
            v4 => v4,
        };
        self.allow.iter().any(|net| net.contains(&client))
    }

    /// True when `client`, outside `allow`, may still ask `qtype` for
    /// `qname`: the SOA of a zone whose `transfer_allow` lists it, which a
    /// secondary asks before every transfer (RFC 1034 §4.3.5). Listing a
    /// secondary in `transfer_allow` is then enough to replicate a zone.
    pub fn is_refresh_query(&self, client: IpAddr, qname: &[u8], qtype: u16) -> bool {
        qtype == crate::wire::rtype::SOA
            && self.zone_of(qname).is_some_and(|zi| {
                self.zones[zi].name.wire() == qname
                    && self.zones[zi].local.is_some()
                    && self.config.zones[zi].transfer.allows(client)
            })
    }

    /// Records added and removed going from `old` to `self`, counted per
    /// address and CNAME.
    pub fn record_diff(&self, old: &Snapshot) -> (usize, usize) {
        (
            self.table.records_missing_from(&old.table),
            old.table.records_missing_from(&self.table),
        )
    }

    /// Records in the table, all zones together.
    pub fn record_count(&self) -> usize {
        self.zones
            .iter()
            .filter_map(|z| z.local.as_ref())
            .map(|l| l.records)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::table::{Data, TableBuilder};
    use std::path::Path;

    fn snapshot(records: &[(&str, &str)], previous: Option<&Snapshot>) -> Snapshot {
        let cfg = config::parse(
            Path::new("/t/pldns.toml"),
            r#"
[server]
listen = ["127.0.0.1:0"]
[[zone]]
name = "privatelink.blob.core.windows.net"
records = []
on_miss = "nxdomain"
"#,
        )
        .unwrap();
        let mut b = TableBuilder::new(1);
        for (name, ip) in records {
            let name = Name::from_text(name).unwrap();
            b.insert(name.wire(), 0, Data::A(ip.parse().unwrap()), 300, (0, 1))
                .unwrap();
        }
        let apex = cfg.zones[0].name.wire().len();
        let recs = Records {
            table: b.finish(&[apex]),
            files: vec![],
            pulled: vec![],
        };
        Snapshot::build(cfg, recs, previous)
    }

    fn wire(s: &str) -> Box<[u8]> {
        Name::from_text(s).unwrap().wire().into()
    }

    #[test]
    fn empty_non_terminals_exist_up_to_the_apex() {
        let s = snapshot(
            &[("a.b.c.privatelink.blob.core.windows.net", "10.0.0.1")],
            None,
        );
        assert!(
            !s.node(&wire("a.b.c.privatelink.blob.core.windows.net"))
                .unwrap()
                .is_empty_non_terminal()
        );
        assert!(
            s.node(&wire("b.c.privatelink.blob.core.windows.net"))
                .unwrap()
                .is_empty_non_terminal()
        );
        assert!(
            s.node(&wire("c.privatelink.blob.core.windows.net"))
                .unwrap()
                .is_empty_non_terminal()
        );
        assert!(s.node(&wire("privatelink.blob.core.windows.net")).is_none());
    }

    #[test]
    fn serial_moves_only_when_data_changes() {
        let a = snapshot(&[("x.privatelink.blob.core.windows.net", "10.0.0.1")], None);
        let serial = a.zones[0].local.as_ref().unwrap().soa.serial();
        let same = snapshot(
            &[("x.privatelink.blob.core.windows.net", "10.0.0.1")],
            Some(&a),
        );
        assert_eq!(same.zones[0].local.as_ref().unwrap().soa.serial(), serial);
        assert_eq!(same.table_generation, a.table_generation);
        let changed = snapshot(
            &[("x.privatelink.blob.core.windows.net", "10.0.0.2")],
            Some(&a),
        );
        assert!(changed.zones[0].local.as_ref().unwrap().soa.serial() > serial);
        assert_ne!(changed.table_generation, a.table_generation);
        assert_eq!(changed.routing_generation, a.routing_generation);
        assert_eq!(changed.record_diff(&a), (1, 1));
    }

    #[test]
    fn zone_and_twin_lookup_take_the_longest_match() {
        let s = snapshot(&[], None);
        let q = wire("acct.privatelink.blob.core.windows.net");
        assert_eq!(s.zone_of(&q), Some(0));
        assert_eq!(s.zone_of(&wire("acct.blob.core.windows.net")), None);
        let public = wire("acct.blob.core.windows.net");
        let routed = s.route(&public);
        assert_eq!(routed.zone, None);
        let twin = routed.twin.unwrap();
        assert_eq!(twin.zone, 0);
        assert_eq!(s.twin_name(&public, twin).unwrap().wire(), &*q);
    }

    #[test]
    fn acl_matches_v4_mapped_clients() {
        let s = snapshot(&[], None);
        assert!(s.is_allowed("10.1.2.3".parse().unwrap()));
        assert!(s.is_allowed("::ffff:192.168.1.1".parse().unwrap()));
        assert!(!s.is_allowed("192.0.2.1".parse().unwrap()));
        assert!(!s.is_allowed("2001:db8::1".parse().unwrap()));
    }
}

//! Snapshots for the transfer code's unit tests, built from a config text
//! and records written as `("owner", "A 10.0.0.1 [ttl]")`.

use std::path::Path;

use crate::config;
use crate::name::Name;
use crate::records::Records;
use crate::snapshot::Snapshot;
use crate::table::{Data, TableBuilder};

/// Two zones with records and one forwarding zone.
pub const CONFIG: &str = r#"
[server]
listen = ["127.0.0.1:0"]
[[zone]]
name = "zone.test"
records = []
on_miss = "nxdomain"
transfer_allow = ["127.0.0.0/8"]
[[zone]]
name = "other.test"
records = []
on_miss = "nxdomain"
ttl = 60
[[zone]]
name = "fwd.test"
forwarders = ["127.0.0.1:5300"]
"#;

pub fn snapshot(text: &str, records: &[(&str, &str)], previous: Option<&Snapshot>) -> Snapshot {
    let cfg = config::parse(Path::new("/t/pldns.toml"), text).unwrap();
    let mut b = TableBuilder::new(cfg.zones.len());
    let zones: Vec<Name> = cfg.zones.iter().map(|z| z.name.clone()).collect();
    for (owner, data) in records {
        let name = Name::from_text(owner).unwrap();
        let zone = zones
            .iter()
            .enumerate()
            .filter(|(_, z)| name.is_in(z))
            .max_by_key(|(_, z)| z.wire().len())
            .map(|(i, _)| i)
            .expect("record outside every zone");
        let mut parts = data.split_whitespace();
        let kind = parts.next().unwrap();
        let value = parts.next().unwrap();
        let ttl = parts.next().map_or(300, |t| t.parse().unwrap());
        let target;
        let d = match kind {
            "A" => Data::A(value.parse().unwrap()),
            "AAAA" => Data::Aaaa(value.parse().unwrap()),
            "CNAME" => {
                target = Name::from_text(value).unwrap();
                Data::Cname(target.wire())
            }
            other => panic!("unknown type {other}"),
        };
        b.insert(name.wire(), zone, d, ttl, (0, 1)).unwrap();
    }
    let apexes: Vec<usize> = zones.iter().map(|z| z.wire().len()).collect();
    let recs = Records {
        table: b.finish(&apexes),
        files: vec![],
        pulled: vec![],
    };
    Snapshot::build(cfg, recs, previous)
}

pub fn n(s: &str) -> Name {
    Name::from_text(s).unwrap()
}

//! The human summary `pldns check` prints and `serve` logs at start-up.

use std::fmt::Write;
use std::net::SocketAddr;

use crate::config::OnMiss;
use crate::snapshot::Snapshot;

fn addrs(list: &[SocketAddr]) -> String {
    if list.is_empty() {
        return "(none)".into();
    }
    list.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn summary(snap: &Snapshot) -> String {
    let cfg = &snap.config;
    let mut s = String::new();
    let _ = writeln!(s, "config {}: ok", cfg.path.display());
    let _ = writeln!(s, "listen: {}", addrs(&cfg.listen));
    let _ = writeln!(s, "upstream: {}", addrs(&cfg.upstream));
    let _ = writeln!(s, "zones: {}", snap.zones.len());
    for (z, zc) in snap.zones.iter().zip(&cfg.zones) {
        match &z.local {
            Some(l) => {
                let miss = match l.on_miss {
                    OnMiss::Forward => "forward",
                    OnMiss::Nxdomain => "nxdomain",
                };
                let _ = writeln!(
                    s,
                    "  zone {}: {} records ({} names), ttl {}, serial {}, on_miss {}, forwarders: {}{}",
                    z.name,
                    l.records,
                    l.names,
                    l.ttl,
                    l.serial,
                    miss,
                    addrs(&z.forwarders),
                    if zc.forwarders_inherited && !z.forwarders.is_empty() {
                        " (from [upstream])"
                    } else {
                        ""
                    },
                );
            }
            None if zc.is_secondary() => {
                let _ = writeln!(
                    s,
                    "  zone {}: secondary (answered from what its primaries send)",
                    z.name
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "  zone {}: forward only, forwarders: {}",
                    z.name,
                    addrs(&z.forwarders)
                );
            }
        }
        if let Some(t) = zc.transfer.describe() {
            let _ = writeln!(s, "    {t}");
        }
    }
    let _ = writeln!(s, "record files: {}", snap.files.len());
    for f in &snap.files {
        let _ = writeln!(s, "  {}", f.display());
    }
    let _ = write!(s, "records: {}", snap.record_count());
    s
}

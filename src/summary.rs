//! The human summary `pldns check` prints and `serve` logs at start-up.

use std::fmt::Write;
use std::net::SocketAddr;

use crate::config::OnMiss;
use crate::load::Report;
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

/// `report`: what the load found broken (the first line says when the
/// config in service is not the file's).
pub fn summary(snap: &Snapshot, report: Option<&Report>) -> String {
    let cfg = &snap.config;
    let mut s = String::new();
    match report {
        Some(r) if r.config_error.is_some() => {
            let _ = match &r.config_kept {
                Some(kept) => writeln!(
                    s,
                    "config {}: does not parse; serving the last good copy kept at {}",
                    cfg.path.display(),
                    kept.display()
                ),
                None => writeln!(
                    s,
                    "config {}: does not parse; serving the configuration in service before",
                    cfg.path.display()
                ),
            };
        }
        _ => {
            let _ = writeln!(s, "config {}: ok", cfg.path.display());
        }
    }
    let _ = writeln!(s, "listen: {}", addrs(&cfg.listen));
    let _ = writeln!(s, "upstream: {}", addrs(&cfg.upstream));
    let _ = writeln!(s, "zones: {}", snap.zones.len());
    for (z, zc) in snap.zones.iter().zip(&cfg.zones) {
        match &z.local {
            Some(l) if l.secondary => {
                let _ = match &l.pulled {
                    Some(c) => writeln!(
                        s,
                        "  zone {}: secondary, serial {} from its primary, {} records ({} names) answered of {} kept",
                        z.name,
                        l.soa.serial(),
                        l.records,
                        l.names,
                        c.records.len()
                    ),
                    None => writeln!(
                        s,
                        "  zone {}: secondary, no copy yet (SERVFAIL until a primary answers)",
                        z.name
                    ),
                };
            }
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
                    l.soa.serial(),
                    miss,
                    addrs(&z.forwarders),
                    if zc.forwarders_inherited && !z.forwarders.is_empty() {
                        " (from [upstream])"
                    } else {
                        ""
                    },
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
        let broken = report.and_then(|r| {
            r.sources
                .iter()
                .find(|st| st.id.file() == Some(f.as_path()) && st.error.is_some())
        });
        let _ = match broken {
            Some(st) if st.entries > 0 || st.from_state => writeln!(
                s,
                "  {} (broken: serving its last good contents, {} entries)",
                f.display(),
                st.entries
            ),
            Some(_) => writeln!(s, "  {} (broken: not served)", f.display()),
            None => writeln!(s, "  {}", f.display()),
        };
    }
    s.push_str(&crate::sync::describe(cfg, report));
    let _ = write!(s, "records: {}", snap.record_count());
    s
}

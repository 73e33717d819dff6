//! The config parser, and what the query path does with whatever it
//! accepts. Invariants: every `FILE:LINE` is a line of the text; a config
//! that parses is safe to serve with: its snapshot builds, its cache and
//! rate limiter work, and queries through it (local, forwarded with answers
//! of any TTL, cached) keep the reply invariants (no `min > max` clamp, no
//! zero sizes, no overflow).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use pldns::cache::Cache;
use pldns::resolve::{Outcome, Transport, resolve};
use pldns::rrl::{Kind, Rrl};
use pldns::snapshot::Snapshot;
use pldns::sources::SourceSet;
use pldns::stats::Stats;

use super::answer::packet;
use super::upstream::Upstream;
use super::{check, fixture};

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Parsing reads the secret files a config names (`[[tsig]]`): keep the
    // fuzzer to the fixture's folder, away from /dev/zero and the like.
    if !local_paths_only(text) {
        return;
    }
    let path = fixture::dir().join("fuzz.toml");
    let config = match pldns::config::parse(&path, text) {
        Ok(c) => c,
        Err(diags) => {
            let lines = text.split('\n').count();
            assert!(!diags.is_empty());
            for d in diags.iter() {
                let ok = d.file == path && d.line.is_none_or(|l| (1..=lines).contains(&l));
                assert!(ok, "{d} outside the {lines} lines");
            }
            return;
        }
    };
    let c = &config.cache;
    assert!(
        c.min_ttl <= c.max_ttl,
        "min_ttl {} > max_ttl {}",
        c.min_ttl,
        c.max_ttl
    );
    assert!(config.edns_udp_size >= 512);
    assert!(!config.timeout.is_zero() && config.query_timeout >= config.timeout);
    serve_with(config);
}

/// True when every string in the TOML is a relative path without `..`
/// (or the text is no TOML at all: then nothing is read).
fn local_paths_only(text: &str) -> bool {
    fn ok(v: &toml::Value) -> bool {
        match v {
            toml::Value::String(s) => {
                !s.starts_with('/') && !s.contains("..") && !s.contains('\\') && !s.contains(':')
                    || s.parse::<std::net::SocketAddr>().is_ok()
                    || s.parse::<std::net::IpAddr>().is_ok()
                    || s.parse::<ipnet::IpNet>().is_ok()
            }
            toml::Value::Array(a) => a.iter().all(ok),
            toml::Value::Table(t) => t.values().all(ok),
            _ => true,
        }
    }
    text.parse::<toml::Table>()
        .map_or(true, |t| t.values().all(ok))
}

fn serve_with(config: pldns::config::Config) {
    let mut sources = SourceSet::new(None, false);
    let built = sources.build(&config);
    let snap = Arc::new(Snapshot::build(config, built.records, None));
    let cache = Cache::new(&snap.config.cache);
    let rrl = Rrl::new(&snap.config.rrl);
    let stats = Stats::default();
    let client = IpAddr::from([127, 0, 0, 1]);
    let mut names: Vec<String> = snap.zones.iter().map(|z| z.name.to_string()).collect();
    names.push("www.example.com".into());
    for name in &names {
        for (qtype, edns) in [(1, Some((4096, true))), (6, None), (28, Some((100, false)))] {
            let query = packet(name, qtype, edns, false);
            for ttl in [0u32, 7, 86_400, u32::MAX] {
                let answer = answer_with_ttl(ttl);
                let mut up = Upstream::new(vec![&answer], true);
                let mut out = Vec::new();
                let t = Transport::Udp;
                let reply =
                    match resolve(&snap, cache.as_ref(), &stats, &query, client, t, &mut out) {
                        Outcome::Drop => panic!("a good query dropped"),
                        Outcome::Handover => panic!("an unsigned query handed over"),
                        Outcome::Reply(_) => out,
                        Outcome::Forward(p) => up.drive(p, cache.as_ref(), &stats).reply,
                    };
                check::reply(&snap, &query, t, &reply, &up.asked);
                if let Some(rrl) = &rrl {
                    let kind = Kind::of_reply(&reply, b"\0", qtype, b"\0");
                    rrl.check(client, kind, Instant::now());
                }
            }
        }
    }
}

/// An answer section of one A record with `ttl`, and an SOA in authority
/// with `ttl` as its minimum (negative caching reads it).
fn answer_with_ttl(ttl: u32) -> Vec<u8> {
    let mut a = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 1, 0, 0];
    let ttl_b = ttl.to_be_bytes();
    a.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1]);
    a.extend_from_slice(&ttl_b);
    a.extend_from_slice(&[0, 4, 192, 0, 2, 1]);
    a.extend_from_slice(&[0xC0, 0x0C, 0, 6, 0, 1]);
    a.extend_from_slice(&ttl_b);
    let mut soa = vec![0, 0];
    soa.extend_from_slice(&[0; 16]);
    soa.extend_from_slice(&ttl_b);
    a.extend_from_slice(&(soa.len() as u16).to_be_bytes());
    a.extend_from_slice(&soa);
    a
}

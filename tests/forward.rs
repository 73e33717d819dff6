//! Forwarding (contract items 3-7): routing, relay fidelity, TCP retry,
//! failover, caching, coalescing, spoofing defence, and the splice of
//! forwarded CNAME chains into the Private Link zones.

mod common;

use std::time::{Duration, Instant};

use common::upstream::*;
use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

const PUBLIC_IP: &str = "52.239.1.1";

/// Azure's public answer for a storage account with a private endpoint.
fn public_chain(acct: &str, svc: &str) -> Vec<hickory_proto::rr::Record> {
    vec![
        cname(
            &format!("{acct}.{svc}.core.windows.net."),
            &format!("{acct}.privatelink.{svc}.core.windows.net."),
            60,
        ),
        cname(
            &format!("{acct}.privatelink.{svc}.core.windows.net."),
            "blob.bl5prdstr09a.store.core.windows.net.",
            60,
        ),
        a("blob.bl5prdstr09a.store.core.windows.net.", PUBLIC_IP, 60),
    ]
}

/// A public resolver: Azure chains for storage, NXDOMAIN for backup names,
/// a few ordinary names.
fn public_dns(q: &Message) -> Reply {
    let (n, t) = question(q);
    let n = n.trim_end_matches('.').to_string();
    let parts: Vec<&str> = n.split('.').collect();
    if n.ends_with(".blob.core.windows.net") || n.ends_with(".queue.core.windows.net") {
        let svc = if n.contains(".blob.") {
            "blob"
        } else {
            "queue"
        };
        let acct = parts[0];
        return match t {
            RecordType::A => Reply::ok(public_chain(acct, svc)),
            _ => Reply::ok(public_chain(acct, svc)[..2].to_vec()),
        };
    }
    if n.ends_with("backup.windowsazure.com") {
        return Reply::nxdomain("windowsazure.com.", 60);
    }
    match n.as_str() {
        "www.example.com" => Reply::ok(vec![a("www.example.com.", "93.184.216.34", 300)]),
        "backup.contoso.com" => {
            let mut chain = vec![cname(
                "backup.contoso.com.",
                "vaultacct.blob.core.windows.net.",
                300,
            )];
            chain.extend(public_chain("vaultacct", "blob"));
            Reply::ok(chain)
        }
        "nx.example.com" => Reply::nxdomain("example.com.", 30),
        // Custom names pointing into the backup zone (public DNS has no
        // backup chain of its own).
        "vault.contoso.com" => Reply::ok(vec![
            cname(
                "vault.contoso.com.",
                "vault-ab-pod01-fab1.privatelink.eus.backup.windowsazure.com.",
                300,
            ),
            a(
                "vault-ab-pod01-fab1.privatelink.eus.backup.windowsazure.com.",
                PUBLIC_IP,
                300,
            ),
        ]),
        "oldvault.contoso.com" => Reply::ok(vec![cname(
            "oldvault.contoso.com.",
            "vault-ab-pod01-gone.privatelink.eus.backup.windowsazure.com.",
            300,
        )]),
        _ => Reply::nxdomain(".", 30),
    }
}

fn config(upstream: &str, zones: &str, cache: usize) -> String {
    format!(
        r#"{SERVER}
[upstream]
servers = [{upstream}]
timeout_ms = 300

[cache]
size = {cache}
{zones}"#
    )
}

fn privatelink_zones(on_miss: &str, forwarders: &str) -> String {
    ["privatelink.blob.core.windows.net", "privatelink.queue.core.windows.net", "privatelink.eus.backup.windowsazure.com"]
        .iter()
        .map(|z| format!("\n[[zone]]\nname = \"{z}\"\nrecords = [\"rec/\"]\non_miss = \"{on_miss}\"\n{forwarders}\n"))
        .collect()
}

const RECORDS: &str = "10.0.0.5 acct.blob.core.windows.net\n\
10.0.0.6 acct.queue.core.windows.net\n\
10.0.0.7 vaultacct.blob.core.windows.net\n\
10.0.0.8 vault-ab-pod01-fab1.eus.backup.windowsazure.com\n";

const OUTSIDE_ALIAS: &str =
    "[[record]]\nname = \"alias.privatelink.blob.core.windows.net\"\ncname = \"www.example.com\"\n";

fn start(upstream: &Upstream, zones: &str, cache: usize) -> Daemon {
    Daemon::start(Files::new(&[
        (
            "pldns.toml",
            &config(&format!("\"{}\"", upstream.addr), zones, cache),
        ),
        ("rec/site.hosts", RECORDS),
        ("rec/alias.toml", OUTSIDE_ALIAS),
    ]))
}

#[test]
fn routing_takes_the_longest_zone() {
    let corp = Upstream::start(|q| Reply::ok(vec![a(&question(q).0, "10.1.1.1", 60)]));
    let lab = Upstream::start(|q| Reply::ok(vec![a(&question(q).0, "10.2.2.2", 60)]));
    let default = Upstream::start(public_dns);
    let zones = format!(
        "[[zone]]\nname = \"corp.example\"\nforwarders = [\"{}\"]\n[[zone]]\nname = \"lab.corp.example\"\nforwarders = [\"{}\"]\n",
        corp.addr, lab.addr
    );
    let d = start(&default, &zones, 0);
    assert_eq!(
        addresses(&d.query("host.corp.example", RecordType::A)),
        ["10.1.1.1"]
    );
    assert_eq!(
        addresses(&d.query("host.lab.corp.example", RecordType::A)),
        ["10.2.2.2"]
    );
    assert_eq!(
        addresses(&d.query("corp.example", RecordType::A)),
        ["10.1.1.1"]
    );
    assert_eq!(
        addresses(&d.query("www.example.com", RecordType::A)),
        ["93.184.216.34"]
    );
    assert_eq!(
        (corp.queries(), lab.queries(), default.queries()),
        (2, 1, 1)
    );
}

#[test]
fn relays_rcode_sections_and_flags_faithfully() {
    let up = Upstream::start(|q| {
        let dnssec = q.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
        match question(q).0.as_str() {
            "nx.example.com." => Reply::nxdomain("example.com.", 30),
            "do.example.com." => Reply::ok(vec![a(
                "do.example.com.",
                if dnssec { "10.0.0.1" } else { "10.0.0.0" },
                60,
            )]),
            "refused.example.com." => Reply::rcode(ResponseCode::Refused),
            _ => Reply::ok(vec![
                a("multi.example.com.", "192.0.2.1", 60),
                a("multi.example.com.", "192.0.2.2", 60),
                aaaa("other.example.com.", "2001:db8::1", 60),
            ]),
        }
    });
    let d = start(&up, "", 0);
    let m = d.query("nx.example.com", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(!m.metadata.authoritative);
    assert!(m.metadata.recursion_available && m.metadata.recursion_desired);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(m.authorities[0].name.to_ascii(), "example.com.");
    let m = d.query("multi.example.com", RecordType::A);
    assert_eq!(addresses(&m), ["192.0.2.1", "192.0.2.2", "2001:db8::1"]);
    // The DO bit goes upstream with the question.
    let mut msg =
        Message::from_vec(&build_query("do.example.com", RecordType::A, Some(1232))).unwrap();
    msg.edns.as_mut().unwrap().set_dnssec_ok(true);
    let reply = Message::from_vec(&udp_exchange(d.addr, &msg.to_vec().unwrap()).unwrap()).unwrap();
    assert_eq!(addresses(&reply), ["10.0.0.1"]);
    // REFUSED from the only forwarder: nobody answered usefully.
    let m = d.query("refused.example.com", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    // Over TCP too.
    assert_eq!(
        addresses(&d.query_tcp("multi.example.com", RecordType::A)).len(),
        3
    );
}

#[test]
fn truncated_upstream_answer_is_retried_over_tcp() {
    let up = Upstream::start(|q| {
        let n = question(q).0;
        Reply::Truncated(Box::new(Reply::ok(
            (1..=3)
                .map(|i| a(&n, &format!("192.0.2.{i}"), 60))
                .collect(),
        )))
    });
    let d = start(&up, "", 0);
    let m = d.query("big.example.com", RecordType::A);
    assert_eq!(addresses(&m).len(), 3);
    assert!(!m.metadata.truncation);
    assert_eq!(up.names(), ["big.example.com.", "tcp:big.example.com."]);
}

#[test]
fn failover_to_the_next_forwarder_and_servfail_when_all_fail() {
    let silent = Upstream::start(|_| Reply::Silent);
    let failing = Upstream::start(|_| Reply::rcode(ResponseCode::ServFail));
    let good = Upstream::start(public_dns);
    let servers = format!(
        "\"{}\", \"{}\", \"{}\"",
        silent.addr, failing.addr, good.addr
    );
    let d = Daemon::start(Files::new(&[("pldns.toml", &config(&servers, "", 0))]));
    let t = Instant::now();
    let m = d.query("www.example.com", RecordType::A);
    assert_eq!(addresses(&m), ["93.184.216.34"]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(300),
        "waited for the silent one: {took:?}"
    );
    assert!(
        took < Duration::from_millis(300 + 500),
        "one timeout plus a margin: {took:?}"
    );
    assert_eq!(
        (silent.queries(), failing.queries(), good.queries()),
        (1, 1, 1)
    );
    // The failed servers are now tried after the healthy one.
    let t = Instant::now();
    d.query("www.example.com", RecordType::A);
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "healthy first: {:?}",
        t.elapsed()
    );
    assert_eq!(good.queries(), 2);
    assert_eq!(silent.queries(), 1);

    let (s1, s2) = (
        Upstream::start(|_| Reply::Silent),
        Upstream::start(|_| Reply::Silent),
    );
    let servers = format!("\"{}\", \"{}\"", s1.addr, s2.addr);
    let d = Daemon::start(Files::new(&[("pldns.toml", &config(&servers, "", 0))]));
    let t = Instant::now();
    let m = d.query("www.example.com", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(
        t.elapsed() < Duration::from_millis(2 * 300 + 500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!((s1.queries(), s2.queries()), (1, 1));
}

#[test]
fn a_failed_forwarder_is_tried_again_later() {
    let flaky_fails = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let f = flaky_fails.clone();
    let flaky = Upstream::start(move |q| {
        if f.load(std::sync::atomic::Ordering::SeqCst) {
            Reply::Silent
        } else {
            Reply::ok(vec![a(&question(q).0, "10.3.3.3", 60)])
        }
    });
    let backup = Upstream::start(|q| Reply::ok(vec![a(&question(q).0, "10.4.4.4", 60)]));
    let servers = format!("\"{}\", \"{}\"", flaky.addr, backup.addr);
    let d = Daemon::start(Files::new(&[("pldns.toml", &config(&servers, "", 0))]));
    assert_eq!(
        addresses(&d.query("a.example.com", RecordType::A)),
        ["10.4.4.4"]
    );
    flaky_fails.store(false, std::sync::atomic::Ordering::SeqCst);
    // Marked down for a second after one failure, then probed in its place.
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(
        addresses(&d.query("b.example.com", RecordType::A)),
        ["10.3.3.3"]
    );
}

#[test]
fn answers_are_cached_with_ttls_counting_down() {
    let up = Upstream::start(public_dns);
    let d = start(&up, "", 1000);
    let first = d.query("www.example.com", RecordType::A);
    assert_eq!(first.answers[0].ttl, 300);
    std::thread::sleep(Duration::from_millis(1100));
    let second = d.query("WWW.Example.COM", RecordType::A);
    assert_eq!(addresses(&second), ["93.184.216.34"]);
    assert!(
        second.answers[0].ttl < 300,
        "ttl counts down: {}",
        second.answers[0].ttl
    );
    assert_eq!(
        second.queries[0].name.to_ascii(),
        "WWW.Example.COM.",
        "question case of this client"
    );
    assert_eq!(up.queries(), 1, "second query served from the cache");
    // Negative answers are cached for the SOA's negative TTL (RFC 2308).
    let nx = d.query("nx.example.com", RecordType::A);
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    let nx2 = d.query("nx.example.com", RecordType::A);
    assert_eq!(nx2.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(nx2.authorities.len(), 1);
    assert_eq!(up.queries(), 2);
    // Over TCP the cached answer is the same.
    assert_eq!(
        addresses(&d.query_tcp("www.example.com", RecordType::A)),
        ["93.184.216.34"]
    );
    assert_eq!(up.queries(), 2);
}

#[test]
fn cache_entries_expire() {
    let up = Upstream::start(|q| Reply::ok(vec![a(&question(q).0, "10.5.5.5", 1)]));
    let d = start(&up, "", 1000);
    d.query("short.example.com", RecordType::A);
    d.query("short.example.com", RecordType::A);
    assert_eq!(up.queries(), 1);
    std::thread::sleep(Duration::from_millis(1100));
    d.query("short.example.com", RecordType::A);
    assert_eq!(up.queries(), 2, "not served past its TTL");
}

#[test]
fn cache_size_zero_disables_it() {
    let up = Upstream::start(public_dns);
    let d = start(&up, "", 0);
    for _ in 0..3 {
        d.query("www.example.com", RecordType::A);
    }
    assert_eq!(up.queries(), 3);
}

#[test]
fn identical_concurrent_queries_share_one_upstream_query() {
    let up = Upstream::start(|q| {
        Reply::Delay(
            Duration::from_millis(200),
            Box::new(Reply::ok(vec![a(&question(q).0, "10.6.6.6", 60)])),
        )
    });
    let d = start(&up, "", 0);
    let addr = d.addr;
    let clients: Vec<_> = (0..10)
        .map(|_| {
            std::thread::spawn(move || {
                addresses(&udp_query(addr, "slow.example.com", RecordType::A))
            })
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().unwrap(), ["10.6.6.6"]);
    }
    assert_eq!(up.queries(), 1);
}

#[test]
fn spoofed_replies_are_ignored() {
    let up = Upstream::start(|q| {
        Reply::Spoofed(Box::new(Reply::ok(vec![a(&question(q).0, "10.7.7.7", 60)])))
    });
    let d = start(&up, "", 0);
    let m = d.query("target.example.com", RecordType::A);
    assert_eq!(
        addresses(&m),
        ["10.7.7.7"],
        "the reply with the wrong ID or question was dropped"
    );
}

#[test]
fn public_name_with_twin_in_table_never_waits_for_upstream() {
    let up = Upstream::start(|_| Reply::Silent);
    let d = start(&up, &privatelink_zones("forward", ""), 1000);
    for (name, ip) in [
        ("acct.blob.core.windows.net", "10.0.0.5"),
        ("acct.queue.core.windows.net", "10.0.0.6"),
        (
            "vault-ab-pod01-fab1.eus.backup.windowsazure.com",
            "10.0.0.8",
        ),
    ] {
        let t = Instant::now();
        let m = d.query(name, RecordType::A);
        assert_eq!(m.answers[0].record_type(), RecordType::CNAME, "{name}");
        assert_eq!(addresses(&m), [ip], "{name}");
        assert!(t.elapsed() < Duration::from_millis(200));
    }
    assert_eq!(up.queries(), 0);
}

#[test]
fn forwarded_chain_is_spliced_into_the_table() {
    let up = Upstream::start(public_dns);
    let d = start(&up, &privatelink_zones("nxdomain", ""), 1000);
    // A custom name whose public chain runs through a storage account.
    let m = d.query("backup.contoso.com", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        answers(&m),
        vec![
            (
                "backup.contoso.com.".into(),
                RecordType::CNAME,
                "vaultacct.blob.core.windows.net.".into()
            ),
            (
                "vaultacct.blob.core.windows.net.".into(),
                RecordType::CNAME,
                "vaultacct.privatelink.blob.core.windows.net.".into()
            ),
            (
                "vaultacct.privatelink.blob.core.windows.net.".into(),
                RecordType::A,
                "10.0.0.7".into()
            ),
        ]
    );
    assert!(!addresses(&m).contains(&PUBLIC_IP.to_string()));
    // Cached, and still spliced when served from the cache.
    let again = d.query("backup.contoso.com", RecordType::A);
    assert_eq!(addresses(&again), ["10.0.0.7"]);
    assert_eq!(up.queries(), 1);
}

#[test]
fn splice_miss_with_nxdomain_gives_the_chain_and_nxdomain() {
    let up = Upstream::start(public_dns);
    let d = start(&up, &privatelink_zones("nxdomain", ""), 1000);
    for svc in ["blob", "queue"] {
        let m = d.query(&format!("newacct.{svc}.core.windows.net"), RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{svc}");
        assert_eq!(answers(&m).len(), 1, "{svc}: the chain up to the zone");
        assert_eq!(
            m.authorities[0].name.to_ascii(),
            format!("privatelink.{svc}.core.windows.net.")
        );
        assert!(!addresses(&m).contains(&PUBLIC_IP.to_string()));
    }
    // Backup: a chain into the backup zone is cut and completed, or ends in
    // NXDOMAIN where the table lacks the name.
    assert_eq!(
        addresses(&d.query("vault.contoso.com", RecordType::A)),
        ["10.0.0.8"]
    );
    let m = d.query("oldvault.contoso.com", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(answers(&m).len(), 1);
    assert_eq!(
        m.authorities[0].name.to_ascii(),
        "privatelink.eus.backup.windowsazure.com."
    );
    // A backup name the table lacks: public DNS says NXDOMAIN, relayed.
    let m = d.query(
        "vault-ab-pod01-rec2.eus.backup.windowsazure.com",
        RecordType::A,
    );
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
}

#[test]
fn splice_miss_with_forward_asks_the_zones_forwarders() {
    let public = Upstream::start(public_dns);
    let azure = Upstream::start(|q| match question(q).0.as_str() {
        "newacct.privatelink.blob.core.windows.net." => Reply::ok(vec![a(
            "newacct.privatelink.blob.core.windows.net.",
            "10.9.9.9",
            10,
        )]),
        _ => Reply::nxdomain("privatelink.blob.core.windows.net.", 10),
    });
    let zones = privatelink_zones("forward", &format!("forwarders = [\"{}\"]", azure.addr));
    let d = start(&public, &zones, 1000);
    let m = d.query("newacct.blob.core.windows.net", RecordType::A);
    assert_eq!(
        answers(&m),
        vec![
            (
                "newacct.blob.core.windows.net.".into(),
                RecordType::CNAME,
                "newacct.privatelink.blob.core.windows.net.".into()
            ),
            (
                "newacct.privatelink.blob.core.windows.net.".into(),
                RecordType::A,
                "10.9.9.9".into()
            ),
        ]
    );
    assert_eq!(
        azure.names(),
        ["newacct.privatelink.blob.core.windows.net."]
    );
    // Upstream data for a name inside a zone with records is not cached.
    d.query("newacct.blob.core.windows.net", RecordType::A);
    assert_eq!(azure.queries(), 2);
    // A name inside the zone that the table lacks goes straight to the zone's forwarders.
    let m = d.query("other.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(azure.queries(), 3);
}

#[test]
fn splice_of_a_type_the_table_lacks_gives_nodata() {
    let up = Upstream::start(public_dns);
    let d = start(&up, &privatelink_zones("nxdomain", ""), 0);
    let m = d.query("backup.contoso.com", RecordType::AAAA);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(answers(&m).len(), 2, "the chain, nothing beyond it");
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
}

#[test]
fn local_cname_pointing_outside_is_completed_by_forwarding() {
    let up = Upstream::start(public_dns);
    let d = start(&up, &privatelink_zones("nxdomain", ""), 0);
    let m = d.query("alias.privatelink.blob.core.windows.net", RecordType::A);
    assert!(m.metadata.authoritative);
    assert_eq!(
        answers(&m),
        vec![
            (
                "alias.privatelink.blob.core.windows.net.".into(),
                RecordType::CNAME,
                "www.example.com.".into()
            ),
            (
                "www.example.com.".into(),
                RecordType::A,
                "93.184.216.34".into()
            ),
        ]
    );
}

#[test]
fn a_reload_never_lets_a_stale_splice_out_of_the_cache() {
    let up = Upstream::start(public_dns);
    let d = start(&up, &privatelink_zones("nxdomain", ""), 1000);
    let m = d.query("newacct.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    let cached = d.query("newacct.blob.core.windows.net", RecordType::A);
    assert_eq!(cached.metadata.response_code, ResponseCode::NXDomain);
    d.files.write(
        "rec/new.hosts",
        "10.0.0.99 newacct.privatelink.blob.core.windows.net\n",
    );
    d.signal("HUP");
    assert!(d.wait_log("reload applied", Duration::from_secs(5)));
    let m = d.query("newacct.blob.core.windows.net", RecordType::A);
    assert_eq!(addresses(&m), ["10.0.0.99"]);
    // An answer that never touched the table survives the reload.
    d.query("www.example.com", RecordType::A);
    let before = up.queries();
    d.files.write(
        "rec/new2.hosts",
        "10.0.0.98 another.privatelink.blob.core.windows.net\n",
    );
    d.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    d.query("www.example.com", RecordType::A);
    assert_eq!(up.queries(), before);
}

#[test]
fn sigterm_lets_in_flight_queries_finish() {
    // Slower than the stop signal, faster than the 300 ms forwarder timeout.
    let up = Upstream::start(|q| {
        Reply::Delay(
            Duration::from_millis(200),
            Box::new(Reply::ok(vec![a(&question(q).0, "10.8.8.8", 60)])),
        )
    });
    let d = start(&up, "", 0);
    let addr = d.addr;
    let client =
        std::thread::spawn(move || addresses(&udp_query(addr, "slow.example.com", RecordType::A)));
    // The query is waiting on the upstream when the stop signal comes.
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(up.queries(), 1);
    let status = d.stop();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        client.join().unwrap(),
        ["10.8.8.8"],
        "answered before exiting"
    );
}

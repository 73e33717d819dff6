//! Forwarding (contract items 4 and 7): routing by zone, relay fidelity,
//! TCP retry, failover, coalescing, spoofing defence, and draining on stop.

mod common;

use std::time::{Duration, Instant};

use common::azure::*;
use common::upstream::*;
use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

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

/// `name` asked with RD=0 (no recursion desired).
fn norec(d: &Daemon, name: &str, rtype: RecordType) -> Message {
    let mut m = Message::from_vec(&build_query(name, rtype, Some(1232))).unwrap();
    m.metadata.recursion_desired = false;
    let reply = udp_exchange(d.addr, &m.to_vec().unwrap()).expect("a reply");
    let reply = Message::from_vec(&reply).unwrap();
    assert_eq!(reply.metadata.id, m.metadata.id);
    assert!(
        !reply.metadata.recursion_desired,
        "RD copied from the query"
    );
    reply
}

#[test]
fn queries_without_recursion_desired_are_not_forwarded() {
    let up = Upstream::start(public_dns);
    let d = start(&up, &privatelink_zones("forward", ""), 1000);
    // Names that would be forwarded: REFUSED, as Unbound does.
    for name in ["www.example.com", "newacct.blob.core.windows.net"] {
        let m = norec(&d, name, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::Refused, "{name}");
        assert!(m.answers.is_empty());
    }
    // A name the table lacks in a zone that forwards misses: REFUSED too;
    // so is a table CNAME whose target only a forwarder knows.
    for name in [
        "gone.privatelink.blob.core.windows.net",
        "alias.privatelink.blob.core.windows.net",
    ] {
        let m = norec(&d, name, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::Refused, "{name}");
    }
    assert_eq!(up.queries(), 0, "nothing went upstream");
    // The table answers without recursion: its names and public twins.
    let m = norec(&d, "acct.privatelink.blob.core.windows.net", RecordType::A);
    assert!(m.metadata.authoritative);
    assert_eq!(addresses(&m), ["10.0.0.5"]);
    assert_eq!(
        addresses(&norec(&d, "acct.blob.core.windows.net", RecordType::A)),
        ["10.0.0.5"]
    );
    // What the cache holds is served, as Unbound serves its cache.
    d.query("www.example.com", RecordType::A);
    assert_eq!(up.queries(), 1);
    let m = norec(&d, "www.example.com", RecordType::A);
    assert_eq!(addresses(&m), ["93.184.216.34"]);
    assert_eq!(up.queries(), 1);
}

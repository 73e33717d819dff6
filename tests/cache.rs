//! The answer cache (contract item 6): TTLs counting down, negative
//! answers, expiry, size 0, and no stale splice after a reload.

mod common;

use std::time::Duration;

use common::azure::*;
use common::upstream::*;
use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

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

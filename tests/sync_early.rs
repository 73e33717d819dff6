//! Early pulls: a name missed in a zone with records pulls the sync
//! sources that feed it at once (the client still gets its on_miss answer
//! without waiting), also when the miss comes through a splice, and at
//! most once per `min_interval_s` under a flood of misses.

mod common;

use std::time::{Duration, Instant};

use common::fake_azure::*;
use common::sync::*;
use common::upstream::Upstream;
use common::{Daemon, addresses};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

fn early_pull_latency(d: &Daemon, fake: &FakeAzure, query: &str, expect: &str) -> Duration {
    // The start-up pull is in the table (not still on its way to it, where
    // the early pull's records would ride along with it).
    let records = format!("pldns_zone_records{{zone=\"{BLOB}\"}}");
    wait_metric(d, &records, LONG, |v| v == 1.0);
    let before = fake.count("/privateEndpoints");
    fake.add_private_endpoint(pe(
        "pe-vault-prot",
        "vault1id1prot1.blob.core.windows.net",
        "10.1.0.33",
    ));
    let first = Instant::now();
    let m = d.query(query, RecordType::A);
    let answered_in = first.elapsed();
    // The client that missed gets today's on_miss answer, without waiting.
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(addresses(&m).is_empty());
    assert!(answered_in < Duration::from_secs(1), "{answered_in:?}");
    let mut latency = None;
    let found = eventually(Duration::from_secs(10), || {
        if addresses(&d.query(query, RecordType::A)).contains(&expect.to_string()) {
            latency = Some(first.elapsed());
            true
        } else {
            false
        }
    });
    assert!(found, "never answered; log:\n{}", d.log().join("\n"));
    assert_eq!(
        fake.count("/privateEndpoints"),
        before + 1,
        "one early pull"
    );
    assert_eq!(
        metric(d, &series("pldns_sync_early_pulls_total", "")),
        Some(1.0)
    );
    latency.unwrap_or_default()
}

#[test]
fn a_miss_pulls_early_and_the_name_answers_within_two_seconds() {
    let fake = FakeAzure::start();
    populate(&fake);
    // Only an early pull can explain the name appearing.
    let d = start(&fake, "interval_s = 3600\nmin_interval_s = 30");
    let latency = early_pull_latency(&d, &fake, &format!("vault1id1prot1.{BLOB}"), "10.1.0.33");
    eprintln!(
        "early pull: answerable {} ms after the first miss",
        latency.as_millis()
    );
    assert!(latency < Duration::from_secs(2), "{latency:?}");
}

#[test]
fn a_miss_through_a_splice_pulls_early_too() {
    let fake = FakeAzure::start();
    populate(&fake);
    // Public DNS: vault1id1prot1.blob.core.windows.net is a CNAME into the
    // privatelink zone; backup.contoso.com a CNAME to it.
    let up = Upstream::start(|q| {
        use common::upstream::{Reply, cname, question};
        let (name, _) = question(q);
        match name.as_str() {
            "backup.contoso.com." => Reply::ok(vec![
                cname(
                    "backup.contoso.com.",
                    "vault1id1prot1.blob.core.windows.net.",
                    300,
                ),
                cname(
                    "vault1id1prot1.blob.core.windows.net.",
                    "vault1id1prot1.privatelink.blob.core.windows.net.",
                    300,
                ),
                common::upstream::a(
                    "vault1id1prot1.privatelink.blob.core.windows.net.",
                    "20.60.1.1",
                    300,
                ),
            ]),
            _ => Reply::rcode(hickory_proto::op::ResponseCode::NXDomain),
        }
    });
    let upstream = format!(
        "[upstream]\nservers = [\"{}\"]\ntimeout_ms = 500\n",
        up.addr
    );
    let d = Daemon::start(files(&config(&fake.url(), "interval_s = 3600", &upstream)));
    let latency = early_pull_latency(&d, &fake, "backup.contoso.com", "10.1.0.33");
    eprintln!(
        "early pull through a splice: answerable {} ms after the first miss",
        latency.as_millis()
    );
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    // The public address never reaches the client.
    assert!(!a(&d, "backup.contoso.com").contains(&"20.60.1.1".to_string()));
}

#[test]
fn a_flood_of_misses_pulls_at_most_once_per_min_interval() {
    let fake = FakeAzure::start();
    populate(&fake);
    let min = Duration::from_secs(2);
    let d = start(&fake, "interval_s = 3600\nmin_interval_s = 2");
    wait_metric(
        &d,
        &series("pldns_sync_pulls_total", ",result=\"ok\""),
        LONG,
        |v| v >= 1.0,
    );
    let before = fake.count("/privateEndpoints");
    let flood = Instant::now();
    let mut sent = 0u32;
    while flood.elapsed() < Duration::from_secs(5) {
        let name = format!(
            "r{:08x}.{BLOB}",
            (u32::from(common::rand_id()) << 16) ^ sent
        );
        let m = d.query(&name, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        sent += 1;
    }
    // A miss in the last interval leaves one early pull pending: let it run.
    std::thread::sleep(min + Duration::from_millis(500));
    let window = flood.elapsed();
    let times = fake.times("/privateEndpoints");
    let early = &times[before..];
    let allowed = (window.as_secs_f64() / min.as_secs_f64()).floor() as usize + 1;
    eprintln!(
        "{sent} misses in 5 s: {} early pulls in {:.1} s (at most {allowed}); coalesced {:?}",
        early.len(),
        window.as_secs_f64(),
        metric(&d, &series("pldns_sync_early_pulls_coalesced_total", ""))
    );
    assert!(
        early.len() >= 2,
        "misses kept asking: {} pulls",
        early.len()
    );
    assert!(
        early.len() <= allowed,
        "{} pulls in {window:?}",
        early.len()
    );
    for pair in early.windows(2) {
        let gap = pair[1] - pair[0];
        // Pulls start min_interval apart; the request follows the start by
        // the time the task takes to send it.
        assert!(
            gap >= min - Duration::from_millis(250),
            "pulls {gap:?} apart"
        );
    }
    assert_eq!(
        metric(&d, &series("pldns_sync_early_pulls_total", "")),
        Some(early.len() as f64)
    );
    assert!(metric(&d, &series("pldns_sync_early_pulls_coalesced_total", "")).unwrap() > 0.0);
}

//! Response rate limiting (issue 9, BIND-style RRL): one address flooding
//! is limited (dropped, every `slip`-th answered truncated) while a client
//! in another /24 is not; TCP is never limited; the counts are in the
//! metrics; and a reload that changes `[rrl]` applies it. These failed on
//! the main branch, where `[rrl]` was accepted but not applied.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::table::*;
use common::*;
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

const NAME: &str = "acct.privatelink.blob.core.windows.net";

fn rrl_daemon(rrl: &str) -> Daemon {
    Daemon::start(Files::new(&[
        ("pldns.toml", &with_rrl(rrl)),
        ("rec/site.hosts", HOSTS),
        ("backup.json", JSON),
    ]))
}

fn with_rrl(rrl: &str) -> String {
    format!("{}\n[rrl]\n{rrl}\n", config("metrics = \"127.0.0.1:0\"\n"))
}

/// What `n` queries sent at once from `from` got back: (whole answers,
/// truncated ones, nothing).
fn burst(d: &Daemon, from: &str, n: usize) -> (usize, usize, usize) {
    let sock = UdpSocket::bind(format!("{from}:0")).unwrap();
    for _ in 0..n {
        sock.send_to(&build_query(NAME, RecordType::A, None), d.addr)
            .unwrap();
    }
    let (mut whole, mut truncated) = (0, 0);
    let mut buf = [0u8; 1500];
    let deadline = Instant::now() + Duration::from_millis(1500);
    while whole + truncated < n {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        sock.set_read_timeout(Some(left)).unwrap();
        let Ok(len) = sock.recv(&mut buf) else { break };
        let m = Message::from_vec(&buf[..len]).unwrap();
        if m.metadata.truncation {
            assert!(m.answers.is_empty(), "a slip carries no records");
            assert_eq!(m.queries.len(), 1, "but the question");
            truncated += 1;
        } else {
            assert_eq!(addresses(&m), ["10.0.0.5"]);
            whole += 1;
        }
    }
    (whole, truncated, n - whole - truncated)
}

#[test]
fn a_flood_from_one_address_is_limited_and_another_client_is_not() {
    let d = rrl_daemon("responses_per_second = 5\nwindow = 2\nslip = 2\n");
    let (whole, truncated, dropped) = burst(&d, "127.0.0.1", 200);
    // A second's worth of credit (5) plus whatever the next second brings.
    assert!((5..=15).contains(&whole), "{whole} whole answers");
    // Every other limited answer slips (TC=1), the rest are dropped.
    assert!(truncated >= 60, "{truncated} truncated");
    assert!(dropped >= 60, "{dropped} dropped");

    // Another /24, one query at a time: all answered in full.
    for _ in 0..5 {
        let q = build_query(NAME, RecordType::A, None);
        let reply = udp_exchange_from("127.0.1.1:0", d.addr, &q, Duration::from_secs(2)).unwrap();
        let m = Message::from_vec(&reply).unwrap();
        assert!(!m.metadata.truncation);
        assert_eq!(addresses(&m), ["10.0.0.5"]);
    }
    // The flooder itself over TCP: never limited.
    for _ in 0..20 {
        assert_eq!(addresses(&d.query_tcp(NAME, RecordType::A)), ["10.0.0.5"]);
    }

    let series =
        |action: &str| format!("pldns_rrl_limited_total{{kind=\"answer\",action=\"{action}\"}}");
    assert_eq!(d.metric(&series("slipped")), truncated as f64);
    assert_eq!(d.metric(&series("dropped")), dropped as f64);
    assert_eq!(d.metric("pldns_rrl_enabled"), 1.0);
}

#[test]
fn errors_and_nxdomain_are_limited_by_their_own_rates_and_a_reload_applies_rrl() {
    // Off at first: a burst is answered whole.
    let d = rrl_daemon("");
    assert_eq!(burst(&d, "127.0.0.1", 50), (50, 0, 0));
    assert_eq!(d.metric("pldns_rrl_enabled"), 0.0);

    // Turned on by a reload: nxdomains and errors limited, slip 1 (every
    // limited answer truncated).
    d.files.write(
        "pldns.toml",
        &with_rrl("nxdomains_per_second = 2\nerrors_per_second = 2\nslip = 1\n"),
    );
    d.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(5);
    while d.metric("pldns_rrl_enabled") != 1.0 {
        assert!(Instant::now() < deadline, "the reload applied [rrl]");
        std::thread::sleep(Duration::from_millis(50));
    }
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 1500];
    let mut rcodes = Vec::new();
    for i in 0..10 {
        // Names that do not exist in a zone with on_miss = "nxdomain".
        let q = build_query(
            &format!("gone{i}.privatelink.blob.core.windows.net"),
            RecordType::A,
            None,
        );
        sock.send_to(&q, d.addr).unwrap();
        let len = sock.recv(&mut buf).unwrap();
        let m = Message::from_vec(&buf[..len]).unwrap();
        rcodes.push((u16::from(m.metadata.response_code), m.metadata.truncation));
    }
    // NXDOMAIN for names of one zone counts as one kind: after the credit
    // (2 a second; a second may begin meanwhile), every answer slips.
    assert!(rcodes.iter().all(|&(r, _)| r == 3), "{rcodes:?}");
    assert!(rcodes[..2].iter().all(|&(_, tc)| !tc), "{rcodes:?}");
    let slipped = rcodes.iter().filter(|&&(_, tc)| tc).count();
    assert!(slipped >= 6, "{rcodes:?}");
    // Positive answers have no rate set: unlimited.
    assert_eq!(burst(&d, "127.0.0.1", 30), (30, 0, 0));
    assert!(
        d.metric("pldns_rrl_limited_total{kind=\"nxdomain\",action=\"slipped\"}") == slipped as f64
    );
}

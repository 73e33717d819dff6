//! A worker that panics is logged, counted and restarted, and the daemon
//! keeps answering (issue 9). The panics are injected through a hook that
//! exists in debug builds only (`server::panic::fault`): `cargo test`
//! builds the daemon that way; a release build has no such hook, so this
//! test says so and checks nothing there.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::table::*;
use common::upstream::*;
use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

#[test]
fn udp_tcp_and_forward_workers_survive_a_panic() {
    if !cfg!(debug_assertions) {
        eprintln!("skipped: the fault-injection hook exists in debug builds only");
        return;
    }
    let up = Upstream::start(|q| Reply::ok(vec![a(&question(q).0, "192.0.2.77", 60)]));
    let files = Files::new(&[
        (
            "pldns.toml",
            &config(&format!(
                "metrics = \"127.0.0.1:0\"\n[upstream]\nservers = [\"{}\"]\n",
                up.addr
            )),
        ),
        ("rec/site.hosts", HOSTS),
        ("backup.json", JSON),
    ]);
    let d = Daemon::try_start_with(files, &[("PLDNS_TEST_FAULTS", "1")])
        .unwrap_or_else(|(log, _)| panic!("{}", log.join("\n")));
    let local = "acct.privatelink.blob.core.windows.net";

    // UDP: from many source ports, so that every UDP thread (the kernel
    // spreads clients over them by address and port) likely meets one.
    let poison = build_query("pldns-test-panic-udp.example.com", RecordType::A, None);
    for _ in 0..16 {
        let reply = udp_exchange_from("127.0.0.1:0", d.addr, &poison, Duration::from_millis(300));
        assert!(reply.is_none(), "the panicking round answers nothing");
    }
    // Every thread serves again, from as many ports.
    for _ in 0..32 {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        sock.send_to(&build_query(local, RecordType::A, None), d.addr)
            .unwrap();
        let mut buf = [0; 512];
        let n = sock.recv(&mut buf).expect("answered after the panic");
        assert_eq!(
            addresses(&Message::from_vec(&buf[..n]).unwrap()),
            ["10.0.0.5"]
        );
    }
    assert!(d.metric("pldns_worker_panics_total{worker=\"udp\"}") >= 1.0);

    // TCP: that connection closes; the next one is served.
    let mut s = std::net::TcpStream::connect(d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    tcp_send(
        &mut s,
        &build_query("pldns-test-panic-tcp.example.com", RecordType::A, None),
    );
    assert!(tcp_recv(&mut s).is_none());
    assert_eq!(addresses(&d.query_tcp(local, RecordType::A)), ["10.0.0.5"]);
    assert_eq!(d.metric("pldns_worker_panics_total{worker=\"tcp\"}"), 1.0);
    assert_eq!(d.metric("pldns_tcp_closed_total{reason=\"panic\"}"), 1.0);

    // A forwarded query's task: its client gets SERVFAIL, not silence.
    let m = d.query("pldns-test-panic-forward.example.com", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(
        addresses(&d.query("www.example.com", RecordType::A)),
        ["192.0.2.77"]
    );
    assert_eq!(
        d.metric("pldns_worker_panics_total{worker=\"forward\"}"),
        1.0
    );

    // Reported: the log, and /healthz (still 200: the daemon serves).
    assert!(d.wait_log("worker panicked", Duration::from_secs(2)));
    let (status, body) = d.http_get("/healthz");
    assert_eq!(status, 200);
    assert!(body.contains("degraded: a worker panicked"), "{body}");
}

//! UDP and TCP (contract items 1, 8, 10): TCP pipelining, truncation to the
//! client's limit, EDNS, the client ACL, IPv6, binding errors and stopping.

mod common;

use std::time::Duration;

use common::table::*;
use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

#[test]
fn tcp_answers_and_pipelines_several_queries() {
    let d = daemon();
    let m = d.query_tcp("acct.privatelink.queue.core.windows.net", RecordType::A);
    assert_eq!(addresses(&m), ["10.0.0.6"]);

    let mut s = std::net::TcpStream::connect(d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let names = [
        "acct.privatelink.blob.core.windows.net",
        "dual.privatelink.blob.core.windows.net",
        "missing.privatelink.blob.core.windows.net",
    ];
    let queries: Vec<_> = names
        .iter()
        .map(|n| build_query(n, RecordType::A, None))
        .collect();
    for q in &queries {
        tcp_send(&mut s, q);
    }
    for (q, name) in queries.iter().zip(names) {
        let m = Message::from_vec(&tcp_recv(&mut s).unwrap()).unwrap();
        assert_eq!(m.metadata.id, u16::from_be_bytes([q[0], q[1]]), "{name}");
        assert_eq!(m.queries[0].name.to_ascii(), format!("{name}."));
    }
}

#[test]
fn udp_truncates_to_the_client_limit_and_tcp_gives_everything() {
    let d = daemon();
    // 120 A records: about 2 KB.
    for (edns, limit) in [(None, 512), (Some(1232u16), 1232), (Some(4096), 1232)] {
        let q = build_query("big.privatelink.blob.core.windows.net", RecordType::A, edns);
        let reply = udp_exchange(d.addr, &q).unwrap();
        assert!(reply.len() <= limit, "{edns:?}: {} bytes", reply.len());
        let m = Message::from_vec(&reply).unwrap();
        assert!(m.metadata.truncation, "{edns:?}");
        assert_eq!(m.queries.len(), 1);
        assert_eq!(
            m.edns.is_some(),
            edns.is_some(),
            "OPT echoed only when sent"
        );
    }
    let m = d.query_tcp("big.privatelink.blob.core.windows.net", RecordType::A);
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 120);
    // A smaller answer fits a large EDNS buffer untruncated.
    let q = build_query(
        "vault-ab-pod01-prot1.privatelink.eus.backup.windowsazure.com",
        RecordType::A,
        Some(4096),
    );
    let m = Message::from_vec(&udp_exchange(d.addr, &q).unwrap()).unwrap();
    assert!(!m.metadata.truncation);
    assert_eq!(
        m.edns.as_ref().unwrap().max_payload(),
        1232,
        "our own size is advertised"
    );
}

#[test]
fn unknown_edns_version_gets_badvers() {
    let d = daemon();
    let mut q = build_query(
        "acct.privatelink.blob.core.windows.net",
        RecordType::A,
        Some(1232),
    );
    // The OPT record is last: owner(1) type(2) class(2) ext-rcode(1) version(1).
    let at = q.len() - 11 + 6;
    q[at] = 1;
    let m = Message::from_vec(&udp_exchange(d.addr, &q).unwrap()).unwrap();
    // 16 is BADVERS in an OPT context (RFC 6891); hickory names it BADSIG.
    assert_eq!(u16::from(m.metadata.response_code), 16);
}

#[test]
fn clients_outside_allow_are_refused() {
    let files = Files::new(&[
        (
            "pldns.toml",
            &config("").replace(
                "allow = [\"127.0.0.0/8\", \"::1/128\"]",
                "allow = [\"127.0.0.1/32\"]",
            ),
        ),
        ("rec/site.hosts", HOSTS),
        ("backup.json", JSON),
    ]);
    let d = Daemon::start(files);
    let q = build_query(
        "acct.privatelink.blob.core.windows.net",
        RecordType::A,
        None,
    );
    let inside = udp_exchange_from("127.0.0.1:0", d.addr, &q, Duration::from_secs(3)).unwrap();
    assert_eq!(
        Message::from_vec(&inside).unwrap().metadata.response_code,
        ResponseCode::NoError
    );
    let outside = udp_exchange_from("127.0.0.2:0", d.addr, &q, Duration::from_secs(3)).unwrap();
    let m = Message::from_vec(&outside).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    assert!(m.answers.is_empty());
    // Over TCP as well.
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(
        &"127.0.0.2:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    s.connect(&d.addr.into()).unwrap();
    let mut s: std::net::TcpStream = s.into();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp_send(&mut s, &q);
    let m = Message::from_vec(&tcp_recv(&mut s).unwrap()).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn ipv6_listen_address_serves_udp_and_tcp() {
    let files = Files::new(&[
        (
            "pldns.toml",
            &config("").replace("listen = [\"127.0.0.1:0\"]", "listen = [\"[::1]:0\"]"),
        ),
        ("rec/site.hosts", HOSTS),
        ("backup.json", JSON),
    ]);
    let d = Daemon::start(files);
    assert!(d.addr.is_ipv6());
    let q = build_query(
        "acct.privatelink.blob.core.windows.net",
        RecordType::A,
        None,
    );
    let reply = udp_exchange_from("[::1]:0", d.addr, &q, Duration::from_secs(3)).unwrap();
    assert_eq!(addresses(&Message::from_vec(&reply).unwrap()), ["10.0.0.5"]);
    assert_eq!(
        addresses(&d.query_tcp("acct.privatelink.blob.core.windows.net", RecordType::A)),
        ["10.0.0.5"]
    );
}

#[test]
fn port_in_use_is_a_clear_error() {
    let first = daemon();
    let port = first.addr.port();
    let files = Files::new(&[
        (
            "pldns.toml",
            &config("").replace("127.0.0.1:0", &format!("127.0.0.1:{port}")),
        ),
        ("rec/site.hosts", HOSTS),
        ("backup.json", JSON),
    ]);
    let (log, status) = match Daemon::try_start(files) {
        Ok(_) => panic!("a second daemon started on a port in use"),
        Err(e) => e,
    };
    assert_ne!(status.and_then(|s| s.code()), Some(0));
    assert!(
        log.iter().any(|l| l.contains("address already in use")),
        "{log:?}"
    );
    // The first one is unharmed.
    assert_eq!(
        addresses(&first.query("acct.privatelink.blob.core.windows.net", RecordType::A)),
        ["10.0.0.5"]
    );
}

#[test]
fn sigint_stops_cleanly() {
    let d = daemon();
    d.signal("INT");
    let mut child = d;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

/// A UDP query as if from `src` (which the kernel cannot send to), through
/// a raw socket.
fn spoofed_query(to: std::net::SocketAddr, src: std::net::SocketAddrV4, query: &[u8]) {
    use socket2::{Domain, Protocol, Socket, Type};
    let std::net::SocketAddr::V4(to) = to else {
        panic!("IPv4 only")
    };
    // IPPROTO_RAW: we write the IP header; the kernel fills in its checksum.
    let raw = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(255)))
        .expect("a raw socket: this test needs root or CAP_NET_RAW (CI runs as root)");
    let udp_len = 8 + query.len();
    let mut p = Vec::with_capacity(20 + udp_len);
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&((20 + udp_len) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 1, 0, 0, 64, 17, 0, 0]);
    p.extend_from_slice(&src.ip().octets());
    p.extend_from_slice(&to.ip().octets());
    p.extend_from_slice(&src.port().to_be_bytes());
    p.extend_from_slice(&to.port().to_be_bytes());
    p.extend_from_slice(&(udp_len as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]); // no UDP checksum (allowed over IPv4)
    p.extend_from_slice(query);
    raw.send_to(&p, &std::net::SocketAddr::V4(to).into())
        .expect("send the spoofed query");
}

#[test]
fn a_reply_the_kernel_refuses_does_not_cost_the_rest_of_its_batch() {
    // A long coalescing pause makes the queries below arrive as one batch.
    let d = Daemon::start(Files::new(&[
        ("pldns.toml", &config("max_batch_delay_us = 2000\n")),
        ("rec/site.hosts", HOSTS),
        ("backup.json", JSON),
    ]));
    let name = "acct.privatelink.blob.core.windows.net";
    // The reply to 127.255.255.255 (loopback broadcast) fails with EACCES.
    let broadcast = "127.255.255.255:5300".parse().unwrap();
    let clients: Vec<std::net::UdpSocket> = (0..16)
        .map(|_| {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            s
        })
        .collect();
    let mut buf = [0u8; 1500];
    for round in 0..5 {
        // Wake every worker: each answers and then pauses before reading
        // again, while the next queries pile up behind it.
        for c in &clients {
            c.send_to(&build_query(name, RecordType::A, None), d.addr)
                .unwrap();
        }
        for c in &clients {
            c.recv(&mut buf).expect("reply to the wake-up query");
        }
        spoofed_query(d.addr, broadcast, &build_query(name, RecordType::A, None));
        let queries: Vec<Vec<u8>> = clients
            .iter()
            .map(|c| {
                let q = build_query(name, RecordType::A, None);
                c.send_to(&q, d.addr).unwrap();
                q
            })
            .collect();
        for (i, (c, q)) in clients.iter().zip(&queries).enumerate() {
            let n = c
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("round {round}: client {i} got no reply: {e}"));
            assert_eq!(&buf[..2], &q[..2], "round {round}: client {i}");
            assert!(n > 12);
        }
    }
}

#[test]
fn udp_workers_sets_the_threads_per_address_and_every_one_answers() {
    let d = Daemon::start(Files::new(&[
        ("pldns.toml", &config("udp_workers = 3\n")),
        ("rec/site.hosts", HOSTS),
        ("backup.json", JSON),
    ]));
    let tasks = format!("/proc/{}/task", d.child.id());
    let udp_threads = std::fs::read_dir(&tasks)
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.starts_with("udp-"))
        .count();
    assert_eq!(udp_threads, 3, "one thread per SO_REUSEPORT socket");
    // Clients on many ports land on every socket (the kernel hashes the
    // 4-tuple); each gets its reply from the address it asked.
    for _ in 0..24 {
        let c = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let q = build_query(
            "acct.privatelink.blob.core.windows.net",
            RecordType::A,
            None,
        );
        c.send_to(&q, d.addr).unwrap();
        let mut buf = [0u8; 1500];
        let (n, from) = c.recv_from(&mut buf).expect("a reply");
        assert_eq!(from, d.addr);
        assert_eq!(
            addresses(&Message::from_vec(&buf[..n]).unwrap()),
            ["10.0.0.5"]
        );
    }
}

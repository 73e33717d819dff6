//! Contract item 10: malformed packets never stop the daemon. FORMERR when
//! the header parses, silence for runts and responses.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

const RECORDS: &str = "10.0.0.5 acct.privatelink.blob.core.windows.net\n";

fn daemon() -> Daemon {
    Daemon::start(Files::new(&[
        (
            "pldns.toml",
            &format!(
                "{SERVER}[[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"r.hosts\"]\non_miss = \"nxdomain\"\n"
            ),
        ),
        ("r.hosts", RECORDS),
    ]))
}

fn still_serving(d: &Daemon) {
    let m = d.query("acct.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(addresses(&m), ["10.0.0.5"]);
}

fn silent(d: &Daemon, packet: &[u8]) -> bool {
    udp_exchange_from("127.0.0.1:0", d.addr, packet, Duration::from_millis(300)).is_none()
}

fn rcode(d: &Daemon, packet: &[u8]) -> ResponseCode {
    let reply = udp_exchange(d.addr, packet).expect("a reply");
    let m = Message::from_vec(&reply).expect("a parseable reply");
    assert_eq!(&reply[..2], &packet[..2], "ID echoed");
    m.metadata.response_code
}

fn good() -> Vec<u8> {
    build_query(
        "acct.privatelink.blob.core.windows.net",
        RecordType::A,
        None,
    )
}

#[test]
fn runts_and_responses_are_dropped() {
    let d = daemon();
    assert!(silent(&d, &[]));
    assert!(silent(&d, &[0x12, 0x34, 0x01]));
    assert!(silent(&d, &good()[..11]));
    let mut response = good();
    response[2] |= 0x80;
    assert!(
        silent(&d, &response),
        "a response is never answered (no reflection loops)"
    );
    still_serving(&d);
}

#[test]
fn bodies_that_do_not_parse_get_formerr() {
    let d = daemon();
    let q = good();
    // Header only, qdcount 1.
    assert_eq!(rcode(&d, &q[..12]), ResponseCode::FormErr);
    // qdcount lies: 3 questions announced, 1 present; and 0 announced.
    let mut lie = q.clone();
    lie[5] = 3;
    assert_eq!(rcode(&d, &lie), ResponseCode::FormErr);
    let mut none = q.clone();
    none[5] = 0;
    assert_eq!(rcode(&d, &none), ResponseCode::FormErr);
    // arcount announces a record that is not there.
    let mut ar = q.clone();
    ar[11] = 1;
    assert_eq!(rcode(&d, &ar), ResponseCode::FormErr);
    // A compression pointer that points at itself.
    let mut looped = q[..12].to_vec();
    looped.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1]);
    assert_eq!(rcode(&d, &looped), ResponseCode::FormErr);
    // A label running past the end.
    let mut cut = q[..12].to_vec();
    cut.extend_from_slice(&[63, b'a', b'b']);
    assert_eq!(rcode(&d, &cut), ResponseCode::FormErr);
    // Trailing garbage after the question.
    let mut trailing = q.clone();
    trailing.extend_from_slice(&[0xde, 0xad]);
    assert_eq!(rcode(&d, &trailing), ResponseCode::FormErr);
    // An opcode we do not implement.
    let mut update = q.clone();
    update[2] = 5 << 3;
    assert_eq!(rcode(&d, &update), ResponseCode::NotImp);
    still_serving(&d);
}

#[test]
fn random_garbage_and_mutations_never_stop_it() {
    let d = daemon();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // xorshift: deterministic, no dependency.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let base = good();
    for i in 0..3000 {
        let packet: Vec<u8> = if i % 2 == 0 {
            let len = (next() % 600) as usize;
            (0..len).map(|_| next() as u8).collect()
        } else {
            let mut p = base.clone();
            for _ in 0..(1 + next() % 4) {
                let at = (next() as usize) % p.len();
                p[at] = next() as u8;
            }
            p.truncate(12 + (next() as usize) % (p.len() - 11));
            p
        };
        sock.send_to(&packet, d.addr).unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    still_serving(&d);
    assert!(d.child.id() > 0);
}

#[test]
fn tcp_length_prefix_without_body_and_zero_length() {
    let d = daemon();
    // A length prefix promising 300 bytes, then nothing, connection held open.
    let mut hang = TcpStream::connect(d.addr).unwrap();
    hang.write_all(&[0x01, 0x2c]).unwrap();
    // A length prefix, then the peer goes away.
    let mut gone = TcpStream::connect(d.addr).unwrap();
    gone.write_all(&[0x00, 0x40, 1, 2, 3]).unwrap();
    drop(gone);
    // A zero-length message closes the connection (tests/tcp.rs times it).
    let mut s = TcpStream::connect(d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&[0, 0]).unwrap();
    tcp_send(&mut s, &good());
    assert!(tcp_recv(&mut s).is_none(), "closed, the query unanswered");
    // Garbage over TCP gets FORMERR when its header parses, then the
    // connection closes.
    let mut s = TcpStream::connect(d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp_send(&mut s, &good()[..14]);
    let m = Message::from_vec(&tcp_recv(&mut s).unwrap()).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
    assert!(tcp_recv(&mut s).is_none());
    still_serving(&d);
    assert_eq!(
        addresses(&d.query_tcp("acct.privatelink.blob.core.windows.net", RecordType::A)),
        ["10.0.0.5"]
    );
    drop(hang);
}

/// The query `good()` asks, with its QTYPE replaced.
fn asking(name: &str, qtype: u16) -> Vec<u8> {
    let mut q = build_query(name, RecordType::A, None);
    let at = q.len() - 4;
    q[at..at + 2].copy_from_slice(&qtype.to_be_bytes());
    q
}

#[test]
fn meta_and_obsolete_query_types_get_formerr_notimp_or_refused() {
    let d = daemon();
    // A name with records and a name that would be forwarded alike.
    for name in ["acct.privatelink.blob.core.windows.net", "www.example.com"] {
        for (qtype, expected) in [
            (0, 1),   // reserved: FORMERR
            (41, 1),  // OPT
            (249, 1), // TKEY
            (250, 1), // TSIG
            (253, 4), // MAILB: NOTIMP
            (254, 4), // MAILA
            (251, 1), // IXFR without the client's SOA: FORMERR
            (252, 5), // AXFR over UDP: REFUSED
        ] {
            let q = asking(name, qtype);
            let reply = udp_exchange(d.addr, &q).expect("a reply");
            assert_eq!(&reply[..2], &q[..2], "{name} {qtype}: ID echoed");
            assert_eq!(reply[3] & 0x0F, expected, "{name} type {qtype}");
            assert_eq!(
                &reply[4..8],
                &[0, 1, 0, 0],
                "{name} {qtype}: question, no answer"
            );
        }
    }
    still_serving(&d);
}

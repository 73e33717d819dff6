//! Zone-transfer test helpers: the TSIG secret, record files of any size,
//! a raw AXFR/IXFR client that can speak from any loopback address, and
//! polling with a deadline.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use super::{Files, build_query, udp_exchange_from};

/// A 32-byte HMAC-SHA256 secret, as `tsig-keygen` prints it.
pub const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";
/// Another one: a secondary with the wrong key.
pub const WRONG_SECRET: &str = "d3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmc=";

/// Writes `xfr.key` (the secret alone) beside the config.
pub fn key_file(files: &Files, secret: &str) {
    files.write("xfr.key", &format!("{secret}\n"));
}

/// The `[[tsig]]` table naming `xfr.key`.
pub const TSIG: &str =
    "[[tsig]]\nname = \"xfr-key\"\nalgorithm = \"hmac-sha256\"\nsecret_file = \"xfr.key\"\n";

/// `count` hosts lines in `zone`: h0.<zone> .. h<count-1>.<zone>.
pub fn hosts(zone: &str, count: usize) -> String {
    let mut s = String::with_capacity(count * 40);
    for i in 0..count {
        s.push_str(&format!(
            "10.{}.{}.{} h{i}.{zone}\n",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        ));
    }
    s
}

/// Polls `ok` every 50 ms until it holds; panics after `limit`. Returns how
/// long it took.
pub fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

/// The A addresses `server` gives for `name` (empty on no answer).
pub fn a(server: SocketAddr, name: &str) -> Vec<String> {
    answer(server, name, RecordType::A).map_or_else(Vec::new, |m| {
        m.answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(a.0.to_string()),
                _ => None,
            })
            .collect()
    })
}

/// One UDP query from 127.0.0.1, with a short timeout.
pub fn answer(server: SocketAddr, name: &str, t: RecordType) -> Option<Message> {
    let q = build_query(name, t, Some(1232));
    let reply = udp_exchange_from("127.0.0.1:0", server, &q, Duration::from_millis(500))?;
    Message::from_vec(&reply).ok()
}

/// The SOA serial `server` answers for `zone`.
pub fn serial(server: SocketAddr, zone: &str) -> Option<u32> {
    let m = answer(server, zone, RecordType::SOA)?;
    m.answers.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(soa.serial),
        _ => None,
    })
}

/// A transfer request (AXFR, or IXFR from `ixfr_from`) for `zone`.
pub fn transfer_request(zone: &str, ixfr_from: Option<u32>) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = super::rand_id();
    let name = Name::from_ascii(zone).unwrap();
    let t = if ixfr_from.is_some() {
        RecordType::IXFR
    } else {
        RecordType::AXFR
    };
    m.add_query(Query::query(name.clone(), t));
    if let Some(serial) = ixfr_from {
        use hickory_proto::rr::rdata::SOA;
        let soa = SOA::new(name.clone(), name.clone(), serial, 0, 0, 0, 0);
        m.authorities.push(hickory_proto::rr::Record::from_rdata(
            name,
            0,
            RData::SOA(soa),
        ));
    }
    m.to_vec().unwrap()
}

/// Asks `to` for a transfer over TCP from the local address `from` (any
/// 127.x.y.z) and reads the answer's messages: up to the closing SOA, or
/// the first message when it is an error.
pub fn transfer_from(from: &str, to: SocketAddr, request: &[u8]) -> Vec<Message> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{from}:0").parse().unwrap();
    sock.bind(&local.into()).unwrap();
    sock.connect(&to.into()).unwrap();
    let mut s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut framed = (request.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(request);
    s.write_all(&framed).unwrap();
    let mut out = Vec::new();
    let mut soas = 0;
    loop {
        let mut len = [0; 2];
        if s.read_exact(&mut len).is_err() {
            break;
        }
        let mut buf = vec![0; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf).unwrap();
        let m = Message::from_vec(&buf).unwrap();
        let error = m.metadata.response_code != ResponseCode::NoError;
        soas += m
            .answers
            .iter()
            .filter(|r| r.record_type() == RecordType::SOA)
            .count();
        out.push(m);
        // A lone SOA (IXFR up to date) or the closing one ends it.
        if error || soas >= 2 || (soas == 1 && out[0].answers.len() == 1) {
            break;
        }
    }
    out
}

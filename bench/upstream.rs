//! A fake upstream resolver for bench/compare.sh, on loopback only. It
//! answers the way public DNS does for the workloads:
//!
//! - `<acct>.blob.core.windows.net`: CNAME `<acct>.privatelink.blob.core.windows.net`,
//!   CNAME `blob.bl5prdstr09a.store.core.windows.net`, A 52.239.1.1 (public)
//! - `<acct>.privatelink.blob.core.windows.net`: the last two of those
//! - `host<N>.example.com`: A 192.0.2.<N mod 256>
//! - `<acct>.cdn.example.net`: CNAME `<acct>.blob.core.windows.net`, then
//!   that chain (a custom name in front of a storage account: spliced)
//! - anything else: NXDOMAIN with an SOA
//!
//! TTLs are a day, so caches keep everything for the run (`--ttl` sets
//! them). `--flap SECONDS` (for bench/soak.sh) cycles through three phases
//! of that length: answering, silent, SERVFAIL for everything.
//!
//!   cargo run --release --example upstream -- 127.0.0.1:5399 [--flap 20] [--ttl 30]

use std::net::UdpSocket;
use std::str::FromStr;
use std::time::Instant;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

const DAY: u32 = 86_400;
const STORE: &str = "blob.bl5prdstr09a.store.core.windows.net.";

fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

fn answer(q: &Message, ttl: u32) -> Message {
    let mut m = Message::response(q.metadata.id, q.metadata.op_code);
    m.metadata.message_type = MessageType::Response;
    m.metadata.recursion_desired = q.metadata.recursion_desired;
    m.metadata.recursion_available = true;
    m.add_queries(q.queries.iter().cloned());
    if let Some(e) = &q.edns {
        m.set_edns(e.clone());
    }
    let Some(query) = q.queries.first() else {
        m.metadata.response_code = ResponseCode::FormErr;
        return m;
    };
    let qname = query.name().to_ascii().to_ascii_lowercase();
    let store_chain = |m: &mut Message| {
        if query.query_type() == RecordType::A {
            m.add_answer(Record::from_rdata(
                name(STORE),
                ttl,
                RData::A(A("52.239.1.1".parse().unwrap())),
            ));
        }
    };
    if let Some(acct) = qname.strip_suffix(".privatelink.blob.core.windows.net.") {
        m.add_answer(Record::from_rdata(
            name(&qname),
            ttl,
            RData::CNAME(CNAME(name(STORE))),
        ));
        store_chain(&mut m);
        let _ = acct;
    } else if let Some(acct) = qname
        .strip_suffix(".blob.core.windows.net.")
        .filter(|a| !a.contains('.'))
    {
        let private = format!("{acct}.privatelink.blob.core.windows.net.");
        m.add_answer(Record::from_rdata(
            name(&qname),
            ttl,
            RData::CNAME(CNAME(name(&private))),
        ));
        m.add_answer(Record::from_rdata(
            name(&private),
            ttl,
            RData::CNAME(CNAME(name(STORE))),
        ));
        store_chain(&mut m);
    } else if let Some(acct) = qname
        .strip_suffix(".cdn.example.net.")
        .filter(|a| !a.contains('.'))
    {
        let public = format!("{acct}.blob.core.windows.net.");
        let private = format!("{acct}.privatelink.blob.core.windows.net.");
        for (owner, target) in [
            (qname.as_str(), public.as_str()),
            (&public, &private),
            (&private, STORE),
        ] {
            m.add_answer(Record::from_rdata(
                name(owner),
                ttl,
                RData::CNAME(CNAME(name(target))),
            ));
        }
        store_chain(&mut m);
    } else if let Some(n) = qname
        .strip_prefix("host")
        .and_then(|r| r.strip_suffix(".example.com."))
    {
        if query.query_type() == RecordType::A {
            let last = n.parse::<u32>().unwrap_or(0) % 256;
            m.add_answer(Record::from_rdata(
                name(&qname),
                ttl,
                RData::A(A(format!("192.0.2.{last}").parse().unwrap())),
            ));
        }
    } else {
        m.metadata.response_code = ResponseCode::NXDomain;
        m.add_authority(Record::from_rdata(
            name("."),
            ttl,
            RData::SOA(SOA::new(
                name("a.root-servers.net."),
                name("nstld.example."),
                1,
                1800,
                900,
                604800,
                86400,
            )),
        ));
    }
    m
}

/// What the upstream does in its current phase (`--flap`).
#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Answer,
    Silent,
    ServFail,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:5399".into());
    let (mut flap, mut ttl) = (0u64, DAY);
    while let Some(a) = args.next() {
        let mut val = || args.next().and_then(|v| v.parse().ok()).expect("a number");
        match a.as_str() {
            "--flap" => flap = val(),
            "--ttl" => ttl = val() as u32,
            other => panic!("unknown argument {other}"),
        }
    }
    let sock = UdpSocket::bind(&addr).expect("bind");
    let ip = sock.local_addr().unwrap().ip();
    assert!(ip.is_loopback(), "the fake upstream serves loopback only");
    eprintln!("fake upstream on {}", sock.local_addr().unwrap());
    let start = Instant::now();
    let mut last = Phase::Answer;
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((n, peer)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let Ok(q) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        let phase = match (flap > 0).then(|| start.elapsed().as_secs() / flap % 3) {
            Some(1) => Phase::Silent,
            Some(2) => Phase::ServFail,
            _ => Phase::Answer,
        };
        if phase != last {
            let what = ["answering", "silent", "SERVFAIL"][phase as usize];
            eprintln!("{:>5}s upstream {addr}: {what}", start.elapsed().as_secs());
            last = phase;
        }
        let mut m = answer(&q, ttl);
        match phase {
            Phase::Silent => continue,
            Phase::ServFail => {
                m.answers.clear();
                m.authorities.clear();
                m.metadata.response_code = ResponseCode::ServFail;
            }
            Phase::Answer => {}
        }
        if let Ok(bytes) = m.to_vec() {
            let _ = sock.send_to(&bytes, peer);
        }
    }
}

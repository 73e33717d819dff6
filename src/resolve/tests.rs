//! The query core without sockets: one pass over the table, the
//! continuation a forwarded query leaves with, and the rules on the
//! question. Forwarding itself is tested over loopback in tests/.

use std::net::SocketAddr;
use std::path::Path;

use hickory_proto::op::Message;

use super::pending::MAX_FORWARDS;
use super::*;
use crate::name::Name;
use crate::records::Records;
use crate::table::{Data, TableBuilder};

const ZONE: &str = "privatelink.blob.core.windows.net";
const FORWARDING: &str = "privatelink.queue.core.windows.net";

fn n(s: &str) -> Name {
    Name::from_text(s).unwrap()
}

/// Two zones with records: one answers misses NXDOMAIN, one forwards them.
fn snapshot() -> Arc<Snapshot> {
    let cfg = crate::config::parse(
        Path::new("/t/pldns.toml"),
        &format!(
            "[server]\nlisten = [\"127.0.0.1:0\"]\nallow = [\"127.0.0.0/8\"]\n\
             [upstream]\nservers = [\"127.0.0.1:9\"]\n\
             [[zone]]\nname = \"{ZONE}\"\nrecords = []\non_miss = \"nxdomain\"\n\
             [[zone]]\nname = \"{FORWARDING}\"\nrecords = []\non_miss = \"forward\"\n"
        ),
    )
    .unwrap();
    let mut b = TableBuilder::new(2);
    let acct = n(&format!("acct.{ZONE}"));
    b.insert(
        acct.wire(),
        0,
        Data::A("10.0.0.5".parse().unwrap()),
        300,
        (0, 1),
    )
    .unwrap();
    let alias = n(&format!("alias.{ZONE}"));
    let outside = n("www.example.com");
    b.insert(alias.wire(), 0, Data::Cname(outside.wire()), 300, (0, 2))
        .unwrap();
    let apexes = [n(ZONE).wire().len(), n(FORWARDING).wire().len()];
    let records = Records {
        table: b.finish(&apexes),
        files: vec![],
        pulled: vec![],
    };
    Arc::new(Snapshot::build(cfg, records, None))
}

fn query(name: &str, qtype: u16, rd: bool) -> Vec<u8> {
    let mut p = vec![0x12, 0x34, u8::from(rd), 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    p.extend_from_slice(n(name).wire());
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    p
}

fn run(snap: &Arc<Snapshot>, stats: &Stats, packet: &[u8], out: &mut Vec<u8>) -> Outcome {
    let client = "127.0.0.1".parse().unwrap();
    resolve(snap, None, stats, packet, client, Transport::Udp, out)
}

fn rcode(out: &[u8]) -> u8 {
    out[3] & 0x0F
}

fn ancount(out: &[u8]) -> u16 {
    u16::from_be_bytes([out[6], out[7]])
}

fn misses(snap: &Snapshot, zone: usize) -> u64 {
    snap.zones[zone].local.as_ref().unwrap().misses.count()
}

#[test]
fn a_local_chain_leaving_the_table_travels_in_the_continuation() {
    let snap = snapshot();
    let stats = Stats::default();
    let mut out = Vec::new();
    let outcome = run(
        &snap,
        &stats,
        &query(&format!("alias.{ZONE}"), 1, true),
        &mut out,
    );
    let Outcome::Forward(p) = outcome else {
        panic!("not forwarded: {outcome:?}");
    };
    let Pending {
        hop,
        touched,
        mut draft,
        writer,
        ..
    } = *p;
    assert_eq!(hop.name.wire(), n("www.example.com").wire());
    assert_eq!(hop.zone, None, "to [upstream]");
    assert!(touched, "the table wrote part of the answer");
    // The draft holds header, question and the CNAME, counted in the
    // suspended writer: the forwarding step appends, it does not replay.
    let body = ResponseWriter::resume(&mut draft, writer).finish_body();
    assert_eq!(ancount(body), 1);
    assert_eq!(body[2] & 0x04, 0x04, "authoritative, as the table made it");
    assert_eq!(&body[..2], &[0x12, 0x34]);
}

#[test]
fn a_name_to_forward_leaves_with_just_its_question() {
    let snap = snapshot();
    let stats = Stats::default();
    let mut out = Vec::new();
    let outcome = run(&snap, &stats, &query("www.example.com", 28, true), &mut out);
    let Outcome::Forward(p) = outcome else {
        panic!("not forwarded: {outcome:?}");
    };
    assert!(!p.touched);
    assert_eq!(p.question.qtype, 28);
    let q = p.question.query();
    assert_eq!(q.qname.wire(), n("www.example.com").wire());
    assert_eq!(q.packet.len(), q.question_end);
    // SERVFAIL when it cannot be forwarded, from the owned question.
    let mut reply = Vec::new();
    p.fail(&mut reply);
    assert_eq!(rcode(&reply), 2);
    assert_eq!(&reply[..2], &[0x12, 0x34]);
}

#[test]
fn each_missing_name_is_counted_once() {
    let snap = snapshot();
    let stats = Stats::default();
    let mut out = Vec::new();
    let outcome = run(
        &snap,
        &stats,
        &query(&format!("gone.{ZONE}"), 1, true),
        &mut out,
    );
    assert!(matches!(outcome, Outcome::Reply(Source::Local)));
    assert_eq!(rcode(&out), 3);
    assert_eq!(misses(&snap, 0), 1);
    let outcome = run(
        &snap,
        &stats,
        &query(&format!("gone.{FORWARDING}"), 1, true),
        &mut out,
    );
    let Outcome::Forward(p) = outcome else {
        panic!("on_miss = forward: {outcome:?}");
    };
    assert_eq!(p.hop.zone, Some(1));
    assert_eq!(misses(&snap, 1), 1);
    assert_eq!(
        stats.misses.pop().map(|m| m.zone.zone().clone()),
        Some(n(ZONE))
    );
    assert!(stats.misses.pop().is_some());
    assert!(
        stats.misses.pop().is_none(),
        "no second count for the same query"
    );
}

#[test]
fn without_recursion_desired_only_the_table_answers() {
    let snap = snapshot();
    let stats = Stats::default();
    let mut out = Vec::new();
    let outcome = run(&snap, &stats, &query("www.example.com", 1, false), &mut out);
    assert!(matches!(outcome, Outcome::Reply(Source::Own)));
    assert_eq!(rcode(&out), 5);
    let outcome = run(
        &snap,
        &stats,
        &query(&format!("acct.{ZONE}"), 1, false),
        &mut out,
    );
    assert!(matches!(outcome, Outcome::Reply(Source::Local)));
    assert_eq!((rcode(&out), ancount(&out)), (0, 1));
    assert_eq!(out[2] & 0x01, 0, "RD stays clear");
}

#[test]
fn the_question_alone_decides_special_types() {
    let snap = snapshot();
    let stats = Stats::default();
    let mut out = Vec::new();
    for (qtype, expected) in [(0, 1), (41, 1), (249, 1), (250, 1), (253, 4), (254, 4)] {
        let outcome = run(
            &snap,
            &stats,
            &query(&format!("acct.{ZONE}"), qtype, true),
            &mut out,
        );
        assert!(matches!(outcome, Outcome::Reply(Source::Own)), "{qtype}");
        assert_eq!(rcode(&out), expected, "type {qtype}");
        assert_eq!(ancount(&out), 0);
    }
}

#[test]
fn a_cname_query_for_a_public_twin_gets_the_cname_alone() {
    let snap = snapshot();
    let stats = Stats::default();
    let mut out = Vec::new();
    let outcome = run(
        &snap,
        &stats,
        &query("acct.blob.core.windows.net", 5, true),
        &mut out,
    );
    assert!(matches!(outcome, Outcome::Reply(Source::Local)));
    assert_eq!(ancount(&out), 1);
    assert_eq!(u16::from_be_bytes([out[8], out[9]]), 0, "no NODATA SOA");
    let outcome = run(
        &snap,
        &stats,
        &query("acct.blob.core.windows.net", 1, true),
        &mut out,
    );
    assert!(matches!(outcome, Outcome::Reply(Source::Local)));
    assert_eq!(ancount(&out), 2, "CNAME and A for other types");
}

#[test]
fn transfers_notify_and_signed_queries_are_handed_over_before_the_acl() {
    let snap = snapshot();
    let stats = Stats::default();
    let mut out = Vec::new();
    let stranger = "192.0.2.7".parse().unwrap();
    for qtype in [rtype::AXFR, rtype::IXFR] {
        let q = query(ZONE, qtype, false);
        let o = resolve(&snap, None, &stats, &q, stranger, Transport::Tcp, &mut out);
        assert!(matches!(o, Outcome::Handover), "{qtype}");
    }
    let mut notify = query(ZONE, rtype::SOA, false);
    notify[2] = 4 << 3;
    let o = resolve(
        &snap,
        None,
        &stats,
        &notify,
        stranger,
        Transport::Udp,
        &mut out,
    );
    assert!(matches!(o, Outcome::Handover));
    // A TSIG record last in the additional section: a signed query.
    let mut signed = query(ZONE, rtype::SOA, false);
    signed[11] = 1;
    signed.extend_from_slice(b"\x01k\x00\x00\xfa\x00\xff\x00\x00\x00\x00\x00\x00");
    let o = resolve(
        &snap,
        None,
        &stats,
        &signed,
        stranger,
        Transport::Udp,
        &mut out,
    );
    assert!(matches!(o, Outcome::Handover));
    // Anything else from a stranger: REFUSED.
    let o = run_from(
        &snap,
        &stats,
        &query(ZONE, rtype::SOA, false),
        stranger,
        &mut out,
    );
    assert!(matches!(o, Outcome::Reply(Source::Own)));
    assert_eq!(rcode(&out), 5);
}

fn run_from(
    snap: &Arc<Snapshot>,
    stats: &Stats,
    packet: &[u8],
    client: std::net::IpAddr,
    out: &mut Vec<u8>,
) -> Outcome {
    resolve(snap, None, stats, packet, client, Transport::Udp, out)
}

/// An upstream answer to `asked`: a CNAME to `target` (when given) and an
/// A record for the last name.
fn upstream(asked: &str, target: Option<&str>, addr: [u8; 4]) -> Message {
    use hickory_proto::op::{MessageType, OpCode};
    use hickory_proto::rr::rdata::{A, CNAME};
    use hickory_proto::rr::{RData, Record};
    let name = |s: &str| hickory_proto::rr::Name::from_ascii(s).unwrap();
    let mut m = Message::response(7, OpCode::Query);
    m.metadata.message_type = MessageType::Response;
    let mut last = name(asked);
    if let Some(t) = target {
        m.add_answer(Record::from_rdata(last, 60, RData::CNAME(CNAME(name(t)))));
        last = name(t);
    }
    m.add_answer(Record::from_rdata(
        last,
        60,
        RData::A(A::from(std::net::Ipv4Addr::from(addr))),
    ));
    m
}

fn server() -> SocketAddr {
    "127.0.0.1:53".parse().unwrap()
}

fn forwarded(snap: &Arc<Snapshot>, stats: &Stats, name: &str, qtype: u16) -> Box<Pending> {
    let mut out = Vec::new();
    match run(snap, stats, &query(name, qtype, true), &mut out) {
        Outcome::Forward(p) => p,
        other => panic!("not forwarded: {other:?}"),
    }
}

#[test]
fn a_fed_chain_that_enters_the_table_is_spliced_and_cached() {
    let snap = snapshot();
    let stats = Stats::default();
    let cache = Cache::new(&snap.config.cache).unwrap();
    let p = forwarded(&snap, &stats, "cdn.example.com", 1);
    assert_eq!(p.question().name, n("cdn.example.com").wire());
    assert_eq!(p.question().qtype, 1);
    let reply = upstream(
        "cdn.example.com",
        Some(&format!("acct.{ZONE}")),
        [52, 1, 2, 3],
    );
    let Step::Done(done) = p.feed(Some((&reply, server())), Some(&cache), &stats) else {
        panic!("the table finishes this chain");
    };
    assert_eq!(done.source, Source::Spliced);
    assert_eq!(done.upstream, Some(server()));
    let m = Message::from_vec(&done.reply).unwrap();
    let data: Vec<String> = m.answers.iter().map(|r| r.data.to_string()).collect();
    assert_eq!(data, [format!("acct.{ZONE}."), "10.0.0.5".to_string()]);
    assert_eq!(cache.len(), 1, "stored for the next client");
}

#[test]
fn no_answer_is_servfail_and_a_chain_leaving_the_table_forever_stops() {
    let snap = snapshot();
    let stats = Stats::default();
    let p = forwarded(&snap, &stats, "www.example.com", 1);
    let Step::Done(done) = p.feed(None, None, &stats) else {
        panic!("nothing more to ask");
    };
    assert_eq!((rcode(&done.reply), done.source), (2, Source::Own));

    // alias.ZONE CNAME www.example.com, and upstream sends www.example.com
    // back into the table at alias.ZONE: a loop through the forwarder.
    let mut p = forwarded(&snap, &stats, &format!("alias.{ZONE}"), 1);
    let reply = upstream(
        "www.example.com",
        Some(&format!("alias.{ZONE}")),
        [1, 1, 1, 1],
    );
    for asked in 1.. {
        assert_eq!(p.question().name, n("www.example.com").wire());
        match p.feed(Some((&reply, server())), None, &stats) {
            Step::Ask(next) => p = next,
            Step::Done(done) => {
                assert_eq!(asked, MAX_FORWARDS);
                assert_eq!((rcode(&done.reply), done.source), (2, Source::Own));
                break;
            }
        }
    }
}

//! A secondary zone in the snapshot, without sockets: its copy goes through
//! the record sources like a file, the zone answers with its primary's SOA
//! and NS, SERVFAIL without data, and transfers out pass the copy on whole.

use std::path::Path;
use std::sync::Arc;

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

use super::*;
use crate::config;
use crate::resolve::{Outcome, Transport, resolve};
use crate::sources::SourceSet;
use crate::stats::Stats;
use crate::wire::rtype;
use crate::xfr::journal::Journals;
use crate::xfr::msg::MessageWriter;
use crate::xfr::msg::kind::{AXFR, IXFR};
use crate::xfr::secondary::reader::{Answer, Reader};
use crate::xfr::testutil::n;
use crate::xfr::zone::{Rr, ZoneView};

const CONFIG: &str = r#"
[server]
listen = ["127.0.0.1:0"]
allow = ["127.0.0.1/32"]
[[zone]]
name = "sec.test"
primaries = ["127.0.0.1:53"]
transfer_allow = ["10.9.0.0/16"]
[[zone]]
name = "own.test"
records = []
on_miss = "nxdomain"
[[zone]]
name = "inner.sec.test"
records = []
on_miss = "nxdomain"
"#;

fn copy(serial: u32, extra: &str) -> Arc<ZoneCopy> {
    let text = format!(
        "$ORIGIN sec.test.\n@ 3600 IN SOA ns1.primary.example. admin.primary.example. {serial} 900 300 604800 60\n\
         @ 3600 IN NS ns1.primary.example.\n@ 3600 IN NS ns2.primary.example.\n\
         acct 300 IN A 10.0.0.1\nalias 300 IN CNAME acct\nnote 300 IN TXT \\# 5 046b657074\n\
         x.inner 300 IN A 10.0.0.99\n{extra}"
    );
    Arc::new(ZoneCopy::from_text(&n("sec.test"), &text).unwrap())
}

/// The snapshot with `copy` as the secondary zone's source (none: no data),
/// and a file-like source that names a secondary zone's name.
fn snapshot(copy: Option<&Arc<ZoneCopy>>, previous: Option<&Snapshot>) -> Arc<Snapshot> {
    let cfg = config::parse(Path::new("/t/pldns.toml"), CONFIG).unwrap();
    let mut sources = SourceSet::new(None, false);
    sources.refresh_files(&cfg, &[]);
    if let Some(c) = copy {
        sources.submit(source_id(&n("sec.test")), c.contents(), false);
    }
    let entry = |name: &str| crate::sources::Entry {
        name: n(name),
        data: crate::sources::EntryData::A("192.0.2.1".parse().unwrap()),
        ttl: None,
        line: 1,
    };
    sources.submit(
        crate::sources::SourceId::Sync("other".into()),
        crate::sources::Contents::new(vec![entry("sneaky.sec.test"), entry("a.own.test")]),
        false,
    );
    let built = sources.build(&cfg);
    Arc::new(Snapshot::build(cfg, built.records, previous))
}

fn ask(snap: &Arc<Snapshot>, name: &str, qtype: u16, client: &str) -> (Outcome, Message) {
    let q = MessageWriter::new(7, 0x0100, Some((n(name).wire(), qtype)), 512).finish();
    let mut out = Vec::new();
    let client = client.parse().unwrap();
    let stats = Stats::default();
    let o = resolve(snap, None, &stats, &q, client, Transport::Udp, &mut out);
    let m = Message::from_vec(&out).unwrap_or_else(|_| Message::query());
    (o, m)
}

fn texts(m: &Message) -> Vec<String> {
    m.answers.iter().map(|r| r.data.to_string()).collect()
}

#[test]
fn a_secondary_zone_answers_from_its_primarys_copy() {
    let c = copy(42, "");
    let snap = snapshot(Some(&c), None);
    let (_, m) = ask(&snap, "sec.test", rtype::SOA, "127.0.0.1");
    assert_eq!(
        texts(&m),
        ["ns1.primary.example. admin.primary.example. 42 900 300 604800 60"]
    );
    assert!(m.metadata.authoritative);
    let (_, m) = ask(&snap, "sec.test", rtype::NS, "127.0.0.1");
    assert_eq!(texts(&m), ["ns1.primary.example.", "ns2.primary.example."]);
    let (_, m) = ask(&snap, "alias.sec.test", rtype::A, "127.0.0.1");
    assert_eq!(texts(&m), ["acct.sec.test.", "10.0.0.1"]);
    // The whole zone is the primary's: a name it lacks does not exist, and
    // the negative answer carries the SOA with its MINIMUM as TTL.
    let (_, m) = ask(&snap, "sneaky.sec.test", rtype::A, "127.0.0.1");
    assert_eq!(
        m.metadata.response_code.low(),
        3,
        "not taken from other sources"
    );
    assert_eq!(m.authorities[0].ttl, 60);
    // Names under a zone configured here are that zone's.
    let (_, m) = ask(&snap, "x.inner.sec.test", rtype::A, "127.0.0.1");
    assert!(texts(&m).is_empty());
    assert_eq!(m.metadata.response_code.low(), 3);
    let own = ask(&snap, "a.own.test", rtype::A, "127.0.0.1").1;
    assert_eq!(texts(&own), ["192.0.2.1"]);
}

#[test]
fn a_secondary_zone_without_data_answers_servfail() {
    let snap = snapshot(None, None);
    for (name, t) in [("sec.test", rtype::SOA), ("acct.sec.test", rtype::A)] {
        let (o, m) = ask(&snap, name, t, "127.0.0.1");
        assert!(matches!(o, Outcome::Reply(_)));
        assert_eq!(m.metadata.response_code.low(), 2, "{name}");
    }
    assert!(ZoneView::find(&snap, n("sec.test").wire()).is_none());
}

#[test]
fn transfer_allow_is_enough_for_the_zones_soa_and_nothing_else() {
    let snap = snapshot(Some(&copy(42, "")), None);
    let (_, m) = ask(&snap, "sec.test", rtype::SOA, "10.9.1.1");
    assert_eq!(m.metadata.response_code.low(), 0);
    assert_eq!(m.answers[0].record_type(), RecordType::SOA);
    for (name, t) in [("acct.sec.test", rtype::A), ("sec.test", rtype::NS)] {
        let (_, m) = ask(&snap, name, t, "10.9.1.1");
        assert_eq!(m.metadata.response_code.low(), 5, "{name}");
    }
    let (_, m) = ask(&snap, "sec.test", rtype::SOA, "10.8.1.1");
    assert_eq!(m.metadata.response_code.low(), 5);
}

fn pull(snap: &Snapshot, journals: &Journals, from: Option<&Rr>) -> Answer {
    let zone = n("sec.test");
    let qtype = if from.is_some() { IXFR } else { AXFR };
    let mut w = MessageWriter::new(9, 0, Some((zone.wire(), qtype)), 512);
    if let Some(s) = from {
        w.section(1);
        w.push(s.owner.wire(), rtype::SOA, s.ttl, s.data());
    }
    let req = w.finish();
    let serial = from.and_then(|s| crate::soa::serial_of(&s.rdata));
    let mut reader = Reader::new(zone, qtype, 9, serial);
    let client = "10.9.0.1".parse().unwrap();
    let (t, _) = crate::xfr::primary::respond(snap, journals, &req, client, true, 1);
    for m in t {
        if reader.feed(&m).unwrap() {
            break;
        }
    }
    reader.finish().unwrap()
}

#[test]
fn transfers_out_of_a_secondary_zone_pass_the_copy_on_whole() {
    let c42 = copy(42, "");
    let a = snapshot(Some(&c42), None);
    let Answer::Full { soa, records } = pull(&a, &Journals::default(), None) else {
        panic!("a whole zone");
    };
    let again = ZoneCopy::full(n("sec.test"), soa, records);
    assert_eq!(again, *c42, "TXT and the primary's NS and SOA included");

    // The primary moves to 43; the journal gets the copies' difference and
    // a chained secondary's IXFR applies it.
    let c43 = copy(43, "new 300 IN A 10.0.0.2\n");
    let b = snapshot(Some(&c43), Some(&a));
    let journals = Journals::default();
    journals.record(&a, &b);
    let Answer::Incremental { soa, deltas } = pull(&b, &journals, Some(&c42.soa)) else {
        panic!("an incremental answer");
    };
    assert_eq!(deltas[0].added.len(), 1);
    assert_eq!(c42.apply(&soa, &deltas).unwrap(), *c43);
}

#[tokio::test]
async fn a_secondary_zone_notifies_its_own_secondaries_when_its_copy_moves() {
    let downstream = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let at = downstream.local_addr().unwrap();
    let text = CONFIG.replace(
        "transfer_allow = [\"10.9.0.0/16\"]",
        &format!("transfer_allow = [\"10.9.0.0/16\"]\nnotify = [\"{at}\"]"),
    );
    let build = |c: &Arc<ZoneCopy>| {
        let cfg = config::parse(Path::new("/t/pldns.toml"), &text).unwrap();
        let mut sources = SourceSet::new(None, false);
        sources.refresh_files(&cfg, &[]);
        sources.submit(source_id(&n("sec.test")), c.contents(), false);
        let built = sources.build(&cfg);
        Snapshot::build(cfg, built.records, None)
    };
    let (a, b) = (build(&copy(42, "")), build(&copy(43, "")));
    let mut notifier = crate::xfr::notifier::Notifier::new(vec![std::time::Duration::from_secs(2)]);
    assert_eq!(notifier.changed(Some(&a), &a), 0, "same serial: nothing");
    assert_eq!(notifier.changed(Some(&a), &b), 1);
    let mut buf = vec![0u8; 2048];
    let (len, _) = downstream.recv_from(&mut buf).await.unwrap();
    let got = crate::xfr::notify::parse(&buf[..len]).unwrap();
    assert_eq!(got.serial, Some(43), "the primary's serial, passed on");
}

use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};

use super::*;
use crate::xfr::msg::kind::{AXFR, IXFR};
use crate::xfr::msg::{Data, MessageWriter};
use crate::xfr::testutil::{CONFIG, n, snapshot};
use crate::xfr::tsig::sign::{AnswerError, sign_request};
use crate::xfr::tsig::{Algorithm, Key};

const NOW: u64 = 1_750_000_000;

fn local() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

fn query(zone: &str, qtype: u16, client_serial: Option<u32>) -> Vec<u8> {
    let mut w = MessageWriter::new(0x4242, 0, Some((n(zone).wire(), qtype)), 512);
    if let Some(s) = client_serial {
        let soa = crate::xfr::msg::read::Soa {
            mname: n("ns.example"),
            rname: n("h.example"),
            serial: s,
            refresh: 1,
            retry: 1,
            expire: 1,
            minimum: 1,
        };
        w.section(1);
        w.push(
            n(zone).wire(),
            crate::wire::rtype::SOA,
            0,
            Data::Bytes(&soa.to_rdata()),
        );
    }
    w.finish()
}

fn many(count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            (
                format!("host{i}.zone.test"),
                format!("A 10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
            )
        })
        .collect()
}

fn refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

fn rcode(msgs: &[Vec<u8>]) -> ResponseCode {
    assert_eq!(msgs.len(), 1);
    Message::from_vec(&msgs[0]).unwrap().response_code
}

#[test]
fn axfr_streams_a_large_zone_in_messages_with_soa_first_and_last() {
    let recs = many(5000);
    let snap = snapshot(CONFIG, &refs(&recs), None);
    let journals = Journals::default();
    let (t, outcome) = respond(
        &snap,
        &journals,
        &query("zone.test", AXFR, None),
        local(),
        true,
        NOW,
    );
    assert_eq!(outcome, Outcome::Axfr);
    let msgs: Vec<Vec<u8>> = t.collect();
    assert!(msgs.len() >= 5, "{} messages", msgs.len());
    let mut answers = Vec::new();
    for m in &msgs {
        assert!(m.len() <= MESSAGE_SIZE);
        let h = Message::from_vec(m).unwrap();
        assert_eq!(h.id, 0x4242);
        assert!(h.authoritative);
        assert_eq!(h.queries[0].query_type(), RecordType::AXFR);
        answers.extend(h.answers);
    }
    assert_eq!(answers.first().unwrap().record_type(), RecordType::SOA);
    assert_eq!(answers.last().unwrap().record_type(), RecordType::SOA);
    let a = answers
        .iter()
        .filter(|r| r.record_type() == RecordType::A)
        .count();
    assert_eq!(a, 5000);
    assert!(answers.iter().any(|r| r.record_type() == RecordType::NS));
    assert_eq!(answers.len(), 5000 + 3);
    // Compression keeps it near 20 bytes a record.
    let total: usize = msgs.iter().map(Vec::len).sum();
    assert!(total < 5000 * 30, "{total} bytes");
}

#[test]
fn refusals_notauth_and_formerr() {
    let snap = snapshot(CONFIG, &[("a.zone.test", "A 10.0.0.1")], None);
    let j = Journals::default();
    let outside: IpAddr = "192.0.2.1".parse().unwrap();
    let run = |q: &[u8], client, tcp| {
        let (t, o) = respond(&snap, &j, q, client, tcp, NOW);
        (t.collect::<Vec<_>>(), o)
    };
    let (m, o) = run(&query("zone.test", AXFR, None), outside, true);
    assert_eq!((rcode(&m), o), (ResponseCode::Refused, Outcome::Refused));
    let (m, o) = run(&query("zone.test", AXFR, None), local(), false);
    assert_eq!((rcode(&m), o), (ResponseCode::Refused, Outcome::Refused));
    // other.test has records but nobody in transfer_allow (the default).
    let (m, _) = run(&query("other.test", AXFR, None), local(), true);
    assert_eq!(rcode(&m), ResponseCode::Refused);
    for zone in ["fwd.test", "a.zone.test", "elsewhere.example"] {
        let (m, o) = run(&query(zone, AXFR, None), local(), true);
        assert_eq!(
            (rcode(&m), o),
            (ResponseCode::NotAuth, Outcome::NotAuth),
            "{zone}"
        );
    }
    // IXFR without the client's SOA.
    let (m, o) = run(&query("zone.test", IXFR, None), local(), true);
    assert_eq!((rcode(&m), o), (ResponseCode::FormErr, Outcome::FormErr));
    // A response is never answered.
    let mut resp = query("zone.test", AXFR, None);
    resp[2] |= 0x80;
    assert!(run(&resp, local(), true).0.is_empty());
}

#[test]
fn ixfr_up_to_date_incremental_and_fallback() {
    let a = snapshot(CONFIG, &refs(&many(50)), None);
    let mut changed = many(50);
    changed[7].1 = "A 192.0.2.7".into();
    let b = snapshot(CONFIG, &refs(&changed), Some(&a));
    let j = Journals::default();
    j.record(&a, &b);
    let serial = |s: &Snapshot| ZoneView::find(s, n("zone.test").wire()).unwrap().serial();
    let (sa, sb) = (serial(&a), serial(&b));

    let answers = |client_serial, tcp| {
        let (t, o) = respond(
            &b,
            &j,
            &query("zone.test", IXFR, Some(client_serial)),
            local(),
            tcp,
            NOW,
        );
        let recs: Vec<_> = t
            .flat_map(|m| Message::from_vec(&m).unwrap().answers)
            .collect();
        (recs, o)
    };
    let soa_serial = |r: &hickory_proto::rr::Record| match &r.data {
        RData::SOA(s) => s.serial,
        other => panic!("not an SOA: {other:?}"),
    };

    // Current: the lone SOA (RFC 1995 §2); also for any IXFR over UDP.
    let (recs, o) = answers(sb, true);
    assert_eq!((recs.len(), o), (1, Outcome::UpToDate));
    assert_eq!(soa_serial(&recs[0]), sb);
    let (recs, o) = answers(sa, false);
    assert_eq!((recs.len(), o), (1, Outcome::UpToDate));

    // One step back: SOA(b), SOA(a), removed, SOA(b), added, SOA(b).
    let (recs, o) = answers(sa, true);
    assert_eq!(o, Outcome::Ixfr);
    let serials: Vec<u32> = recs
        .iter()
        .filter(|r| r.record_type() == RecordType::SOA)
        .map(soa_serial)
        .collect();
    assert_eq!(serials, vec![sb, sa, sb, sb]);
    assert_eq!(recs.len(), 6);
    assert_eq!(recs[2].data, RData::A("10.0.0.7".parse().unwrap()));
    assert_eq!(recs[4].data, RData::A("192.0.2.7".parse().unwrap()));

    // A serial the journal never had: the whole zone, AXFR-style.
    let (recs, o) = answers(sa.wrapping_sub(100), true);
    assert_eq!(o, Outcome::Axfr);
    assert_eq!(recs.len(), 50 + 3);
}

fn tsig_config(dir: &tempfile::TempDir) -> String {
    let key = dir.path().join("xfr.key");
    std::fs::write(&key, "c2VjcmV0LXNlY3JldC1zZWNyZXQ=\n").unwrap();
    let other = dir.path().join("other.key");
    std::fs::write(&other, "b3RoZXItc2VjcmV0\n").unwrap();
    format!(
        "{CONFIG}\n[[tsig]]\nname = \"xfr-key\"\nsecret_file = \"{}\"\n[[tsig]]\nname = \"other\"\nsecret_file = \"{}\"\n",
        key.display(),
        other.display()
    )
    .replace(
        "transfer_allow = [\"127.0.0.0/8\"]",
        "transfer_allow = [\"127.0.0.0/8\"]\ntsig_key = \"xfr-key\"",
    )
}

#[test]
fn tsig_required_and_every_message_signed() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(&tsig_config(&dir), &refs(&many(3000)), None);
    let j = Journals::default();
    let key = snap.config.tsig.0[0].clone();
    assert_eq!(key.name, n("xfr-key"));

    // Unsigned, or signed with another configured key: REFUSED.
    let (t, o) = respond(
        &snap,
        &j,
        &query("zone.test", AXFR, None),
        local(),
        true,
        NOW,
    );
    assert_eq!(
        (rcode(&t.collect::<Vec<_>>()), o),
        (ResponseCode::Refused, Outcome::Refused)
    );
    let mut q = query("zone.test", AXFR, None);
    let other = snap.config.tsig.0[1].clone();
    let mut other_client = sign_request(&mut q, &other, NOW);
    let (t, _) = respond(&snap, &j, &q, local(), true, NOW);
    let refused: Vec<_> = t.collect();
    assert_eq!(rcode(&refused), ResponseCode::Refused);
    other_client
        .verify(&refused[0], NOW)
        .expect("a refusal to a signed request is signed");

    // Signed with the zone's key: every message signed, chained.
    let mut q = query("zone.test", AXFR, None);
    let mut client = sign_request(&mut q, &key, NOW);
    let (t, o) = respond(&snap, &j, &q, local(), true, NOW);
    assert_eq!(o, Outcome::Axfr);
    let msgs: Vec<_> = t.collect();
    assert!(msgs.len() >= 3);
    for m in &msgs {
        assert!(m.len() <= MESSAGE_SIZE);
        client.verify(m, NOW + 1).unwrap();
    }
    client.finish().unwrap();

    // A key we do not know: NOTAUTH with BADKEY, unsigned.
    let stranger = Arc::new(Key::new(n("stranger"), Algorithm::HmacSha256, b"x"));
    let mut q = query("zone.test", AXFR, None);
    let mut client = sign_request(&mut q, &stranger, NOW);
    let (t, o) = respond(&snap, &j, &q, local(), true, NOW);
    let m: Vec<_> = t.collect();
    assert_eq!((rcode(&m), o), (ResponseCode::NotAuth, Outcome::BadTsig));
    assert_eq!(
        client.verify(&m[0], NOW),
        Err(AnswerError::Rejected("BADKEY".into()))
    );
}

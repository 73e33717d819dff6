use super::*;
use crate::wire::{ANSWER, AUTHORITY, Rdata, ResponseWriter, parse_query, rtype};
use std::time::Duration;

fn config(size: usize) -> CacheConfig {
    CacheConfig {
        size,
        min_ttl: 0,
        max_ttl: 86_400,
        max_negative_ttl: 3_600,
    }
}

fn query(name: &[u8], id: u16, qtype: u16) -> Vec<u8> {
    let mut p = id.to_be_bytes().to_vec();
    p.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    p.extend_from_slice(name);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    p
}

const NAME: &[u8] = b"\x03www\x07example\x03com\x00";
const UPPER: &[u8] = b"\x03WWW\x07Example\x03com\x00";

fn answer_body(packet: &[u8], ttl: u32) -> Vec<u8> {
    let q = parse_query(packet).unwrap();
    let mut out = Vec::new();
    let mut w = ResponseWriter::new(&mut out, &q, Rcode::NoError, false);
    w.record(q.qname.wire(), rtype::A, ttl, Rdata::Bytes(&[192, 0, 2, 1]));
    w.finish_body();
    out
}

#[test]
fn hit_patches_id_question_case_and_ttl() {
    let cache = Cache::new(&config(10)).unwrap();
    let first = query(NAME, 1, rtype::A);
    let q = parse_query(&first).unwrap();
    let t0 = Instant::now();
    cache.store(&q, &answer_body(&first, 300), Rcode::NoError, 7, t0);

    let second = query(UPPER, 0xBEEF, rtype::A);
    let q2 = parse_query(&second).unwrap();
    let mut out = Vec::new();
    assert!(cache.answer(
        &q2,
        (7, 8),
        t0 + Duration::from_secs(5),
        (1232, 512),
        &mut out
    ));
    assert_eq!(&out[..2], &[0xBE, 0xEF]);
    assert_eq!(&out[12..12 + UPPER.len()], UPPER);
    let ttl_at = wire::ttl_offsets(&out).unwrap()[0] as usize;
    assert_eq!(
        u32::from_be_bytes(out[ttl_at..ttl_at + 4].try_into().unwrap()),
        295
    );
}

#[test]
fn misses_on_expiry_generation_type_and_flags() {
    let cache = Cache::new(&config(10)).unwrap();
    let p = query(NAME, 1, rtype::A);
    let q = parse_query(&p).unwrap();
    let t0 = Instant::now();
    cache.store(&q, &answer_body(&p, 60), Rcode::NoError, 7, t0);
    let mut out = Vec::new();
    assert!(
        !cache.answer(
            &q,
            (7, 8),
            t0 + Duration::from_secs(60),
            (1232, 512),
            &mut out
        ),
        "expired"
    );
    assert!(
        !cache.answer(&q, (1, 2), t0, (1232, 512), &mut out),
        "another generation"
    );
    let aaaa = query(NAME, 1, rtype::AAAA);
    assert!(!cache.answer(
        &parse_query(&aaaa).unwrap(),
        (7, 8),
        t0,
        (1232, 512),
        &mut out
    ));
    let mut cd = p.clone();
    cd[3] |= 0x10;
    assert!(
        !cache.answer(
            &parse_query(&cd).unwrap(),
            (7, 8),
            t0,
            (1232, 512),
            &mut out
        ),
        "CD is in the key"
    );
    assert!(
        cache.answer(&q, (0, 7), t0, (1232, 512), &mut out),
        "table generation matches"
    );
}

#[test]
fn negative_lifetime_follows_rfc_2308_and_the_clamps() {
    let cache = Cache::new(&CacheConfig {
        max_negative_ttl: 100,
        ..config(10)
    })
    .unwrap();
    let p = query(NAME, 1, rtype::A);
    let q = parse_query(&p).unwrap();
    let soa = |minimum: u32| {
        let mut out = Vec::new();
        let mut w = ResponseWriter::new(&mut out, &q, Rcode::NxDomain, false);
        w.section(AUTHORITY);
        let mut rdata = b"\x01a\x00\x01b\x00".to_vec();
        for v in [1u32, 2, 3, 4, minimum] {
            rdata.extend_from_slice(&v.to_be_bytes());
        }
        w.record(
            b"\x07example\x03com\x00",
            rtype::SOA,
            3600,
            Rdata::Bytes(&rdata),
        );
        w.section(ANSWER);
        w.finish_body();
        out
    };
    assert_eq!(
        cache.lifetime(&soa(30), Rcode::NxDomain),
        Some(30),
        "SOA MINIMUM"
    );
    assert_eq!(
        cache.lifetime(&soa(900), Rcode::NxDomain),
        Some(100),
        "max_negative_ttl"
    );
    assert_eq!(
        cache.lifetime(&answer_body(&p, 0), Rcode::NoError),
        None,
        "TTL 0 is not cached"
    );
    let without_soa = answer_body(&p, 60)[..p.len()].to_vec();
    let mut nodata = without_soa.clone();
    nodata[6..12].fill(0);
    assert_eq!(
        cache.lifetime(&nodata, Rcode::NoError),
        None,
        "negative without SOA"
    );
    assert_eq!(cache.lifetime(&answer_body(&p, 60), Rcode::ServFail), None);
}

#[test]
fn truncated_answers_are_not_cached_and_size_zero_disables() {
    assert!(Cache::new(&config(0)).is_none());
    let cache = Cache::new(&config(10)).unwrap();
    let p = query(NAME, 1, rtype::A);
    let q = parse_query(&p).unwrap();
    let mut body = answer_body(&p, 60);
    body[2] |= 0x02;
    cache.store(&q, &body, Rcode::NoError, 7, Instant::now());
    assert!(cache.is_empty());
}

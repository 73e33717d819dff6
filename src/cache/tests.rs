use super::*;
use crate::wire::{ANSWER, AUTHORITY, Rdata, ResponseWriter, parse_query, rtype};
use std::time::Duration;
use ttl::clamp_ttl;

fn config(size: usize) -> CacheConfig {
    CacheConfig {
        size,
        min_ttl: 0,
        max_ttl: 86_400,
        max_negative_ttl: 3_600,
        serve_stale: 0,
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
    cache.store(&q, &mut answer_body(&first, 300), Rcode::NoError, 7, t0);

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
    cache.store(&q, &mut answer_body(&p, 60), Rcode::NoError, 7, t0);
    let mut out = Vec::new();
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
    let lifetime = |body: &[u8], rcode| {
        ttl::prepare(&mut body.to_vec(), rcode, cache.config()).map(|p| p.lifetime)
    };
    assert_eq!(lifetime(&soa(30), Rcode::NxDomain), Some(30), "SOA MINIMUM");
    assert_eq!(
        lifetime(&soa(900), Rcode::NxDomain),
        Some(100),
        "max_negative_ttl"
    );
    assert_eq!(
        lifetime(&answer_body(&p, 0), Rcode::NoError),
        None,
        "TTL 0 is not cached"
    );
    let without_soa = answer_body(&p, 60)[..p.len()].to_vec();
    let mut nodata = without_soa.clone();
    nodata[6..12].fill(0);
    assert_eq!(
        lifetime(&nodata, Rcode::NoError),
        None,
        "negative without SOA"
    );
    assert_eq!(lifetime(&answer_body(&p, 60), Rcode::ServFail), None);
    // The SOA goes out with the negative lifetime (RFC 2308 §5).
    let mut body = soa(900);
    cache.store(&q, &mut body, Rcode::NxDomain, 7, Instant::now());
    assert_eq!(ttls(&body), [100]);
}

#[test]
fn truncated_answers_are_not_cached_and_size_zero_disables() {
    assert!(Cache::new(&config(0)).is_none());
    let cache = Cache::new(&config(10)).unwrap();
    let p = query(NAME, 1, rtype::A);
    let q = parse_query(&p).unwrap();
    let mut body = answer_body(&p, 60);
    body[2] |= 0x02;
    cache.store(&q, &mut body, Rcode::NoError, 7, Instant::now());
    assert!(cache.is_empty());
}

fn ttls(msg: &[u8]) -> Vec<u32> {
    wire::ttl_offsets(msg)
        .unwrap()
        .iter()
        .map(|&at| {
            let at = at as usize;
            u32::from_be_bytes(msg[at..at + 4].try_into().unwrap())
        })
        .collect()
}

fn hit(cache: &Cache, packet: &[u8], at: Instant) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let q = parse_query(packet).unwrap();
    cache
        .answer(&q, (7, 8), at, (1232, 65_535), &mut out)
        .then_some(out)
}

#[test]
fn served_ttls_honour_min_and_max_ttl() {
    let cache = Cache::new(&CacheConfig {
        min_ttl: 60,
        max_ttl: 600,
        ..config(10)
    })
    .unwrap();
    let t0 = Instant::now();
    let p = query(NAME, 1, rtype::A);
    let q = parse_query(&p).unwrap();
    // The stored body, and so the first client's reply, is rewritten too.
    let mut body = answer_body(&p, 5);
    cache.store(&q, &mut body, Rcode::NoError, 7, t0);
    assert_eq!(ttls(&body), [60]);
    let out = hit(&cache, &p, t0 + Duration::from_secs(10)).expect("a hit after the upstream TTL");
    assert_eq!(ttls(&out), [50]);
    assert!(hit(&cache, &p, t0 + Duration::from_secs(60)).is_none());

    let big = query(b"\x03big\x07example\x03com\x00", 2, rtype::A);
    let mut body = answer_body(&big, 3_000_000);
    cache.store(
        &parse_query(&big).unwrap(),
        &mut body,
        Rcode::NoError,
        7,
        t0,
    );
    assert_eq!(ttls(&body), [600]);
}

#[test]
fn crossed_ttl_bounds_cannot_panic() {
    // Validation forbids it; the cache must survive it anyway.
    let cache = Cache::new(&CacheConfig {
        min_ttl: 100_000,
        max_ttl: 10,
        ..config(10)
    })
    .unwrap();
    let p = query(NAME, 1, rtype::A);
    let mut body = answer_body(&p, 300);
    cache.store(
        &parse_query(&p).unwrap(),
        &mut body,
        Rcode::NoError,
        7,
        Instant::now(),
    );
    assert_eq!(ttls(&body), [10]);
    assert_eq!(clamp_ttl(5, 100, 10), 10);
}

#[test]
fn stale_answers_within_the_window_only_with_ttl_30_and_counted() {
    let cache = Cache::new(&CacheConfig {
        serve_stale: 3_600,
        ..config(10)
    })
    .unwrap();
    let t0 = Instant::now();
    let p = query(NAME, 1, rtype::A);
    let q = parse_query(&p).unwrap();
    cache.store(&q, &mut answer_body(&p, 60), Rcode::NoError, 7, t0);
    let stale = |at: Instant| {
        let mut out = Vec::new();
        cache
            .stale_answer(&q, (7, 8), at, (1232, 512), &mut out)
            .then_some(out)
    };
    let later = t0 + Duration::from_secs(600);
    assert!(hit(&cache, &p, later).is_none(), "expired: no fresh hit");
    let out = stale(later).expect("stale within the window");
    assert_eq!(ttls(&out), [STALE_TTL]);
    assert_eq!(&out[..2], &[0, 1]);
    assert_eq!(cache.stale_served(), 1);
    // A fresh entry asked for as stale is served fresh and not counted.
    let out = stale(t0 + Duration::from_secs(10)).unwrap();
    assert_eq!(ttls(&out), [50]);
    assert_eq!(cache.stale_served(), 1);
    // Past the window: gone, and its room freed.
    assert!(stale(t0 + Duration::from_secs(60 + 3_600)).is_none());
    assert!(cache.is_empty());

    // Window 0: no stale answers at all.
    let off = Cache::new(&config(10)).unwrap();
    off.store(&q, &mut answer_body(&p, 60), Rcode::NoError, 7, t0);
    let mut out = Vec::new();
    assert!(!off.stale_answer(&q, (7, 8), later, (1232, 512), &mut out));
}

#[test]
fn large_answers_weigh_more_and_memory_stays_bounded() {
    let cache = Cache::new(&config(64)).unwrap();
    let t0 = Instant::now();
    for i in 0..2_000u32 {
        let name = crate::name::Name::from_text(&format!("n{i:04}.test")).unwrap();
        let p = query(name.wire(), 1, 16);
        let q = parse_query(&p).unwrap();
        let mut out = Vec::new();
        let mut w = ResponseWriter::new(&mut out, &q, Rcode::NoError, false);
        // About 3 KiB of TXT data: weight 3 or 4.
        let txt: Vec<u8> = std::iter::repeat_n([255u8].into_iter().chain([b'x'; 255]), 12)
            .flatten()
            .collect();
        w.record(q.qname.wire(), 16, 300, Rdata::Bytes(&txt));
        w.finish_body();
        cache.store(&q, &mut out, Rcode::NoError, 7, t0);
        assert!(cache.weight() <= 64, "weight {}", cache.weight());
    }
    assert!(cache.len() <= 64 / 3, "{} entries", cache.len());
    assert!(cache.evictions() > 0);
}

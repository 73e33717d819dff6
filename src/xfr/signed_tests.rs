use super::*;
use crate::xfr::msg::read::{Header, Parsed};
use crate::xfr::notify::unix_now;
use crate::xfr::testutil::n;
use crate::xfr::tsig::sign::{AnswerError, sign_request};
use crate::xfr::tsig::{Algorithm, Key};

fn keys() -> Keyring {
    Keyring(vec![std::sync::Arc::new(Key::new(
        n("k"),
        Algorithm::HmacSha256,
        b"secret",
    ))])
}

fn soa_query() -> Vec<u8> {
    MessageWriter::new(
        5,
        0x0100,
        Some((n("zone.test").wire(), crate::wire::rtype::SOA)),
        512,
    )
    .finish()
}

#[test]
fn signed_queries_are_answered_signed_from_the_stripped_query() {
    let keys = keys();
    let now = unix_now();
    let mut q = soa_query();
    assert!(!carries_tsig(&q));
    let mut v = sign_request(&mut q, &keys.0[0], now);
    assert!(carries_tsig(&q));
    let out = answer(&q, &keys, now, |stripped| {
        assert_eq!(
            stripped,
            &soa_query()[..],
            "the query as it was before signing"
        );
        let mut a = stripped.to_vec();
        a[2] |= 0x80;
        Some(a)
    })
    .unwrap();
    v.verify(&out, now).unwrap();

    // Unsigned: passed through, answered unsigned.
    let out = answer(&soa_query(), &keys, now, |q| Some(q.to_vec())).unwrap();
    assert_eq!(out, soa_query());

    // A key we do not have: NOTAUTH/BADKEY, the query path never asked.
    let stranger = std::sync::Arc::new(Key::new(n("x"), Algorithm::HmacSha256, b"s"));
    let mut q = soa_query();
    let mut v = sign_request(&mut q, &stranger, now);
    let out = answer(&q, &keys, now, |_| panic!("not answered")).unwrap();
    assert_eq!(Header::parse(&out).unwrap().rcode(), 9);
    assert!(Parsed::new(&out).unwrap().question.is_some());
    assert_eq!(
        v.verify(&out, now),
        Err(AnswerError::Rejected("BADKEY".into()))
    );
}

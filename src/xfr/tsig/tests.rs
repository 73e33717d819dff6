//! TSIG round trips, failure answers, multi-message sequences, and
//! interoperation with hickory-proto's independent implementation (the
//! library we did not pick): it signs, we verify, and the other way round.

use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name as HName, RData, Record, RecordType, TSigner};

use super::rr::find;
use super::sign::{AnswerError, TsigError, sign_request, verify_request};
use super::*;
use crate::xfr::msg::build::{AA, QR};
use crate::xfr::msg::kind::AXFR;
use crate::xfr::msg::{Data, MessageWriter};

const NOW: u64 = 1_750_000_000;
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn key(algorithm: Algorithm) -> Arc<Key> {
    Arc::new(Key::new(
        Name::from_text("xfr-key").unwrap(),
        algorithm,
        SECRET,
    ))
}

fn ring(k: &Arc<Key>) -> Keyring {
    Keyring(vec![k.clone()])
}

fn zone() -> Name {
    Name::from_text("zone.test").unwrap()
}

fn query(id: u16) -> Vec<u8> {
    MessageWriter::new(id, 0, Some((zone().wire(), AXFR)), 512).finish()
}

/// Three answer messages of a transfer, unsigned.
fn answers(id: u16, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut w = MessageWriter::new(id, QR | AA, Some((zone().wire(), AXFR)), 16_384);
            let owner = Name::from_text(&format!("host{i}.zone.test")).unwrap();
            w.push(owner.wire(), 1, 300, Data::Bytes(&[10, 0, 0, i as u8]));
            w.finish()
        })
        .collect()
}

#[test]
fn request_and_multi_message_answer_round_trip() {
    for alg in [Algorithm::HmacSha256, Algorithm::HmacSha512] {
        let k = key(alg);
        let mut q = query(7);
        let mut client = sign_request(&mut q, &k, NOW);
        let RequestAuth::Signed(req) = verify_request(&q, &ring(&k), NOW + 10).unwrap() else {
            panic!("request did not verify");
        };
        assert_eq!(req.mac, client.request_mac());
        let mut server = ServerSequence::new(&req);
        for mut m in answers(7, 3) {
            server.sign(&mut m, NOW + 10);
            client.verify(&m, NOW + 11).unwrap();
        }
        client.finish().unwrap();
    }
}

#[test]
fn tampering_reordering_and_unsigned_answers_are_caught() {
    let k = key(Algorithm::HmacSha256);
    let mut q = query(9);
    sign_request(&mut q, &k, NOW);
    // Signing is deterministic: each case gets a fresh verifier of the same request.
    let fresh = || sign_request(&mut query(9), &k, NOW);
    let RequestAuth::Signed(req) = verify_request(&q, &ring(&k), NOW).unwrap() else {
        panic!()
    };
    let mut server = ServerSequence::new(&req);
    let mut signed: Vec<Vec<u8>> = answers(9, 3);
    for m in &mut signed {
        server.sign(m, NOW);
    }

    // A flipped byte in the second message.
    let mut c = fresh();
    c.verify(&signed[0], NOW).unwrap();
    let mut bad = signed[1].clone();
    bad[20] ^= 1;
    assert_eq!(c.verify(&bad, NOW), Err(AnswerError::BadSig));

    // Messages swapped.
    let mut c = fresh();
    c.verify(&signed[0], NOW).unwrap();
    assert_eq!(c.verify(&signed[2], NOW), Err(AnswerError::BadSig));

    // An unsigned first message, and a transfer ending unsigned.
    let mut c = fresh();
    assert_eq!(c.verify(&answers(9, 1)[0], NOW), Err(AnswerError::Unsigned));
    let mut c = fresh();
    c.verify(&signed[0], NOW).unwrap();
    c.verify(&answers(9, 2)[1], NOW).unwrap();
    assert_eq!(c.finish(), Err(AnswerError::LastUnsigned));

    // Our clock far from the server's.
    let mut c = fresh();
    assert_eq!(
        c.verify(&signed[0], NOW + 301),
        Err(AnswerError::BadTime(301))
    );
}

#[test]
fn unsigned_messages_between_signed_ones_are_covered_by_the_next_mac() {
    // RFC 8945 §5.3.1: the next signed message's MAC covers the prior MAC,
    // every unsigned message since, the message and the timers.
    let k = key(Algorithm::HmacSha256);
    let mut q = query(3);
    let mut client = sign_request(&mut q, &k, NOW);
    let RequestAuth::Signed(req) = verify_request(&q, &ring(&k), NOW).unwrap() else {
        panic!()
    };
    let mut msgs = answers(3, 3);
    let mut server = ServerSequence::new(&req);
    server.sign(&mut msgs[0], NOW);
    let first_mac = find(&msgs[0]).unwrap().unwrap().mac;
    // The third message signed by hand, the second left unsigned.
    let mut mac = k.mac();
    mac.update(&(first_mac.len() as u16).to_be_bytes());
    mac.update(&first_mac);
    mac.update(&msgs[1]);
    mac.update(&msgs[2]);
    let fields = super::rr::Fields {
        key_name: k.name.wire(),
        algorithm: k.algorithm.wire(),
        time_signed: NOW,
        fudge: FUDGE,
        error: 0,
        other: &[],
    };
    mac.update(&fields.timers());
    let tag = mac.finish();
    fields.append(&mut msgs[2], &tag);

    client.verify(&msgs[0], NOW).unwrap();
    client.verify(&msgs[1], NOW).unwrap();
    client.verify(&msgs[2], NOW).unwrap();
    client.finish().unwrap();
}

#[test]
fn server_failures_badkey_badsig_badtime() {
    let k = key(Algorithm::HmacSha256);
    let other = Arc::new(Key::new(
        Name::from_text("other").unwrap(),
        Algorithm::HmacSha256,
        SECRET,
    ));
    let wrong_secret = Arc::new(Key::new(
        Name::from_text("xfr-key").unwrap(),
        Algorithm::HmacSha256,
        b"not the secret",
    ));

    let mut q = query(5);
    sign_request(&mut q, &other, NOW);
    let RequestAuth::Failed(f) = verify_request(&q, &ring(&k), NOW).unwrap() else {
        panic!()
    };
    assert_eq!(f.error, TsigError::BadKey);
    assert_eq!(f.key_name(), "other");

    let mut q = query(5);
    let mut client = sign_request(&mut q, &wrong_secret, NOW);
    let RequestAuth::Failed(f) = verify_request(&q, &ring(&k), NOW).unwrap() else {
        panic!()
    };
    assert_eq!(f.error, TsigError::BadSig);
    // The error answer: NOTAUTH, unsigned, error BADSIG; the client says so.
    let mut answer = MessageWriter::new(5, QR, Some((zone().wire(), AXFR)), 512).finish();
    f.answer(&mut answer, NOW);
    assert_eq!(answer[3] & 0x0F, 9);
    let t = find(&answer).unwrap().unwrap();
    assert!(t.mac.is_empty());
    assert_eq!(t.error, 16);
    assert_eq!(
        client.verify(&answer, NOW),
        Err(AnswerError::Rejected("BADSIG".into()))
    );

    // BADTIME: only after the MAC checked out, and signed, our time inside.
    let mut q = query(5);
    sign_request(&mut q, &k, NOW - 1000);
    let RequestAuth::Failed(f) = verify_request(&q, &ring(&k), NOW).unwrap() else {
        panic!()
    };
    assert_eq!(f.error, TsigError::BadTime);
    let mut answer = MessageWriter::new(5, QR, Some((zone().wire(), AXFR)), 512).finish();
    f.answer(&mut answer, NOW);
    let t = find(&answer).unwrap().unwrap();
    assert_eq!(t.mac.len(), 32);
    assert_eq!(t.time_signed, NOW - 1000);
    assert_eq!(t.other, NOW.to_be_bytes()[2..].to_vec());

    // Unsigned requests are just that.
    assert!(matches!(
        verify_request(&query(1), &ring(&k), NOW).unwrap(),
        RequestAuth::Unsigned
    ));
}

#[test]
fn a_tsig_that_is_not_last_is_malformed() {
    let k = key(Algorithm::HmacSha256);
    let mut q = query(5);
    sign_request(&mut q, &k, NOW);
    // Append an A record after the TSIG.
    q.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
    crate::xfr::msg::build::bump_arcount(&mut q);
    assert!(verify_request(&q, &ring(&k), NOW).is_err());
}

// --- hickory-proto interoperation -----------------------------------------

fn hickory_signer() -> TSigner {
    TSigner::new(
        SECRET.to_vec(),
        TsigAlgorithm::HmacSha256,
        HName::from_ascii("xfr-key.").unwrap(),
        300,
    )
    .unwrap()
}

#[test]
fn hickory_signed_request_verifies_and_our_answers_verify_there() {
    let k = key(Algorithm::HmacSha256);
    let mut m = Message::new(4242, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(
        HName::from_ascii("zone.test.").unwrap(),
        RecordType::AXFR,
    ));
    let mut verifier = m.finalize(&hickory_signer(), NOW).unwrap().unwrap();
    let bytes = m.to_vec().unwrap();

    let RequestAuth::Signed(req) = verify_request(&bytes, &ring(&k), NOW + 1).unwrap() else {
        panic!("hickory's request did not verify")
    };
    let mut server = ServerSequence::new(&req);
    for mut a in answers(4242, 4) {
        server.sign(&mut a, NOW + 1);
        verifier
            .verify(&a)
            .expect("hickory verifies our chained MACs");
    }
}

#[test]
fn our_signed_request_verifies_in_hickory_and_its_answer_here() {
    let k = key(Algorithm::HmacSha256);
    let mut q = query(77);
    let mut client = sign_request(&mut q, &k, NOW);
    let signer = hickory_signer();
    let (request_mac, _, range) = signer.verify_message_byte(&q, None, true).unwrap();
    assert!(range.contains(&NOW));
    assert_eq!(request_mac, client.request_mac());

    // hickory's answer, signed the way its server signs one.
    let mut answer = Message::new(77, MessageType::Response, OpCode::Query);
    answer.add_query(Query::query(
        HName::from_ascii("zone.test.").unwrap(),
        RecordType::AXFR,
    ));
    answer.add_answer(Record::from_rdata(
        HName::from_ascii("a.zone.test.").unwrap(),
        300,
        RData::A("10.0.0.1".parse().unwrap()),
    ));
    let unsigned = answer.to_vec().unwrap();
    let ctx = hickory_proto::rr::TSigResponseContext::new(77, NOW, signer, request_mac, None);
    answer.set_signature(ctx.sign(&unsigned).unwrap());
    let signed = answer.to_vec().unwrap();
    client.verify(&signed, NOW).unwrap();
    client.finish().unwrap();
}

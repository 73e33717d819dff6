use std::time::Duration;

use super::*;
use crate::xfr::msg::read::Header;
use crate::xfr::testutil::{n, snapshot};
use crate::xfr::tsig::sign::ClientSequence;

fn config(dir: &tempfile::TempDir) -> String {
    let key = dir.path().join("k.key");
    std::fs::write(&key, "c2VjcmV0LXNlY3JldC1zZWNyZXQ=").unwrap();
    format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\n\
         [[zone]]\nname = \"sec.test\"\nprimaries = [\"127.0.0.1:5300\", \"[::1]\"]\n\
         [[zone]]\nname = \"own.test\"\nrecords = []\non_miss = \"nxdomain\"\n\
         [[tsig]]\nname = \"k\"\nsecret_file = \"{}\"\n",
        key.display()
    )
}

const SOA: &[u8] =
    b"\x00\x00\x00\x00\x00\x2a\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01";

fn rcode(msg: &[u8]) -> u8 {
    Header::parse(msg).unwrap().rcode()
}

#[test]
fn request_parses_back() {
    let msg = request(9, &n("sec.test"), 60, SOA);
    assert!(is_notify(&msg));
    let got = parse(&msg).unwrap();
    assert_eq!((got.id, got.serial), (9, Some(42)));
    assert_eq!(got.zone.wire(), n("sec.test").wire());
}

#[test]
fn only_listed_primaries_may_notify_a_secondary_zone() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(&config(&dir), &[], None);
    let msg = request(9, &n("sec.test"), 60, SOA);
    let (answer, refresh) = handle(&snap, &msg, "127.0.0.1".parse().unwrap(), 1);
    assert_eq!(rcode(&answer), 0);
    let h = Header::parse(&answer).unwrap();
    assert!(h.is_response() && h.opcode() == OPCODE_NOTIFY && h.id == 9);
    assert_eq!(
        refresh,
        Some(Refresh {
            zone: 0,
            serial: Some(42)
        })
    );
    // Any port; v6 too.
    assert!(handle(&snap, &msg, "::1".parse().unwrap(), 1).1.is_some());

    let (answer, refresh) = handle(&snap, &msg, "10.9.9.9".parse().unwrap(), 1);
    assert_eq!((rcode(&answer), refresh), (Rcode::Refused as u8, None));
    let other = request(9, &n("own.test"), 60, SOA);
    let (answer, refresh) = handle(&snap, &other, "127.0.0.1".parse().unwrap(), 1);
    assert_eq!((rcode(&answer), refresh), (RCODE_NOTAUTH, None));
    // A response is not answered; a broken request gets FORMERR.
    let mut resp = msg.clone();
    resp[2] |= 0x80;
    assert!(
        handle(&snap, &resp, "127.0.0.1".parse().unwrap(), 1)
            .0
            .is_empty()
    );
    let (answer, _) = handle(&snap, &msg[..20], "127.0.0.1".parse().unwrap(), 1);
    assert_eq!(rcode(&answer), Rcode::FormErr as u8);
}

#[test]
fn signed_notify_is_verified_and_answered_signed() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(&config(&dir), &[], None);
    let key = snap.config.tsig.0[0].clone();
    let now = unix_now();
    let mut msg = request(9, &n("sec.test"), 60, SOA);
    let mut v: ClientSequence = sign_request(&mut msg, &key, now);
    let (answer, refresh) = handle(&snap, &msg, "127.0.0.1".parse().unwrap(), now);
    assert!(refresh.is_some());
    v.verify(&answer, now).unwrap();

    let wrong = Arc::new(Key::new(n("k"), key.algorithm, b"wrong"));
    let mut msg = request(9, &n("sec.test"), 60, SOA);
    sign_request(&mut msg, &wrong, now);
    let (answer, refresh) = handle(&snap, &msg, "127.0.0.1".parse().unwrap(), now);
    assert_eq!((rcode(&answer), refresh), (RCODE_NOTAUTH, None));
}

#[tokio::test]
async fn send_retransmits_until_answered_and_verifies_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let snap = snapshot(&config(&dir), &[], None);
    let key = snap.config.tsig.0[0].clone();
    let secondary = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = secondary.local_addr().unwrap();
    let responder = tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        // The first try is lost.
        let _ = secondary.recv_from(&mut buf).await.unwrap();
        let (len, from) = secondary.recv_from(&mut buf).await.unwrap();
        let (answer, refresh) = handle(&snap, &buf[..len], from.ip(), unix_now());
        secondary.send_to(&answer, from).await.unwrap();
        refresh
    });
    let schedule = [Duration::from_millis(300); 3];
    send(addr, &n("sec.test"), 60, SOA, Some(&key), &schedule)
        .await
        .unwrap();
    assert!(responder.await.unwrap().is_some());

    // Nobody answers: give up after the schedule.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let e = send(
        silent.local_addr().unwrap(),
        &n("sec.test"),
        60,
        SOA,
        None,
        &schedule,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, NotifyError::NoAnswer(3)), "{e}");
}

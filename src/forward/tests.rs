use super::*;

use std::sync::atomic::{AtomicUsize, Ordering};

use hickory_proto::op::{MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn order_keeps_configured_order_until_health_differs() {
    let f = Forwarder::new();
    let (a, b, c) = (
        addr("127.0.0.1:1"),
        addr("127.0.0.1:2"),
        addr("127.0.0.1:3"),
    );
    assert_eq!(f.order(&[a, b, c]), [a, b, c]);
    // Similar RTTs: configured order stands.
    f.record(a, Verdict::Answered(Duration::from_millis(20)));
    f.record(b, Verdict::Answered(Duration::from_millis(5)));
    assert_eq!(f.order(&[a, b, c]), [a, b, c]);
    // A much slower one moves back.
    for _ in 0..3 {
        f.record(a, Verdict::Answered(Duration::from_millis(900)));
    }
    assert_eq!(f.order(&[a, b, c]).last(), Some(&a));
    // A failed one goes after the healthy ones, but stays in the list.
    f.record(c, Verdict::Failed);
    assert_eq!(f.order(&[a, b, c]), [b, a, c]);
}

#[test]
fn servfail_and_refused_prove_the_server_alive() {
    let f = Forwarder::new();
    let a = addr("127.0.0.1:1");
    for _ in 0..3 {
        f.record(a, Verdict::ServFail);
        f.record(a, Verdict::Refused);
    }
    let h = f.health()[0].1;
    assert!(!h.is_down(Instant::now()));
    assert_eq!(
        (h.servfails, h.refused, h.failures, h.requests),
        (3, 3, 0, 6)
    );
    // And they end a run of failures.
    f.record(a, Verdict::Failed);
    f.record(a, Verdict::ServFail);
    assert!(!f.health()[0].1.is_down(Instant::now()));
}

#[test]
fn down_for_a_backoff_that_doubles_and_is_capped() {
    let now = Instant::now();
    let mut h = Health {
        consecutive_failures: 1,
        last_failure: Some(now),
        ..Health::default()
    };
    assert!(h.is_down(now + Duration::from_millis(900)));
    assert!(!h.is_down(now + Duration::from_millis(1100)));
    h.consecutive_failures = 3;
    assert!(h.is_down(now + Duration::from_millis(3900)));
    assert!(!h.is_down(now + Duration::from_millis(4100)));
    h.consecutive_failures = 50;
    assert!(h.is_down(now + Duration::from_millis(15_900)));
    assert!(
        !h.is_down(now + Duration::from_millis(16_100)),
        "never longer than 16 s"
    );
    h.consecutive_failures = 0;
    assert!(!h.is_down(now), "a success clears the back-off");
}

#[test]
fn names_round_trip_between_wire_and_hickory() {
    let wire = crate::name::Name::from_text("Acct.Blob.Core.Windows.Net").unwrap();
    let name = hickory_name(wire.wire()).unwrap();
    assert_eq!(name.to_ascii(), "acct.blob.core.windows.net.");
    assert_eq!(
        wire_of(&Name::from_ascii("ACCT.blob.core.windows.net.").unwrap()),
        wire.wire()
    );
}

/// What a fake upstream does with one query (raw bytes in, datagrams out).
type Script = Arc<dyn Fn(&Message, bool) -> Vec<Vec<u8>> + Send + Sync>;

/// A fake upstream on a loopback port, UDP and TCP; counts queries.
struct Fake {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
}

async fn fake(script: impl Fn(&Message, bool) -> Vec<Vec<u8>> + Send + Sync + 'static) -> Fake {
    let script: Script = Arc::new(script);
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    let tcp = tokio::net::TcpListener::bind(addr).await.unwrap();
    let queries = Arc::new(AtomicUsize::new(0));
    let (s, n) = (script.clone(), queries.clone());
    tokio::spawn(async move {
        let mut buf = vec![0; 65_535];
        while let Ok((len, peer)) = udp.recv_from(&mut buf).await {
            let Ok(q) = Message::from_vec(&buf[..len]) else {
                continue;
            };
            n.fetch_add(1, Ordering::SeqCst);
            for d in s(&q, false) {
                let _ = udp.send_to(&d, peer).await;
            }
        }
    });
    let (s, n) = (script, queries.clone());
    tokio::spawn(async move {
        while let Ok((mut c, _)) = tcp.accept().await {
            let (s, n) = (s.clone(), n.clone());
            tokio::spawn(async move {
                let Ok(len) = c.read_u16().await else { return };
                let mut buf = vec![0; len as usize];
                if c.read_exact(&mut buf).await.is_err() {
                    return;
                }
                let Ok(q) = Message::from_vec(&buf) else {
                    return;
                };
                n.fetch_add(1, Ordering::SeqCst);
                for d in s(&q, true) {
                    let mut framed = (d.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&d);
                    let _ = c.write_all(&framed).await;
                }
            });
        }
    });
    Fake { addr, queries }
}

/// An answer to `q` with `rcode` and `n` A records.
fn answer(q: &Message, rcode: ResponseCode, n: usize) -> Vec<u8> {
    let mut m = Message::response(q.metadata.id, q.metadata.op_code);
    m.metadata.message_type = MessageType::Response;
    m.metadata.response_code = rcode;
    m.add_queries(q.queries.iter().cloned());
    for i in 0..n {
        m.add_answer(Record::from_rdata(
            q.queries[0].name().clone(),
            60,
            RData::A(A::new(10, 0, (i / 256) as u8, i as u8)),
        ));
    }
    m.to_vec().unwrap()
}

fn question(name: &crate::name::Name) -> Question<'_> {
    Question {
        name: name.wire(),
        qtype: 1,
        dnssec_ok: false,
        checking_disabled: false,
    }
}

async fn ask(
    f: &Forwarder,
    servers: &[SocketAddr],
    timeout_ms: u64,
    budget_ms: u64,
) -> Result<Answer, ForwardError> {
    let name = crate::name::Name::from_text("www.example.com").unwrap();
    let servers: Arc<[SocketAddr]> = servers.into();
    let deadline = Instant::now() + Duration::from_millis(budget_ms);
    f.query(
        &servers,
        question(&name),
        Duration::from_millis(timeout_ms),
        deadline,
    )
    .await
}

#[tokio::test]
async fn formerr_is_retried_without_edns_then_failed_over() {
    // Answers FORMERR to EDNS queries, properly without: the retry wins.
    let no_edns = fake(|q, _| {
        let rcode = if q.edns.is_some() {
            ResponseCode::FormErr
        } else {
            ResponseCode::NoError
        };
        vec![answer(q, rcode, 1)]
    })
    .await;
    let f = Forwarder::new();
    let (reply, server) = ask(&f, &[no_edns.addr], 500, 2_000).await.unwrap();
    assert_eq!(server, no_edns.addr);
    assert_eq!(reply.answers.len(), 1);
    assert_eq!(no_edns.queries.load(Ordering::SeqCst), 2);
    let d = f.discards();
    assert_eq!((d.formerr, d.plain_retries), (1, 1));
    assert_eq!(f.health()[0].1.failures, 0);

    // FORMERR and NOTIMP whatever we send: never relayed, next server asked.
    let formerr = fake(|q, _| vec![answer(q, ResponseCode::FormErr, 0)]).await;
    let notimp = fake(|q, _| vec![answer(q, ResponseCode::NotImp, 0)]).await;
    let good = fake(|q, _| vec![answer(q, ResponseCode::NoError, 1)]).await;
    let f = Forwarder::new();
    let (_, server) = ask(&f, &[formerr.addr, notimp.addr, good.addr], 500, 5_000)
        .await
        .unwrap();
    assert_eq!(server, good.addr);
    assert_eq!(
        formerr.queries.load(Ordering::SeqCst),
        2,
        "with and without EDNS"
    );
    let d = f.discards();
    assert_eq!((d.formerr, d.notimp, d.plain_retries), (2, 2, 2));
    let health = f.health();
    let failures = |a| health.iter().find(|(s, _)| *s == a).unwrap().1.failures;
    assert_eq!((failures(formerr.addr), failures(notimp.addr)), (1, 1));
}

#[tokio::test]
async fn servfail_fails_over_without_marking_the_server_down() {
    let broken = fake(|q, _| vec![answer(q, ResponseCode::ServFail, 0)]).await;
    let f = Forwarder::new();
    for _ in 0..3 {
        let e = ask(&f, &[broken.addr], 500, 2_000).await.unwrap_err();
        assert_eq!(e, ForwardError::Exhausted { tried: 1 });
    }
    let h = f.health()[0].1;
    assert_eq!((h.servfails, h.failures), (3, 0));
    assert!(!h.is_down(Instant::now()));
}

#[tokio::test]
async fn garbage_mismatched_and_oversized_answers_are_discarded_and_counted() {
    let sneaky = fake(|q, tcp| {
        if tcp {
            return vec![answer(q, ResponseCode::NoError, 2)];
        }
        let mut wrong_id = answer(q, ResponseCode::NoError, 1);
        wrong_id[0] ^= 0xFF;
        let mut trailing = answer(q, ResponseCode::NoError, 1);
        trailing.push(0);
        // Opcode UPDATE (found by fuzzing: its empty-RDATA records made
        // replies that no client could parse).
        let mut update = answer(q, ResponseCode::NoError, 1);
        update[2] |= 5 << 3;
        // 200 addresses: about 3.2 KB, far over the 1232 we advertise.
        vec![
            vec![0xDE, 0xAD],
            wrong_id,
            trailing,
            update,
            answer(q, ResponseCode::NoError, 200),
        ]
    })
    .await;
    let f = Forwarder::new();
    let (reply, _) = ask(&f, &[sneaky.addr], 1_000, 2_000).await.unwrap();
    assert_eq!(
        reply.answers.len(),
        2,
        "the TCP answer, after the oversized UDP one"
    );
    let d = f.discards();
    assert_eq!((d.malformed, d.mismatched, d.oversized), (2, 2, 1));

    // Garbage over TCP ends the try at once, and counts against the server.
    let liar = fake(|q, tcp| {
        if tcp {
            vec![vec![1, 2, 3]]
        } else {
            let mut m = Message::from_vec(&answer(q, ResponseCode::NoError, 0)).unwrap();
            m.metadata.truncation = true;
            vec![m.to_vec().unwrap()]
        }
    })
    .await;
    let f = Forwarder::new();
    let started = Instant::now();
    assert!(ask(&f, &[liar.addr], 1_000, 2_000).await.is_err());
    assert!(started.elapsed() < Duration::from_millis(900));
    assert_eq!(f.discards().malformed, 1);
    assert_eq!(f.health()[0].1.failures, 1);
}

#[tokio::test]
async fn no_try_starts_past_the_deadline() {
    let silent: Vec<Fake> = futures_silent(4).await;
    let servers: Vec<SocketAddr> = silent.iter().map(|s| s.addr).collect();
    let f = Forwarder::new();
    let started = Instant::now();
    let e = ask(&f, &servers, 300, 450).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(e, ForwardError::Deadline { tried: 2 });
    assert!(took >= Duration::from_millis(450), "{took:?}");
    assert!(
        took < Duration::from_millis(1_100),
        "cut at the deadline: {took:?}"
    );
    let asked: usize = silent
        .iter()
        .map(|s| s.queries.load(Ordering::SeqCst))
        .sum();
    assert_eq!(asked, 2, "the second try was cut to what was left");
}

async fn futures_silent(n: usize) -> Vec<Fake> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(fake(|_, _| Vec::new()).await);
    }
    v
}

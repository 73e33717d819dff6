//! TCP under abuse (issue 9, RFC 7766): a client that pipelines and never
//! reads starves nobody, idle connections at the cap do not lock newcomers
//! out, garbage closes a connection at once, one client holds at most its
//! share, and a client that does not take its replies is cut off. Each of
//! these failed on the main branch before the TCP front end was rebuilt.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::table::*;
use common::tcp::*;
use common::upstream::*;
use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

fn forwarding(up: &Upstream, server_extra: &str) -> Daemon {
    Daemon::start(Files::new(&[(
        "pldns.toml",
        &format!(
            "{SERVER}metrics = \"127.0.0.1:0\"\n{server_extra}\n\
             [upstream]\nservers = [\"{}\"]\n",
            up.addr
        ),
    )]))
}

/// Polls a metric until `ok` holds (or panics after `within`).
fn wait_metric(d: &Daemon, series: &str, within: Duration, ok: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + within;
    loop {
        let v = d.metric(series);
        if ok(v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{series} = {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_client_that_pipelines_forwarded_queries_and_never_reads_starves_nobody() {
    // Answers of about 350 bytes: the 40,000 of the flood are more than
    // the kernel's socket buffers hold.
    let up = Upstream::start(|q| {
        let name = question(q).0;
        let more = name.contains("flood");
        let answers = (1..=if more { 20 } else { 1 })
            .map(|i| a(&name, &format!("192.0.2.{i}"), 60))
            .collect();
        Reply::ok(answers)
    });
    let d = forwarding(&up, "");
    // The abuser: a small receive window, 40,000 forwarded queries, no
    // read ever.
    let mut abuser = connect_from("127.0.0.1", d.addr, Some(4096));
    abuser
        .set_write_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let flooding = Arc::new(AtomicBool::new(true));
    let flood = {
        let (sent, flooding) = (sent.clone(), flooding.clone());
        std::thread::spawn(move || {
            let mut batch = Vec::with_capacity(64 * 1024);
            'all: for chunk in 0..400 {
                batch.clear();
                for i in 0..100 {
                    let q = build_query(
                        &format!("q{}.flood.example", chunk * 100 + i),
                        RecordType::A,
                        None,
                    );
                    batch.extend_from_slice(&(q.len() as u16).to_be_bytes());
                    batch.extend_from_slice(&q);
                }
                if abuser.write_all(&batch).is_err() {
                    break 'all;
                }
                sent.fetch_add(100, Ordering::Relaxed);
            }
            flooding.store(false, Ordering::Relaxed);
            abuser
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    // Meanwhile everyone else's forwarded queries, over UDP and TCP, are
    // answered, not SERVFAILed.
    let mut asked = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        let name = format!("ok{asked}.example.com");
        let m = d.query(&name, RecordType::A);
        assert_eq!(
            (m.metadata.response_code, addresses(&m)),
            (ResponseCode::NoError, vec!["192.0.2.1".to_string()]),
            "UDP {name} after {} flood queries",
            sent.load(Ordering::Relaxed)
        );
        let m = d.query_tcp(&format!("tcp{asked}.example.com"), RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "TCP");
        asked += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(asked > 10);
    let mut abuser = flood.join().unwrap();
    assert!(
        sent.load(Ordering::Relaxed) >= 1000,
        "the flood got going: {}",
        sent.load(Ordering::Relaxed)
    );
    assert_eq!(d.metric("pldns_forwards_rejected_total"), 0.0);
    // The abuser is reset once a reply has waited the write deadline (the
    // idle timeout, 10 s); only then do we read, which would let the
    // replies flow.
    let series = "pldns_tcp_closed_total{reason=\"write_timeout\"}";
    wait_metric(&d, series, Duration::from_secs(15), |v| v == 1.0);
    assert_ne!(watch(&mut abuser, Duration::from_secs(5)), Seen::Open);
    assert!(d.metric("pldns_tcp_reads_paused_total") >= 1.0);
    wait_metric(&d, "pldns_tcp_connections", Duration::from_secs(5), |v| {
        v == 0.0
    });
}

#[test]
fn idle_connections_at_the_cap_do_not_lock_a_new_client_out() {
    raise_open_files_limit();
    let d = Daemon::start(Files::new(&[
        ("pldns.toml", &config("metrics = \"127.0.0.1:0\"\n")),
        ("rec/site.hosts", HOSTS),
        ("backup.json", JSON),
    ]));
    // 1,024 (the default cap) silent connections, 64 (the default share)
    // from each of 16 addresses.
    let mut idle = Vec::with_capacity(1024);
    // The first is the oldest by a clear margin.
    idle.push(connect_from("127.0.1.1", d.addr, None));
    std::thread::sleep(Duration::from_millis(20));
    for host in 1..=16 {
        let already = if host == 1 { 1 } else { 0 };
        for _ in already..64 {
            idle.push(connect_from(&format!("127.0.1.{host}"), d.addr, None));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let mut s = connect_from("127.0.0.1", d.addr, None);
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    tcp_send(
        &mut s,
        &build_query(
            "acct.privatelink.blob.core.windows.net",
            RecordType::A,
            None,
        ),
    );
    let reply = tcp_recv(&mut s).expect("answered while 1,024 connections sit idle");
    let took = started.elapsed();
    assert_eq!(addresses(&Message::from_vec(&reply).unwrap()), ["10.0.0.5"]);
    assert!(took < Duration::from_secs(1), "{took:?}");
    // Room was made by closing the longest-idle connection: the first.
    assert_eq!(watch(&mut idle[0], Duration::from_secs(2)), Seen::Closed);
    assert_eq!(d.metric("pldns_tcp_closed_total{reason=\"evicted\"}"), 1.0);
    assert_eq!(d.metric("pldns_tcp_connections"), 1024.0);
}

#[test]
fn garbage_closes_the_connection_at_once() {
    let d = daemon();
    let good = build_query(
        "acct.privatelink.blob.core.windows.net",
        RecordType::A,
        None,
    );
    let mut response = good.clone();
    response[2] |= 0x80;
    for (what, garbage) in [
        ("five bytes", vec![1, 2, 3, 4, 5]),
        ("an empty message", vec![]),
        ("a response", response),
    ] {
        let mut s = connect_from("127.0.0.1", d.addr, None);
        // A good query first: the connection works until the garbage.
        tcp_send(&mut s, &good);
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        assert!(tcp_recv(&mut s).is_some(), "{what}");
        let started = Instant::now();
        let mut framed = (garbage.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&garbage);
        s.write_all(&framed).unwrap();
        assert_eq!(
            watch(&mut s, Duration::from_secs(3)),
            Seen::Closed,
            "{what}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{what}: {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn one_client_holds_at_most_its_share_of_connections() {
    let up = Upstream::start(|q| {
        let name = question(q).0;
        let answer = Reply::ok(vec![a(&name, "192.0.2.2", 60)]);
        if name.starts_with("slow") {
            Reply::Delay(Duration::from_millis(800), Box::new(answer))
        } else {
            answer
        }
    });
    let d = forwarding(&up, "");
    // The default share, 64 connections, each with a query outstanding:
    // none is idle.
    let mut busy: Vec<_> = (0..64)
        .map(|i| {
            let mut s = connect_from("127.0.0.1", d.addr, None);
            tcp_send(
                &mut s,
                &build_query(&format!("slow{i}.example.com"), RecordType::A, None),
            );
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // One more from the same address is turned away at once...
    let mut ninth = connect_from("127.0.0.1", d.addr, None);
    assert_eq!(watch(&mut ninth, Duration::from_secs(1)), Seen::Reset);
    // ...while another client is served,
    let mut other = connect_from("127.0.0.2", d.addr, None);
    other
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    tcp_send(
        &mut other,
        &build_query("fast.example.com", RecordType::A, None),
    );
    let m = Message::from_vec(&tcp_recv(&mut other).unwrap()).unwrap();
    assert_eq!(addresses(&m), ["192.0.2.2"]);
    // and the 64 get their answers.
    for s in &mut busy {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let m = Message::from_vec(&tcp_recv(s).unwrap()).unwrap();
        assert_eq!(addresses(&m), ["192.0.2.2"]);
    }
    assert_eq!(d.metric("pldns_tcp_refused_total{cap=\"per_client\"}"), 1.0);
    // Idle now: one more closes the client's own longest-idle one instead.
    let mut ninth = connect_from("127.0.0.1", d.addr, None);
    ninth
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    tcp_send(
        &mut ninth,
        &build_query("fast.example.com", RecordType::A, None),
    );
    assert!(tcp_recv(&mut ninth).is_some());
    let closed = busy
        .iter_mut()
        .map(|s| watch(s, Duration::from_millis(50)))
        .filter(|seen| *seen == Seen::Closed)
        .count();
    assert_eq!(closed, 1);
}

#[test]
fn a_client_that_does_not_take_its_replies_is_cut_off() {
    let d = Daemon::start(Files::new(&[
        ("pldns.toml", &config("metrics = \"127.0.0.1:0\"\n")),
        ("rec/site.hosts", HOSTS),
        ("rec/big.hosts", &many_records()),
        ("backup.json", JSON),
    ]));
    // Answers of about 2 KB each, asked for and never read: more than the
    // kernel's socket buffers hold (4 MB at most by default).
    let mut s = connect_from("127.0.0.1", d.addr, Some(4096));
    s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let q = build_query("big.privatelink.blob.core.windows.net", RecordType::A, None);
    let mut framed = Vec::new();
    for _ in 0..100 {
        framed.extend_from_slice(&(q.len() as u16).to_be_bytes());
        framed.extend_from_slice(&q);
    }
    for _ in 0..200 {
        if s.write_all(&framed).is_err() {
            break;
        }
    }
    // Reset after the write deadline (the idle timeout, 10 s): everything
    // it held is given back. Reading only then (reading lets the replies
    // flow); a write of ours may have seen the reset first.
    std::thread::sleep(Duration::from_secs(11));
    assert_ne!(watch(&mut s, Duration::from_secs(5)), Seen::Open);
    let series = "pldns_tcp_closed_total{reason=\"write_timeout\"}";
    assert_eq!(d.metric(series), 1.0);
    assert_eq!(d.metric("pldns_tcp_connections"), 0.0);
    // Others were never affected.
    assert_eq!(
        addresses(&d.query_tcp("acct.privatelink.blob.core.windows.net", RecordType::A)),
        ["10.0.0.5"]
    );
}

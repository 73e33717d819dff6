//! Serve-stale (issue 9, RFC 8767): when every forwarder of a name fails
//! (SERVFAIL, REFUSED, silence), the expired cached answer is served with
//! TTL 30 within `[cache] serve_stale_s`, and counted; with serve-stale off
//! the client gets SERVFAIL. These failed on the main branch, where
//! serve-stale was accepted but not applied.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use common::upstream::*;
use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

const UP: u8 = 0;
const SERVFAIL: u8 = 1;
const REFUSED: u8 = 2;
const SILENT: u8 = 3;

/// An upstream whose mood the test sets: answers with TTL 1, or fails.
fn moody() -> (Upstream, Arc<AtomicU8>) {
    let mood = Arc::new(AtomicU8::new(UP));
    let m = mood.clone();
    let up = Upstream::start(move |q| match m.load(Ordering::SeqCst) {
        UP => Reply::ok(vec![a(&question(q).0, "192.0.2.50", 1)]),
        SERVFAIL => Reply::rcode(ResponseCode::ServFail),
        REFUSED => Reply::rcode(ResponseCode::Refused),
        _ => Reply::Silent,
    });
    (up, mood)
}

fn daemon_for(up: &Upstream, cache: &str) -> Daemon {
    Daemon::start(Files::new(&[(
        "pldns.toml",
        &format!(
            "{SERVER}metrics = \"127.0.0.1:0\"\n[upstream]\nservers = [\"{}\"]\ntimeout_ms = 300\n[cache]\n{cache}\n",
            up.addr
        ),
    )]))
}

#[test]
fn every_forwarder_failing_gets_the_expired_answer_with_ttl_30() {
    let (up, mood) = moody();
    let d = daemon_for(&up, "");
    for (i, failure) in [SERVFAIL, REFUSED, SILENT].into_iter().enumerate() {
        let name = format!("site{i}.example.com");
        mood.store(UP, Ordering::SeqCst);
        let fresh = d.query(&name, RecordType::A);
        assert_eq!(fresh.answers[0].ttl, 1);
        // The upstream goes bad and the answer expires.
        mood.store(failure, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(2_100));
        let m = d.query(&name, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{failure}");
        assert_eq!(addresses(&m), ["192.0.2.50"], "{failure}");
        assert_eq!(m.answers[0].ttl, 30, "RFC 8767 §4");
        // Over TCP as well.
        let m = d.query_tcp(&name, RecordType::A);
        assert_eq!(addresses(&m), ["192.0.2.50"]);
        // A name never cached still fails.
        let m = d.query(&format!("never{i}.example.com"), RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    }
    assert_eq!(d.metric("pldns_cache_stale_answers_total"), 6.0);
    assert_eq!(
        d.metric("pldns_queries_total{transport=\"udp\",outcome=\"stale\"}"),
        3.0
    );
    // The upstream recovers: fresh answers again.
    mood.store(UP, Ordering::SeqCst);
    assert_eq!(
        d.query("site0.example.com", RecordType::A).answers[0].ttl,
        1
    );
}

#[test]
fn with_serve_stale_off_or_past_the_window_the_client_gets_servfail() {
    let (up, mood) = moody();
    let off = daemon_for(&up, "serve_stale_s = 0");
    let short = daemon_for(&up, "serve_stale_s = 1");
    for d in [&off, &short] {
        mood.store(UP, Ordering::SeqCst);
        assert_eq!(d.query("gone.example.com", RecordType::A).answers.len(), 1);
    }
    mood.store(SERVFAIL, Ordering::SeqCst);
    // Expired 1.1 s ago: within a 1 s window? No: past TTL + window.
    std::thread::sleep(Duration::from_millis(2_100));
    for d in [&off, &short] {
        let m = d.query("gone.example.com", RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
        assert_eq!(d.metric("pldns_cache_stale_answers_total"), 0.0);
    }
}

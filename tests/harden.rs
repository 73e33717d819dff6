//! Issue 9, over real sockets: no answer leaves with wrong bytes, upstream
//! faults are read right, and no config value can panic the query path.
//! Each test here failed on the main branch before the fix.

mod common;

use std::time::{Duration, Instant};

use common::upstream::*;
use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record, RecordType};

fn forwarding(servers: &[&Upstream], extra: &str) -> Daemon {
    let list: Vec<String> = servers.iter().map(|u| format!("\"{}\"", u.addr)).collect();
    Daemon::start(Files::new(&[(
        "pldns.toml",
        &format!(
            "[server]\nlisten = [\"127.0.0.1:0\"]\nallow = [\"127.0.0.0/8\"]\nmetrics = \"127.0.0.1:0\"\n\
             [upstream]\nservers = [{}]\ntimeout_ms = 500\n{extra}\n",
            list.join(", ")
        ),
    )]))
}

/// A query for `name` with EDNS and the DO bit.
fn query_do(name: &str) -> Vec<u8> {
    let mut m = Message::from_vec(&build_query(name, RecordType::A, Some(1232))).unwrap();
    m.edns.as_mut().unwrap().set_dnssec_ok(true);
    m.to_vec().unwrap()
}

fn txt(owner: &str, len: usize, tag: usize) -> Record {
    let s = format!("{tag:04}{}", "x".repeat(len - 4));
    Record::from_rdata(name(owner), 60, RData::TXT(TXT::new(vec![s])))
}

#[test]
fn forwarded_tcp_answer_with_names_past_0x3fff_keeps_every_name() {
    // pldns writes header (12) + question `q.big.test` TXT (16), then each
    // TXT record as pointer (2) + 10 + 1 + string. 60 records of 255 and
    // one of 232 put the next owner at 0x3FFF - 30: its `other.example`
    // tail lies past 0x3FFF, where no compression pointer can reach.
    let long = format!("{}.other.example.", "a".repeat(60));
    let long2 = long.clone();
    let up = Upstream::start(move |q| {
        let mut answers: Vec<Record> = (0..60).map(|i| txt("q.big.test.", 255, i)).collect();
        answers.push(txt("q.big.test.", 232, 60));
        answers.push(a(&long2, "10.0.0.1", 60));
        answers.push(a("b.other.example.", "10.0.0.2", 60));
        answers.push(cname("c.other.example.", "d.other.example.", 60));
        answers.push(cname("e.big.test.", &long2, 60));
        assert_eq!(question(q).1, RecordType::TXT);
        Reply::Truncated(Box::new(Reply::ok(answers)))
    });
    let d = forwarding(&[&up], "");
    let q = build_query("q.big.test", RecordType::TXT, Some(1232));
    let reply = tcp_exchange(d.addr, &q);
    assert!(reply.len() > 0x3FFF + 100, "{} bytes", reply.len());
    let m = Message::from_vec(&reply).expect("the answer parses");
    let tail: Vec<_> = answers(&m).into_iter().skip(61).collect();
    assert_eq!(
        tail,
        [
            (long.clone(), RecordType::A, "10.0.0.1".to_string()),
            ("b.other.example.".into(), RecordType::A, "10.0.0.2".into()),
            (
                "c.other.example.".into(),
                RecordType::CNAME,
                "d.other.example.".into()
            ),
            ("e.big.test.".into(), RecordType::CNAME, long.clone()),
        ]
    );
    // The cached copy is as good.
    let m = Message::from_vec(&tcp_exchange(d.addr, &q)).expect("the cached answer parses");
    assert_eq!(answers(&m).len(), 65);
    assert_eq!(answers(&m)[62].0, "b.other.example.");
}

#[test]
fn the_do_bit_is_echoed_in_local_and_forwarded_answers() {
    let up = Upstream::start(|q| Reply::ok(vec![a(&question(q).0, "192.0.2.1", 60)]));
    let d = Daemon::start(Files::new(&[
        (
            "pldns.toml",
            &format!(
                "{SERVER}[upstream]\nservers = [\"{}\"]\n\
                 [[zone]]\nname = \"privatelink.blob.core.windows.net\"\nrecords = [\"r.hosts\"]\n",
                up.addr
            ),
        ),
        (
            "r.hosts",
            "10.0.0.5 acct.privatelink.blob.core.windows.net\n",
        ),
    ]));
    for name in ["acct.privatelink.blob.core.windows.net", "www.example.com"] {
        let reply = udp_exchange(d.addr, &query_do(name)).unwrap();
        let m = Message::from_vec(&reply).unwrap();
        assert_eq!(m.answers.len(), 1, "{name}");
        let edns = m.edns.as_ref().expect("OPT");
        assert!(edns.flags().dnssec_ok, "RFC 3225 §3: DO copied for {name}");
    }
    // And not set when the query did not set it.
    let m = d.query("www.example.com", RecordType::A);
    assert!(!m.edns.unwrap().flags().dnssec_ok);
}

#[test]
fn formerr_and_notimp_replies_carry_the_question_and_opt() {
    let d = Daemon::start(Files::new(&[(
        "pldns.toml",
        &format!("{SERVER}[[zone]]\nname = \"corp.test\"\nrecords = []\non_miss = \"nxdomain\"\n"),
    )]));
    let mut trailing = query_do("Host.Corp.Test");
    trailing.push(0);
    let m = Message::from_vec(&udp_exchange(d.addr, &trailing).unwrap()).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
    assert_eq!(m.queries.len(), 1, "RFC 6891 §7: the question");
    assert_eq!(m.queries[0].name().to_ascii(), "Host.Corp.Test.");
    assert!(m.edns.as_ref().expect("and OPT").flags().dnssec_ok);

    let mut status = build_query("host.corp.test", RecordType::A, Some(1232));
    status[2] = (status[2] & !0x78) | (2 << 3);
    let reply = udp_exchange(d.addr, &status).unwrap();
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::NotImp);
    assert_eq!(m.queries.len(), 1);
    assert!(m.edns.is_some());
    assert_eq!(
        &reply[12..status.len() - 11],
        &status[12..status.len() - 11]
    );
}

#[test]
fn formerr_and_notimp_from_upstream_are_never_relayed() {
    let formerr = Upstream::start(|_| Reply::rcode(ResponseCode::FormErr));
    let notimp = Upstream::start(|_| Reply::rcode(ResponseCode::NotImp));
    let good = Upstream::start(|q| Reply::ok(vec![a(&question(q).0, "192.0.2.7", 60)]));
    let d = forwarding(&[&formerr, &notimp, &good], "");
    let m = d.query("www.example.com", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(addresses(&m), ["192.0.2.7"]);
    // Each was asked again without EDNS before we moved on.
    assert_eq!((formerr.queries(), notimp.queries()), (2, 2));

    // Only bad upstreams: the client hears SERVFAIL, not their FORMERR.
    let d = forwarding(&[&formerr], "");
    let m = d.query("www.example.com", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
}

#[test]
fn an_upstream_without_edns_is_asked_again_without_it() {
    let old = Upstream::start(|q| {
        if q.edns.is_some() {
            Reply::rcode(ResponseCode::FormErr)
        } else {
            Reply::ok(vec![a(&question(q).0, "192.0.2.8", 60)])
        }
    });
    let d = forwarding(&[&old], "");
    let m = d.query("www.example.com", RecordType::A);
    assert_eq!(addresses(&m), ["192.0.2.8"]);
    assert_eq!(old.queries(), 2);
}

#[test]
fn servfail_for_one_broken_domain_leaves_the_upstream_healthy() {
    let up = Upstream::start(|q| {
        if question(q).0 == "broken.example.com." {
            Reply::rcode(ResponseCode::ServFail)
        } else {
            Reply::ok(vec![a(&question(q).0, "192.0.2.9", 60)])
        }
    });
    let d = forwarding(&[&up], "[cache]\nsize = 0\n");
    for _ in 0..3 {
        let m = d.query("broken.example.com", RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    }
    let (status, body) = d.http_get("/healthz");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        d.metric(&format!("pldns_upstream_up{{server=\"{}\"}}", up.addr)),
        1.0
    );
    // The healthy server is still asked first for everything else.
    assert_eq!(
        addresses(&d.query("www.example.com", RecordType::A)),
        ["192.0.2.9"]
    );
}

#[test]
fn an_oversized_udp_answer_is_not_relayed_but_asked_again_over_tcp() {
    let up = Upstream::start(|q| {
        let n = question(q).0;
        // About 1.6 KB: more than the 1232 bytes pldns advertises.
        let records: Vec<Record> = (0..100)
            .map(|i| a(&n, &format!("10.1.{}.{}", i / 250, i % 250), 60))
            .collect();
        Reply::Raw(Box::new(move |q, _tcp| {
            let mut m = base(q, ResponseCode::NoError);
            m.add_answers(records.iter().cloned());
            vec![m.to_vec().unwrap()]
        }))
    });
    let d = forwarding(&[&up], "");
    let m = d.query_tcp("big.example.com", RecordType::A);
    assert_eq!(addresses(&m).len(), 100);
    assert_eq!(up.names(), ["big.example.com.", "tcp:big.example.com."]);
}

#[test]
fn one_client_query_has_one_deadline_across_all_forwarders() {
    // Four silent forwarders, 500 ms per try: the default budget is two
    // tries (1 s), not four (2 s).
    let silent: Vec<Upstream> = (0..4).map(|_| Upstream::start(|_| Reply::Silent)).collect();
    let refs: Vec<&Upstream> = silent.iter().collect();
    let d = forwarding(&refs, "");
    let q = build_query("www.example.com", RecordType::A, Some(1232));
    let started = Instant::now();
    let reply = udp_exchange_from("127.0.0.1:0", d.addr, &q, Duration::from_secs(5)).unwrap();
    let took = started.elapsed();
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(took >= Duration::from_millis(950), "{took:?}");
    assert!(took < Duration::from_millis(1_700), "{took:?}");
    let asked: usize = silent.iter().map(|s| s.queries()).sum();
    assert_eq!(asked, 2);
}

#[test]
fn cached_answers_are_served_with_ttls_within_min_and_max_ttl() {
    let up = Upstream::start(|q| {
        let n = question(q).0;
        let ttl = if n.starts_with("short") { 5 } else { 1_000_000 };
        Reply::ok(vec![a(&n, "192.0.2.10", ttl)])
    });
    let d = forwarding(&[&up], "[cache]\nmin_ttl = 60\nmax_ttl = 3600\n");
    let ttl = |name: &str| d.query(name, RecordType::A).answers[0].ttl;
    assert_eq!(ttl("short.example.com"), 60, "raised to min_ttl");
    let second = ttl("short.example.com");
    assert!((58..=60).contains(&second), "from the cache: {second}");
    assert_eq!(ttl("long.example.com"), 3600, "capped at max_ttl");
    assert_eq!(up.queries(), 2);
}

#[test]
fn a_cache_min_ttl_above_max_ttl_is_a_check_error() {
    let f = Files::new(&[(
        "pldns.toml",
        "[upstream]\nservers = [\"127.0.0.1\"]\n\n[cache]\nmin_ttl = 100000\n",
    )]);
    let (status, _, stderr) = check(&f.path("pldns.toml"));
    assert!(!status.success());
    let want = format!("{}:5: min_ttl", f.path("pldns.toml").display());
    assert!(stderr.contains(&want), "{stderr}");
}

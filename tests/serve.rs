//! The DNS behaviour of zones with records (contract items 1-3, 8), over
//! real sockets against the real binary.

mod common;

use std::time::Duration;

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};

fn config(extra: &str) -> String {
    format!(
        r#"{SERVER}{extra}
[[zone]]
name = "privatelink.blob.core.windows.net"
records = ["rec/"]
on_miss = "nxdomain"
ttl = 120

[[zone]]
name = "privatelink.queue.core.windows.net"
records = ["rec/"]
on_miss = "nxdomain"

[[zone]]
name = "privatelink.eus.backup.windowsazure.com"
records = ["backup.json"]
on_miss = "nxdomain"
"#
    )
}

const HOSTS: &str = "# portal output\n\
10.0.0.5 acct.blob.core.windows.net #/subscriptions/x/resourceGroups/y\n\
10.0.0.6 acct.queue.core.windows.net\n\
10.0.0.9 deep.a.b.privatelink.blob.core.windows.net\n";

const TOML: &str = r#"
[[record]]
name = "dual.privatelink.blob.core.windows.net"
a = ["10.0.0.7"]
aaaa = ["fd00::7"]
ttl = 30

[[record]]
name = "alias.privatelink.blob.core.windows.net"
cname = "dual.privatelink.blob.core.windows.net"

[[record]]
name = "cross.privatelink.blob.core.windows.net"
cname = "acct.queue.core.windows.net"

[[record]]
name = "loop1.privatelink.blob.core.windows.net"
cname = "loop2.privatelink.blob.core.windows.net"

[[record]]
name = "loop2.privatelink.blob.core.windows.net"
cname = "loop1.privatelink.blob.core.windows.net"

[[record]]
name = "dangling.privatelink.blob.core.windows.net"
cname = "gone.privatelink.queue.core.windows.net"
"#;

const JSON: &str = r#"{
  "customDnsConfigs": [
    {"fqdn": "vault-ab-pod01-fab1.eus.backup.windowsazure.com", "ipAddresses": ["10.0.1.4"]},
    {"fqdn": "vault-ab-pod01-prot1.privatelink.eus.backup.windowsazure.com", "ipAddresses": ["10.0.1.5", "10.0.1.6"]}
  ]
}"#;

fn many_records() -> String {
    (1..=120)
        .map(|i| format!("10.1.0.{i} big.privatelink.blob.core.windows.net\n"))
        .collect()
}

fn daemon() -> Daemon {
    Daemon::start(Files::new(&[
        ("pldns.toml", &config("")),
        ("rec/site.hosts", HOSTS),
        ("rec/site.toml", TOML),
        ("rec/big.hosts", &many_records()),
        ("backup.json", JSON),
    ]))
}

fn soa_serial(m: &Message) -> u32 {
    match &m.authorities[0].data {
        RData::SOA(soa) => soa.serial,
        other => panic!("not a SOA: {other:?}"),
    }
}

#[test]
fn every_record_format_answers_authoritatively() {
    let d = daemon();
    // hosts (portal "Generate hostfile" line, public name mapped in)
    let m = d.query("acct.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert!(m.metadata.recursion_available);
    assert_eq!(addresses(&m), ["10.0.0.5"]);
    assert_eq!(m.answers[0].ttl, 120, "zone ttl");
    // TOML, record ttl
    let m = d.query("dual.privatelink.blob.core.windows.net", RecordType::AAAA);
    assert_eq!(addresses(&m), ["fd00::7"]);
    assert_eq!(m.answers[0].ttl, 30);
    // az JSON: public name mapped, and several IPs for one name
    let m = d.query(
        "vault-ab-pod01-fab1.privatelink.eus.backup.windowsazure.com",
        RecordType::A,
    );
    assert_eq!(addresses(&m), ["10.0.1.4"]);
    let mut ips = addresses(&d.query(
        "vault-ab-pod01-prot1.privatelink.eus.backup.windowsazure.com",
        RecordType::A,
    ));
    ips.sort();
    assert_eq!(ips, ["10.0.1.5", "10.0.1.6"]);
    assert_eq!(d.stop().code(), Some(0));
}

#[test]
fn names_are_case_insensitive_and_the_question_is_echoed() {
    let d = daemon();
    let m = d.query("AcCt.PrivateLink.BLOB.core.windows.net", RecordType::A);
    assert_eq!(addresses(&m), ["10.0.0.5"]);
    assert_eq!(
        m.queries[0].name.to_ascii(),
        "AcCt.PrivateLink.BLOB.core.windows.net."
    );
}

#[test]
fn cname_chains_are_followed_through_the_table() {
    let d = daemon();
    let m = d.query("alias.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(
        answers(&m),
        vec![
            (
                "alias.privatelink.blob.core.windows.net.".into(),
                RecordType::CNAME,
                "dual.privatelink.blob.core.windows.net.".into()
            ),
            (
                "dual.privatelink.blob.core.windows.net.".into(),
                RecordType::A,
                "10.0.0.7".into()
            ),
        ]
    );
    assert!(m.metadata.authoritative);
    // Across zones, through a public name that maps into the queue zone.
    let m = d.query("cross.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(answers(&m).len(), 3, "{m:?}");
    assert_eq!(addresses(&m), ["10.0.0.6"]);
    // Asking for the CNAME itself does not follow it.
    let m = d.query("alias.privatelink.blob.core.windows.net", RecordType::CNAME);
    assert_eq!(answers(&m).len(), 1);
    // A loop is cut: SERVFAIL, not a hang.
    let m = d.query("loop1.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    // A chain into a missing name of an nxdomain zone: the chain, then NXDOMAIN.
    let m = d.query("dangling.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(answers(&m).len(), 1);
    assert_eq!(
        m.authorities[0].name.to_ascii(),
        "privatelink.queue.core.windows.net."
    );
}

#[test]
fn nodata_empty_non_terminal_and_nxdomain_carry_the_soa() {
    let d = daemon();
    // NODATA: name exists, no AAAA.
    let m = d.query("acct.privatelink.blob.core.windows.net", RecordType::AAAA);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(
        m.authorities[0].name.to_ascii(),
        "privatelink.blob.core.windows.net."
    );
    // Empty non-terminals (RFC 8020): NODATA, not NXDOMAIN.
    for ent in [
        "a.b.privatelink.blob.core.windows.net",
        "b.privatelink.blob.core.windows.net",
    ] {
        let m = d.query(ent, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{ent}");
        assert!(m.answers.is_empty());
        assert_eq!(m.authorities.len(), 1);
    }
    // A missing name with on_miss = "nxdomain".
    let m = d.query("missing.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(m.metadata.authoritative);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(m.authorities[0].ttl, 120);
}

#[test]
fn apex_answers_soa_and_ns() {
    let d = daemon();
    let soa = d.query("privatelink.blob.core.windows.net", RecordType::SOA);
    assert_eq!(soa.answers.len(), 1);
    assert!(soa.metadata.authoritative);
    let RData::SOA(s) = &soa.answers[0].data else {
        panic!()
    };
    assert!(
        s.serial > 1_700_000_000,
        "serial is a timestamp: {}",
        s.serial
    );
    let ns = d.query("privatelink.blob.core.windows.net", RecordType::NS);
    assert_eq!(ns.answers[0].record_type(), RecordType::NS);
    let a = d.query("privatelink.blob.core.windows.net", RecordType::A);
    assert!(a.answers.is_empty());
    assert_eq!(soa_serial(&a), s.serial);
}

#[test]
fn any_gets_one_rrset() {
    let d = daemon();
    let m = d.query("dual.privatelink.blob.core.windows.net", RecordType::ANY);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    let types: Vec<_> = m.answers.iter().map(|r| r.record_type()).collect();
    assert_eq!(types, [RecordType::A], "RFC 8482: a subset, not everything");
}

#[test]
fn public_name_is_answered_from_the_table_without_upstream() {
    let d = daemon();
    let m = d.query("acct.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(
        !m.metadata.authoritative,
        "we are not authoritative for the public name"
    );
    assert_eq!(
        answers(&m),
        vec![
            (
                "acct.blob.core.windows.net.".into(),
                RecordType::CNAME,
                "acct.privatelink.blob.core.windows.net.".into()
            ),
            (
                "acct.privatelink.blob.core.windows.net.".into(),
                RecordType::A,
                "10.0.0.5".into()
            ),
        ]
    );
    let m = d.query(
        "vault-ab-pod01-fab1.eus.backup.windowsazure.com",
        RecordType::A,
    );
    assert_eq!(addresses(&m), ["10.0.1.4"]);
}

#[test]
fn names_to_forward_get_servfail_when_no_forwarder_is_configured() {
    let d = daemon();
    let m = d.query("www.example.com", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    // A public name whose twin the table lacks is forwarded too.
    let m = d.query("other.blob.core.windows.net", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
}

#[test]
fn tcp_answers_and_pipelines_several_queries() {
    let d = daemon();
    let m = d.query_tcp("acct.privatelink.queue.core.windows.net", RecordType::A);
    assert_eq!(addresses(&m), ["10.0.0.6"]);

    let mut s = std::net::TcpStream::connect(d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let names = [
        "acct.privatelink.blob.core.windows.net",
        "dual.privatelink.blob.core.windows.net",
        "missing.privatelink.blob.core.windows.net",
    ];
    let queries: Vec<_> = names
        .iter()
        .map(|n| build_query(n, RecordType::A, None))
        .collect();
    for q in &queries {
        tcp_send(&mut s, q);
    }
    for (q, name) in queries.iter().zip(names) {
        let m = Message::from_vec(&tcp_recv(&mut s).unwrap()).unwrap();
        assert_eq!(m.metadata.id, u16::from_be_bytes([q[0], q[1]]), "{name}");
        assert_eq!(m.queries[0].name.to_ascii(), format!("{name}."));
    }
}

#[test]
fn udp_truncates_to_the_client_limit_and_tcp_gives_everything() {
    let d = daemon();
    // 120 A records: about 2 KB.
    for (edns, limit) in [(None, 512), (Some(1232u16), 1232), (Some(4096), 1232)] {
        let q = build_query("big.privatelink.blob.core.windows.net", RecordType::A, edns);
        let reply = udp_exchange(d.addr, &q).unwrap();
        assert!(reply.len() <= limit, "{edns:?}: {} bytes", reply.len());
        let m = Message::from_vec(&reply).unwrap();
        assert!(m.metadata.truncation, "{edns:?}");
        assert_eq!(m.queries.len(), 1);
        assert_eq!(
            m.edns.is_some(),
            edns.is_some(),
            "OPT echoed only when sent"
        );
    }
    let m = d.query_tcp("big.privatelink.blob.core.windows.net", RecordType::A);
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 120);
    // A smaller answer fits a large EDNS buffer untruncated.
    let q = build_query(
        "vault-ab-pod01-prot1.privatelink.eus.backup.windowsazure.com",
        RecordType::A,
        Some(4096),
    );
    let m = Message::from_vec(&udp_exchange(d.addr, &q).unwrap()).unwrap();
    assert!(!m.metadata.truncation);
    assert_eq!(
        m.edns.as_ref().unwrap().max_payload(),
        1232,
        "our own size is advertised"
    );
}

#[test]
fn unknown_edns_version_gets_badvers() {
    let d = daemon();
    let mut q = build_query(
        "acct.privatelink.blob.core.windows.net",
        RecordType::A,
        Some(1232),
    );
    // The OPT record is last: owner(1) type(2) class(2) ext-rcode(1) version(1).
    let at = q.len() - 11 + 6;
    q[at] = 1;
    let m = Message::from_vec(&udp_exchange(d.addr, &q).unwrap()).unwrap();
    // 16 is BADVERS in an OPT context (RFC 6891); hickory names it BADSIG.
    assert_eq!(u16::from(m.metadata.response_code), 16);
}

#[test]
fn clients_outside_allow_are_refused() {
    let files = Files::new(&[
        (
            "pldns.toml",
            &config("").replace(
                "allow = [\"127.0.0.0/8\", \"::1/128\"]",
                "allow = [\"127.0.0.1/32\"]",
            ),
        ),
        ("rec/site.hosts", HOSTS),
        ("backup.json", JSON),
    ]);
    let d = Daemon::start(files);
    let q = build_query(
        "acct.privatelink.blob.core.windows.net",
        RecordType::A,
        None,
    );
    let inside = udp_exchange_from("127.0.0.1:0", d.addr, &q, Duration::from_secs(3)).unwrap();
    assert_eq!(
        Message::from_vec(&inside).unwrap().metadata.response_code,
        ResponseCode::NoError
    );
    let outside = udp_exchange_from("127.0.0.2:0", d.addr, &q, Duration::from_secs(3)).unwrap();
    let m = Message::from_vec(&outside).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    assert!(m.answers.is_empty());
    // Over TCP as well.
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(
        &"127.0.0.2:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    s.connect(&d.addr.into()).unwrap();
    let mut s: std::net::TcpStream = s.into();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp_send(&mut s, &q);
    let m = Message::from_vec(&tcp_recv(&mut s).unwrap()).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn ipv6_listen_address_serves_udp_and_tcp() {
    let files = Files::new(&[
        (
            "pldns.toml",
            &config("").replace("listen = [\"127.0.0.1:0\"]", "listen = [\"[::1]:0\"]"),
        ),
        ("rec/site.hosts", HOSTS),
        ("backup.json", JSON),
    ]);
    let d = Daemon::start(files);
    assert!(d.addr.is_ipv6());
    let q = build_query(
        "acct.privatelink.blob.core.windows.net",
        RecordType::A,
        None,
    );
    let reply = udp_exchange_from("[::1]:0", d.addr, &q, Duration::from_secs(3)).unwrap();
    assert_eq!(addresses(&Message::from_vec(&reply).unwrap()), ["10.0.0.5"]);
    assert_eq!(
        addresses(&d.query_tcp("acct.privatelink.blob.core.windows.net", RecordType::A)),
        ["10.0.0.5"]
    );
}

#[test]
fn port_in_use_is_a_clear_error() {
    let first = daemon();
    let port = first.addr.port();
    let files = Files::new(&[
        (
            "pldns.toml",
            &config("").replace("127.0.0.1:0", &format!("127.0.0.1:{port}")),
        ),
        ("rec/site.hosts", HOSTS),
        ("backup.json", JSON),
    ]);
    let (log, status) = match Daemon::try_start(files) {
        Ok(_) => panic!("a second daemon started on a port in use"),
        Err(e) => e,
    };
    assert_ne!(status.and_then(|s| s.code()), Some(0));
    assert!(
        log.iter().any(|l| l.contains("address already in use")),
        "{log:?}"
    );
    // The first one is unharmed.
    assert_eq!(
        addresses(&first.query("acct.privatelink.blob.core.windows.net", RecordType::A)),
        ["10.0.0.5"]
    );
}

#[test]
fn sigint_stops_cleanly() {
    let d = daemon();
    d.signal("INT");
    let mut child = d;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sighup_reloads_records() {
    let d = daemon();
    let serial = soa_serial(&d.query("missing.privatelink.blob.core.windows.net", RecordType::A));
    d.files
        .write("rec/new.hosts", "10.0.0.77 fresh.blob.core.windows.net\n");
    // Serials are seconds; make sure the clock has moved on.
    std::thread::sleep(Duration::from_millis(1100));
    d.signal("HUP");
    assert!(
        d.wait_log("reload applied", Duration::from_secs(5)),
        "{:?}",
        d.log()
    );
    let m = d.query("fresh.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(addresses(&m), ["10.0.0.77"]);
    let after = soa_serial(&d.query("missing.privatelink.blob.core.windows.net", RecordType::A));
    assert!(
        after > serial,
        "serial moves with the data: {serial} -> {after}"
    );
    // A broken edit keeps the previous table.
    d.files.write(
        "rec/new.hosts",
        "10.0.0.78 other.blob.core.windows.net\nnot-an-ip x\n",
    );
    d.signal("HUP");
    assert!(
        d.wait_log("new.hosts:2: invalid IP address", Duration::from_secs(5)),
        "{:?}",
        d.log()
    );
    assert_eq!(
        addresses(&d.query("fresh.privatelink.blob.core.windows.net", RecordType::A)),
        ["10.0.0.77"]
    );
    let m = d.query("other.privatelink.blob.core.windows.net", RecordType::A);
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NXDomain,
        "no partial apply"
    );
}

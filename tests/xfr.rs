//! Zone transfer between pldns daemons and a hand-made client, over
//! loopback: who may transfer (transfer_allow, AXFR over UDP, the SOA check
//! of a secondary outside `allow`), pldns as a secondary of pldns (NOTIFY,
//! chained transfers passing the primary's copy on), and a secondary that
//! restarts with its primary gone.

mod common;

use std::time::{Duration, Instant};

use common::bind::free_port;
use common::xfr::{
    SECRET, TSIG, a, answer, key_file, serial, transfer_from, transfer_request, wait_for,
};
use common::{Daemon, Files, udp_exchange_from};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};

const ZONE: &str = "privatelink.blob.core.windows.net";

fn rcode(m: &Message) -> ResponseCode {
    m.metadata.response_code
}

#[test]
fn transfers_go_only_to_transfer_allow_and_only_over_tcp() {
    // Clients: 127.0.0.1 (in allow), 127.0.0.2 (a secondary: in
    // transfer_allow only), 127.0.0.3 (in neither).
    let files = Files::new(&[("blob.hosts", &common::xfr::hosts(ZONE, 3000))]);
    files.write(
        "pldns.toml",
        &format!(
            "[server]\nlisten = [\"127.0.0.1:0\"]\nallow = [\"127.0.0.1/32\"]\nmetrics = \"127.0.0.1:0\"\n\
             [[zone]]\nname = \"{ZONE}\"\nrecords = [\"blob.hosts\"]\non_miss = \"nxdomain\"\n\
             transfer_allow = [\"127.0.0.2/32\"]\n"
        ),
    );
    let d = Daemon::start(files);
    let axfr = transfer_request(ZONE, None);

    let whole = transfer_from("127.0.0.2", d.addr, &axfr);
    assert!(whole.len() > 1, "3,000 records in several messages");
    let records: usize = whole.iter().map(|m| m.answers.len()).sum();
    assert_eq!(records, 3000 + 3, "SOA, NS, the records, SOA");
    let first = &whole[0].answers[0];
    assert_eq!(first.record_type(), RecordType::SOA);
    assert!(whole[0].metadata.authoritative);

    // The secondary's SOA check passes the ACL; nothing else does.
    let soa = common::build_query(ZONE, RecordType::SOA, None);
    let reply = udp_exchange_from("127.0.0.2:0", d.addr, &soa, Duration::from_secs(2)).unwrap();
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert!(matches!(m.answers[0].data, RData::SOA(_)));
    let other = common::build_query(&format!("h1.{ZONE}"), RecordType::A, None);
    let reply = udp_exchange_from("127.0.0.2:0", d.addr, &other, Duration::from_secs(2)).unwrap();
    assert_eq!(
        rcode(&Message::from_vec(&reply).unwrap()),
        ResponseCode::Refused
    );

    // In allow but not in transfer_allow, or in neither: REFUSED.
    for from in ["127.0.0.1", "127.0.0.3"] {
        let refused = transfer_from(from, d.addr, &axfr);
        assert_eq!(refused.len(), 1);
        assert_eq!(rcode(&refused[0]), ResponseCode::Refused, "{from}");
        assert!(refused[0].answers.is_empty());
    }
    // AXFR over UDP: REFUSED, even for a secondary.
    let reply = udp_exchange_from("127.0.0.2:0", d.addr, &axfr, Duration::from_secs(2)).unwrap();
    assert_eq!(
        rcode(&Message::from_vec(&reply).unwrap()),
        ResponseCode::Refused
    );
    // IXFR over UDP from an old serial: the current SOA alone (RFC 1995 §2),
    // and the client goes on over TCP.
    let now = serial(d.addr, ZONE).unwrap();
    let ixfr = transfer_request(ZONE, Some(now.wrapping_sub(5)));
    let reply = udp_exchange_from("127.0.0.2:0", d.addr, &ixfr, Duration::from_secs(2)).unwrap();
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(m.answers.len(), 1);
    assert!(matches!(&m.answers[0].data, RData::SOA(s) if s.serial == now));
    // A zone that is not ours: NOTAUTH (RFC 5936 §2.2.1).
    let elsewhere = transfer_from("127.0.0.2", d.addr, &transfer_request("example.com", None));
    assert_eq!(rcode(&elsewhere[0]), ResponseCode::NotAuth);

    let m = |result: &str| {
        d.metric(&format!(
            "pldns_xfr_out_total{{zone=\"{ZONE}\",type=\"axfr\",result=\"{result}\"}}"
        ))
    };
    // 127.0.0.3 was refused at the ACL, like any query from outside
    // `allow` (counted with the queries).
    assert_eq!((m("ok"), m("refused")), (1.0, 2.0));
    let (_, body) = d.http_get("/status.json");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    let r = &page["zones"][0]["replication"];
    assert_eq!(r["transfers_out_refused"], 2, "{r}");
    assert!(r["transfers_out"].as_u64().unwrap() >= 3, "{r}");
    assert_eq!(
        d.metric(&format!("pldns_xfr_out_messages_total{{zone=\"{ZONE}\"}}")),
        whole.len() as f64 + 3.0,
        "the AXFR, two refusals, the UDP IXFR's SOA"
    );
}

/// A primary pldns with `zone` from `blob.hosts`, NOTIFY to `notify_port`,
/// transfers to loopback with the TSIG key.
fn primary(notify_port: u16) -> Daemon {
    let files = Files::new(&[("blob.hosts", &format!("10.0.0.1 acct.{ZONE}\n"))]);
    key_file(&files, SECRET);
    files.write(
        "pldns.toml",
        &format!(
            "{}metrics = \"127.0.0.1:0\"\n[[zone]]\nname = \"{ZONE}\"\nrecords = [\"blob.hosts\"]\non_miss = \"nxdomain\"\n\
             transfer_allow = [\"127.0.0.0/8\"]\nnotify = [\"127.0.0.1:{notify_port}\"]\ntsig_key = \"xfr-key\"\n{TSIG}",
            common::SERVER
        ),
    );
    Daemon::start(files)
}

/// A secondary pldns on `port`, pulling `zone` from `primary`, itself a
/// primary for loopback (chained).
fn secondary_files(port: u16, primary: std::net::SocketAddr) -> Files {
    let files = Files::new(&[]);
    key_file(&files, SECRET);
    files.write(
        "pldns.toml",
        &format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\"]\nallow = [\"127.0.0.0/8\"]\nmetrics = \"127.0.0.1:0\"\n\
             [[zone]]\nname = \"{ZONE}\"\nprimaries = [\"{primary}\"]\ntsig_key = \"xfr-key\"\n\
             transfer_allow = [\"127.0.0.0/8\"]\n{TSIG}"
        ),
    );
    files
}

#[test]
fn pldns_is_a_secondary_of_pldns_and_serves_its_kept_copy_with_the_primary_gone() {
    let sport = free_port();
    let p = primary(sport);
    let s = Daemon::start(secondary_files(sport, p.addr));
    let acct = format!("acct.{ZONE}");
    wait_for("the secondary pulls", Duration::from_secs(10), || {
        a(s.addr, &acct) == ["10.0.0.1"]
    });
    assert_eq!(serial(s.addr, ZONE), serial(p.addr, ZONE));

    // An edit on the primary: NOTIFY, then IXFR to the secondary.
    let edited = Instant::now();
    p.files.write(
        "blob.hosts",
        &format!("10.0.0.1 acct.{ZONE}\n10.0.0.2 new.{ZONE}\n"),
    );
    let new = format!("new.{ZONE}");
    wait_for(
        "the edit reaches the secondary",
        Duration::from_secs(5),
        || a(s.addr, &new) == ["10.0.0.2"],
    );
    eprintln!(
        "an edit reached the pldns secondary in {:?}",
        edited.elapsed()
    );
    assert!(s.wait_log(&format!("IXFR of {ZONE}"), Duration::from_secs(1)));
    let current = serial(p.addr, ZONE).unwrap();
    assert_eq!(serial(s.addr, ZONE), Some(current));

    // Chained: the secondary passes the primary's copy on (its SOA, serial
    // and NS), to a third server that signs with the zone's key; unsigned
    // it refuses, as its primary would.
    let unsigned = transfer_from("127.0.0.1", s.addr, &transfer_request(ZONE, None));
    assert_eq!(rcode(&unsigned[0]), ResponseCode::Refused);
    let third = signed_axfr(s.addr);
    assert_eq!(
        third,
        signed_axfr(p.addr),
        "the primary's zone, record for record"
    );
    let ns = answer(s.addr, ZONE, RecordType::NS).unwrap();
    let ns_p = answer(p.addr, ZONE, RecordType::NS).unwrap();
    assert_eq!(ns.answers, ns_p.answers);

    // The primary goes away; the secondary restarts and answers from the
    // copy it kept, at the same serial.
    drop(p);
    let (status, files) = s.stop_keep_files();
    assert!(status.success());
    let kept = files.state_dir().join("zones/secondary");
    assert!(kept.join(format!("{ZONE}.zone")).is_file());
    let (ok, summary, _) = common::check(&files.path("pldns.toml"));
    assert!(ok.success());
    assert!(
        summary.contains(&format!(
            "zone {ZONE}: secondary, serial {current} from its primary"
        )),
        "{summary}"
    );
    let s = Daemon::start(files);
    assert_eq!(
        a(s.addr, &new),
        ["10.0.0.2"],
        "served at once, from the copy"
    );
    assert_eq!(serial(s.addr, ZONE), Some(current));
    wait_for("the refresh fails", Duration::from_secs(10), || {
        s.metric(&format!(
            "pldns_secondary_refresh_total{{zone=\"{ZONE}\",result=\"failed\"}}"
        )) >= 1.0
    });
    assert_eq!(a(s.addr, &acct), ["10.0.0.1"], "still served until expire");
    let left = s.metric(&format!(
        "pldns_secondary_expires_in_seconds{{zone=\"{ZONE}\"}}"
    ));
    assert!(left > 86_000.0, "a day's expire, nearly all left: {left}");

    // The status page says the same: the copy served, its serial, the
    // failed refresh, the time left.
    let (code, body) = s.http_get("/status.json");
    assert_eq!(code, 200);
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    let zone = page["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["name"] == ZONE)
        .unwrap_or_else(|| panic!("{ZONE} on the page: {body}"));
    let r = &zone["replication"];
    assert_eq!(r["copy_serial"], current);
    assert_eq!(r["copy_expired"], false);
    assert!(r["refreshes_failed"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["copy_expires_in_s"].as_u64().unwrap() > 86_000, "{r}");
    let (_, html) = s.http_get("/");
    assert!(
        html.contains(&format!("copy serial {current}, expires in")),
        "{html}"
    );
}

/// The zone as `server` transfers it to a client signing with the key (the
/// library's own secondary client, as a third pldns would ask).
fn signed_axfr(server: std::net::SocketAddr) -> pldns::xfr::secondary::ZoneCopy {
    use pldns::xfr::secondary::pull::{Primary, Timeouts, transfer};
    use pldns::xfr::tsig::{Algorithm, Key};
    let name = pldns::name::Name::from_text("xfr-key").unwrap();
    let secret = pldns::xfr::tsig::file::parse(SECRET, "xfr-key")
        .unwrap()
        .secret;
    let key = std::sync::Arc::new(Key::new(name, Algorithm::HmacSha256, &secret));
    let primary = Primary {
        addr: server,
        key: Some(key),
    };
    let zone = pldns::name::Name::from_text(ZONE).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pulled = rt.block_on(transfer(&primary, &zone, None, &Timeouts::default()));
    let pldns::xfr::secondary::reader::Answer::Full { soa, records } = pulled.unwrap().answer
    else {
        panic!("a whole zone");
    };
    pldns::xfr::secondary::ZoneCopy::full(zone, soa, records)
}

#[test]
fn a_primarys_serial_survives_a_restart_and_grows_with_every_change() {
    let files = Files::new(&[("blob.hosts", &format!("10.0.0.1 acct.{ZONE}\n"))]);
    files.write(
        "pldns.toml",
        &format!(
            "{}[[zone]]\nname = \"{ZONE}\"\nrecords = [\"blob.hosts\"]\non_miss = \"nxdomain\"\n",
            common::SERVER
        ),
    );
    let d = Daemon::start(files);
    let first = serial(d.addr, ZONE).unwrap();
    d.files
        .write("blob.hosts", &format!("10.0.0.9 acct.{ZONE}\n"));
    wait_for("the edit", Duration::from_secs(5), || {
        a(d.addr, &format!("acct.{ZONE}")) == ["10.0.0.9"]
    });
    let second = serial(d.addr, ZONE).unwrap();
    assert!(pldns::xfr::serial::gt(second, first));
    let (_, files) = d.stop_keep_files();
    // Unchanged data: the same serial after a restart.
    let d = Daemon::start(files);
    assert_eq!(serial(d.addr, ZONE), Some(second));
    let (_, files) = d.stop_keep_files();
    // Changed while down: a greater one.
    files.write("blob.hosts", &format!("10.0.0.7 acct.{ZONE}\n"));
    let d = Daemon::start(files);
    assert!(pldns::xfr::serial::gt(
        serial(d.addr, ZONE).unwrap(),
        second
    ));
}

#[test]
fn secondary_zones_come_and_go_with_config_edits() {
    let p = primary(free_port());
    let files = Files::new(&[]);
    key_file(&files, SECRET);
    let config = |with_zone: bool| {
        // Without the secondary zone: the same zone with (no) records of
        // its own.
        let zone = if with_zone {
            format!(
                "[[zone]]\nname = \"{ZONE}\"\nprimaries = [\"{}\"]\ntsig_key = \"xfr-key\"\n",
                p.addr
            )
        } else {
            format!("[[zone]]\nname = \"{ZONE}\"\nrecords = []\non_miss = \"nxdomain\"\n")
        };
        format!(
            "{}[upstream]\nservers = [\"127.0.0.1:9\"]\n{zone}{TSIG}",
            common::SERVER
        )
    };
    files.write("pldns.toml", &config(false));
    let s = Daemon::start(files);
    let acct = format!("acct.{ZONE}");
    s.files.write("pldns.toml", &config(true));
    wait_for(
        "the new secondary zone is pulled",
        Duration::from_secs(10),
        || a(s.addr, &acct) == ["10.0.0.1"],
    );
    s.files.write("pldns.toml", &config(false));
    wait_for("the pulled data leaves", Duration::from_secs(10), || {
        answer(s.addr, &acct, RecordType::A).is_some_and(|m| rcode(&m) == ResponseCode::NXDomain)
    });
    s.files.write("pldns.toml", &config(true));
    wait_for("pulled again", Duration::from_secs(10), || {
        a(s.addr, &acct) == ["10.0.0.1"]
    });
}

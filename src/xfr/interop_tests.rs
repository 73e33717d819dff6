//! Interoperation with a real BIND 9 on loopback, at the library level:
//! BIND as a secondary of our primary code (TSIG, multi-message AXFR, NOTIFY
//! then IXFR), and our secondary code pulling from BIND as primary (TSIG
//! enforced by BIND, NOTIFY from BIND, IXFR after a dynamic update). The
//! whole-daemon versions live in tests/.

#[path = "../../tests/common/bind.rs"]
#[allow(dead_code)]
mod bind;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::RData;

use super::msg::MessageWriter;
use super::notify;
use super::secondary::reader::Answer;
use super::secondary::{
    DirStore, Manager, PullError, Sink, Timeouts, ZoneCopy, pull::Primary, pull::transfer,
};
use super::testserver::TestPrimary;
use super::testutil::{n, snapshot};
use crate::name::Name;
use crate::wire::rtype;

const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";

async fn query_a(server: SocketAddr, name: &str) -> Option<Vec<String>> {
    let q = MessageWriter::new(rand::random(), 0, Some((n(name).wire(), rtype::A)), 512).finish();
    let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.ok()?;
    s.send_to(&q, server).await.ok()?;
    let mut buf = vec![0u8; 4096];
    let (len, _) = tokio::time::timeout(Duration::from_secs(2), s.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    let m = Message::from_vec(&buf[..len]).ok()?;
    Some(
        m.answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(a.to_string()),
                _ => None,
            })
            .collect(),
    )
}

async fn wait_for_a(server: SocketAddr, name: &str, want: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if query_a(server, name)
            .await
            .is_some_and(|a| a.iter().any(|x| x == want))
        {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{name} A {want} not served within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn records(count: usize, extra: Option<(&str, &str)>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = (0..count)
        .map(|i| {
            (
                format!("h{i}.zone.test"),
                format!("A 10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
            )
        })
        .collect();
    if let Some((name, data)) = extra {
        v.push((name.into(), data.into()));
    }
    v
}

fn refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_is_a_secondary_of_our_primary_with_tsig_notify_and_ixfr() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    std::fs::write(&key, bind::key_statement("xfr-key", SECRET)).unwrap();
    let config = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\n[[zone]]\nname = \"zone.test\"\nrecords = []\non_miss = \"nxdomain\"\ntransfer_allow = [\"127.0.0.0/8\"]\ntsig_key = \"xfr-key\"\n[[tsig]]\nname = \"xfr-key\"\nsecret_file = \"{}\"\n",
        key.display()
    );
    let a = snapshot(&config, &refs(&records(20_000, None)), None);
    let primary = TestPrimary::start(a).await;
    let port = primary.addr.port();
    let body = format!(
        "{}zone \"zone.test\" {{ type secondary; primaries {{ 127.0.0.1 port {port} key \"xfr-key\"; }}; file \"zone.test.db\"; }};\n",
        bind::key_statement("xfr-key", SECRET)
    );
    let Some(named) = tokio::task::spawn_blocking(move || bind::Bind::start(&body, &[]))
        .await
        .unwrap()
    else {
        return;
    };
    wait_for_a(
        named.addr(),
        "h19999.zone.test",
        "10.0.78.31",
        Duration::from_secs(30),
    )
    .await;
    // BIND may serve the zone a moment before it logs the transfer.
    assert!(named.wait_log("Transfer completed", Duration::from_secs(5)));
    let done = named.lines("Transfer completed");
    assert!(
        done.iter().any(|l| !l.contains(" 1 messages")),
        "a multi-message AXFR: {done:?}"
    );

    // A change, then NOTIFY (signed): BIND asks IXFR and serves the record.
    let old = primary.snap.load_full();
    let b = snapshot(
        &config,
        &refs(&records(20_000, Some(("new.zone.test", "A 192.0.2.1")))),
        Some(&old),
    );
    let soa = super::zone::ZoneView::find(&b, n("zone.test").wire())
        .map(|z| (z.local.soa.ttl(), z.local.soa.rdata().to_vec()))
        .unwrap();
    primary.swap(b);
    let k = primary.snap.load().config.tsig.0[0].clone();
    notify::send(
        named.addr(),
        &n("zone.test"),
        soa.0,
        &soa.1,
        Some(&k),
        &notify::RETRIES,
    )
    .await
    .unwrap();
    let took = wait_for_a(
        named.addr(),
        "new.zone.test",
        "192.0.2.1",
        Duration::from_secs(5),
    )
    .await;
    assert!(
        named.wait_log("got incremental response", Duration::from_secs(2)),
        "BIND's log shows the IXFR:\n{}",
        named.lines("zone.test").join("\n")
    );
    eprintln!("BIND served the change {took:?} after NOTIFY");
}

#[derive(Default)]
struct Collect(Mutex<Vec<Arc<ZoneCopy>>>);

impl Sink for Collect {
    fn publish(&self, _zone: &Name, copy: Arc<ZoneCopy>) {
        self.0.lock().unwrap().push(copy);
    }
    fn expire(&self, _zone: &Name) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_secondary_pulls_from_bind_which_enforces_tsig() {
    // Enough records for BIND to answer in several messages, each signed.
    let mut zone_file = "$TTL 300\n@ IN SOA ns.bz.test. admin.bz.test. 1 3600 600 86400 60\n@ IN NS ns.bz.test.\nns IN A 10.0.0.53\nacct IN A 10.0.0.1\nalias IN CNAME acct\ntxt IN TXT \"hello\"\n".to_string();
    for i in 0..3000 {
        zone_file.push_str(&format!("bulk{i} IN AAAA fd00::{i:x}\n"));
    }
    let notify_in = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let nport = notify_in.local_addr().unwrap().port();
    let body = format!(
        "{}zone \"bz.test\" {{ type primary; file \"bz.test.db\"; allow-transfer {{ key \"xfr-key\"; }}; allow-update {{ key \"xfr-key\"; }}; notify explicit; also-notify {{ 127.0.0.1 port {nport} key \"xfr-key\"; }}; }};\n",
        bind::key_statement("xfr-key", SECRET)
    );
    let Some(named) = tokio::task::spawn_blocking(move || {
        bind::Bind::start(&body, &[("bz.test.db", &zone_file)])
    })
    .await
    .unwrap() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("k.key");
    std::fs::write(&key_file, SECRET).unwrap();
    let config_text = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\n[[zone]]\nname = \"bz.test\"\nprimaries = [\"{}\"]\ntsig_key = \"xfr-key\"\n[[tsig]]\nname = \"xfr-key\"\nsecret_file = \"{}\"\n",
        named.addr(),
        key_file.display()
    );
    let config = crate::config::parse(std::path::Path::new("/t/s.toml"), &config_text).unwrap();
    let key = config.tsig.0[0].clone();
    let zone = n("bz.test");

    // Unsigned: BIND refuses.
    let unsigned = Primary {
        addr: named.addr(),
        key: None,
    };
    let e = transfer(&unsigned, &zone, None, &Timeouts::default())
        .await
        .unwrap_err();
    assert!(matches!(e, PullError::Rcode(5)), "{e}");
    // Signed with a wrong secret: BIND says BADSIG.
    let wrong = Primary {
        addr: named.addr(),
        key: Some(Arc::new(crate::xfr::tsig::Key::new(
            n("xfr-key"),
            key.algorithm,
            b"wrong",
        ))),
    };
    let e = transfer(&wrong, &zone, None, &Timeouts::default())
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("BADSIG") || matches!(e, PullError::Rcode(9)),
        "{e}"
    );

    let sink = Arc::new(Collect::default());
    let store = Arc::new(DirStore {
        ns: crate::statedir::StateDir::at(dir.path().join("sec")).namespace("zones"),
    });
    let mut m = Manager::new(sink.clone(), store, Timeouts::default());
    m.reconcile(&config);
    let deadline = Instant::now() + Duration::from_secs(10);
    while sink.0.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no pull from BIND");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = sink.0.lock().unwrap()[0].clone();
    assert_eq!(first.serial(), 1);
    let p = first.project();
    assert_eq!(p.entries.len(), 3003, "ns, acct, alias and the bulk");
    assert_eq!(p.unanswered.get("TXT"), Some(&1));

    // A dynamic update on BIND: BIND sends NOTIFY (signed), we answer it
    // and refresh; the change comes by IXFR.
    let Some(nsupdate) = bind::tool("nsupdate") else {
        return;
    };
    let script = format!(
        "server 127.0.0.1 {}\nzone bz.test\nupdate add new.bz.test 60 A 192.0.2.9\nsend\n",
        named.port
    );
    assert!(bind::nsupdate(&nsupdate, "xfr-key", SECRET, &script));

    let snap = snapshot(&config_text, &[], None);
    // BIND also announced serial 1 at start: answer every NOTIFY, wait for 2.
    let mut buf = vec![0u8; 4096];
    let refresh = loop {
        let (len, from) =
            tokio::time::timeout(Duration::from_secs(10), notify_in.recv_from(&mut buf))
                .await
                .expect("BIND sent NOTIFY")
                .unwrap();
        let (answer, refresh) = notify::handle(&snap, &buf[..len], from.ip(), notify::unix_now());
        notify_in.send_to(&answer, from).await.unwrap();
        let refresh = refresh.expect("a NOTIFY from the listed primary");
        if refresh.serial == Some(2) {
            break refresh;
        }
    };
    m.notify(&zone, refresh.serial);
    let deadline = Instant::now() + Duration::from_secs(10);
    while sink.0.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "NOTIFY did not bring the change");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = sink.0.lock().unwrap()[1].clone();
    assert_eq!(second.serial(), 2);
    assert!(
        second
            .project()
            .entries
            .iter()
            .any(|e| e.name == n("new.bz.test"))
    );
    // By hand: BIND's multi-message AXFR verifies message by message, and
    // BIND answers IXFR with the change set.
    let signed = Primary {
        addr: named.addr(),
        key: Some(key),
    };
    let whole = transfer(&signed, &zone, None, &Timeouts::default())
        .await
        .unwrap();
    assert!(whole.messages > 1, "{} messages", whole.messages);
    eprintln!("BIND sent the zone in {} messages", whole.messages);
    let pulled = transfer(&signed, &zone, Some(&first.soa), &Timeouts::default())
        .await
        .unwrap();
    let Answer::Incremental { deltas, .. } = pulled.answer else {
        panic!("not incremental: {:?}", pulled.answer)
    };
    assert_eq!(first.apply(&second.soa, &deltas).unwrap(), *second);
}

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::copy::ZoneCopy;
use super::reader::{Answer, Reader};
use super::*;
use crate::records::EntryData;
use crate::snapshot::Snapshot;
use crate::wire::rtype;
use crate::xfr::journal::Journals;
use crate::xfr::msg::kind::{AXFR, IXFR};
use crate::xfr::msg::{Data, MessageWriter};
use crate::xfr::primary::respond;
use crate::xfr::testserver::TestPrimary;
use crate::xfr::testutil::{CONFIG, n, snapshot};
use crate::xfr::zone::{Rr, ZoneView};

fn many(count: usize, bump: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            let last = if i == bump { 250 } else { i & 255 };
            (
                format!("h{i}.zone.test"),
                format!("A 10.{}.{}.{last}", i >> 16, (i >> 8) & 255),
            )
        })
        .collect()
}

fn refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

/// Transfers zone.test from `snap` in process: request, answer, reader.
fn pull_from(snap: &Snapshot, journals: &Journals, ours: Option<&Rr>) -> (Answer, usize) {
    let zone = n("zone.test");
    let qtype = if ours.is_some() { IXFR } else { AXFR };
    let mut w = MessageWriter::new(77, 0, Some((zone.wire(), qtype)), 512);
    if let Some(s) = ours {
        w.section(1);
        w.push(s.owner.wire(), rtype::SOA, s.ttl, Data::Bytes(&s.rdata));
    }
    let req = w.finish();
    let from = ours.and_then(|s| crate::xfr::msg::read::soa_serial(&s.rdata));
    let mut reader = Reader::new(zone, qtype, 77, from);
    let local = "127.0.0.1".parse().unwrap();
    let (t, _) = respond(snap, journals, &req, local, true, 1);
    let mut done = false;
    for m in t {
        assert!(!done, "messages after the end");
        done = reader.feed(&m).unwrap();
    }
    assert!(done);
    let messages = reader.messages;
    (reader.finish().unwrap(), messages)
}

fn copy_of(snap: &Snapshot) -> ZoneCopy {
    match pull_from(snap, &Journals::default(), None).0 {
        Answer::Full { soa, records } => ZoneCopy::full(n("zone.test"), soa, records),
        other => panic!("not a zone: {other:?}"),
    }
}

#[test]
fn axfr_then_ixfr_rebuild_the_primary_zone() {
    let a = snapshot(CONFIG, &refs(&many(3000, usize::MAX)), None);
    let (answer, messages) = pull_from(&a, &Journals::default(), None);
    assert!(messages > 1, "a multi-message transfer");
    let Answer::Full { soa, records } = answer else {
        panic!()
    };
    assert_eq!(records.len(), 3000 + 1, "the records and the apex NS");
    let copy = ZoneCopy::full(n("zone.test"), soa, records);
    assert_eq!(
        copy.serial(),
        ZoneView::find(&a, n("zone.test").wire()).unwrap().serial()
    );

    let b = snapshot(CONFIG, &refs(&many(3000, 17)), Some(&a));
    let j = Journals::default();
    j.record(&a, &b);
    let (answer, _) = pull_from(&b, &j, Some(&copy.soa));
    let Answer::Incremental { soa, deltas } = answer else {
        panic!("not incremental: {answer:?}")
    };
    assert_eq!(deltas.len(), 1);
    let applied = copy.apply(&soa, &deltas).unwrap();
    assert_eq!(applied, copy_of(&b), "IXFR gives what AXFR gives");

    // Current: the lone SOA.
    let (answer, _) = pull_from(&b, &j, Some(&applied.soa));
    assert!(matches!(answer, Answer::SoaOnly(_)));
}

#[test]
fn changes_that_do_not_fit_the_copy_are_refused_whole() {
    let a = snapshot(CONFIG, &refs(&many(10, usize::MAX)), None);
    let b = snapshot(CONFIG, &refs(&many(10, 3)), Some(&a));
    let j = Journals::default();
    j.record(&a, &b);
    let copy = copy_of(&a);
    let (Answer::Incremental { soa, deltas }, _) = pull_from(&b, &j, Some(&copy.soa)) else {
        panic!()
    };
    // A copy lacking the record the change set removes.
    let mut other = copy.clone();
    let gone = deltas[0].removed[0].clone();
    other.records.remove(&gone);
    let e = other.apply(&soa, &deltas).unwrap_err();
    assert!(e.contains("we do not have"), "{e}");
    assert_eq!(other.records.len(), copy.records.len() - 1, "untouched");
    // A change set that starts elsewhere.
    let mut moved = copy.clone();
    moved.soa = deltas[0].new_soa.clone();
    assert!(
        moved
            .apply(&soa, &deltas)
            .unwrap_err()
            .contains("does not start at ours")
    );
}

#[test]
fn the_copy_round_trips_as_a_zone_file_and_projects_what_pldns_answers() {
    let zone = n("zone.test");
    let soa = copy_of(&snapshot(CONFIG, &[], None)).soa;
    let rr = |owner: &str, t: u16, rdata: &[u8]| Rr {
        owner: crate::xfr::zonefile::parse_name(&format!("{owner}."), &zone).unwrap(),
        rtype: t,
        ttl: 60,
        rdata: rdata.into(),
    };
    let records = vec![
        rr("zone.test", rtype::NS, n("ns1.example").wire()),
        rr("a.zone.test", rtype::A, &[10, 0, 0, 1]),
        rr("a.zone.test", rtype::AAAA, &[0xfd; 16]),
        rr("c.zone.test", rtype::CNAME, n("a.zone.test").wire()),
        rr("a.zone.test", 16, b"\x02hi"),
        rr("sub.zone.test", rtype::NS, n("ns.elsewhere.example").wire()),
        rr("host.sub.zone.test", rtype::A, &[10, 0, 0, 9]),
        rr("*.zone.test", rtype::A, &[10, 0, 0, 8]),
    ];
    let copy = ZoneCopy::full(zone.clone(), soa, records);
    let text = copy.to_text("kept");
    assert_eq!(ZoneCopy::from_text(&zone, &text).unwrap(), copy);

    let p = copy.project();
    let answered: Vec<(String, String)> = p
        .entries
        .iter()
        .map(|e| {
            let data = match &e.data {
                EntryData::A(ip) => ip.to_string(),
                EntryData::Aaaa(ip) => ip.to_string(),
                EntryData::Cname(t) => t.to_string(),
            };
            (e.name.to_string(), data)
        })
        .collect();
    assert_eq!(
        answered,
        vec![
            ("a.zone.test".to_string(), "10.0.0.1".to_string()),
            (
                "a.zone.test".into(),
                "fdfd:fdfd:fdfd:fdfd:fdfd:fdfd:fdfd:fdfd".into()
            ),
            ("c.zone.test".into(), "a.zone.test".into()),
        ]
    );
    assert_eq!(p.apex_ns.len(), 1);
    assert_eq!(p.delegated, 2, "the cut's NS and the name under it");
    let summary = p.summary().unwrap();
    assert!(
        summary.contains("1 TXT")
            && summary.contains("1 wildcard A")
            && summary.contains("2 under delegations"),
        "{summary}"
    );
}

/// Collects what the manager publishes.
#[derive(Default)]
struct Collect {
    published: Mutex<Vec<Arc<ZoneCopy>>>,
    expired: Mutex<usize>,
}

impl Sink for Collect {
    fn publish(&self, _zone: &Name, copy: Arc<ZoneCopy>) {
        self.published.lock().unwrap().push(copy);
    }
    fn expire(&self, _zone: &Name) {
        *self.expired.lock().unwrap() += 1;
    }
}

impl Collect {
    async fn wait(&self, what: impl Fn(&Collect) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !what(self) {
            assert!(tokio::time::Instant::now() < deadline, "timed out");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn last(&self) -> Arc<ZoneCopy> {
        self.published.lock().unwrap().last().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.published.lock().unwrap().len()
    }
}

fn secondary_config(
    primary: std::net::SocketAddr,
    key_file: &std::path::Path,
) -> crate::config::Config {
    let text = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\n[[zone]]\nname = \"zone.test\"\nprimaries = [\"{primary}\"]\ntsig_key = \"k\"\n[[tsig]]\nname = \"k\"\nsecret_file = \"{}\"\n",
        key_file.display()
    );
    crate::config::parse(std::path::Path::new("/t/s.toml"), &text).unwrap()
}

fn tsig_primary_config(key_file: &std::path::Path) -> String {
    format!(
        "{CONFIG}\n[[tsig]]\nname = \"k\"\nsecret_file = \"{}\"\n",
        key_file.display()
    )
    .replace(
        "transfer_allow = [\"127.0.0.0/8\"]",
        "transfer_allow = [\"127.0.0.0/8\"]\ntsig_key = \"k\"",
    )
}

#[tokio::test]
async fn manager_pulls_follows_notify_keeps_a_copy_and_serves_it_without_the_primary() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    std::fs::write(&key, "c2VjcmV0LXNlY3JldC1zZWNyZXQ=").unwrap();
    let pconf = tsig_primary_config(&key);
    let a = snapshot(&pconf, &refs(&many(2000, usize::MAX)), None);
    let primary = TestPrimary::start(a).await;

    let sink = Arc::new(Collect::default());
    let store = Arc::new(DirStore {
        ns: crate::statedir::StateDir::at(dir.path().join("secondary")).namespace("zones"),
    });
    let config = secondary_config(primary.addr, &key);
    let mut m = Manager::new(sink.clone(), store.clone(), Timeouts::default());
    m.reconcile(&config);
    sink.wait(|s| s.count() == 1).await;
    assert_eq!(sink.last().records.len(), 2001);

    // A change on the primary, then NOTIFY: an IXFR brings it.
    let b = snapshot(&pconf, &refs(&many(2000, 5)), Some(&primary.snap.load()));
    primary.swap(b);
    m.notify(&n("zone.test"), None);
    sink.wait(|s| s.count() == 2).await;
    let now = sink.last();
    assert!(
        now.records
            .iter()
            .any(|r| r.owner == n("h5.zone.test") && r.rdata[..] == [10, 0, 0, 250])
    );
    let kept = store.load(&n("zone.test")).unwrap().unwrap();
    assert_eq!(*kept.copy, *now);

    // The primary gone, a new manager starts from the kept copy at once.
    drop(m);
    drop(primary);
    let sink2 = Arc::new(Collect::default());
    let mut m2 = Manager::new(
        sink2.clone(),
        store.clone(),
        Timeouts {
            query: Duration::from_millis(200),
            ..Timeouts::default()
        },
    );
    m2.reconcile(&config);
    sink2.wait(|s| s.count() == 1).await;
    assert_eq!(*sink2.last(), *now);
    assert_eq!(*sink2.expired.lock().unwrap(), 0);

    // A kept copy older than its SOA expire is not served.
    drop(m2);
    store.touch(&n("zone.test"), 1).unwrap();
    let sink3 = Arc::new(Collect::default());
    let mut m3 = Manager::new(sink3.clone(), store, Timeouts::default());
    m3.reconcile(&config);
    sink3.wait(|s| *s.expired.lock().unwrap() == 1).await;
    assert_eq!(sink3.count(), 0);
}

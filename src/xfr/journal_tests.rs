use super::*;
use crate::wire::rtype;
use crate::xfr::testutil::{CONFIG, n, snapshot};

fn serial(s: &Snapshot, zone: &str) -> u32 {
    ZoneView::find(s, n(zone).wire()).unwrap().serial()
}

#[test]
fn diff_names_added_removed_and_ttl_changed_records_per_zone() {
    let a = snapshot(
        CONFIG,
        &[
            ("a.zone.test", "A 10.0.0.1"),
            ("a.zone.test", "A 10.0.0.2"),
            ("b.zone.test", "AAAA fd00::1"),
            ("c.zone.test", "CNAME a.zone.test"),
            ("x.other.test", "A 10.9.9.9"),
        ],
        None,
    );
    let b = snapshot(
        CONFIG,
        &[
            ("a.zone.test", "A 10.0.0.1"),
            ("a.zone.test", "A 10.0.0.3"),
            ("b.zone.test", "AAAA fd00::1 60"),
            ("c.zone.test", "CNAME a.zone.test"),
            ("d.e.zone.test", "A 10.0.0.4"),
            ("x.other.test", "A 10.9.9.9"),
        ],
        Some(&a),
    );
    let deltas = diff(&a, &b);
    assert_eq!(deltas.len(), 1, "other.test did not change");
    let (zone, d) = &deltas[0];
    assert_eq!(zone, &n("zone.test"));
    assert_eq!(d.from(), serial(&a, "zone.test"));
    assert_eq!(d.to(), serial(&b, "zone.test"));
    let show = |v: &[Rr]| {
        let mut v: Vec<String> = v
            .iter()
            .map(|r| format!("{} {} {} {:?}", r.owner, r.rtype, r.ttl, r.rdata))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        show(&d.removed),
        vec![
            "a.zone.test 1 300 [10, 0, 0, 2]".to_string(),
            format!(
                "b.zone.test 28 300 {:?}",
                "fd00::1".parse::<Ipv6Addr>().unwrap().octets()
            ),
        ]
    );
    assert_eq!(
        show(&d.added),
        vec![
            "a.zone.test 1 300 [10, 0, 0, 3]".to_string(),
            format!(
                "b.zone.test 28 60 {:?}",
                "fd00::1".parse::<Ipv6Addr>().unwrap().octets()
            ),
            "d.e.zone.test 1 300 [10, 0, 0, 4]".to_string(),
        ]
    );
    assert_eq!(d.old_soa.rtype, rtype::SOA);
}

#[test]
fn a_zone_ttl_change_replaces_the_apex_ns() {
    let a = snapshot(CONFIG, &[("a.other.test", "A 10.0.0.1")], None);
    let b = snapshot(
        &CONFIG.replace("ttl = 60", "ttl = 120"),
        &[("a.other.test", "A 10.0.0.1")],
        Some(&a),
    );
    let deltas = diff(&a, &b);
    let d = &deltas[0].1;
    assert_eq!(d.removed.len(), 1);
    assert_eq!(d.removed[0].rtype, rtype::NS);
    assert_eq!((d.removed[0].ttl, d.added[0].ttl), (60, 120));
}

fn delta(from: u32, to: u32, records: usize) -> Delta {
    let soa = |serial: u32| {
        let mut rdata = vec![0u8, 0];
        rdata.extend_from_slice(&serial.to_be_bytes());
        rdata.extend_from_slice(&[0; 16]);
        Rr {
            owner: n("zone.test"),
            rtype: rtype::SOA,
            ttl: 1,
            rdata: rdata.into(),
        }
    };
    let rr = Rr {
        owner: n("a.zone.test"),
        rtype: rtype::A,
        ttl: 1,
        rdata: vec![1, 2, 3, 4].into(),
    };
    Delta {
        old_soa: soa(from),
        new_soa: soa(to),
        removed: vec![],
        added: vec![rr; records],
    }
}

#[test]
fn journal_paths_gaps_and_memory_bound() {
    let one = delta(1, 2, 1).size();
    let mut j = Journal::default();
    j.push(delta(1, 2, 1), 10 * one);
    j.push(delta(2, 5, 1), 10 * one);
    j.push(delta(5, 6, 1), 10 * one);
    let path: Vec<_> = j.path(2, 6).unwrap().iter().map(|d| d.to()).collect();
    assert_eq!(path, vec![5, 6]);
    assert_eq!(j.path(1, 2).unwrap().len(), 1);
    assert!(j.path(3, 6).is_none(), "3 is no serial we had");
    assert!(j.path(1, 7).is_none(), "7 is beyond the journal");

    // A gap resets: only the new delta remains.
    j.push(delta(9, 10, 1), 10 * one);
    assert!(j.path(1, 6).is_none());
    assert!(j.path(9, 10).is_some());

    // The bound drops the oldest deltas; one delta over the bound is not kept.
    let mut j = Journal::default();
    for s in 0..20 {
        j.push(delta(s, s + 1, 1), 5 * one);
    }
    assert!(j.bytes <= 5 * one);
    assert!(j.path(0, 20).is_none());
    assert_eq!(j.path(15, 20).unwrap().len(), 5);
    j.push(delta(20, 21, 100), 5 * one);
    assert!(j.deltas.is_empty() && j.bytes == 0);

    // Serial arithmetic wraps.
    let mut j = Journal::default();
    j.push(delta(u32::MAX, 3, 1), 10 * one);
    j.push(delta(3, 4, 1), 10 * one);
    assert_eq!(j.path(u32::MAX, 4).unwrap().len(), 2);
}

#[test]
fn journals_follow_snapshots() {
    let js = Journals::default();
    let a = snapshot(CONFIG, &[("a.zone.test", "A 10.0.0.1")], None);
    let b = snapshot(CONFIG, &[("a.zone.test", "A 10.0.0.2")], Some(&a));
    js.record(&a, &b);
    let zone = n("zone.test");
    let (sa, sb) = (serial(&a, "zone.test"), serial(&b, "zone.test"));
    assert!(serial::gt(sb, sa));
    assert_eq!(js.path(&zone, sa, sb).unwrap().len(), 1);
    assert!(js.bytes(&zone) > 0);
    // The zone dropped from the config: its journal goes.
    let c = snapshot(
        &CONFIG.replace("name = \"zone.test\"", "name = \"new.test\""),
        &[],
        Some(&b),
    );
    js.record(&b, &c);
    assert_eq!(js.bytes(&zone), 0);
}

use super::*;
use crate::name::Name;

fn w(s: &str) -> Vec<u8> {
    Name::from_text(s).unwrap().wire().to_vec()
}

#[test]
fn merge_dedupe_ttl_and_ents() {
    let zone = w("zone.test");
    let mut b = TableBuilder::new(1);
    let name = w("a.b.c.zone.test");
    b.insert(&name, 0, Data::A("10.0.0.2".parse().unwrap()), 60, (0, 1))
        .unwrap();
    b.insert(&name, 0, Data::A("10.0.0.1".parse().unwrap()), 30, (0, 2))
        .unwrap();
    b.insert(&name, 0, Data::A("10.0.0.2".parse().unwrap()), 90, (0, 3))
        .unwrap();
    b.insert(&name, 0, Data::Aaaa("fd00::1".parse().unwrap()), 90, (0, 4))
        .unwrap();
    let t = b.finish(&[zone.len()]);
    let n = t.get(&name).unwrap();
    assert_eq!(
        n.a(),
        [
            "10.0.0.1".parse::<Ipv4Addr>().unwrap(),
            "10.0.0.2".parse().unwrap()
        ]
    );
    assert_eq!(n.a_ttl(), 30);
    assert_eq!(n.aaaa_ttl(), 90);
    assert!(t.get(&w("b.c.zone.test")).unwrap().is_empty_non_terminal());
    assert!(t.get(&w("c.zone.test")).unwrap().is_empty_non_terminal());
    assert!(t.get(&zone).is_none());
    assert_eq!(t.zones[0].records, 3);
    assert_eq!(t.zones[0].names, 1);
}

#[test]
fn conflicts_and_order_independent_hash() {
    let mut b = TableBuilder::new(1);
    let name = w("x.zone.test");
    b.insert(&name, 0, Data::A("10.0.0.1".parse().unwrap()), 60, (0, 1))
        .unwrap();
    assert_eq!(
        b.insert(&name, 0, Data::Cname(&w("y.zone.test")), 60, (1, 7)),
        Err(Conflict::CnameAndOther((0, 1)))
    );
    let alias = w("alias.zone.test");
    b.insert(&alias, 0, Data::Cname(&w("y.zone.test")), 60, (0, 2))
        .unwrap();
    b.insert(&alias, 0, Data::Cname(&w("y.zone.test")), 30, (0, 3))
        .unwrap();
    assert!(matches!(
        b.insert(&alias, 0, Data::Cname(&w("z.zone.test")), 60, (0, 4)),
        Err(Conflict::TwoCnames { first: (0, 2), .. })
    ));
    let apex = [w("zone.test").len()];
    let one = b.finish(&apex);

    let mut b = TableBuilder::new(1);
    b.insert(&alias, 0, Data::Cname(&w("y.zone.test")), 30, (0, 1))
        .unwrap();
    b.insert(&name, 0, Data::A("10.0.0.1".parse().unwrap()), 60, (0, 2))
        .unwrap();
    let two = b.finish(&apex);
    assert_eq!(one.zones[0].content_hash, two.zones[0].content_hash);
    assert_eq!(one.records_missing_from(&two), 0);
}

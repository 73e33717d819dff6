use super::*;

fn n(s: &str) -> Name {
    Name::from_text(s).unwrap()
}

fn text(wire: &[u8]) -> String {
    let mut s = String::new();
    crate::name::write_text(wire, &mut s).unwrap();
    s
}

fn map(zones: &[(&str, bool)]) -> ZoneMap {
    let names: Vec<(Name, bool)> = zones.iter().map(|(z, r)| (n(z), *r)).collect();
    ZoneMap::new(names.iter().map(|(z, r)| (z, *r)))
}

#[test]
fn public_names_map_into_their_twin_and_the_longest_match_wins() {
    let m = map(&[
        ("privatelink.blob.core.windows.net", true),
        ("core.windows.net", true),
        ("privatelink.eus.backup.windowsazure.com", true),
    ]);
    let at = |s: &str| m.place(n(s).wire());

    let blob = at("acct.blob.core.windows.net").unwrap();
    assert_eq!((blob.zone, blob.via_twin), (0, true));
    assert_eq!(
        text(blob.name.wire()),
        "acct.privatelink.blob.core.windows.net"
    );
    // The twin is longer than the zone `core.windows.net` around it.
    let direct = at("acct.privatelink.blob.core.windows.net").unwrap();
    assert_eq!((direct.zone, direct.via_twin), (0, false));
    let other = at("x.table.core.windows.net").unwrap();
    assert_eq!((other.zone, other.via_twin), (1, false));
    let backup = at("x.eus.backup.windowsazure.com").unwrap();
    assert_eq!(
        text(backup.name.wire()),
        "x.privatelink.eus.backup.windowsazure.com"
    );
    assert_eq!(at("www.example.com"), None);
    // The twin itself maps to the zone apex.
    let apex = at("blob.core.windows.net").unwrap();
    assert_eq!(text(apex.name.wire()), "privatelink.blob.core.windows.net");
}

#[test]
fn a_zone_with_records_beats_a_twin_of_the_same_name() {
    let m = map(&[
        ("privatelink.blob.core.windows.net", true),
        ("blob.core.windows.net", true),
    ]);
    let placed = m.place(n("acct.blob.core.windows.net").wire()).unwrap();
    assert_eq!((placed.zone, placed.via_twin), (1, false));
}

#[test]
fn zones_without_records_route_but_never_hold_names() {
    let m = map(&[
        ("privatelink.blob.core.windows.net", true),
        // A conditional forwarder for the public twin itself.
        ("blob.core.windows.net", false),
        ("corp.example", false),
    ]);
    let acct = n("acct.blob.core.windows.net");
    let placed = m.place(acct.wire()).unwrap();
    assert_eq!((placed.zone, placed.via_twin), (0, true));
    let routed = m.route(acct.wire());
    assert_eq!(routed.zone, Some(1));
    let twin = routed.twin.unwrap();
    assert_eq!(twin.zone, 0);
    assert_eq!(m.twin_name(acct.wire(), twin), Some(placed.name));
    assert_eq!(m.place(n("x.corp.example").wire()), None);
    assert_eq!(
        m.route(n("x.corp.example").wire()),
        Located {
            zone: Some(2),
            twin: None
        }
    );
}

#[test]
fn route_agrees_with_place_and_zone_of() {
    let m = map(&[
        ("privatelink.blob.core.windows.net", true),
        ("core.windows.net", true),
        ("sub.privatelink.blob.core.windows.net", false),
        ("example.com", false),
    ]);
    for name in [
        "acct.blob.core.windows.net",
        "acct.privatelink.blob.core.windows.net",
        "x.sub.privatelink.blob.core.windows.net",
        "x.queue.core.windows.net",
        "www.example.com",
        "www.example.net",
        "core.windows.net",
    ] {
        let w = n(name);
        let r = m.route(w.wire());
        assert_eq!(r.zone, m.zone_of(w.wire()), "{name}");
        let placed = m.place(w.wire()).filter(|p| p.via_twin);
        let mapped = r.twin.map(|t| (t.zone, m.twin_name(w.wire(), t).unwrap()));
        assert_eq!(mapped, placed.map(|p| (p.zone, p.name)), "{name}");
    }
}

#[test]
fn a_mapped_name_too_long_is_not_placed() {
    let m = map(&[("privatelink.blob.core.windows.net", true)]);
    // Fits as a public name; 12 octets too long once mapped.
    let label = "a".repeat(61);
    let long = format!(
        "{label}.{label}.{label}.{}.blob.core.windows.net",
        "b".repeat(37)
    );
    let name = n(&long);
    assert!(name.wire().len() <= 255);
    assert_eq!(m.place(name.wire()), None);
    let twin = m.route(name.wire()).twin.unwrap();
    assert_eq!(m.twin_name(name.wire(), twin), None);
}

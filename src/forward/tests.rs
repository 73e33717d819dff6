use super::*;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn order_keeps_configured_order_until_health_differs() {
    let f = Forwarder::new();
    let (a, b, c) = (
        addr("127.0.0.1:1"),
        addr("127.0.0.1:2"),
        addr("127.0.0.1:3"),
    );
    assert_eq!(f.order(&[a, b, c]), [a, b, c]);
    // Similar RTTs: configured order stands.
    f.record(a, Ok(Duration::from_millis(20)));
    f.record(b, Ok(Duration::from_millis(5)));
    assert_eq!(f.order(&[a, b, c]), [a, b, c]);
    // A much slower one moves back.
    f.record(a, Ok(Duration::from_millis(900)));
    f.record(a, Ok(Duration::from_millis(900)));
    f.record(a, Ok(Duration::from_millis(900)));
    assert_eq!(f.order(&[a, b, c]).last(), Some(&a));
    // A failed one goes after the healthy ones, but stays in the list.
    f.record(c, Err(()));
    assert_eq!(f.order(&[a, b, c]), [b, a, c]);
}

#[test]
fn down_for_a_backoff_that_doubles_and_is_capped() {
    let now = Instant::now();
    let mut h = Health {
        consecutive_failures: 1,
        last_failure: Some(now),
        ..Health::default()
    };
    assert!(h.is_down(now + Duration::from_millis(900)));
    assert!(!h.is_down(now + Duration::from_millis(1100)));
    h.consecutive_failures = 3;
    assert!(h.is_down(now + Duration::from_millis(3900)));
    assert!(!h.is_down(now + Duration::from_millis(4100)));
    h.consecutive_failures = 50;
    assert!(
        !h.is_down(now + Duration::from_secs(31)),
        "never longer than 30 s"
    );
}

#[test]
fn names_round_trip_between_wire_and_hickory() {
    let wire = crate::name::Name::from_text("Acct.Blob.Core.Windows.Net").unwrap();
    let name = hickory_name(wire.wire()).unwrap();
    assert_eq!(name.to_ascii(), "acct.blob.core.windows.net.");
    assert_eq!(
        wire_of(&Name::from_ascii("ACCT.blob.core.windows.net.").unwrap()),
        wire.wire()
    );
}

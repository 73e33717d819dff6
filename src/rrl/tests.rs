use super::*;

use std::time::Duration;

fn config(rate: u32, window: u32, slip: u32) -> RrlConfig {
    RrlConfig {
        responses_per_second: rate,
        nodata_per_second: rate,
        nxdomains_per_second: rate,
        errors_per_second: rate,
        window,
        slip,
        ..RrlConfig::default()
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const WWW: Kind<'static> = Kind::Answer {
    qname: b"\x03www\x07example\x00",
    qtype: 1,
};

/// The verdicts for `n` answers at one instant.
fn burst(r: &Rrl, client: &str, kind: Kind<'_>, n: usize, at: Instant) -> Vec<Verdict> {
    (0..n).map(|_| r.check(ip(client), kind, at)).collect()
}

fn sent(v: &[Verdict]) -> usize {
    v.iter().filter(|v| **v == Verdict::Send).count()
}

#[test]
fn off_unless_a_rate_is_set() {
    assert!(Rrl::new(&RrlConfig::default()).is_none());
    let errors_only = RrlConfig {
        errors_per_second: 1,
        ..RrlConfig::default()
    };
    let r = Rrl::new(&errors_only).unwrap();
    let t = Instant::now();
    assert_eq!(
        sent(&burst(&r, "192.0.2.1", WWW, 100, t)),
        100,
        "answers unlimited"
    );
    assert_eq!(sent(&burst(&r, "192.0.2.1", Kind::Error, 5, t)), 1);
}

#[test]
fn rate_per_second_with_a_one_second_burst() {
    let r = Rrl::new(&config(5, 15, 0)).unwrap();
    let t0 = Instant::now();
    let v = burst(&r, "192.0.2.1", WWW, 20, t0);
    assert_eq!(sent(&v), 5, "{v:?}");
    assert!(
        v[5..].iter().all(|v| *v == Verdict::Drop),
        "slip 0 drops all"
    );
}

#[test]
fn the_window_remembers_a_flood() {
    // 10/s, window 3: a client that sent 100 in one second owes up to
    // 3 s of credit (floor -30), so it stays limited until it has been
    // quiet that long, then gets a fresh second's worth.
    let r = Rrl::new(&config(10, 3, 0)).unwrap();
    let t0 = Instant::now();
    let s = |d: u64| t0 + Duration::from_secs(d);
    assert_eq!(sent(&burst(&r, "192.0.2.1", WWW, 100, s(0))), 10);
    // Balance at the floor, -30: 1 s credits 10 -> -20, -21 after this.
    assert_eq!(sent(&burst(&r, "192.0.2.1", WWW, 1, s(1))), 0);
    // 2 s more: -21 + 20 = -1, -2 after this.
    assert_eq!(sent(&burst(&r, "192.0.2.1", WWW, 1, s(3))), 0);
    // Another second: -2 + 10 = 8, enough for 8 answers.
    assert_eq!(sent(&burst(&r, "192.0.2.1", WWW, 20, s(4))), 8);
    // Idle longer than the window: a fresh start at the full burst.
    assert_eq!(sent(&burst(&r, "192.0.2.1", WWW, 20, s(9))), 10);

    // A client at exactly the rate is never limited.
    let r = Rrl::new(&config(10, 3, 0)).unwrap();
    let t0 = Instant::now();
    let s = |d: u64| t0 + Duration::from_secs(d);
    for sec in 0..30 {
        assert_eq!(sent(&burst(&r, "192.0.2.9", WWW, 10, s(sec))), 10);
    }
}

#[test]
fn slip_answers_every_nth_limited_response_truncated() {
    let t = Instant::now();
    for (slip, want) in [
        (1u32, "SSSSSS"),
        (2, "SDSDSD"),
        (3, "SDDSDD"),
        (0, "DDDDDD"),
    ] {
        let r = Rrl::new(&config(1, 15, slip)).unwrap();
        let v = burst(&r, "192.0.2.1", WWW, 7, t);
        assert_eq!(v[0], Verdict::Send);
        let got: String = v[1..]
            .iter()
            .map(|v| match v {
                Verdict::Slip => 'S',
                Verdict::Drop => 'D',
                Verdict::Send => '+',
            })
            .collect();
        assert_eq!(got, want, "slip {slip}");
    }
}

#[test]
fn prefixes_group_clients_and_keep_others_apart() {
    let r = Rrl::new(&RrlConfig {
        ipv6_prefix_length: 56,
        ..config(2, 15, 0)
    })
    .unwrap();
    let t = Instant::now();
    // Same /24: one budget.
    assert_eq!(
        sent(&burst(&r, "192.0.2.1", WWW, 2, t)) + sent(&burst(&r, "192.0.2.200", WWW, 2, t)),
        2
    );
    // Another /24 and an IPv6 /56 each have their own.
    assert_eq!(sent(&burst(&r, "192.0.3.1", WWW, 5, t)), 2);
    assert_eq!(
        sent(&burst(&r, "2001:db8:0:ff::1", WWW, 2, t))
            + sent(&burst(&r, "2001:db8:0:1::2", WWW, 2, t)),
        2,
        "same /56"
    );
    assert_eq!(sent(&burst(&r, "2001:db8:0:100::1", WWW, 5, t)), 2);
    // An IPv4-mapped address counts as the IPv4 one.
    assert_eq!(sent(&burst(&r, "::ffff:192.0.3.7", WWW, 5, t)), 0);
    // Exempt clients are never limited.
    let r = Rrl::new(&RrlConfig {
        exempt: vec!["192.0.2.0/28".parse().unwrap()],
        ..config(1, 15, 0)
    })
    .unwrap();
    assert_eq!(sent(&burst(&r, "192.0.2.1", WWW, 50, t)), 50);
    assert_eq!(sent(&burst(&r, "192.0.2.100", WWW, 50, t)), 1);
}

#[test]
fn kinds_are_accounted_apart_as_bind_does() {
    let r = Rrl::new(&RrlConfig {
        responses_per_second: 2,
        nodata_per_second: 2,
        nxdomains_per_second: 1,
        errors_per_second: 1,
        ..config(0, 15, 0)
    })
    .unwrap();
    let t = Instant::now();
    let c = "198.51.100.1";
    // Different names or types: different answers, separate budgets.
    let other_name = Kind::Answer {
        qname: b"\x04mail\x07example\x00",
        qtype: 1,
    };
    let other_type = Kind::Answer {
        qname: b"\x03www\x07example\x00",
        qtype: 28,
    };
    assert_eq!(sent(&burst(&r, c, WWW, 5, t)), 2);
    assert_eq!(sent(&burst(&r, c, other_name, 5, t)), 2);
    assert_eq!(sent(&burst(&r, c, other_type, 5, t)), 2);
    // NXDOMAIN for random names of one zone: one budget per zone, so a
    // random-subdomain flood is limited.
    let zone = b"\x07example\x00";
    assert_eq!(sent(&burst(&r, c, Kind::NxDomain { zone }, 5, t)), 1);
    let other_zone = Kind::NxDomain {
        zone: b"\x04test\x00",
    };
    assert_eq!(sent(&burst(&r, c, other_zone, 5, t)), 1);
    assert_eq!(sent(&burst(&r, c, Kind::NoData { zone }, 5, t)), 2);
    // Every error is the same error.
    assert_eq!(sent(&burst(&r, c, Kind::Error, 5, t)), 1);
    let counts = r.counts();
    assert_eq!(counts.dropped, [9, 3, 8, 4]);
    assert_eq!(counts.slipped, [0; 4]);
}

#[test]
fn all_per_second_caps_a_prefix_across_kinds_and_never_slips() {
    let r = Rrl::new(&RrlConfig {
        all_per_second: 3,
        ..config(100, 15, 1)
    })
    .unwrap();
    let t = Instant::now();
    let names: Vec<Vec<u8>> = (0..10u8).map(|i| vec![1, b'a' + i, 0]).collect();
    let v: Vec<Verdict> = names
        .iter()
        .map(|n| r.check(ip("203.0.113.5"), Kind::Answer { qname: n, qtype: 1 }, t))
        .collect();
    assert_eq!(sent(&v), 3);
    assert!(v[3..].iter().all(|v| *v == Verdict::Drop), "{v:?}");
}

#[test]
fn kind_of_a_reply_comes_from_its_header() {
    let q = b"\x01a\x00";
    let z = b"\x00";
    let reply = |rcode: u8, an: u8| [0, 0, 0x81, 0x80 | rcode, 0, 1, 0, an, 0, 0, 0, 0];
    assert_eq!(
        Kind::of_reply(&reply(0, 2), q, 1, z),
        Kind::Answer { qname: q, qtype: 1 }
    );
    assert_eq!(
        Kind::of_reply(&reply(0, 0), q, 1, z),
        Kind::NoData { zone: z }
    );
    assert_eq!(
        Kind::of_reply(&reply(3, 1), q, 1, z),
        Kind::NxDomain { zone: z }
    );
    assert_eq!(Kind::of_reply(&reply(2, 0), q, 1, z), Kind::Error);
    assert_eq!(Kind::of_reply(&[], q, 1, z), Kind::Error);
}

#[test]
fn a_spoofed_source_flood_cannot_grow_memory_or_free_its_victim() {
    let r = Rrl::new(&RrlConfig {
        max_table_size: 4_096,
        ..config(5, 15, 0)
    })
    .unwrap();
    let capacity = r.capacity();
    assert!((4_096..4_096 + 8 * 64).contains(&capacity), "{capacity}");
    let t0 = Instant::now();
    let victim = "192.0.2.77";
    let mut victim_sent = 0;
    for i in 0..1_000_000u32 {
        // One million sources from distinct /24s, each asking once.
        let spoofed = IpAddr::from((i.wrapping_mul(2_654_435_761) | 0x0A00_0000).to_be_bytes());
        let at = t0 + Duration::from_secs(u64::from(i / 100_000));
        assert_eq!(r.check(spoofed, WWW, at), Verdict::Send);
        // The reflected victim asks every tenth time: 10,000/s, far over 5/s.
        if i % 10 == 0 && r.check(ip(victim), WWW, at) == Verdict::Send {
            victim_sent += 1;
        }
    }
    assert_eq!(r.capacity(), capacity, "the table never grows");
    // 10 s at 5/s plus the first burst: the victim stays limited.
    assert!(victim_sent <= 5 * 11, "victim got {victim_sent}");
}

#[test]
fn safe_from_several_threads() {
    let r = std::sync::Arc::new(Rrl::new(&config(1_000, 15, 2)).unwrap());
    let t = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let r = r.clone();
            std::thread::spawn(move || {
                (0..10_000)
                    .filter(|_| r.check(ip("192.0.2.1"), WWW, t) == Verdict::Send)
                    .count()
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(
        total, 1_000,
        "exactly one second's worth, whatever the interleaving"
    );
    let c = r.counts();
    assert_eq!(c.dropped[0] + c.slipped[0], 39_000);
}

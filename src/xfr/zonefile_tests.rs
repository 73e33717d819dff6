use super::*;
use crate::xfr::msg::read::Soa;

fn n(s: &str) -> Name {
    Name::from_text(s).unwrap()
}

fn rr(owner: &[u8], t: u16, ttl: u32, rdata: &[u8]) -> Rr {
    Rr {
        owner: Name::from_canonical_wire(owner),
        rtype: t,
        ttl,
        rdata: rdata.into(),
    }
}

#[test]
fn round_trip_of_every_kind_of_record() {
    let zone = n("privatelink.blob.core.windows.net");
    let soa = Soa {
        mname: n("localhost"),
        rname: n("nobody.invalid"),
        serial: 1_750_000_000,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: 300,
    }
    .to_rdata();
    let acct = n("acct.privatelink.blob.core.windows.net");
    // A label with a dot, a space and a semicolon in it.
    let odd: Vec<u8> = [&b"\x07a.b c;d"[..], zone.wire()].concat();
    let wild: Vec<u8> = [&b"\x01*"[..], zone.wire()].concat();
    let mx: Vec<u8> = [&[0u8, 10][..], acct.wire()].concat();
    let records = vec![
        rr(zone.wire(), rtype::NS, 300, n("localhost").wire()),
        rr(acct.wire(), rtype::A, 300, &[10, 0, 0, 1]),
        rr(
            acct.wire(),
            rtype::AAAA,
            60,
            &"fd00::1".parse::<std::net::Ipv6Addr>().unwrap().octets(),
        ),
        rr(
            n("x.privatelink.blob.core.windows.net").wire(),
            rtype::CNAME,
            300,
            n("acct.blob.core.windows.net").wire(),
        ),
        rr(&odd, rtype::A, 5, &[1, 2, 3, 4]),
        rr(&wild, rtype::A, 5, &[1, 2, 3, 5]),
        rr(acct.wire(), 15, 300, &mx),
        rr(acct.wire(), 16, 300, b"\x05hello"),
        rr(acct.wire(), 99, 300, b""),
        // A CNAME to the root (found by fuzzing: written as ".", not read
        // back, so a pulled copy holding one was lost at restart).
        rr(
            n("dot.privatelink.blob.core.windows.net").wire(),
            rtype::CNAME,
            60,
            &[0],
        ),
    ];
    let mut text = String::new();
    write_zone(
        &mut text,
        &zone,
        "a test zone\nsecond line",
        (zone.wire(), rtype::SOA, 300, &soa),
        records
            .iter()
            .map(|r| (r.owner.wire(), r.rtype, r.ttl, &r.rdata[..])),
    );
    assert!(text.starts_with("; a test zone\n; second line\n$ORIGIN privatelink.blob.core.windows.net.\n@\t300\tIN\tSOA\tlocalhost. nobody.invalid. 1750000000 3600 600 86400 300\n"), "{text}");
    assert!(text.contains("\nacct\t300\tIN\tA\t10.0.0.1\n"), "{text}");
    assert!(
        text.contains("\nx\t300\tIN\tCNAME\tacct.blob.core.windows.net.\n"),
        "{text}"
    );
    assert!(
        text.contains("\na\\046b\\032c\\059d\t5\tIN\tA\t1.2.3.4\n"),
        "{text}"
    );
    assert!(text.contains("\n*\t5\tIN\tA\t1.2.3.5\n"), "{text}");
    assert!(
        text.contains("\nacct\t300\tIN\tTXT\t\\# 6 0568656c6c6f\n"),
        "{text}"
    );
    let (soa_back, back) = read_zone(&text, &zone).unwrap();
    assert_eq!(soa_back.rdata.as_ref(), &soa[..]);
    assert_eq!(back, records);
}

#[test]
fn reader_errors_name_the_line() {
    let zone = n("z.test");
    let soa = "@ 1 IN SOA a. b. 1 2 3 4 5\n";
    assert!(read_zone("", &zone).unwrap_err().contains("no SOA"));
    let e = read_zone(&format!("{soa}x 5 IN A 1.2.3\n"), &zone).unwrap_err();
    assert!(e.starts_with("line 2: "), "{e}");
    let e = read_zone(&format!("{soa}other.example. 5 IN A 1.2.3.4\n"), &zone).unwrap_err();
    assert!(e.contains("outside zone"), "{e}");
    let e = read_zone(&format!("{soa}x 5 IN BOGUS 1\n"), &zone).unwrap_err();
    assert!(e.contains("unknown type"), "{e}");
    // $TTL, continuation lines, comments.
    let (_, recs) = read_zone(
        &format!("$TTL 7\n{soa}x IN A 1.2.3.4 ; here\n  IN AAAA ::1\n"),
        &zone,
    )
    .unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].owner, n("x.z.test"));
    assert_eq!(recs[1].ttl, 7);
}

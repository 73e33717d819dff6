use super::*;

/// A query for `name`/`qtype`, optionally with an OPT record.
fn query(name: &str, qtype: u16, edns: Option<(u16, u8, bool)>) -> Vec<u8> {
    let mut p = vec![
        0x12,
        0x34,
        0x01,
        0x00,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        u8::from(edns.is_some()),
    ];
    for label in name.split('.').filter(|l| !l.is_empty()) {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&CLASS_IN.to_be_bytes());
    if let Some((size, version, dnssec_ok)) = edns {
        p.push(0);
        p.extend_from_slice(&rtype::OPT.to_be_bytes());
        p.extend_from_slice(&size.to_be_bytes());
        p.extend_from_slice(&[0, version, if dnssec_ok { 0x80 } else { 0 }, 0, 0, 0]);
    }
    p
}

#[test]
fn parses_question_and_edns() {
    let p = query(
        "Acct.Blob.Core.Windows.Net",
        rtype::AAAA,
        Some((4096, 0, true)),
    );
    let q = parse_query(&p).unwrap();
    assert_eq!(q.id, 0x1234);
    assert!(q.rd);
    assert_eq!(q.qtype, rtype::AAAA);
    assert_eq!(
        q.qname.wire(),
        b"\x04acct\x04blob\x04core\x07windows\x03net\x00"
    );
    assert_eq!(
        q.edns,
        Some(Edns {
            payload: 4096,
            version: 0,
            dnssec_ok: true
        })
    );
    assert_eq!(udp_limit(q.edns, 1232), 1232);
    assert_eq!(udp_limit(None, 1232), 512);
    assert_eq!(
        udp_limit(
            Some(Edns {
                payload: 100,
                version: 0,
                dnssec_ok: false
            }),
            1232
        ),
        512
    );
}

#[test]
fn malformed_packets() {
    assert_eq!(parse_query(&[0; 11]).unwrap_err(), Malformed::Drop);
    let mut response = query("a.b", rtype::A, None);
    response[2] |= 0x80;
    assert_eq!(parse_query(&response).unwrap_err(), Malformed::Drop);
    let mut notify = query("a.b", rtype::A, None);
    notify[2] = 4 << 3;
    assert_eq!(parse_query(&notify).unwrap_err(), Malformed::NotImp);

    let good = query("a.b", rtype::A, None);
    // qdcount lies, in both directions.
    let mut two = good.clone();
    two[5] = 2;
    assert_eq!(parse_query(&two).unwrap_err(), Malformed::FormErr);
    let mut zero = good.clone();
    zero[5] = 0;
    assert_eq!(parse_query(&zero).unwrap_err(), Malformed::FormErr);
    // Truncated question, trailing garbage, arcount with no record.
    assert_eq!(
        parse_query(&good[..good.len() - 1]).unwrap_err(),
        Malformed::FormErr
    );
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(parse_query(&trailing).unwrap_err(), Malformed::FormErr);
    let mut ar = good.clone();
    ar[11] = 1;
    assert_eq!(parse_query(&ar).unwrap_err(), Malformed::FormErr);
    // A compression pointer (a loop onto itself) in the question.
    let mut looped = good[..12].to_vec();
    looped.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
    assert_eq!(parse_query(&looped).unwrap_err(), Malformed::FormErr);
    // Two OPT records.
    let mut two_opt = query("a.b", rtype::A, Some((1232, 0, false)));
    let opt = two_opt[two_opt.len() - 11..].to_vec();
    two_opt.extend_from_slice(&opt);
    two_opt[11] = 2;
    assert_eq!(parse_query(&two_opt).unwrap_err(), Malformed::FormErr);
    // An over-long name.
    let long = ["abcdefghijklmnopqrstuvwxyz012345678901234567890123456789"; 5].join(".");
    assert_eq!(
        parse_query(&query(&long, rtype::A, None)).unwrap_err(),
        Malformed::FormErr
    );
}

#[test]
fn writer_compresses_and_echoes_the_question_case() {
    let p = query("Alias.Zone.Test", rtype::A, None);
    let q = parse_query(&p).unwrap();
    let mut out = Vec::new();
    let mut w = ResponseWriter::new(&mut out, &q, Rcode::NoError, true);
    let target = b"\x04real\x04zone\x04test\x00";
    w.record(q.qname.wire(), rtype::CNAME, 60, Rdata::Name(target));
    w.record(target, rtype::A, 60, Rdata::Bytes(&[10, 0, 0, 1]));
    w.finish(None, 1232, 512, Rcode::NoError);
    assert_eq!(&out[..2], &[0x12, 0x34]);
    assert_eq!(out[2], 0x85, "QR, AA, RD");
    assert_eq!(out[3], 0x80, "RA, NOERROR");
    assert_eq!(&out[6..8], &[0, 2]);
    // The question as sent, mixed case and all.
    assert_eq!(&out[12..p.len()], &p[12..]);
    // Answer 1: owner is a pointer to the question name.
    assert_eq!(&out[p.len()..p.len() + 2], &[0xC0, 12]);
    // The CNAME target is written once; the A record's owner points at it,
    // and the target's `zone.test` tail points into the question.
    let target_at = p.len() + 12;
    assert_eq!(&out[target_at..target_at + 5], b"\x04real");
    assert_eq!(&out[target_at + 5..target_at + 7], &[0xC0, 12 + 6]);
    let a_at = target_at + 7;
    assert_eq!(
        &out[a_at..a_at + 2],
        &(0xC000u16 | target_at as u16).to_be_bytes()
    );
}

#[test]
fn truncation_keeps_the_question_and_sets_tc() {
    let p = query("big.zone.test", rtype::A, Some((512, 0, false)));
    let q = parse_query(&p).unwrap();
    let mut out = Vec::new();
    let mut w = ResponseWriter::new(&mut out, &q, Rcode::NoError, true);
    for i in 0..100u8 {
        w.record(q.qname.wire(), rtype::A, 60, Rdata::Bytes(&[10, 0, 0, i]));
    }
    w.finish(q.edns, 1232, 512, Rcode::NoError);
    assert_eq!(out[2] & 0x02, 0x02, "TC");
    assert_eq!(&out[6..10], &[0, 0, 0, 0]);
    assert_eq!(&out[10..12], &[0, 1], "the OPT record stays");
    assert_eq!(out.len(), p.len(), "header + question + OPT");
}

#[test]
fn badvers_goes_in_the_opt_record() {
    let p = query("a.b", rtype::A, Some((1232, 1, false)));
    let q = parse_query(&p).unwrap();
    let mut out = Vec::new();
    ResponseWriter::new(&mut out, &q, Rcode::BadVers, false).finish(
        q.edns,
        1232,
        1232,
        Rcode::BadVers,
    );
    assert_eq!(out[3] & 0x0F, 0);
    let opt = &out[out.len() - 11..];
    assert_eq!(opt[5], 1, "extended rcode 1 << 4 = 16");
}

/// A name `label.suffix` in canonical wire form.
fn wire_name(text: &str) -> Vec<u8> {
    crate::name::Name::from_text(text).unwrap().wire().to_vec()
}

/// Reads the (possibly compressed) name at `at`, following pointers the way
/// a client does.
fn read_name(msg: &[u8], mut at: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..128 {
        let len = msg[at] as usize;
        if len & 0xC0 == 0xC0 {
            at = (u16::from_be_bytes([msg[at], msg[at + 1]]) & 0x3FFF) as usize;
            continue;
        }
        out.extend_from_slice(&msg[at..at + 1 + len]);
        if len == 0 {
            return out;
        }
        at += 1 + len;
    }
    panic!("pointer loop");
}

#[test]
fn no_pointer_reaches_past_0x3fff() {
    // A name that starts just below 0x3FFF: its later labels lie past it,
    // so a later name sharing only those labels must not point there.
    for pad in (0x3FFF - 120)..(0x3FFF - 40) {
        let p = query("q.test", 65280, None);
        let q = parse_query(&p).unwrap();
        let mut out = Vec::new();
        let mut w = ResponseWriter::new(&mut out, &q, Rcode::NoError, false);
        let used = p.len() + 12; // header + question + the padding's fixed part
        w.record(
            q.qname.wire(),
            65280,
            60,
            Rdata::Bytes(&vec![7; pad - used]),
        );
        let long = wire_name(&format!("{}.other.example", "a".repeat(60)));
        let short = wire_name("b.other.example");
        let long_at = w.len();
        assert_eq!(long_at, pad);
        w.record(&long, rtype::A, 60, Rdata::Bytes(&[10, 0, 0, 1]));
        let short_at = w.len();
        w.record(&short, rtype::A, 60, Rdata::Bytes(&[10, 0, 0, 2]));
        w.finish(None, 1232, 65_535, Rcode::NoError);
        assert_eq!(read_name(&out, long_at), long, "pad {pad}");
        assert_eq!(read_name(&out, short_at), short, "pad {pad}");
    }
}

#[test]
fn a_name_written_as_labels_and_pointer_is_a_target_only_at_its_labels() {
    // `x.b.c.test` after `b.c.test` is written `x` + pointer; a later
    // `c.test` must not be pointed into the bytes after `x`.
    let p = query("q.example", rtype::A, None);
    let q = parse_query(&p).unwrap();
    let mut out = Vec::new();
    let mut w = ResponseWriter::new(&mut out, &q, Rcode::NoError, false);
    let names = ["b.c.test", "x.b.c.test", "c.test", "y.c.test"].map(wire_name);
    let mut at = Vec::new();
    for n in &names {
        at.push(w.len());
        w.record(n, rtype::A, 1, Rdata::Bytes(&[1, 2, 3, 4]));
    }
    w.finish(None, 1232, 65_535, Rcode::NoError);
    for (n, a) in names.iter().zip(at) {
        assert_eq!(&read_name(&out, a), n);
    }
}

#[test]
fn the_do_bit_is_copied_into_the_opt_record() {
    for dnssec_ok in [false, true] {
        let p = query("a.b", rtype::A, Some((1232, 0, dnssec_ok)));
        let q = parse_query(&p).unwrap();
        let mut out = Vec::new();
        ResponseWriter::new(&mut out, &q, Rcode::NoError, false).finish(
            q.edns,
            1232,
            1232,
            Rcode::NoError,
        );
        let opt = &out[out.len() - 11..];
        assert_eq!(&opt[1..3], &rtype::OPT.to_be_bytes());
        assert_eq!(opt[7] & 0x80 != 0, dnssec_ok, "RFC 3225 §3");
    }
}

#[test]
fn error_replies_carry_the_question_and_opt_when_they_parse() {
    // Trailing garbage after a good question and OPT: FORMERR with both.
    let mut p = query("Mixed.Case.test", rtype::A, Some((4096, 0, true)));
    p.push(0xAB);
    assert_eq!(parse_query(&p).unwrap_err(), Malformed::FormErr);
    let mut out = Vec::new();
    error_reply_sized(&mut out, &p, Rcode::FormErr, 1400);
    let m = hickory_proto::op::Message::from_vec(&out).unwrap();
    assert_eq!(m.metadata.id, 0x1234);
    assert_eq!(u16::from(m.metadata.response_code), 1);
    assert_eq!(m.queries.len(), 1);
    assert_eq!(m.queries[0].name().to_ascii(), "Mixed.Case.test.");
    let edns = m.edns.as_ref().expect("OPT");
    assert_eq!(edns.max_payload(), 1400);
    assert!(edns.flags().dnssec_ok);

    // An opcode we do not implement: NOTIMP, question and OPT echoed.
    let mut status = query("a.test", rtype::A, Some((1232, 0, false)));
    status[2] = 2 << 3;
    error_reply(&mut out, &status, Rcode::NotImp);
    assert_eq!(out[2] & 0x78, 2 << 3, "opcode echoed");
    assert_eq!(&out[4..6], &[0, 1]);
    assert_eq!(&out[10..12], &[0, 1]);
    assert_eq!(&out[12..status.len() - 11], &status[12..status.len() - 11]);

    // A question that does not parse: header (and OPT, unreachable here) only.
    let mut looped = query("a.b", rtype::A, None)[..12].to_vec();
    looped.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
    error_reply(&mut out, &looped, Rcode::FormErr);
    assert_eq!(out.len(), HEADER_LEN);
    assert_eq!(&out[4..12], &[0; 8]);

    // Two OPT records: the question, but no OPT (RFC 6891 §6.1.1).
    let mut two_opt = query("a.b", rtype::A, Some((1232, 0, false)));
    let opt = two_opt[two_opt.len() - 11..].to_vec();
    two_opt.extend_from_slice(&opt);
    two_opt[11] = 2;
    error_reply(&mut out, &two_opt, Rcode::FormErr);
    assert_eq!(&out[4..6], &[0, 1]);
    assert_eq!(&out[10..12], &[0, 0]);

    // Shorter than a header: still no panic.
    error_reply(&mut out, &[1, 2, 3], Rcode::FormErr);
    assert_eq!(out.len(), HEADER_LEN);
}

#[test]
fn slip_keeps_the_question_and_opt_and_sets_tc() {
    let p = query("Big.Zone.test", rtype::A, Some((1232, 0, true)));
    let q = parse_query(&p).unwrap();
    let mut out = Vec::new();
    let mut w = ResponseWriter::new(&mut out, &q, Rcode::NxDomain, true);
    for i in 0..5u8 {
        w.record(q.qname.wire(), rtype::A, 60, Rdata::Bytes(&[10, 0, 0, i]));
    }
    w.finish(q.edns, 1232, 1232, Rcode::NxDomain);
    slip(&mut out);
    assert_eq!(out.len(), p.len(), "header + question + OPT");
    assert_eq!(out[2] & 0x02, 0x02, "TC");
    assert_eq!(out[3] & 0x0F, 3, "the rcode stays");
    assert_eq!(&out[6..12], &[0, 0, 0, 0, 0, 1]);
    assert_eq!(&out[12..p.len() - 11], &p[12..p.len() - 11]);
    assert!(hickory_proto::op::Message::from_vec(&out).is_ok());
}

#[test]
fn walk_and_ttl_offsets_reject_what_does_not_add_up() {
    let p = query("a.test", rtype::A, None);
    let q = parse_query(&p).unwrap();
    let mut out = Vec::new();
    let mut w = ResponseWriter::new(&mut out, &q, Rcode::NoError, false);
    w.record(q.qname.wire(), rtype::A, 60, Rdata::Bytes(&[1, 2, 3, 4]));
    w.finish_body();
    assert_eq!(walk(&out), Some(out.len()));
    assert_eq!(ttl_offsets(&out).unwrap().len(), 1);
    let mut short = out.clone();
    short.pop();
    assert_eq!(walk(&short), None);
    let mut lying = out.clone();
    lying[7] = 0xFF; // 255 answers claimed
    assert_eq!(walk(&lying), None);
    assert_eq!(ttl_offsets(&lying), None);
}

mod props;

#[test]
fn read_name_follows_pointers_backwards_only() {
    // Header, then "Ab.Example." at 12, then "x" + pointer to "Example."
    // at 12 + 3 = 15.
    let mut m = vec![0u8; 12];
    m.extend_from_slice(b"\x02Ab\x07Example\x00");
    let second = m.len();
    m.extend_from_slice(b"\x01x\xC0\x0F");
    let name = message::read_name(&m, second).unwrap();
    assert_eq!(name.wire(), b"\x01x\x07example\x00");
    assert_eq!(
        message::read_name(&m, 12).unwrap().wire(),
        b"\x02ab\x07example\x00"
    );
    // A pointer to itself or forwards is refused, as is a cut-off name.
    let mut looped = vec![0u8; 12];
    looped.extend_from_slice(b"\xC0\x0C");
    assert!(message::read_name(&looped, 12).is_none());
    assert!(message::read_name(b"\x03ab", 0).is_none());
}

#[test]
fn authority_soa_owner_and_question_of_a_reply() {
    let q = query("Gone.Corp.Test", rtype::A, None);
    let parsed = parse_query(&q).unwrap();
    let mut out = Vec::new();
    let mut w = ResponseWriter::new(&mut out, &parsed, Rcode::NxDomain, true);
    w.section(AUTHORITY);
    let zone = crate::name::Name::from_text("corp.test").unwrap();
    w.record(zone.wire(), rtype::SOA, 60, Rdata::Bytes(&[0; 22]));
    w.finish_body();
    let (qname, qtype) = question(&out).unwrap();
    assert_eq!(qname.wire(), b"\x04gone\x04corp\x04test\x00");
    assert_eq!(qtype, rtype::A);
    assert_eq!(authority_soa_owner(&out).unwrap().wire(), zone.wire());
    // No SOA, no owner; a reply without a question has none either.
    assert!(authority_soa_owner(&out[..q.len()]).is_none());
    assert!(question(&out[..12]).is_none());
}

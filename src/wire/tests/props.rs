//! Property tests: every message the writer builds parses with hickory-proto
//! and gives back every owner and RDATA name as written, wherever in a
//! message of up to 64 KiB the names land, in every section, sealed for any
//! client limit, and across a suspension (the answer waiting for upstream).

use hickory_proto::op::Message;
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};
use proptest::prelude::*;

use super::super::*;
use crate::forward::wire_of;

/// A private-use type: opaque RDATA, used to pad the message.
const PAD: u16 = 65280;

#[derive(Debug, Clone)]
enum Item {
    /// A record through `record`: a name in the RDATA (CNAME) or not (A).
    Cname(Vec<u8>, Vec<u8>),
    A(Vec<u8>),
    /// A relayed record: RDATA already encoded, never a compression target.
    Relayed(Vec<u8>, Vec<u8>),
    Pad(Vec<u8>, usize),
}

/// What a record should read back as: owner, type, RDATA uncompressed.
type Expected = (Vec<u8>, u16, Vec<u8>);

fn text_to_wire(labels: &[String]) -> Vec<u8> {
    let mut w = Vec::new();
    for l in labels {
        w.push(l.len() as u8);
        w.extend_from_slice(l.as_bytes());
    }
    w.push(0);
    w
}

/// Names that share suffixes often: a few labels in front of one of a few
/// tails, now and then a long label.
fn name() -> impl Strategy<Value = Vec<u8>> {
    let tails = prop::sample::select(vec![
        vec!["privatelink", "blob", "core", "windows", "net"],
        vec!["blob", "core", "windows", "net"],
        vec!["zone", "test"],
        vec!["test"],
        vec!["other", "example"],
    ]);
    let label = prop_oneof![
        4 => "[a-c]{1,3}",
        1 => "[a-z0-9]{40,63}",
    ];
    (prop::collection::vec(label, 0..4), tails).prop_map(|(head, tail)| {
        let mut labels: Vec<String> = head;
        labels.extend(tail.iter().map(|s| s.to_string()));
        text_to_wire(&labels)
    })
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        3 => (name(), name()).prop_map(|(o, t)| Item::Cname(o, t)),
        2 => name().prop_map(Item::A),
        2 => (name(), name()).prop_map(|(o, t)| Item::Relayed(o, t)),
        1 => (name(), 1usize..20_000).prop_map(|(o, n)| Item::Pad(o, n)),
    ]
}

fn query_packet(qname: &[u8], edns: bool) -> Vec<u8> {
    let mut p = vec![0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)];
    // Upper case in the question: it is echoed as sent, compared caselessly.
    p.extend(qname.iter().map(|b| b.to_ascii_uppercase()));
    p.extend_from_slice(&rtype::A.to_be_bytes());
    p.extend_from_slice(&CLASS_IN.to_be_bytes());
    if edns {
        p.extend_from_slice(&[0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0, 0, 0]);
    }
    p
}

/// Where a record goes: its section, and whether the writer is suspended
/// just before it (as a query waits for a forwarder with the table's part
/// of the answer written; the buffer moves, the writer state with it).
#[derive(Debug, Clone)]
struct Placed {
    section: usize,
    suspend: bool,
    item: Item,
}

fn placed() -> impl Strategy<Value = Placed> {
    (0usize..3, prop::bool::weighted(0.2), item()).prop_map(|(section, suspend, item)| Placed {
        section,
        suspend,
        item,
    })
}

/// Writes `lead` bytes of padding, then `items`, as a TCP answer would be;
/// returns the message and what each record must read back as.
fn build(qname: &[u8], lead: usize, items: &[Item], edns: bool) -> (Vec<u8>, Vec<Expected>) {
    let placed: Vec<Placed> = items
        .iter()
        .map(|item| Placed {
            section: ANSWER,
            suspend: false,
            item: item.clone(),
        })
        .collect();
    build_placed(qname, lead, &placed, edns, u16::MAX as usize)
}

/// The same with records in any section (in section order), suspensions,
/// and the message sealed for `limit`.
fn build_placed(
    qname: &[u8],
    lead: usize,
    items: &[Placed],
    edns: bool,
    limit: usize,
) -> (Vec<u8>, Vec<Expected>) {
    let p = query_packet(qname, edns);
    let q = parse_query(&p).unwrap();
    let mut out = Vec::new();
    let mut want = Vec::new();
    let mut w = ResponseWriter::new(&mut out, &q, Rcode::NoError, false);
    if lead > 0 {
        let pad = vec![0x5A; lead];
        w.record(q.qname.wire(), PAD, 1, Rdata::Bytes(&pad));
        want.push((q.qname.wire().to_vec(), PAD, pad));
    }
    for (i, placed) in items.iter().enumerate() {
        if placed.suspend && i > 0 {
            let suspended = w.suspend();
            // The draft travels in the `Pending`: another allocation.
            out = out.clone();
            w = ResponseWriter::resume(&mut out, suspended);
        }
        let section = placed.section;
        w.section(section);
        match &placed.item {
            Item::Cname(o, t) => {
                w.record(o, rtype::CNAME, 300, Rdata::Name(t));
                want.push((o.clone(), rtype::CNAME, t.clone()));
            }
            Item::A(o) => {
                w.record(o, rtype::A, 300, Rdata::Bytes(&[10, 1, 2, 3]));
                want.push((o.clone(), rtype::A, vec![10, 1, 2, 3]));
            }
            Item::Relayed(o, t) => {
                w.relayed(section, o, rtype::CNAME, CLASS_IN, 300, t);
                want.push((o.clone(), rtype::CNAME, t.clone()));
            }
            Item::Pad(o, n) => {
                let pad = vec![0xA5; *n];
                w.record(o, PAD, 1, Rdata::Bytes(&pad));
                want.push((o.clone(), PAD, pad));
            }
        }
    }
    w.finish(q.edns, 1232, limit, Rcode::NoError);
    (out, want)
}

/// Parses `msg` and compares every record of every section, in order, with
/// `want`; a message that did not fit its limit must come back truncated to
/// its question.
fn check(qname: &[u8], msg: &[u8], want: &[Expected], edns: bool) -> Result<(), String> {
    let m = Message::from_vec(msg).map_err(|e| format!("hickory: {e}"))?;
    if m.queries.len() != 1 || wire_of(m.queries[0].name()) != qname {
        return Err("question".into());
    }
    if edns && m.edns.as_ref().is_none_or(|e| !e.flags().dnssec_ok) {
        return Err("OPT with DO".into());
    }
    let got: Vec<_> = m
        .answers
        .iter()
        .chain(&m.authorities)
        .chain(&m.additionals)
        .collect();
    if m.metadata.truncation {
        return if msg.len() <= u16::MAX as usize && got.is_empty() {
            Ok(())
        } else {
            Err("truncated with records".into())
        };
    }
    if got.len() != want.len() {
        return Err(format!("{} records, want {}", got.len(), want.len()));
    }
    for (i, (r, (owner, rt, rdata))) in got.into_iter().zip(want).enumerate() {
        if wire_of(&r.name) != *owner {
            return Err(format!("record {i}: owner {}", r.name));
        }
        if u16::from(r.record_type()) != *rt {
            return Err(format!("record {i}: type"));
        }
        let mut got = Vec::new();
        let mut enc = BinEncoder::new(&mut got);
        enc.set_name_encoding(NameEncoding::Uncompressed);
        r.data.emit(&mut enc).map_err(|e| e.to_string())?;
        // Names compressed against the question carry the client's case.
        if !got.eq_ignore_ascii_case(rdata) {
            return Err(format!("record {i}: rdata of {}", r.name));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_section_every_limit_and_suspension_parses_and_round_trips(
        qname in name(),
        lead in 0usize..20_000,
        items in prop::collection::vec(placed(), 1..16),
        edns in any::<bool>(),
        limit in prop_oneof![Just(u16::MAX as usize), 512usize..4_096],
    ) {
        let mut items = items;
        items.sort_by_key(|p| p.section);
        let (msg, want) = build_placed(&qname, lead, &items, edns, limit);
        prop_assert!(msg.len() <= limit, "{} bytes over the limit {limit}", msg.len());
        if let Err(e) = check(&qname, &msg, &want, edns) {
            prop_assert!(false, "{e} (lead {lead}, limit {limit}, {} bytes)", msg.len());
        }
    }

    #[test]
    fn every_message_parses_and_round_trips_its_names(
        qname in name(),
        lead in 0usize..65_000,
        items in prop::collection::vec(item(), 1..24),
        edns in any::<bool>(),
    ) {
        let (msg, want) = build(&qname, lead, &items, edns);
        prop_assert!(msg.len() <= u16::MAX as usize);
        if let Err(e) = check(&qname, &msg, &want, edns) {
            prop_assert!(false, "{e} (lead {lead}, {} bytes)", msg.len());
        }
    }
}

/// Every offset around the 14-bit pointer limit and toward 64 KiB: a chain
/// whose names straddle 0x3FFF, then the same near the end of the message.
#[test]
fn chains_at_every_offset_around_the_pointer_limit() {
    let qname = text_to_wire(&["acct", "blob", "core", "windows", "net"].map(String::from));
    let chain = |tag: &str| {
        let n = |labels: &[&str]| {
            text_to_wire(&labels.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        let long = "l".repeat(63);
        vec![
            Item::Cname(
                qname.clone(),
                n(&["acct", "privatelink", "blob", "core", "windows", "net"]),
            ),
            Item::Cname(
                n(&["acct", "privatelink", "blob", "core", "windows", "net"]),
                n(&[&long, tag, "store", "core", "windows", "net"]),
            ),
            Item::A(n(&[&long, tag, "store", "core", "windows", "net"])),
            Item::Relayed(
                n(&["x", tag, "store", "core", "windows", "net"]),
                n(&["y", "store", "core", "windows", "net"]),
            ),
            Item::Cname(
                n(&["z", "store", "core", "windows", "net"]),
                n(&["w", tag, "store", "core", "windows", "net"]),
            ),
            Item::A(n(&["w", tag, "store", "core", "windows", "net"])),
        ]
    };
    let ranges = [(0x3FFF - 400)..(0x3FFF + 40), (65_535 - 700)..65_400];
    for lead in ranges.into_iter().flatten() {
        for edns in [false, true] {
            let items = chain("bl5");
            let (msg, want) = build(&qname, lead, &items, edns);
            if let Err(e) = check(&qname, &msg, &want, edns) {
                panic!("lead {lead} edns {edns}: {e}");
            }
        }
    }
}

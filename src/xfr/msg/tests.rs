use hickory_proto::op::Message;
use hickory_proto::rr::RData;

use super::build::{AA, QR};
use super::read::{Header, rdata_name, read_name};
use super::*;
use crate::name::Name;
use crate::wire::rtype;

fn n(s: &str) -> Name {
    Name::from_text(s).unwrap()
}

#[test]
fn written_messages_compress_and_read_back_here_and_in_hickory() {
    let zone = n("privatelink.blob.core.windows.net");
    let mut w = MessageWriter::new(0x1234, QR | AA, Some((zone.wire(), kind::AXFR)), 16_384);
    let acct = n("acct.privatelink.blob.core.windows.net");
    assert!(w.push(acct.wire(), rtype::A, 300, Data::Bytes(&[10, 0, 0, 1])));
    assert!(w.push(acct.wire(), rtype::A, 300, Data::Bytes(&[10, 0, 0, 2])));
    let alias = n("x.privatelink.blob.core.windows.net");
    assert!(w.push(alias.wire(), rtype::CNAME, 60, Data::Name(acct.wire())));
    let outside = n("elsewhere.example");
    w.section(2);
    assert!(w.push(outside.wire(), rtype::A, 5, Data::Bytes(&[1, 2, 3, 4])));
    let msg = w.finish();
    // Question 39+4, "acct" + pointer, pointer, "x" + pointer, pointer:
    // far below the 4 x 39 bytes of names written out.
    assert!(msg.len() < 150, "{}", msg.len());

    let p = Parsed::new(&msg).unwrap();
    assert_eq!(p.header.id, 0x1234);
    assert!(p.header.is_response() && p.header.authoritative());
    assert_eq!(p.question.as_ref().unwrap().name.wire(), zone.wire());
    let recs: Vec<_> = p.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(recs.len(), 4);
    assert_eq!(recs[1].owner.wire(), acct.wire());
    assert_eq!(recs[2].owner.wire(), alias.wire());
    assert_eq!(rdata_name(&msg, &recs[2]).unwrap().wire(), acct.wire());
    assert_eq!(recs[3].section, 2);
    assert_eq!(recs[3].owner.wire(), outside.wire());

    let h = Message::from_vec(&msg).unwrap();
    assert_eq!(h.answers.len(), 3);
    assert_eq!(h.additionals.len(), 1);
    assert!(matches!(h.answers[2].data, RData::CNAME(_)));
    assert_eq!(
        h.answers[1].name.to_ascii(),
        "acct.privatelink.blob.core.windows.net."
    );
}

#[test]
fn the_size_limit_starts_a_new_message() {
    let zone = n("zone.test");
    let mut w = MessageWriter::new(1, QR, Some((zone.wire(), kind::AXFR)), 200);
    let mut written = 0;
    for i in 0..100 {
        let owner = n(&format!("host{i}.zone.test"));
        if !w.push(owner.wire(), rtype::A, 1, Data::Bytes(&[1, 1, 1, 1])) {
            break;
        }
        written += 1;
    }
    let msg = w.finish();
    assert!(msg.len() <= 200);
    assert!(written > 3 && written < 100);
    assert_eq!(Header::parse(&msg).unwrap().counts[1], written);
}

#[test]
fn hostile_names_are_refused() {
    // A pointer to itself, a pointer forward, a label past the end.
    let mut msg = vec![0u8; 12];
    msg.extend_from_slice(&[0xC0, 12]);
    assert!(read_name(&msg, 12).is_err());
    let mut msg = vec![0u8; 12];
    msg.extend_from_slice(&[0xC0, 14, 0]);
    assert!(read_name(&msg, 12).is_err());
    let mut msg = vec![0u8; 12];
    msg.extend_from_slice(&[5, b'a']);
    assert!(read_name(&msg, 12).is_err());
    // A backward pointer is fine and lowercases.
    let mut msg = vec![0u8; 12];
    msg.extend_from_slice(&[1, b'A', 0, 1, b'B', 0xC0, 12]);
    let (name, end) = read_name(&msg, 15).unwrap();
    assert_eq!(name.wire(), b"\x01b\x01a\x00");
    assert_eq!(end, msg.len());
    // Counts that promise more records than there are.
    let mut msg = vec![0u8; 12];
    msg[7] = 1;
    let p = Parsed::new(&msg).unwrap();
    assert!(p.records().next().unwrap().is_err());
}

#[test]
fn soa_rdata_round_trips() {
    let soa = Soa {
        mname: n("ns.zone.test"),
        rname: n("hostmaster.zone.test"),
        serial: 2024010101,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: 300,
    };
    let rdata = soa.to_rdata();
    assert_eq!(Soa::from_rdata(&rdata).unwrap(), soa);
    assert_eq!(read::soa_serial(&rdata), Some(2024010101));
}

//! Zone transfer, both ends, as they read network input. Secondary: the
//! messages of an AXFR/IXFR answer through the transfer reader; a whole
//! zone must survive the state directory (zone file written, read back:
//! the same copy), an incremental one must apply to a copy or fail cleanly.
//! Primary: a request (signed or not) to the fixture, every message of the
//! answer parses with hickory-proto and answers the request's ID.
//!
//! Input: a flags byte (bit 0: IXFR, bit 1: primary side, bit 2: TCP),
//! 8 bytes (the clock, seconds since the epoch; its low 32 bits are the
//! serial an IXFR asks from), then messages as length-prefixed parts.

use std::net::IpAddr;

use hickory_proto::op::Message;
use pldns::name::Name;
use pldns::xfr::journal::Journals;
use pldns::xfr::msg::kind::{AXFR, IXFR};
use pldns::xfr::primary::respond;
use pldns::xfr::secondary::ZoneCopy;
use pldns::xfr::secondary::reader::{Answer, Reader};

use super::fixture;
use super::input::Input;

pub const ZONE: &str = "privatelink.blob.core.windows.net";
pub const ID: u16 = 0x7E57;
pub const IS_IXFR: u8 = 1;
pub const PRIMARY: u8 = 2;
pub const OVER_TCP: u8 = 4;

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let clock = u64::from_be_bytes([0; 8].map(|_| input.byte()));
    let messages = input.chunks();
    if flags & PRIMARY != 0 {
        for request in messages {
            primary(request, flags & OVER_TCP != 0, clock);
        }
    } else {
        secondary(flags & IS_IXFR != 0, clock as u32, &messages);
    }
}

fn secondary(ixfr: bool, from: u32, messages: &[&[u8]]) {
    let zone = Name::from_text(ZONE).expect("zone name");
    let (qtype, from) = if ixfr {
        (IXFR, Some(from))
    } else {
        (AXFR, None)
    };
    let mut reader = Reader::new(zone.clone(), qtype, ID, from);
    let mut done = false;
    for m in messages {
        // Our ID: the fuzzer need not guess it.
        let mut m = m.to_vec();
        if let Some(id) = m.get_mut(..2) {
            id.copy_from_slice(&ID.to_be_bytes());
        }
        match reader.feed(&m) {
            Ok(true) => {
                done = true;
                break;
            }
            Ok(false) => {}
            Err(_) => return,
        }
    }
    if !done {
        return;
    }
    let Ok(answer) = reader.finish() else { return };
    match answer {
        Answer::SoaOnly(soa) => assert_eq!(soa.owner, zone),
        Answer::Full { soa, records } => {
            assert!(
                records.iter().all(|r| r.owner.is_in(&zone)),
                "a record outside the zone"
            );
            kept_and_read_back(&ZoneCopy::full(zone, soa, records));
        }
        Answer::Incremental { soa, deltas } => {
            // A copy at the serial the first change set starts from.
            let Some(first) = deltas.first() else { return };
            let base = ZoneCopy::full(zone, first.old_soa.clone(), Vec::new());
            if let Ok(next) = base.apply(&soa, &deltas) {
                kept_and_read_back(&next);
            }
        }
    }
}

/// The copy as the state directory keeps it must read back as itself.
fn kept_and_read_back(copy: &ZoneCopy) {
    let text = copy.to_text("fuzz");
    match ZoneCopy::from_text(&copy.zone, &text) {
        Ok(back) => assert_eq!(&back, copy, "the kept copy reads back otherwise:\n{text}"),
        Err(e) => panic!("the kept copy does not read back: {e}\n{text}"),
    }
    copy.project();
}

fn primary(request: &[u8], tcp: bool, now: u64) {
    let fx = fixture::get();
    let journals = Journals::default();
    let client = IpAddr::from([127, 0, 0, 1]);
    let (transfer, _) = respond(&fx.snap, &journals, request, client, tcp, now);
    let messages: Vec<Vec<u8>> = transfer.collect();
    for m in &messages {
        let parsed = Message::from_vec(m);
        assert!(parsed.is_ok(), "an unparseable transfer message: {m:02x?}");
        assert_eq!(m.get(..2), request.get(..2), "the answer's ID");
        assert!(m.len() <= usize::from(u16::MAX), "a message over 64 KiB");
    }
}

//! The upstream-answer path: a fixed set of client questions that the
//! fixture forwards (to `[upstream]`, to a forward zone, for a miss in a
//! zone with records, for a chain that left the table), each answered by the
//! fuzzed upstream bytes: splice, the table where the chain enters it, cache
//! store, then the same question again from the cache. The checks are the
//! query target's (`query::exchange`); here the input is all answer.
//!
//! Input: a byte (low 4 bits: which question; bit 4: over TCP), then the
//! upstream's answers as length-prefixed parts, each a header followed by
//! the sections after the question (our question is put in between).

use super::input::Input;
use super::query::{self, AGAIN, PATCH, TCP};

/// A client question: name, type, EDNS (payload, DO), CD.
pub type Question = (&'static str, u16, Option<(u16, bool)>, bool);

/// Every one of them is forwarded.
pub const QUESTIONS: [Question; 16] = [
    ("www.example.com", 1, Some((1232, true)), false),
    ("cdn.example.com", 1, Some((4096, false)), false),
    (
        "NewAcct.blob.core.windows.net",
        1,
        Some((1232, false)),
        false,
    ),
    (
        "missing.privatelink.blob.core.windows.net",
        28,
        Some((1232, false)),
        false,
    ),
    ("out.privatelink.blob.core.windows.net", 1, None, false),
    ("db.corp.example", 1, Some((1232, true)), false),
    (
        "tocorp.privatelink.blob.core.windows.net",
        28,
        Some((1232, false)),
        false,
    ),
    ("x.privatelink.eus.backup.windowsazure.com", 1, None, false),
    ("www.example.com", 28, None, false),
    ("example.com", 15, Some((4096, true)), false),
    ("www.example.com", 5, Some((1232, false)), false),
    ("www.example.com", 255, Some((1232, false)), false),
    ("example.com", 6, Some((1232, true)), true),
    ("big.example.com", 16, Some((1232, false)), false),
    (
        "vault-pod01-rec9.eus.backup.windowsazure.com",
        28,
        Some((512, false)),
        false,
    ),
    ("example.com", 2, None, false),
];

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let pick = input.byte();
    let (name, qtype, edns, cd) = QUESTIONS[usize::from(pick & 0x0F)];
    let query = packet(name, qtype, edns, cd);
    let tcp = if pick & 0x10 != 0 { TCP } else { 0 };
    query::exchange(&query, tcp | PATCH | AGAIN, input.chunks());
}

/// A client query as dig sends it (RD set; an OPT record when `edns`).
pub fn packet(name: &str, qtype: u16, edns: Option<(u16, bool)>, cd: bool) -> Vec<u8> {
    let flags = if cd { 0x10 } else { 0 };
    let arcount = u8::from(edns.is_some());
    let mut p = vec![0x4D, 0x2E, 0x01, flags, 0, 1, 0, 0, 0, 0, 0, arcount];
    for label in name.split('.').filter(|l| !l.is_empty()) {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    if let Some((payload, dnssec_ok)) = edns {
        p.extend_from_slice(&[0, 0, 41]);
        p.extend_from_slice(&payload.to_be_bytes());
        p.extend_from_slice(&[0, 0, if dnssec_ok { 0x80 } else { 0 }, 0, 0, 0]);
    }
    p
}

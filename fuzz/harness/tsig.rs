//! TSIG (RFC 8945) as both ends verify it. Raw: any request through the
//! primary's check, and any answer through a secondary's sequence check,
//! never panic; an error answer built for a failed request parses.
//! Signed: a message signed with the fixture's key verifies; changed in
//! one byte of what the MAC covers (not the ID, which travels in the TSIG
//! record) or of the MAC, it does not. The same for a signed answer
//! sequence, message by message.
//!
//! Input: a flags byte (bits 0-1: mode), 8 bytes of clock (seconds since
//! the epoch), 2 bytes of position and 1 byte of XOR mask for the change,
//! then messages as length-prefixed parts.

use std::sync::Arc;

use hickory_proto::op::Message;
use pldns::wire::walk;
use pldns::xfr::tsig::rr::find;
use pldns::xfr::tsig::sign::{ServerSequence, sign_request, verify_request};
use pldns::xfr::tsig::{Key, Keyring, RequestAuth};

use super::fixture;
use super::input::Input;

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.byte() & 3;
    let now = u64::from_be_bytes([0; 8].map(|_| input.byte())) & 0xFFFF_FFFF_FFFF;
    let at = usize::from(u16::from_be_bytes([input.byte(), input.byte()]));
    let mask = input.byte();
    let messages = input.chunks();
    let keys = &fixture::get().snap.config.tsig;
    let Some(key) = keys.0.first() else {
        panic!("the fixture has a TSIG key")
    };
    match mode {
        0 => messages.iter().for_each(|m| raw_request(m, keys, now)),
        1 => raw_answers(&messages, key, now),
        _ => signed(&messages, key, keys, now, at, mask),
    }
}

fn raw_request(msg: &[u8], keys: &Keyring, now: u64) {
    if let Ok(RequestAuth::Failed(f)) = verify_request(msg, keys, now) {
        // The error answer to it: our header and no question.
        let mut answer = msg.get(..12).unwrap_or(&[0; 12]).to_vec();
        answer[2] |= 0x80;
        answer[4..12].fill(0);
        f.answer(&mut answer, now);
        assert!(
            Message::from_vec(&answer).is_ok(),
            "a TSIG error answer that does not parse"
        );
    }
}

fn raw_answers(messages: &[&[u8]], key: &Arc<Key>, now: u64) {
    let mut request =
        b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\xfc\x00\x01".to_vec();
    let mut seq = sign_request(&mut request, key, now);
    for m in messages {
        if seq.verify(m, now).is_err() {
            return;
        }
    }
    let _ = seq.finish();
}

/// Where the MAC of the TSIG record we appended at `start` begins.
fn mac_at(start: usize, key: &Key) -> usize {
    start + key.name.wire().len() + 10 + key.algorithm.wire().len() + 10
}

/// A message fit to be signed: whole, and not signed already.
fn signable(m: &[u8], keys: &Keyring, now: u64) -> bool {
    walk(m) == Some(m.len()) && matches!(verify_request(m, keys, now), Ok(RequestAuth::Unsigned))
}

/// Flips `mask` into the byte at `at` (modulo the covered bytes), when that
/// byte is one the MAC covers: past the ID, before the TSIG record, or in
/// the MAC. `None`: nothing changed.
fn changed(m: &[u8], start: usize, key: &Key, at: usize, mask: u8) -> Option<Vec<u8>> {
    if mask == 0 || m.len() <= 2 {
        return None;
    }
    let at = 2 + at % (m.len() - 2);
    let mac = mac_at(start, key)..mac_at(start, key) + key.algorithm.mac_len();
    if at >= start && !mac.contains(&at) {
        return None;
    }
    let mut c = m.to_vec();
    c[at] ^= mask;
    Some(c)
}

fn signed(messages: &[&[u8]], key: &Arc<Key>, keys: &Keyring, now: u64, at: usize, mask: u8) {
    let Some((first, rest)) = messages.split_first() else {
        return;
    };
    if !signable(first, keys, now) {
        return;
    }
    let mut request = first.to_vec();
    let start = request.len();
    let mut client = sign_request(&mut request, key, now);
    if find(&request).is_err() {
        // A compression pointer into the header: ARCOUNT, which signing
        // changes, became part of a name. Not a message anyone sends.
        return;
    }
    let signed = match verify_request(&request, keys, now) {
        Ok(RequestAuth::Signed(s)) => s,
        other => panic!("our own signature does not verify: {other:?}"),
    };
    assert_eq!(find(&request).ok().flatten().map(|t| t.start), Some(start));
    if let Some(bad) = changed(&request, start, key, at, mask) {
        let auth = verify_request(&bad, keys, now);
        assert!(
            !matches!(auth, Ok(RequestAuth::Signed(_))),
            "a changed request verifies"
        );
    }

    // The answer: each message signed in turn, checked in turn; the last
    // one changed, when the change lands in it.
    let mut server = ServerSequence::new(&signed);
    for (i, m) in rest.iter().enumerate() {
        if !signable(m, keys, now) {
            return;
        }
        let mut msg = m.to_vec();
        let start = msg.len();
        server.sign(&mut msg, now);
        if find(&msg).is_err() {
            return;
        }
        if i + 1 == rest.len()
            && let Some(bad) = changed(&msg, start, key, at, mask)
        {
            // A change that hides the TSIG record makes the message
            // unsigned: accepted alone, but not as the last one.
            let caught = client.verify(&bad, now).is_err() || client.finish().is_err();
            assert!(caught, "a changed answer verifies");
            return;
        }
        if let Err(e) = client.verify(&msg, now) {
            panic!("our own answer signature does not verify: {e}");
        }
    }
    assert!(client.finish().is_ok() || rest.is_empty());
}

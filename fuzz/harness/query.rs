//! The query handler with a table and a scripted upstream: one client query
//! through `resolve` against the fixture's snapshot and, when it is
//! forwarded, through `Pending::feed` with the upstream answers the input
//! carries (no sockets). The reply must keep every invariant of `check`;
//! asked again (0x20 case flipped, another ID), a cache hit must be the
//! same answer; and rate-limited (RRL), its slip form must still be a
//! well-formed answer to the query.
//!
//! Input: a flags byte, the query, then the upstream's answers, each a
//! length-prefixed part (`input`).

use std::net::IpAddr;
use std::time::Instant;

use pldns::cache::Cache;
use pldns::resolve::{Outcome, Source, Transport, resolve};
use pldns::rrl::{Kind, Rrl, Verdict};
use pldns::stats::Stats;
use pldns::wire::{self, Malformed, parse_query};

use super::input::Input;
use super::upstream::Upstream;
use super::{check, fixture};

/// Over TCP (else UDP).
pub const TCP: u8 = 1;
/// From a client outside `allow`.
pub const OUTSIDER: u8 = 2;
/// Our question patched into each upstream answer (see `Upstream`).
pub const PATCH: u8 = 4;
/// Ask again, to be answered from the cache.
pub const AGAIN: u8 = 8;
/// Rate-limit the reply until it slips.
pub const LIMIT: u8 = 16;

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let Some(query) = input.chunk() else { return };
    exchange(query, flags, input.chunks());
}

/// One client query, its reply checked; then what `flags` asks for.
pub fn exchange(query: &[u8], flags: u8, answers: Vec<&[u8]>) {
    let snap = &fixture::get().snap;
    let transport = if flags & TCP != 0 {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let client = IpAddr::from(if flags & OUTSIDER != 0 {
        [192, 0, 2, 7]
    } else {
        [127, 0, 0, 1]
    });
    let cache = Cache::new(&snap.config.cache);
    let stats = Stats::default();
    let mut upstream = Upstream::new(answers, flags & PATCH != 0);
    let mut out = Vec::new();
    let mut reply = match resolve(
        snap,
        cache.as_ref(),
        &stats,
        query,
        client,
        transport,
        &mut out,
    ) {
        Outcome::Drop => {
            let dropped = matches!(parse_query(query), Err(Malformed::Drop));
            assert!(dropped, "a query was dropped: {query:02x?}");
            return;
        }
        Outcome::Handover => {
            // Zone transfer's own answers are the `xfr` and `tsig` targets'.
            // Here: only what is theirs is handed over.
            let theirs = match parse_query(query) {
                Ok(q) => q.signed || q.qtype == 251 || q.qtype == 252,
                Err(_) => wire::opcode(query) == Some(wire::OPCODE_NOTIFY),
            };
            assert!(theirs, "handed over: {query:02x?}");
            return;
        }
        Outcome::Reply(_) => out,
        Outcome::Forward(pending) => upstream.drive(pending, cache.as_ref(), &stats).reply,
    };
    let first = check::reply(snap, query, transport, &reply, &upstream.asked);

    if flags & AGAIN != 0
        && let Some(again) = flipped(query)
    {
        let mut out = Vec::new();
        let outcome = resolve(
            snap,
            cache.as_ref(),
            &stats,
            &again,
            client,
            transport,
            &mut out,
        );
        if let Outcome::Reply(Source::Cached) = outcome {
            let second = check::reply(snap, &again, transport, &out, &upstream.asked);
            check::same_answer(&first, &second);
        }
    }

    if flags & LIMIT != 0
        && transport == Transport::Udp
        && let Ok(q) = parse_query(query)
        && let Some(rrl) = Rrl::new(&snap.config.rrl)
    {
        let zone = snap
            .zone_of(q.qname.wire())
            .map_or(&[0u8][..], |z| snap.zones[z].name.wire());
        let now = Instant::now();
        let kind = || Kind::of_reply(&reply, q.qname.wire(), q.qtype, zone);
        let slipped = (0..64).any(|_| rrl.check(client, kind(), now) == Verdict::Slip);
        if slipped {
            wire::slip(&mut reply);
            let m = check::reply(snap, query, transport, &reply, &upstream.asked);
            assert!(m.metadata.truncation, "a slip without TC");
            assert!(
                m.answers.is_empty() && m.authorities.is_empty(),
                "a slip with records"
            );
        }
    }
}

/// `query` with another ID and the case of its name's letters flipped; the
/// same question to the cache. `None` when it does not parse.
fn flipped(query: &[u8]) -> Option<Vec<u8>> {
    let q = parse_query(query).ok()?;
    let mut again = query.to_vec();
    again[0] ^= 0x5A;
    // Label lengths are below 64, so no letter is a length byte.
    let name_end = q.question_end.checked_sub(4)?;
    for b in again.get_mut(12..name_end)? {
        if b.is_ascii_alphabetic() {
            *b ^= 0x20;
        }
    }
    Some(again)
}

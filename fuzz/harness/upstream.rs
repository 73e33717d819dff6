//! A scripted upstream: the answers a fuzz input carries, handed to a
//! forwarded query's sans-IO step (`Pending::feed`) the way
//! `Forwarder::query` hands over what the network brings: a message only
//! when it parses whole and answers our question (`forward::accept`), is not
//! truncated (the forwarder would ask again over TCP: the next answer plays
//! that part) and is not SERVFAIL, REFUSED, FORMERR or NOTIMP (the forwarder
//! tries the next server, or asks again without EDNS). Each server gets two
//! answers at most; when the script runs out, every forwarder timed out.

use std::net::SocketAddr;

use hickory_proto::op::{Message, ResponseCode};
use pldns::cache::Cache;
use pldns::forward::{self, Question};
use pldns::resolve::{Completed, Pending, Step};
use pldns::stats::Stats;

pub struct Upstream<'a> {
    answers: Vec<&'a [u8]>,
    next: usize,
    /// Put our question into each answer (header, question, then the
    /// answer's bytes past its header), so that mutated answers still match.
    patch: bool,
    /// Every name asked upstream, in order (lowercase wire format).
    pub asked: Vec<Vec<u8>>,
}

impl<'a> Upstream<'a> {
    pub fn new(answers: Vec<&'a [u8]>, patch: bool) -> Upstream<'a> {
        Upstream {
            answers,
            next: 0,
            patch,
            asked: Vec::new(),
        }
    }

    /// What `Forwarder::query` would return for `q` asked of `servers`.
    fn answer(&mut self, q: Question<'_>, servers: usize) -> Option<Message> {
        for _ in 0..servers.max(1) * 2 {
            let raw = *self.answers.get(self.next)?;
            self.next += 1;
            let bytes = if self.patch {
                with_question(raw, q)
            } else {
                raw.to_vec()
            };
            // The ID is the one thing a fuzzer cannot guess and that teaches
            // nothing: the answer's own ID is taken as ours.
            let id = match bytes.as_slice() {
                [a, b, ..] => u16::from_be_bytes([*a, *b]),
                _ => 0,
            };
            let Ok(reply) = forward::accept(&bytes, id, q) else {
                continue;
            };
            let useless = matches!(
                reply.metadata.response_code,
                ResponseCode::FormErr
                    | ResponseCode::NotImp
                    | ResponseCode::ServFail
                    | ResponseCode::Refused
            );
            if reply.metadata.truncation || useless {
                continue;
            }
            return Some(reply);
        }
        None
    }

    /// Finishes a forwarded query with the scripted answers.
    pub fn drive(
        &mut self,
        mut pending: Box<Pending>,
        cache: Option<&Cache>,
        stats: &Stats,
    ) -> Completed {
        loop {
            let q = pending.question();
            self.asked.push(q.name.to_vec());
            let servers = pending.servers();
            let server = servers
                .first()
                .copied()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 53)));
            let reply = self.answer(q, servers.len());
            match pending.feed(reply.as_ref().map(|m| (m, server)), cache, stats) {
                Step::Done(done) => return done,
                Step::Ask(next) => pending = next,
            }
        }
    }
}

/// `raw` as an answer to `q`: its header (QR set, one question), our
/// question, then whatever follows `raw`'s first 12 bytes.
pub fn with_question(raw: &[u8], q: Question<'_>) -> Vec<u8> {
    let mut out = raw.get(..12).unwrap_or(raw).to_vec();
    out.resize(12, 0);
    out[2] |= 0x80;
    out[4..6].copy_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(q.name);
    out.extend_from_slice(&q.qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(raw.get(12..).unwrap_or(&[]));
    out
}

//! The messages of a transfer answer: the whole zone streamed in messages of
//! about 16 KB (SOA first and last, RFC 5936 §2.2), an IXFR from the journal
//! (RFC 1995 §4), a lone SOA, or an error; each message signed when the
//! request was (RFC 8945 §5.3.1).

use std::collections::VecDeque;

use crate::wire::NameBuf;
use crate::xfr::msg::MessageWriter;
use crate::xfr::msg::build::{AA, QR};
use crate::xfr::tsig::ServerSequence;
use crate::xfr::zone::{Rr, RrRef, ZoneView};

/// Messages of about this size: what BIND sends, and small enough that
/// one message never stalls a connection for long.
pub const MESSAGE_SIZE: usize = 16_384;

/// Builds the messages of one answer with one header, question and signer.
pub struct Packer {
    id: u16,
    flags: u16,
    qname: NameBuf,
    qtype: u16,
    limit: usize,
    signer: Option<ServerSequence>,
    now: u64,
    pub messages: usize,
    pub records: usize,
}

impl Packer {
    pub fn new(
        id: u16,
        rd: bool,
        qname: NameBuf,
        qtype: u16,
        signer: Option<ServerSequence>,
        now: u64,
    ) -> Packer {
        let overhead = signer.as_ref().map_or(0, ServerSequence::overhead);
        Packer {
            id,
            flags: QR | AA | if rd { 0x0100 } else { 0 },
            qname,
            qtype,
            limit: MESSAGE_SIZE - overhead,
            signer,
            now,
            messages: 0,
            records: 0,
        }
    }

    pub fn writer(&self) -> MessageWriter {
        MessageWriter::new(
            self.id,
            self.flags,
            Some((self.qname.wire(), self.qtype)),
            self.limit,
        )
    }

    /// A finished message, signed when the request was.
    pub fn seal(&mut self, w: MessageWriter) -> Vec<u8> {
        let mut msg = w.finish();
        if let Some(s) = &mut self.signer {
            s.sign(&mut msg, self.now);
        }
        self.messages += 1;
        msg
    }

    /// A message of header and question only, with `rcode` (AA cleared).
    pub fn error(&mut self, rcode: u8) -> Vec<u8> {
        let mut w = self.writer();
        w.set_flags((self.flags & !AA) | u16::from(rcode & 0x0F));
        self.seal(w)
    }

    /// Packs `records` into as many messages as they need.
    pub fn pack<'r>(&mut self, records: impl IntoIterator<Item = RrRef<'r>>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut w = self.writer();
        for r in records {
            if !w.push(r.owner, r.rtype, r.ttl, r.value.data()) {
                out.push(self.seal(std::mem::replace(&mut w, self.writer())));
                w.push(r.owner, r.rtype, r.ttl, r.value.data());
            }
            self.records += 1;
        }
        out.push(self.seal(w));
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    FirstSoa,
    Body,
    LastSoa,
    End,
}

/// A whole zone, one message at a time: nothing is built before the
/// connection can take it.
pub struct AxfrStream<'s> {
    packer: Packer,
    soa: RrRef<'s>,
    records: Box<dyn Iterator<Item = RrRef<'s>> + Send + 's>,
    phase: Phase,
    pending: Option<RrRef<'s>>,
    finished: bool,
}

impl<'s> AxfrStream<'s> {
    pub fn new(zone: ZoneView<'s>, packer: Packer) -> AxfrStream<'s> {
        AxfrStream {
            packer,
            soa: zone.soa(),
            records: zone.records(),
            phase: Phase::FirstSoa,
            pending: None,
            finished: false,
        }
    }

    pub fn packer(&self) -> &Packer {
        &self.packer
    }

    fn next_record(&mut self) -> Option<RrRef<'s>> {
        if let Some(r) = self.pending.take() {
            return Some(r);
        }
        loop {
            match self.phase {
                Phase::FirstSoa => {
                    self.phase = Phase::Body;
                    return Some(self.soa);
                }
                Phase::Body => match self.records.next() {
                    Some(r) => return Some(r),
                    None => self.phase = Phase::LastSoa,
                },
                Phase::LastSoa => {
                    self.phase = Phase::End;
                    return Some(self.soa);
                }
                Phase::End => return None,
            }
        }
    }
}

impl Iterator for AxfrStream<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        if self.finished {
            return None;
        }
        let mut w = self.packer.writer();
        while let Some(r) = self.next_record() {
            if !w.push(r.owner, r.rtype, r.ttl, r.value.data()) {
                self.pending = Some(r);
                return Some(self.packer.seal(w));
            }
            self.packer.records += 1;
        }
        self.finished = true;
        Some(self.packer.seal(w))
    }
}

/// The records of an IXFR answer (RFC 1995 §4): the current SOA, then per
/// delta the old SOA, the removed records, the new SOA and the added
/// records, then the current SOA again.
pub fn ixfr_records<'a>(
    current: RrRef<'a>,
    deltas: &'a [std::sync::Arc<crate::xfr::journal::Delta>],
) -> impl Iterator<Item = RrRef<'a>> + 'a {
    let borrow = |r: &'a Rr| r.borrow();
    let body = deltas.iter().flat_map(move |d| {
        std::iter::once(&d.old_soa)
            .chain(&d.removed)
            .chain(std::iter::once(&d.new_soa))
            .chain(&d.added)
            .map(borrow)
    });
    std::iter::once(current)
        .chain(body)
        .chain(std::iter::once(current))
}

/// A transfer answer: messages ready to send, or a zone streamed.
pub enum Transfer<'s> {
    Ready(VecDeque<Vec<u8>>),
    Axfr(AxfrStream<'s>),
}

impl Iterator for Transfer<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        match self {
            Transfer::Ready(q) => q.pop_front(),
            Transfer::Axfr(s) => s.next(),
        }
    }
}

//! Reading a transfer answer, message by message: a whole zone (RFC 5936:
//! SOA, records, SOA), an incremental one (RFC 1995 §4: the new SOA, then
//! per change set the old SOA, removals, the new SOA and additions, then the
//! new SOA again), or the lone SOA of a zone we already have.

use crate::name::Name;
use crate::wire::rtype;
use crate::xfr::journal::Delta;
use crate::xfr::msg::read::{Parsed, soa_serial};
use crate::xfr::rdata;
use crate::xfr::zone::Rr;

use super::PullError;

/// A complete transfer answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// One SOA alone: the primary's version is this one, and it has nothing
    /// more for us (we are current, or it cannot send increments).
    SoaOnly(Rr),
    /// The whole zone: its SOA and every other record.
    Full { soa: Rr, records: Vec<Rr> },
    /// Change sets from our serial to the SOA's.
    Incremental { soa: Rr, deltas: Vec<Delta> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    AfterFirst,
    Full,
    Deleting,
    Adding,
    Done,
}

pub struct Reader {
    zone: Name,
    qtype: u16,
    id: u16,
    /// The serial we asked IXFR from.
    ixfr_from: Option<u32>,
    state: State,
    first: Option<Rr>,
    records: Vec<Rr>,
    deltas: Vec<Delta>,
    current: Option<Delta>,
    /// The answer ended on a closing SOA (a whole zone).
    closed: bool,
    pub messages: usize,
    pub record_count: usize,
}

fn serial(soa: &Rr) -> u32 {
    soa_serial(&soa.rdata).unwrap_or(0)
}

impl Reader {
    pub fn new(zone: Name, qtype: u16, id: u16, ixfr_from: Option<u32>) -> Reader {
        Reader {
            zone,
            qtype,
            id,
            ixfr_from,
            state: State::Start,
            first: None,
            records: Vec::new(),
            deltas: Vec::new(),
            current: None,
            closed: false,
            messages: 0,
            record_count: 0,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Reads the next message of the answer. Returns true when the answer
    /// is complete.
    pub fn feed(&mut self, msg: &[u8]) -> Result<bool, PullError> {
        let p = Parsed::new(msg)?;
        let h = p.header;
        if h.id != self.id || !h.is_response() {
            return Err(PullError::Protocol("answer to another query"));
        }
        if h.rcode() != 0 {
            return Err(PullError::Rcode(h.rcode()));
        }
        if let Some(q) = &p.question
            && (q.name.wire() != self.zone.wire() || q.qtype != self.qtype)
        {
            return Err(PullError::Protocol("answer to another question"));
        }
        if self.state == State::Done {
            return Err(PullError::Protocol(
                "messages after the end of the transfer",
            ));
        }
        self.messages += 1;
        for r in p.records() {
            let r = r?;
            if r.section != 0 {
                continue;
            }
            if self.state == State::Done {
                return Err(PullError::Protocol("records after the closing SOA"));
            }
            let rr = Rr {
                owner: Name::from_canonical_wire(r.owner.wire()),
                rtype: r.rtype,
                ttl: r.ttl,
                rdata: rdata::canonical(msg, r.rdata_at, r.rdata.len(), r.rtype)?,
            };
            if !rr.owner.is_in(&self.zone) {
                return Err(PullError::Protocol("a record outside the zone"));
            }
            self.record_count += 1;
            self.step(rr)?;
        }
        // RFC 1995 §4: an IXFR answered by one SOA alone in its first
        // message is complete.
        if self.state == State::AfterFirst && self.ixfr_from.is_some() && self.messages == 1 {
            self.state = State::Done;
        }
        Ok(self.state == State::Done)
    }

    fn step(&mut self, rr: Rr) -> Result<(), PullError> {
        let is_soa = rr.rtype == rtype::SOA && rr.owner == self.zone;
        match self.state {
            State::Start => {
                if !is_soa {
                    return Err(PullError::Protocol(
                        "the answer does not start with the zone's SOA",
                    ));
                }
                self.first = Some(rr);
                self.state = State::AfterFirst;
            }
            State::AfterFirst => {
                let first = serial(self.first.as_ref().ok_or(PullError::Protocol("no SOA"))?);
                if is_soa && self.ixfr_from == Some(serial(&rr)) && first != serial(&rr) {
                    self.open(rr);
                } else if is_soa {
                    // A zone of its SOA alone.
                    self.close(&rr)?;
                } else {
                    self.records.push(rr);
                    self.state = State::Full;
                }
            }
            State::Full => {
                if is_soa {
                    self.close(&rr)?;
                } else {
                    self.records.push(rr);
                }
            }
            State::Deleting => {
                let cur = self
                    .current
                    .as_mut()
                    .ok_or(PullError::Protocol("no change set"))?;
                if is_soa {
                    cur.new_soa = rr;
                    self.state = State::Adding;
                } else {
                    cur.removed.push(rr);
                }
            }
            State::Adding => {
                if !is_soa {
                    self.current
                        .as_mut()
                        .ok_or(PullError::Protocol("no change set"))?
                        .added
                        .push(rr);
                    return Ok(());
                }
                let done = self
                    .current
                    .take()
                    .ok_or(PullError::Protocol("no change set"))?;
                let last = done.to();
                self.deltas.push(done);
                let end = self.first.as_ref().map(serial);
                if Some(serial(&rr)) == end && last == serial(&rr) {
                    self.state = State::Done;
                } else {
                    if serial(&rr) != last {
                        return Err(PullError::Protocol("change sets do not follow each other"));
                    }
                    self.open(rr);
                }
            }
            State::Done => return Err(PullError::Protocol("records after the closing SOA")),
        }
        Ok(())
    }

    /// Starts a change set at its old SOA.
    fn open(&mut self, old_soa: Rr) {
        self.current = Some(Delta {
            old_soa: old_soa.clone(),
            new_soa: old_soa,
            removed: Vec::new(),
            added: Vec::new(),
        });
        self.state = State::Deleting;
    }

    fn close(&mut self, soa: &Rr) -> Result<(), PullError> {
        if self.first.as_ref().map(serial) != Some(serial(soa)) {
            return Err(PullError::Protocol(
                "the closing SOA differs from the opening one",
            ));
        }
        self.state = State::Done;
        self.closed = true;
        Ok(())
    }

    /// The answer, once [`feed`](Self::feed) said it is complete.
    pub fn finish(self) -> Result<Answer, PullError> {
        if self.state != State::Done {
            return Err(PullError::Protocol("the transfer ended early"));
        }
        let soa = self.first.ok_or(PullError::Protocol("no SOA"))?;
        Ok(if !self.deltas.is_empty() {
            Answer::Incremental {
                soa,
                deltas: self.deltas,
            }
        } else if !self.closed {
            Answer::SoaOnly(soa)
        } else {
            Answer::Full {
                soa,
                records: self.records,
            }
        })
    }
}

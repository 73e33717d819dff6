//! Following a name through the table, in one place: from where an answer
//! starts (a name in a zone with records, a public name's privatelink twin,
//! or the point where a forwarded chain entered such a zone) along CNAMEs
//! until the chain ends in data, in a negative answer, or leaves the table.
//! [`crate::resolve`] feeds it both its own starts and the cuts that
//! [`crate::splice`] finds in forwarded answers.

use crate::classify::{Route, classify};
use crate::config::OnMiss;
use crate::local::{self, Found};
use crate::missing::MissQueue;
use crate::snapshot::Snapshot;
use crate::wire::{NameBuf, Query, Rcode, Rdata, ResponseWriter, rtype};

/// RFC 1034 §3.6.2 lets a resolver bound CNAME chains; 8 is what BIND and
/// Unbound allow, and covers every real Private Link chain (one or two).
pub const MAX_CHAIN: usize = 8;

/// Where the walk starts.
#[derive(Debug)]
pub enum Start {
    /// The query name, inside zone `.0`, which has records.
    Local(usize),
    /// A public name: synthesise `qname CNAME mapped`, go on at `mapped`.
    Twin { zone: usize, mapped: NameBuf },
    /// A forwarded CNAME chain that entered zone `zone` at `name`.
    Cut { zone: usize, name: NameBuf },
}

/// A name to ask the forwarders of `zone` (or `[upstream]` for `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub name: NameBuf,
    pub zone: Option<usize>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The message holds the whole answer; SERVFAIL for a chain longer than
    /// [`MAX_CHAIN`] (a loop in the table).
    Done(Rcode),
    /// The chain left the table: ask for this name and append the answer.
    Forward(Hop),
}

/// The name the walk is at: borrowed from the query or the table where it
/// can be, so the common case copies no name.
enum At<'a> {
    Borrowed(&'a [u8]),
    Owned(NameBuf),
}

impl At<'_> {
    fn wire(&self) -> &[u8] {
        match self {
            At::Borrowed(w) => w,
            At::Owned(n) => n.wire(),
        }
    }

    fn into_name(self) -> Option<NameBuf> {
        match self {
            At::Borrowed(w) => NameBuf::from_wire(w),
            At::Owned(n) => Some(n),
        }
    }
}

/// Writes the answer to `q` from `start` on. Every name the table lacks on
/// the way is recorded in `misses`.
pub fn follow<'a>(
    snap: &'a Snapshot,
    q: &'a Query<'_>,
    start: &'a Start,
    w: &mut ResponseWriter<'_>,
    misses: &MissQueue,
) -> End {
    let (mut name, mut zone) = match start {
        Start::Local(zone) => {
            w.set_authoritative(true);
            (At::Borrowed(q.qname.wire()), *zone)
        }
        Start::Twin { zone, mapped } => {
            let ttl = local::zone_ttl(snap, *zone);
            w.record(
                q.qname.wire(),
                rtype::CNAME,
                ttl,
                Rdata::Name(mapped.wire()),
            );
            // RFC 1034 §3.6.2: a query for the CNAME itself gets the CNAME,
            // not the chain behind it.
            if q.qtype == rtype::CNAME {
                return End::Done(Rcode::NoError);
            }
            (At::Borrowed(mapped.wire()), *zone)
        }
        Start::Cut { zone, name } => (At::Borrowed(name.wire()), *zone),
    };
    for _ in 0..MAX_CHAIN {
        let target = match local::lookup(snap, zone, name.wire(), q.qtype, w) {
            Found::Answered => return End::Done(Rcode::NoError),
            Found::Unavailable => return End::Done(Rcode::ServFail),
            Found::Missing => {
                return match local::missing(snap, zone, name.wire(), misses) {
                    OnMiss::Nxdomain => {
                        local::negative(snap, zone, w);
                        End::Done(Rcode::NxDomain)
                    }
                    OnMiss::Forward => match name.into_name() {
                        Some(name) => End::Forward(Hop {
                            name,
                            zone: Some(zone),
                        }),
                        None => End::Done(Rcode::ServFail),
                    },
                };
            }
            Found::Alias(target) => target,
        };
        match classify(snap, target) {
            Route::Local(zi) => (name, zone) = (At::Borrowed(target), zi),
            Route::Twin { zone: zi, mapped } => {
                let ttl = local::zone_ttl(snap, zi);
                w.record(target, rtype::CNAME, ttl, Rdata::Name(mapped.wire()));
                (name, zone) = (At::Owned(mapped), zi);
            }
            Route::Forward(outside) => {
                return match NameBuf::from_wire(target) {
                    Some(name) => End::Forward(Hop {
                        name,
                        zone: outside,
                    }),
                    None => End::Done(Rcode::ServFail),
                };
            }
        }
    }
    End::Done(Rcode::ServFail)
}

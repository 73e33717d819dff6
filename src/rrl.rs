//! Response rate limiting, with BIND's semantics: answers are counted per
//! client prefix (/24, /56 by default) and per *kind of answer* (the same
//! positive answer; NODATA or NXDOMAIN for one zone; any error), each with
//! its own rate. A client over the limit gets its answers dropped, except
//! every `slip`-th, which goes out truncated (TC=1, `wire::slip`) so that a
//! real client behind a spoofed flood can still retry over TCP. Only UDP is
//! limited: a TCP client has proved its address.
//!
//! Accounting (BIND `debit_rrl_entry`): an entry holds a balance of
//! answers. Each second credits `rate`, capped at `rate` (a burst of one
//! second's worth); each answer debits one; at or below zero the answer is
//! limited, and the balance may sink to `-window x rate`, so a client that
//! kept flooding stays limited until it has been quiet long enough to earn
//! that back (at most `window` seconds). An entry idle longer than `window`
//! starts afresh.
//!
//! The table is fixed-size and set-associative (8 entries per set, least
//! recently used one replaced), split into shards each behind its own lock:
//! a spoofed-source flood recycles entries but never grows memory, and UDP
//! threads contend only when they hash to the same shard.

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use ipnet::IpNet;
use parking_lot::Mutex;

use crate::config::RrlConfig;

/// What kind of answer is about to go out, with what BIND keys it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A non-empty answer: identical when name and type are (lowercase wire).
    Answer { qname: &'a [u8], qtype: u16 },
    /// NOERROR without data: identical for every type and name of a zone.
    NoData { zone: &'a [u8] },
    /// NXDOMAIN: identical for every name of a zone (the SOA owner in the
    /// answer, else the zone that routed the name, else the root).
    NxDomain { zone: &'a [u8] },
    /// Any other rcode: identical for one client prefix, whatever the name.
    Error,
}

impl<'a> Kind<'a> {
    /// Classifies a finished reply from its header: rcode and answer count.
    /// `zone` is the zone the name belongs to (see [`Kind::NxDomain`]).
    pub fn of_reply(reply: &[u8], qname: &'a [u8], qtype: u16, zone: &'a [u8]) -> Kind<'a> {
        let rcode = reply.get(3).map_or(2, |b| b & 0x0F);
        let answers = match (reply.get(6), reply.get(7)) {
            (Some(&hi), Some(&lo)) => u16::from_be_bytes([hi, lo]),
            _ => 0,
        };
        match rcode {
            0 if answers > 0 => Kind::Answer { qname, qtype },
            0 => Kind::NoData { zone },
            3 => Kind::NxDomain { zone },
            _ => Kind::Error,
        }
    }

    fn index(&self) -> usize {
        match self {
            Kind::Answer { .. } => 0,
            Kind::NoData { .. } => 1,
            Kind::NxDomain { .. } => 2,
            Kind::Error => 3,
        }
    }
}

/// What to do with the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Send nothing.
    Drop,
    /// Send the answer's slip form instead (`wire::slip`: TC=1, question
    /// and OPT only).
    Slip,
}

/// Limited answers so far, per kind (answer, NODATA, NXDOMAIN, error).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RrlCounts {
    pub dropped: [u64; 4],
    pub slipped: [u64; 4],
}

pub const KIND_LABELS: [&str; 4] = ["answer", "nodata", "nxdomain", "error"];

const WAYS: usize = 8;
const MAX_SHARDS: usize = 64;

#[derive(Clone, Copy, Default)]
struct Slot {
    /// Hash of (prefix, kind, name); 0 marks an empty slot.
    key: u64,
    /// The shard's access count at the last use: the LRU order.
    used: u64,
    /// Seconds since the table's epoch at the last answer.
    last: u32,
    balance: i32,
    slip_count: u32,
}

struct Shard {
    slots: Box<[Slot]>,
    ticks: u64,
}

pub struct Rrl {
    config: RrlConfig,
    shards: Box<[Mutex<Shard>]>,
    sets_per_shard: usize,
    hasher: foldhash::fast::RandomState,
    epoch: Instant,
    v4_mask: u32,
    v6_mask: u128,
    dropped: [AtomicU64; 4],
    slipped: [AtomicU64; 4],
}

/// The "all answers" entry of a prefix, apart from the four kinds.
const ALL: u8 = 4;

impl Rrl {
    /// `None` when every rate is 0: the caller skips the check entirely.
    pub fn new(config: &RrlConfig) -> Option<Rrl> {
        if !config.enabled() {
            return None;
        }
        let size = config.max_table_size.max(WAYS);
        let shards = if size >= MAX_SHARDS * WAYS * 4 {
            MAX_SHARDS
        } else {
            1
        };
        let sets_per_shard = size.div_ceil(shards * WAYS);
        let shards = (0..shards)
            .map(|_| {
                Mutex::new(Shard {
                    slots: vec![Slot::default(); sets_per_shard * WAYS].into_boxed_slice(),
                    ticks: 0,
                })
            })
            .collect();
        let v4 = u32::from(config.ipv4_prefix_length.min(32));
        let v6 = u32::from(config.ipv6_prefix_length.min(128));
        Some(Rrl {
            config: config.clone(),
            shards,
            sets_per_shard,
            hasher: foldhash::fast::RandomState::default(),
            epoch: Instant::now(),
            v4_mask: u32::MAX.checked_shl(32 - v4).unwrap_or(0),
            v6_mask: u128::MAX.checked_shl(128 - v6).unwrap_or(0),
            dropped: Default::default(),
            slipped: Default::default(),
        })
    }

    pub fn config(&self) -> &RrlConfig {
        &self.config
    }

    /// Accounting entries the table holds at most (fixed at creation).
    pub fn capacity(&self) -> usize {
        self.shards.len() * self.sets_per_shard * WAYS
    }

    /// Starts this limiter's counters where `old`'s are (a reload that
    /// changed `[rrl]`), so the metrics stay monotonic.
    pub fn continue_counts(&self, old: &Rrl) {
        let was = old.counts();
        for (c, v) in self.dropped.iter().zip(was.dropped) {
            c.store(v, Relaxed);
        }
        for (c, v) in self.slipped.iter().zip(was.slipped) {
            c.store(v, Relaxed);
        }
    }

    pub fn counts(&self) -> RrlCounts {
        RrlCounts {
            dropped: self.dropped.each_ref().map(|c| c.load(Relaxed)),
            slipped: self.slipped.each_ref().map(|c| c.load(Relaxed)),
        }
    }

    /// Decides the fate of one UDP answer of `kind` to `client`. Call it
    /// once per answer, after the ACL and once the answer's kind is known.
    pub fn check(&self, client: IpAddr, kind: Kind<'_>, now: Instant) -> Verdict {
        let client = client.to_canonical();
        if self
            .config
            .exempt
            .iter()
            .any(|n: &IpNet| n.contains(&client))
        {
            return Verdict::Send;
        }
        let now =
            u32::try_from(now.saturating_duration_since(self.epoch).as_secs()).unwrap_or(u32::MAX);
        let prefix = self.prefix(client);
        let rate = self.rate(kind);
        let mut verdict = Verdict::Send;
        if rate > 0 {
            let key = self.key(prefix, kind.index() as u8, kind);
            verdict = self.debit(key, rate, now, true);
        }
        if self.config.all_per_second > 0 {
            // BIND: the all-per-second limit wins when both are hit, and
            // never slips.
            let key = self.key(prefix, ALL, Kind::Error);
            let all = self.debit(key, self.config.all_per_second, now, false);
            if all != Verdict::Send {
                verdict = all;
            }
        }
        let i = kind.index();
        match verdict {
            Verdict::Send => {}
            Verdict::Drop => {
                self.dropped[i].fetch_add(1, Relaxed);
            }
            Verdict::Slip => {
                self.slipped[i].fetch_add(1, Relaxed);
            }
        }
        verdict
    }

    fn rate(&self, kind: Kind<'_>) -> u32 {
        let c = &self.config;
        match kind {
            Kind::Answer { .. } => c.responses_per_second,
            Kind::NoData { .. } => c.nodata_per_second,
            Kind::NxDomain { .. } => c.nxdomains_per_second,
            Kind::Error => c.errors_per_second,
        }
    }

    /// The client's network, as the bits that identify it.
    fn prefix(&self, client: IpAddr) -> u128 {
        match client {
            IpAddr::V4(a) => u128::from(u32::from(a) & self.v4_mask),
            // Tagged so that no IPv6 prefix equals an IPv4 one.
            IpAddr::V6(a) => (u128::from(a) & self.v6_mask) | 1,
        }
    }

    fn key(&self, prefix: u128, tag: u8, kind: Kind<'_>) -> u64 {
        let h = match kind {
            Kind::Answer { qname, qtype } if tag != ALL => {
                self.hasher.hash_one((prefix, tag, qname, qtype))
            }
            Kind::NoData { zone } | Kind::NxDomain { zone } if tag != ALL => {
                self.hasher.hash_one((prefix, tag, zone))
            }
            _ => self.hasher.hash_one((prefix, tag)),
        };
        h.max(1)
    }

    /// Debits the entry for `key` and says whether the answer may go. A
    /// new key takes an empty slot of its set, else the least recently used
    /// one that is not being limited (as BIND keeps penalised entries), else
    /// the least recently used: one-shot spoofed sources replace each other,
    /// not the entry of the victim they are flooding.
    fn debit(&self, key: u64, rate: u32, now: u32, may_slip: bool) -> Verdict {
        let shard = (key >> 58) as usize % self.shards.len();
        let set = (key as usize % self.sets_per_shard) * WAYS;
        let mut shard = self.shards[shard].lock();
        shard.ticks += 1;
        let tick = shard.ticks;
        let window = self.config.window;
        let ways = &mut shard.slots[set..set + WAYS];
        let i = match ways.iter().position(|s| s.key == key) {
            Some(i) => i,
            None => {
                let limited = |s: &Slot| s.balance < 0 && now.saturating_sub(s.last) <= window;
                let victim = ways
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, s)| (s.key != 0, limited(s), s.used))
                    .map_or(0, |(i, _)| i);
                ways[victim] = Slot {
                    key,
                    used: tick,
                    last: now,
                    balance: clamp_i32(i64::from(rate)),
                    slip_count: 0,
                };
                victim
            }
        };
        ways[i].used = tick;
        account(
            &mut ways[i],
            i64::from(rate),
            self.config.window,
            self.config.slip,
            now,
            may_slip,
        )
    }
}

fn clamp_i32(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// BIND's `debit_rrl_entry` on one entry.
fn account(s: &mut Slot, rate: i64, window: u32, slip: u32, now: u32, may_slip: bool) -> Verdict {
    // A clock that went back counts as no time.
    let age = now.saturating_sub(s.last);
    if age > 0 {
        let mut balance = i64::from(s.balance);
        if age > window {
            balance = rate;
            s.slip_count = 0;
        } else {
            balance = balance.saturating_add(rate.saturating_mul(i64::from(age)));
            if balance > rate {
                balance = rate;
                s.slip_count = 0;
            }
        }
        s.balance = clamp_i32(balance);
    }
    s.last = now;
    let balance = i64::from(s.balance) - 1;
    let floor = -i64::from(window).saturating_mul(rate);
    s.balance = clamp_i32(balance.max(floor));
    if balance >= 0 {
        return Verdict::Send;
    }
    if slip != 0 && may_slip {
        let first = s.slip_count == 0;
        s.slip_count = s.slip_count.saturating_add(1);
        if s.slip_count >= slip {
            s.slip_count = 0;
        }
        if first {
            return Verdict::Slip;
        }
    }
    Verdict::Drop
}

#[cfg(test)]
mod tests;

//! The consumer of the query core's missing-name events
//! ([`crate::missing`]): one task drains the queue every [`DRAIN_INTERVAL`]
//! and hands each event to
//! - the log: a line naming the missing record, once per name per ten
//!   minutes and at most [`LOG_BURST`] lines per [`LOG_WINDOW`], then one
//!   "N more ... were not logged" line;
//! - the register: per zone, the names missed lately with first seen, last
//!   seen and count, bounded, the least recently seen evicted first
//!   ([`MissingNames::names`] for a status page);
//! - subscribers ([`MissingNames::subscribe`]; Azure sync pulls early when a
//!   name is missed), each behind a bounded channel the consumer never
//!   waits on.
//!
//! The per-zone count (`pldns_missing_records_total`) does not depend on
//! this task: the query path counts it exactly. Nothing here runs on the
//! query path; the locks below are taken by the consumer and by readers.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tracing::warn;

use crate::missing::{Miss, MissQueue};
use crate::name::Name;
use crate::state::State;

/// How often the consumer drains the queue.
pub const DRAIN_INTERVAL: Duration = Duration::from_millis(100);
/// How often the same missing name is logged again.
pub const LOG_INTERVAL: Duration = Duration::from_secs(600);
/// A flood of random names (a random-subdomain attack, a misconfigured
/// client) must not flood the log: at most this many lines per window.
pub const LOG_BURST: u32 = 20;
pub const LOG_WINDOW: Duration = Duration::from_secs(10);
/// Names the log remembers (to log each once per interval); past this the
/// memory is cleared and names may be logged again sooner.
const LOG_NAMES: usize = 10_000;
/// Names the register keeps per zone, and zones it keeps.
pub const REGISTER_NAMES: usize = 1000;
pub const REGISTER_ZONES: usize = 64;

/// One name of the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissedName {
    pub zone: Name,
    pub name: Name,
    pub first_seen: SystemTime,
    pub last_seen: SystemTime,
    /// Misses of this name seen by the consumer since it entered the
    /// register (events dropped on a full queue are not in it).
    pub count: u64,
}

/// What a subscriber hears: `name` was asked in `zone`, whose table lacks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    pub zone: Name,
    pub name: Name,
}

/// The consumer's state; one per daemon (in [`State`]).
#[derive(Default)]
pub struct MissingNames {
    log: Mutex<MissLog>,
    register: Mutex<Register>,
    subscribers: Mutex<Vec<mpsc::Sender<Missed>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MissingNames {
    /// Every missed name from now on, through a channel holding up to
    /// `capacity` of them. A subscriber that falls behind loses events (the
    /// consumer never waits for it); dropping the receiver unsubscribes.
    pub fn subscribe(&self, capacity: usize) -> mpsc::Receiver<Missed> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        lock(&self.subscribers).push(tx);
        rx
    }

    /// The register: names missed lately, most recently seen first.
    pub fn names(&self) -> Vec<MissedName> {
        lock(&self.register).list(None)
    }

    /// The register of one zone, most recently seen first.
    pub fn names_in(&self, zone: &Name) -> Vec<MissedName> {
        lock(&self.register).list(Some(zone))
    }

    /// Hands every event waiting in `queue` to the log, the register and the
    /// subscribers. Returns how many there were.
    pub fn drain(&self, queue: &MissQueue) -> usize {
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut log = lock(&self.log);
        let mut register = lock(&self.register);
        let mut subscribers = lock(&self.subscribers);
        let mut n = 0;
        while let Some(miss) = queue.pop() {
            n += 1;
            log.note(&miss, now);
            register.note(&miss, wall);
            if !subscribers.is_empty() {
                let missed = Missed {
                    zone: miss.zone.zone().clone(),
                    name: Name::from_canonical_wire(miss.name.wire()),
                };
                subscribers.retain(|tx| match tx.try_send(missed.clone()) {
                    Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => true,
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                });
            }
        }
        log.unlogged(queue.dropped());
        log.end_window_if_due(now);
        n
    }
}

/// Runs the consumer for the daemon's queue until the process ends.
pub async fn run(state: Arc<State>) {
    let mut tick = tokio::time::interval(DRAIN_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        state.missing.drain(&state.stats.misses);
    }
}

/// The per-name memory and the log budget of the current window.
#[derive(Default)]
struct MissLog {
    logged: HashMap<Box<[u8]>, Instant>,
    window_start: Option<Instant>,
    lines: u32,
    /// Misses not logged in this window (over budget, or lost in a full
    /// queue).
    suppressed: u64,
    /// The queue's dropped count already added to `suppressed`.
    dropped_seen: u64,
}

impl MissLog {
    /// Logs `miss` if its name is due and the window has budget left.
    fn note(&mut self, miss: &Miss, now: Instant) {
        let name = miss.name.wire();
        if self.logged.len() >= LOG_NAMES {
            self.logged.clear();
        }
        let due = self
            .logged
            .get(name)
            .is_none_or(|&at| now.duration_since(at) >= LOG_INTERVAL);
        if !due {
            return;
        }
        self.end_window_if_due(now);
        if self.window_start.is_none() {
            self.window_start = Some(now);
        }
        if self.lines >= LOG_BURST {
            self.suppressed += 1;
            return;
        }
        self.lines += 1;
        self.logged.insert(name.into(), now);
        let zone = miss.zone.zone();
        let mut text = String::new();
        let _ = crate::name::write_text(name, &mut text);
        warn!(
            zone = %zone,
            name = %text,
            "missing record: {text} was asked in zone {zone}, which has records, but the table lacks it"
        );
    }

    /// Counts events the queue dropped since the last look as not logged.
    fn unlogged(&mut self, dropped_total: u64) {
        let new = dropped_total.saturating_sub(self.dropped_seen);
        self.dropped_seen = dropped_total;
        if new > 0 {
            self.suppressed += new;
            self.window_start.get_or_insert_with(Instant::now);
        }
    }

    /// Closes a window that has run its time: says how many misses went
    /// unlogged, and gives the budget back.
    fn end_window_if_due(&mut self, now: Instant) {
        let Some(start) = self.window_start else {
            return;
        };
        if now.duration_since(start) < LOG_WINDOW {
            return;
        }
        if self.suppressed > 0 {
            warn!(
                suppressed = self.suppressed,
                "{} more missing names were not logged (see pldns_missing_records_total)",
                self.suppressed
            );
        }
        self.window_start = None;
        self.lines = 0;
        self.suppressed = 0;
    }
}

/// Per zone, the names missed lately; least recently seen evicted first.
#[derive(Default)]
struct Register {
    zones: HashMap<Name, ZoneRegister>,
    /// Orders zones by last event, to evict the quietest past REGISTER_ZONES.
    tick: u64,
}

#[derive(Default)]
struct ZoneRegister {
    names: HashMap<Box<[u8]>, Seen>,
    /// tick of the last sighting -> name, oldest first.
    by_age: BTreeMap<u64, Box<[u8]>>,
    last_tick: u64,
}

struct Seen {
    first: SystemTime,
    last: SystemTime,
    count: u64,
    tick: u64,
}

impl Register {
    fn note(&mut self, miss: &Miss, wall: SystemTime) {
        self.tick += 1;
        let tick = self.tick;
        let zone = miss.zone.zone();
        if !self.zones.contains_key(zone) && self.zones.len() >= REGISTER_ZONES {
            let quietest = self
                .zones
                .iter()
                .min_by_key(|(_, z)| z.last_tick)
                .map(|(name, _)| name.clone());
            if let Some(q) = quietest {
                self.zones.remove(&q);
            }
        }
        let z = self.zones.entry(zone.clone()).or_default();
        z.last_tick = tick;
        let name = miss.name.wire();
        if let Some(seen) = z.names.get_mut(name) {
            z.by_age.remove(&seen.tick);
            seen.last = wall;
            seen.count += 1;
            seen.tick = tick;
            z.by_age.insert(tick, name.into());
            return;
        }
        if z.names.len() >= REGISTER_NAMES
            && let Some((_, oldest)) = z.by_age.pop_first()
        {
            z.names.remove(&oldest);
        }
        z.names.insert(
            name.into(),
            Seen {
                first: wall,
                last: wall,
                count: 1,
                tick,
            },
        );
        z.by_age.insert(tick, name.into());
    }

    /// Most recently seen first.
    fn list(&self, only: Option<&Name>) -> Vec<MissedName> {
        let mut all: Vec<(u64, MissedName)> = self
            .zones
            .iter()
            .filter(|(zone, _)| only.is_none_or(|o| o == *zone))
            .flat_map(|(zone, z)| {
                z.names.iter().map(|(name, seen)| {
                    let entry = MissedName {
                        zone: zone.clone(),
                        name: Name::from_canonical_wire(name),
                        first_seen: seen.first,
                        last_seen: seen.last,
                        count: seen.count,
                    };
                    (seen.tick, entry)
                })
            })
            .collect();
        all.sort_by_key(|(tick, _)| std::cmp::Reverse(*tick));
        all.into_iter().map(|(_, entry)| entry).collect()
    }
}

#[cfg(test)]
mod tests;

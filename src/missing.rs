//! Names asked inside a zone with records that its table lacks (a storage
//! account added in Azure that nobody has put in the records yet). The query
//! path records each one here without taking a lock: the zone's count goes
//! up in an atomic (exact, always), and an event goes into a bounded
//! lock-free queue that one consumer drains (`crate::metrics::missing`: the
//! log line, the register of missing names, subscribers). When the queue is
//! full the event is dropped and counted; the per-zone count is not affected.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crossbeam_queue::ArrayQueue;

use crate::name::Name;
use crate::wire::NameBuf;

/// Events waiting for the consumer. It drains them every
/// `metrics::missing::DRAIN_INTERVAL` (100 ms), so this absorbs about 10,000
/// distinct misses a second; a flood beyond that only loses log lines and
/// register updates, never counts. 1024 events take about 280 KB.
pub const QUEUE_CAPACITY: usize = 1024;

/// The miss count of one zone with records. Every snapshot that has the zone
/// shares it (a reload carries it over), so queries still running on an old
/// snapshot count into the same total.
#[derive(Debug)]
pub struct ZoneMisses {
    zone: Name,
    count: AtomicU64,
}

impl ZoneMisses {
    pub fn new(zone: Name) -> Arc<ZoneMisses> {
        Arc::new(ZoneMisses {
            zone,
            count: AtomicU64::new(0),
        })
    }

    pub fn zone(&self) -> &Name {
        &self.zone
    }

    /// Misses counted so far.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }
}

/// One missing name, as the consumer receives it.
#[derive(Debug)]
pub struct Miss {
    pub zone: Arc<ZoneMisses>,
    /// Lowercase wire format.
    pub name: NameBuf,
}

pub struct MissQueue {
    events: ArrayQueue<Miss>,
    dropped: AtomicU64,
}

impl Default for MissQueue {
    fn default() -> Self {
        MissQueue::with_capacity(QUEUE_CAPACITY)
    }
}

impl MissQueue {
    pub fn with_capacity(capacity: usize) -> MissQueue {
        MissQueue {
            events: ArrayQueue::new(capacity.max(1)),
            dropped: AtomicU64::new(0),
        }
    }

    /// `name` (lowercase wire) was asked in `zone`, whose table lacks it.
    /// Never blocks and never allocates.
    pub fn record(&self, zone: &Arc<ZoneMisses>, name: &[u8]) {
        zone.count.fetch_add(1, Relaxed);
        let Some(name) = NameBuf::from_wire(name) else {
            self.dropped.fetch_add(1, Relaxed);
            return;
        };
        let event = Miss {
            zone: Arc::clone(zone),
            name,
        };
        if self.events.push(event).is_err() {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    /// The oldest event waiting, for the consumer.
    pub fn pop(&self) -> Option<Miss> {
        self.events.pop()
    }

    /// Events lost because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_stay_exact_when_the_queue_overflows() {
        let q = MissQueue::with_capacity(4);
        let zone = ZoneMisses::new(Name::from_text("privatelink.blob.core.windows.net").unwrap());
        let name = Name::from_text("x.privatelink.blob.core.windows.net").unwrap();
        for _ in 0..10 {
            q.record(&zone, name.wire());
        }
        assert_eq!(zone.count(), 10);
        assert_eq!(q.dropped(), 6);
        let mut drained = 0;
        while let Some(m) = q.pop() {
            assert_eq!(m.name.wire(), name.wire());
            assert_eq!(m.zone.zone(), zone.zone());
            drained += 1;
        }
        assert_eq!(drained, 4);
        // Room again.
        q.record(&zone, name.wire());
        assert!(q.pop().is_some());
    }

    #[test]
    fn threads_record_concurrently() {
        let q = Arc::new(MissQueue::with_capacity(64));
        let zone = ZoneMisses::new(Name::from_text("privatelink.blob.core.windows.net").unwrap());
        let name = Name::from_text("x.privatelink.blob.core.windows.net").unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (q, zone, name) = (q.clone(), zone.clone(), name.clone());
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        q.record(&zone, name.wire());
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(zone.count(), 4000);
        let mut queued = 0;
        while q.pop().is_some() {
            queued += 1;
        }
        assert_eq!(queued + q.dropped(), 4000);
    }
}

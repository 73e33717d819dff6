//! Cache of forwarded answers, as finished reply bodies (no OPT, not
//! truncated). A hit copies the bytes, patches the ID, flags and question
//! case, and counts the TTLs down: no parse, no allocation.
//!
//! Entries carry the generation of the snapshot that built them: an answer
//! that went through a zone with records is valid only while the table is
//! unchanged, any other only while the zones and forwarders are. A reload
//! therefore never lets a stale splice out.

use std::hash::{Hash, Hasher};
use std::time::Instant;

use quick_cache::Equivalent;

use crate::config::CacheConfig;
use crate::wire::{self, HEADER_LEN, Query, Rcode};

#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    name: Box<[u8]>,
    qtype: u16,
    flags: u8,
}

/// A borrowed key, so a lookup builds nothing.
pub struct KeyRef<'a> {
    pub name: &'a [u8],
    pub qtype: u16,
    pub flags: u8,
}

impl<'a> KeyRef<'a> {
    pub fn of(q: &'a Query<'_>) -> Self {
        let dnssec_ok = q.edns.is_some_and(|e| e.dnssec_ok);
        KeyRef {
            name: q.qname.wire(),
            qtype: q.qtype,
            flags: u8::from(dnssec_ok) | (u8::from(q.cd) << 1),
        }
    }
}

// Key and KeyRef must hash alike for borrowed lookups.
impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        (&*self.name, self.qtype, self.flags).hash(h);
    }
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        (self.name, self.qtype, self.flags).hash(h);
    }
}

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.qtype == key.qtype && self.flags == key.flags && self.name == &*key.name
    }
}

pub struct Entry {
    body: Box<[u8]>,
    ttl_offsets: Box<[u16]>,
    stored: Instant,
    /// Seconds the entry may be served.
    lifetime: u32,
    /// The snapshot generation it is valid for (see module docs).
    generation: u64,
    rcode: Rcode,
}

/// Which generation an answer depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depends {
    /// Only on zones and forwarders.
    Routing,
    /// On the record table too (it went through a zone with records).
    Table,
}

/// Counts evictions for the metrics.
#[derive(Clone, Default)]
struct Evictions(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl quick_cache::Lifecycle<Key, std::sync::Arc<Entry>> for Evictions {
    type RequestState = ();

    fn on_evict(&self, _: &mut (), _: Key, _: std::sync::Arc<Entry>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

type Entries = quick_cache::sync::Cache<
    Key,
    std::sync::Arc<Entry>,
    quick_cache::UnitWeighter,
    quick_cache::DefaultHashBuilder,
    Evictions,
>;

pub struct Cache {
    entries: Entries,
    evictions: Evictions,
    config: CacheConfig,
}

impl Cache {
    /// `None` when the configured size is 0 (cache disabled).
    pub fn new(config: &CacheConfig) -> Option<Cache> {
        (config.size > 0).then(|| {
            let evictions = Evictions::default();
            Cache {
                entries: Entries::with(
                    config.size,
                    config.size as u64,
                    quick_cache::UnitWeighter,
                    quick_cache::DefaultHashBuilder::default(),
                    evictions.clone(),
                ),
                evictions,
                config: config.clone(),
            }
        })
    }

    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn evictions(&self) -> u64 {
        self.evictions.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the cached answer to `q` into `out`, sealed for this client,
    /// when there is a live one for `generations` (routing, table).
    pub fn answer(
        &self,
        q: &Query<'_>,
        generations: (u64, u64),
        now: Instant,
        seal: (u16, usize),
        out: &mut Vec<u8>,
    ) -> bool {
        let Some(entry) = self.entries.get(&KeyRef::of(q)) else {
            return false;
        };
        let age = now.saturating_duration_since(entry.stored).as_secs();
        if age >= u64::from(entry.lifetime)
            || (entry.generation != generations.0 && entry.generation != generations.1)
        {
            return false;
        }
        let age = age as u32;
        out.clear();
        out.extend_from_slice(&entry.body);
        // ID and RD from this query; the question as this client wrote it.
        out[..2].copy_from_slice(&q.packet[..2]);
        out[2] = (out[2] & !0x01) | (q.packet[2] & 0x01);
        let qlen = q.question_end - HEADER_LEN;
        out[HEADER_LEN..HEADER_LEN + qlen].copy_from_slice(&q.packet[HEADER_LEN..q.question_end]);
        for &at in entry.ttl_offsets.iter() {
            let at = at as usize;
            let ttl = u32::from_be_bytes([out[at], out[at + 1], out[at + 2], out[at + 3]]);
            out[at..at + 4].copy_from_slice(&ttl.saturating_sub(age).to_be_bytes());
        }
        wire::seal(out, q.edns, seal.0, seal.1, entry.rcode);
        true
    }

    /// Stores a finished reply body for `q`. Answers that must not be cached
    /// (truncated, SERVFAIL, no TTL) are ignored.
    pub fn store(&self, q: &Query<'_>, body: &[u8], rcode: Rcode, generation: u64, now: Instant) {
        if body.len() < HEADER_LEN || body[2] & 0x02 != 0 {
            return;
        }
        let Some(lifetime) = self.lifetime(body, rcode) else {
            return;
        };
        let Some(ttl_offsets) = wire::ttl_offsets(body) else {
            return;
        };
        let key = KeyRef::of(q);
        self.entries.insert(
            Key {
                name: key.name.into(),
                qtype: key.qtype,
                flags: key.flags,
            },
            std::sync::Arc::new(Entry {
                body: body.into(),
                ttl_offsets: ttl_offsets.into(),
                stored: now,
                lifetime,
                generation,
                rcode,
            }),
        );
    }

    /// How long an answer may be served: the smallest answer TTL for a
    /// positive answer; for a negative one (NXDOMAIN, NODATA) the SOA's
    /// TTL capped by its MINIMUM (RFC 2308 §5). Clamped by the config.
    fn lifetime(&self, body: &[u8], rcode: Rcode) -> Option<u32> {
        let s = wire::sections(body)?;
        let c = &self.config;
        let negative = rcode == Rcode::NxDomain || !s.has_qtype_answer;
        let ttl = match rcode {
            Rcode::NoError | Rcode::NxDomain if negative => {
                // A chain before the negative part expires with its CNAMEs.
                let n = s.negative_ttl?.min(c.max_negative_ttl);
                s.min_answer_ttl.map_or(n, |a| a.min(n))
            }
            Rcode::NoError => s.min_answer_ttl?.clamp(c.min_ttl, c.max_ttl),
            _ => return None,
        };
        (ttl > 0).then_some(ttl)
    }

    pub fn generation_for(depends: Depends, generations: (u64, u64)) -> u64 {
        match depends {
            Depends::Routing => generations.0,
            Depends::Table => generations.1,
        }
    }
}

#[cfg(test)]
mod tests;

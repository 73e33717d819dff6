//! Cache of forwarded answers, as finished reply bodies (no OPT, not
//! truncated). A hit copies the bytes, patches the ID, flags and question
//! case, and counts the TTLs down: no parse, no allocation. Expired entries
//! stay for `serve_stale_s` so that [`Cache::stale_answer`] can answer when
//! every forwarder fails (RFC 8767). Memory is bounded by weight: each entry
//! weighs one unit per started KiB, `size` units in all.
//!
//! Entries carry the generation of the snapshot that built them: an answer
//! that went through a zone with records is valid only while the table is
//! unchanged, any other only while the zones and forwarders are. A reload
//! therefore never lets a stale splice out.

mod ttl;

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use quick_cache::Equivalent;

use crate::config::CacheConfig;
use crate::wire::{self, HEADER_LEN, Query, Rcode};

pub use ttl::clamp_ttl;

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
    /// Seconds the entry may be served fresh.
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

/// RFC 8767 §4: the TTL of every record of a stale answer; 30 s keeps
/// clients from hammering us while the upstreams recover.
pub const STALE_TTL: u32 = 30;

/// An entry weighs one unit per started KiB (name, body, TTL offsets), so
/// `size` bounds memory even when answers are large: 100,000 units hold
/// 100,000 typical answers, or 1,500 of 64 KiB each.
const WEIGHT_UNIT: usize = 1024;

#[derive(Clone, Default)]
struct ByBytes;

impl quick_cache::Weighter<Key, Arc<Entry>> for ByBytes {
    fn weight(&self, key: &Key, e: &Arc<Entry>) -> u64 {
        let bytes = key.name.len() + e.body.len() + 2 * e.ttl_offsets.len();
        1 + (bytes / WEIGHT_UNIT) as u64
    }
}

/// Counts evictions for the metrics.
#[derive(Clone, Default)]
struct Evictions(Arc<AtomicU64>);

impl quick_cache::Lifecycle<Key, Arc<Entry>> for Evictions {
    type RequestState = ();

    fn on_evict(&self, _: &mut (), _: Key, _: Arc<Entry>) {
        self.0.fetch_add(1, Relaxed);
    }
}

type Entries =
    quick_cache::sync::Cache<Key, Arc<Entry>, ByBytes, quick_cache::DefaultHashBuilder, Evictions>;

pub struct Cache {
    entries: Entries,
    evictions: Evictions,
    stale_served: AtomicU64,
    config: CacheConfig,
}

/// How the TTLs of a served entry are patched.
#[derive(Clone, Copy)]
enum Serve {
    /// Fresh: count down by the age in seconds.
    Fresh(u32),
    /// Stale: every TTL becomes [`STALE_TTL`].
    Stale,
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
                    ByBytes,
                    quick_cache::DefaultHashBuilder::default(),
                    evictions.clone(),
                ),
                evictions,
                stale_served: AtomicU64::new(0),
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

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Units of weight held (at most `size`).
    pub fn weight(&self) -> u64 {
        self.entries.weight()
    }

    pub fn evictions(&self) -> u64 {
        self.evictions.0.load(Relaxed)
    }

    /// Stale answers served so far (RFC 8767).
    pub fn stale_served(&self) -> u64 {
        self.stale_served.load(Relaxed)
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
        self.serve(q, generations, now, seal, out, false)
    }

    /// RFC 8767: for when every forwarder of the name failed (or the query's
    /// deadline passed). Writes the answer to `q` from an entry that expired
    /// less than `serve_stale_s` ago, every TTL set to [`STALE_TTL`] (or a
    /// fresh one as [`Cache::answer`] would); counted in
    /// [`Cache::stale_served`]. False when there is none or serve-stale is
    /// off (`serve_stale_s = 0`).
    pub fn stale_answer(
        &self,
        q: &Query<'_>,
        generations: (u64, u64),
        now: Instant,
        seal: (u16, usize),
        out: &mut Vec<u8>,
    ) -> bool {
        self.serve(q, generations, now, seal, out, true)
    }

    fn serve(
        &self,
        q: &Query<'_>,
        generations: (u64, u64),
        now: Instant,
        seal: (u16, usize),
        out: &mut Vec<u8>,
        stale_ok: bool,
    ) -> bool {
        let key = KeyRef::of(q);
        let Some(entry) = self.entries.get(&key) else {
            return false;
        };
        if entry.generation != generations.0 && entry.generation != generations.1 {
            return false;
        }
        let age = now.saturating_duration_since(entry.stored).as_secs();
        let lifetime = u64::from(entry.lifetime);
        let how = if age < lifetime {
            Serve::Fresh(age as u32)
        } else if age < lifetime + u64::from(self.config.serve_stale) {
            if !stale_ok {
                return false;
            }
            Serve::Stale
        } else {
            // Past any use: free its room now rather than at eviction.
            self.entries.remove_if(&key, |e| Arc::ptr_eq(e, &entry));
            return false;
        };
        out.clear();
        out.extend_from_slice(&entry.body);
        if out.len() < HEADER_LEN || q.packet.len() < HEADER_LEN {
            return false;
        }
        // ID and RD from this query; the question as this client wrote it
        // (same name, so the same length).
        out[..2].copy_from_slice(&q.packet[..2]);
        out[2] = (out[2] & !0x01) | (q.packet[2] & 0x01);
        if let (Some(dst), Some(src)) = (
            out.get_mut(HEADER_LEN..q.question_end),
            q.packet.get(HEADER_LEN..q.question_end),
        ) {
            dst.copy_from_slice(src);
        }
        for &at in entry.ttl_offsets.iter() {
            let at = at as usize;
            let Some(field) = out.get_mut(at..at + 4) else {
                continue;
            };
            let ttl = u32::from_be_bytes([field[0], field[1], field[2], field[3]]);
            let ttl = match how {
                Serve::Fresh(age) => ttl.saturating_sub(age),
                Serve::Stale => STALE_TTL,
            };
            field.copy_from_slice(&ttl.to_be_bytes());
        }
        wire::seal(out, q.edns, seal.0, seal.1, entry.rcode);
        if matches!(how, Serve::Stale) {
            self.stale_served.fetch_add(1, Relaxed);
        }
        true
    }

    /// Stores a finished reply body for `q`, first rewriting its TTLs in
    /// place to what the cache will serve (see `ttl.rs`), so the client that
    /// caused the store sees the same TTLs as the next one. Answers that must
    /// not be cached (truncated, SERVFAIL, no TTL) are left as they are.
    pub fn store(
        &self,
        q: &Query<'_>,
        body: &mut [u8],
        rcode: Rcode,
        generation: u64,
        now: Instant,
    ) {
        if body.len() < HEADER_LEN || body[2] & 0x02 != 0 {
            return;
        }
        let Some(prepared) = ttl::prepare(body, rcode, &self.config) else {
            return;
        };
        let key = KeyRef::of(q);
        self.entries.insert(
            Key {
                name: key.name.into(),
                qtype: key.qtype,
                flags: key.flags,
            },
            Arc::new(Entry {
                body: (*body).into(),
                ttl_offsets: prepared.ttl_offsets,
                stored: now,
                lifetime: prepared.lifetime,
                generation,
                rcode,
            }),
        );
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

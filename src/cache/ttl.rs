//! What a stored answer's TTLs become, and how long it may be served.
//!
//! The client of a cached answer sees the cache's view, not the upstream's:
//! positive answers have every TTL clamped to `min_ttl..=max_ttl`; negative
//! answers (NXDOMAIN, NODATA) have every TTL capped at `max_ttl` and the
//! authority section's at the negative lifetime, min(SOA TTL, SOA MINIMUM,
//! `max_negative_ttl`) (RFC 2308 §5); `min_ttl` never lengthens a negative
//! answer. The entry lives as long as the smallest TTL of its answer
//! section (or the negative lifetime), so the TTLs a client sees count down
//! to zero exactly when the entry stops being served fresh.

use crate::config::CacheConfig;
use crate::wire::{self, Rcode, rtype};

/// `ttl` within `min..=max`; `max` wins if the bounds ever cross, so no
/// configuration can make this panic (unlike `u32::clamp`).
pub fn clamp_ttl(ttl: u32, min: u32, max: u32) -> u32 {
    ttl.max(min).min(max)
}

/// A reply body made ready for the cache.
pub struct Prepared {
    /// Seconds the entry may be served fresh.
    pub lifetime: u32,
    pub ttl_offsets: Box<[u16]>,
}

/// Rewrites the TTLs of `body` (no OPT) for the cache and works out its
/// lifetime. `None` when it must not be cached: an rcode other than NOERROR
/// or NXDOMAIN, a negative answer without SOA, a lifetime of 0, or a body
/// that does not walk or is too long for 16-bit TTL offsets.
pub fn prepare(body: &mut [u8], rcode: Rcode, c: &CacheConfig) -> Option<Prepared> {
    let s = wire::sections(body)?;
    let recs = wire::records(body)?;
    let ttl_offsets = recs
        .iter()
        .map(|r| u16::try_from(r.ttl_at).ok())
        .collect::<Option<Box<[u16]>>>()?;
    let negative = rcode == Rcode::NxDomain || !s.has_qtype_answer;
    let (lifetime, policy) = match rcode {
        Rcode::NoError | Rcode::NxDomain if negative => {
            let n = s.negative_ttl?.min(c.max_negative_ttl).min(c.max_ttl);
            // A chain before the negative part expires with its CNAMEs.
            let chain = s.min_answer_ttl.map(|a| a.min(c.max_ttl));
            let policy = Policy::Negative {
                negative: n,
                max: c.max_ttl,
            };
            (chain.map_or(n, |a| a.min(n)), policy)
        }
        Rcode::NoError => {
            let lifetime = clamp_ttl(s.min_answer_ttl?, c.min_ttl, c.max_ttl);
            let policy = Policy::Positive {
                min: c.min_ttl,
                max: c.max_ttl,
            };
            (lifetime, policy)
        }
        _ => return None,
    };
    if lifetime == 0 {
        return None;
    }
    for r in &recs {
        if let Some(field) = body.get_mut(r.ttl_at..r.ttl_at + 4) {
            let ttl = u32::from_be_bytes([field[0], field[1], field[2], field[3]]);
            field.copy_from_slice(&policy.ttl(r, ttl).to_be_bytes());
        }
    }
    Some(Prepared {
        lifetime,
        ttl_offsets,
    })
}

/// How the TTL of each record of a stored answer is rewritten.
enum Policy {
    Positive { min: u32, max: u32 },
    Negative { negative: u32, max: u32 },
}

impl Policy {
    fn ttl(&self, r: &wire::RecordAt, ttl: u32) -> u32 {
        match *self {
            Policy::Positive { min, max } => clamp_ttl(ttl, min, max),
            Policy::Negative { negative, .. } if r.section == 1 || r.rtype == rtype::SOA => {
                ttl.min(negative)
            }
            Policy::Negative { max, .. } => ttl.min(max),
        }
    }
}

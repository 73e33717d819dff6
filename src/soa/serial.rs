//! SOA serial numbers: RFC 1982 comparison, and the rule that picks a zone's
//! next serial. Pure functions, used by the snapshot when it is built and by
//! the transfer code (`xfr`) when it compares a secondary's serial with ours.

/// RFC 1982 §3.2: `a` is less than `b` when `b` is ahead of `a` by less than
/// 2^31 going round the 32-bit circle. Serials exactly 2^31 apart compare
/// neither way.
pub fn lt(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < 1 << 31
}

pub fn gt(a: u32, b: u32) -> bool {
    lt(b, a)
}

/// What a zone had before: its serial and the hash of its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prior {
    pub serial: u32,
    pub hash: u64,
}

/// The serial for a zone whose data hashes to `hash`. Unchanged data keeps
/// its serial (so secondaries do not transfer again after a restart or an
/// edit elsewhere); changed data moves to the clock (`now`, seconds since the
/// epoch, BIND's `serial-update-method unixtime`) when that is ahead in RFC
/// 1982 order, else one past the old serial. Either way the new serial is
/// greater than the old one in RFC 1982 order (an increment below 2^31).
pub fn next(prior: Option<Prior>, hash: u64, now: u32) -> u32 {
    match prior {
        Some(p) if p.hash == hash => p.serial,
        Some(p) if gt(now, p.serial) => now,
        Some(p) => p.serial.wrapping_add(1),
        None => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1982_order_wraps() {
        assert!(lt(1, 2));
        assert!(!lt(2, 1));
        assert!(!lt(5, 5));
        assert!(lt(u32::MAX, 0), "0 follows 4294967295");
        assert!(lt(u32::MAX - 10, 5));
        assert!(gt(5, u32::MAX - 10));
        assert!(lt(0, (1 << 31) - 1));
        // Exactly 2^31 apart: undefined, neither less nor greater.
        assert!(!lt(0, 1 << 31) && !gt(0, 1 << 31));
    }

    #[test]
    fn next_serial_keeps_follows_the_clock_or_steps() {
        let p = Prior {
            serial: 1_700_000_000,
            hash: 7,
        };
        assert_eq!(next(Some(p), 7, 1_800_000_000), 1_700_000_000);
        assert_eq!(next(Some(p), 8, 1_800_000_000), 1_800_000_000);
        // Two changes in one second, or a clock set back: one step.
        assert_eq!(next(Some(p), 8, 1_700_000_000), 1_700_000_001);
        assert_eq!(next(Some(p), 8, 1_600_000_000), 1_700_000_001);
        assert_eq!(next(None, 8, 1_600_000_000), 1_600_000_000);
        // Past the top of the circle.
        let top = Prior {
            serial: u32::MAX,
            hash: 1,
        };
        let after = next(Some(top), 2, 5);
        assert_eq!(after, 5);
        assert!(gt(after, u32::MAX));
        // 1.8e9 is ahead of 4e9 (by 2.09e9 < 2^31, round the circle), but
        // behind 3e9 (by 3.09e9): the clock, then a step.
        let p = |serial| Prior { serial, hash: 1 };
        assert_eq!(
            next(Some(p(4_000_000_000)), 2, 1_800_000_000),
            1_800_000_000
        );
        assert_eq!(
            next(Some(p(3_000_000_000)), 2, 1_800_000_000),
            3_000_000_001
        );
    }
}

//! When one source pulls: a full pull at start-up and then every
//! `interval_s` (sooner after a failure, backing off from `min_interval_s`),
//! and an early pull when a miss asks for one, at most one every
//! `min_interval_s`. Misses that come while a pull runs or inside the
//! interval leave one early pull pending, never a queue. Plain arithmetic
//! on instants, so the rules are tested without a clock.

use std::time::{Duration, Instant};

/// Why a pull runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Start-up, the interval, or a retry after a failure.
    Scheduled,
    /// A name was missed in a zone this source feeds.
    Early,
}

/// What the task does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Pull(Kind),
    /// Nothing is due before this instant (unless an early pull is asked
    /// for meanwhile).
    Wait(Instant),
}

#[derive(Debug, Clone)]
pub struct Schedule {
    interval: Duration,
    min_interval: Duration,
    /// When the next scheduled pull is due.
    due: Instant,
    /// When the last early pull started.
    last_early: Option<Instant>,
    /// Failed pulls in a row.
    failures: u32,
}

impl Schedule {
    /// The first pull is due at `now`.
    pub fn new(now: Instant, interval: Duration, min_interval: Duration) -> Schedule {
        Schedule {
            interval,
            min_interval,
            due: now,
            last_early: None,
            failures: 0,
        }
    }

    /// When an early pull asked for now may start.
    fn early_at(&self, now: Instant) -> Instant {
        match self.last_early {
            Some(t) => (t + self.min_interval).max(now),
            None => now,
        }
    }

    /// What to do at `now`; `early`: an early pull is pending.
    pub fn next(&self, now: Instant, early: bool) -> Next {
        if early && self.early_at(now) <= now {
            return Next::Pull(Kind::Early);
        }
        if self.due <= now {
            return Next::Pull(Kind::Scheduled);
        }
        match early {
            true => Next::Wait(self.due.min(self.early_at(now))),
            false => Next::Wait(self.due),
        }
    }

    /// A pull of `kind` starts at `now`. Any pull is a full pull, so the
    /// next scheduled one is counted from here.
    pub fn started(&mut self, kind: Kind, now: Instant) {
        if kind == Kind::Early {
            self.last_early = Some(now);
        }
        self.due = now + self.interval;
    }

    /// The pull that started at `started` ended. After a failure the next
    /// try comes sooner than the interval: `min_interval_s`, doubling per
    /// failure in a row, never later than the interval.
    pub fn finished(&mut self, ok: bool, started: Instant) {
        if ok {
            self.failures = 0;
            return;
        }
        let backoff = self
            .min_interval
            .saturating_mul(1u32 << self.failures.min(16));
        self.failures = self.failures.saturating_add(1);
        self.due = started + backoff.min(self.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn scheduled_pulls_come_every_interval() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 300 * S, 30 * S);
        assert_eq!(s.next(t0, false), Next::Pull(Kind::Scheduled));
        s.started(Kind::Scheduled, t0);
        s.finished(true, t0);
        assert_eq!(s.next(t0 + S, false), Next::Wait(t0 + 300 * S));
        assert_eq!(s.next(t0 + 300 * S, false), Next::Pull(Kind::Scheduled));
    }

    #[test]
    fn early_pulls_are_one_per_min_interval() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 3600 * S, 30 * S);
        s.started(Kind::Scheduled, t0);
        s.finished(true, t0);
        // The first miss pulls at once, even right after the start-up pull.
        let t1 = t0 + S;
        assert_eq!(s.next(t1, true), Next::Pull(Kind::Early));
        s.started(Kind::Early, t1);
        s.finished(true, t1);
        // The next waits for the interval.
        let t2 = t1 + 5 * S;
        assert_eq!(s.next(t2, true), Next::Wait(t1 + 30 * S));
        assert_eq!(s.next(t1 + 30 * S, true), Next::Pull(Kind::Early));
        // Without a miss, nothing until the interval.
        assert_eq!(s.next(t2, false), Next::Wait(t1 + 3600 * S));
    }

    #[test]
    fn an_early_pull_moves_the_next_scheduled_one() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 100 * S, 10 * S);
        s.started(Kind::Scheduled, t0);
        s.finished(true, t0);
        s.started(Kind::Early, t0 + 50 * S);
        s.finished(true, t0 + 50 * S);
        assert_eq!(s.next(t0 + 60 * S, false), Next::Wait(t0 + 150 * S));
    }

    #[test]
    fn failures_retry_sooner_backing_off_up_to_the_interval() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 300 * S, 30 * S);
        let mut at = t0;
        let mut waits = Vec::new();
        for _ in 0..6 {
            s.started(Kind::Scheduled, at);
            s.finished(false, at);
            let Next::Wait(next) = s.next(at, false) else {
                panic!("a failure is not retried at once");
            };
            waits.push((next - at).as_secs());
            at = next;
        }
        assert_eq!(waits, [30, 60, 120, 240, 300, 300]);
        s.started(Kind::Scheduled, at);
        s.finished(true, at);
        assert_eq!(s.next(at, false), Next::Wait(at + 300 * S));
    }

    #[test]
    fn a_short_interval_caps_the_retry() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 5 * S, 30 * S);
        s.started(Kind::Scheduled, t0);
        s.finished(false, t0);
        assert_eq!(s.next(t0, false), Next::Wait(t0 + 5 * S));
    }
}

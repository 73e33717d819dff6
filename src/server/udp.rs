//! The UDP front end: one OS thread per socket (the sockets of an address
//! share its port through SO_REUSEPORT, so the kernel spreads clients over
//! them). Each round takes every waiting datagram with one `recvmmsg`,
//! answers them against one snapshot load, and sends the replies with one
//! `sendmmsg`. Queries that need a forwarder go to the async runtime and
//! are answered from there.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tracing::debug;

use super::act::{Front, Received, Replier, Then};
use super::mmsg::{BATCH, Batch};
use super::panic::fault;
use crate::resolve::{Outcome, Transport, resolve};

/// Coalescing pause (opt-in, `[server] max_batch_delay_us`): how many
/// datagrams a round aims to take, and the shortest pause worth taking.
const TARGET_BATCH: f64 = 32.0;
const MIN_PAUSE: Duration = Duration::from_micros(50);

/// Paces the receive loop. By default it never holds a query back and
/// never spins: it blocks in `recvmmsg`, which returns at once with every
/// datagram already waiting, so under load every round takes them
/// together (natural batching, like a NIC's adaptive interrupt
/// moderation) and at moderate rates each datagram is answered the moment
/// it arrives. The two trades below are opt-in because each costs users
/// something (bench/compare.sh, README "Performance"):
///
/// - `busy_poll_us`: when datagrams come closer together than the budget,
///   poll the socket (non-blocking `recvmmsg`) for about two gaps before
///   blocking. The median drops (no wake-up), but the thread runs the
///   whole time it polls: from 40k q/s up it costs more CPU per query than
///   Unbound does.
/// - `max_batch_delay_us`: after a partial batch, sleep about the time
///   `TARGET_BATCH` datagrams take to arrive. Half the CPU per query at
///   moderate rates, for hundreds of microseconds on every answer.
struct Pace {
    last_round: Instant,
    /// Smoothed time between datagrams, seconds.
    gap: f64,
}

/// What the loop does before the next round.
enum Next {
    Block,
    Poll(Duration),
    Sleep(Duration),
}

impl Pace {
    fn new() -> Pace {
        Pace {
            last_round: Instant::now(),
            gap: 1e-3,
        }
    }

    /// After a round that took `received` datagrams, which began at `now`;
    /// `max_pause` and `max_poll` as configured (zero: never).
    fn next(
        &mut self,
        now: Instant,
        received: usize,
        max_pause: Duration,
        max_poll: Duration,
    ) -> Next {
        let elapsed = now.duration_since(self.last_round).as_secs_f64();
        self.last_round = now;
        let per = elapsed / received.max(1) as f64;
        self.gap = 0.8 * self.gap + 0.2 * per.min(1.0);
        if received >= BATCH {
            // More are waiting: a blocking receive returns at once.
            return Next::Block;
        }
        if !max_pause.is_zero() {
            let pause = Duration::from_secs_f64((TARGET_BATCH * self.gap).min(1.0));
            return Next::Sleep(pause.clamp(MIN_PAUSE.min(max_pause), max_pause));
        }
        let spin = Duration::from_secs_f64(2.0 * self.gap);
        if !max_poll.is_zero() && spin <= 2 * max_poll {
            Next::Poll(spin.min(max_poll))
        } else {
            Next::Block
        }
    }
}

/// How often an idle thread looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

pub struct Worker {
    pub sock: UdpSocket,
    pub front: Front,
    pub stop: Arc<AtomicBool>,
}

/// Sends a forwarded query's reply from the socket its query came in on.
struct UdpReply {
    sock: Arc<UdpSocket>,
    to: SocketAddr,
}

impl Replier for UdpReply {
    async fn reply(self, reply: Vec<u8>) {
        if let Err(e) = self.sock.send_to(&reply, self.to) {
            debug!(client = %self.to, error = %e, "udp send error");
        }
    }
}

/// Serves the socket until the stop flag is set. Should a round ever
/// panic, the panic is logged and counted and the loop entered again on
/// the same socket, with fresh buffers.
pub fn serve(w: Worker) {
    super::mmsg::grow_receive_buffer(&w.sock);
    if let Err(e) = w.sock.set_read_timeout(Some(STOP_POLL)) {
        debug!(error = %e, "cannot set the UDP read timeout");
    }
    let sock = Arc::new(w.sock);
    loop {
        let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            serve_loop(&sock, &w.front, &w.stop)
        }));
        match round {
            Ok(()) => return,
            Err(panic) => w.front.panicked(crate::stats::Worker::Udp, &panic),
        }
    }
}

fn serve_loop(sock: &Arc<UdpSocket>, front: &Front, stop: &AtomicBool) {
    let mut batch = Batch::new();
    let mut pace = Pace::new();
    let mut next = Next::Block;
    while !stop.load(Ordering::Relaxed) {
        front.state.udp_heartbeat.fetch_add(1, Ordering::Relaxed);
        let n = match receive(&mut batch, sock, next) {
            Ok(n) => n,
            Err(e) => {
                next = Next::Block;
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) {
                    // Per-packet errors (ICMP-induced ECONNREFUSED and the
                    // like); the pause keeps a persistent one from spinning.
                    debug!(error = %e, "udp receive error");
                    std::thread::sleep(Duration::from_millis(1));
                }
                continue;
            }
        };
        let at = Instant::now();
        let state = &front.state;
        let snap = state.snapshot();
        let cache = state.cache();
        for i in 0..n {
            let (packet, from, out) = batch.query(i);
            let Some(client) = from.socket_addr() else {
                continue;
            };
            fault::inject(crate::stats::Worker::Udp, packet);
            let transport = Transport::Udp;
            let outcome = resolve(
                &snap,
                cache.as_deref(),
                &state.stats,
                packet,
                client.ip(),
                transport,
                out,
            );
            let from = Received {
                client: client.ip(),
                transport,
                at,
            };
            let later = || UdpReply {
                sock: sock.clone(),
                to: client,
            };
            let then = match outcome {
                Outcome::Handover => front.handover(&snap, packet, from, out, later),
                outcome => front.act(&snap, outcome, from, out, later),
            };
            // `Then::Stream` is never given for UDP.
            if let Then::Send = then {
                batch.stage(i);
            }
        }
        if let Err(e) = batch.send(sock) {
            debug!(error = %e, "udp send error");
        }
        let udp = &snap.config.udp;
        next = pace.next(at, n, udp.max_batch_delay, udp.busy_poll);
        drop(snap);
    }
}

/// The next round's datagrams, waited for as `next` says.
fn receive(batch: &mut Batch, sock: &UdpSocket, next: Next) -> std::io::Result<usize> {
    match next {
        Next::Block => {}
        Next::Sleep(pause) => std::thread::sleep(pause),
        Next::Poll(budget) => {
            let until = Instant::now() + budget;
            loop {
                match batch.recv(sock, false) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    done => return done,
                }
                if Instant::now() >= until {
                    break;
                }
            }
        }
    }
    batch.recv(sock, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLL: Duration = Duration::from_micros(25);

    /// Feeds 50 rounds of `per_round` datagrams, `every` apart.
    fn settle(pace: &mut Pace, every: Duration, per_round: usize, max: Duration) -> Next {
        settle_polling(pace, every, per_round, max, Duration::ZERO)
    }

    fn settle_polling(
        pace: &mut Pace,
        every: Duration,
        per_round: usize,
        max: Duration,
        poll: Duration,
    ) -> Next {
        let mut now = pace.last_round;
        let mut next = Next::Block;
        for _ in 0..50 {
            now += every;
            next = pace.next(now, per_round, max, poll);
        }
        next
    }

    #[test]
    fn by_default_it_only_ever_blocks() {
        for gap in [1, 5, 20, 200, 5000] {
            let every = Duration::from_micros(gap);
            for per_round in [1, 8, BATCH] {
                let next = settle(&mut Pace::new(), every, per_round, Duration::ZERO);
                assert!(matches!(next, Next::Block), "{gap} us, {per_round}");
            }
        }
    }

    #[test]
    fn with_busy_poll_it_blocks_when_datagrams_are_further_apart_than_the_budget() {
        // 5k q/s: 200 us between datagrams.
        let every = Duration::from_micros(200);
        let next = settle_polling(&mut Pace::new(), every, 1, Duration::ZERO, POLL);
        assert!(matches!(next, Next::Block));
    }

    #[test]
    fn with_busy_poll_it_polls_about_two_gaps_when_they_are_close() {
        // 200k q/s: 5 us between datagrams.
        let every = Duration::from_micros(5);
        let next = settle_polling(&mut Pace::new(), every, 1, Duration::ZERO, POLL);
        let Next::Poll(budget) = next else {
            panic!("expected a poll")
        };
        assert!(budget >= Duration::from_micros(9) && budget <= Duration::from_micros(11));
        // 50k q/s: 20 us apart; two gaps are past the budget.
        let every = Duration::from_micros(20);
        let next = settle_polling(&mut Pace::new(), every, 1, Duration::ZERO, POLL);
        assert!(matches!(next, Next::Poll(b) if b == POLL));
    }

    #[test]
    fn the_opt_in_pause_stays_within_its_bounds() {
        let max = Duration::from_micros(400);
        // 5k q/s: 32 datagrams take 6.4 ms; the pause is capped.
        let next = settle(&mut Pace::new(), Duration::from_micros(200), 1, max);
        assert!(matches!(next, Next::Sleep(p) if p == max));
        // 1M q/s: 32 datagrams take 32 us; the floor is 50 us.
        let next = settle(&mut Pace::new(), Duration::from_micros(1), 1, max);
        assert!(matches!(next, Next::Sleep(p) if p == MIN_PAUSE));
    }
}

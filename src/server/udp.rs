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

/// How the loop waits for the next datagrams (see `Pace`).
const SPIN_MAX: Duration = Duration::from_micros(25);
/// Coalescing pause (opt-in, `[server] max_batch_delay_us`): how many
/// datagrams a round aims to take, and the shortest pause worth taking.
const TARGET_BATCH: f64 = 32.0;
const MIN_PAUSE: Duration = Duration::from_micros(50);

/// Paces the receive loop without ever holding a query back.
///
/// A thread that blocks in `recvmmsg` pays for going to sleep and being
/// woken (scheduler, cold caches) on every round; at low rates that is
/// most of a query's cost, and nothing but waiting could batch it away.
/// When datagrams come in faster than that cost, the loop instead polls
/// the socket (non-blocking `recvmmsg`) for about two gaps, at most
/// `SPIN_MAX`, before it blocks: the next datagram is taken at once, on
/// a warm core. Under load every round finds datagrams waiting and takes
/// them together (natural batching, like a NIC's adaptive interrupt
/// moderation): no pause is ever needed for that.
///
/// `max_batch_delay_us` (off by default) adds the old trade for sites that
/// prefer CPU to latency: after a partial batch, sleep about the time
/// `TARGET_BATCH` datagrams take to arrive.
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

    /// After a round that took `received` datagrams, which began at `now`.
    fn next(&mut self, now: Instant, received: usize, max_pause: Duration) -> Next {
        let elapsed = now.duration_since(self.last_round).as_secs_f64();
        self.last_round = now;
        let per = elapsed / received.max(1) as f64;
        self.gap = 0.8 * self.gap + 0.2 * per.min(1.0);
        if received >= BATCH {
            return Next::Poll(SPIN_MAX);
        }
        if !max_pause.is_zero() {
            let pause = Duration::from_secs_f64((TARGET_BATCH * self.gap).min(1.0));
            return Next::Sleep(pause.clamp(MIN_PAUSE.min(max_pause), max_pause));
        }
        let spin = Duration::from_secs_f64(2.0 * self.gap);
        if spin <= 2 * SPIN_MAX {
            Next::Poll(spin.min(SPIN_MAX))
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
        next = pace.next(at, n, snap.config.udp.max_batch_delay);
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

    /// Feeds `rounds` rounds of `per_round` datagrams, `every` apart.
    fn settle(pace: &mut Pace, every: Duration, per_round: usize, max: Duration) -> Next {
        let mut now = pace.last_round;
        let mut next = Next::Block;
        for _ in 0..50 {
            now += every;
            next = pace.next(now, per_round, max);
        }
        next
    }

    #[test]
    fn blocks_when_datagrams_are_further_apart_than_a_wake_up() {
        // 5k q/s: 200 us between datagrams.
        let next = settle(
            &mut Pace::new(),
            Duration::from_micros(200),
            1,
            Duration::ZERO,
        );
        assert!(matches!(next, Next::Block));
    }

    #[test]
    fn polls_about_two_gaps_when_they_are_close() {
        // 200k q/s: 5 us between datagrams.
        let next = settle(
            &mut Pace::new(),
            Duration::from_micros(5),
            1,
            Duration::ZERO,
        );
        let Next::Poll(budget) = next else {
            panic!("expected a poll")
        };
        assert!(budget >= Duration::from_micros(9) && budget <= Duration::from_micros(11));
        // 50k q/s: 20 us apart; two gaps are past the cap.
        let next = settle(
            &mut Pace::new(),
            Duration::from_micros(20),
            1,
            Duration::ZERO,
        );
        assert!(matches!(next, Next::Poll(b) if b == SPIN_MAX));
    }

    #[test]
    fn a_full_batch_polls_whatever_the_history() {
        let mut pace = Pace::new();
        settle(&mut pace, Duration::from_millis(5), 1, Duration::ZERO);
        let now = pace.last_round + Duration::from_millis(5);
        assert!(matches!(
            pace.next(now, BATCH, Duration::ZERO),
            Next::Poll(_)
        ));
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

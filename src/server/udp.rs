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

/// Coalescing (see `Pacer`): how many datagrams a round aims to take, and
/// shortest pause worth taking. The longest is `[server] max_batch_delay_us`,
/// the most latency batching adds to a query.
const TARGET_BATCH: f64 = 32.0;
const MIN_PAUSE: Duration = Duration::from_micros(50);

/// Paces the receive loop. Each wake-up (a datagram arriving at a blocked
/// thread, or the end of a pause) costs several times what answering a
/// query does, so at moderate rates the loop pauses after a partial batch
/// for about the time `TARGET_BATCH` datagrams take to arrive at the rate
/// seen lately; at high rates batches come back full and it never pauses.
struct Pacer {
    last_round: Instant,
    /// Smoothed arrival rate, datagrams per second.
    rate: f64,
}

impl Pacer {
    fn new() -> Pacer {
        Pacer {
            last_round: Instant::now(),
            rate: 0.0,
        }
    }

    fn pause_after(&mut self, received: usize, max: Duration) -> Option<Duration> {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last_round).as_secs_f64().max(1e-6);
        self.last_round = now;
        self.rate = 0.8 * self.rate + 0.2 * (received as f64 / elapsed);
        if received >= BATCH || max.is_zero() {
            return None;
        }
        let pause = Duration::from_secs_f64((TARGET_BATCH / self.rate.max(1.0)).min(1.0));
        Some(pause.clamp(MIN_PAUSE.min(max), max))
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
    let mut pacer = Pacer::new();
    while !stop.load(Ordering::Relaxed) {
        front.state.udp_heartbeat.fetch_add(1, Ordering::Relaxed);
        let n = match batch.recv(sock) {
            Ok(n) => n,
            Err(e) => {
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
        let max_pause = snap.config.max_batch_delay;
        drop(snap);
        if let Some(pause) = pacer.pause_after(n, max_pause) {
            std::thread::sleep(pause);
        }
    }
}

//! The UDP front end: one OS thread per socket (the sockets of an address
//! share its port through SO_REUSEPORT, so the kernel spreads clients over
//! them). Each round takes every waiting datagram with one `recvmmsg`,
//! answers them against one snapshot load, and sends the replies with one
//! `sendmmsg`. Queries that need a forwarder go to the async runtime and
//! are answered from there.

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tracing::debug;

use super::mmsg::{BATCH, Batch};
use crate::resolve::{Action, Transport, complete, resolve, servfail};
use crate::state::State;

/// Longest wait added to a query by batching (see `serve`).
const COALESCE: Duration = Duration::from_micros(100);

/// How often an idle thread looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

pub struct Worker {
    pub sock: UdpSocket,
    pub state: Arc<State>,
    pub inflight: Arc<Semaphore>,
    pub runtime: Handle,
    pub stop: Arc<AtomicBool>,
}

pub fn serve(w: Worker) {
    super::mmsg::grow_receive_buffer(&w.sock);
    if let Err(e) = w.sock.set_read_timeout(Some(STOP_POLL)) {
        debug!(error = %e, "cannot set the UDP read timeout");
    }
    let sock = Arc::new(w.sock);
    let mut batch = Batch::new();
    while !w.stop.load(Ordering::Relaxed) {
        let n = match batch.recv(&sock) {
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
        let snap = w.state.snapshot();
        let cache = w.state.cache();
        for i in 0..n {
            let (packet, from, out) = batch.query(i);
            let Some(client) = from.socket_addr() else {
                continue;
            };
            match resolve(
                &snap,
                cache.as_deref(),
                packet,
                client.ip(),
                Transport::Udp,
                out,
            ) {
                Action::Reply => batch.stage(i),
                Action::Drop => {}
                Action::Forward(_) => match w.inflight.clone().try_acquire_owned() {
                    Ok(permit) => {
                        // The task keeps this query's snapshot: one view to the end.
                        let snap = Arc::clone(&snap);
                        let (state, sock, packet) =
                            (w.state.clone(), sock.clone(), packet.to_vec());
                        w.runtime.spawn(async move {
                            let _permit = permit;
                            let cache = state.cache();
                            let reply = complete(
                                &snap,
                                &state.forwarder,
                                cache.as_deref(),
                                &packet,
                                Transport::Udp,
                            )
                            .await;
                            if let Err(e) = sock.send_to(&reply, client) {
                                debug!(%client, error = %e, "udp send error");
                            }
                        });
                    }
                    // Too many forwards in flight: fail fast rather than
                    // queue without bound.
                    Err(_) => {
                        servfail(&snap, packet, Transport::Udp, out);
                        batch.stage(i);
                    }
                },
            }
        }
        if let Err(e) = batch.send(&sock) {
            debug!(error = %e, "udp send error");
        }
        if n < BATCH {
            // Coalescing: a partial batch means packets trickle in one per
            // wake-up, and each wake-up costs more than answering. Pausing
            // briefly lets the next round take several at once; the pause
            // bounds the added latency, and a full batch skips it.
            std::thread::sleep(COALESCE);
        }
    }
}

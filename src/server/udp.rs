//! The UDP front end: one receive loop per socket (several sockets share a
//! port through SO_REUSEPORT), buffers reused across packets.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tracing::debug;

use tokio::sync::Semaphore;

use crate::resolve::{Action, Transport, complete, resolve, servfail};
use crate::state::State;

pub async fn serve(sock: Arc<UdpSocket>, state: Arc<State>, inflight: Arc<Semaphore>) {
    let mut buf = vec![0u8; 65_535];
    let mut out = Vec::with_capacity(4096);
    loop {
        let (n, peer) = match sock.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // Errors such as ICMP-induced ECONNREFUSED are per packet;
                // the pause keeps a persistent one from spinning a core.
                debug!(error = %e, "udp receive error");
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        let snap = state.snapshot();
        let cache = state.cache();
        let packet = &buf[..n];
        match resolve(
            &snap,
            cache.as_deref(),
            packet,
            peer.ip(),
            Transport::Udp,
            &mut out,
        ) {
            Action::Reply => {}
            Action::Drop => continue,
            Action::Forward(_) => match inflight.clone().try_acquire_owned() {
                Ok(permit) => {
                    // The task keeps this query's snapshot: one view to the end.
                    let snap = Arc::clone(&snap);
                    let (state, sock, packet) = (state.clone(), sock.clone(), packet.to_vec());
                    tokio::spawn(async move {
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
                        if let Err(e) = sock.send_to(&reply, peer).await {
                            debug!(%peer, error = %e, "udp send error");
                        }
                    });
                    continue;
                }
                // Too many forwards in flight: fail fast rather than queue
                // without bound.
                Err(_) => servfail(&snap, packet, Transport::Udp, &mut out),
            },
        }
        if let Err(e) = sock.send_to(&out, peer).await {
            debug!(%peer, error = %e, "udp send error");
        }
    }
}

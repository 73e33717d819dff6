//! The UDP front end: one receive loop per socket (several sockets share a
//! port through SO_REUSEPORT), buffers reused across packets.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tracing::debug;

use crate::resolve::{Action, Transport, resolve, servfail};
use crate::state::State;

pub async fn serve(sock: Arc<UdpSocket>, state: Arc<State>) {
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
        let packet = &buf[..n];
        match resolve(&snap, packet, peer.ip(), Transport::Udp, &mut out) {
            Action::Reply => {}
            Action::Drop => continue,
            Action::Forward(_job) => servfail(&snap, packet, Transport::Udp, &mut out),
        }
        if let Err(e) = sock.send_to(&out, peer).await {
            debug!(%peer, error = %e, "udp send error");
        }
    }
}

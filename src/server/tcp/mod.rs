//! The TCP front end (RFC 7766): the accept loop and the caps on open
//! connections ([`Registry`]); each connection is served by `conn.rs` (its
//! reader) and `writer.rs` (its one writer), and answers that are a
//! sequence of messages go through [`stream`].

mod conn;
mod registry;
pub mod stream;
mod writer;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::debug;

use super::act::Front;
use super::panic::CatchUnwind;
use crate::stats::{CloseReason, Worker};

pub use conn::PIPELINE;
pub use registry::Registry;

/// Accepts connections until the task is aborted. Should the loop itself
/// ever panic, it is logged, counted and entered again on the same socket.
pub async fn serve(listener: TcpListener, front: Front, registry: Arc<Registry>) {
    loop {
        match CatchUnwind::new(accept_loop(&listener, &front, &registry)).await {
            Ok(()) => return,
            Err(panic) => front.panicked(Worker::Tcp, &panic),
        }
    }
}

async fn accept_loop(listener: &TcpListener, front: &Front, registry: &Arc<Registry>) {
    let stats = &front.state.stats.tcp;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors, most likely: give closing
                // connections a moment rather than spin.
                debug!(error = %e, "tcp accept error");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let limits = front.state.snapshot().config.tcp.clone();
        let admitted = match registry.admit(peer.ip(), &limits) {
            Ok(a) => a,
            Err(why) => {
                stats.refused(why == registry::Refused::PerClient);
                // A reset tells the client at once and leaves no TIME_WAIT.
                let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                debug!(%peer, ?why, "tcp connection refused");
                continue;
            }
        };
        stats.opened();
        let front = front.clone();
        // Connections are not aborted with the accept loop: they finish
        // what they owe (see `Registry::drain`).
        tokio::spawn(async move {
            let conn = admitted.conn.clone();
            let why = match CatchUnwind::new(conn::serve(stream, front.clone(), conn)).await {
                Ok(why) => why,
                Err(panic) => {
                    front.panicked(Worker::Tcp, &panic);
                    CloseReason::Panic
                }
            };
            front.state.stats.tcp.closed(why);
            debug!(%peer, reason = why.label(), "tcp connection closed");
            drop(admitted);
        });
    }
}

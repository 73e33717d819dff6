//! The TCP front end (RFC 7766): length-prefixed messages, several queries
//! per connection answered in order, an idle timeout, and a bound on open
//! connections so a flood of idle sockets cannot exhaust file descriptors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, Notify, Semaphore};
use tracing::debug;

use super::act::{Front, Received, Replier, Then};
use crate::resolve::{Transport, resolve};

/// RFC 7766 §6.2.3 suggests a few seconds; 10 s serves slow clients without
/// letting idle ones pile up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CONNECTIONS: usize = 1024;

/// Open connections, so shutdown can wait for them.
#[derive(Default)]
pub struct Connections {
    open: AtomicUsize,
    closed: Notify,
}

impl Connections {
    pub async fn drain(&self, limit: Duration) {
        let wait = async {
            while self.open.load(Ordering::Acquire) > 0 {
                let notified = self.closed.notified();
                if self.open.load(Ordering::Acquire) == 0 {
                    break;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
    }
}

struct Guard(Arc<Connections>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        self.0.closed.notify_waiters();
    }
}

pub async fn serve(listener: TcpListener, front: Front, conns: Arc<Connections>) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                debug!(error = %e, "tcp accept error");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        conns.open.fetch_add(1, Ordering::AcqRel);
        let guard = Guard(conns.clone());
        let front = front.clone();
        // Connections are not aborted with the accept loop: they finish the
        // query in hand, bounded by the idle timeout.
        tokio::spawn(async move {
            let _permit = permit;
            let _guard = guard;
            if let Err(e) = connection(stream, peer.ip(), front).await {
                debug!(%peer, error = %e, "tcp connection closed");
            }
        });
    }
}

/// Writes a forwarded query's reply on its connection when it is ready.
struct TcpReply(Arc<Mutex<OwnedWriteHalf>>);

impl Replier for TcpReply {
    async fn reply(self, reply: Vec<u8>) {
        let _ = write_framed(&self.0, &reply).await;
    }
}

async fn write_framed(wr: &Mutex<OwnedWriteHalf>, msg: &[u8]) -> std::io::Result<()> {
    let mut framed = Vec::with_capacity(msg.len() + 2);
    framed.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    framed.extend_from_slice(msg);
    wr.lock().await.write_all(&framed).await
}

/// One connection. Local answers go out in order; forwarded ones are
/// answered as they complete (RFC 7766 §7 allows out-of-order replies),
/// so one slow upstream does not stall the pipeline behind it.
async fn connection(
    stream: TcpStream,
    client: std::net::IpAddr,
    front: Front,
) -> std::io::Result<()> {
    let state = front.state.clone();
    stream.set_nodelay(true)?;
    let (rd, wr) = stream.into_split();
    let wr = Arc::new(Mutex::new(wr));
    let mut rd = BufReader::new(rd);
    let mut msg = Vec::with_capacity(512);
    let mut out = Vec::with_capacity(4096);
    loop {
        let len = match tokio::time::timeout(IDLE_TIMEOUT, rd.read_u16()).await {
            Ok(Ok(len)) => len as usize,
            Ok(Err(_)) | Err(_) => return Ok(()),
        };
        msg.resize(len, 0);
        // A length prefix with no body behind it: give up after the timeout.
        match tokio::time::timeout(IDLE_TIMEOUT, rd.read_exact(&mut msg)).await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) | Err(_) => return Ok(()),
        }
        if state.stopping() {
            return Ok(());
        }
        let at = std::time::Instant::now();
        let snap = state.snapshot();
        let cache = state.cache();
        let transport = Transport::Tcp;
        let outcome = resolve(
            &snap,
            cache.as_deref(),
            &state.stats,
            &msg,
            client,
            transport,
            &mut out,
        );
        let from = Received {
            client,
            transport,
            at,
        };
        let later = || TcpReply(wr.clone());
        if front.act(&snap, outcome, from, &mut out, later) == Then::Nothing {
            continue;
        }
        write_framed(&wr, &out).await?;
    }
}

//! One TCP connection (RFC 7766): a reader that takes length-prefixed
//! queries and acts on each, and the writer (`writer.rs`) that sends what
//! they produce, in one task. Replies go out as they are ready: local ones
//! in order, forwarded ones when their upstream answers (§7 allows it).
//!
//! Bounds: at most [`PIPELINE`] queries of a connection are outstanding
//! (read and not yet written); at that point the reader stops reading until
//! one is written, so a client that sends without reading fills its own
//! socket buffers, not our memory (§6.2.1.2). A reply not written within
//! the idle timeout resets the connection. A connection with nothing
//! outstanding that has not sent a whole message within the idle timeout
//! is closed (§6.2.3), whether it sent nothing or stopped mid-message.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::Instant;

use super::stream::{STREAM_QUEUE, Streamer};
use super::writer::{Frame, write_loop};
use crate::resolve::{Outcome, Transport, resolve};
use crate::server::act::{Front, Received, Replier, Then};
use crate::server::panic::{CatchUnwind, fault};
use crate::stats::{CloseReason, Worker};

/// Queries of one connection outstanding at once; BIND's netmgr stops
/// reading a connection at 23 (`STREAM_CLIENTS_PER_CONN`). A stream holds
/// one of these while it runs.
pub const PIPELINE: usize = 23;

/// Every frame the reader, forwards and a stream may queue at once.
const QUEUE: usize = PIPELINE + STREAM_QUEUE;

/// What the registry and the connection's parts share.
pub(crate) struct Conn {
    pub peer: IpAddr,
    /// Places among the outstanding queries (and streams).
    slots: Arc<Semaphore>,
    epoch: std::time::Instant,
    /// Milliseconds since `epoch` of the last message read or written.
    last_active: AtomicU64,
    evicted: AtomicBool,
    evict: Notify,
    shutdown: watch::Receiver<bool>,
}

impl Conn {
    pub(super) fn new(
        peer: IpAddr,
        epoch: std::time::Instant,
        shutdown: watch::Receiver<bool>,
    ) -> Conn {
        let c = Conn {
            peer,
            slots: Arc::new(Semaphore::new(PIPELINE)),
            epoch,
            last_active: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
            shutdown,
        };
        c.touch();
        c
    }

    pub(super) fn touch(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_active.store(ms, Ordering::Relaxed);
    }

    pub(super) fn last_active(&self) -> u64 {
        self.last_active.load(Ordering::Relaxed)
    }

    /// Nothing outstanding: no query in hand, no reply unwritten, no stream.
    pub(super) fn is_idle(&self) -> bool {
        self.slots.available_permits() == PIPELINE && !self.is_evicted()
    }

    pub(super) fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Closes the connection (the registry already counts it gone).
    pub(super) fn evict(&self) {
        self.evicted.store(true, Ordering::Relaxed);
        self.evict.notify_one();
    }

    #[cfg(test)]
    pub(super) fn slots(&self) -> Arc<Semaphore> {
        self.slots.clone()
    }
}

/// Serves one connection until it closes, and says why it did.
pub(super) async fn serve(stream: TcpStream, front: Front, conn: Arc<Conn>) -> CloseReason {
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let (queue, frames) = mpsc::channel(QUEUE);
    let reader = read_loop(rd, queue, &front, &conn);
    let writer = write_loop(wr, frames, &conn);
    tokio::pin!(reader, writer);
    tokio::select! {
        // The reader is done: what is owed still goes out (bounded by the
        // write deadline and the forwards' own deadline), then we close.
        why = &mut reader => match writer.await {
            Ok(()) => why,
            Err(w) => w,
        },
        // The writer failed or stalled: drop everything now.
        w = &mut writer => w.err().unwrap_or(CloseReason::Client),
    }
}

/// Writes a forwarded query's reply into its connection's queue when it is
/// ready. The forward's place among those in flight daemon-wide is given
/// back before this runs; what it holds is its own connection's slot.
struct TcpReply {
    queue: mpsc::Sender<Frame>,
    slot: Option<OwnedSemaphorePermit>,
    timeout: Duration,
}

impl Replier for TcpReply {
    async fn reply(self, reply: Vec<u8>) {
        let frame = Frame {
            msg: reply,
            timeout: self.timeout,
            hold: self.slot,
        };
        // Fails only when the connection is gone.
        let _ = self.queue.send(frame).await;
    }
}

async fn read_loop(
    mut rd: OwnedReadHalf,
    queue: mpsc::Sender<Frame>,
    front: &Front,
    conn: &Conn,
) -> CloseReason {
    let state = &front.state;
    let client = conn.peer;
    let mut framer = Framer::default();
    let mut out = Vec::with_capacity(4096);
    let mut shutdown = conn.shutdown.clone();
    loop {
        let idle = state.snapshot().config.tcp.idle_timeout;
        let mut deadline = Instant::now() + idle;
        let (start, end) = loop {
            if *shutdown.borrow_and_update() || state.stopping() {
                return CloseReason::Shutdown;
            }
            if let Some(range) = framer.complete() {
                break range;
            }
            tokio::select! {
                read = framer.fill(&mut rd) => match read {
                    Ok(0) | Err(_) => return CloseReason::Client,
                    Ok(_) => {}
                },
                () = tokio::time::sleep_until(deadline) => {
                    if conn.is_idle() {
                        return CloseReason::Idle;
                    }
                    // Replies are still owed: not idle yet.
                    deadline = Instant::now() + idle;
                }
                () = conn.evict.notified() => return CloseReason::Evicted,
                changed = shutdown.changed() => if changed.is_err() {
                    return CloseReason::Shutdown;
                },
            }
        };
        conn.touch();
        let Some(packet) = framer.buf.get(start..end) else {
            return CloseReason::Garbage;
        };
        fault::inject(Worker::Tcp, packet);
        // Backpressure: with every slot taken, read nothing more until a
        // reply is written.
        let slot = match conn.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                state.stats.tcp.paused();
                tokio::select! {
                    slot = conn.slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => return CloseReason::Client,
                    },
                    _ = shutdown.changed() => return CloseReason::Shutdown,
                }
            }
        };
        let at = std::time::Instant::now();
        let (then, slot, garbage) = {
            let snap = state.snapshot();
            let cache = state.cache();
            let transport = Transport::Tcp;
            let outcome = resolve(
                &snap,
                cache.as_deref(),
                &state.stats,
                packet,
                client,
                transport,
                &mut out,
            );
            let garbage = matches!(outcome, Outcome::Drop);
            let from = Received {
                client,
                transport,
                at,
            };
            let mut slot = Some(slot);
            let later = || TcpReply {
                queue: queue.clone(),
                slot: slot.take(),
                timeout: idle,
            };
            let then = match outcome {
                Outcome::Handover => front.handover(&snap, packet, from, &mut out, later),
                outcome => front.act(&snap, outcome, from, &mut out, later),
            };
            (then, slot, garbage)
        };
        framer.consume(end);
        match then {
            Then::Send => {
                // RFC 7766 leaves it open; a client whose query does not
                // parse is broken or hostile: it gets its FORMERR, then the
                // connection closes.
                let formerr = out.get(3).is_some_and(|b| b & 0x0F == 1);
                let frame = Frame {
                    msg: out.as_slice().to_vec(),
                    timeout: idle,
                    hold: slot,
                };
                if queue.send(frame).await.is_err() {
                    return CloseReason::Client;
                }
                if formerr {
                    return CloseReason::Garbage;
                }
            }
            // Shorter than a header, or a response: nothing to answer and
            // nothing to wait for.
            Then::Nothing if garbage => return CloseReason::Garbage,
            Then::Nothing => {}
            Then::Stream(streamer) => spawn_stream(streamer, &queue, slot, front),
        }
    }
}

/// Runs a stream in a task of its own, holding one of the connection's
/// slots until it ends, so that the connection is not idle meanwhile.
fn spawn_stream(
    streamer: Streamer,
    queue: &mpsc::Sender<Frame>,
    slot: Option<OwnedSemaphorePermit>,
    front: &Front,
) {
    let queue = queue.clone();
    let front = front.clone();
    tokio::spawn(async move {
        let _slot = slot;
        if let Err(panic) = CatchUnwind::new(streamer.run(queue)).await {
            front.panicked(Worker::Tcp, &panic);
        }
    });
}

/// Length-prefixed messages (RFC 1035 §4.2.2) read into one buffer. Reads
/// are cancel-safe: a read cut short by a timer or an eviction loses
/// nothing. The buffer grows to the largest message seen (at most
/// 65,537 bytes) and back to its first size once that message is consumed.
struct Framer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

const FRAMER_SIZE: usize = 4096;

impl Default for Framer {
    fn default() -> Self {
        Framer {
            buf: vec![0; FRAMER_SIZE],
            start: 0,
            end: 0,
        }
    }
}

impl Framer {
    /// The length prefix of the next message, once it is in.
    fn next_len(&self) -> Option<usize> {
        let b = self.buf.get(self.start..self.end)?;
        Some(usize::from(u16::from_be_bytes([*b.first()?, *b.get(1)?])))
    }

    /// The next whole message's range in `buf`, when it is all in.
    fn complete(&self) -> Option<(usize, usize)> {
        let len = self.next_len()?;
        let start = self.start + 2;
        (self.end >= start + len).then_some((start, start + len))
    }

    fn consume(&mut self, upto: usize) {
        self.start = upto.min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > FRAMER_SIZE {
                self.buf = vec![0; FRAMER_SIZE];
            }
        }
    }

    /// Reads more; Ok(0) at end of stream.
    async fn fill(&mut self, rd: &mut OwnedReadHalf) -> std::io::Result<usize> {
        let need = self.next_len().map_or(2, |len| len + 2);
        if self.start + need > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if need > self.buf.len() {
                self.buf.resize(need, 0);
            }
        }
        let n = rd.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }
}

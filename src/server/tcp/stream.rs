//! The hook for answers that are a sequence of messages on one TCP
//! connection (zone transfers, RFC 5936 §2.2): a [`Streamer`] is handed a
//! [`Sink`] that queues whole messages into the connection's writer.
//!
//! What the connection guarantees a stream: backpressure (`Sink::send`
//! waits while [`STREAM_QUEUE`] of its messages are unwritten, so a zone is
//! produced no faster than the client takes it, and memory stays bounded),
//! its own write deadline per message (longer than a reply's), a limit on
//! its total time, and no idle cut-off while it runs: the stream holds one
//! of the connection's outstanding slots until it returns. Other queries on
//! the same connection are still answered meanwhile, their messages placed
//! between the stream's (RFC 5936 §4.1.2 lets clients expect that).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::writer::Frame;

/// How long a client may take to accept one message of a stream before the
/// connection is reset: BIND's `max-transfer-idle-out` is 60 minutes; a
/// secondary that stalls for one minute mid-transfer is gone.
pub const STREAM_WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a stream may run: BIND's `max-transfer-time-out` default.
pub const STREAM_MAX_TIME: Duration = Duration::from_secs(120 * 60);
/// Messages of one stream queued at once.
pub const STREAM_QUEUE: usize = 4;

type Produce = Box<dyn FnOnce(Sink) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// A request answered by a sequence of messages. Built by whoever routes
/// the request (`Then::Stream` from `Front::act`); run by the TCP front end
/// in a task of its own, with the connection's [`Sink`].
pub struct Streamer {
    produce: Produce,
    write_timeout: Duration,
    max_time: Duration,
}

impl std::fmt::Debug for Streamer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streamer")
            .field("write_timeout", &self.write_timeout)
            .field("max_time", &self.max_time)
            .finish()
    }
}

impl Streamer {
    /// `produce` sends the messages through the sink and returns when done
    /// (or when `send` fails: the client is gone or too slow).
    pub fn new<F, Fut>(produce: F) -> Streamer
    where
        F: FnOnce(Sink) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Streamer {
            produce: Box::new(move |sink| Box::pin(produce(sink))),
            write_timeout: STREAM_WRITE_TIMEOUT,
            max_time: STREAM_MAX_TIME,
        }
    }

    /// How long the client may take to accept each message.
    pub fn write_timeout(mut self, d: Duration) -> Streamer {
        self.write_timeout = d;
        self
    }

    /// How long the whole stream may take; past it `send` fails.
    pub fn max_time(mut self, d: Duration) -> Streamer {
        self.max_time = d;
        self
    }

    /// Runs the stream on a connection's queue, within its time limit.
    pub(super) async fn run(self, queue: mpsc::Sender<Frame>) {
        // A limit too far to represent means none.
        let now = Instant::now();
        let until = now
            .checked_add(self.max_time)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400));
        let sink = Sink {
            queue,
            room: Arc::new(Semaphore::new(STREAM_QUEUE)),
            write_timeout: self.write_timeout,
            until,
        };
        let _ = tokio::time::timeout_at(until, (self.produce)(sink)).await;
    }
}

/// Why a message could not be queued; the stream should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SinkError {
    #[error("the connection is closed")]
    Closed,
    #[error("the client did not take the stream's messages in time")]
    Stalled,
    #[error("the stream ran past its time limit")]
    TooLong,
    #[error("a DNS message over TCP is at most 65,535 bytes")]
    TooLarge,
}

/// Where a [`Streamer`] puts its messages: the connection's writer queue.
pub struct Sink {
    queue: mpsc::Sender<Frame>,
    room: Arc<Semaphore>,
    write_timeout: Duration,
    until: Instant,
}

impl Sink {
    /// Queues one whole DNS message (without the TCP length prefix, which
    /// the writer adds), waiting while the stream's earlier messages are
    /// unwritten. An error means the stream should stop: nothing more will
    /// reach the client.
    pub async fn send(&mut self, msg: Vec<u8>) -> Result<(), SinkError> {
        if msg.len() > usize::from(u16::MAX) {
            return Err(SinkError::TooLarge);
        }
        if Instant::now() >= self.until {
            return Err(SinkError::TooLong);
        }
        // The writer resets a client that does not read within the write
        // timeout; waiting a little longer than that for room means the
        // connection is gone or going.
        let wait = self.write_timeout.saturating_mul(2);
        let hold = match tokio::time::timeout(wait, self.room.clone().acquire_owned()).await {
            Ok(Ok(hold)) => hold,
            Ok(Err(_)) => return Err(SinkError::Closed),
            Err(_) => return Err(SinkError::Stalled),
        };
        let frame = Frame {
            msg,
            timeout: self.write_timeout,
            hold: Some(hold),
        };
        match tokio::time::timeout(wait, self.queue.send(frame)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(SinkError::Closed),
            Err(_) => Err(SinkError::Stalled),
        }
    }

    /// True once the connection's writer is gone.
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }
}

//! The one writer of a TCP connection: it takes whole messages from the
//! connection's bounded queue and writes them, length-prefixed (RFC 1035
//! §4.2.2), coalescing what is queued into as few writes as it can. Each
//! write has a deadline: a client that does not read within it gets its
//! connection reset, so it never holds anything another client needs.

use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use super::conn::Conn;
use crate::stats::CloseReason;

/// One message for the client, unframed.
pub(crate) struct Frame {
    pub msg: Vec<u8>,
    /// How long the client may take to accept it.
    pub timeout: Duration,
    /// The place this message holds until it is written: the query's slot
    /// among the connection's outstanding ones, or a stream's queue place.
    /// Only its drop matters.
    #[allow(dead_code)]
    pub hold: Option<OwnedSemaphorePermit>,
}

/// Enough for a few dozen typical answers per write.
const WRITE_BUFFER: usize = 8 * 1024;

/// Writes until every sender is gone (Ok) or a write fails or misses its
/// deadline (the reason to close).
pub(super) async fn write_loop(
    wr: OwnedWriteHalf,
    mut queue: mpsc::Receiver<Frame>,
    conn: &Conn,
) -> Result<(), CloseReason> {
    let mut w = BufWriter::with_capacity(WRITE_BUFFER, wr);
    // Written but not flushed: their holds are released after the flush.
    let mut pending: Vec<Frame> = Vec::with_capacity(8);
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        let mut longest = Duration::ZERO;
        while let Some(frame) = next {
            longest = longest.max(frame.timeout);
            write_one(&mut w, &frame).await?;
            pending.push(frame);
            next = queue.try_recv().ok();
        }
        match tokio::time::timeout(longest, w.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(CloseReason::Client),
            Err(_) => return Err(stalled(&w)),
        }
        pending.clear();
        conn.touch();
    }
    let _ = w.shutdown().await;
    Ok(())
}

async fn write_one(w: &mut BufWriter<OwnedWriteHalf>, frame: &Frame) -> Result<(), CloseReason> {
    // Every producer keeps messages within 65,535 bytes; one that did not
    // would desynchronise the stream, so it is not sent.
    let Ok(len) = u16::try_from(frame.msg.len()) else {
        return Ok(());
    };
    let write = async {
        w.write_all(&len.to_be_bytes()).await?;
        w.write_all(&frame.msg).await
    };
    match tokio::time::timeout(frame.timeout, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(CloseReason::Client),
        Err(_) => Err(stalled(w)),
    }
}

/// A client that stopped reading: reset the connection (SO_LINGER 0), so
/// the kernel frees the unsent data at once instead of retrying it for
/// minutes.
fn stalled(w: &BufWriter<OwnedWriteHalf>) -> CloseReason {
    let stream: &tokio::net::TcpStream = w.get_ref().as_ref();
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
    CloseReason::WriteTimeout
}

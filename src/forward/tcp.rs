//! One TCP exchange with one forwarder (RFC 7766): used when the UDP answer
//! came back truncated or larger than we allowed. A connection that sends
//! garbage is given up at once; messages for another ID or question are
//! counted and skipped.

use std::net::SocketAddr;

use hickory_proto::op::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::reply::{Discard, Discards, accept};
use super::{Failure, FailureLog, Question, TryError};

pub async fn exchange(
    server: SocketAddr,
    query: &[u8],
    q: Question<'_>,
    deadline: Instant,
    discards: &Discards,
    log: &FailureLog,
) -> Result<Message, TryError> {
    let id = u16::from_be_bytes([query[0], query[1]]);
    let len = u16::try_from(query.len()).map_err(|_| TryError::Garbage)?;
    let work = async {
        let mut s = TcpStream::connect(server)
            .await
            .map_err(TryError::Network)?;
        s.set_nodelay(true).map_err(TryError::Network)?;
        let mut framed = Vec::with_capacity(query.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(query);
        s.write_all(&framed).await.map_err(TryError::Network)?;
        let mut buf = Vec::new();
        loop {
            let len = s.read_u16().await.map_err(TryError::Network)? as usize;
            buf.resize(len, 0);
            s.read_exact(&mut buf).await.map_err(TryError::Network)?;
            match accept(&buf, id, q) {
                Ok(reply) => return Ok(reply),
                Err(Discard::Mismatched) => {
                    discards.count(Discard::Mismatched);
                    log.note(server, Failure::Discarded(Discard::Mismatched), || {
                        "discarded a TCP message that is not the answer to our query".into()
                    });
                }
                Err(why) => {
                    discards.count(why);
                    return Err(TryError::Garbage);
                }
            }
        }
    };
    tokio::time::timeout_at(deadline, work)
        .await
        .map_err(|_| TryError::Timeout)?
}

//! One TCP exchange with one forwarder (RFC 7766): used when the UDP answer
//! came back truncated.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Question, matches};

pub async fn exchange(
    server: SocketAddr,
    query: &[u8],
    q: Question<'_>,
    timeout: Duration,
) -> io::Result<Message> {
    let id = u16::from_be_bytes([query[0], query[1]]);
    let work = async {
        let mut s = TcpStream::connect(server).await?;
        s.set_nodelay(true)?;
        let mut framed = Vec::with_capacity(query.len() + 2);
        framed.extend_from_slice(&(query.len() as u16).to_be_bytes());
        framed.extend_from_slice(query);
        s.write_all(&framed).await?;
        loop {
            let len = s.read_u16().await? as usize;
            let mut buf = vec![0u8; len];
            s.read_exact(&mut buf).await?;
            if let Ok(reply) = Message::from_vec(&buf)
                && matches(&reply, id, q)
            {
                return Ok(reply);
            }
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "timed out"))?
}

//! One UDP exchange with one forwarder. A fresh socket per query gives a
//! kernel-chosen random source port (RFC 5452 §9.2: Linux picks ephemeral
//! UDP ports at random); `connect` makes the kernel drop datagrams from any
//! other address; replies with the wrong ID or question are ignored and the
//! wait goes on until the timeout.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::Message;
use tokio::net::UdpSocket;

use super::{Question, matches};

pub async fn exchange(
    server: SocketAddr,
    query: &[u8],
    q: Question<'_>,
    timeout: Duration,
) -> io::Result<Message> {
    let id = u16::from_be_bytes([query[0], query[1]]);
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(local).await?;
    sock.connect(server).await?;
    sock.send(query).await?;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = vec![0u8; 65_535];
    loop {
        let n = tokio::time::timeout_at(deadline, sock.recv(&mut buf))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "timed out"))??;
        if let Ok(reply) = Message::from_vec(&buf[..n])
            && matches(&reply, id, q)
        {
            return Ok(reply);
        }
    }
}

//! One UDP exchange with one forwarder. A fresh socket per query gives a
//! kernel-chosen random source port (RFC 5452 §9.2: Linux picks ephemeral
//! UDP ports at random); `connect` makes the kernel drop datagrams from any
//! other address. Datagrams that are not the answer (garbage, another ID
//! or question) are counted and ignored, and the wait goes on until the
//! try's deadline: a spoofer cannot end the try early.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use hickory_proto::op::Message;
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::reply::{Discard, Discards, accept};
use super::{Failure, FailureLog, Question, TryError};

/// `advertised`: the payload size our query allowed; a longer datagram
/// carrying our ID is discarded as oversized and the caller asks over TCP.
pub async fn exchange(
    server: SocketAddr,
    query: &[u8],
    q: Question<'_>,
    advertised: u16,
    deadline: Instant,
    discards: &Discards,
    log: &FailureLog,
) -> Result<Message, TryError> {
    let id = u16::from_be_bytes([query[0], query[1]]);
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(local).await.map_err(TryError::Network)?;
    sock.connect(server).await.map_err(TryError::Network)?;
    sock.send(query).await.map_err(TryError::Network)?;
    // One byte more than allowed: a longer datagram is cut there and shows
    // as oversized without a 64 KiB buffer per query.
    let mut buf = vec![0u8; advertised as usize + 1];
    loop {
        let n = tokio::time::timeout_at(deadline, sock.recv(&mut buf))
            .await
            .map_err(|_| TryError::Timeout)?
            .map_err(TryError::Network)?;
        let datagram = &buf[..n];
        if n > advertised as usize {
            // Ours (our ID, QR set) or not, it never reaches anyone.
            let ours = n >= 3 && datagram[..2] == id.to_be_bytes() && datagram[2] & 0x80 != 0;
            if ours {
                discards.count(Discard::Oversized);
                return Err(TryError::Oversized);
            }
            discard(server, Discard::Mismatched, n, discards, log);
            continue;
        }
        match accept(datagram, id, q) {
            Ok(reply) => return Ok(reply),
            Err(why) => discard(server, why, n, discards, log),
        }
    }
}

/// Counts and logs (rate-limited) a datagram that is not our answer.
fn discard(server: SocketAddr, why: Discard, len: usize, discards: &Discards, log: &FailureLog) {
    discards.count(why);
    log.note(server, Failure::Discarded(why), || {
        format!(
            "discarded a {len}-byte UDP message ({}): not the answer to our query",
            why.label()
        )
    });
}

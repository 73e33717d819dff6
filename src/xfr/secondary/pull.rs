//! Asking a primary: its SOA (over UDP, again over TCP when truncated) and
//! a transfer over TCP (IXFR from our serial, or AXFR), every message of the
//! answer verified with the zone's key when it has one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::PullError;
use super::reader::{Answer, Reader};
use crate::name::Name;
use crate::wire::rtype;
use crate::xfr::msg::kind::{AXFR, IXFR};
use crate::xfr::msg::read::{Header, Parsed};
use crate::xfr::msg::{Data, MessageWriter};
use crate::xfr::notify::unix_now;
use crate::xfr::rdata;
use crate::xfr::tsig::Key;
use crate::xfr::tsig::sign::{AnswerError, ClientSequence, sign_request};
use crate::xfr::zone::Rr;

/// How long a pull may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// An SOA query, and connecting.
    pub query: Duration,
    /// Silence in the middle of a transfer.
    pub idle: Duration,
    /// A whole transfer.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            query: Duration::from_secs(3),
            idle: Duration::from_secs(30),
            total: Duration::from_secs(900),
        }
    }
}

/// A primary and the key to talk to it with.
#[derive(Debug, Clone, PartialEq)]
pub struct Primary {
    pub addr: SocketAddr,
    pub key: Option<Arc<Key>>,
}

fn sign(msg: &mut Vec<u8>, key: Option<&Arc<Key>>) -> Option<ClientSequence> {
    key.map(|k| sign_request(msg, k, unix_now()))
}

/// The primary's SOA for `zone`: what a refresh compares serials with.
pub async fn soa(primary: &Primary, zone: &Name, timeout: Duration) -> Result<Rr, PullError> {
    let id = rand::random::<u16>();
    let mut msg = MessageWriter::new(id, 0, Some((zone.wire(), rtype::SOA)), 512).finish();
    let mut verifier = sign(&mut msg, primary.key.as_ref());
    let answer = tokio::time::timeout(timeout, udp_exchange(primary.addr, &msg, id))
        .await
        .map_err(|_| PullError::Timeout("SOA query"))??;
    let answer = if Header::parse(&answer)?.truncated() {
        // A fresh request: the TSIG sequence starts again.
        let mut msg = MessageWriter::new(id, 0, Some((zone.wire(), rtype::SOA)), 512).finish();
        verifier = sign(&mut msg, primary.key.as_ref());
        tokio::time::timeout(timeout, tcp_exchange(primary.addr, &msg))
            .await
            .map_err(|_| PullError::Timeout("SOA query over TCP"))??
    } else {
        answer
    };
    check(&mut verifier, &answer)?;
    soa_of(&answer, zone, id)
}

/// Verifies one message of an answer. An error answer reports its rcode
/// (and the TSIG error the primary gave, if any) rather than "unsigned":
/// primaries refuse unsigned.
fn check(verifier: &mut Option<ClientSequence>, msg: &[u8]) -> Result<(), PullError> {
    let rcode = Header::parse(msg)?.rcode();
    match verifier {
        Some(v) => match v.verify(msg, unix_now()) {
            Err(e @ AnswerError::Rejected(_)) => Err(e.into()),
            Err(_) if rcode != 0 => Err(PullError::Rcode(rcode)),
            Err(e) => Err(e.into()),
            Ok(()) if rcode != 0 => Err(PullError::Rcode(rcode)),
            Ok(()) => Ok(()),
        },
        None if rcode != 0 => Err(PullError::Rcode(rcode)),
        None => Ok(()),
    }
}

fn soa_of(answer: &[u8], zone: &Name, id: u16) -> Result<Rr, PullError> {
    let p = Parsed::new(answer)?;
    if p.header.id != id || !p.header.is_response() {
        return Err(PullError::Protocol("answer to another query"));
    }
    if p.header.rcode() != 0 {
        return Err(PullError::Rcode(p.header.rcode()));
    }
    if !p.header.authoritative() {
        return Err(PullError::Protocol(
            "the primary is not authoritative for the zone",
        ));
    }
    for r in p.records() {
        let r = r?;
        if r.section == 0 && r.rtype == rtype::SOA && r.owner.wire() == zone.wire() {
            return Ok(Rr {
                owner: zone.clone(),
                rtype: rtype::SOA,
                ttl: r.ttl,
                rdata: rdata::canonical(answer, r.rdata_at, r.rdata.len(), rtype::SOA)?,
            });
        }
    }
    Err(PullError::Protocol("no SOA in the answer"))
}

async fn udp_exchange(to: SocketAddr, msg: &[u8], id: u16) -> Result<Vec<u8>, PullError> {
    let bind: SocketAddr = if to.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind).await?;
    socket.send_to(msg, to).await?;
    let mut buf = vec![0u8; 65_535];
    loop {
        let (len, from) = socket.recv_from(&mut buf).await?;
        // Only the answer to this query, from where we sent it.
        if from == to && Header::parse(&buf[..len]).is_ok_and(|h| h.id == id && h.is_response()) {
            return Ok(buf[..len].to_vec());
        }
    }
}

async fn tcp_exchange(to: SocketAddr, msg: &[u8]) -> Result<Vec<u8>, PullError> {
    let mut s = TcpStream::connect(to).await?;
    write_message(&mut s, msg).await?;
    read_message(&mut s).await
}

async fn write_message(s: &mut TcpStream, msg: &[u8]) -> Result<(), PullError> {
    let len = u16::try_from(msg.len()).map_err(|_| PullError::Protocol("request too long"))?;
    let mut framed = Vec::with_capacity(msg.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(msg);
    s.write_all(&framed).await?;
    Ok(())
}

async fn read_message(s: &mut TcpStream) -> Result<Vec<u8>, PullError> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await?;
    let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut msg).await?;
    Ok(msg)
}

/// What a transfer brought.
#[derive(Debug)]
pub struct Pulled {
    pub answer: Answer,
    pub messages: usize,
    pub records: usize,
    pub kind: &'static str,
}

/// Transfers `zone` from `primary`: IXFR from `ours` (our SOA) when given,
/// else AXFR.
pub async fn transfer(
    primary: &Primary,
    zone: &Name,
    ours: Option<&Rr>,
    t: &Timeouts,
) -> Result<Pulled, PullError> {
    let id = rand::random::<u16>();
    let qtype = if ours.is_some() { IXFR } else { AXFR };
    let mut w = MessageWriter::new(id, 0, Some((zone.wire(), qtype)), 65_535);
    if let Some(soa) = ours {
        w.section(1);
        w.push(
            soa.owner.wire(),
            rtype::SOA,
            soa.ttl,
            Data::Bytes(&soa.rdata),
        );
    }
    let mut msg = w.finish();
    let mut verifier = sign(&mut msg, primary.key.as_ref());
    let from = ours.and_then(|s| crate::xfr::msg::read::soa_serial(&s.rdata));
    let mut reader = Reader::new(zone.clone(), qtype, id, from);
    let run = async {
        let mut s = tokio::time::timeout(t.query, TcpStream::connect(primary.addr))
            .await
            .map_err(|_| PullError::Timeout("connecting"))??;
        write_message(&mut s, &msg).await?;
        loop {
            let m = tokio::time::timeout(t.idle, read_message(&mut s))
                .await
                .map_err(|_| PullError::Timeout("waiting for the next message"))??;
            check(&mut verifier, &m)?;
            if reader.feed(&m)? {
                break;
            }
        }
        if let Some(v) = &verifier {
            v.finish()?;
        }
        Ok::<(), PullError>(())
    };
    tokio::time::timeout(t.total, run)
        .await
        .map_err(|_| PullError::Timeout("the whole transfer"))??;
    let (messages, records) = (reader.messages, reader.record_count);
    Ok(Pulled {
        answer: reader.finish()?,
        messages,
        records,
        kind: if qtype == IXFR { "IXFR" } else { "AXFR" },
    })
}

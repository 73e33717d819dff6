//! The query log: one line per query when `[log] queries = true`, written
//! from the reply (its question and rcode), so it says what the client got.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::stats::{Label, Source, Transport};

/// Logs one answered query.
pub fn log_query(
    client: IpAddr,
    transport: Transport,
    reply: &[u8],
    source: Source,
    upstream: Option<SocketAddr>,
    took: Duration,
) {
    let (name, qtype) = question_of(reply);
    let outcome = Label::of(reply, source).label();
    let proto = transport.label();
    let latency_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    match upstream {
        Some(up) => {
            tracing::info!(target: "pldns::query", %client, proto = %proto, %name, qtype, outcome = %outcome, upstream = %up, latency_us, "query")
        }
        None => {
            tracing::info!(target: "pldns::query", %client, proto = %proto, %name, qtype, outcome = %outcome, latency_us, "query")
        }
    }
}

/// The question of a reply, for the query log: name text and type code.
fn question_of(reply: &[u8]) -> (String, u16) {
    let mut name = String::new();
    let mut at = crate::wire::HEADER_LEN;
    let mut wire = Vec::new();
    while let Some(&len) = reply.get(at) {
        if len == 0 || len & 0xC0 != 0 {
            break;
        }
        let Some(label) = reply.get(at + 1..at + 1 + len as usize) else {
            break;
        };
        wire.push(len);
        wire.extend(label.iter().map(u8::to_ascii_lowercase));
        at += 1 + len as usize;
    }
    wire.push(0);
    let _ = crate::name::write_text(&wire, &mut name);
    let qtype = reply
        .get(at + 1..at + 3)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    (name, qtype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_of_reads_name_and_type() {
        let mut reply = vec![0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        reply.extend_from_slice(b"\x03WWW\x07example\x03com\x00\x00\x1c\x00\x01");
        assert_eq!(question_of(&reply), ("www.example.com".to_string(), 28));
    }
}

//! A transfer request as a front end meets it: answered over UDP with one
//! message (AXFR refused, IXFR the lone SOA: RFC 1995 §2), streamed over
//! TCP message by message into whatever writes the connection, and counted
//! per zone (result, messages, bytes).

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use tracing::info;

use super::primary::{self, Outcome};
use super::replication::Replication;
use super::stats::{Kind, OutResult, ZoneStats};
use crate::snapshot::Snapshot;
use crate::wire::Rcode;

/// Where the messages of a transfer go: a TCP connection's writer, with
/// backpressure (each `send` resolves once the message is queued) and the
/// connection's deadlines (a secondary that stops reading fails `send`).
pub trait MessageSink {
    fn send(&mut self, msg: Vec<u8>) -> impl Future<Output = std::io::Result<()>> + Send;
}

/// The counters of the zone a request names, when it is one of ours (a
/// name the request makes up never becomes a counter), and its kind.
fn counters(rep: &Replication, snap: &Snapshot, packet: &[u8]) -> (Option<Arc<ZoneStats>>, Kind) {
    let Ok(req) = primary::request::parse(packet) else {
        return (None, Kind::Axfr);
    };
    let kind = match req.kind {
        primary::request::Kind::Axfr => Kind::Axfr,
        primary::request::Kind::Ixfr(_) => Kind::Ixfr,
    };
    let zone = snap
        .zone_of(req.zone.wire())
        .map(|zi| &snap.zones[zi].name)
        .filter(|name| name.wire() == req.zone.wire());
    (zone.map(|z| rep.stats.zone(z)), kind)
}

fn result(outcome: Outcome, complete: bool) -> OutResult {
    match outcome {
        Outcome::NotAuth => OutResult::NotAuth,
        Outcome::Refused | Outcome::BadTsig => OutResult::Refused,
        Outcome::FormErr => OutResult::Failed,
        Outcome::UpToDate | Outcome::Ixfr | Outcome::Axfr if complete => OutResult::Ok,
        Outcome::UpToDate | Outcome::Ixfr | Outcome::Axfr => OutResult::Failed,
    }
}

/// Answers a transfer request that came over UDP into `out` (left empty
/// when there is nothing to send).
pub fn over_udp(
    rep: &Replication,
    snap: &Snapshot,
    packet: &[u8],
    client: IpAddr,
    now: u64,
    out: &mut Vec<u8>,
) {
    let (mut transfer, outcome) = primary::respond(snap, &rep.journals, packet, client, false, now);
    out.clear();
    if let Some(msg) = transfer.next() {
        *out = msg;
    }
    let (stats, kind) = counters(rep, snap, packet);
    if let Some(z) = stats {
        z.transfer_out(kind, result(outcome, true), 1, out.len() as u64);
    }
}

/// Streams the answer to a transfer request that came over TCP into
/// `sink`, one message at a time (a message is built only when the one
/// before it is taken). Past [`super::replication::MAX_TRANSFERS_OUT`]
/// transfers at once, SERVFAIL. Returns false when the connection failed
/// and must be closed.
pub async fn over_tcp<S: MessageSink + Send>(
    rep: &Replication,
    snap: Arc<Snapshot>,
    packet: &[u8],
    client: IpAddr,
    now: u64,
    sink: &mut S,
) -> bool {
    let Ok(_place) = rep.transfers.clone().try_acquire_owned() else {
        info!(%client, "transfer refused for now: {} transfers out already", super::replication::MAX_TRANSFERS_OUT);
        let mut out = Vec::new();
        crate::wire::error_reply(&mut out, packet, Rcode::ServFail);
        return sink.send(out).await.is_ok();
    };
    let (stats, kind) = counters(rep, &snap, packet);
    let (transfer, outcome) = primary::respond(&snap, &rep.journals, packet, client, true, now);
    let (mut messages, mut bytes, mut complete) = (0u64, 0u64, true);
    let started = std::time::Instant::now();
    for msg in transfer {
        let len = msg.len() as u64;
        if let Err(e) = sink.send(msg).await {
            info!(%client, "transfer cut off after {messages} messages: {e}");
            complete = false;
            break;
        }
        messages += 1;
        bytes += len;
    }
    if let Some(z) = &stats {
        z.transfer_out(kind, result(outcome, complete), messages, bytes);
    }
    if matches!(outcome, Outcome::Axfr | Outcome::Ixfr) && complete {
        info!(
            %client,
            "{} sent: {messages} messages, {bytes} bytes in {} ms",
            kind.label().to_uppercase(),
            started.elapsed().as_millis()
        );
    }
    complete
}

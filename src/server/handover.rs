//! What [`crate::resolve`] hands over, routed to zone transfer
//! ([`crate::xfr`]), the same for both front ends: a NOTIFY (answered; a
//! listed primary's starts a refresh of the secondary zone), an AXFR or
//! IXFR (one message over UDP; over TCP a [`Streamer`] on the connection's
//! writer), and a TSIG-signed query (verified, answered by the normal path,
//! local or forwarded, and the answer signed).
//!
//! Who may ask: clients in `allow`, and beside them the secondaries in a
//! zone's `transfer_allow` and the primaries of secondary zones, whose
//! requests zone transfer checks zone by zone. Anyone else gets REFUSED.

use std::sync::Arc;

use super::act::{Front, Received, Replier, Then};
use super::tcp::stream::{Sink, Streamer};
use crate::resolve::{Outcome, Source, Transport, resolve};
use crate::snapshot::Snapshot;
use crate::wire::{self, Rcode, error_reply, parse_query};
use crate::xfr::notify::{self, unix_now};
use crate::xfr::outbound::{MessageSink, over_tcp};
use crate::xfr::signed::{self, Verified};
use crate::xfr::tsig::ServerSequence;

/// A transfer's messages into the connection's writer: backpressure, a
/// write deadline per message and a time limit are the connection's.
struct StreamSink(Sink);

impl MessageSink for StreamSink {
    async fn send(&mut self, msg: Vec<u8>) -> std::io::Result<()> {
        self.0.send(msg).await.map_err(std::io::Error::other)
    }
}

/// A forwarded signed query's answer, signed when it is ready.
struct SignedReply<R> {
    inner: R,
    signer: ServerSequence,
    limit: usize,
}

impl<R: Replier> Replier for SignedReply<R> {
    async fn reply(self, mut reply: Vec<u8>) {
        signed::seal(&mut reply, &self.signer, self.limit, unix_now());
        self.inner.reply(reply).await;
    }
}

/// True when `from` may reach zone transfer at all.
fn may_ask(snap: &Snapshot, from: &Received) -> bool {
    snap.is_allowed(from.client)
        || snap
            .config
            .zones
            .iter()
            .any(|z| z.transfer.allows(from.client) || z.transfer.is_primary(from.client))
}

impl Front {
    /// Acts on [`Outcome::Handover`] for `packet`, writing any reply into
    /// `out` (see [`Front::act`] for `later`).
    pub fn handover<R: Replier>(
        &self,
        snap: &Arc<Snapshot>,
        packet: &[u8],
        from: Received,
        out: &mut Vec<u8>,
        later: impl FnOnce() -> R,
    ) -> Then {
        let now = unix_now();
        out.clear();
        if !may_ask(snap, &from) {
            error_reply(out, packet, Rcode::Refused);
            self.answered(snap, from, out, Source::Own, None);
            return Then::Send;
        }
        if wire::opcode(packet) == Some(wire::OPCODE_NOTIFY) {
            return self.notify(snap, packet, from, now, out);
        }
        let Ok(q) = parse_query(packet) else {
            return Then::Nothing;
        };
        if crate::xfr::primary::is_transfer(q.qtype) {
            if from.transport == Transport::Tcp {
                let (state, snap) = (self.state.clone(), Arc::clone(snap));
                let (packet, client) = (packet.to_vec(), from.client);
                return Then::Stream(Streamer::new(move |sink| async move {
                    let mut sink = StreamSink(sink);
                    over_tcp(&state.xfr, snap, &packet, client, now, &mut sink).await;
                }));
            }
            crate::xfr::outbound::over_udp(&self.state.xfr, snap, packet, from.client, now, out);
            self.answered(snap, from, out, Source::Own, None);
            return if out.is_empty() {
                Then::Nothing
            } else {
                Then::Send
            };
        }
        let (stripped, signer) = match signed::verify(packet, &snap.config.tsig, now) {
            Verified::Signed { stripped, signer } => (stripped, signer),
            Verified::Rejected(msg) => {
                *out = msg;
                self.answered(snap, from, out, Source::Own, None);
                return if out.is_empty() {
                    Then::Nothing
                } else {
                    Then::Send
                };
            }
            // `resolve` saw a TSIG last; one that is not where RFC 8945
            // §5.1 wants it is malformed.
            Verified::Unsigned => {
                error_reply(out, packet, Rcode::FormErr);
                self.answered(snap, from, out, Source::Own, None);
                return Then::Send;
            }
        };
        let limit = parse_query(&stripped)
            .map(|q| crate::resolve::limit(from.transport, &q, snap))
            .unwrap_or(512);
        let cache = self.state.cache();
        let stats = &self.state.stats;
        let outcome = resolve(
            snap,
            cache.as_deref(),
            stats,
            &stripped,
            from.client,
            from.transport,
            out,
        );
        let outcome = match outcome {
            // A signed NOTIFY or transfer went its own way above.
            Outcome::Handover => {
                error_reply(out, &stripped, Rcode::Refused);
                Outcome::Reply(Source::Own)
            }
            o => o,
        };
        let later = || SignedReply {
            inner: later(),
            signer: signer.clone(),
            limit,
        };
        let then = self.act(snap, outcome, from, out, later);
        if let Then::Send = then {
            signed::seal(out, &signer, limit, now);
        }
        then
    }

    /// A NOTIFY: the answer, and for a listed primary's, a refresh.
    fn notify(
        &self,
        snap: &Snapshot,
        packet: &[u8],
        from: Received,
        now: u64,
        out: &mut Vec<u8>,
    ) -> Then {
        let (answer, refresh) = notify::handle(snap, packet, from.client, now);
        *out = answer;
        let xfr = &self.state.xfr;
        match refresh {
            Some(r) => {
                let zone = &snap.zones[r.zone].name;
                xfr.stats.zone(zone).notify_in(true);
                if !xfr.notified(zone, r.serial) {
                    tracing::debug!(%zone, "NOTIFY for a secondary zone whose task is not running yet");
                }
            }
            None if out.get(3).is_some_and(|b| b & 0x0F == Rcode::Refused as u8) => {
                // Refused: a secondary zone of ours, from a stranger.
                if let Ok(n) = notify::parse(packet)
                    && let Some(zi) = snap
                        .zone_of(n.zone.wire())
                        .filter(|&zi| snap.zones[zi].name.wire() == n.zone.wire())
                {
                    xfr.stats.zone(&snap.zones[zi].name).notify_in(false);
                }
            }
            None => {}
        }
        self.answered(snap, from, out, Source::Own, None);
        if out.is_empty() {
            Then::Nothing
        } else {
            Then::Send
        }
    }
}

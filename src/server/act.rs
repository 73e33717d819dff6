//! Acting on a query's [`Outcome`], the same for both front ends: count it,
//! log it, apply response rate limiting to UDP replies, and tell the front
//! end to send the reply now; or hand a forwarded query to the runtime with
//! a place among the forwards in flight (SERVFAIL at once when there is
//! none) and send its reply from there, the place given back first; or (a
//! zone transfer) hand the connection's writer to a [`Streamer`].

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tracing::error;

use super::panic::{CatchUnwind, Payload, fault, message};
use super::tcp::stream::Streamer;
use crate::metrics::log_query;
use crate::resolve::{Outcome, Pending, Source, Transport, rate_limit};
use crate::snapshot::Snapshot;
use crate::state::State;
use crate::stats::Worker;

/// Where a reply that is ready only later (a forwarded query's) goes.
pub trait Replier: Send + 'static {
    fn reply(self, reply: Vec<u8>) -> impl Future<Output = ()> + Send;
}

/// What the front end does after [`Front::act`].
#[must_use]
#[derive(Debug)]
pub enum Then {
    /// Send `out`, which holds the reply.
    Send,
    /// Nothing (dropped, rate limited, or the reply goes later through the
    /// `Replier`).
    Nothing,
    /// A reply of many messages (zone transfers): the TCP front end runs
    /// the streamer with this connection's writer (see
    /// [`super::tcp::stream`]). Only ever returned for TCP.
    Stream(Streamer),
}

/// Who sent a query, how, and when it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    pub client: IpAddr,
    pub transport: Transport,
    pub at: Instant,
}

/// What both front ends share to act on outcomes.
#[derive(Clone)]
pub struct Front {
    pub state: Arc<State>,
    /// Places among the forwards in flight.
    pub inflight: Arc<Semaphore>,
    pub runtime: Handle,
}

impl Front {
    /// Acts on what [`crate::resolve::resolve`] made of a query from `from`
    /// against `snap`, whose reply (if any) is in `out`. `later` makes the
    /// replier for a forwarded query; it is called only for those, so local
    /// answers and cache hits cost no allocation here.
    pub fn act<R: Replier>(
        &self,
        snap: &Snapshot,
        outcome: Outcome,
        from: Received,
        out: &mut Vec<u8>,
        later: impl FnOnce() -> R,
    ) -> Then {
        let stats = &self.state.stats;
        match outcome {
            Outcome::Reply(source) => {
                self.answered(snap, from, out, source, None);
                self.send_or_limit(snap, from, out)
            }
            Outcome::Drop => {
                stats.dropped();
                Then::Nothing
            }
            // The front ends route these to `Front::handover` instead.
            Outcome::Handover => {
                stats.dropped();
                Then::Nothing
            }
            Outcome::Forward(pending) => match self.inflight.clone().try_acquire_owned() {
                Ok(permit) => {
                    let front = self.clone();
                    let replier = later();
                    // What the client gets should the task panic.
                    let mut fallback = Vec::new();
                    pending.fail(&mut fallback);
                    self.runtime.spawn(async move {
                        let done = {
                            // The place among the forwards in flight is
                            // given back before the reply is written: a
                            // client that does not read holds only its own
                            // connection's resources.
                            let _permit = permit;
                            CatchUnwind::new(front.forward(pending, from)).await
                        };
                        let reply = match done {
                            Ok(reply) => reply,
                            Err(panic) => {
                                front.panicked(Worker::Forward, &panic);
                                Some(fallback)
                            }
                        };
                        if let Some(reply) = reply {
                            replier.reply(reply).await;
                        }
                    });
                    Then::Nothing
                }
                // Too many forwards in flight: fail fast rather than queue
                // without bound.
                Err(_) => {
                    stats.forward_rejected();
                    pending.fail(out);
                    self.answered(snap, from, out, Source::Own, None);
                    self.send_or_limit(snap, from, out)
                }
            },
        }
    }

    /// Response rate limiting (UDP only; one branch when it is off).
    fn send_or_limit(&self, snap: &Snapshot, from: Received, out: &mut Vec<u8>) -> Then {
        match &snap.rrl {
            Some(rrl)
                if from.transport == Transport::Udp
                    && !rate_limit(rrl, snap, from.client, out, from.at) =>
            {
                Then::Nothing
            }
            _ => Then::Send,
        }
    }

    /// Finishes a forwarded query, counts and logs it; `None` when rate
    /// limiting drops its reply.
    async fn forward(&self, pending: Box<Pending>, from: Received) -> Option<Vec<u8>> {
        fault::inject(Worker::Forward, pending.question_packet());
        let snap = Arc::clone(pending.snapshot());
        // An owned handle: the wait for upstream can be long.
        let cache = Option::clone(&self.state.cache());
        let mut done = pending
            .resume(&self.state.forwarder, cache.as_deref(), &self.state.stats)
            .await;
        self.answered(&snap, from, &done.reply, done.source, done.upstream);
        match self.send_or_limit(&snap, from, &mut done.reply) {
            Then::Send => Some(done.reply),
            _ => None,
        }
    }

    pub(super) fn answered(
        &self,
        snap: &Snapshot,
        from: Received,
        reply: &[u8],
        source: Source,
        upstream: Option<std::net::SocketAddr>,
    ) {
        let took = from.at.elapsed();
        self.state
            .stats
            .answered(from.transport, reply, source, took);
        if snap.config.log.queries {
            log_query(
                snap,
                from.client,
                from.transport,
                reply,
                source,
                upstream,
                took,
            );
        }
    }

    /// A worker's panic was caught: log and count it (`/healthz` reports
    /// it for a while); the caller carries on.
    pub fn panicked(&self, worker: Worker, panic: &Payload) {
        self.state.stats.panics.caught(worker);
        error!(
            worker = worker.label(),
            "a {} worker panicked: {}; it was restarted (please report this)",
            worker.label(),
            message(panic)
        );
    }
}

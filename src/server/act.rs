//! Acting on a query's [`Outcome`], the same for both front ends: count it,
//! log it, and tell the front end to send the reply now; or hand a forwarded
//! query to the runtime with a place among the forwards in flight (SERVFAIL
//! at once when there is none) and send its reply from there.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use crate::metrics::log_query;
use crate::resolve::{Outcome, Pending, Source, Transport};
use crate::snapshot::Snapshot;
use crate::state::State;

/// Where a reply that is ready only later (a forwarded query's) goes.
pub trait Replier: Send + 'static {
    fn reply(self, reply: Vec<u8>) -> impl Future<Output = ()> + Send;
}

/// What the front end does after [`Front::act`].
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub enum Then {
    /// Send `out`, which holds the reply.
    Send,
    /// Nothing (dropped, or the reply goes later through the `Replier`).
    Nothing,
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
                Then::Send
            }
            Outcome::Drop => {
                stats.dropped();
                Then::Nothing
            }
            Outcome::Forward(pending) => match self.inflight.clone().try_acquire_owned() {
                Ok(permit) => {
                    let front = self.clone();
                    let replier = later();
                    self.runtime.spawn(async move {
                        let _permit = permit;
                        let reply = front.forward(pending, from).await;
                        replier.reply(reply).await;
                    });
                    Then::Nothing
                }
                // Too many forwards in flight: fail fast rather than queue
                // without bound.
                Err(_) => {
                    stats.forward_rejected();
                    pending.fail(out);
                    self.answered(snap, from, out, Source::Own, None);
                    Then::Send
                }
            },
        }
    }

    /// Finishes a forwarded query and counts and logs it.
    async fn forward(&self, pending: Box<Pending>, from: Received) -> Vec<u8> {
        let snap = Arc::clone(pending.snapshot());
        let cache = self.state.cache();
        let done = pending
            .resume(&self.state.forwarder, cache.as_deref(), &self.state.stats)
            .await;
        self.answered(&snap, from, &done.reply, done.source, done.upstream);
        done.reply
    }

    fn answered(
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
}

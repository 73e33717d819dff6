//! Keeping workers alive: a panic in a UDP thread, a TCP task or a
//! forwarded query's task is caught where the worker starts, logged,
//! counted (`pldns_worker_panics_total`), reported by `/healthz`, and the
//! worker goes on (a UDP thread re-enters its loop on the same socket).
//! Nothing here should ever fire; it is the net under the "no panics on
//! input" rule, not a substitute for it.
//!
//! [`fault`] injects panics for the tests that show this, in debug builds
//! only.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A panic's payload.
pub type Payload = Box<dyn Any + Send>;

/// The message a panic was raised with, for the log.
pub fn message(panic: &Payload) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// A future whose panic comes out as `Err` instead of unwinding through
/// the task (and taking the task's other duties with it).
pub struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> CatchUnwind<F> {
    pub fn new(inner: F) -> Self {
        CatchUnwind(Box::pin(inner))
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Payload>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The inner future is never polled again after a panic (it is
        // dropped with this one), so no broken invariant can be observed.
        let inner = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// Fault injection for tests: with `PLDNS_TEST_FAULTS=1` in the
/// environment of a debug build, a query whose first label is
/// `pldns-test-panic-udp` (`-tcp`, `-forward`) panics the worker of that
/// kind. Release builds compile it to nothing and never read the variable.
pub mod fault {
    use crate::stats::Worker;

    #[cfg(debug_assertions)]
    pub const ENV: &str = "PLDNS_TEST_FAULTS";

    /// Panics when faults are armed and `packet` asks for one in `worker`.
    #[cfg(debug_assertions)]
    pub fn inject(worker: Worker, packet: &[u8]) {
        static ARMED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if !*ARMED.get_or_init(|| std::env::var_os(ENV).is_some_and(|v| v == "1")) {
            return;
        }
        let label = format!("pldns-test-panic-{}", worker.label());
        // The first label of the question, right after the header.
        let first = packet
            .get(12)
            .and_then(|&len| packet.get(13..13 + usize::from(len)));
        if first.is_some_and(|l| l.eq_ignore_ascii_case(label.as_bytes())) {
            panic!("fault injected in a {} worker (test)", worker.label());
        }
    }

    #[cfg(not(debug_assertions))]
    #[inline(always)]
    pub fn inject(_: Worker, _: &[u8]) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_future_comes_out_as_err() {
        let ok = CatchUnwind::new(async { 7 }).await;
        assert_eq!(ok.unwrap(), 7);
        let failed = CatchUnwind::new(async {
            tokio::task::yield_now().await;
            panic!("boom {}", 1);
        })
        .await;
        assert_eq!(message(&failed.err().unwrap()), "boom 1");
        let failed: Result<(), _> = CatchUnwind::new(async { std::panic::panic_any(5u8) }).await;
        assert_eq!(message(&failed.err().unwrap()), "(no message)");
    }
}

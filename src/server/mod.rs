//! The network front ends: binding every `listen` address on UDP and TCP,
//! the per-socket receive loops, and clean shutdown. Resolution itself is in
//! [`crate::resolve`], and acting on its outcome in [`act`] (one function
//! for both transports); this module only moves bytes. Workers that panic
//! are caught and restarted ([`panic`]).
//!
//! For zone transfers: `Front::act` returns [`Then::Stream`] with a
//! [`Streamer`], which the TCP front end runs against the connection's
//! writer through a [`Sink`] (see [`tcp::stream`]).

mod act;
mod handover;
mod mmsg;
pub mod panic;
pub mod tcp;
mod udp;

pub use act::{Front, Received, Replier, Then};
pub use tcp::stream::{Sink, SinkError, Streamer};

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use std::sync::atomic::{AtomicBool, Ordering};
use thiserror::Error;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tracing::info;

use crate::state::State;

#[derive(Debug, Error)]
pub enum BindError {
    #[error(
        "cannot listen on {addr}/{proto}: address already in use (is another DNS server running?)"
    )]
    InUse {
        addr: SocketAddr,
        proto: &'static str,
    },
    #[error(
        "cannot listen on {addr}/{proto}: permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)"
    )]
    Denied {
        addr: SocketAddr,
        proto: &'static str,
    },
    #[error("cannot listen on {addr}/{proto}: {source}")]
    Other {
        addr: SocketAddr,
        proto: &'static str,
        source: io::Error,
    },
}

fn bind_error(addr: SocketAddr, proto: &'static str, e: io::Error) -> BindError {
    match e.kind() {
        io::ErrorKind::AddrInUse => BindError::InUse { addr, proto },
        io::ErrorKind::PermissionDenied => BindError::Denied { addr, proto },
        _ => BindError::Other {
            addr,
            proto,
            source: e,
        },
    }
}

/// The sockets of one `listen` address.
pub struct Listener {
    pub addr: SocketAddr,
    udp: Vec<std::net::UdpSocket>,
    tcp: TcpListener,
}

fn socket(addr: SocketAddr, ty: Type, reuse_port: bool) -> io::Result<Socket> {
    let domain = Domain::for_address(addr);
    let proto = if ty == Type::DGRAM {
        Protocol::UDP
    } else {
        Protocol::TCP
    };
    let s = Socket::new(domain, ty, Some(proto))?;
    if addr.is_ipv6() {
        // So that "0.0.0.0:53" and "[::]:53" can both be listed.
        s.set_only_v6(true)?;
    }
    if ty == Type::STREAM {
        s.set_reuse_address(true)?;
    }
    if reuse_port {
        s.set_reuse_port(true)?;
    }
    // UDP sockets are served by blocking threads, TCP by the async runtime.
    s.set_nonblocking(ty == Type::STREAM)?;
    s.bind(&addr.into())?;
    Ok(s)
}

/// Binds TCP first, without SO_REUSEPORT, so that a second daemon on the same
/// address fails there instead of silently sharing the UDP port; then one UDP
/// socket per worker on the same port. Port 0 picks a port free for both.
fn bind_one(addr: SocketAddr, udp_workers: usize) -> Result<Listener, BindError> {
    let mut last_err = None;
    for _ in 0..16 {
        let tcp = socket(addr, Type::STREAM, false).map_err(|e| bind_error(addr, "tcp", e))?;
        tcp.listen(1024).map_err(|e| bind_error(addr, "tcp", e))?;
        let bound: SocketAddr = tcp
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or(addr);
        let mut udp = Vec::with_capacity(udp_workers);
        let mut failed = None;
        for _ in 0..udp_workers {
            match socket(bound, Type::DGRAM, true) {
                Ok(s) => udp.push(s),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        match failed {
            None => {
                let tcp =
                    TcpListener::from_std(tcp.into()).map_err(|e| bind_error(bound, "tcp", e))?;
                let udp = udp.into_iter().map(std::net::UdpSocket::from).collect();
                return Ok(Listener {
                    addr: bound,
                    udp,
                    tcp,
                });
            }
            // A random port free for TCP may be taken for UDP: pick again.
            Some(e) if addr.port() == 0 && e.kind() == io::ErrorKind::AddrInUse => {
                last_err = Some(e);
            }
            Some(e) => return Err(bind_error(bound, "udp", e)),
        }
    }
    Err(bind_error(
        addr,
        "udp",
        last_err.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrInUse)),
    ))
}

/// Binds every address, with `udp_workers` UDP sockets each (one thread
/// per socket); fails on the first that cannot be bound.
pub fn bind(addrs: &[SocketAddr], udp_workers: usize) -> Result<Vec<Listener>, BindError> {
    let workers = udp_workers.max(1);
    addrs.iter().map(|&a| bind_one(a, workers)).collect()
}

/// Raises the open-files limit for what `config` may hold open: TCP
/// connections, forwards in flight (a socket each), listeners; warns when
/// the system will not allow that many.
pub fn raise_open_files_limit(config: &crate::config::Config) {
    let Some(limit) = crate::sys::raise_open_files_limit() else {
        return;
    };
    let need = config.tcp.max_connections + MAX_FORWARDS_IN_FLIGHT + 64;
    if usize::try_from(limit).is_ok_and(|l| l < need) {
        tracing::warn!(
            "the open-files limit is {limit}; tcp_max_connections = {} and {MAX_FORWARDS_IN_FLIGHT} forwards in flight may need {need} (raise LimitNOFILE, or lower tcp_max_connections)",
            config.tcp.max_connections
        );
    }
}

/// Forwarded queries waiting for an upstream at once; past this, SERVFAIL
/// at once instead of an unbounded queue of tasks and sockets.
pub const MAX_FORWARDS_IN_FLIGHT: usize = 4096;

/// How long in-flight work may take to finish after a stop signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs the front ends until `stop` resolves, then drains.
pub async fn run(
    listeners: Vec<Listener>,
    state: Arc<State>,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut loops = JoinSet::new();
    let connections = Arc::new(tcp::Registry::default());
    let inflight = Arc::new(tokio::sync::Semaphore::new(MAX_FORWARDS_IN_FLIGHT));
    let front = act::Front {
        state: state.clone(),
        inflight: inflight.clone(),
        runtime: tokio::runtime::Handle::current(),
    };
    let stop_udp = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for l in listeners {
        info!(addr = %l.addr, "listening on {} (udp, tcp)", l.addr);
        for (i, sock) in l.udp.into_iter().enumerate() {
            let worker = udp::Worker {
                sock,
                front: front.clone(),
                stop: stop_udp.clone(),
            };
            let spawned = std::thread::Builder::new()
                .name(format!("udp-{}-{i}", l.addr))
                .spawn(move || udp::serve(worker));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => tracing::error!("cannot start a UDP thread: {e}"),
            }
        }
        loops.spawn(tcp::serve(l.tcp, front.clone(), connections.clone()));
    }
    stop.await;
    info!("stopping: no new queries accepted");
    loops.abort_all();
    // TCP connections stop reading and finish what they owe meanwhile.
    connections.begin_drain();
    while loops.join_next().await.is_some() {}
    stop_udp.store(true, Ordering::Relaxed);
    let _ =
        tokio::task::spawn_blocking(move || threads.into_iter().for_each(|t| drop(t.join()))).await;
    // Forwards in flight hold permits; all permits back means every
    // upstream answer is in (TCP replies are then written by the drain).
    let drained = async {
        let _all = inflight.acquire_many(MAX_FORWARDS_IN_FLIGHT as u32).await;
    };
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, drained).await;
    connections.drain(DRAIN_TIMEOUT).await;
}

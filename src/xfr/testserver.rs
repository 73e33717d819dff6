//! A primary on loopback for the transfer code's unit tests: one snapshot
//! and its journals served over UDP and TCP with the library's own pieces
//! (`primary::respond` for transfers, `signed::answer` around the normal
//! query path for SOA queries). Swapping in a new snapshot records its
//! journal first, as a reload does.

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::resolve::{Outcome, Transport, resolve};
use crate::snapshot::Snapshot;
use crate::stats::Stats;
use crate::xfr::journal::Journals;
use crate::xfr::notify::unix_now;
use crate::xfr::{primary, signed};

pub struct TestPrimary {
    pub addr: SocketAddr,
    pub snap: Arc<ArcSwap<Snapshot>>,
    pub journals: Arc<Journals>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for TestPrimary {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn answer_query(
    snap: &Arc<Snapshot>,
    packet: &[u8],
    client: SocketAddr,
    t: Transport,
) -> Option<Vec<u8>> {
    let stats = Stats::default();
    signed::answer(packet, &snap.config.tsig, unix_now(), |q| {
        let mut out = Vec::new();
        match resolve(snap, None, &stats, q, client.ip(), t, &mut out) {
            Outcome::Reply(_) => Some(out),
            _ => None,
        }
    })
}

impl TestPrimary {
    pub async fn start(snap: Snapshot) -> TestPrimary {
        let snap = Arc::new(ArcSwap::from_pointee(snap));
        let journals = Arc::new(Journals::default());
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let udp = UdpSocket::bind(addr).await.unwrap();
        let (s, j) = (snap.clone(), journals.clone());
        let tcp_task = tokio::spawn(async move {
            while let Ok((conn, peer)) = tcp.accept().await {
                tokio::spawn(serve_tcp(conn, peer, s.clone(), j.clone()));
            }
        });
        let s = snap.clone();
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65_535];
            while let Ok((len, peer)) = udp.recv_from(&mut buf).await {
                let current = s.load_full();
                if let Some(out) = answer_query(&current, &buf[..len], peer, Transport::Udp) {
                    let _ = udp.send_to(&out, peer).await;
                }
            }
        });
        TestPrimary {
            addr,
            snap,
            journals,
            tasks: vec![tcp_task, udp_task],
        }
    }

    /// Swaps in `new`, its journal recorded first.
    pub fn swap(&self, new: Snapshot) {
        let old = self.snap.load_full();
        self.journals.record(&old, &new);
        self.snap.store(Arc::new(new));
    }
}

async fn serve_tcp(
    mut conn: TcpStream,
    peer: SocketAddr,
    snap: Arc<ArcSwap<Snapshot>>,
    journals: Arc<Journals>,
) {
    loop {
        let mut len = [0u8; 2];
        if conn.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
        if conn.read_exact(&mut msg).await.is_err() {
            return;
        }
        let current = snap.load_full();
        let transfer = crate::wire::parse_query(&msg).is_ok_and(|q| primary::is_transfer(q.qtype));
        let out: Vec<Vec<u8>> = if transfer {
            primary::respond(&current, &journals, &msg, peer.ip(), true, unix_now())
                .0
                .collect()
        } else {
            answer_query(&current, &msg, peer, Transport::Tcp)
                .into_iter()
                .collect()
        };
        for m in out {
            let mut framed = (m.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&m);
            if conn.write_all(&framed).await.is_err() {
                return;
            }
        }
    }
}

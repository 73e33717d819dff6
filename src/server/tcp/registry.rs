//! Who is connected: the caps on open connections, overall and per client,
//! and what to do at a cap. A new connection at a cap closes the
//! connection that has been idle longest among those the cap counts (all
//! of them, or the client's own); only when none is idle is it refused.
//!
//! Why not wait or refuse at once: BIND defers accepting past `tcp-clients`
//! and Unbound stops accepting when its TCP buffers are taken, shortening
//! idle timeouts as they fill (to 1%, then 0.2%, then 0 of the configured
//! value below 50%, 35% and 20% free). Either way a newcomer waits for an
//! idle connection to time out, and 1,024 sockets opened and left silent
//! lock every new client out for that long. Closing the longest-idle one at
//! once costs an idle client a reconnect (RFC 7766 §6.2.3 lets a server
//! close idle connections whenever it must) and costs the newcomer nothing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{Notify, watch};

use super::conn::Conn;
use crate::config::TcpConfig;

/// What one client is counted as: an IPv4 address, or an IPv6 /64 (what
/// one host or site is usually given, so it cannot take a new address per
/// connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ClientKey {
    V4(u32),
    V6(u64),
}

impl ClientKey {
    fn of(ip: IpAddr) -> ClientKey {
        match ip.to_canonical() {
            IpAddr::V4(a) => ClientKey::V4(u32::from(a)),
            IpAddr::V6(a) => ClientKey::V6((u128::from(a) >> 64) as u64),
        }
    }
}

#[derive(Default)]
struct Inner {
    conns: HashMap<u64, (ClientKey, Arc<Conn>)>,
    per_client: HashMap<ClientKey, usize>,
    next_id: u64,
}

/// Every open connection of every TCP listener (the caps are daemon-wide).
pub struct Registry {
    inner: Mutex<Inner>,
    epoch: Instant,
    /// Connection tasks still running, so shutdown can wait for them.
    tasks: AtomicUsize,
    task_ended: Notify,
    shutdown: watch::Sender<bool>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            inner: Mutex::default(),
            epoch: Instant::now(),
            tasks: AtomicUsize::new(0),
            task_ended: Notify::new(),
            shutdown: watch::Sender::new(false),
        }
    }
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// The client holds its share and none of its connections is idle.
    PerClient,
    /// Every place is taken and no connection is idle.
    Full,
}

/// A place among the open connections, given back on drop.
pub(super) struct Admitted {
    pub conn: Arc<Conn>,
    id: u64,
    registry: Arc<Registry>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.registry.inner.lock().remove(self.id);
        self.registry.tasks.fetch_sub(1, Ordering::AcqRel);
        self.registry.task_ended.notify_waiters();
    }
}

impl Inner {
    fn remove(&mut self, id: u64) -> Option<Arc<Conn>> {
        let (key, conn) = self.conns.remove(&id)?;
        if let Some(n) = self.per_client.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_client.remove(&key);
            }
        }
        Some(conn)
    }

    /// Closes the connection idle longest among those `only` selects.
    fn evict_idle(&mut self, only: Option<ClientKey>) -> bool {
        let victim = self
            .conns
            .iter()
            .filter(|(_, (key, c))| only.is_none_or(|k| k == *key) && c.is_idle())
            .min_by_key(|(_, (_, c))| c.last_active())
            .map(|(id, _)| *id);
        match victim.and_then(|id| self.remove(id)) {
            Some(conn) => {
                conn.evict();
                true
            }
            None => false,
        }
    }
}

impl Registry {
    /// Admits a connection from `peer` under `limits`, closing an idle one
    /// to make room when a cap is reached.
    pub(super) fn admit(
        self: &Arc<Self>,
        peer: IpAddr,
        limits: &TcpConfig,
    ) -> Result<Admitted, Refused> {
        let key = ClientKey::of(peer);
        let mut inner = self.inner.lock();
        let mine = inner.per_client.get(&key).copied().unwrap_or(0);
        if mine >= limits.max_per_client && !inner.evict_idle(Some(key)) {
            return Err(Refused::PerClient);
        }
        if inner.conns.len() >= limits.max_connections && !inner.evict_idle(None) {
            return Err(Refused::Full);
        }
        let id = inner.next_id;
        inner.next_id = inner.next_id.wrapping_add(1);
        let conn = Arc::new(Conn::new(peer, self.epoch, self.shutdown.subscribe()));
        inner.conns.insert(id, (key, conn.clone()));
        *inner.per_client.entry(key).or_insert(0) += 1;
        drop(inner);
        self.tasks.fetch_add(1, Ordering::AcqRel);
        Ok(Admitted {
            conn,
            id,
            registry: self.clone(),
        })
    }

    /// Connections counted against the caps now.
    pub fn open(&self) -> usize {
        self.inner.lock().conns.len()
    }

    /// Tells every connection to stop reading, finish what it owes and
    /// close.
    pub fn begin_drain(&self) {
        self.shutdown.send_replace(true);
    }

    /// [`Registry::begin_drain`], then waits up to `limit` for every
    /// connection to close.
    pub async fn drain(&self, limit: Duration) {
        self.begin_drain();
        let wait = async {
            loop {
                let ended = self.task_ended.notified();
                if self.tasks.load(Ordering::Acquire) == 0 {
                    break;
                }
                ended.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per: usize) -> TcpConfig {
        TcpConfig {
            max_connections: max,
            max_per_client: per,
            ..TcpConfig::default()
        }
    }

    #[tokio::test]
    async fn at_the_cap_the_longest_idle_connection_makes_room() {
        let r = Arc::new(Registry::default());
        let ip = |i: u8| IpAddr::from([10, 0, 0, i]);
        let l = limits(3, 3);
        let a = r.admit(ip(1), &l).unwrap();
        let b = r.admit(ip(2), &l).unwrap();
        let c = r.admit(ip(3), &l).unwrap();
        // b was active last; a is busy: c (idle longest after a) goes.
        tokio::time::sleep(Duration::from_millis(5)).await;
        b.conn.touch();
        let busy = a.conn.slots().try_acquire_owned().unwrap();
        let d = r.admit(ip(4), &l).unwrap();
        assert!(c.conn.is_evicted() && !a.conn.is_evicted() && !b.conn.is_evicted());
        assert_eq!(r.open(), 3);
        drop(c);
        assert_eq!(r.open(), 3, "an evicted place is not given back twice");
        // Nobody idle: refused.
        let _busy_b = b.conn.slots().try_acquire_owned().unwrap();
        let _busy_d = d.conn.slots().try_acquire_owned().unwrap();
        assert_eq!(r.admit(ip(5), &l).err(), Some(Refused::Full));
        drop(busy);
        assert!(r.admit(ip(5), &l).is_ok(), "a idle again");
    }

    #[tokio::test]
    async fn a_client_at_its_share_closes_its_own_idle_one_or_is_refused() {
        let r = Arc::new(Registry::default());
        let l = limits(100, 2);
        let me = IpAddr::from([10, 0, 0, 1]);
        let other = r.admit(IpAddr::from([10, 0, 0, 2]), &l).unwrap();
        let first = r.admit(me, &l).unwrap();
        let second = r.admit(me, &l).unwrap();
        let _hold1 = first.conn.slots().try_acquire_owned().unwrap();
        let _hold2 = second.conn.slots().try_acquire_owned().unwrap();
        assert_eq!(r.admit(me, &l).err(), Some(Refused::PerClient));
        drop(_hold2);
        let _third = r.admit(me, &l).unwrap();
        assert!(second.conn.is_evicted());
        assert!(!other.conn.is_evicted(), "never another client's");
        // IPv6: one /64 is one client.
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        let _x = r.admit(v6("2001:db8::1"), &l).unwrap();
        let _y = r.admit(v6("2001:db8::2"), &l).unwrap();
        let _hx = _x.conn.slots().try_acquire_owned().unwrap();
        let _hy = _y.conn.slots().try_acquire_owned().unwrap();
        assert_eq!(
            r.admit(v6("2001:db8::3"), &l).err(),
            Some(Refused::PerClient)
        );
        assert!(r.admit(v6("2001:db8:0:1::3"), &l).is_ok());
    }
}

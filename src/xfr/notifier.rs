//! NOTIFY after every change (RFC 1996 §3.5): when a new snapshot is in
//! service, every zone whose serial moved tells the secondaries in its
//! `notify` list, one task per secondary. A newer change replaces a NOTIFY
//! still being retried for the same zone and secondary.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::notify::{RETRIES, send};
use super::stats::{NotifyOut, XfrStats};
use super::zone::ZoneView;
use crate::name::Name;
use crate::snapshot::Snapshot;

pub struct Notifier {
    inflight: HashMap<(Name, SocketAddr), JoinHandle<()>>,
    schedule: Vec<Duration>,
    stats: Arc<XfrStats>,
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier::new(RETRIES.to_vec())
    }
}

impl Notifier {
    pub fn new(schedule: Vec<Duration>) -> Notifier {
        Notifier {
            inflight: HashMap::new(),
            schedule,
            stats: Arc::default(),
        }
    }

    /// Counts what it sends into `stats`.
    pub fn counting(mut self, stats: Arc<XfrStats>) -> Notifier {
        self.stats = stats;
        self
    }

    /// Sends NOTIFY for every zone of `new` whose serial differs from
    /// `old`'s (every zone with a `notify` list when `old` is `None`, at
    /// start-up: a secondary that missed a change while we were down hears
    /// of it). Call inside a Tokio runtime, after the swap. Returns how
    /// many NOTIFY were started.
    pub fn changed(&mut self, old: Option<&Snapshot>, new: &Snapshot) -> usize {
        self.inflight.retain(|_, t| !t.is_finished());
        let mut started = 0;
        for (i, z) in new.zones.iter().enumerate() {
            let rules = &new.config.zones[i].transfer;
            if rules.notify.is_empty() {
                continue;
            }
            let Some(view) = ZoneView::find(new, z.name.wire()) else {
                continue;
            };
            let before = old.and_then(|o| ZoneView::find(o, z.name.wire()));
            if before.is_some_and(|b| b.serial() == view.serial()) {
                continue;
            }
            let (ttl, soa) = (view.local.soa.ttl(), view.local.soa.rdata().to_vec());
            for &target in &rules.notify {
                let zone = z.name.clone();
                let (key, schedule, soa) = (rules.key.clone(), self.schedule.clone(), soa.clone());
                let serial = view.serial();
                let stats = self.stats.zone(&zone);
                let task = tokio::spawn(async move {
                    stats.notify_out(NotifyOut::Sent);
                    match send(target, &zone, ttl, &soa, key.as_ref(), &schedule).await {
                        Ok(()) => {
                            stats.notify_out(NotifyOut::Acknowledged);
                            info!(%zone, %target, serial, "NOTIFY acknowledged");
                        }
                        Err(e) => {
                            stats.notify_out(NotifyOut::GivenUp);
                            warn!(%zone, %target, serial, "NOTIFY failed: {e}");
                        }
                    }
                });
                if let Some(previous) = self.inflight.insert((z.name.clone(), target), task) {
                    previous.abort();
                }
                started += 1;
            }
        }
        started
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        for t in self.inflight.values() {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xfr::msg::read::Header;
    use crate::xfr::notify::parse;
    use crate::xfr::testutil::{CONFIG, snapshot};

    #[tokio::test]
    async fn notifies_the_secondaries_of_changed_zones_only() {
        let secondary = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = secondary.local_addr().unwrap();
        let config = CONFIG.replace("ttl = 60", &format!("ttl = 60\nnotify = [\"{addr}\"]"));
        let a = snapshot(&config, &[("x.other.test", "A 10.0.0.1")], None);
        let mut n = Notifier::new(vec![Duration::from_secs(2)]);
        assert_eq!(
            n.changed(None, &a),
            1,
            "start-up: every zone with a notify list"
        );
        let got = answer(&secondary).await;
        let serial = ZoneView::find(&a, crate::xfr::testutil::n("other.test").wire())
            .unwrap()
            .serial();
        assert_eq!(got.serial, Some(serial));

        // zone.test changes, other.test does not: nothing to send.
        let b = snapshot(
            &config,
            &[
                ("x.other.test", "A 10.0.0.1"),
                ("y.zone.test", "A 10.0.0.2"),
            ],
            Some(&a),
        );
        assert_eq!(n.changed(Some(&a), &b), 0);
        // other.test changes: one NOTIFY with the new serial.
        let c = snapshot(&config, &[("x.other.test", "A 10.0.0.3")], Some(&b));
        assert_eq!(n.changed(Some(&b), &c), 1);
        let got = answer(&secondary).await;
        assert!(crate::xfr::serial::gt(got.serial.unwrap(), serial));
    }

    /// Receives one NOTIFY, acknowledges it, and returns it.
    async fn answer(secondary: &tokio::net::UdpSocket) -> crate::xfr::notify::Notify {
        let mut buf = vec![0u8; 2048];
        let (len, from) = secondary.recv_from(&mut buf).await.unwrap();
        let got = parse(&buf[..len]).unwrap();
        assert!(!Header::parse(&buf[..len]).unwrap().is_response());
        let mut reply = buf[..len].to_vec();
        reply[2] |= 0x80;
        secondary.send_to(&reply, from).await.unwrap();
        got
    }
}

//! Secondary zones: pulled from their primaries when the SOA's refresh
//! timer fires or a primary sends NOTIFY (RFC 1996 §3.11), retried on the
//! SOA's retry timer, served from the last good copy through a primary
//! outage until the SOA's expire (then no longer: the zone answers
//! SERVFAIL, as on BIND), and kept in the state directory across restarts.
//! What a pull brings is handed to a [`Sink`], which applies it atomically
//! like a reload.

pub mod copy;
pub mod keep;
pub mod pull;
pub mod reader;
mod task;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::Config;
use crate::name::Name;
use crate::xfr::msg::read::{Malformed, Soa};
use crate::xfr::stats::XfrStats;
use crate::xfr::tsig::sign::AnswerError;

pub use copy::ZoneCopy;
pub use keep::{CopyStore, DirStore};
pub use pull::{Primary, Timeouts};

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("timed out: {0}")]
    Timeout(&'static str),
    #[error("answered with rcode {}", rcode_name(*.0))]
    Rcode(u8),
    #[error("TSIG: {0}")]
    Tsig(#[from] AnswerError),
    #[error(transparent)]
    Malformed(#[from] Malformed),
    #[error("{0}")]
    Protocol(&'static str),
    #[error("{0}")]
    Apply(String),
}

fn rcode_name(rcode: u8) -> String {
    match rcode {
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        9 => "NOTAUTH".into(),
        n => n.to_string(),
    }
}

/// Where pulled copies go: the daemon applies them like a reload.
pub trait Sink: Send + Sync + 'static {
    /// A new copy of `zone` to serve.
    fn publish(&self, zone: &Name, copy: Arc<ZoneCopy>);
    /// The copy outlived the SOA's expire without a refresh: stop serving
    /// the zone's data (SERVFAIL).
    fn expire(&self, zone: &Name);
    /// The zone is no longer a secondary zone here: its data leaves.
    fn removed(&self, zone: &Name) {
        let _ = zone;
    }
}

/// The SOA timers a secondary follows (RFC 1035 §3.3.13), bounded: a
/// primary's zero cannot make us hammer it, nor a huge value stop us asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    pub refresh: Duration,
    pub retry: Duration,
    pub expire: Duration,
}

const MIN_TIMER: u32 = 5;
const MAX_TIMER: u32 = 7 * 86_400;

impl Timers {
    pub fn of(soa: &Soa) -> Timers {
        let clamp = |v: u32| Duration::from_secs(u64::from(v.clamp(MIN_TIMER, MAX_TIMER)));
        Timers {
            refresh: clamp(soa.refresh),
            retry: clamp(soa.retry),
            // RFC 1912 §2.2 advises expire well above refresh + retry.
            expire: Duration::from_secs(u64::from(soa.expire.max(MIN_TIMER))),
        }
    }

    /// Before the first pull: try again soon.
    pub const INITIAL: Timers = Timers {
        refresh: Duration::from_secs(60),
        retry: Duration::from_secs(10),
        expire: Duration::from_secs(u64::MAX / 4),
    };
}

/// What one secondary zone is pulled with: identical settings keep their
/// running task across reloads.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneSettings {
    pub zone: Name,
    pub primaries: Vec<Primary>,
}

impl ZoneSettings {
    /// The secondary zones of a config.
    pub fn of(config: &Config) -> Vec<ZoneSettings> {
        config
            .zones
            .iter()
            .filter(|z| z.is_secondary())
            .map(|z| ZoneSettings {
                zone: z.name.clone(),
                primaries: z
                    .transfer
                    .primaries
                    .iter()
                    .map(|&addr| Primary {
                        addr,
                        key: z.transfer.key.clone(),
                    })
                    .collect(),
            })
            .collect()
    }
}

struct Running {
    settings: ZoneSettings,
    hints: mpsc::Sender<Option<u32>>,
    task: tokio::task::JoinHandle<()>,
}

/// One task per secondary zone, started, kept or stopped as the config
/// changes.
pub struct Manager {
    sink: Arc<dyn Sink>,
    store: Arc<dyn CopyStore>,
    timeouts: Timeouts,
    running: HashMap<Name, Running>,
    stats: Arc<XfrStats>,
}

/// Where NOTIFY hints for each running secondary zone go (see
/// [`Manager::hints`]).
pub type Hints = HashMap<Name, mpsc::Sender<Option<u32>>>;

impl Manager {
    pub fn new(sink: Arc<dyn Sink>, store: Arc<dyn CopyStore>, timeouts: Timeouts) -> Manager {
        Manager {
            sink,
            store,
            timeouts,
            running: HashMap::new(),
            stats: Arc::default(),
        }
    }

    /// Counts refreshes and the zones' state into `stats`.
    pub fn counting(mut self, stats: Arc<XfrStats>) -> Manager {
        self.stats = stats;
        self
    }

    /// The NOTIFY hint channel of every running zone: a front end holds a
    /// copy (taken after each `reconcile`) so a NOTIFY never waits for the
    /// manager.
    pub fn hints(&self) -> Hints {
        self.running
            .iter()
            .map(|(n, r)| (n.clone(), r.hints.clone()))
            .collect()
    }

    /// Starts tasks for new secondary zones, restarts those whose primaries
    /// or key changed, and stops those no longer configured. Call it inside
    /// a Tokio runtime.
    pub fn reconcile(&mut self, config: &Config) {
        let wanted = ZoneSettings::of(config);
        let sink = &self.sink;
        self.running.retain(|name, r| {
            let keep = wanted.contains(&r.settings);
            if !keep {
                tracing::info!(zone = %name, "secondary zone removed or changed: stopping its task");
                r.task.abort();
                if !wanted.iter().any(|w| &w.zone == name) {
                    sink.removed(name);
                }
            }
            keep
        });
        for settings in wanted {
            if self.running.contains_key(&settings.zone) {
                continue;
            }
            let (tx, rx) = mpsc::channel(4);
            let task = tokio::spawn(task::run(
                settings.clone(),
                task::Ends {
                    sink: self.sink.clone(),
                    store: self.store.clone(),
                    stats: self.stats.zone(&settings.zone),
                },
                self.timeouts,
                rx,
            ));
            self.running.insert(
                settings.zone.clone(),
                Running {
                    settings,
                    hints: tx,
                    task,
                },
            );
        }
    }

    /// A primary announced a change (NOTIFY): refresh now. A refresh
    /// already waiting absorbs it.
    pub fn notify(&self, zone: &Name, serial: Option<u32>) {
        if let Some(r) = self.running.get(zone) {
            let _ = r.hints.try_send(serial);
        }
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        for r in self.running.values() {
            r.task.abort();
        }
    }
}

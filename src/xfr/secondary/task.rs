//! The life of one secondary zone: start from the kept copy, then refresh
//! on the SOA timers and on NOTIFY, publish every new copy, and expire.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{info, warn};

use super::keep::Kept;
use super::pull::{self, Pulled};
use super::reader::Answer;
use super::{CopyStore, PullError, Sink, Timeouts, Timers, ZoneCopy, ZoneSettings};
use crate::xfr::notify::unix_now;
use crate::xfr::serial;
use crate::xfr::stats::{Refresh, ZoneStats};

/// Where a zone's task reports: new copies and expiry, the kept copy, the
/// counters.
pub struct Ends {
    pub sink: Arc<dyn Sink>,
    pub store: Arc<dyn CopyStore>,
    pub stats: Arc<ZoneStats>,
}

/// Runs until aborted (the zone left the config) or its hint channel closes.
pub async fn run(
    settings: ZoneSettings,
    ends: Ends,
    timeouts: Timeouts,
    mut hints: mpsc::Receiver<Option<u32>>,
) {
    let Ends { sink, store, stats } = ends;
    let zone = settings.zone.clone();
    let mut copy: Option<Arc<ZoneCopy>> = None;
    let mut refreshed = 0u64;
    match store.load(&zone) {
        Ok(Some(kept)) => {
            info!(%zone, serial = kept.copy.serial(), "secondary zone: serving the kept copy until the primary answers");
            refreshed = kept.refreshed;
            copy = Some(kept.copy);
        }
        Ok(None) => {}
        Err(e) => warn!(%zone, "secondary zone: kept copy unreadable ({e}); pulling a new one"),
    }
    let timers = |c: &Option<Arc<ZoneCopy>>| {
        c.as_ref()
            .and_then(|c| c.soa_fields())
            .map_or(Timers::INITIAL, |s| Timers::of(&s))
    };
    let mut expired = false;
    let serving = |c: &ZoneCopy, refreshed: u64| {
        let expire = c
            .soa_fields()
            .map_or(Timers::INITIAL, |s| Timers::of(&s))
            .expire;
        stats.serving(c.serial(), refreshed, expire.as_secs());
    };
    if let Some(c) = &copy {
        serving(c, refreshed);
        let kept = Kept {
            copy: c.clone(),
            refreshed,
        };
        if kept.expired(unix_now()) {
            warn!(%zone, "secondary zone: the kept copy is past its SOA expire; SERVFAIL until a primary answers");
            sink.expire(&zone);
            stats.expired();
            expired = true;
        } else {
            sink.publish(&zone, c.clone());
        }
    }
    // Ask at once: the kept copy may be old.
    let mut next = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            hint = hints.recv() => match hint {
                None => return,
                Some(serial) => {
                    info!(%zone, serial, "NOTIFY from a primary: refreshing");
                }
            },
        }
        match refresh(&settings, copy.as_deref(), &timeouts).await {
            Ok(Some((new, pulled, primary))) => {
                let new = Arc::new(new);
                info!(
                    %zone, %primary,
                    serial = new.serial(),
                    "{} of {} at serial {}: {} messages, {} records",
                    pulled.kind, zone, new.serial(), pulled.messages, pulled.records
                );
                if let Some(s) = new.project().summary() {
                    warn!(%zone, "{s}");
                }
                refreshed = unix_now();
                stats.refresh(Refresh::Transferred, refreshed);
                if let Err(e) = store.save(&new, refreshed) {
                    warn!(%zone, "cannot keep the copy in the state directory: {e}");
                }
                serving(&new, refreshed);
                sink.publish(&zone, new.clone());
                copy = Some(new);
                expired = false;
                next = Instant::now() + timers(&copy).refresh;
            }
            Ok(None) => {
                refreshed = unix_now();
                stats.refresh(Refresh::Current, refreshed);
                if let Err(e) = store.touch(&zone, refreshed) {
                    warn!(%zone, "cannot keep the refresh time: {e}");
                }
                if let Some(c) = &copy {
                    serving(c, refreshed);
                }
                if expired && let Some(c) = &copy {
                    sink.publish(&zone, c.clone());
                    expired = false;
                }
                next = Instant::now() + timers(&copy).refresh;
            }
            Err(e) => {
                let t = timers(&copy);
                stats.refresh(Refresh::Failed, unix_now());
                warn!(%zone, "refresh failed: {e}; next try in {} s", t.retry.as_secs());
                if copy.is_some() && !expired && age(refreshed) >= t.expire {
                    warn!(%zone, "no primary answered for the SOA expire ({} s): the zone answers SERVFAIL until one does", t.expire.as_secs());
                    sink.expire(&zone);
                    stats.expired();
                    expired = true;
                }
                next = Instant::now() + t.retry;
            }
        }
    }
}

fn age(refreshed: u64) -> Duration {
    Duration::from_secs(unix_now().saturating_sub(refreshed))
}

/// One refresh (RFC 1034 §4.3.5): each primary in turn, ask its SOA; when
/// its serial is ahead of ours, transfer (IXFR when we have a copy, AXFR
/// when IXFR fails or brings what cannot be applied). `Ok(None)`: current.
async fn refresh(
    settings: &ZoneSettings,
    ours: Option<&ZoneCopy>,
    t: &Timeouts,
) -> Result<Option<(ZoneCopy, Pulled, std::net::SocketAddr)>, PullError> {
    let zone = &settings.zone;
    let mut last = PullError::Protocol("no primaries");
    for primary in &settings.primaries {
        let theirs = match pull::soa(primary, zone, t.query).await {
            Ok(soa) => soa,
            Err(e) => {
                last = e;
                continue;
            }
        };
        let their_serial = crate::xfr::msg::read::soa_serial(&theirs.rdata).unwrap_or(0);
        if let Some(c) = ours
            && !serial::gt(their_serial, c.serial())
        {
            return Ok(None);
        }
        match transfer(primary, settings, ours, t).await {
            Ok(Some(pulled)) => return Ok(Some((pulled.0, pulled.1, primary.addr))),
            Ok(None) => return Ok(None),
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn transfer(
    primary: &pull::Primary,
    settings: &ZoneSettings,
    ours: Option<&ZoneCopy>,
    t: &Timeouts,
) -> Result<Option<(ZoneCopy, Pulled)>, PullError> {
    let zone = &settings.zone;
    if let Some(c) = ours {
        match pull::transfer(primary, zone, Some(&c.soa), t).await {
            Ok(p) => match &p.answer {
                Answer::Incremental { soa, deltas } => match c.apply(soa, deltas) {
                    Ok(next) => return Ok(Some((next, p))),
                    Err(e) => warn!(%zone, "IXFR not applicable ({e}); asking for the whole zone"),
                },
                Answer::Full { soa, records } => {
                    let next = ZoneCopy::full(zone.clone(), soa.clone(), records.clone());
                    return Ok(Some((next, p)));
                }
                Answer::SoaOnly(soa) => {
                    let s = crate::xfr::msg::read::soa_serial(&soa.rdata).unwrap_or(0);
                    if !serial::gt(s, c.serial()) {
                        return Ok(None);
                    }
                }
            },
            // A primary that refuses or cannot do IXFR may still do AXFR.
            Err(e) => warn!(%zone, "IXFR failed ({e}); asking for the whole zone"),
        }
    }
    let p = pull::transfer(primary, zone, None, t).await?;
    match &p.answer {
        Answer::Full { soa, records } => {
            let next = ZoneCopy::full(zone.clone(), soa.clone(), records.clone());
            Ok(Some((next, p)))
        }
        _ => Err(PullError::Protocol(
            "AXFR answered with something else than a zone",
        )),
    }
}

//! Where a secondary zone's copy lives between runs, in the state
//! directory's `zones` namespace: a zone file per zone
//! (`secondary/<zone>.zone`, readable by people and by named-checkzone) and
//! the time of its last good refresh (`secondary/<zone>.refreshed`), from
//! which the SOA expire counts across restarts. Behind [`CopyStore`], so
//! tests can keep copies elsewhere.

use std::path::PathBuf;
use std::sync::Arc;

use super::Timers;
use super::copy::ZoneCopy;
use crate::name::Name;
use crate::statedir::Namespace;

/// A copy and when it was last confirmed with a primary (seconds since the
/// epoch).
#[derive(Debug, Clone)]
pub struct Kept {
    pub copy: Arc<ZoneCopy>,
    pub refreshed: u64,
}

impl Kept {
    /// Past its SOA expire since the last refresh: not to be served until
    /// a primary answers (RFC 1035 §3.3.13).
    pub fn expired(&self, now: u64) -> bool {
        let expire = self
            .copy
            .soa_fields()
            .map_or(Timers::INITIAL, |s| Timers::of(&s))
            .expire;
        now.saturating_sub(self.refreshed) >= expire.as_secs()
    }
}

pub trait CopyStore: Send + Sync {
    fn load(&self, zone: &Name) -> Result<Option<Kept>, String>;
    fn save(&self, copy: &ZoneCopy, refreshed: u64) -> std::io::Result<()>;
    /// Records a refresh that found the copy current.
    fn touch(&self, zone: &Name, refreshed: u64) -> std::io::Result<()>;
}

/// Copies as files in a state-directory namespace.
pub struct DirStore {
    pub ns: Namespace,
}

impl DirStore {
    fn zone_key(zone: &Name) -> PathBuf {
        PathBuf::from(format!("secondary/{zone}.zone"))
    }

    fn stamp_key(zone: &Name) -> PathBuf {
        PathBuf::from(format!("secondary/{zone}.refreshed"))
    }
}

impl CopyStore for DirStore {
    fn load(&self, zone: &Name) -> Result<Option<Kept>, String> {
        let key = Self::zone_key(zone);
        let shown = || self.ns.dir().join(&key).display().to_string();
        let bytes = match self.ns.read(&key) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", shown())),
        };
        let text = String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", shown()))?;
        let copy = ZoneCopy::from_text(zone, &text).map_err(|e| format!("{}: {e}", shown()))?;
        // Without a stamp the copy counts as refreshed when it was written.
        let stamp = self.ns.read(&Self::stamp_key(zone)).ok().flatten();
        let refreshed = stamp
            .and_then(|b| String::from_utf8(b).ok()?.trim().parse().ok())
            .or_else(|| {
                let path = self.ns.path(&key)?;
                let modified = std::fs::metadata(path).ok()?.modified().ok()?;
                Some(
                    modified
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()?
                        .as_secs(),
                )
            })
            .unwrap_or(0);
        Ok(Some(Kept {
            copy: Arc::new(copy),
            refreshed,
        }))
    }

    fn save(&self, copy: &ZoneCopy, refreshed: u64) -> std::io::Result<()> {
        let comment = format!(
            "secondary copy of {}, serial {}, kept by pldns",
            copy.zone,
            copy.serial()
        );
        let text = copy.to_text(&comment);
        self.ns
            .write(&Self::zone_key(&copy.zone), text.as_bytes())?;
        self.touch(&copy.zone, refreshed)
    }

    fn touch(&self, zone: &Name, refreshed: u64) -> std::io::Result<()> {
        let stamp = format!("{refreshed}\n");
        self.ns.write(&Self::stamp_key(zone), stamp.as_bytes())
    }
}

//! Where a secondary zone's copy lives between runs: a zone file per zone
//! (`<zone>.zone`, readable by people and by named-checkzone) and the time
//! of its last good refresh (`<zone>.refreshed`), from which the SOA expire
//! counts across restarts. Behind [`CopyStore`], so the daemon's state
//! directory layer can hold them.

use std::path::PathBuf;
use std::sync::Arc;

use super::copy::ZoneCopy;
use crate::name::Name;
use crate::xfr::store::write_atomic;

/// A copy and when it was last confirmed with a primary (seconds since the
/// epoch).
#[derive(Debug, Clone)]
pub struct Kept {
    pub copy: Arc<ZoneCopy>,
    pub refreshed: u64,
}

pub trait CopyStore: Send + Sync {
    fn load(&self, zone: &Name) -> Result<Option<Kept>, String>;
    fn save(&self, copy: &ZoneCopy, refreshed: u64) -> std::io::Result<()>;
    /// Records a refresh that found the copy current.
    fn touch(&self, zone: &Name, refreshed: u64) -> std::io::Result<()>;
}

/// Copies as files in one folder.
pub struct DirStore {
    pub dir: PathBuf,
}

impl DirStore {
    fn zone_file(&self, zone: &Name) -> PathBuf {
        self.dir.join(format!("{zone}.zone"))
    }

    fn stamp_file(&self, zone: &Name) -> PathBuf {
        self.dir.join(format!("{zone}.refreshed"))
    }
}

impl CopyStore for DirStore {
    fn load(&self, zone: &Name) -> Result<Option<Kept>, String> {
        let path = self.zone_file(zone);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let copy =
            ZoneCopy::from_text(zone, &text).map_err(|e| format!("{}: {e}", path.display()))?;
        // Without a stamp the copy counts as refreshed when it was written.
        let refreshed = std::fs::read_to_string(self.stamp_file(zone))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .or_else(|| {
                let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
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
        write_atomic(
            &self.zone_file(&copy.zone),
            copy.to_text(&comment).as_bytes(),
        )?;
        self.touch(&copy.zone, refreshed)
    }

    fn touch(&self, zone: &Name, refreshed: u64) -> std::io::Result<()> {
        write_atomic(&self.stamp_file(zone), format!("{refreshed}\n").as_bytes())
    }
}

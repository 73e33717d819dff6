//! The fixed site the query and answer targets run against, loaded once per
//! process from `fuzz/fixture/` exactly as `pldns check` would load it.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use pldns::snapshot::Snapshot;

pub struct Fixture {
    pub snap: Arc<Snapshot>,
}

/// `fuzz/fixture`, from the fuzz crate (manifest in `fuzz/`) or from the
/// main crate's tests (manifest at the top).
pub fn dir() -> PathBuf {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let here = base.join("fixture");
    if here.join("pldns.toml").is_file() {
        here
    } else {
        base.join("fuzz").join("fixture")
    }
}

pub fn get() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let path = dir().join("pldns.toml");
        let snap = pldns::load(&path, None).unwrap_or_else(|e| panic!("fuzz fixture: {e}"));
        Fixture {
            snap: Arc::new(snap),
        }
    })
}

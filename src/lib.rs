//! pldns: a DNS forwarder that answers the Azure Private Link zones from a
//! record table it reloads while running, and forwards everything else.
//!
//! A query travels: [`server`] (receive, and act on the outcome) ->
//! [`resolve`] (ACL, the rules on the question) -> [`classify`] (which zone,
//! by [`zonemap`]) -> [`chain`] through [`local`] (answers from the
//! [`snapshot`]) or the [`cache`] -> [`forward`] -> [`splice`] -> [`chain`]
//! again -> send. The query path counts into [`stats`] and [`missing`];
//! [`metrics`] reads them. [`config`] and [`records`] read files,
//! [`sources`] keeps every record source's last good contents and builds the
//! table, [`load`] turns it all into a [`snapshot::Snapshot`] (keeping copies
//! in the [`statedir`]); [`state`] holds the current one.
//!
//! The query core (wire, name, table, soa, zonemap, snapshot, classify,
//! local, chain, splice, cache, forward, stats, missing, resolve) imports
//! nothing that imports it back: `tests/layout.rs` checks that.

// Unsafe code is confined to `server::mmsg` (batched UDP system calls)
// and `sys` (thread priority).
#![deny(unsafe_code)]
// Names on the query path live in 255-byte stack buffers (`wire::NameBuf`)
// so that answering never allocates; enums carrying one are large by design.
#![allow(clippy::large_enum_variant)]

pub mod access;
pub mod admin;
pub mod azure;
pub mod cache;
pub mod chain;
pub mod classify;
pub mod config;
pub mod convert;
pub mod diag;
pub mod forward;
pub mod load;
pub mod local;
pub mod logging;
pub mod metrics;
pub mod missing;
pub mod name;
pub mod records;
pub mod reload;
pub mod resolve;
pub mod rrl;
pub mod server;
pub mod snapshot;
pub mod soa;
pub mod sources;
pub mod splice;
pub mod state;
pub mod statedir;
pub mod stats;
pub mod status;
pub mod summary;
pub mod sync;
pub mod sys;
pub mod table;
pub mod wire;
pub mod xfr;
pub mod zonemap;

use std::path::Path;

use diag::Diagnostics;
use snapshot::Snapshot;

/// [`load::Loader::start`] for `check` and `export`: what `serve` would
/// serve, with what every producer kept in the state directory (Azure
/// sync's pulls, secondary zones' copies, the zones' serials), which is
/// only read.
pub fn load_as_serve(
    loader: &mut load::Loader,
) -> Result<(Snapshot, load::Report, sync::kept::Restored), Diagnostics> {
    let (config, config_error) = loader.open()?;
    let dir = loader.state_dir().clone();
    let restored = sync::kept::restore(&dir, loader.sources_mut(), &config);
    let xfr = xfr::serve::prepare(loader, &config);
    let (mut snapshot, report) = loader.first_build(config, config_error);
    xfr.restore(&mut snapshot);
    Ok((snapshot, report, restored))
}

/// Loads the config at `path` and every record source it names exactly as
/// they are on disk, failing on any error (no state directory, no last
/// good contents): for benches and tests. `serve`, `check` and `export` use
/// [`load::Loader`].
pub fn load(path: &Path, previous: Option<&Snapshot>) -> Result<Snapshot, Diagnostics> {
    load::load_strict(path, previous)
}

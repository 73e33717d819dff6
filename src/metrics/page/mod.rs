//! The status page: one model ([`StatusPage`]) built from the daemon's
//! state at request time ([`build`]), served as HTML at `/` ([`html`]) and
//! as JSON at `/status.json` (serde), and printed by `pldns status` and
//! `pldns missing` ([`text`]) from that same JSON, so the three cannot
//! drift. Building it reads only what the query path never locks: the
//! snapshot and the last report (atomic pointers), counters (atomics), the
//! missing-name register (the consumer's lock) and a sampled copy of the
//! forwarders' health ([`ForwarderSample`]).

mod build;
pub mod hint;
pub mod html;
pub mod text;
pub mod time;
pub mod words;

use serde::{Deserialize, Serialize};

pub use build::{ForwarderSample, build};

/// `1 name`, `3 names`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Everything the page shows. Times are Unix seconds (UTC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusPage {
    /// The machine's host name.
    pub host: String,
    pub version: String,
    /// When this page was made.
    pub now: u64,
    pub started: u64,
    pub uptime_s: u64,
    pub config: String,
    /// `/healthz`'s verdict and text.
    pub healthy: bool,
    pub health: String,
    pub queries: Queries,
    pub zones: Vec<ZoneStatus>,
    /// Names asked in a zone with records that its table lacked, per zone,
    /// most recently seen first.
    pub missing: Vec<MissingZone>,
    pub forwarders: Vec<ForwarderStatus>,
    pub reload: ReloadStatus,
    /// One per `[[sync]]` table.
    pub syncs: Vec<SyncStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queries {
    pub total: u64,
    /// Per outcome label of `pldns_queries_total` (UDP and TCP together).
    pub by_outcome: Vec<OutcomeCount>,
    /// Mean receive-to-send time, microseconds.
    pub mean_latency_us: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeCount {
    pub outcome: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneStatus {
    pub name: String,
    /// `records` (answered from the table), `secondary` (pulled from
    /// primaries, served from the table) or `forward` (a conditional
    /// forwarder).
    pub kind: String,
    pub records: Option<usize>,
    pub names: Option<usize>,
    pub serial: Option<u32>,
    pub ttl: Option<u32>,
    pub on_miss: Option<String>,
    /// Names asked that the table lacked, since start.
    pub missing_total: Option<u64>,
    pub forwarders: Vec<String>,
    /// Transfer and NOTIFY settings, the primaries of a secondary zone.
    pub transfer: Option<String>,
    /// What zone transfer did for this zone since start (none: nothing).
    pub replication: Option<Replication>,
}

/// One zone's transfers out, NOTIFY and (a secondary zone) refreshes since
/// start, and the copy a secondary zone serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replication {
    pub transfers_out: u64,
    /// Of those: refused (not allowed, bad key) or failed mid-way.
    pub transfers_out_refused: u64,
    pub transfers_out_failed: u64,
    pub notify_sent: u64,
    pub notify_acknowledged: u64,
    pub notify_given_up: u64,
    pub notify_in_accepted: u64,
    pub notify_in_refused: u64,
    /// A secondary zone's refreshes: a new copy or confirmed current, and
    /// failed.
    pub refreshes_ok: u64,
    pub refreshes_failed: u64,
    /// When the last refresh ended (unix seconds; none yet: absent).
    pub last_refresh: Option<u64>,
    /// A secondary zone with a copy: the copy's serial and when it
    /// expires without a refresh (`expired`: it did, and the zone answers
    /// SERVFAIL).
    pub copy_serial: Option<u32>,
    pub copy_expires_in_s: Option<u64>,
    pub copy_expired: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingZone {
    pub zone: String,
    /// The register keeps up to this many names per zone.
    pub names: Vec<MissingName>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingName {
    /// The name in the zone (`acct.privatelink.blob.core.windows.net`).
    pub name: String,
    /// The name clients ask and Azure lists (`acct.blob.core.windows.net`),
    /// for a Private Link zone.
    pub public_name: Option<String>,
    pub first_seen: u64,
    pub last_seen: u64,
    pub count: u64,
    /// The table has the name now (it was added after it was missed).
    pub answered_now: bool,
    /// What to do about it, ready to paste.
    pub hint: hint::Hint,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwarderStatus {
    pub server: String,
    /// `upstream` and/or the zones that forward to it.
    pub used_by: Vec<String>,
    pub up: bool,
    pub srtt_ms: Option<f64>,
    pub requests: u64,
    pub failures: u64,
    pub servfails: u64,
    pub refused: u64,
    pub consecutive_failures: u32,
    /// Seconds since the last failure (timeout, network error, garbage).
    pub last_failure_ago_s: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReloadStatus {
    /// When the table in service was loaded (start-up or the last reload
    /// that applied).
    pub loaded: u64,
    pub reloads_ok: u64,
    pub reloads_failed: u64,
    /// The last reload, if there was one since start-up.
    pub last: Option<LastReload>,
    /// The config and every record source load as they are on disk.
    pub valid: bool,
    /// Every current error, `FILE:LINE: reason`, each broken thing followed
    /// by what is served in its place (the lines the log has).
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub sources: Vec<SourceRow>,
    pub state_dir: String,
    pub state_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastReload {
    pub at: u64,
    pub trigger: String,
    pub took_ms: u64,
    pub records_added: usize,
    pub records_removed: usize,
    pub zones_added: Vec<String>,
    pub zones_removed: Vec<String>,
    pub config_changed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRow {
    /// The file, or `sync:<name>` / `secondary:<zone>`.
    pub source: String,
    /// Entries of it in the table now.
    pub entries: usize,
    pub ok: bool,
    /// What is served comes from the state directory's copy.
    pub from_state: bool,
}

/// One `[[sync]]` source (from `sync::SyncRegistry::status`), and what
/// the last load says of its records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// `sync:<name>`, as logs, metrics and errors name it.
    pub source: String,
    /// "subscription <id> (<resource groups>)".
    pub scope: String,
    pub cloud: String,
    /// The credential's kind and IDs (never a secret).
    pub credential: String,
    /// What it reads: private-endpoints, private-dns-zones.
    pub pulls: Vec<String>,
    pub interval_s: u64,
    pub min_interval_s: u64,
    /// A pull is running now.
    pub pulling: bool,
    pub last_pull: Option<SyncPull>,
    pub last_success: Option<u64>,
    /// Records in the pull in service.
    pub records: Option<usize>,
    /// No pull has worked since start-up: the pull kept in the state
    /// directory serves, and it ended then.
    pub serving_kept_pull_from: Option<u64>,
    pub next_pull: Option<u64>,
    pub early_pending: bool,
    pub early_pulls: u64,
    pub early_coalesced: u64,
    /// The zones whose misses ask it for an early pull (`None`: all).
    pub feeds: Option<Vec<String>>,
    /// Why its pull cannot be kept in the state directory.
    pub kept_error: Option<String>,
    /// Its records are in service as pulled (`None`: nothing pulled yet).
    pub ok: Option<bool>,
    /// Its current errors, `sync:<name>: reason`.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncPull {
    pub ended: u64,
    pub took_ms: u64,
    /// `ok`, `sign_in_error`, `network_error`, `throttled`, ...
    pub result: String,
    pub error: Option<String>,
    /// Asked for by a miss.
    pub early: bool,
}

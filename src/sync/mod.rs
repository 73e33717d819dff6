//! Records pulled from Azure Resource Manager (`[[sync]]`): private
//! endpoints' `customDnsConfigs` and the record sets of Private DNS zones,
//! turned into the same [`Entry`] values a record file gives, so that they
//! are placed into zones by the same rules.
//!
//! A [`SyncSource`] is one `[[sync]]` table: its endpoints, its credential
//! and token cache, its metrics. [`SyncSource::pull`] makes one full pull
//! (bounded in time, retrying throttled and failed requests) and returns
//! either every record or the reason it could not; callers keep the
//! previous pull on failure.

mod arm;
mod credential;
mod daemon;
mod endpoints;
mod error;
mod http;
pub mod kept;
mod metrics;
mod registry;
mod report;
mod retry;
mod schedule;
mod secret;
mod task;
mod zones;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{info, warn};

pub use daemon::run;
pub use error::{PullResult, SyncError};
pub use metrics::{SyncMetrics, write_prometheus};
pub use registry::{PullOutcome, SyncRegistry, SyncStatus};
pub use report::{ZoneChange, changes, describe, describe_changes, pull_once};
pub use retry::RetryPolicy;
pub use secret::Secret;

use crate::config::{Config, SyncConfig};
use crate::name::Name;
use crate::records::{Entry, EntryData};

/// Refuse every non-loopback Azure endpoint when this is set: the test
/// suite sets it on every daemon it starts, so a test that forgot an
/// override fails instead of reaching Azure.
pub const LOOPBACK_ONLY_ENV: &str = "PLDNS_SYNC_LOOPBACK_ONLY";

/// The name of each `[[sync]]` of a config, in order: what follows
/// `sync:` in messages and metrics, and the state directory's key. Made of
/// what the table reads (the subscription, then its resource groups in
/// lowercase and sorted: ARM names are case-insensitive), so it stays the
/// same across restarts and unrelated edits. Two tables reading the same
/// scope (from other clouds or Resource Manager endpoints) get `#2`, `#3`.
pub fn source_names(syncs: &[SyncConfig]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(syncs.len());
    for s in syncs {
        let mut base = s.subscription.clone();
        if !s.resource_groups.is_empty() {
            let mut groups: Vec<String> = s
                .resource_groups
                .iter()
                .map(|g| g.to_ascii_lowercase())
                .collect();
            groups.sort();
            base = format!("{base}/{}", groups.join(","));
        }
        let mut name = base.clone();
        let mut n = 2;
        while out.contains(&name) {
            name = format!("{base}#{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

/// Knobs of a source that are not in the config file.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    pub retry: RetryPolicy,
    pub loopback_only: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            retry: RetryPolicy::default(),
            loopback_only: std::env::var_os(LOOPBACK_ONLY_ENV).is_some_and(|v| !v.is_empty()),
        }
    }
}

/// What one good pull found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pull {
    /// Names as Azure gave them (maybe public names), not yet placed.
    /// `line` is the 1-based index into `origins` of the resource the
    /// entry came from.
    pub entries: Vec<Entry>,
    /// ARM resource IDs (private endpoints, record sets).
    pub origins: Vec<String>,
    /// Things skipped or worth knowing, each naming its resource.
    pub warnings: Vec<String>,
    pub private_endpoints: usize,
    /// The Private DNS zones read (the configured zones found in Azure).
    pub zones: Vec<Name>,
    /// Resource Manager requests made (retries not counted).
    pub requests: u32,
}

impl Pull {
    /// The resource an entry came from.
    pub fn origin(&self, entry: &Entry) -> &str {
        entry
            .line
            .checked_sub(1)
            .and_then(|i| self.origins.get(i))
            .map_or("?", String::as_str)
    }

    fn origin_index(&mut self, origin: &str) -> usize {
        if self.origins.last().is_none_or(|o| o != origin) {
            self.origins.push(origin.to_string());
        }
        self.origins.len()
    }

    fn push(&mut self, origin: &str, name: Name, data: EntryData, ttl: Option<u32>) {
        let line = self.origin_index(origin);
        self.entries.push(Entry {
            name,
            data,
            ttl,
            line,
        });
    }

    fn warn(&mut self, origin: &str, message: String) {
        self.warnings.push(format!("{origin}: {message}"));
    }

    /// `fqdn` as a name, or a warning.
    fn name(&mut self, origin: &str, fqdn: &str) -> Option<Name> {
        match Name::from_text(fqdn) {
            Ok(n) => Some(n),
            Err(e) => {
                self.warn(origin, format!("invalid name {fqdn:?}: {e}"));
                None
            }
        }
    }
}

/// One `[[sync]]` table, ready to pull.
pub struct SyncSource {
    config: Arc<Config>,
    index: usize,
    label: String,
    /// What starts its log lines.
    log_name: String,
    /// The configured zones with records: the Private DNS zones to read.
    zones: Vec<Name>,
    arm: arm::Arm,
    metrics: Arc<SyncMetrics>,
    /// The last good pull's entries, for the change log line.
    previous: Mutex<Option<Vec<Entry>>>,
}

impl std::fmt::Debug for SyncSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncSource")
            .field("label", &self.label)
            .field("credential", &self.arm.credential)
            .finish_non_exhaustive()
    }
}

impl SyncSource {
    /// The source for `config.sync[index]`.
    pub fn new(
        config: Arc<Config>,
        index: usize,
        options: SyncOptions,
    ) -> Result<SyncSource, SyncError> {
        let sync = config
            .sync
            .get(index)
            .ok_or_else(|| SyncError::Setup(format!("no [[sync]] number {}", index + 1)))?;
        let endpoints = crate::azure::endpoints(sync.cloud);
        let base = match &sync.arm_endpoint {
            Some(u) => u.clone(),
            None => url::Url::parse(endpoints.resource_manager)
                .map_err(|e| SyncError::Setup(format!("Resource Manager URL: {e}")))?,
        };
        if base.scheme() == "http" && !crate::config::is_loopback(&base) {
            warn!(
                "[[sync]] at line {}: arm_endpoint {base} is plain http to another machine: the access token crosses the network unencrypted",
                sync.line
            );
        }
        let arm = arm::Arm {
            base,
            http: http::Http::new(options.retry, options.loopback_only)?,
            credential: credential::Credential::new(sync, &endpoints)?,
        };
        let label = sync.label();
        let zones = config
            .zones
            .iter()
            .filter(|z| z.has_records())
            .map(|z| z.name.clone())
            .collect();
        Ok(SyncSource {
            config,
            index,
            log_name: format!("sync {label}"),
            label,
            zones,
            arm,
            metrics: Arc::new(SyncMetrics::default()),
            previous: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &SyncConfig {
        &self.config.sync[self.index]
    }

    /// "subscription <id> (<resource groups>)".
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The credential as messages name it (kind and IDs, no secret).
    pub fn credential(&self) -> &str {
        self.arm.credential.label()
    }

    pub fn metrics(&self) -> Arc<SyncMetrics> {
        self.metrics.clone()
    }

    /// Counts into `metrics` (a source restarted by a config reload keeps
    /// its counters).
    pub fn with_metrics(mut self, metrics: Arc<SyncMetrics>) -> SyncSource {
        self.metrics = metrics;
        self
    }

    /// Starts its log lines with `name` (the daemon's `sync:<name>`).
    pub fn with_log_name(mut self, name: String) -> SyncSource {
        self.log_name = name;
        self
    }

    /// The last good pull's entries (for the next pull's change line).
    pub fn previous(&self) -> Option<Vec<Entry>> {
        self.previous
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Says what the next pull changed against `entries` (the pull kept in
    /// the state directory, or the one of the task this one replaces).
    pub fn with_previous(self, entries: Option<Vec<Entry>>) -> SyncSource {
        *self.previous.lock().unwrap_or_else(|p| p.into_inner()) = entries;
        self
    }

    pub fn interval(&self) -> Duration {
        self.config().interval
    }

    pub fn min_interval(&self) -> Duration {
        self.config().min_interval
    }

    /// One full pull. Counts it in the metrics and logs one line saying
    /// what changed since the last good pull (or why it failed).
    pub async fn pull(&self) -> Result<Pull, SyncError> {
        let started = Instant::now();
        let result = self.pull_inner(started).await;
        let took = started.elapsed();
        match &result {
            Ok(pull) => {
                self.metrics
                    .record(PullResult::Ok, Some(pull.entries.len()), took);
                let mut prev = self.previous.lock().unwrap_or_else(|p| p.into_inner());
                let changed = changes(&self.config, prev.as_deref().unwrap_or(&[]), &pull.entries);
                info!(
                    "{}: {} records from {} private endpoints and {} Private DNS zones in {:.1} s ({} requests); {}",
                    self.log_name,
                    pull.entries.len(),
                    pull.private_endpoints,
                    pull.zones.len(),
                    took.as_secs_f64(),
                    pull.requests,
                    describe_changes(&changed)
                );
                *prev = Some(pull.entries.clone());
            }
            Err(e) => {
                self.metrics.record(e.result(), None, took);
                warn!("{}: pull failed, previous records kept: {e}", self.log_name);
            }
        }
        result
    }

    async fn pull_inner(&self, started: Instant) -> Result<Pull, SyncError> {
        let mut ctx = arm::Ctx {
            deadline: started + self.arm.http.policy.pull_timeout,
            requests: 0,
        };
        let mut pull = Pull::default();
        let sync = self.config();
        if sync.pull.private_endpoints {
            endpoints::pull(&self.arm, sync, &mut ctx, &mut pull).await?;
        }
        if sync.pull.private_dns_zones {
            zones::pull(&self.arm, sync, &self.zones, &mut ctx, &mut pull).await?;
        }
        pull.requests = ctx.requests;
        Ok(pull)
    }
}

#[cfg(test)]
mod tests;

//! Loading as `serve` does it, at start-up and on every reload, and as
//! `check` and `export` see it: the config (the last good one when the file
//! does not parse), every record source with its last good contents, one
//! snapshot, and the report of what is broken. `serve` also keeps the
//! copies of the state directory up to date.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use tracing::warn;

use crate::config::{self, Config};
use crate::diag::{Diagnostic, Diagnostics};
use crate::snapshot::Snapshot;
use crate::sources::{SourceSet, SourceStatus};
use crate::statedir::{self, StateDir};

/// The state namespace of the config.
pub const CONFIG_NAMESPACE: &str = "config";

/// What one load found wrong, beside the snapshot it built anyway.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The config file does not parse: the config in service is the last
    /// good one.
    pub config_error: Option<Diagnostics>,
    /// The config in service is the state directory's copy at this path
    /// (the file did not parse at start-up and has not since).
    pub config_kept: Option<PathBuf>,
    /// Everything that keeps a record source's newest version out of
    /// service (each of those sources serves its last good contents).
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// Records directories that cannot be listed (their files keep their
    /// last good contents); also in `errors`.
    pub dir_errors: Vec<Diagnostic>,
    /// Every source and what it serves.
    pub sources: Vec<SourceStatus>,
    /// The last failure to write the state directory, until a write works.
    pub state_error: Option<String>,
}

impl Report {
    /// Nothing broken: what is on disk is what is served.
    pub fn valid(&self) -> bool {
        self.config_error.is_none() && self.errors.is_empty()
    }

    /// Every error line, config first.
    pub fn all_errors(&self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self
            .config_error
            .iter()
            .flat_map(|d| d.iter().cloned())
            .collect();
        out.extend(self.errors.iter().cloned());
        out
    }
}

/// The config, the sources and the state directory of one daemon (or one
/// `check`/`export` run, which reads the state directory but never writes).
pub struct Loader {
    config_path: PathBuf,
    sources: SourceSet,
    state: StateDir,
    persist: bool,
    kept_config_digest: Option<u64>,
    config_kept: Option<PathBuf>,
    /// The config text `open` parsed, kept by `first_build`.
    good_text: Option<Vec<u8>>,
    /// The text of the config in service, until `persist` keeps it.
    unkept_config: Option<Vec<u8>>,
}

fn digest(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

impl Loader {
    /// `persist`: keep copies in the state directory (`serve`).
    pub fn new(config_path: &Path, persist: bool) -> Loader {
        Loader {
            config_path: config_path.to_path_buf(),
            sources: SourceSet::new(None, persist),
            state: StateDir::resolve(None),
            persist,
            kept_config_digest: None,
            config_kept: None,
            good_text: None,
            unkept_config: None,
        }
    }

    pub fn state_dir(&self) -> &StateDir {
        &self.state
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    pub fn sources(&self) -> &SourceSet {
        &self.sources
    }

    pub fn sources_mut(&mut self) -> &mut SourceSet {
        &mut self.sources
    }

    /// The first load. Fails only when the config does not parse and the
    /// state directory keeps no good copy of it.
    pub fn start(&mut self) -> Result<(Snapshot, Report), Diagnostics> {
        let (config, config_error) = self.open()?;
        Ok(self.first_build(config, config_error))
    }

    /// The first half of [`start`](Self::start): the config to start on
    /// (the file's, else the state directory's copy, with the file's
    /// errors), so that logging can be set up before anything is logged.
    pub fn open(&mut self) -> Result<(Config, Option<Diagnostics>), Diagnostics> {
        let text = std::fs::read(&self.config_path);
        let parsed = match &text {
            Ok(bytes) => parse_config(&self.config_path, bytes),
            Err(e) => Err(Diagnostics(vec![Diagnostic::file(
                &self.config_path,
                e.to_string(),
            )])),
        };
        let key = statedir::key_of(&self.config_path);
        match parsed {
            Ok(cfg) => {
                self.state = StateDir::resolve(cfg.state_dir.as_deref());
                self.good_text = text.ok();
                let ns = self.state.namespace(CONFIG_NAMESPACE);
                self.kept_config_digest = ns.read(&key).ok().flatten().map(|b| digest(&b));
                self.sources = SourceSet::new(Some(self.state.clone()), self.persist);
                Ok((cfg, None))
            }
            Err(diags) => {
                let broken = text.as_deref().ok().map(String::from_utf8_lossy);
                let found = fallback_state_dirs(&self.config_path, broken.as_deref())
                    .into_iter()
                    .map(|dir| dir.namespace(CONFIG_NAMESPACE))
                    .find_map(|ns| ns.read(&key).ok().flatten().map(|kept| (ns, kept)));
                let Some((ns, kept)) = found else {
                    return Err(diags);
                };
                // Parsed as if it were the original file, so that its
                // relative `records` paths resolve as the original's do.
                let Ok(cfg) = parse_config(&self.config_path, &kept) else {
                    return Err(diags);
                };
                self.kept_config_digest = Some(digest(&kept));
                self.config_kept = ns.path(&key);
                self.state = StateDir::resolve(cfg.state_dir.as_deref());
                self.sources = SourceSet::new(Some(self.state.clone()), self.persist);
                Ok((cfg, Some(diags)))
            }
        }
    }

    /// The second half of [`start`](Self::start): every source, the first
    /// snapshot. Between the two, producers that keep their own state
    /// (Azure sync, secondary zones) can hand in what they kept through
    /// `sources_mut().submit(.., from_state: true)`, so the first snapshot
    /// already serves it.
    pub fn first_build(
        &mut self,
        config: Config,
        config_error: Option<Diagnostics>,
    ) -> (Snapshot, Report) {
        let mut report = Report {
            config_error,
            ..Report::default()
        };
        let text = self.good_text.take();
        let snapshot = self.build(config, None, &[], text.as_deref(), &mut report);
        report.state_error = self.persist();
        (snapshot, report)
    }

    /// A reload: the config file again (the one in service when it does
    /// not parse), every source again, a new snapshot.
    /// `hold`: record files being written right now, which keep the
    /// contents they had (read again once they are quiet).
    pub fn reload(&mut self, current: &Snapshot, hold: &[PathBuf]) -> (Snapshot, Report) {
        let mut report = Report::default();
        let text = std::fs::read(&self.config_path);
        let parsed = match &text {
            Ok(bytes) => parse_config(&self.config_path, bytes),
            Err(e) => Err(Diagnostics(vec![Diagnostic::file(
                &self.config_path,
                e.to_string(),
            )])),
        };
        let (config, good_text) = match parsed {
            Ok(cfg) => {
                self.config_kept = None;
                let wanted = StateDir::resolve(cfg.state_dir.as_deref());
                if wanted != self.state {
                    warn!(
                        "state_dir changed ({} -> {}); restart pldns to move to it",
                        self.state.root().display(),
                        wanted.root().display()
                    );
                }
                (cfg, text.ok())
            }
            Err(diags) => {
                report.config_error = Some(diags);
                ((*current.config).clone(), None)
            }
        };
        let snapshot = self.build(
            config,
            Some(current),
            hold,
            good_text.as_deref(),
            &mut report,
        );
        (snapshot, report)
    }

    fn build(
        &mut self,
        config: Config,
        previous: Option<&Snapshot>,
        hold: &[PathBuf],
        good_text: Option<&[u8]>,
        report: &mut Report,
    ) -> Snapshot {
        self.sources.refresh_files(&config, hold);
        let built = self.sources.build(&config);
        report.errors = self.sources.errors();
        report.sources = self.sources.status();
        report.dir_errors = self.sources.dir_errors().to_vec();
        report.warnings = built.warnings;
        report.warnings.extend(crate::azure::warnings(&config));
        report.config_kept = self.config_kept.clone();
        self.unkept_config = good_text.map(<[u8]>::to_vec);
        report.state_error = self.sources.state_error().map(String::from);
        Snapshot::build(config, built.records, previous)
    }

    /// Keeps the copies of what the last load put in service (`serve`
    /// calls it once the snapshot is swapped in: fsync is not on the way of
    /// an edit taking effect). Returns the state directory's error, if any.
    pub fn persist(&mut self) -> Option<String> {
        if self.persist {
            self.sources.persist();
            if let Some(text) = self.unkept_config.take() {
                self.keep_config(&text);
            }
            crate::sys::release_free_memory();
        }
        self.sources.state_error().map(String::from)
    }

    fn keep_config(&mut self, text: &[u8]) {
        let d = digest(text);
        if self.kept_config_digest == Some(d) {
            return;
        }
        let ns = self.state.namespace(CONFIG_NAMESPACE);
        match ns.write(&statedir::key_of(&self.config_path), text) {
            Ok(()) => self.kept_config_digest = Some(d),
            Err(e) => warn!(
                "cannot keep a copy of the config in {}: {e}; a restart with a broken config would not find it",
                ns.dir().display()
            ),
        }
    }
}

fn parse_config(path: &Path, bytes: &[u8]) -> Result<Config, Diagnostics> {
    match std::str::from_utf8(bytes) {
        Ok(text) => config::parse(path, text.strip_prefix('\u{feff}').unwrap_or(text)),
        Err(_) => Err(Diagnostics(vec![Diagnostic::file(path, "not UTF-8 text")])),
    }
}

/// Where to look for the kept config when the file does not parse: the
/// `state_dir` the broken file still names, if it can be read out of it,
/// then `$STATE_DIRECTORY`, else /var/lib/pldns.
pub fn fallback_state_dirs(config_path: &Path, broken: Option<&str>) -> Vec<StateDir> {
    let base = config_path.parent().unwrap_or(Path::new("/"));
    let named = broken.and_then(|text| {
        if let Ok(table) = text.parse::<toml::Table>() {
            return table
                .get("server")?
                .get("state_dir")?
                .as_str()
                .map(String::from);
        }
        // Not even TOML: a `state_dir = "..."` line is still a good guess.
        text.lines().find_map(|l| {
            let (key, value) = l.trim().split_once('=')?;
            (key.trim() == "state_dir").then_some(())?;
            let value = value.trim();
            let value = value.strip_prefix('"')?.split('"').next()?;
            (!value.is_empty()).then(|| value.to_string())
        })
    });
    let mut dirs: Vec<StateDir> = named
        .map(|d| StateDir::at(base.join(d)))
        .into_iter()
        .collect();
    let default = StateDir::resolve(None);
    if !dirs.contains(&default) {
        dirs.push(default);
    }
    dirs
}

/// Loads strictly, without the state directory: any error fails. For
/// benches and tests that want the files exactly as they are.
pub fn load_strict(path: &Path, previous: Option<&Snapshot>) -> Result<Snapshot, Diagnostics> {
    let config = config::load(path)?;
    let mut sources = SourceSet::new(None, false);
    sources.refresh_files(&config, &[]);
    let built = sources.build(&config);
    let errors = sources.errors();
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    Ok(Snapshot::build(config, built.records, previous))
}

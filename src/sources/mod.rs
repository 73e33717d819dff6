//! The record sources, a layer of their own: every file the config names
//! and every non-file producer (Azure sync, secondary zones), each with its
//! newest good contents, what the table in service holds from it, its
//! current error, and whether its contents came from the state directory.
//! The table is built from every source's good contents (`build`); a source
//! that breaks keeps its last good contents while the others move on.
//!
//! Files are read here (`files`); producers that are not files hand their
//! contents in with [`SourceSet::submit`] (through `State::submit_source` in
//! the daemon) and keep their own state with `statedir`.

mod build;
mod files;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::records::{Contents, Entry, EntryData};
pub use build::Built;
pub use files::EMPTY_GRACE;

use crate::diag::{Diagnostic, Diagnostics};
use crate::statedir::StateDir;

/// Which source: a record file, or a producer inside the daemon.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceId {
    /// A record file, by its absolute path (lexically normalised).
    File(PathBuf),
    /// One `[[sync]]` pull from Azure Resource Manager, by its name.
    Sync(String),
    /// A secondary zone pulled by zone transfer, by the zone's name.
    Secondary(String),
}

impl SourceId {
    /// The file name diagnostics about this source carry (`FILE:LINE`);
    /// for producers, `sync:<name>` or `secondary:<zone>`.
    pub fn label(&self) -> PathBuf {
        match self {
            SourceId::File(p) => p.clone(),
            other => PathBuf::from(other.to_string()),
        }
    }

    pub fn file(&self) -> Option<&Path> {
        match self {
            SourceId::File(p) => Some(p),
            _ => None,
        }
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceId::File(p) => write!(f, "{}", p.display()),
            SourceId::Sync(n) => write!(f, "sync:{n}"),
            SourceId::Secondary(z) => write!(f, "secondary:{z}"),
        }
    }
}

/// One source and what is known about it.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: SourceId,
    /// The newest contents that loaded whole: what the table should hold.
    pub current: Option<Arc<Contents>>,
    /// What the table in service holds from this source (at start-up: what
    /// the state directory kept from the last run).
    pub applied: Option<Arc<Contents>>,
    /// True while `current` is the copy read back from the state directory
    /// because the source itself is broken or unreadable.
    pub from_state: bool,
    /// Why the source's newest version does not load; `None` when it does.
    pub error: Option<Diagnostics>,
    /// Why the newest contents, though they load, are not in service: they
    /// clash with another source's (set by the last build).
    pub rejected: Option<Diagnostics>,
    file: files::FileState,
}

impl Source {
    fn new(id: SourceId) -> Source {
        Source {
            id,
            current: None,
            applied: None,
            from_state: false,
            error: None,
            rejected: None,
            file: files::FileState::default(),
        }
    }

    /// Every reason the source's newest version is not in service.
    pub fn problems(&self) -> Option<Diagnostics> {
        let mut all = Diagnostics::default();
        for d in [&self.error, &self.rejected].into_iter().flatten() {
            all.0.extend(d.iter().cloned());
        }
        (!all.is_empty()).then_some(all)
    }

    /// True when the table holds exactly the newest good contents.
    fn stable(&self) -> bool {
        match (&self.current, &self.applied) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

/// What a source looks like from outside (logs, metrics, `check`).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceStatus {
    pub id: SourceId,
    /// Entries of the source in the table now.
    pub entries: usize,
    /// The contents in service came from the state directory.
    pub from_state: bool,
    /// The error that keeps the newest version out, if any.
    pub error: Option<Diagnostics>,
}

/// Every source of one daemon (or one `check` run).
#[derive(Debug)]
pub struct SourceSet {
    sources: BTreeMap<SourceId, Source>,
    /// File sources in the order the config names them (a directory's
    /// files sorted); the order of the table build and of messages.
    order: Vec<SourceId>,
    /// Last good listing of every records directory, for when it cannot be
    /// read.
    dirs: BTreeMap<PathBuf, Vec<PathBuf>>,
    /// Records directories that cannot be listed now.
    dir_errors: Vec<Diagnostic>,
    /// Files in records directories that are not record files.
    ignored: Vec<PathBuf>,
    state: Option<StateDir>,
    /// `serve` keeps copies; `check` and `export` only read them.
    persist: bool,
    /// Why the last write to the state directory failed, until one works.
    state_error: Option<String>,
    /// Parsed entries kept in memory between reloads (see `files`).
    cache_limit: usize,
}

impl SourceSet {
    /// `state`: where the last good copies are (read when a source is
    /// broken at start-up); `persist`: keep a copy of every source that
    /// loads.
    pub fn new(state: Option<StateDir>, persist: bool) -> SourceSet {
        SourceSet {
            sources: BTreeMap::new(),
            order: Vec::new(),
            dirs: BTreeMap::new(),
            dir_errors: Vec::new(),
            ignored: Vec::new(),
            state,
            persist,
            state_error: None,
            cache_limit: files::CACHED_ENTRIES,
        }
    }

    /// How many parsed entries of file sources stay in memory between
    /// reloads; the rest are read again from the state directory.
    pub fn set_cache_limit(&mut self, entries: usize) {
        self.cache_limit = entries;
    }

    pub fn state_dir(&self) -> Option<&StateDir> {
        self.state.as_ref()
    }

    /// New contents of a producer's source (a good pull, a transfer): it
    /// replaces the source's contents at the next build, through the same
    /// placement rules and conflict checks as a file.
    pub fn submit(&mut self, id: SourceId, contents: Contents, from_state: bool) {
        let src = self
            .sources
            .entry(id.clone())
            .or_insert_with(|| Source::new(id));
        src.current = Some(Arc::new(contents));
        src.from_state = from_state;
        src.error = None;
    }

    /// A producer's newest attempt failed: its last good contents stay in
    /// service and the fault is reported until the next good submit.
    pub fn fail(&mut self, id: SourceId, error: Diagnostics) {
        let src = self
            .sources
            .entry(id.clone())
            .or_insert_with(|| Source::new(id));
        src.error = Some(error);
    }

    /// A producer's source is gone (its config was removed).
    pub fn remove(&mut self, id: &SourceId) {
        self.sources.remove(id);
    }

    pub fn get(&self, id: &SourceId) -> Option<&Source> {
        self.sources.get(id)
    }

    /// The sources in build order: files as the config names them, then
    /// the producers' sources.
    fn build_order(&self) -> Vec<SourceId> {
        let mut ids = self.order.clone();
        ids.extend(
            self.sources
                .keys()
                .filter(|id| id.file().is_none())
                .cloned(),
        );
        ids
    }

    /// The record files of the last refresh, in config order.
    pub fn files(&self) -> Vec<PathBuf> {
        self.order
            .iter()
            .filter_map(|id| id.file().map(Path::to_path_buf))
            .collect()
    }

    /// Records directories that cannot be listed now.
    pub fn dir_errors(&self) -> &[Diagnostic] {
        &self.dir_errors
    }

    /// Files in records directories that pldns does not read.
    pub fn ignored(&self) -> &[PathBuf] {
        &self.ignored
    }

    /// Every error that keeps something out of service: broken sources and
    /// unreadable records directories.
    pub fn errors(&self) -> Vec<Diagnostic> {
        let mut out = self.dir_errors.clone();
        for id in self.build_order() {
            if let Some(e) = self.sources.get(&id).and_then(Source::problems) {
                out.extend(e.0);
            }
        }
        out
    }

    pub fn status(&self) -> Vec<SourceStatus> {
        self.build_order()
            .into_iter()
            .filter_map(|id| self.sources.get(&id))
            .map(|s| SourceStatus {
                id: s.id.clone(),
                entries: s
                    .applied
                    .as_ref()
                    .map_or(s.file.entries, |c| c.entries.len()),
                from_state: s.from_state && s.applied.is_some(),
                error: s.problems(),
            })
            .collect()
    }

    /// The last failure to write the state directory, until a write works.
    pub fn state_error(&self) -> Option<&str> {
        self.state_error.as_deref()
    }
}

#[cfg(test)]
mod tests;

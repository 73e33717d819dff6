//! Record files as sources: find them (the config's `records` paths, a
//! directory's files), read each one, keep its newest contents that parse
//! and, in the state directory, a copy of the bytes that are in service.
//! A file that does not parse, cannot be read, or whose directory cannot be
//! listed keeps its last good contents: from memory, or at start-up from
//! the state directory's copy.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::warn;

use super::{Source, SourceId, SourceSet};
use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::records;
use crate::statedir::{self, Namespace};

/// The state namespace of record files.
pub const NAMESPACE: &str = "records";

/// Bookkeeping of a file source.
#[derive(Debug, Clone, Default)]
pub(super) struct FileState {
    /// Hash of the bytes `current` was parsed from.
    digest: Option<u64>,
    /// Hash of the newest bytes that did not parse (not parsed again).
    failed_digest: Option<u64>,
    /// Hash of the copy in the state directory, when known.
    kept_digest: Option<u64>,
    /// The state directory was looked at for this file.
    kept_checked: bool,
    /// The bytes of `current` while the state directory lacks them.
    unsaved: Option<Vec<u8>>,
    /// `current` (= `applied`) was dropped from memory: it is the state
    /// directory's copy, read again at the next refresh.
    evicted: bool,
    /// Entries of the contents in service, kept when they are evicted.
    pub(super) entries: usize,
}

/// Parsed contents kept in memory between reloads, all file sources
/// together (about 120 bytes each): beyond this, the biggest sources that
/// the state directory holds are dropped and parsed again from their copy
/// at each reload (what every reload did before contents were kept).
pub(super) const CACHED_ENTRIES: usize = 200_000;

fn digest(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// `a/./b/` and `a/b` are one source.
fn normal(path: &Path) -> PathBuf {
    path.components().collect()
}

/// An I/O error as the admin needs it: a file the service cannot read is
/// usually one written by an admin with a private umask.
pub(crate) fn io_reason(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::PermissionDenied {
        let (uid, gid) = crate::sys::ids();
        format!(
            "{e}: pldns runs as uid {uid} gid {gid} and cannot read it (under systemd a dynamic user: make it world-readable, chmod o+r, and its directories o+x)"
        )
    } else {
        e.to_string()
    }
}

impl SourceSet {
    fn records_ns(&self) -> Option<Namespace> {
        self.state.as_ref().map(|s| s.namespace(NAMESPACE))
    }

    /// Kept copies under a records directory, for when it cannot be listed.
    fn kept_members(&self, dir: &Path) -> Vec<PathBuf> {
        let Some(ns) = self.records_ns() else {
            return Vec::new();
        };
        ns.keys(Some(&statedir::key_of(dir)))
            .unwrap_or_default()
            .into_iter()
            .map(|k| statedir::path_of(&k))
            .filter(|p| p.parent() == Some(dir) && records::is_record_file_name(p))
            .collect()
    }

    /// Finds every record file `config` names and reads it. Files that are
    /// no longer named leave the set (their records leave the table).
    /// Files in `hold` that have contents keep them without being read (they
    /// are being written to right now).
    pub fn refresh_files(&mut self, config: &Config, hold: &[PathBuf]) {
        self.dir_errors.clear();
        self.ignored.clear();
        let mut files: Vec<PathBuf> = Vec::new();
        let mut seen_dirs: Vec<PathBuf> = Vec::new();
        for source in config.zones.iter().flat_map(|z| z.records.iter().flatten()) {
            let path = normal(source);
            if seen_dirs.contains(&path) || files.contains(&path) {
                continue;
            }
            let written_as_dir = source.as_os_str().to_string_lossy().ends_with('/');
            let members = match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => {
                    seen_dirs.push(path.clone());
                    match records::list_directory(&path) {
                        Ok(listing) => {
                            self.ignored.extend(listing.ignored);
                            self.dirs.insert(path.clone(), listing.files.clone());
                            listing.files
                        }
                        Err(e) => self.unlistable(&path, &e),
                    }
                }
                Err(e)
                    if written_as_dir
                        || self.dirs.contains_key(&path)
                        || !self.kept_members(&path).is_empty() =>
                {
                    seen_dirs.push(path.clone());
                    self.unlistable(&path, &e)
                }
                _ => vec![path],
            };
            for f in members {
                let f = normal(&f);
                if !files.contains(&f) {
                    files.push(f);
                }
            }
        }
        self.dirs.retain(|d, _| seen_dirs.contains(d));
        let order: Vec<SourceId> = files.into_iter().map(SourceId::File).collect();
        self.sources
            .retain(|id, _| id.file().is_none() || order.contains(id));
        let ns = self.records_ns();
        for id in &order {
            let held = id
                .file()
                .is_some_and(|p| hold.iter().any(|h| normal(h) == p));
            if let (Some(src), Some(path)) = (self.sources.get_mut(id), id.file())
                && src.file.evicted
            {
                src.file.evicted = false;
                load_kept(src, path, ns.as_ref());
            }
            let has = self.sources.get(id).is_some_and(|s| s.current.is_some());
            if !(held && has) {
                self.refresh_file(id);
            }
        }
        self.order = order;
    }

    /// A records directory that cannot be listed: an error, and the files
    /// it had (the last listing, else the state directory's copies).
    fn unlistable(&mut self, dir: &Path, e: &io::Error) -> Vec<PathBuf> {
        self.dir_errors.push(Diagnostic::file(dir, io_reason(e)));
        match self.dirs.get(dir) {
            Some(files) => files.clone(),
            None => self.kept_members(dir),
        }
    }

    fn refresh_file(&mut self, id: &SourceId) {
        let Some(path) = id.file().map(Path::to_path_buf) else {
            return;
        };
        let ns = self.records_ns();
        let src = self
            .sources
            .entry(id.clone())
            .or_insert_with(|| Source::new(id.clone()));
        if !src.file.kept_checked {
            src.file.kept_checked = true;
            load_kept(src, &path, ns.as_ref());
        }
        // Read empty but not empty now: the read fell between an in-place
        // save's truncating and writing (this thread runs at nice 19 and
        // may have waited a long while since): read again.
        let read = std::fs::read(&path).and_then(|b| {
            let grew = b.is_empty() && std::fs::metadata(&path).is_ok_and(|m| m.len() > 0);
            if grew { std::fs::read(&path) } else { Ok(b) }
        });
        match read {
            Err(e) => {
                // The last good contents (`current`) stay.
                src.error = Some(Diagnostics(vec![Diagnostic::file(&path, io_reason(&e))]));
                src.file.failed_digest = None;
            }
            Ok(bytes) if bytes.is_empty() && src.current.is_some() && just_changed(&path) => {
                // Most likely an in-place save caught between truncating
                // and writing: keep the contents; the write (or, for a file
                // emptied on purpose, the reload's follow-up once the grace
                // is over) brings the next round.
            }
            Ok(bytes) => {
                let d = digest(&bytes);
                if src.current.is_some() && src.file.digest == Some(d) {
                    src.error = None;
                    src.from_state = false;
                    return;
                }
                if src.file.failed_digest == Some(d) {
                    return;
                }
                match records::parse(&path, &bytes) {
                    Ok(contents) => {
                        src.current = Some(Arc::new(contents));
                        src.file.digest = Some(d);
                        src.file.failed_digest = None;
                        src.file.unsaved = (src.file.kept_digest != Some(d)).then_some(bytes);
                        src.error = None;
                        src.from_state = false;
                    }
                    Err(diags) => {
                        src.error = Some(diags);
                        src.file.failed_digest = Some(d);
                    }
                }
            }
        }
    }

    /// Writes the copy of every file source whose newest contents are in
    /// service and not yet kept, and removes the copies of files that are
    /// no longer sources. A failure is logged and remembered (metrics),
    /// never fatal: the daemon serves on without a fresh copy.
    pub fn persist(&mut self) {
        if !self.persist {
            return;
        }
        let Some(ns) = self.records_ns() else { return };
        let mut failure: Option<String> = None;
        for id in &self.order {
            let Some(src) = self.sources.get_mut(id) else {
                continue;
            };
            if !src.stable() {
                continue;
            }
            let Some(bytes) = src.file.unsaved.as_ref() else {
                continue;
            };
            let Some(path) = id.file() else { continue };
            match ns.write(&statedir::key_of(path), bytes) {
                Ok(()) => {
                    src.file.kept_digest = src.file.digest;
                    src.file.unsaved = None;
                }
                Err(e) => {
                    failure.get_or_insert_with(|| {
                        format!(
                            "cannot keep a copy of {} in {}: {e}",
                            path.display(),
                            ns.dir().display()
                        )
                    });
                }
            }
        }
        let live: Vec<PathBuf> = self
            .order
            .iter()
            .filter_map(|id| id.file().map(statedir::key_of))
            .collect();
        match ns.keys(None) {
            Ok(keys) => {
                for key in keys.into_iter().filter(|k| !live.contains(k)) {
                    if let Err(e) = ns.remove(&key) {
                        failure.get_or_insert_with(|| {
                            format!(
                                "cannot remove {} from the state directory: {e}",
                                key.display()
                            )
                        });
                    }
                }
            }
            Err(e) => {
                failure.get_or_insert_with(|| {
                    format!(
                        "cannot read the state directory {}: {e}",
                        ns.dir().display()
                    )
                });
            }
        }
        self.evict();
        if let Some(f) = &failure
            && self.state_error.as_ref() != Some(f)
        {
            warn!("{f}; serving on, but a restart would not find this copy");
        }
        self.state_error = failure;
    }
}

impl SourceSet {
    /// Keeps the memory of parsed contents bounded (see `CACHED_ENTRIES`):
    /// the biggest file sources whose copy the state directory holds, and
    /// that are in service unchanged, are dropped.
    fn evict(&mut self) {
        let mut kept: Vec<(usize, SourceId)> = Vec::new();
        let mut total = 0;
        for id in &self.order {
            let Some(src) = self.sources.get_mut(id) else {
                continue;
            };
            let n = src.applied.as_ref().map_or(0, |c| c.entries.len());
            src.file.entries = n;
            total += n;
            let evictable = src.stable()
                && src.error.is_none()
                && src.file.unsaved.is_none()
                && src.file.digest.is_some()
                && src.file.kept_digest == src.file.digest;
            if evictable && n > 0 {
                kept.push((n, id.clone()));
            }
        }
        kept.sort_unstable_by_key(|k| std::cmp::Reverse(k.0));
        for (n, id) in kept {
            if total <= self.cache_limit {
                break;
            }
            if let Some(src) = self.sources.get_mut(&id) {
                src.current = None;
                src.applied = None;
                src.file.evicted = true;
                total -= n;
            }
        }
    }
}

/// At a file's first refresh: its copy in the state directory is what was
/// in service before this start (and what serves while the file is broken).
fn load_kept(src: &mut Source, path: &Path, ns: Option<&Namespace>) {
    let Some(ns) = ns else { return };
    let bytes = match ns.read(&statedir::key_of(path)) {
        Ok(Some(b)) => b,
        Ok(None) => return,
        Err(e) => {
            warn!(
                "cannot read the kept copy of {} in {}: {e}",
                path.display(),
                ns.dir().display()
            );
            return;
        }
    };
    let kept_path = ns.path(&statedir::key_of(path)).unwrap_or_default();
    match records::parse(path, &bytes) {
        Ok(contents) => {
            let contents = Arc::new(contents);
            src.applied = Some(contents.clone());
            src.current = Some(contents);
            src.from_state = true;
            src.file.digest = Some(digest(&bytes));
            src.file.kept_digest = src.file.digest;
        }
        Err(diags) => warn!(
            "ignoring the kept copy {} of {}, which does not load: {}",
            kept_path.display(),
            path.display(),
            diags
                .iter()
                .next()
                .map(|d| d.message.as_str())
                .unwrap_or("")
        ),
    }
}

/// How long a record file that an edit left empty keeps its contents. An
/// in-place save truncates before it writes, and a writer that stalls in
/// between (a loaded machine) must not empty the zone for everyone; a file
/// emptied on purpose takes effect once it has been empty this long.
pub const EMPTY_GRACE: std::time::Duration = std::time::Duration::from_millis(1000);

/// True when `path` changed less than [`EMPTY_GRACE`] ago (a clock that
/// went back counts as just now).
fn just_changed(path: &Path) -> bool {
    let Ok(modified) = std::fs::metadata(path).and_then(|m| m.modified()) else {
        return false;
    };
    std::time::SystemTime::now()
        .duration_since(modified)
        .map_or(true, |age| age < EMPTY_GRACE)
}

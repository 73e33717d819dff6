//! The state directory: what pldns keeps across restarts (the last good
//! config, the last good copy of every record source, and what other
//! producers such as Azure sync or secondary zones keep). Written so that a
//! crash or power loss leaves either the old copy or the new one, never a
//! half-written file: temp file, fsync, rename, fsync of the directory.
//!
//! Layout: `<root>/<namespace>/<key>`, one namespace per producer
//! (`config`, `records`, `sync`, `zones`), keys being relative paths. Copies
//! of files are keyed by the file's absolute path, so
//! `records/etc/pldns/records.d/vault.json` is the last good copy of
//! `/etc/pldns/records.d/vault.json` and `diff` shows what an edit changed.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// What systemd's `StateDirectory=pldns` gives us when nothing else does.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/pldns";

/// The state directory in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

/// Where the state directory is when the config names none: systemd's
/// `$STATE_DIRECTORY` (the first entry when it lists several), else
/// `/var/lib/pldns`.
pub fn default_root() -> PathBuf {
    std::env::var_os("STATE_DIRECTORY")
        .and_then(|v| {
            v.to_str()
                .and_then(|s| s.split(':').find(|p| !p.is_empty()))
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR))
}

impl StateDir {
    /// `[server] state_dir` when set (already resolved against the config
    /// file's folder), else [`default_root`].
    pub fn resolve(configured: Option<&Path>) -> StateDir {
        StateDir {
            root: configured.map_or_else(default_root, Path::to_path_buf),
        }
    }

    pub fn at(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The part of the state directory one producer owns.
    pub fn namespace(&self, name: &str) -> Namespace {
        Namespace {
            dir: self.root.join(name),
        }
    }
}

/// One producer's sub-directory of the state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    dir: PathBuf,
}

impl Namespace {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds `key`; `None` when `key` is not a plain relative
    /// path (empty, `..`, absolute), which callers must never build.
    pub fn path(&self, key: &Path) -> Option<PathBuf> {
        let mut out = self.dir.clone();
        let mut any = false;
        for c in key.components() {
            match c {
                Component::Normal(part) => {
                    out.push(part);
                    any = true;
                }
                Component::RootDir | Component::CurDir => {}
                Component::ParentDir | Component::Prefix(_) => return None,
            }
        }
        any.then_some(out)
    }

    fn checked(&self, key: &Path) -> io::Result<PathBuf> {
        self.path(key).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid state key {}", key.display()),
            )
        })
    }

    /// Reads the copy kept under `key`; `Ok(None)` when there is none.
    pub fn read(&self, key: &Path) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.checked(key)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces the copy under `key` atomically (see [`write_atomic`]).
    pub fn write(&self, key: &Path, bytes: &[u8]) -> io::Result<()> {
        let path = self.checked(key)?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        write_atomic(&path, bytes)
    }

    /// Removes the copy under `key` and the directories it leaves empty.
    pub fn remove(&self, key: &Path) -> io::Result<()> {
        let path = self.checked(key)?;
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == self.dir || fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
        Ok(())
    }

    /// Every key in the namespace (or under `prefix`), sorted. Our own
    /// temporary files (`.NAME.tmp.PID`) are left out.
    pub fn keys(&self, prefix: Option<&Path>) -> io::Result<Vec<PathBuf>> {
        let start = match prefix {
            Some(p) => self.checked(p)?,
            None => self.dir.clone(),
        };
        let mut out = Vec::new();
        let mut stack = vec![start];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) if e.kind() == io::ErrorKind::NotADirectory => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let path = entry.path();
                if entry.file_type()?.is_dir() {
                    stack.push(path);
                } else if is_temporary(&entry.file_name()) {
                    continue;
                } else if let Ok(rel) = path.strip_prefix(&self.dir) {
                    out.push(rel.to_path_buf());
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// A temporary file of [`write_atomic`] (left behind by a crash).
fn is_temporary(name: &OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.starts_with('.') && n.contains(".tmp."))
}

/// The key a file is kept under: its absolute path without the leading `/`.
pub fn key_of(path: &Path) -> PathBuf {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// The absolute path a key stands for (the inverse of [`key_of`]).
pub fn path_of(key: &Path) -> PathBuf {
    Path::new("/").join(key)
}

/// Writes `bytes` to `path` so that readers (and a crash at any point) see
/// either the old file or the new one: a temporary file in the same
/// directory, fsync, rename over `path`, fsync of the directory so the
/// rename itself is on disk.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or(OsStr::new("state"));
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_replace_remove() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::at(dir.path());
        let ns = state.namespace("records");
        let key = key_of(Path::new("/etc/pldns/records.d/a.hosts"));
        assert_eq!(key, Path::new("etc/pldns/records.d/a.hosts"));
        assert_eq!(path_of(&key), Path::new("/etc/pldns/records.d/a.hosts"));
        assert_eq!(ns.read(&key).unwrap(), None);
        ns.write(&key, b"one").unwrap();
        ns.write(&key, b"two").unwrap();
        assert_eq!(ns.read(&key).unwrap().as_deref(), Some(&b"two"[..]));
        ns.write(Path::new("etc/other.toml"), b"x").unwrap();
        assert_eq!(
            ns.keys(None).unwrap(),
            vec![
                PathBuf::from("etc/other.toml"),
                PathBuf::from("etc/pldns/records.d/a.hosts")
            ]
        );
        assert_eq!(
            ns.keys(Some(Path::new("etc/pldns"))).unwrap(),
            vec![PathBuf::from("etc/pldns/records.d/a.hosts")]
        );
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path().join("records/etc/pldns/records.d"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.hosts")]);
        ns.remove(&key).unwrap();
        assert_eq!(ns.read(&key).unwrap(), None);
        assert!(!dir.path().join("records/etc/pldns").exists());
        assert!(dir.path().join("records/etc").exists());
    }

    #[test]
    fn keys_never_leave_the_namespace() {
        let ns = StateDir::at("/s").namespace("sync");
        assert_eq!(ns.path(Path::new("a/../../x")), None);
        assert_eq!(ns.path(Path::new("")), None);
        assert_eq!(
            ns.path(Path::new("/abs/key")),
            Some(PathBuf::from("/s/sync/abs/key"))
        );
    }

    #[test]
    fn unwritable_directory_is_an_error_not_a_panic() {
        let ns = StateDir::at("/proc/pldns-test").namespace("records");
        assert!(ns.write(Path::new("x"), b"y").is_err());
    }
}

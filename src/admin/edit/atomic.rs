//! Replacing a record file whole, so that the daemon (and anyone) sees
//! either the old contents or the new, never half a file: a temporary file
//! in the same directory (hidden and not a record file name, so the daemon
//! ignores it), written and fsynced, given the file's owner, group and
//! mode, renamed over the file, and the directory fsynced. A symlink stays
//! a symlink: its target is replaced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of a record file this creates: readable by the service's dynamic
/// user.
pub const NEW_FILE_MODE: u32 = 0o644;

/// Replaces `path` with `bytes` if it still holds `expected` (`None`: it
/// must not exist yet). Returns the path written (a symlink's target).
pub fn replace(path: &Path, expected: Option<&[u8]>, bytes: &[u8]) -> io::Result<PathBuf> {
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::other("not a file name"))?
        .to_string_lossy();
    let existing = match fs::metadata(&target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let temp = dir.join(format!(".{name}.pldns-{}.tmp", std::process::id()));
    let written = write_temp(&temp, existing.as_ref(), dir, bytes).and_then(|()| {
        // Someone else's edit since we read the file: theirs stays.
        let now = match fs::read(&target) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if now.as_deref() != expected {
            return Err(io::Error::other(format!(
                "{} changed while it was being edited: nothing written; run the command again",
                target.display()
            )));
        }
        fs::rename(&temp, &target)
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    File::open(dir)?.sync_all()?;
    Ok(target)
}

fn write_temp(
    temp: &Path,
    existing: Option<&fs::Metadata>,
    dir: &Path,
    bytes: &[u8],
) -> io::Result<()> {
    let mode = existing.map_or(NEW_FILE_MODE, |m| m.mode() & 0o7777);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(temp)?;
    f.write_all(bytes)?;
    // The owner of the file we replace, or of its directory for a new one
    // (an admin group's directory keeps its group). Only root may give a
    // file away; anyone else keeps files they own and may not change them.
    let owner = match existing {
        Some(m) => (m.uid(), m.gid()),
        None => {
            let d = fs::metadata(dir)?;
            (d.uid(), d.gid())
        }
    };
    let ours = f.metadata()?;
    if (ours.uid(), ours.gid()) != owner {
        let chowned = std::os::unix::fs::fchown(&f, Some(owner.0), Some(owner.1));
        if let (Err(e), Some(_)) = (chowned, existing) {
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "cannot give the new file the owner of the old (uid {} gid {}): {e}; run as root",
                    owner.0, owner.1
                ),
            ));
        }
    }
    // create_new's mode went through the umask; set it exactly.
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_keeping_mode_and_following_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.hosts");
        fs::write(&file, "old\n").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
        let ino = fs::metadata(&file).unwrap().ino();
        replace(&file, Some(b"old\n"), b"new\n").unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "new\n");
        let m = fs::metadata(&file).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o640);
        assert_ne!(m.ino(), ino, "a new inode, renamed over the old");
        // Nothing left behind.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);

        let link = dir.path().join("link.hosts");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        replace(&link, Some(b"new\n"), b"newer\n").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&file).unwrap(), "newer\n");
    }

    #[test]
    fn refuses_when_the_file_changed_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.hosts");
        fs::write(&file, "theirs\n").unwrap();
        let e = replace(&file, Some(b"ours\n"), b"new\n").unwrap_err();
        assert!(e.to_string().contains("changed while"), "{e}");
        assert_eq!(fs::read_to_string(&file).unwrap(), "theirs\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // A new file must not exist yet.
        assert!(replace(&file, None, b"x\n").is_err());
        let fresh = dir.path().join("new.hosts");
        replace(&fresh, None, b"x\n").unwrap();
        assert_eq!(fs::metadata(&fresh).unwrap().mode() & 0o7777, NEW_FILE_MODE);
    }
}

//! Can the service read it? The unit runs pldns as a dynamic user
//! (`DynamicUser=yes`): a uid of its own, in no group, so it reads only
//! what everyone may read. `sudo pldns check` reads everything; this tells
//! the admin about the config and record files the service would not.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;

const O_READ: u32 = 0o004;
const O_EXEC: u32 = 0o001;

/// One warning per file (or directory on the way to it) that users other
/// than its owner and group cannot read (or, for directories, enter).
pub fn unreadable_by_others(paths: &[PathBuf]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut dirs_checked: Vec<PathBuf> = Vec::new();
    for path in paths {
        for dir in path.ancestors().skip(1) {
            if dir.as_os_str().is_empty() || dirs_checked.iter().any(|d| d == dir) {
                continue;
            }
            dirs_checked.push(dir.to_path_buf());
            if let Some(w) = check(dir, O_EXEC, "enter") {
                out.push(w);
            }
        }
        if let Some(w) = check(path, O_READ, "read") {
            out.push(w);
        }
    }
    out
}

/// Also the directories named in `records`, which must be listable.
pub fn unlistable_dirs(dirs: &[PathBuf]) -> Vec<Diagnostic> {
    dirs.iter()
        .filter_map(|d| check(d, O_READ | O_EXEC, "list"))
        .collect()
}

fn check(path: &Path, bits: u32, what: &str) -> Option<Diagnostic> {
    let meta = std::fs::metadata(path).ok()?;
    let mode = meta.mode() & 0o7777;
    if mode & bits == bits {
        return None;
    }
    let who = if meta.uid() == 0 { "root" } else { "its owner" };
    let fix = if meta.is_dir() {
        "chmod o+rx"
    } else {
        "chmod o+r"
    };
    Some(Diagnostic::file(
        path,
        format!(
            "mode {mode:04o}: only {who} and its group can {what} it, and the pldns service runs as a dynamic user (DynamicUser=yes) that cannot; {fix} {}",
            path.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_files_and_closed_directories_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("records.d");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o750)).unwrap();
        let open = sub.join("open.hosts");
        let private = sub.join("private.hosts");
        std::fs::write(&open, "").unwrap();
        std::fs::write(&private, "").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o640)).unwrap();
        let w = unreadable_by_others(&[open.clone(), private.clone()]);
        let text: Vec<String> = w.iter().map(|d| d.to_string()).collect();
        assert_eq!(w.len(), 2, "{text:?}");
        assert!(
            text[0].starts_with(&format!("{}: mode 0750", sub.display())),
            "{text:?}"
        );
        assert!(text[0].contains("chmod o+rx"), "{text:?}");
        assert!(
            text[1].starts_with(&format!("{}: mode 0640", private.display())),
            "{text:?}"
        );
        assert_eq!(unlistable_dirs(std::slice::from_ref(&sub)).len(), 1);
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(unlistable_dirs(&[sub]).is_empty());
    }
}

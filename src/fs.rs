//! Writing project files safely: atomic replacement that keeps the file's mode, writes through
//! symlinks that stay inside the project, and deletes that reach the disk.
//!
//! A write goes to a temporary file in the target's own folder (same filesystem, so the final
//! rename is atomic), is flushed with fsync, renamed over the target, and the folder is fsynced so
//! the rename itself survives a power cut. A reader sees the old bytes or the new bytes, never a
//! mix.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The mode a created file gets when the caller does not say (rw-r--r--).
pub const DEFAULT_MODE: u32 = 0o644;

/// Where the bytes of `relative` really live: the path itself, or, when it is a symlink, the
/// file it leads to. A link that leads outside `root` is refused: scalepatch never writes there.
pub fn resolve_target(root: &Path, relative: &Path) -> io::Result<PathBuf> {
    let path = root.join(relative);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = path.canonicalize()?;
            let root = root.canonicalize()?;
            if !target.starts_with(&root) {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{}: symlink leads outside the project (to {})", relative.display(), target.display()),
                ));
            }
            Ok(target)
        }
        _ => Ok(path),
    }
}

/// The permission bits of a file, if it exists.
pub fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|meta| meta.permissions().mode() & 0o7777)
}

/// Replaces `path` with `bytes` atomically. `mode`: the permission bits to give the file; `None`
/// keeps the mode of the file being replaced ([`DEFAULT_MODE`] for a new file). The temporary
/// file is created 0600 by tempfile, so the mode is always set explicitly before the rename.
/// Missing parent folders are created (a new migration's package exists, but be lenient).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = parent_of(path);
    std::fs::create_dir_all(dir)?;
    let existing = std::fs::metadata(path).ok();
    let mode = mode.or_else(|| mode_of(path)).unwrap_or(DEFAULT_MODE);
    let mut temp = tempfile::Builder::new().prefix(".scalepatch-").suffix(".tmp").tempfile_in(dir)?;
    temp.write_all(bytes)?;
    if let Some(existing) = existing {
        // Keep the owner too (run as root on a deploy user's files, say). Only a privileged
        // process may give a file away; anyone else keeps their own ownership, as an editor would.
        use std::os::unix::fs::MetadataExt;
        let _ = std::os::unix::fs::fchown(temp.as_file(), Some(existing.uid()), Some(existing.gid()));
    }
    temp.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|err| err.error)?;
    sync_dir(dir)
}

/// Deletes `path` (absent already is fine) and makes the deletion durable.
pub fn remove_file(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => sync_dir(parent_of(path)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

/// Flushes a folder's entries (renames, creations, deletions) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Reads a file, `None` when it does not exist.
pub fn read_if_exists(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_mode_of_an_executable() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("entrypoint.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        write_atomic(&script, b"#!/bin/sh\nexec gunicorn\n", None).unwrap();
        assert_eq!(mode_of(&script), Some(0o755));
        assert_eq!(std::fs::read(&script).unwrap(), b"#!/bin/sh\nexec gunicorn\n");
        let created = dir.path().join("new.txt");
        write_atomic(&created, b"x", None).unwrap();
        assert_eq!(mode_of(&created), Some(DEFAULT_MODE));
        write_atomic(&created, b"y", Some(0o600)).unwrap();
        assert_eq!(mode_of(&created), Some(0o600));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn keeps_the_owner_when_allowed_to() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("settings.py");
        std::fs::write(&file, "A = 1\n").unwrap();
        // Only root may give a file to another user; elsewhere the owner is simply ours.
        let owner = if unsafe { libc::geteuid() } == 0 { 1234 } else { std::fs::metadata(&file).unwrap().uid() };
        let _ = std::os::unix::fs::chown(&file, Some(owner), Some(owner));
        let before = std::fs::metadata(&file).unwrap();
        write_atomic(&file, b"A = 2\n", None).unwrap();
        let after = std::fs::metadata(&file).unwrap();
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    }

    #[test]
    fn symlinks_inside_are_followed_and_outside_refused() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("real.conf"), "a").unwrap();
        std::os::unix::fs::symlink("real.conf", root.path().join("link.conf")).unwrap();
        std::fs::write(outside.path().join("x.conf"), "a").unwrap();
        std::os::unix::fs::symlink(outside.path().join("x.conf"), root.path().join("out.conf")).unwrap();
        let target = resolve_target(root.path(), Path::new("link.conf")).unwrap();
        assert_eq!(target, root.path().canonicalize().unwrap().join("real.conf"));
        write_atomic(&target, b"b", None).unwrap();
        assert!(std::fs::symlink_metadata(root.path().join("link.conf")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(root.path().join("real.conf")).unwrap(), b"b");
        assert!(resolve_target(root.path(), Path::new("out.conf")).is_err());
    }
}

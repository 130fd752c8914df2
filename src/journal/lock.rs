//! `.scalepatch/lock`: one scalepatch run per project at a time.
//!
//! The lock file holds the owner's pid. It is published with `link(2)`, which like `O_EXCL`
//! fails when the name exists, but only ever shows a complete file (never an empty one a reader
//! could mistake for stale). A lock whose pid is no longer alive (a crashed run) is taken over.

use std::io;
use std::path::{Path, PathBuf};

/// A held lock; released on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    pid: u32,
}

/// Another live process holds the lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another scalepatch run (pid {pid}) is working on this project; lock file {}", path.display())]
    Held { pid: u32, path: PathBuf },
    #[error("cannot take the lock {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl Lock {
    /// Takes the lock in `dir`, taking over a stale one left by a dead process.
    pub fn acquire(dir: &Path) -> Result<Lock, LockError> {
        let path = dir.join("lock");
        let pid = std::process::id();
        let io_error = |source| LockError::Io { path: path.clone(), source };
        let staging = dir.join(format!("lock.{pid}.tmp"));
        std::fs::write(&staging, format!("{pid}\n")).map_err(io_error)?;
        let result = (|| {
            for _ in 0..3 {
                match std::fs::hard_link(&staging, &path) {
                    Ok(()) => return Ok(Lock { path: path.clone(), pid }),
                    Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(err) => return Err(io_error(err)),
                }
                let holder = read_pid(&path);
                match holder {
                    Some(holder) if is_alive(holder) => {
                        return Err(LockError::Held { pid: holder, path: path.clone() });
                    }
                    _ => take_over_stale(&path, holder).map_err(io_error)?,
                }
            }
            Err(LockError::Held { pid: read_pid(&path).unwrap_or(0), path: path.clone() })
        })();
        let _ = std::fs::remove_file(&staging);
        result
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if read_pid(&self.path) == Some(self.pid) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Removes a stale lock. It is first renamed to a private name, so that two processes taking
/// over at once cannot delete a lock the other has just published: whoever renamed a live
/// lock by mistake links it back.
fn take_over_stale(path: &Path, seen: Option<u32>) -> io::Result<()> {
    let aside = path.with_file_name(format!("lock.stale.{}", std::process::id()));
    match std::fs::rename(path, &aside) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    }
    let moved = read_pid(&aside);
    if moved != seen && moved.is_some_and(is_alive) {
        let _ = std::fs::hard_link(&aside, path);
    }
    std::fs::remove_file(&aside)
}

/// Whether a process with this pid exists (signal 0 checks without sending anything).
fn is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks that the process exists and may be signalled.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_then_released_then_stale_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let lock = Lock::acquire(dir.path()).unwrap();
        assert!(matches!(Lock::acquire(dir.path()), Err(LockError::Held { .. })));
        drop(lock);
        assert!(!dir.path().join("lock").exists());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        std::fs::write(dir.path().join("lock"), format!("{dead}\n")).unwrap();
        let lock = Lock::acquire(dir.path()).unwrap();
        assert_eq!(read_pid(&dir.path().join("lock")), Some(std::process::id()));
        drop(lock);
    }
}

//! `.scalepatch/lock`: one writing scalepatch run per project at a time.
//!
//! An OS advisory lock (`flock(2)` through std's `File::try_lock`) on the lock file, not a pid
//! in it: the kernel drops the lock when its holder dies, so a crashed run never blocks the
//! project and a recycled pid (a stale file naming a live, unrelated process) means nothing. The
//! file stays in place between runs (deleting it would let two runs lock two different files);
//! the pid written into it only helps a human see who holds it. It is opened relative to the
//! journal folder's descriptor, created exclusively, and never through a symlink.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

/// A held lock; released when dropped (the descriptor is closed).
#[derive(Debug)]
pub struct Lock {
    _file: std::fs::File,
}

/// The lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another scalepatch run{} is working on this project (it holds the lock {}); nothing was written, try again when it is done", holder.map(|pid| format!(" (pid {pid})")).unwrap_or_default(), path.display())]
    Held { holder: Option<u32>, path: PathBuf },
    #[error("cannot take the lock {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

const NAME: &str = "lock";

impl Lock {
    /// Takes the lock in the journal folder `dir` (shown as `shown` in messages) without waiting.
    pub fn acquire(dir: BorrowedFd<'_>, shown: PathBuf) -> Result<Lock, LockError> {
        let io_error = |source| LockError::Io { path: shown.clone(), source };
        let mut file = open_lock_file(dir).map_err(io_error)?;
        // A short grace period: a child being spawned by another thread shares the holder's
        // descriptor until it execs, which holds the lock for a moment after it was released.
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut text = String::new();
                    let _ = std::io::Read::read_to_string(&mut file, &mut text);
                    return Err(LockError::Held { holder: text.trim().parse().ok(), path: shown });
                }
                Err(std::fs::TryLockError::Error(err)) => return Err(io_error(err)),
            }
        }
        // For humans only: who holds it now.
        let _ = file.set_len(0).and_then(|()| {
            use std::os::unix::fs::FileExt;
            file.write_all_at(format!("{}\n", std::process::id()).as_bytes(), 0)
        });
        let _ = file.flush();
        Ok(Lock { _file: file })
    }
}

/// Opens `lock` in `dir`: created exclusively when missing, never followed when a symlink
/// (`O_NOFOLLOW` makes that an error), and refused when it is not a regular file.
fn open_lock_file(dir: BorrowedFd<'_>) -> io::Result<std::fs::File> {
    let name = c"lock";
    let base = libc::O_RDWR | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK;
    for _ in 0..3 {
        // SAFETY: valid descriptor and C string.
        let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), base | libc::O_CREAT | libc::O_EXCL, 0o644) };
        let fd = if fd >= 0 {
            fd
        } else if io::Error::last_os_error().raw_os_error() == Some(libc::EEXIST) {
            // SAFETY: as above.
            unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), base) }
        } else {
            fd
        };
        if fd < 0 {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::ENOENT) => continue, // removed between the two opens
                Some(libc::ELOOP) => return Err(symlink_refused()),
                _ => return Err(err),
            }
        }
        // SAFETY: freshly opened, owned by nobody else.
        let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the lock is not a regular file; refused"));
        }
        return Ok(file);
    }
    Err(io::Error::other("the lock file keeps disappearing"))
}

fn symlink_refused() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{} is a symlink; scalepatch never follows it (remove it)", OsStr::new(NAME).to_string_lossy()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_fd(path: &std::path::Path) -> OwnedFd {
        crate::journal::fs::open_root(path).unwrap()
    }

    #[test]
    fn held_then_released_and_a_stale_pid_means_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let fd = dir_fd(dir.path());
        let borrowed = crate::journal::fs::borrow(&fd);
        let lock = Lock::acquire(borrowed, "lock".into()).unwrap();
        let err = Lock::acquire(borrowed, "lock".into()).unwrap_err();
        assert!(matches!(err, LockError::Held { holder: Some(pid), .. } if pid == std::process::id()), "{err}");
        drop(lock);
        // A lock file naming a live process (pid 1, or this very process) but held by nobody.
        std::fs::write(dir.path().join("lock"), "1\n").unwrap();
        let lock = Lock::acquire(borrowed, "lock".into()).unwrap();
        drop(lock);
        std::fs::remove_file(dir.path().join("lock")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("lock")).unwrap();
        assert!(Lock::acquire(borrowed, "lock".into()).unwrap_err().to_string().contains("symlink"));
    }
}

//! Writing project and journal files safely, relative to folder descriptors.
//!
//! Every path the journal touches comes from a manifest, which is untrusted input: a project can
//! arrive with a crafted `.scalepatch/`. So no path is ever handed to the kernel whole. Each
//! folder is opened from the project root one component at a time with `O_NOFOLLOW |
//! O_DIRECTORY`, and files are created, renamed and deleted with `*at` calls relative to that
//! folder's descriptor. A folder swapped for a symlink after the check (while the review prompt
//! is open, say) therefore cannot redirect a write: the descriptor is the folder that was checked.
//!
//! A write goes to a temporary file created with `O_CREAT | O_EXCL | O_NOFOLLOW` in the target's
//! own folder, is given the owner and mode, fsynced, renamed over the target, and the folder is
//! fsynced so the rename survives a power cut. A reader sees the old bytes or the new, never a mix.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

/// The mode a created file gets when the caller does not say (rw-r--r--).
pub const DEFAULT_MODE: u32 = 0o644;

/// The prefix and suffix of every staging file; recovery removes leftovers by this pattern.
pub const STAGING_PREFIX: &str = ".scalepatch-";
pub const STAGING_SUFFIX: &str = ".tmp";

/// A point of a write where a fault can be injected (tests) or an error can happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// Creating a folder.
    Mkdir,
    /// Creating and filling the staging file.
    Write,
    /// Giving the staging file the replaced file's owner.
    Chown,
    /// Renaming the staging file over the target.
    Rename,
    /// Deleting a file.
    Remove,
    /// Flushing the folder's entries.
    SyncDir,
}

/// Called before every step of a write; an error stops the write there.
pub type Hook<'a> = &'a dyn Fn(Point) -> io::Result<()>;

/// A hook that lets every step through.
pub fn no_hook(_: Point) -> io::Result<()> {
    Ok(())
}

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a file name"))
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 { Err(io::Error::last_os_error()) } else { Ok(result) }
}

/// Opens the project root itself (the one path the user gave, so it may be a symlink).
pub fn open_root(path: &Path) -> io::Result<OwnedFd> {
    let path = cstr(path.as_os_str())?;
    // SAFETY: a valid C string; the returned descriptor is owned by the OwnedFd.
    let fd = check(unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) })?;
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens the folder `name` of `dir`, refusing a symlink (`ELOOP`/`ENOTDIR` become an error that
/// says so).
pub fn open_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    let c_name = cstr(name)?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: valid descriptor and C string.
    match check(unsafe { libc::openat(dir.as_raw_fd(), c_name.as_ptr(), flags) }) {
        // SAFETY: freshly opened, owned by nobody else.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
        Err(err) if matches!(err.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} is a symlink or not a folder; scalepatch never follows it", name.to_string_lossy()),
        )),
        Err(err) => Err(err),
    }
}

/// Creates the folder `name` in `dir` (0755); `false` when it already existed.
pub fn mkdir_at(dir: BorrowedFd<'_>, name: &OsStr, hook: Hook<'_>) -> io::Result<bool> {
    let c_name = cstr(name)?;
    hook(Point::Mkdir)?;
    // SAFETY: valid descriptor and C string.
    match check(unsafe { libc::mkdirat(dir.as_raw_fd(), c_name.as_ptr(), 0o755) }) {
        Ok(_) => Ok(true),
        Err(err) if err.raw_os_error() == Some(libc::EEXIST) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Opens (and with `create`, makes) the chain of folders `names` below `base`, never following
/// a symlink. Returns `None` when a folder is missing and `create` is false; otherwise the
/// innermost folder and the prefixes of `names` that this call created (shallowest first).
pub fn open_dirs(
    base: BorrowedFd<'_>,
    names: &[OsString],
    create: bool,
    hook: Hook<'_>,
) -> io::Result<Option<(OwnedFd, Vec<PathBuf>)>> {
    let mut current = dup(base)?;
    let mut created = Vec::new();
    for (depth, name) in names.iter().enumerate() {
        let next = match open_dir_at(borrow(&current), name) {
            Ok(fd) => fd,
            Err(err) if err.kind() == io::ErrorKind::NotFound && create => {
                if mkdir_at(borrow(&current), name, hook)? {
                    created.push(names[..=depth].iter().collect());
                }
                open_dir_at(borrow(&current), name)?
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        current = next;
    }
    Ok(Some((current, created)))
}

/// Borrows an owned descriptor.
pub fn borrow(fd: &OwnedFd) -> BorrowedFd<'_> {
    std::os::fd::AsFd::as_fd(fd)
}

fn dup(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    fd.try_clone_to_owned()
}

/// What `fstatat(.., AT_SYMLINK_NOFOLLOW)` says about `name` in `dir`; `None` when absent.
pub fn stat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<libc::stat>> {
    let c_name = cstr(name)?;
    // SAFETY: zeroed is a valid `stat`; the call fills it.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor, C string and out pointer.
    match check(unsafe { libc::fstatat(dir.as_raw_fd(), c_name.as_ptr(), &mut stat, libc::AT_SYMLINK_NOFOLLOW) }) {
        Ok(_) => Ok(Some(stat)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Whether a `stat` is a symlink / a regular file.
pub fn is_symlink(stat: &libc::stat) -> bool {
    stat.st_mode & libc::S_IFMT == libc::S_IFLNK
}

pub fn is_file(stat: &libc::stat) -> bool {
    stat.st_mode & libc::S_IFMT == libc::S_IFREG
}

/// The target of the symlink `name` in `dir`.
pub fn readlink_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<PathBuf> {
    let c_name = cstr(name)?;
    let mut buffer = vec![0u8; 4096];
    // SAFETY: valid descriptor, C string and buffer of the given length.
    let len = unsafe { libc::readlinkat(dir.as_raw_fd(), c_name.as_ptr(), buffer.as_mut_ptr().cast(), buffer.len()) };
    if len < 0 {
        return Err(io::Error::last_os_error());
    }
    buffer.truncate(len as usize);
    Ok(PathBuf::from(OsString::from_vec(buffer)))
}

/// Reads the regular file `name` of `dir` without following a symlink; `None` when absent.
pub fn read_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<Vec<u8>>> {
    let c_name = cstr(name)?;
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK;
    // SAFETY: valid descriptor and C string.
    let fd = match check(unsafe { libc::openat(dir.as_raw_fd(), c_name.as_ptr(), flags) }) {
        Ok(fd) => fd,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} is a symlink; scalepatch never follows it here", name.to_string_lossy()),
            ));
        }
        Err(err) => return Err(err),
    };
    // SAFETY: freshly opened, owned by nobody else.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not a file", name.to_string_lossy())));
    }
    // Never read a file whole before knowing its size: what scalepatch planned or copied is at
    // most the project's read limit, so anything larger (or growing while read) is refused.
    let limit = crate::project::MAX_FILE_SIZE;
    let mut bytes = Vec::new();
    (&mut file).take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is larger than {limit} bytes: scalepatch never planned or copied such a file",
                name.to_string_lossy()
            ),
        ));
    }
    Ok(Some(bytes))
}

/// Replaces (or creates) the file `name` in `dir` with `bytes`, atomically.
///
/// `mode`: the permission bits to give it; `None` keeps the replaced file's (or
/// [`DEFAULT_MODE`]). Only the bits 0o777 are ever set: no setuid, setgid or sticky bit comes
/// from a manifest. A replaced file keeps its owner and group; when they cannot be given to the
/// new file (`fchown` fails) the write is refused rather than changing the owner silently.
pub fn write_at(dir: BorrowedFd<'_>, name: &OsStr, bytes: &[u8], mode: Option<u32>, hook: Hook<'_>) -> io::Result<()> {
    let existing = stat_at(dir, name)?;
    if let Some(stat) = &existing
        && !is_file(stat)
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file; scalepatch does not replace it", name.to_string_lossy()),
        ));
    }
    let mode = mode.or(existing.map(|s| s.st_mode)).unwrap_or(DEFAULT_MODE) & 0o777;
    hook(Point::Write)?;
    let (temp_name, file) = create_staging(dir)?;
    let result = fill_staging(&file, bytes, existing.as_ref(), mode, name, hook).and_then(|()| {
        hook(Point::Rename)?;
        rename_at(dir, &temp_name, name)
    });
    if let Err(err) = result {
        let _ = unlink_at(dir, &temp_name);
        return Err(err);
    }
    drop(file);
    hook(Point::SyncDir)?;
    sync_fd(dir)
}

fn fill_staging(
    file: &std::fs::File,
    bytes: &[u8],
    existing: Option<&libc::stat>,
    mode: u32,
    name: &OsStr,
    hook: Hook<'_>,
) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    (&*file).write_all(bytes)?;
    if let Some(stat) = existing {
        let meta = file.metadata()?;
        if (meta.uid(), meta.gid()) != (stat.st_uid, stat.st_gid) {
            hook(Point::Chown)
                .and_then(|()| std::os::unix::fs::fchown(file, Some(stat.st_uid), Some(stat.st_gid)))
                .map_err(|err| {
                    io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        format!(
                            "{}: cannot keep its owner {}:{} ({err}); refused rather than changing the owner (run as that user or as root)",
                            name.to_string_lossy(),
                            stat.st_uid,
                            stat.st_gid
                        ),
                    )
                })?;
        }
    }
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.sync_all()
}

/// Creates a fresh staging file in `dir` with `O_CREAT | O_EXCL | O_NOFOLLOW` (mode 0600).
fn create_staging(dir: BorrowedFd<'_>) -> io::Result<(OsString, std::fs::File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    for _ in 0..100 {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name =
            OsString::from(format!("{STAGING_PREFIX}{}-{unique}-{nanos:08x}{STAGING_SUFFIX}", std::process::id()));
        let c_name = cstr(&name)?;
        // SAFETY: valid descriptor and C string.
        match check(unsafe { libc::openat(dir.as_raw_fd(), c_name.as_ptr(), flags, 0o600 as libc::c_uint) }) {
            // SAFETY: freshly opened, owned by nobody else.
            Ok(fd) => return Ok((name, std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }))),
            Err(err) if err.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(err) => return Err(err),
        }
    }
    Err(io::Error::other("cannot create a staging file: every name taken"))
}

fn rename_at(dir: BorrowedFd<'_>, from: &OsStr, to: &OsStr) -> io::Result<()> {
    let (from, to) = (cstr(from)?, cstr(to)?);
    // SAFETY: valid descriptors and C strings.
    check(unsafe { libc::renameat(dir.as_raw_fd(), from.as_ptr(), dir.as_raw_fd(), to.as_ptr()) }).map(drop)
}

fn unlink_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let c_name = cstr(name)?;
    // SAFETY: valid descriptor and C string.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), c_name.as_ptr(), 0) }).map(drop)
}

/// Deletes the file `name` of `dir` (absent already is fine) and makes the deletion durable.
pub fn remove_at(dir: BorrowedFd<'_>, name: &OsStr, hook: Hook<'_>) -> io::Result<()> {
    hook(Point::Remove)?;
    match unlink_at(dir, name) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    }
    hook(Point::SyncDir)?;
    sync_fd(dir)
}

/// Removes the empty folder `name` of `dir`; `false` when it is not empty or absent.
pub fn rmdir_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<bool> {
    let c_name = cstr(name)?;
    // SAFETY: valid descriptor and C string.
    match check(unsafe { libc::unlinkat(dir.as_raw_fd(), c_name.as_ptr(), libc::AT_REMOVEDIR) }) {
        Ok(_) => Ok(true),
        Err(err) if matches!(err.raw_os_error(), Some(libc::ENOTEMPTY) | Some(libc::EEXIST) | Some(libc::ENOENT)) => {
            Ok(false)
        }
        Err(err) => Err(err),
    }
}

/// Flushes a folder's entries (renames, creations, deletions) to disk.
pub fn sync_fd(dir: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: valid descriptor.
    check(unsafe { libc::fsync(dir.as_raw_fd()) }).map(drop)
}

/// The names in folder `dir` (without `.` and `..`).
pub fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    let fd = dup(dir)?;
    // SAFETY: `fdopendir` takes ownership of the duplicated descriptor on success.
    let stream = unsafe { libc::fdopendir(fd.as_raw_fd()) };
    if stream.is_null() {
        return Err(io::Error::last_os_error());
    }
    std::mem::forget(fd);
    // SAFETY: a fresh stream; rewind in case the shared offset moved.
    unsafe { libc::rewinddir(stream) };
    let mut names = Vec::new();
    loop {
        // SAFETY: `stream` is a valid directory stream until closedir.
        let entry = unsafe { libc::readdir(stream) };
        if entry.is_null() {
            break;
        }
        // SAFETY: readdir returns a valid entry with a NUL-terminated name.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        if name.to_bytes() != b"." && name.to_bytes() != b".." {
            names.push(OsStr::from_bytes(name.to_bytes()).to_owned());
        }
    }
    // SAFETY: closes the stream (and the duplicated descriptor) once.
    unsafe { libc::closedir(stream) };
    Ok(names)
}

/// Removes the leftover staging files (`.scalepatch-*.tmp`, regular files) of folder `dir`.
pub fn remove_staging_files(dir: BorrowedFd<'_>) -> io::Result<usize> {
    let mut removed = 0;
    for name in list_dir(dir)? {
        let text = name.to_string_lossy();
        if text.starts_with(STAGING_PREFIX)
            && text.ends_with(STAGING_SUFFIX)
            && stat_at(dir, &name)?.is_some_and(|s| is_file(&s))
        {
            unlink_at(dir, &name)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Deletes the tree `name` of `dir`, never following a symlink (a symlink is removed as such).
pub fn remove_tree_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    match stat_at(dir, name)? {
        None => Ok(()),
        Some(stat) if stat.st_mode & libc::S_IFMT == libc::S_IFDIR => {
            let inner = open_dir_at(dir, name)?;
            for entry in list_dir(borrow(&inner))? {
                remove_tree_at(borrow(&inner), &entry)?;
            }
            rmdir_at(dir, name).map(drop)
        }
        Some(_) => unlink_at(dir, name),
    }
}

/// Checks a path read from untrusted input (a manifest) and returns its components: relative,
/// normalised (no empty, `.` or `..` component, no trailing slash), not absolute, not empty.
pub fn checked_components(path: &Path) -> Result<Vec<OsString>, String> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err("an empty path".to_owned());
    }
    if bytes[0] == b'/' {
        return Err("an absolute path".to_owned());
    }
    let mut components = Vec::new();
    for part in bytes.split(|&b| b == b'/') {
        match part {
            b"" => return Err("not normalised (an empty component or a trailing slash)".to_owned()),
            b"." => return Err("not normalised (a `.` component)".to_owned()),
            b".." => return Err("a `..` component".to_owned()),
            _ if part.contains(&0) => return Err("a NUL byte".to_owned()),
            _ => components.push(OsStr::from_bytes(part).to_owned()),
        }
    }
    Ok(components)
}

/// A project file, reached safely: its folder's descriptor and its name in it.
#[derive(Debug)]
pub struct Target {
    pub dir: OwnedFd,
    pub name: OsString,
    /// The file's real path relative to the root (after in-project symlinks).
    pub path: PathBuf,
    /// Folders this resolution created (relative to the root, shallowest first).
    pub created: Vec<PathBuf>,
}

/// Reaches `relative` below the root `root_fd` (whose canonical path is `root`) without ever
/// following a symlink in a folder component. A symlink as the final component is followed when
/// its target stays inside the project (scalepatch writes through in-project links to the real
/// file); that target is checked the same way. `exclude`: a top-level name the path may not
/// enter (the journal). `create`: make missing folders; otherwise `None` when one is missing.
pub fn resolve(
    root_fd: BorrowedFd<'_>,
    root: &Path,
    relative: &Path,
    exclude: &str,
    create: bool,
    hook: Hook<'_>,
) -> io::Result<Option<Target>> {
    let refuse =
        |why: String| io::Error::new(io::ErrorKind::PermissionDenied, format!("{}: {why}", relative.display()));
    let mut components = checked_components(relative).map_err(refuse)?;
    for _ in 0..40 {
        if components.first().is_some_and(|first| first == exclude) {
            return Err(refuse(format!("inside {exclude}/, where scalepatch never writes project files")));
        }
        let (name, folders) = components.split_last().expect("checked: not empty");
        let Some((dir, created)) = open_dirs(root_fd, folders, create, hook).map_err(|e| refuse(e.to_string()))? else {
            return Ok(None);
        };
        match stat_at(borrow(&dir), name)? {
            Some(stat) if is_symlink(&stat) => {
                let target = readlink_at(borrow(&dir), name)?;
                components = join_link(folders, &target, root).map_err(refuse)?;
            }
            _ => {
                let path = components.iter().collect();
                return Ok(Some(Target { dir, name: name.clone(), path, created }));
            }
        }
    }
    Err(refuse("too many levels of symlinks".to_owned()))
}

/// The components of a symlink's target, relative to the root; an error when it leaves it.
fn join_link(folders: &[OsString], target: &Path, root: &Path) -> Result<Vec<OsString>, String> {
    let outside = || format!("symlink leads outside the project (to {})", target.display());
    let (mut stack, rest) = if target.is_absolute() {
        (Vec::new(), target.strip_prefix(root).map_err(|_| outside())?)
    } else {
        (folders.to_vec(), target)
    };
    for component in rest.components() {
        match component {
            Component::Normal(name) => stack.push(name.to_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                stack.pop().ok_or_else(outside)?;
            }
            Component::RootDir | Component::Prefix(_) => return Err(outside()),
        }
    }
    if stack.is_empty() {
        return Err(outside());
    }
    Ok(stack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded_by_the_project_limit() {
        let dir = tempfile::tempdir().unwrap();
        let (root, path) = root_of(&dir);
        std::fs::File::create(path.join("huge")).unwrap().set_len(1 << 30).unwrap();
        let err = read_at(borrow(&root), OsStr::new("huge")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        std::fs::write(path.join("small"), b"x").unwrap();
        assert_eq!(read_at(borrow(&root), OsStr::new("small")).unwrap(), Some(b"x".to_vec()));
    }

    fn root_of(dir: &tempfile::TempDir) -> (OwnedFd, PathBuf) {
        let path = dir.path().canonicalize().unwrap();
        (open_root(&path).unwrap(), path)
    }

    fn write(root: &OwnedFd, path: &Path, relative: &str, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
        let target = resolve(borrow(root), path, Path::new(relative), ".scalepatch", true, &no_hook)?.unwrap();
        write_at(borrow(&target.dir), &target.name, bytes, mode, &no_hook)
    }

    #[test]
    fn keeps_the_mode_of_an_executable_and_never_sets_special_bits() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (fd, root) = root_of(&dir);
        let script = root.join("entrypoint.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        write(&fd, &root, "entrypoint.sh", b"#!/bin/sh\nexec gunicorn\n", None).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&script), 0o755);
        assert_eq!(std::fs::read(&script).unwrap(), b"#!/bin/sh\nexec gunicorn\n");
        write(&fd, &root, "new/deeper/new.txt", b"x", None).unwrap();
        assert_eq!(mode(&root.join("new/deeper/new.txt")), DEFAULT_MODE);
        write(&fd, &root, "new/deeper/new.txt", b"y", Some(0o7777)).unwrap();
        assert_eq!(mode(&root.join("new/deeper/new.txt")), 0o777, "setuid, setgid and sticky are never set");
        assert_eq!(remove_staging_files(borrow(&fd)).unwrap(), 0, "no staging file left");
    }

    #[test]
    fn keeps_the_owner_when_allowed_to() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let (fd, root) = root_of(&dir);
        let file = root.join("settings.py");
        std::fs::write(&file, "A = 1\n").unwrap();
        // Only root may give a file to another user; elsewhere the owner is simply ours.
        let owner = if unsafe { libc::geteuid() } == 0 { 1234 } else { std::fs::metadata(&file).unwrap().uid() };
        let _ = std::os::unix::fs::chown(&file, Some(owner), Some(owner));
        let before = std::fs::metadata(&file).unwrap();
        write(&fd, &root, "settings.py", b"A = 2\n", None).unwrap();
        let after = std::fs::metadata(&file).unwrap();
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    }

    #[test]
    fn a_failing_chown_refuses_the_file() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let (fd, root) = root_of(&dir);
        let file = root.join("settings.py");
        std::fs::write(&file, "A = 1\n").unwrap();
        if unsafe { libc::geteuid() } != 0 {
            return; // only root can hand the file to uid 1234 to set the scene
        }
        std::os::unix::fs::chown(&file, Some(1234), Some(1234)).unwrap();
        let fail_chown = |point| {
            if point == Point::Chown { Err(io::Error::from_raw_os_error(libc::EPERM)) } else { Ok(()) }
        };
        let target =
            resolve(borrow(&fd), &root, Path::new("settings.py"), ".scalepatch", false, &no_hook).unwrap().unwrap();
        let err = write_at(borrow(&target.dir), &target.name, b"A = 2\n", None, &fail_chown).unwrap_err();
        assert!(err.to_string().contains("cannot keep its owner 1234:1234"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), b"A = 1\n");
        assert_eq!(std::fs::metadata(&file).unwrap().uid(), 1234);
        assert_eq!(remove_staging_files(borrow(&fd)).unwrap(), 0, "the staging file is removed");
    }

    #[test]
    fn symlinks_inside_are_followed_and_outside_or_through_folders_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (fd, root) = root_of(&dir);
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.join("conf")).unwrap();
        std::fs::write(root.join("conf/real.conf"), "a").unwrap();
        std::os::unix::fs::symlink("conf/real.conf", root.join("link.conf")).unwrap();
        std::os::unix::fs::symlink("../conf/real.conf", root.join("conf/up.conf")).unwrap();
        std::fs::write(outside.path().join("x.conf"), "a").unwrap();
        std::os::unix::fs::symlink(outside.path().join("x.conf"), root.join("out.conf")).unwrap();
        std::os::unix::fs::symlink("../../../../../../../../tmp/x", root.join("up.conf")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("away")).unwrap();
        let resolved = |rel: &str| resolve(borrow(&fd), &root, Path::new(rel), ".scalepatch", false, &no_hook);
        assert_eq!(resolved("link.conf").unwrap().unwrap().path, Path::new("conf/real.conf"));
        assert_eq!(resolved("conf/up.conf").unwrap().unwrap().path, Path::new("conf/real.conf"));
        write(&fd, &root, "link.conf", b"b", None).unwrap();
        assert!(std::fs::symlink_metadata(root.join("link.conf")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(root.join("conf/real.conf")).unwrap(), b"b");
        for bad in ["out.conf", "up.conf", "away/x.conf", "../x", "/etc/passwd", "a/./b", "a//b", ".scalepatch/lock"] {
            assert!(resolved(bad).is_err(), "{bad} must be refused");
        }
        assert!(write(&fd, &root, "away/new.conf", b"x", None).is_err());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1, "nothing created outside");
    }
}

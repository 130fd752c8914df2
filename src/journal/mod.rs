//! The journal: `.scalepatch/` at the project root, where every run leaves a manifest and byte
//! copies of the files it touched, so that a run is all-or-nothing and can be reverted later.
//!
//! ```text
//! .scalepatch/
//!   .gitignore                 `*`: nothing here is ever committed
//!   lock                       the advisory lock of the writing run (flock), with its pid
//!   runs/<run-id>/
//!     manifest.json            run id, time, tool version, patches, state, per file: path,
//!                              action, hash before and after, mode, folders it created
//!     originals/<path>         the bytes before the run (modified files)
//!     applied/<path>           the bytes the run wrote (the base of a revert's three-way merge)
//!     before-revert/<path>     the bytes just before a revert (to undo a revert that fails)
//! ```
//!
//! Every multi-file write (an apply, a revert, a rollback) is a *transaction*: what is needed to
//! undo it is on disk, and the manifest says a transaction is under way, before the first project
//! file is replaced. A write that fails puts back every file already written; a process that dies
//! mid-way leaves the manifest in `in-progress` or `reverting`. Only `apply`, `revert` and
//! `recover` finish such a run ([`Journal::open`]); `diff`, `list` and `status` read the journal
//! without the lock and write nothing ([`Journal::open_read_only`]), they only report it.
//!
//! Everything under `.scalepatch/` is untrusted (a project can arrive with a crafted one): every
//! manifest is validated, every copy is checked against the manifest's hash before it is written
//! back, and every path is reached through folder descriptors that never follow a symlink
//! ([`crate::journal::fs`]).

mod apply;
#[cfg(feature = "fault-injection")]
mod faults;
pub mod fs;
mod lock;
pub mod manifest;
mod merge;
mod recover;
mod revert;

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

#[cfg(feature = "fault-injection")]
pub use faults::{
    CRASH_AFTER_WRITES_ENV, CRASH_AT_STEP_ENV, FAIL_AFTER_WRITES_ENV, FAIL_AT_STEP_ENV, FAIL_CHOWN_ENV,
    FAIL_FROM_STEP_ENV, Faults,
};
pub use lock::{Lock, LockError};
pub use manifest::{Action, FileRecord, Manifest, RunState, is_run_id};
pub use revert::{Conflict, FileState, RevertReport, RunStatus};

use crate::journal::fs::{Point, borrow};
use manifest::{Copy, RunDir};

/// The journal folder's name, at the project root.
pub const DIR: &str = ".scalepatch";

/// Why a journal operation did not happen. [`JournalError::exit_code`] maps each to the CLI's
/// exit codes: 2 when nothing was written, 3 when writing failed and everything was put back (or a
/// revert was refused as a whole), 4 when the project is left partly changed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{}: changed since it was planned ({detail}); another run may have changed the project; nothing was written, run the command again", path.display())]
    Changed { path: PathBuf, detail: String },
    #[error("{}: {detail}; nothing was written", path.display())]
    Refused { path: PathBuf, detail: String },
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("{}: refused, field `{field}`: {detail}; nothing was touched", manifest.display())]
    BadManifest { manifest: PathBuf, field: String, detail: String },
    #[error("{}: {detail}; refused, nothing was touched", path.display())]
    Unsafe { path: PathBuf, detail: String },
    #[error("`{}` is not a run id (they look like 20261126-184142-3fa2)", id.escape_debug())]
    BadRunId { id: String },
    #[error("{context}: {source}; no project file was changed")]
    JournalWrite { context: String, source: io::Error },
    #[error("writing {} failed: {source}; run {run_id} was rolled back and every file is as it was before{}", path.display(), journal_note(*recorded))]
    WriteFailed { run_id: String, path: PathBuf, source: io::Error, recorded: bool },
    #[error("writing {} failed: {source}; putting the files back failed too: {}. Run {run_id} is left with files changed (state: rollback incomplete); finish the rollback with: {finish}", path.display(), undo_errors.join("; "))]
    RollbackIncomplete { run_id: String, path: PathBuf, source: io::Error, undo_errors: Vec<String>, finish: String },
    #[error(
        "run {run_id}: every file was written, but {what} failed: {source}; the project IS changed and the journal may not say so. Check with `scalepatch status`, then roll it back with: {finish}"
    )]
    AfterWrite { run_id: String, what: String, source: io::Error, finish: String },
    #[error("revert of run {run_id} refused; nothing was written:\n{}", conflicts.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Conflicts { run_id: String, conflicts: Vec<Conflict> },
    #[error("revert of run {run_id} refused; nothing was written: {}: {why} (the journal was tampered with or damaged)", path.display())]
    CorruptCopy { run_id: String, path: PathBuf, why: String },
    #[error("revert of run {run_id} failed writing {}: {source}; every file was put back as it was{}", path.display(), journal_note(*recorded))]
    RevertFailed { run_id: String, path: PathBuf, source: io::Error, recorded: bool },
    #[error("revert of run {run_id} failed writing {}: {source}; putting the files back failed too: {}. Some files are left half-reverted; finish with: {finish}", path.display(), undo_errors.join("; "))]
    RevertIncomplete { run_id: String, path: PathBuf, source: io::Error, undo_errors: Vec<String>, finish: String },
    #[error(
        "run {run_id}: every file was reverted, but {what} failed: {source}; the project IS changed (reverted) and the journal may still say reverting. Check with `scalepatch status`; {finish} puts the run back, then revert again"
    )]
    AfterRevert { run_id: String, what: String, source: io::Error, finish: String },
    #[error("no applied run to revert")]
    NothingToRevert,
    #[error("unknown run id `{id}`; runs: {}", if known.is_empty() { "none".to_owned() } else { known.join(", ") })]
    UnknownRun { id: String, known: Vec<String> },
    #[error("run {id} is {}, not applied: nothing to revert", state.as_str())]
    NotApplied { id: String, state: RunState },
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
}

fn journal_note(recorded: bool) -> &'static str {
    if recorded { "" } else { " (the journal could not record it; `scalepatch recover` will)" }
}

impl JournalError {
    /// The CLI exit code: 3 for a failed (rolled back) or refused apply/revert, 4 when files are
    /// left changed, 2 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            JournalError::WriteFailed { .. }
            | JournalError::RevertFailed { .. }
            | JournalError::Conflicts { .. }
            | JournalError::CorruptCopy { .. } => 3,
            JournalError::RollbackIncomplete { .. }
            | JournalError::AfterWrite { .. }
            | JournalError::RevertIncomplete { .. }
            | JournalError::AfterRevert { .. } => 4,
            _ => 2,
        }
    }
}

fn io_error(context: impl Into<String>) -> impl FnOnce(io::Error) -> JournalError {
    let context = context.into();
    move |source| JournalError::Io { context, source }
}

fn journal_write(context: impl Into<String>) -> impl FnOnce(io::Error) -> JournalError {
    let context = context.into();
    move |source| JournalError::JournalWrite { context, source }
}

/// The journal of one project. Opened for writing it holds the lock for its lifetime; opened
/// read-only it holds nothing and must not write.
#[derive(Debug)]
pub struct Journal {
    root: PathBuf,
    root_fd: OwnedFd,
    dir_fd: OwnedFd,
    runs_fd: OwnedFd,
    lock: Option<Lock>,
    #[cfg(feature = "fault-injection")]
    faults: faults::Injector,
    /// What opening found and repaired (interrupted runs), for the user to read on stderr.
    pub notes: Vec<String>,
}

/// Opens (with `create`, makes) the folder `name` of `parent`, refusing a symlink.
fn journal_dir(
    parent: &OwnedFd,
    name: &str,
    shown: &Path,
    create: bool,
    hook: crate::journal::fs::Hook<'_>,
) -> Result<Option<OwnedFd>, JournalError> {
    let unsafe_error = |detail: String| JournalError::Unsafe { path: shown.to_owned(), detail };
    match crate::journal::fs::stat_at(borrow(parent), name.as_ref())
        .map_err(io_error(format!("cannot read {}", shown.display())))?
    {
        Some(stat) if crate::journal::fs::is_symlink(&stat) => {
            return Err(unsafe_error("a symlink; scalepatch never follows it (remove it)".into()));
        }
        None if !create => return Ok(None),
        None => {
            crate::journal::fs::mkdir_at(borrow(parent), name.as_ref(), hook)
                .map_err(journal_write(format!("cannot create {}", shown.display())))?;
        }
        Some(_) => {}
    }
    crate::journal::fs::open_dir_at(borrow(parent), name.as_ref())
        .map(Some)
        .map_err(|err| unsafe_error(err.to_string()))
}

impl Journal {
    /// Opens (creating it if needed) the journal of the project at `root`, takes the lock, and
    /// finishes any run a crash left half-done (saying so in [`Journal::notes`]).
    pub fn open(root: &Path) -> Result<Journal, JournalError> {
        let mut journal = Journal::open_with(root, true)?.expect("created");
        // A crafted journal is refused before anything (the lock, .gitignore) is written in it.
        journal.runs()?;
        journal.take_lock()?;
        journal.recover()?;
        Ok(journal)
    }

    /// Takes the lock, then writes `.gitignore` if it is missing (refusing one that is not a
    /// regular file).
    fn take_lock(&mut self) -> Result<(), JournalError> {
        let shown = self.root.join(DIR);
        let ignore = shown.join(".gitignore");
        let existing = crate::journal::fs::stat_at(borrow(&self.dir_fd), ".gitignore".as_ref())
            .map_err(io_error("cannot read .gitignore"))?;
        if existing.is_some_and(|stat| !crate::journal::fs::is_file(&stat)) {
            return Err(JournalError::Unsafe { path: ignore, detail: "not a regular file (a symlink?)".into() });
        }
        let lock = Lock::acquire(borrow(&self.dir_fd), shown.join("lock"))?;
        if existing.is_none() {
            let hook = self.hook();
            crate::journal::fs::write_at(borrow(&self.dir_fd), ".gitignore".as_ref(), b"*\n", Some(0o644), &hook)
                .map_err(journal_write(format!("cannot write {}", ignore.display())))?;
        }
        self.lock = Some(lock);
        Ok(())
    }

    /// Like [`Journal::open`], but `None` when the project has no journal yet.
    pub fn open_existing(root: &Path) -> Result<Option<Journal>, JournalError> {
        match Journal::open_with(root, false)? {
            Some(read_only) => {
                drop(read_only);
                Journal::open(root).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Opens the journal for reading only: no folder, file or lock is created, nothing is
    /// recovered. `None` when the project has no journal. Manifests are replaced by rename, so
    /// each one read is a consistent snapshot without the lock.
    pub fn open_read_only(root: &Path) -> Result<Option<Journal>, JournalError> {
        Journal::open_with(root, false)
    }

    fn open_with(root: &Path, write: bool) -> Result<Option<Journal>, JournalError> {
        let root = root.canonicalize().map_err(io_error(format!("cannot open {}", root.display())))?;
        let root_fd =
            crate::journal::fs::open_root(&root).map_err(io_error(format!("cannot open {}", root.display())))?;
        #[cfg(feature = "fault-injection")]
        let faults = faults::Injector::from_env();
        let hook = |_point: Point| -> io::Result<()> {
            #[cfg(feature = "fault-injection")]
            faults.step(_point)?;
            Ok(())
        };
        let shown = root.join(DIR);
        let Some(dir_fd) = journal_dir(&root_fd, DIR, &shown, write, &hook)? else { return Ok(None) };
        let Some(runs_fd) = journal_dir(&dir_fd, "runs", &shown.join("runs"), write, &hook)? else { return Ok(None) };
        Ok(Some(Journal {
            root,
            root_fd,
            dir_fd,
            runs_fd,
            lock: None,
            #[cfg(feature = "fault-injection")]
            faults,
            notes: Vec::new(),
        }))
    }

    /// Replaces the faults read from the environment (for library tests).
    #[cfg(feature = "fault-injection")]
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults.faults = faults;
    }

    /// The project root (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The command that finishes an interrupted run of this project.
    fn finish_command(&self) -> String {
        format!("scalepatch recover {}", self.root.display())
    }

    /// The hook called before every write step (fault injection in tests, nothing otherwise).
    fn hook(&self) -> impl Fn(Point) -> io::Result<()> + '_ {
        move |_point| {
            #[cfg(feature = "fault-injection")]
            self.faults.step(_point)?;
            Ok(())
        }
    }

    /// Refuses to write through a journal opened read-only.
    fn writable(&self) -> Result<(), JournalError> {
        match self.lock {
            Some(_) => Ok(()),
            None => Err(JournalError::Io {
                context: "internal: the journal was opened read-only".into(),
                source: io::Error::from(io::ErrorKind::PermissionDenied),
            }),
        }
    }

    fn runs_shown(&self) -> PathBuf {
        Path::new(DIR).join("runs")
    }

    fn run_dir(&self, run_id: &str) -> Result<RunDir, JournalError> {
        let shown = self.runs_shown().join(run_id);
        let fd = crate::journal::fs::open_dir_at(borrow(&self.runs_fd), run_id.as_ref())
            .map_err(|err| JournalError::Unsafe { path: shown.clone(), detail: err.to_string() })?;
        Ok(RunDir { fd, shown })
    }

    /// The folders of `runs/` that look like runs, with their manifest (`None`: a run that died
    /// before writing one). Any other name is ignored; a symlink or a bad manifest is an error.
    fn run_dirs(&self) -> Result<Vec<(RunDir, Option<Manifest>)>, JournalError> {
        let names = crate::journal::fs::list_dir(borrow(&self.runs_fd))
            .map_err(io_error(format!("cannot list {}", self.runs_shown().display())))?;
        let mut runs = Vec::new();
        for name in names {
            let Some(name) = name.to_str().filter(|name| is_run_id(name)) else { continue };
            let run = self.run_dir(name)?;
            let manifest = run.read().map_err(|err| JournalError::BadManifest {
                manifest: run.manifest(),
                field: "(the file)".into(),
                detail: format!("{err:#}"),
            })?;
            if let Some(manifest) = &manifest {
                manifest.validate(name).map_err(|bad| JournalError::BadManifest {
                    manifest: run.manifest(),
                    field: bad.field,
                    detail: bad.detail,
                })?;
            }
            runs.push((run, manifest));
        }
        Ok(runs)
    }

    /// Every run's manifest, oldest first.
    pub fn runs(&self) -> Result<Vec<Manifest>, JournalError> {
        let mut manifests: Vec<Manifest> = self.run_dirs()?.into_iter().filter_map(|(_, m)| m).collect();
        manifests.sort_by(|a, b| (a.unix_ms, &a.run_id).cmp(&(b.unix_ms, &b.run_id)));
        Ok(manifests)
    }

    /// The manifest of `run_id`.
    pub fn run(&self, run_id: &str) -> Result<Manifest, JournalError> {
        if !is_run_id(run_id) {
            return Err(JournalError::BadRunId { id: run_id.to_owned() });
        }
        let runs = self.runs()?;
        let known = runs.iter().map(|run| run.run_id.clone()).collect();
        runs.into_iter()
            .find(|run| run.run_id == run_id)
            .ok_or_else(|| JournalError::UnknownRun { id: run_id.to_owned(), known })
    }

    /// Reaches a project file safely (see [`crate::journal::fs::resolve`]).
    fn target(&self, path: &Path, create: bool) -> io::Result<Option<crate::journal::fs::Target>> {
        let hook = self.hook();
        crate::journal::fs::resolve(borrow(&self.root_fd), &self.root, path, DIR, create, &hook)
    }

    /// A project file's bytes and permission bits now (`None` when it does not exist).
    fn current(&self, path: &Path) -> io::Result<Option<(Vec<u8>, u32)>> {
        let Some(target) = self.target(path, false)? else { return Ok(None) };
        let Some(bytes) = crate::journal::fs::read_at(borrow(&target.dir), &target.name)? else { return Ok(None) };
        let mode =
            crate::journal::fs::stat_at(borrow(&target.dir), &target.name)?.map_or(0o644, |s| s.st_mode & 0o7777);
        Ok(Some((bytes, mode)))
    }

    /// The hash of a project file's bytes now (`None` when it does not exist or cannot be read).
    fn current_hash(&self, path: &Path) -> Option<String> {
        self.current(path).ok().flatten().map(|(bytes, _)| crate::text::source::hash_bytes(&bytes))
    }

    /// Reads a journal copy and checks it against the manifest's hash: a copy that does not
    /// match is never written back.
    fn checked_copy(&self, run: &RunDir, kind: Copy, path: &Path, hash: &str) -> Result<Vec<u8>, String> {
        match run.read_copy(kind, path) {
            Ok(Some(bytes)) if crate::text::source::hash_bytes(&bytes) == hash => Ok(bytes),
            Ok(Some(_)) => {
                Err(format!("its copy {} does not match the manifest's hash", run.copy_path(kind, path).display()))
            }
            Ok(None) => Err(format!("its copy {} is missing", run.copy_path(kind, path).display())),
            Err(err) => Err(format!("its copy {} is unreadable: {err}", run.copy_path(kind, path).display())),
        }
    }

    /// Replaces or deletes project files in order, all or nothing: when a write fails, every step
    /// already made (and the failing one) is undone. On failure: the failing path, the error,
    /// and any undo that failed in turn.
    fn execute(&self, steps: &[Step]) -> Result<(), (PathBuf, io::Error, Vec<String>)> {
        for (done, step) in steps.iter().enumerate() {
            #[cfg(feature = "fault-injection")]
            let result = self.faults.before_project_write(done).and_then(|()| self.perform(step));
            #[cfg(not(feature = "fault-injection"))]
            let result = self.perform(step);
            if let Err(err) = result {
                let undo_errors = steps[..=done]
                    .iter()
                    .rev()
                    .filter_map(|step| self.undo(step).err().map(|e| format!("{}: {e}", step.path.display())))
                    .collect();
                return Err((step.path.clone(), err, undo_errors));
            }
        }
        Ok(())
    }

    fn perform(&self, step: &Step) -> io::Result<()> {
        let hook = self.hook();
        match &step.write {
            Some(bytes) => {
                let target = self.target(&step.path, true)?.expect("created");
                crate::journal::fs::write_at(borrow(&target.dir), &target.name, bytes, step.mode, &hook)
            }
            None => self.remove(&step.path, &step.dirs),
        }
    }

    fn undo(&self, step: &Step) -> io::Result<()> {
        let hook = self.hook();
        match &step.undo {
            Undo::Restore { bytes, mode } => {
                // The failing step may never have replaced the file: nothing to put back then
                // (and no owner to give again, which may be what failed).
                if self
                    .current(&step.path)
                    .ok()
                    .flatten()
                    .is_some_and(|(now, m)| &now == bytes && m & 0o777 == mode & 0o777)
                {
                    return Ok(());
                }
                let target = self.target(&step.path, true)?.expect("created");
                crate::journal::fs::write_at(borrow(&target.dir), &target.name, bytes, Some(*mode), &hook)
            }
            Undo::Remove => self.remove(&step.path, &step.dirs),
        }
    }

    /// Deletes a project file, then the folders in `dirs` (created for it by a run) that are
    /// empty now, deepest first.
    fn remove(&self, path: &Path, dirs: &[PathBuf]) -> io::Result<()> {
        let hook = self.hook();
        if let Some(target) = self.target(path, false)? {
            crate::journal::fs::remove_at(borrow(&target.dir), &target.name, &hook)?;
        }
        for dir in dirs.iter().rev() {
            let Ok(mut components) = crate::journal::fs::checked_components(dir) else { continue };
            let name = components.pop().expect("not empty");
            if let Ok(Some((parent, _))) =
                crate::journal::fs::open_dirs(borrow(&self.root_fd), &components, false, &hook)
            {
                let _ = crate::journal::fs::rmdir_at(borrow(&parent), &name);
            }
        }
        Ok(())
    }
}

/// One project file replacement of a transaction.
#[derive(Debug)]
struct Step {
    /// Relative to the project root.
    path: PathBuf,
    /// The new bytes; `None` deletes the file.
    write: Option<Vec<u8>>,
    /// The mode to give the file; `None` keeps the current one.
    mode: Option<u32>,
    /// How to put the file back as it was before this step.
    undo: Undo,
    /// Folders to remove (when empty) after this file is deleted.
    dirs: Vec<PathBuf>,
}

#[derive(Debug)]
enum Undo {
    Restore { bytes: Vec<u8>, mode: u32 },
    Remove,
}

//! The journal: `.scalepatch/` at the project root, where every run leaves a manifest and byte
//! copies of the files it touched, so that a run is all-or-nothing and can be reverted later.
//!
//! ```text
//! .scalepatch/
//!   .gitignore                 `*`: nothing here is ever committed
//!   lock                       the pid of the scalepatch run working on the project
//!   runs/<run-id>/
//!     manifest.json            run id, time, tool version, patches, state, per file: path,
//!                              action, hash before and after, mode
//!     originals/<path>         the bytes before the run (modified files)
//!     applied/<path>           the bytes the run wrote (the base of a revert's three-way merge)
//!     before-revert/<path>     the bytes just before a revert (to undo a revert that fails)
//! ```
//!
//! Every multi-file write (an apply, a revert, a rollback) is a *transaction*: what is needed to
//! undo it is on disk, and the manifest says a transaction is under way, before the first project
//! file is replaced. A write that fails puts back every file already written; a process that dies
//! mid-way leaves the manifest in `in-progress` or `reverting`, and the next command that opens
//! the journal undoes the half-done work (and says so on stderr).

mod apply;
mod lock;
pub mod manifest;
mod revert;

use std::io;
use std::path::{Component, Path, PathBuf};

pub use lock::{Lock, LockError};
pub use manifest::{Action, FileRecord, Manifest, RunState};
pub use revert::{Conflict, FileState, RevertReport, RunStatus};

use manifest::RunDir;

/// The journal folder's name, at the project root.
pub const DIR: &str = ".scalepatch";

/// Test hook: `SCALEPATCH_FAIL_AFTER_WRITES=N` makes the (N+1)th project file write of a
/// transaction fail, so tests can prove the rollback. Read only by [`Journal::open`].
pub const FAIL_AFTER_WRITES_ENV: &str = "SCALEPATCH_FAIL_AFTER_WRITES";
/// Test hook: `SCALEPATCH_CRASH_AFTER_WRITES=N` aborts the process after N project file writes
/// of a transaction, as a crash or `kill -9` would, so tests can prove crash recovery.
pub const CRASH_AFTER_WRITES_ENV: &str = "SCALEPATCH_CRASH_AFTER_WRITES";

/// Why a journal operation did not happen. [`JournalError::exit_code`] maps each to the CLI's
/// exit codes: 2 when nothing was written, 3 when writing failed and everything was put back (or a
/// revert was refused as a whole).
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{}: changed since it was planned ({detail}); nothing was written, run the command again", path.display())]
    Changed { path: PathBuf, detail: String },
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("writing {} failed: {source}; run {run_id} was rolled back and every file is as it was before{}", path.display(), undo_note(undo_errors))]
    WriteFailed { run_id: String, path: PathBuf, source: io::Error, undo_errors: Vec<String> },
    #[error("revert of run {run_id} refused; nothing was written:\n{}", conflicts.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Conflicts { run_id: String, conflicts: Vec<Conflict> },
    #[error("revert of run {run_id} failed writing {}: {source}; every file was put back as it was{}", path.display(), undo_note(undo_errors))]
    RevertFailed { run_id: String, path: PathBuf, source: io::Error, undo_errors: Vec<String> },
    #[error("no applied run to revert")]
    NothingToRevert,
    #[error("unknown run id `{id}`; runs: {}", if known.is_empty() { "none".to_owned() } else { known.join(", ") })]
    UnknownRun { id: String, known: Vec<String> },
    #[error("run {id} is {}, not applied: nothing to revert", state.as_str())]
    NotApplied { id: String, state: RunState },
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
}

fn undo_note(errors: &[String]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!(" except: {} (restore them from the journal's copies)", errors.join("; "))
    }
}

impl JournalError {
    /// The CLI exit code: 3 for a failed (rolled back) or refused apply/revert, 2 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            JournalError::WriteFailed { .. } | JournalError::RevertFailed { .. } | JournalError::Conflicts { .. } => 3,
            _ => 2,
        }
    }
}

fn io_error(context: impl Into<String>) -> impl FnOnce(io::Error) -> JournalError {
    let context = context.into();
    move |source| JournalError::Io { context, source }
}

/// Faults injected by the test hooks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Fail the write that follows this many successful writes of a transaction.
    pub fail_after_writes: Option<usize>,
    /// Abort the process after this many writes of a transaction.
    pub crash_after_writes: Option<usize>,
}

impl Faults {
    /// The faults asked for by [`FAIL_AFTER_WRITES_ENV`] and [`CRASH_AFTER_WRITES_ENV`].
    pub fn from_env() -> Faults {
        let read = |name| std::env::var(name).ok().and_then(|value| value.trim().parse().ok());
        Faults { fail_after_writes: read(FAIL_AFTER_WRITES_ENV), crash_after_writes: read(CRASH_AFTER_WRITES_ENV) }
    }

    fn before_write(&self, done: usize) -> io::Result<()> {
        if self.crash_after_writes == Some(done) {
            std::process::abort();
        }
        if self.fail_after_writes == Some(done) {
            return Err(io::Error::other(format!("failure injected by {FAIL_AFTER_WRITES_ENV}={done}")));
        }
        Ok(())
    }
}

/// The journal of one project, locked for the lifetime of this value.
#[derive(Debug)]
pub struct Journal {
    root: PathBuf,
    dir: PathBuf,
    faults: Faults,
    /// What opening found and repaired (interrupted runs), for the user to read on stderr.
    pub notes: Vec<String>,
    _lock: Lock,
}

impl Journal {
    /// Opens (creating it if needed) the journal of the project at `root`, takes the lock, and
    /// rolls back any run a crash left half-done.
    pub fn open(root: &Path) -> Result<Journal, JournalError> {
        let root = root.canonicalize().map_err(io_error(format!("cannot open {}", root.display())))?;
        let dir = root.join(DIR);
        std::fs::create_dir_all(dir.join("runs")).map_err(io_error(format!("cannot create {}", dir.display())))?;
        let ignore = dir.join(".gitignore");
        if !ignore.exists() {
            crate::fs::write_atomic(&ignore, b"*\n", Some(0o644))
                .map_err(io_error(format!("cannot write {}", ignore.display())))?;
        }
        let lock = Lock::acquire(&dir)?;
        let mut journal = Journal { root, dir, faults: Faults::from_env(), notes: Vec::new(), _lock: lock };
        journal.recover()?;
        Ok(journal)
    }

    /// Like [`Journal::open`], but `None` when the project has no journal yet (nothing was ever
    /// applied): read-only commands do not create one.
    pub fn open_existing(root: &Path) -> Result<Option<Journal>, JournalError> {
        if root.join(DIR).join("runs").is_dir() { Journal::open(root).map(Some) } else { Ok(None) }
    }

    /// Replaces the faults read from the environment (for library tests).
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    /// The project root (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The `.scalepatch` folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn run_dir(&self, run_id: &str) -> RunDir {
        RunDir { dir: self.dir.join("runs").join(run_id) }
    }

    /// Every run's manifest, oldest first.
    pub fn runs(&self) -> Result<Vec<Manifest>, JournalError> {
        let runs = self.dir.join("runs");
        let entries = std::fs::read_dir(&runs).map_err(io_error(format!("cannot list {}", runs.display())))?;
        let mut manifests = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let run = RunDir { dir: entry.path() };
            // A folder without a manifest is a run that died before writing one: it never
            // touched a project file, so there is nothing to show or undo.
            if run.manifest().exists() {
                let manifest = run.read().map_err(|err| JournalError::Io {
                    context: format!("{err:#}"),
                    source: io::Error::other("unreadable manifest"),
                })?;
                manifests.push(manifest);
            }
        }
        manifests.sort_by(|a, b| (a.unix_ms, &a.run_id).cmp(&(b.unix_ms, &b.run_id)));
        Ok(manifests)
    }

    /// The manifest of `run_id`.
    pub fn run(&self, run_id: &str) -> Result<Manifest, JournalError> {
        let runs = self.runs()?;
        let known = runs.iter().map(|run| run.run_id.clone()).collect();
        runs.into_iter()
            .find(|run| run.run_id == run_id)
            .ok_or_else(|| JournalError::UnknownRun { id: run_id.to_owned(), known })
    }

    /// Undoes what crashed runs left half-done: an apply still `in-progress` is rolled back, a
    /// revert still `reverting` is undone (the run is `applied` again).
    fn recover(&mut self) -> Result<(), JournalError> {
        for mut manifest in self.runs()? {
            let run = self.run_dir(&manifest.run_id);
            match manifest.state {
                RunState::InProgress => {
                    let (restored, kept) = self.roll_back_files(&run, &manifest);
                    manifest.state = RunState::RolledBack;
                    run.write(&manifest).map_err(io_error(format!("cannot update {}", run.manifest().display())))?;
                    self.notes.push(format!(
                        "run {} was interrupted while applying (a crash?); rolled back: {} file(s) restored{}",
                        manifest.run_id,
                        restored,
                        kept_note(&kept)
                    ));
                }
                RunState::Reverting => {
                    let (restored, kept) = self.undo_revert_files(&run, &manifest);
                    manifest.state = RunState::Applied;
                    manifest.revert.clear();
                    run.write(&manifest).map_err(io_error(format!("cannot update {}", run.manifest().display())))?;
                    self.notes.push(format!(
                        "the revert of run {} was interrupted (a crash?); undone: {} file(s) put back, the run is applied again{}",
                        manifest.run_id,
                        restored,
                        kept_note(&kept)
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Puts back the originals of every file of an interrupted apply that holds the bytes the run
    /// wrote. Files that hold neither the run's bytes nor the originals are left alone and named.
    fn roll_back_files(&self, run: &RunDir, manifest: &Manifest) -> (usize, Vec<String>) {
        let mut restored = 0;
        let mut kept = Vec::new();
        for record in &manifest.files {
            let current = self.current_hash(&record.path);
            if current.as_deref() != Some(record.hash_after.as_str()) {
                if current != record.hash_before {
                    kept.push(record.path.display().to_string());
                }
                continue;
            }
            let undo = match record.action {
                Action::Modify => match std::fs::read(run.original(&record.path)) {
                    Ok(bytes) => Undo::Restore { bytes, mode: record.mode },
                    Err(_) => {
                        kept.push(format!("{} (its copy is missing)", record.path.display()));
                        continue;
                    }
                },
                Action::Create => Undo::Remove,
            };
            match self.undo(&record.path, &undo) {
                Ok(()) => restored += 1,
                Err(err) => kept.push(format!("{}: {err}", record.path.display())),
            }
        }
        (restored, kept)
    }

    /// Puts back the files an interrupted revert already wrote.
    fn undo_revert_files(&self, run: &RunDir, manifest: &Manifest) -> (usize, Vec<String>) {
        let mut restored = 0;
        let mut kept = Vec::new();
        for pending in &manifest.revert {
            let current = self.current_hash(&pending.path);
            if current != pending.hash_after {
                if current != pending.hash_before {
                    kept.push(pending.path.display().to_string());
                }
                continue;
            }
            let undo = match (&pending.hash_before, std::fs::read(run.before_revert(&pending.path))) {
                (None, _) => Undo::Remove,
                (Some(_), Ok(bytes)) => Undo::Restore { bytes, mode: pending.mode_before.unwrap_or(0o644) },
                (Some(_), Err(_)) => {
                    kept.push(format!("{} (its copy is missing)", pending.path.display()));
                    continue;
                }
            };
            match self.undo(&pending.path, &undo) {
                Ok(()) => restored += 1,
                Err(err) => kept.push(format!("{}: {err}", pending.path.display())),
            }
        }
        (restored, kept)
    }

    /// The hash of a project file's bytes now (`None` when it does not exist or cannot be read).
    fn current_hash(&self, path: &Path) -> Option<String> {
        std::fs::read(self.root.join(path)).ok().map(|bytes| crate::source::hash_bytes(&bytes))
    }

    /// Replaces or deletes project files in order, all or nothing: when a write fails, every step
    /// already made (and the failing one) is undone. Returns the failing path, the error, and any
    /// undo that failed in turn.
    fn execute(&self, steps: &[Step]) -> Result<(), (PathBuf, io::Error, Vec<String>)> {
        for (done, step) in steps.iter().enumerate() {
            let result = self.faults.before_write(done).and_then(|()| self.perform(step));
            if let Err(err) = result {
                let undo_errors = steps[..=done]
                    .iter()
                    .rev()
                    .filter_map(|step| {
                        self.undo(&step.path, &step.undo).err().map(|e| format!("{}: {e}", step.path.display()))
                    })
                    .collect();
                return Err((step.path.clone(), err, undo_errors));
            }
        }
        Ok(())
    }

    fn perform(&self, step: &Step) -> io::Result<()> {
        let target = crate::fs::resolve_target(&self.root, &step.path)?;
        match &step.write {
            Some(bytes) => crate::fs::write_atomic(&target, bytes, step.mode),
            None => crate::fs::remove_file(&target),
        }
    }

    fn undo(&self, path: &Path, undo: &Undo) -> io::Result<()> {
        let target = crate::fs::resolve_target(&self.root, path)?;
        match undo {
            Undo::Restore { bytes, mode } => crate::fs::write_atomic(&target, bytes, Some(*mode)),
            Undo::Remove => crate::fs::remove_file(&target),
        }
    }
}

fn kept_note(kept: &[String]) -> String {
    if kept.is_empty() { String::new() } else { format!("; left alone (changed by someone else): {}", kept.join(", ")) }
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
}

#[derive(Debug)]
enum Undo {
    Restore { bytes: Vec<u8>, mode: u32 },
    Remove,
}

/// Refuses paths that would leave the project (absolute, `..`): the journal only ever writes
/// below the root.
fn check_relative(path: &Path) -> Result<(), JournalError> {
    if path.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)) {
        Ok(())
    } else {
        Err(JournalError::Changed { path: path.to_owned(), detail: "not a path inside the project".to_owned() })
    }
}

/// Writes a byte copy into the journal (creating folders).
fn write_copy(path: &Path, bytes: &[u8]) -> Result<(), JournalError> {
    crate::fs::write_atomic(path, bytes, Some(0o600)).map_err(io_error(format!("cannot write {}", path.display())))
}

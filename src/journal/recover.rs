//! Finishing what a crash (or a failed rollback) left half-done, and saying so.
//!
//! Only a journal opened for writing (`apply`, `revert`, `recover`) recovers: an apply still
//! `in-progress` or `rollback incomplete` is rolled back, a revert still `reverting` is undone
//! (the run is applied again), and the staging files a crash left behind are removed. The
//! read-only commands call [`Journal::interrupted`] instead: it describes the same runs, file by
//! file, with the command that finishes them, and writes nothing.

use super::manifest::{Action, Copy, Manifest, RunDir, RunState};
use super::revert::FileState;
use super::{Journal, JournalError, Step, Undo, io_error};
use crate::journal::fs::borrow;

/// What putting a run's files back did.
#[derive(Default)]
struct Outcome {
    restored: usize,
    /// Changed by someone else since: left alone.
    kept: Vec<String>,
    /// Still changed: the copy was bad or the write failed.
    failed: Vec<String>,
}

impl Outcome {
    fn note(&self) -> String {
        let mut note = String::new();
        if !self.kept.is_empty() {
            note.push_str(&format!("; left alone (changed by someone else): {}", self.kept.join(", ")));
        }
        if !self.failed.is_empty() {
            note.push_str(&format!("; NOT put back: {}", self.failed.join("; ")));
        }
        note
    }
}

impl Journal {
    /// Finishes every interrupted run and removes staging files left by a crash.
    pub(super) fn recover(&mut self) -> Result<(), JournalError> {
        self.writable()?;
        let mut notes = Vec::new();
        for (run, manifest) in self.run_dirs()? {
            let Some(mut manifest) = manifest else {
                // Died before writing its manifest: no project file was touched.
                let _ = crate::journal::fs::remove_tree_at(
                    borrow(&self.runs_fd),
                    run.shown.file_name().unwrap_or_default(),
                );
                continue;
            };
            clean_tree(&run.fd);
            if !manifest.state.is_interrupted() {
                continue;
            }
            self.check_paths(&run, &manifest)?;
            self.remove_staging_near(&manifest);
            let note = match manifest.state {
                RunState::Reverting => self.finish_revert(&run, &mut manifest),
                _ => self.finish_rollback(&run, &mut manifest),
            };
            self.save(&run, &manifest).map_err(io_error(format!("cannot update {}", run.manifest().display())))?;
            notes.push(note);
        }
        let _ = crate::journal::fs::remove_staging_files(borrow(&self.runs_fd));
        if let Ok(dir) = crate::journal::fs::open_dir_at(borrow(&self.root_fd), super::DIR.as_ref()) {
            let _ = crate::journal::fs::remove_staging_files(borrow(&dir));
        }
        self.notes.extend(notes);
        Ok(())
    }

    fn finish_rollback(&self, run: &RunDir, manifest: &mut Manifest) -> String {
        let outcome = self.roll_back_files(run, manifest);
        let was = if manifest.state == RunState::RollbackIncomplete {
            "its rollback was incomplete"
        } else {
            "it was interrupted while applying (a crash?)"
        };
        let (state, done) = if outcome.failed.is_empty() {
            (RunState::RolledBack, "rolled back".to_owned())
        } else {
            (RunState::RollbackIncomplete, format!("rollback STILL incomplete (run `{}` again)", self.finish_command()))
        };
        manifest.state = state;
        format!("run {}: {was}; {done}: {} file(s) restored{}", manifest.run_id, outcome.restored, outcome.note())
    }

    fn finish_revert(&self, run: &RunDir, manifest: &mut Manifest) -> String {
        let outcome = self.undo_revert_files(run, manifest);
        let done = if outcome.failed.is_empty() {
            manifest.state = RunState::Applied;
            manifest.revert.clear();
            "undone, the run is applied again".to_owned()
        } else {
            format!("NOT fully undone (run `{}` again)", self.finish_command())
        };
        format!(
            "the revert of run {} was interrupted (a crash?); {done}: {} file(s) put back{}",
            manifest.run_id,
            outcome.restored,
            outcome.note()
        )
    }

    /// Puts back the originals of every file of an interrupted apply that holds the bytes the run
    /// wrote. Files that hold neither the run's bytes nor the originals are left alone and named.
    fn roll_back_files(&self, run: &RunDir, manifest: &Manifest) -> Outcome {
        let mut outcome = Outcome::default();
        for record in &manifest.files {
            let current = self.current_hash(&record.path);
            if current.as_deref() != Some(record.hash_after.as_str()) {
                if current != record.hash_before {
                    outcome.kept.push(record.path.display().to_string());
                }
                continue;
            }
            let undo = match (record.action, &record.hash_before) {
                (Action::Modify, Some(hash)) => match self.checked_copy(run, Copy::Original, &record.path, hash) {
                    Ok(bytes) => Undo::Restore { bytes, mode: record.mode & 0o777 },
                    Err(why) => {
                        outcome.failed.push(format!("{} ({why})", record.path.display()));
                        continue;
                    }
                },
                _ => Undo::Remove,
            };
            let step =
                Step { path: record.path.clone(), write: None, mode: None, undo, dirs: record.created_dirs.clone() };
            match self.undo(&step) {
                Ok(()) => outcome.restored += 1,
                Err(err) => outcome.failed.push(format!("{}: {err}", record.path.display())),
            }
        }
        outcome
    }

    /// Puts back the files an interrupted revert already wrote.
    fn undo_revert_files(&self, run: &RunDir, manifest: &Manifest) -> Outcome {
        let mut outcome = Outcome::default();
        for pending in &manifest.revert {
            let current = self.current_hash(&pending.path);
            if current != pending.hash_after {
                if current != pending.hash_before {
                    outcome.kept.push(pending.path.display().to_string());
                }
                continue;
            }
            let undo = match &pending.hash_before {
                None => Undo::Remove,
                Some(hash) => match self.checked_copy(run, Copy::BeforeRevert, &pending.path, hash) {
                    Ok(bytes) => Undo::Restore { bytes, mode: pending.mode_before.unwrap_or(0o644) & 0o777 },
                    Err(why) => {
                        outcome.failed.push(format!("{} ({why})", pending.path.display()));
                        continue;
                    }
                },
            };
            let step = Step { path: pending.path.clone(), write: None, mode: None, undo, dirs: Vec::new() };
            match self.undo(&step) {
                Ok(()) => outcome.restored += 1,
                Err(err) => outcome.failed.push(format!("{}: {err}", pending.path.display())),
            }
        }
        outcome
    }

    /// Refuses (before anything is written) a run whose files cannot be reached safely now:
    /// through a folder symlink, or a file symlink that leads outside the project.
    fn check_paths(&self, run: &RunDir, manifest: &Manifest) -> Result<(), JournalError> {
        for (index, record) in manifest.files.iter().enumerate() {
            if let Err(err) = self.target(&record.path, false) {
                return Err(JournalError::BadManifest {
                    manifest: run.manifest(),
                    field: format!("files[{index}].path"),
                    detail: err.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Removes the staging files a crash may have left beside the files of `manifest`.
    fn remove_staging_near(&self, manifest: &Manifest) {
        for record in &manifest.files {
            if let Ok(Some(target)) = self.target(&record.path, false) {
                let _ = crate::journal::fs::remove_staging_files(borrow(&target.dir));
            }
        }
    }

    /// The runs a crash or a failed rollback left half-done, each described file by file with
    /// the command that finishes it. Writes nothing.
    pub fn interrupted(&self) -> Result<Vec<String>, JournalError> {
        let mut reports = Vec::new();
        for manifest in self.runs()?.into_iter().filter(|m| m.state.is_interrupted()) {
            let files: Vec<String> = manifest
                .files
                .iter()
                .map(|record| {
                    let state = match self.file_state(record) {
                        FileState::Reverted if manifest.state != RunState::Reverting => "as before the run",
                        state => state.as_str(),
                    };
                    format!("{state}: {}", record.path.display())
                })
                .collect();
            let what = match manifest.state {
                RunState::Reverting => "its revert was interrupted (finishing puts the run back as applied)",
                RunState::RollbackIncomplete => "its rollback failed (finishing puts the files back as before the run)",
                _ => "it was interrupted while applying (finishing puts the files back as before the run)",
            };
            reports.push(format!(
                "run {} is {}: {what}; files: {}; finish it with: {}",
                manifest.run_id,
                manifest.state.as_str(),
                files.join(", "),
                self.finish_command()
            ));
        }
        Ok(reports)
    }
}

/// Removes staging files from a run folder and its copy folders (never through a symlink).
fn clean_tree(dir: &std::os::fd::OwnedFd) {
    let _ = crate::journal::fs::remove_staging_files(borrow(dir));
    let Ok(names) = crate::journal::fs::list_dir(borrow(dir)) else { return };
    for name in names {
        if let Ok(inner) = crate::journal::fs::open_dir_at(borrow(dir), &name) {
            clean_tree(&inner);
        }
    }
}

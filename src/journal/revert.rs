//! Undoing a run, and telling where each run's files stand.
//!
//! A file still byte-for-byte as the run left it gets its original bytes and mode back. A file
//! the user edited since is merged three ways (base: the file as applied; ours: the file now;
//! theirs: the original), which takes out only this run's hunks and keeps the user's edits. Any
//! file that cannot be reverted cleanly makes the whole revert write nothing.

use std::fmt;
use std::path::PathBuf;

use super::manifest::{Action, Manifest, PendingWrite, RunDir, RunState};
use super::{Journal, JournalError, Step, Undo, io_error, write_copy};
use crate::source::hash_bytes;

/// A file a revert cannot undo cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub path: PathBuf,
    /// Why, in words.
    pub reason: String,
    /// The conflicting hunk, with conflict markers, when a merge found one.
    pub hunk: Option<String>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "  {}: {}", self.path.display(), self.reason)?;
        if let Some(hunk) = &self.hunk {
            for line in hunk.lines() {
                write!(f, "\n      {line}")?;
            }
        }
        Ok(())
    }
}

/// What a revert did, file by file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevertReport {
    pub run_id: String,
    /// Files given back their original bytes.
    pub restored: Vec<PathBuf>,
    /// Files the user had edited: the run's hunks were taken out, the user's edits kept.
    pub merged: Vec<PathBuf>,
    /// Files the run had created, deleted.
    pub removed: Vec<PathBuf>,
    /// Files already as they were before the run.
    pub unchanged: Vec<PathBuf>,
}

/// Where a file of a run stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// Byte-for-byte what the run wrote.
    AsApplied,
    /// Changed by someone since the run.
    EditedSince,
    /// Back to the bytes before the run (a created file is gone).
    Reverted,
    /// A modified file that no longer exists.
    Missing,
}

impl FileState {
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::AsApplied => "as applied",
            FileState::EditedSince => "edited since",
            FileState::Reverted => "reverted",
            FileState::Missing => "missing",
        }
    }
}

/// A run and the state of each of its files.
#[derive(Debug, Clone)]
pub struct RunStatus {
    pub manifest: Manifest,
    pub files: Vec<(PathBuf, FileState)>,
}

impl Journal {
    /// Reverts `run_id`, or the newest applied run. All or nothing: conflicts make it write
    /// nothing; a failed write puts back every file already written.
    pub fn revert(&mut self, run_id: Option<&str>) -> Result<RevertReport, JournalError> {
        let mut manifest = match run_id {
            Some(id) => self.run(id)?,
            None => self
                .runs()?
                .into_iter()
                .rev()
                .find(|run| run.state == RunState::Applied)
                .ok_or(JournalError::NothingToRevert)?,
        };
        if manifest.state != RunState::Applied {
            return Err(JournalError::NotApplied { id: manifest.run_id, state: manifest.state });
        }
        let run = self.run_dir(&manifest.run_id);
        let mut report = RevertReport { run_id: manifest.run_id.clone(), ..RevertReport::default() };
        let mut conflicts = Vec::new();
        let mut steps = Vec::new();
        for record in &manifest.files {
            match self.plan_file_revert(&run, record)? {
                Planned::Nothing => report.unchanged.push(record.path.clone()),
                Planned::Conflict(conflict) => conflicts.push(conflict),
                Planned::Write { step, merged } => {
                    let list = match (&step.write, merged) {
                        (None, _) => &mut report.removed,
                        (Some(_), true) => &mut report.merged,
                        (Some(_), false) => &mut report.restored,
                    };
                    list.push(record.path.clone());
                    steps.push(step);
                }
            }
        }
        if !conflicts.is_empty() {
            return Err(JournalError::Conflicts { run_id: manifest.run_id, conflicts });
        }

        // Record how to undo the revert before touching anything.
        for step in &steps {
            if let Undo::Restore { bytes, .. } = &step.undo {
                write_copy(&run.before_revert(&step.path), bytes)?;
            }
        }
        manifest.revert = steps
            .iter()
            .map(|step| PendingWrite {
                path: step.path.clone(),
                hash_before: match &step.undo {
                    Undo::Restore { bytes, .. } => Some(hash_bytes(bytes)),
                    Undo::Remove => None,
                },
                hash_after: step.write.as_deref().map(hash_bytes),
                mode_before: match &step.undo {
                    Undo::Restore { mode, .. } => Some(*mode),
                    Undo::Remove => None,
                },
            })
            .collect();
        manifest.state = RunState::Reverting;
        let save = |manifest: &Manifest| {
            run.write(manifest).map_err(io_error(format!("cannot write {}", run.manifest().display())))
        };
        save(&manifest)?;

        let result = self.execute(&steps);
        manifest.revert.clear();
        match result {
            Ok(()) => {
                manifest.state = RunState::Reverted;
                manifest.reverted_time =
                    Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string());
                save(&manifest)?;
                Ok(report)
            }
            Err((path, source, undo_errors)) => {
                manifest.state = RunState::Applied;
                save(&manifest)?;
                Err(JournalError::RevertFailed { run_id: manifest.run_id, path, source, undo_errors })
            }
        }
    }

    /// Decides what reverting one file means, without writing anything.
    fn plan_file_revert(&self, run: &RunDir, record: &super::FileRecord) -> Result<Planned, JournalError> {
        let absolute = self.root.join(&record.path);
        let current =
            crate::fs::read_if_exists(&absolute).map_err(io_error(format!("cannot read {}", record.path.display())))?;
        let current_mode = crate::fs::mode_of(&absolute).unwrap_or(record.mode);
        let conflict = |reason: &str, hunk: Option<String>| {
            Ok(Planned::Conflict(Conflict { path: record.path.clone(), reason: reason.to_owned(), hunk }))
        };
        let read_copy = |path: PathBuf| {
            std::fs::read(&path).map_err(io_error(format!("the journal's copy {} is unreadable", path.display())))
        };
        let Some(current) = current else {
            return match record.action {
                Action::Create => Ok(Planned::Nothing),
                Action::Modify => conflict("deleted since the run; restore it (or drop it from the run by hand)", None),
            };
        };
        let current_hash = hash_bytes(&current);
        let undo = Undo::Restore { bytes: current.clone(), mode: current_mode };
        match record.action {
            Action::Create if current_hash == record.hash_after => Ok(Planned::Write {
                step: Step { path: record.path.clone(), write: None, mode: None, undo },
                merged: false,
            }),
            Action::Create => {
                conflict("created by the run and edited since; delete it yourself if you want it gone", None)
            }
            Action::Modify if Some(&current_hash) == record.hash_before.as_ref() => Ok(Planned::Nothing),
            Action::Modify if current_hash == record.hash_after => {
                let original = read_copy(run.original(&record.path))?;
                let step = Step { path: record.path.clone(), write: Some(original), mode: Some(record.mode), undo };
                Ok(Planned::Write { step, merged: false })
            }
            Action::Modify => {
                let applied = read_copy(run.applied(&record.path))?;
                let original = read_copy(run.original(&record.path))?;
                match diffy::merge_bytes(&applied, &current, &original) {
                    Ok(merged) => {
                        let step = Step { path: record.path.clone(), write: Some(merged), mode: None, undo };
                        Ok(Planned::Write { step, merged: true })
                    }
                    Err(with_markers) => conflict(
                        "edited since the run, and the edit touches lines this run changed; \
                         fix the file by hand (the journal keeps the original), or undo your edit and revert again",
                        Some(first_conflict(&with_markers)),
                    ),
                }
            }
        }
    }

    /// Every run, oldest first, with the state of each of its files now.
    pub fn status(&self) -> Result<Vec<RunStatus>, JournalError> {
        let runs = self.runs()?;
        Ok(runs
            .into_iter()
            .map(|manifest| {
                let files =
                    manifest.files.iter().map(|record| (record.path.clone(), self.file_state(record))).collect();
                RunStatus { manifest, files }
            })
            .collect())
    }

    fn file_state(&self, record: &super::FileRecord) -> FileState {
        match (self.current_hash(&record.path), record.action) {
            (None, Action::Create) => FileState::Reverted,
            (None, Action::Modify) => FileState::Missing,
            (Some(hash), _) if hash == record.hash_after => FileState::AsApplied,
            (Some(hash), _) if Some(&hash) == record.hash_before.as_ref() => FileState::Reverted,
            (Some(_), _) => FileState::EditedSince,
        }
    }
}

enum Planned {
    Nothing,
    Conflict(Conflict),
    Write { step: Step, merged: bool },
}

/// The first conflict block of a merge result, prefixed with the line it starts at, with the
/// sides named for the user: their edit, the run's text, the original.
fn first_conflict(with_markers: &[u8]) -> String {
    let text = String::from_utf8_lossy(with_markers);
    let mut block = Vec::new();
    let mut start = 0;
    for (index, line) in text.lines().enumerate() {
        if block.is_empty() && !line.starts_with("<<<<<<<") {
            continue;
        }
        if block.is_empty() {
            start = index + 1;
        }
        let line = if line.starts_with("<<<<<<<") {
            "<<<<<<< the file now (your edit)"
        } else if line.starts_with("|||||||") {
            "||||||| as this run left it"
        } else if line.starts_with(">>>>>>>") {
            ">>>>>>> before this run"
        } else {
            line
        };
        block.push(line.to_owned());
        if line.starts_with(">>>>>>>") {
            break;
        }
    }
    format!("at line {start}:\n{}", block.join("\n"))
}

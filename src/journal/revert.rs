//! Undoing a run, and telling where each run's files stand.
//!
//! A file still byte-for-byte as the run left it gets its original bytes and mode back. From a
//! file the user edited since, only this run's hunks are taken out ([`super::merge`]): the user's
//! edits stay, even right next to the run's lines. Any file that cannot be reverted cleanly, or a
//! journal copy that does not match its manifest's hash, makes the whole revert write nothing.

use std::fmt;
use std::path::PathBuf;

use super::manifest::{Action, Copy, FileRecord, Manifest, PendingWrite, RunDir, RunState};
use super::{Journal, JournalError, Step, Undo, journal_write};
use crate::text::source::hash_bytes;

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
    /// Reverts `run_id`, or the newest applied run. All or nothing: conflicts or a damaged copy
    /// make it write nothing; a failed write puts back every file already written.
    pub fn revert(&mut self, run_id: Option<&str>) -> Result<RevertReport, JournalError> {
        self.writable()?;
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
        let run = self.run_dir(&manifest.run_id)?;
        let (report, steps) = self.plan_revert(&run, &manifest)?;

        // Record how to undo the revert before touching anything.
        manifest.revert = steps.iter().map(pending_write).collect();
        manifest.state = RunState::Reverting;
        self.save_before_revert(&run, &steps).and_then(|()| self.save(&run, &manifest)).map_err(|err| {
            manifest.state = RunState::Applied;
            manifest.revert.clear();
            let _ = self.save(&run, &manifest);
            journal_write(format!("cannot write the journal of run {}", manifest.run_id))(err)
        })?;

        match self.execute(&steps) {
            Ok(()) => {
                manifest.revert.clear();
                manifest.state = RunState::Reverted;
                manifest.reverted_time =
                    Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string());
                self.save(&run, &manifest).map_err(|source| JournalError::AfterRevert {
                    run_id: manifest.run_id.clone(),
                    what: format!("recording it as reverted in {}", run.manifest().display()),
                    source,
                    finish: self.finish_command(),
                })?;
                Ok(report)
            }
            Err((path, source, undo_errors)) if undo_errors.is_empty() => {
                manifest.revert.clear();
                manifest.state = RunState::Applied;
                let recorded = self.save(&run, &manifest).is_ok();
                Err(JournalError::RevertFailed { run_id: manifest.run_id, path, source, recorded })
            }
            // The manifest still says `reverting`, with how to undo each write: recovery finishes.
            Err((path, source, undo_errors)) => Err(JournalError::RevertIncomplete {
                run_id: manifest.run_id,
                path,
                source,
                undo_errors,
                finish: self.finish_command(),
            }),
        }
    }

    /// Decides every file's revert without writing anything: the report and the writes, or the
    /// conflicts (and damaged copies) that refuse the whole revert.
    fn plan_revert(&self, run: &RunDir, manifest: &Manifest) -> Result<(RevertReport, Vec<Step>), JournalError> {
        let mut report = RevertReport { run_id: manifest.run_id.clone(), ..RevertReport::default() };
        let mut conflicts = Vec::new();
        let mut steps = Vec::new();
        for record in &manifest.files {
            match self.plan_file_revert(run, record) {
                Ok(Planned::Nothing) => report.unchanged.push(record.path.clone()),
                Ok(Planned::Conflict(conflict)) => conflicts.push(conflict),
                Ok(Planned::Write { step, merged }) => {
                    let list = match (&step.write, merged) {
                        (None, _) => &mut report.removed,
                        (Some(_), true) => &mut report.merged,
                        (Some(_), false) => &mut report.restored,
                    };
                    list.push(record.path.clone());
                    steps.push(step);
                }
                Err(PlanError::Copy(why)) => {
                    return Err(JournalError::CorruptCopy {
                        run_id: manifest.run_id.clone(),
                        path: record.path.clone(),
                        why,
                    });
                }
                Err(PlanError::Journal(err)) => return Err(err),
            }
        }
        if !conflicts.is_empty() {
            return Err(JournalError::Conflicts { run_id: manifest.run_id.clone(), conflicts });
        }
        Ok((report, steps))
    }

    fn save_before_revert(&self, run: &RunDir, steps: &[Step]) -> std::io::Result<()> {
        let hook = self.hook();
        for step in steps {
            if let Undo::Restore { bytes, .. } = &step.undo {
                run.write_copy(Copy::BeforeRevert, &step.path, bytes, &hook)?;
            }
        }
        Ok(())
    }

    /// Decides what reverting one file means, without writing anything.
    fn plan_file_revert(&self, run: &RunDir, record: &FileRecord) -> Result<Planned, PlanError> {
        let current = self.current(&record.path).map_err(|err| {
            PlanError::Journal(JournalError::Refused { path: record.path.clone(), detail: err.to_string() })
        })?;
        let conflict = |reason: &str, hunk: Option<String>| {
            Ok(Planned::Conflict(Conflict { path: record.path.clone(), reason: reason.to_owned(), hunk }))
        };
        let Some((current, current_mode)) = current else {
            return match record.action {
                Action::Create => Ok(Planned::Nothing),
                Action::Modify => conflict("deleted since the run; restore it (or drop it from the run by hand)", None),
            };
        };
        let current_hash = hash_bytes(&current);
        let step = |write: Option<Vec<u8>>, mode: Option<u32>, undo: Vec<u8>| Step {
            path: record.path.clone(),
            write,
            mode,
            undo: Undo::Restore { bytes: undo, mode: current_mode & 0o777 },
            dirs: record.created_dirs.clone(),
        };
        let copy = |kind: Copy, hash: &str| self.checked_copy(run, kind, &record.path, hash).map_err(PlanError::Copy);
        match (record.action, &record.hash_before) {
            (Action::Create, _) if current_hash == record.hash_after => {
                Ok(Planned::Write { step: step(None, None, current), merged: false })
            }
            (Action::Create, _) => {
                conflict("created by the run and edited since; delete it yourself if you want it gone", None)
            }
            (Action::Modify, Some(before)) if &current_hash == before => Ok(Planned::Nothing),
            (Action::Modify, Some(before)) if current_hash == record.hash_after => {
                let original = copy(Copy::Original, before)?;
                Ok(Planned::Write { step: step(Some(original), Some(record.mode & 0o777), current), merged: false })
            }
            (Action::Modify, before) => {
                let applied = copy(Copy::Applied, &record.hash_after)?;
                let original = copy(Copy::Original, before.as_deref().unwrap_or_default())?;
                match super::merge::take_out_run(&applied, &current, &original) {
                    Some(merged) => Ok(Planned::Write { step: step(Some(merged), None, current), merged: true }),
                    None => conflict(
                        "edited since the run, and the edit touches lines this run changed; \
                         fix the file by hand (the journal keeps the original), or undo your edit and revert again",
                        diffy::merge_bytes(&applied, &current, &original).err().map(|markers| first_conflict(&markers)),
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

    pub(super) fn file_state(&self, record: &FileRecord) -> FileState {
        match (self.current_hash(&record.path), record.action) {
            (None, Action::Create) => FileState::Reverted,
            (None, Action::Modify) => FileState::Missing,
            (Some(hash), _) if hash == record.hash_after => FileState::AsApplied,
            (Some(hash), _) if Some(&hash) == record.hash_before.as_ref() => FileState::Reverted,
            (Some(_), _) => FileState::EditedSince,
        }
    }
}

/// How to undo one write of a revert, recorded in the manifest before the write.
fn pending_write(step: &Step) -> PendingWrite {
    let (hash_before, mode_before) = match &step.undo {
        Undo::Restore { bytes, mode } => (Some(hash_bytes(bytes)), Some(*mode)),
        Undo::Remove => (None, None),
    };
    PendingWrite {
        path: step.path.clone(),
        hash_before,
        hash_after: step.write.as_deref().map(hash_bytes),
        mode_before,
    }
}

enum PlanError {
    /// A journal copy is missing, unreadable or does not match its hash.
    Copy(String),
    Journal(JournalError),
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

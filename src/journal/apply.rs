//! Applying planned file updates as one journaled run.

use std::time::{SystemTime, UNIX_EPOCH};

use super::manifest::{Action, Copy, FileRecord, Manifest, RunDir, RunState};
use super::{Journal, JournalError, Step, Undo, io_error, journal_write};
use crate::journal::fs::borrow;
use crate::text::source::hash_bytes;
use crate::text::update::FileUpdate;

impl Journal {
    /// Writes `updates` as one run made of the changes of `patches`: checks that no file changed
    /// since it was planned, saves the originals and the manifest, replaces each file atomically,
    /// and on any failure puts every file back and marks the run rolled back. The error says
    /// truthfully whether the project is left changed (see [`JournalError::exit_code`]).
    pub fn apply(&mut self, updates: &[FileUpdate], patches: &[&str]) -> Result<Manifest, JournalError> {
        self.writable()?;
        let mut records = Vec::with_capacity(updates.len());
        let mut steps = Vec::with_capacity(updates.len());
        for update in updates {
            let (record, step) = self.prepare(update)?;
            records.push(record);
            steps.push(step);
        }
        let (run_id, run) = self.new_run_dir()?;
        let now = SystemTime::now();
        let mut manifest = Manifest {
            run_id: run_id.clone(),
            time: humantime::format_rfc3339_seconds(now).to_string(),
            unix_ms: now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            patches: patches.iter().map(|id| (*id).to_owned()).collect(),
            state: RunState::InProgress,
            files: records,
            reverted_time: None,
            revert: Vec::new(),
        };
        self.save_backups(&run, &steps).and_then(|()| self.save(&run, &manifest)).map_err(|err| {
            // Nothing in the project was touched; a run that records nothing is dropped.
            let _ = crate::journal::fs::remove_tree_at(borrow(&self.runs_fd), run_id.as_ref());
            journal_write(format!("cannot write the journal of run {run_id}"))(err)
        })?;

        match self.execute(&steps) {
            Ok(()) => {
                manifest.state = RunState::Applied;
                self.save(&run, &manifest).map_err(|source| JournalError::AfterWrite {
                    run_id: run_id.clone(),
                    what: format!("recording it as applied in {}", run.manifest().display()),
                    source,
                    finish: self.finish_command(),
                })?;
                Ok(manifest)
            }
            Err((path, source, undo_errors)) if undo_errors.is_empty() => {
                manifest.state = RunState::RolledBack;
                let recorded = self.save(&run, &manifest).is_ok();
                Err(JournalError::WriteFailed { run_id, path, source, recorded })
            }
            Err((path, source, undo_errors)) => {
                manifest.state = RunState::RollbackIncomplete;
                let _ = self.save(&run, &manifest);
                Err(JournalError::RollbackIncomplete {
                    run_id,
                    path,
                    source,
                    undo_errors,
                    finish: self.finish_command(),
                })
            }
        }
    }

    /// Writes the manifest (every write step goes through the fault hook).
    pub(super) fn save(&self, run: &RunDir, manifest: &Manifest) -> std::io::Result<()> {
        let hook = self.hook();
        run.write(manifest, &hook)
    }

    /// Writes the byte copies a revert and a rollback need, before any project file is touched.
    fn save_backups(&self, run: &RunDir, steps: &[Step]) -> std::io::Result<()> {
        let hook = self.hook();
        for step in steps {
            if let Undo::Restore { bytes, .. } = &step.undo {
                run.write_copy(Copy::Original, &step.path, bytes, &hook)?;
            }
            run.write_copy(Copy::Applied, &step.path, step.write.as_deref().unwrap_or_default(), &hook)?;
        }
        Ok(())
    }

    /// Re-reads the file an update was planned against and refuses it when its bytes changed
    /// (or, for a file to create, when it appeared); returns its record and its write.
    fn prepare(&self, update: &FileUpdate) -> Result<(FileRecord, Step), JournalError> {
        let refused = |detail: String| JournalError::Refused { path: update.path.clone(), detail };
        let changed = |detail: &str| JournalError::Changed { path: update.path.clone(), detail: detail.to_owned() };
        let target = self.target(&update.path, false).map_err(|err| refused(err.to_string()))?;
        let after = update.after_bytes();
        let mut record = FileRecord {
            path: update.path.clone(),
            action: Action::Create,
            hash_before: None,
            hash_after: hash_bytes(&after),
            mode: update.mode(),
            created_dirs: Vec::new(),
        };
        let Some(before) = &update.before else {
            let exists = match &target {
                Some(target) => crate::journal::fs::stat_at(borrow(&target.dir), &target.name)
                    .map_err(io_error(format!("cannot read {}", update.path.display())))?
                    .is_some(),
                None => false,
            };
            if exists {
                return Err(changed("it was to be created, but it exists now"));
            }
            record.created_dirs = self.missing_dirs(&update.path);
            let step = Step {
                path: update.path.clone(),
                write: Some(after),
                mode: Some(record.mode),
                undo: Undo::Remove,
                dirs: record.created_dirs.clone(),
            };
            return Ok((record, step));
        };
        let target = target.ok_or_else(|| changed("it is gone"))?;
        let bytes = crate::journal::fs::read_at(borrow(&target.dir), &target.name)
            .map_err(|err| changed(&format!("cannot read it again: {err}")))?
            .ok_or_else(|| changed("it is gone"))?;
        if hash_bytes(&bytes) != before.hash {
            return Err(changed("its bytes differ from the ones planned"));
        }
        check_owner(&target).map_err(refused)?;
        record.action = Action::Modify;
        record.hash_before = Some(before.hash.clone());
        record.mode = before.mode;
        let undo = Undo::Restore { bytes, mode: before.mode };
        let step = Step { path: update.path.clone(), write: Some(after), mode: None, undo, dirs: Vec::new() };
        Ok((record, step))
    }

    /// The folders of `path` that do not exist yet (shallowest first): a revert removes them
    /// again when they are empty.
    fn missing_dirs(&self, path: &std::path::Path) -> Vec<std::path::PathBuf> {
        let Ok(components) = crate::journal::fs::checked_components(path) else { return Vec::new() };
        let folders = &components[..components.len() - 1];
        (1..=folders.len())
            .filter(|&depth| {
                let hook = crate::journal::fs::no_hook;
                matches!(
                    crate::journal::fs::open_dirs(borrow(&self.root_fd), &folders[..depth], false, &hook),
                    Ok(None)
                )
            })
            .map(|depth| folders[..depth].iter().collect())
            .collect()
    }

    /// Creates `runs/<run-id>/` with a fresh, sortable id (`20261126-184142-3fa2`): the UTC time
    /// and four hex digits, the only form [`super::is_run_id`] accepts.
    fn new_run_dir(&self) -> Result<(String, RunDir), JournalError> {
        let now = SystemTime::now();
        let stamp: String = humantime::format_rfc3339_seconds(now)
            .to_string()
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == 'T')
            .map(|c| if c == 'T' { '-' } else { c })
            .collect();
        let nanos = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let mut suffix = (nanos ^ std::process::id().rotate_left(16)) & 0xffff;
        let hook = self.hook();
        for _ in 0..1000 {
            let run_id = format!("{stamp}-{suffix:04x}");
            match crate::journal::fs::mkdir_at(borrow(&self.runs_fd), run_id.as_ref(), &hook) {
                Ok(true) => return Ok((run_id.clone(), self.run_dir(&run_id)?)),
                Ok(false) => suffix = (suffix + 1) & 0xffff,
                Err(err) => return Err(journal_write(format!("cannot create the folder of run {run_id}"))(err)),
            }
        }
        Err(journal_write("cannot create a run folder")(std::io::Error::other("too many runs in the same second")))
    }
}

/// Refuses, before anything is written, a file whose owner this process cannot give to its
/// replacement: only root may give a file away, so anyone else replacing another user's file
/// would silently become its owner.
fn check_owner(target: &crate::journal::fs::Target) -> Result<(), String> {
    let stat = crate::journal::fs::stat_at(borrow(&target.dir), &target.name).map_err(|e| e.to_string())?;
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    match stat {
        Some(stat) if euid != 0 && stat.st_uid != euid => Err(format!(
            "owned by uid {}, and only root can keep that owner on the replaced file; run as that user or as root",
            stat.st_uid
        )),
        _ => Ok(()),
    }
}

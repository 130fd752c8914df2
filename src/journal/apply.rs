//! Applying planned file updates as one journaled run.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use super::manifest::{Action, FileRecord, Manifest, RunDir, RunState};
use super::{Journal, JournalError, Step, Undo, check_relative, io_error, write_copy};
use crate::plan::FileUpdate;
use crate::source::hash_bytes;

impl Journal {
    /// Writes `updates` as one run made of the changes of `patches`: checks that no file changed
    /// since it was planned, saves the originals and the manifest, replaces each file atomically,
    /// and on any failure puts every file back and marks the run rolled back.
    pub fn apply(&mut self, updates: &[FileUpdate], patches: &[&str]) -> Result<Manifest, JournalError> {
        let mut records = Vec::with_capacity(updates.len());
        let mut steps = Vec::with_capacity(updates.len());
        for update in updates {
            check_relative(&update.path)?;
            let (record, step) = self.prepare(update)?;
            records.push(record);
            steps.push(step);
        }

        let (run_id, run) = self.new_run_dir()?;
        for (update, step) in updates.iter().zip(&steps) {
            if let Undo::Restore { bytes, .. } = &step.undo {
                write_copy(&run.original(&update.path), bytes)?;
            }
            write_copy(&run.applied(&update.path), step.write.as_deref().unwrap_or_default())?;
        }
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
        let save = |manifest: &Manifest| {
            run.write(manifest).map_err(io_error(format!("cannot write {}", run.manifest().display())))
        };
        save(&manifest)?;

        match self.execute(&steps) {
            Ok(()) => {
                manifest.state = RunState::Applied;
                save(&manifest)?;
                Ok(manifest)
            }
            Err((path, source, undo_errors)) => {
                manifest.state = RunState::RolledBack;
                save(&manifest)?;
                Err(JournalError::WriteFailed { run_id, path, source, undo_errors })
            }
        }
    }

    /// Re-reads the file an update was planned against and refuses it when its bytes changed
    /// (or, for a file to create, when it appeared); returns its record and its write.
    fn prepare(&self, update: &FileUpdate) -> Result<(FileRecord, Step), JournalError> {
        let absolute = self.root.join(&update.path);
        let after = update.after_bytes();
        let changed = |detail: &str| JournalError::Changed { path: update.path.clone(), detail: detail.to_owned() };
        match &update.before {
            Some(before) => {
                let bytes = std::fs::read(&absolute).map_err(|err| changed(&format!("cannot read it again: {err}")))?;
                if hash_bytes(&bytes) != before.hash {
                    return Err(changed("its bytes differ from the ones planned"));
                }
                let record = FileRecord {
                    path: update.path.clone(),
                    action: Action::Modify,
                    hash_before: Some(before.hash.clone()),
                    hash_after: hash_bytes(&after),
                    mode: before.mode,
                };
                let step = Step {
                    path: update.path.clone(),
                    write: Some(after),
                    mode: None,
                    undo: Undo::Restore { bytes, mode: before.mode },
                };
                Ok((record, step))
            }
            None => {
                if absolute.symlink_metadata().is_ok() {
                    return Err(changed("it was to be created, but it exists now"));
                }
                let mode = update.mode();
                let record = FileRecord {
                    path: update.path.clone(),
                    action: Action::Create,
                    hash_before: None,
                    hash_after: hash_bytes(&after),
                    mode,
                };
                let step = Step { path: update.path.clone(), write: Some(after), mode: Some(mode), undo: Undo::Remove };
                Ok((record, step))
            }
        }
    }

    /// Creates `runs/<run-id>/` with a fresh, sortable id (`20261126-184142-3fa2`).
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
        for _ in 0..1000 {
            let run_id = format!("{stamp}-{suffix:04x}");
            let dir: PathBuf = self.dir.join("runs").join(&run_id);
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok((run_id, RunDir { dir })),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => suffix = (suffix + 1) & 0xffff,
                Err(err) => return Err(io_error(format!("cannot create {}", dir.display()))(err)),
            }
        }
        Err(io_error("cannot create a run folder")(std::io::Error::other("too many runs in the same second")))
    }
}

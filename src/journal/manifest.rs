//! The record of one run, `.scalepatch/runs/<run-id>/manifest.json`, and the byte copies beside it.
//!
//! The manifest is written before any project file is touched and rewritten at every change of
//! state, so whatever happens the next command knows what a run did and how to undo it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// Backups are written and files are being replaced. Seen by a later command, it means the
    /// process died mid-way: that command rolls the run back.
    InProgress,
    /// Every file was written.
    Applied,
    /// A write failed (or the process died) and every file was put back.
    RolledBack,
    /// A revert is replacing files. Seen by a later command: the revert is undone (the run is
    /// applied again) so the user can retry it.
    Reverting,
    /// Undone by `scalepatch revert`.
    Reverted,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::InProgress => "in-progress",
            RunState::Applied => "applied",
            RunState::RolledBack => "rolled back",
            RunState::Reverting => "reverting",
            RunState::Reverted => "reverted",
        }
    }
}

/// What a run did to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Modify,
    Create,
}

/// One file of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Relative to the project root.
    pub path: PathBuf,
    pub action: Action,
    /// Hash of the bytes before the run (`None` for a created file).
    pub hash_before: Option<String>,
    /// Hash of the bytes the run wrote.
    pub hash_after: String,
    /// Permission bits of the file before the run (those given to a created file).
    pub mode: u32,
}

/// A write a revert is about to make, recorded first so a crash in the middle can be undone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingWrite {
    pub path: PathBuf,
    /// Hash of the file before the revert (`None`: it did not exist).
    pub hash_before: Option<String>,
    /// Hash of what the revert writes (`None`: the revert deletes the file).
    pub hash_after: Option<String>,
    /// Mode before the revert.
    pub mode_before: Option<u32>,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub run_id: String,
    /// When the run started, RFC 3339 (UTC).
    pub time: String,
    /// The same, in milliseconds since the UNIX epoch (orders the runs).
    pub unix_ms: u64,
    pub tool_version: String,
    /// The ids of the patches whose changes the run applied.
    pub patches: Vec<String>,
    pub state: RunState,
    pub files: Vec<FileRecord>,
    /// When the run was reverted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverted_time: Option<String>,
    /// The writes of a revert under way (empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revert: Vec<PendingWrite>,
}

/// The folders of one run.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub dir: PathBuf,
}

impl RunDir {
    pub fn manifest(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }

    /// The byte copy of a file as it was before the run.
    pub fn original(&self, path: &Path) -> PathBuf {
        self.dir.join("originals").join(path)
    }

    /// The byte copy of a file as the run wrote it: the ancestor of a revert's three-way merge.
    pub fn applied(&self, path: &Path) -> PathBuf {
        self.dir.join("applied").join(path)
    }

    /// The byte copy of a file as it was just before a revert, to undo a failed revert.
    pub fn before_revert(&self, path: &Path) -> PathBuf {
        self.dir.join("before-revert").join(path)
    }

    pub fn read(&self) -> anyhow::Result<Manifest> {
        use anyhow::Context;
        let path = self.manifest();
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{}: not a scalepatch manifest", path.display()))
    }

    /// Writes the manifest atomically: a crash leaves the old one or the new one.
    pub fn write(&self, manifest: &Manifest) -> std::io::Result<()> {
        let mut json = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
        json.push(b'\n');
        crate::fs::write_atomic(&self.manifest(), &json, Some(0o644))
    }
}

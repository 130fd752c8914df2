//! The record of one run, `.scalepatch/runs/<run-id>/manifest.json`, and the byte copies beside it.
//!
//! The manifest is written before any project file is touched and rewritten at every change of
//! state, so whatever happens the next command knows what a run did and how to undo it.
//!
//! A manifest is untrusted input: a project can arrive with a crafted `.scalepatch/`. Every field
//! is checked ([`Manifest::validate`]) before anything acts on it, and the copies are read and
//! written through folder descriptors that never follow a symlink.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::journal::fs::{Hook, borrow};

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// Backups are written and files are being replaced. Seen by a later command, it means the
    /// process died mid-way: `recover` (or the next apply/revert) rolls the run back.
    InProgress,
    /// Every file was written.
    Applied,
    /// A write failed (or the process died) and every file was put back.
    RolledBack,
    /// A write failed and putting the files back failed too: some files are still patched.
    /// `recover` (or the next apply/revert) finishes the rollback.
    RollbackIncomplete,
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
            RunState::RollbackIncomplete => "rollback incomplete",
            RunState::Reverting => "reverting",
            RunState::Reverted => "reverted",
        }
    }

    /// Whether a crash or a failed rollback left this run half-done.
    pub fn is_interrupted(self) -> bool {
        matches!(self, RunState::InProgress | RunState::RollbackIncomplete | RunState::Reverting)
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
    /// Permission bits of the file before the run (those given to a created file). Only the
    /// bits 0o777 are ever restored.
    pub mode: u32,
    /// Folders the run created for a new file (shallowest first), removed on revert when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_dirs: Vec<PathBuf>,
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

/// Whether `id` has exactly the form scalepatch gives run ids: `YYYYMMDD-HHMMSS-xxxx` (UTC
/// time of the run, four lower-case hex digits). Nothing else can name a folder of `runs/`.
pub fn is_run_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() == 20
        && bytes[8] == b'-'
        && bytes[15] == b'-'
        && bytes[..8].iter().chain(&bytes[9..15]).all(u8::is_ascii_digit)
        && bytes[16..].iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// A manifest field that fails a check.
#[derive(Debug)]
pub struct BadField {
    pub field: String,
    pub detail: String,
}

fn bad(field: impl Into<String>, detail: impl Into<String>) -> BadField {
    BadField { field: field.into(), detail: detail.into() }
}

fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `YYYY-MM-DDTHH:MM:SSZ`, as humantime writes it.
fn is_time(text: &str) -> bool {
    let shape = "dddd-dd-ddTdd:dd:ddZ";
    text.len() == shape.len()
        && text.bytes().zip(shape.bytes()).all(|(c, s)| if s == b'd' { c.is_ascii_digit() } else { c == s })
}

/// Printable, short, and free of terminal escapes: a field scalepatch only ever prints.
fn is_label(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b))
}

impl Manifest {
    /// Checks every field before anything acts on it: the run id is the folder's name and has
    /// scalepatch's form, every path is relative, normalised and outside the journal, hashes are
    /// hashes, modes are permission bits, and the revert record only names the run's files.
    pub fn validate(&self, folder: &str) -> Result<(), BadField> {
        if !is_run_id(&self.run_id) || self.run_id != folder {
            return Err(bad(
                "run_id",
                format!("`{}` is not this run folder's id ({folder})", self.run_id.escape_debug()),
            ));
        }
        for (field, time) in [("time", Some(&self.time)), ("reverted_time", self.reverted_time.as_ref())] {
            if time.is_some_and(|t| !is_time(t)) {
                return Err(bad(field, "not a time of the form YYYY-MM-DDTHH:MM:SSZ"));
            }
        }
        if !is_label(&self.tool_version) {
            return Err(bad("tool_version", "not a version"));
        }
        if let Some(patch) = self.patches.iter().find(|p| !is_label(p)) {
            return Err(bad("patches", format!("`{}` is not a patch id", patch.escape_debug())));
        }
        let mut seen = HashSet::new();
        for (index, record) in self.files.iter().enumerate() {
            check_record(record).map_err(|e| bad(format!("files[{index}].{}", e.field), e.detail))?;
            if !seen.insert(&record.path) {
                return Err(bad(format!("files[{index}].path"), "the same file twice"));
            }
        }
        for (index, pending) in self.revert.iter().enumerate() {
            let field = |name: &str| format!("revert[{index}].{name}");
            if !seen.contains(&pending.path) {
                return Err(bad(field("path"), "not a file of this run"));
            }
            if pending.hash_before.iter().chain(&pending.hash_after).any(|h| !is_hash(h)) {
                return Err(bad(field("hash"), "not a hash"));
            }
            if pending.mode_before.is_some_and(|m| m > 0o7777) {
                return Err(bad(field("mode_before"), "not permission bits"));
            }
        }
        if !self.revert.is_empty() && self.state != RunState::Reverting {
            return Err(bad("revert", "pending revert writes in a run that is not reverting"));
        }
        Ok(())
    }
}

fn check_record(record: &FileRecord) -> Result<(), BadField> {
    let components = crate::journal::fs::checked_components(&record.path).map_err(|why| bad("path", why))?;
    if components[0] == super::DIR {
        return Err(bad("path", "inside the journal folder"));
    }
    if !is_hash(&record.hash_after) || record.hash_before.as_deref().is_some_and(|h| !is_hash(h)) {
        return Err(bad("hash", "not a hash"));
    }
    match (record.action, &record.hash_before) {
        (Action::Modify, None) => return Err(bad("hash_before", "missing for a modified file")),
        (Action::Create, Some(_)) => return Err(bad("hash_before", "set for a created file")),
        _ => {}
    }
    if record.mode > 0o7777 {
        return Err(bad("mode", format!("{:o} is not permission bits", record.mode)));
    }
    for dir in &record.created_dirs {
        crate::journal::fs::checked_components(dir).map_err(|why| bad("created_dirs", why))?;
        if dir == &record.path || !record.path.starts_with(dir) || record.action != Action::Create {
            return Err(bad("created_dirs", format!("{} is not a folder of this created file", dir.display())));
        }
    }
    Ok(())
}

/// The kinds of byte copy a run keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    /// The bytes before the run (modified files).
    Original,
    /// The bytes the run wrote: the base of a revert's three-way merge.
    Applied,
    /// The bytes just before a revert, to undo a revert that fails.
    BeforeRevert,
}

impl Copy {
    fn folder(self) -> &'static str {
        match self {
            Copy::Original => "originals",
            Copy::Applied => "applied",
            Copy::BeforeRevert => "before-revert",
        }
    }
}

/// The folder of one run, held open (never through a symlink).
#[derive(Debug)]
pub struct RunDir {
    pub fd: OwnedFd,
    /// `.scalepatch/runs/<run-id>` below the root, for messages.
    pub shown: PathBuf,
}

const MANIFEST: &str = "manifest.json";

impl RunDir {
    /// The manifest's path, for messages.
    pub fn manifest(&self) -> PathBuf {
        self.shown.join(MANIFEST)
    }

    /// A copy's path, for messages.
    pub fn copy_path(&self, kind: Copy, path: &Path) -> PathBuf {
        self.shown.join(kind.folder()).join(path)
    }

    fn copy_components(kind: Copy, path: &Path) -> io::Result<(Vec<OsString>, OsString)> {
        let mut components = crate::journal::fs::checked_components(path)
            .map_err(|why| io::Error::new(io::ErrorKind::InvalidInput, format!("{}: {why}", path.display())))?;
        let name = components.pop().expect("not empty");
        components.insert(0, kind.folder().into());
        Ok((components, name))
    }

    /// Writes a byte copy (0600), creating its folders, never through a symlink.
    pub fn write_copy(&self, kind: Copy, path: &Path, bytes: &[u8], hook: Hook<'_>) -> io::Result<()> {
        let (folders, name) = Self::copy_components(kind, path)?;
        let (dir, _) = crate::journal::fs::open_dirs(borrow(&self.fd), &folders, true, hook)?.expect("created");
        crate::journal::fs::write_at(borrow(&dir), &name, bytes, Some(0o600), hook)
    }

    /// Reads a byte copy; `None` when it is missing.
    pub fn read_copy(&self, kind: Copy, path: &Path) -> io::Result<Option<Vec<u8>>> {
        let (folders, name) = Self::copy_components(kind, path)?;
        match crate::journal::fs::open_dirs(borrow(&self.fd), &folders, false, &crate::journal::fs::no_hook)? {
            Some((dir, _)) => crate::journal::fs::read_at(borrow(&dir), &name),
            None => Ok(None),
        }
    }

    /// Reads the manifest (`Ok(None)`: there is none, the run died before writing it).
    pub fn read(&self) -> anyhow::Result<Option<Manifest>> {
        use anyhow::Context;
        let path = self.manifest();
        let Some(bytes) = crate::journal::fs::read_at(borrow(&self.fd), MANIFEST.as_ref())
            .with_context(|| format!("cannot read {}", path.display()))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{}: not a scalepatch manifest", path.display()))
    }

    /// Writes the manifest atomically: a crash leaves the old one or the new one.
    pub fn write(&self, manifest: &Manifest, hook: Hook<'_>) -> io::Result<()> {
        let mut json = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
        json.push(b'\n');
        crate::journal::fs::write_at(borrow(&self.fd), MANIFEST.as_ref(), &json, Some(0o644), hook)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_have_exactly_scalepatchs_form() {
        assert!(is_run_id("20261126-184142-3fa2"));
        for bad in ["", "../../x", "20261126-184142-3fA2", "20261126-184142-3fa2/", "2026112-1841420-3fa2", "a/b"] {
            assert!(!is_run_id(bad), "{bad}");
        }
    }
}

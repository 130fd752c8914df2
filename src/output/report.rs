//! The plan as every machine format sees it: one flat list of outcomes, each with a stable id, a
//! status, a message and one location shape (path, first and last line, 1-based), and the summary
//! counts. JSON, GitHub annotations, SARIF and the closing summary line are all read from this, so
//! that they can never disagree about what a run found.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::outcome::{Change, ChangeKind, Outcome};
use crate::engine::plan::Plan;
use crate::project::Project;
use crate::text::update::FileUpdate;

/// The version of the JSON documents (docs/schema/*.json). Raised when a field changes meaning or
/// goes away; adding a field keeps it.
pub const SCHEMA_VERSION: u32 = 1;

/// A place in the project: the same shape for every outcome. `line` and `end_line` are 1-based
/// and inclusive; both are `null` when the outcome is about the whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub end_line: Option<usize>,
}

/// What a change would do, for the machine formats.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeDetail {
    /// `modify` or `create`.
    pub action: &'static str,
    pub why: String,
    pub assumptions: Vec<String>,
    pub verify: Vec<String>,
    /// The unified diff of this change alone, as `git apply` takes it at the project root.
    pub diff: String,
}

/// One outcome of one patch.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Stable across runs while the project and the planned change stay the same: a hash of the
    /// patch, the status, the file and what is said or written (never byte offsets, so an edit
    /// elsewhere in the file keeps the id).
    pub id: String,
    pub patch: &'static str,
    pub quick_win: &'static str,
    /// `change`, `ok`, `skipped`, `not_found`, `error` or `warning`.
    pub status: &'static str,
    /// One line: the change's summary, or the reason of any other outcome.
    pub message: String,
    /// Where; `null` only for `not_found` (there is no place to name).
    pub location: Option<Place>,
    /// Present for `change` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeDetail>,
}

/// The counts the closing line says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub changes: usize,
    pub files: usize,
    pub ok: usize,
    pub skipped: usize,
    pub not_found: usize,
    pub warnings: usize,
    pub errors: usize,
}

impl Summary {
    /// `3 changes in 2 files, 4 ok, 2 skipped, 1 not found, 1 warning, 0 errors`.
    pub fn line(&self) -> String {
        let plural = |n: usize, word: &str| if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") };
        format!(
            "{} in {}, {} ok, {} skipped, {} not found, {}, {}",
            plural(self.changes, "change"),
            plural(self.files, "file"),
            self.ok,
            self.skipped,
            self.not_found,
            plural(self.warnings, "warning"),
            plural(self.errors, "error"),
        )
    }
}

/// Every outcome of a plan, in plan order.
pub fn entries(project: &Project, plan: &Plan) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for report in &plan.reports {
        let patch = report.patch;
        for outcome in &report.outcomes {
            let mut entry = entry(project, patch.id(), patch.quick_win(), outcome);
            // Two identical outcomes (rare) still get distinct ids, numbered in plan order.
            let count = seen.entry(entry.id.clone()).or_default();
            *count += 1;
            if *count > 1 {
                entry.id = format!("{}~{count}", entry.id);
            }
            entries.push(entry);
        }
    }
    entries
}

/// The counts of a set of entries; `files` is the number of files the changes write.
pub fn summary(entries: &[Entry], updates: &[FileUpdate]) -> Summary {
    let count = |status: &str| entries.iter().filter(|e| e.status == status).count();
    Summary {
        changes: count("change"),
        files: updates.len(),
        ok: count("ok"),
        skipped: count("skipped"),
        not_found: count("not_found"),
        warnings: count("warning"),
        errors: count("error"),
    }
}

fn entry(project: &Project, patch: &'static str, quick_win: &'static str, outcome: &Outcome) -> Entry {
    let whole = |location: &Option<crate::engine::outcome::Location>| location.as_ref().map(place_of);
    let (status, message, location) = match outcome {
        Outcome::Change(change) => ("change", change.summary.clone(), Some(change_place(project, change))),
        Outcome::Ok { location, reason } => ("ok", reason.clone(), whole(location)),
        Outcome::Skipped { location, reason } => ("skipped", reason.clone(), whole(location)),
        Outcome::NotFound { reason } => ("not_found", reason.clone(), None),
        Outcome::Error { location, message } => ("error", message.clone(), Some(place_of(location))),
        Outcome::Warning { location, message } => ("warning", message.clone(), whole(location)),
    };
    let change = match outcome {
        Outcome::Change(change) => Some(change_detail(project, change)),
        _ => None,
    };
    Entry {
        id: stable_id(patch, status, location.as_ref(), &message, outcome),
        patch,
        quick_win,
        status,
        message,
        location,
        change,
    }
}

fn place_of(location: &crate::engine::outcome::Location) -> Place {
    let line = (location.line > 0).then_some(location.line);
    Place { path: location.path.clone(), line, end_line: line }
}

/// The lines a change touches in the file as it is now (the created file's lines for a new file).
fn change_place(project: &Project, change: &Change) -> Place {
    let (first, last) = match &change.kind {
        ChangeKind::Create { contents } => (Some(1), Some(contents.lines().count().max(1))),
        ChangeKind::Modify { edits } => match project.read(&change.path) {
            Ok(source) if !edits.is_empty() => {
                let first = edits.iter().map(|e| source.line_of(e.range.start)).min();
                // The last byte an edit replaces; an insertion names the line it lands on.
                let last = edits.iter().map(|e| source.line_of(e.range.end.max(e.range.start + 1) - 1)).max();
                (first, last)
            }
            _ => (None, None),
        },
    };
    let line = if change.line > 0 { Some(change.line) } else { first };
    let end_line = match (line, last) {
        (Some(line), Some(last)) => Some(last.max(line)),
        (line, _) => line,
    };
    Place { path: change.path.clone(), line, end_line }
}

fn change_detail(project: &Project, change: &Change) -> ChangeDetail {
    let action = match change.kind {
        ChangeKind::Modify { .. } => "modify",
        ChangeKind::Create { .. } => "create",
    };
    let diff = match crate::engine::plan::file_update(project, &[change]) {
        Ok(update) => super::diff::render(&update, false),
        Err(_) => String::new(),
    };
    ChangeDetail {
        action,
        why: change.why.clone(),
        assumptions: change.assumptions.clone(),
        verify: change.verify.clone(),
        diff,
    }
}

/// `patch/` and 12 hex digits of a hash of what identifies the outcome without its byte offsets.
fn stable_id(patch: &str, status: &str, place: Option<&Place>, message: &str, outcome: &Outcome) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in [patch, status, &place.map(|p| p.path.to_string_lossy().into_owned()).unwrap_or_default(), message] {
        hasher.update(part.as_bytes());
        hasher.update(b"\0");
    }
    if let Outcome::Change(change) = outcome {
        match &change.kind {
            ChangeKind::Modify { edits } => edits.iter().for_each(|edit| {
                hasher.update(edit.replacement.as_bytes());
                hasher.update(b"\0");
            }),
            ChangeKind::Create { contents } => {
                hasher.update(contents.as_bytes());
            }
        }
    }
    let hex = hasher.finalize().to_hex();
    format!("{patch}/{}", &hex[..12])
}

/// A project path as the user's shell sees it: relative to the current folder when the project is
/// inside it (CI annotations are matched against paths from the workspace), else absolute.
pub fn shown_path(root: &Path, path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().ok().and_then(|cwd| cwd.canonicalize().ok());
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    match cwd.as_deref().and_then(|cwd| root.strip_prefix(cwd).ok()) {
        Some(inside) => inside.join(path),
        None => root.join(path),
    }
}

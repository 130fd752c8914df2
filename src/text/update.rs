//! A file's text before and after a set of changes: the plain value the diff printer and the
//! journal take, so that neither depends on how the plan was made.

use std::path::PathBuf;
use std::sync::Arc;

use crate::text::source::{SourceFile, raw_bytes};

/// The contents of one file before and after a set of changes.
#[derive(Debug, Clone)]
pub struct FileUpdate {
    pub path: PathBuf,
    /// The file as planned; `None` when the changes create it.
    pub before: Option<Arc<SourceFile>>,
    /// The new text, without the BOM.
    pub after: String,
    /// The patches whose changes make up this update.
    pub patches: Vec<&'static str>,
}

impl FileUpdate {
    /// The bytes to write: the original's BOM is kept.
    pub fn after_bytes(&self) -> Vec<u8> {
        raw_bytes(self.before.as_ref().is_some_and(|b| b.bom), &self.after)
    }

    /// The text before, as the diff shows it (BOM included, so `git apply` matches the bytes).
    pub fn before_text(&self) -> Option<String> {
        self.before.as_ref().map(|b| if b.bom { format!("\u{feff}{}", b.text) } else { b.text.clone() })
    }

    /// The text after, as the diff shows it.
    pub fn after_text(&self) -> String {
        if self.before.as_ref().is_some_and(|b| b.bom) { format!("\u{feff}{}", self.after) } else { self.after.clone() }
    }

    /// Mode to give the file: the original's, or 0o644 for a created one.
    pub fn mode(&self) -> u32 {
        self.before.as_ref().map_or(0o644, |b| b.mode)
    }
}

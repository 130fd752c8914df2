//! A place in the project, for messages and outcomes.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// The 1-based line of byte `offset` in `text` (clamped to its end), for readers that hold a bare
/// text rather than a [`crate::text::source::SourceFile`] (whose `line_of` uses its line index).
pub fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// A place in the project: a path relative to the root and a 1-based line (0 = the whole file).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub path: PathBuf,
    pub line: usize,
}

impl Location {
    pub fn new(path: impl Into<PathBuf>, line: usize) -> Location {
        Location { path: path.into(), line }
    }

    /// The whole file, with no particular line.
    pub fn file(path: impl Into<PathBuf>) -> Location {
        Location { path: path.into(), line: 0 }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match self.line {
            0 => write!(f, "{path}"),
            line => write!(f, "{path}:{line}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_at_counts_newlines_before_the_offset() {
        let text = "a\nbc\n\nd";
        assert_eq!([0, 1, 2, 4, 5, 6].map(|offset| line_at(text, offset)), [1, 1, 2, 2, 3, 4]);
        assert_eq!(line_at(text, 1_000), 4, "an offset past the end is the last line");
    }
}

//! A place in the project, for messages and outcomes.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

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

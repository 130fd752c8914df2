//! What scalepatch prints: git-style diffs and the notes beside them.

pub mod diff;

//! What scalepatch prints about a plan. Every format is a [`Printer`] (as ast-grep's printers
//! are), so that the commands decide *what* to show and the printer only *how*: a new format
//! (annotations for a CI, say) is one more implementation, not a branch in every command.

pub mod diff;
pub mod json;
pub mod text;

use std::io;

use crate::engine::plan::Plan;
use crate::project::Project;
use crate::text::update::FileUpdate;

/// Prints a plan: its outcomes and the diff of its file updates.
pub trait Printer {
    fn print_plan(&mut self, project: &Project, plan: &Plan, updates: &[FileUpdate]) -> io::Result<()>;
}

//! The machine format: one JSON document on stdout with every patch's outcomes and the diff.

use std::io::{self, Write};

use super::Printer;
use crate::engine::plan::Plan;
use crate::project::Project;
use crate::text::update::FileUpdate;

/// One JSON document on stdout.
pub struct JsonPrinter;

impl Printer for JsonPrinter {
    fn print_plan(&mut self, project: &Project, plan: &Plan, updates: &[FileUpdate]) -> io::Result<()> {
        let json = serde_json::json!({
            "root": project.root(),
            "patches": plan.reports.iter().map(|r| serde_json::json!({
                "id": r.patch.id(),
                "quick_win": r.patch.quick_win(),
                "title": r.patch.title(),
                "outcomes": r.outcomes,
            })).collect::<Vec<_>>(),
            "diff": super::diff::render_all(updates, false),
        });
        // Serialised first: an io error inside serde_json would hide a broken pipe.
        let text = serde_json::to_string_pretty(&json).map_err(io::Error::other)?;
        writeln!(io::stdout().lock(), "{text}")
    }
}

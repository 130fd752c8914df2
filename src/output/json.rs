//! The machine format: one JSON document on stdout per command, described by
//! docs/schema/scalepatch.schema.json (`schema_version` says which version of it).

use std::io::{self, Write};

use serde_json::{Value, json};

use super::report::SCHEMA_VERSION;
use super::{PlanView, Printer};

/// One JSON document on stdout.
pub struct JsonPrinter;

impl Printer for JsonPrinter {
    fn print_plan(&mut self, view: &PlanView<'_>) -> io::Result<()> {
        print(&plan_document(view))
    }
}

/// The document of `list` and `diff`, and the plan part of `apply`'s.
pub fn plan_document(view: &PlanView<'_>) -> Value {
    let patches: Vec<Value> = view
        .plan
        .reports
        .iter()
        .map(|r| {
            json!({
                "id": r.patch.id(),
                "quick_win": r.patch.quick_win(),
                "title": r.patch.title(),
                "in_phase_1": r.patch.in_phase_1(),
            })
        })
        .collect();
    let files: Vec<Value> = view
        .updates
        .iter()
        .map(|u| json!({"path": u.path, "action": if u.before.is_some() { "modify" } else { "create" }, "patches": u.patches}))
        .collect();
    json!({
        "schema_version": SCHEMA_VERSION,
        "command": view.command,
        "root": view.project.root(),
        "patches": patches,
        "outcomes": view.entries,
        "files": files,
        "diff": super::diff::render_all(view.updates, false),
        "summary": view.summary,
    })
}

/// Writes a document on stdout, serialised first: an io error inside serde_json would hide a
/// broken pipe.
pub fn print(document: &Value) -> io::Result<()> {
    let text = serde_json::to_string_pretty(document).map_err(io::Error::other)?;
    writeln!(io::stdout().lock(), "{text}")
}

/// The document of `status`: every run and the state of each of its files.
pub fn status_document(root: &std::path::Path, runs: &[crate::journal::RunStatus]) -> Value {
    let runs: Vec<Value> = runs
        .iter()
        .map(|run| {
            let manifest = &run.manifest;
            let files: Vec<Value> =
                run.files.iter().map(|(path, state)| json!({"path": path, "state": state.as_str()})).collect();
            json!({
                "run_id": manifest.run_id,
                "time": manifest.time,
                "state": manifest.state.as_str(),
                "reverted_time": manifest.reverted_time,
                "patches": manifest.patches,
                "files": files,
            })
        })
        .collect();
    json!({"schema_version": SCHEMA_VERSION, "command": "status", "root": root, "runs": runs})
}

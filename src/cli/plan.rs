//! The read-only planning commands: `list` and `diff`.

use std::io::Write;

use anyhow::Result;

use super::args::Format;
use super::exit;
use crate::engine::patch::Patch;
use crate::engine::plan::{Plan, file_updates};
use crate::engine::verify::{self, Mode};
use crate::output::Printer;
use crate::output::json::JsonPrinter;
use crate::output::text::TextPrinter;
use crate::project::Project;

/// `list`: every patch in the catalog with its outcomes on the project.
pub fn list(project: &Project) -> Result<i32> {
    let plan = Plan::build(project, crate::patches::ALL);
    let mut out = anstream::stdout().lock();
    for report in &plan.reports {
        let patch = report.patch;
        let phase = if patch.in_phase_1() { "phase 1" } else { "optional" };
        writeln!(out, "{:<27} {:<4} {:<8} {}", patch.id(), patch.quick_win(), phase, patch.title())?;
        for outcome in &report.outcomes {
            writeln!(out, "    {}: {}", outcome.label(), outcome.describe())?;
        }
    }
    Ok(exit::OK)
}

/// `diff`: the dry run, printed in the chosen format; exit 1 with `--check` when changes are
/// pending, 2 when some input could not be read.
pub fn diff(
    project: &Project,
    patches: &[&'static dyn Patch],
    check: bool,
    format: Format,
    verify: Option<Mode>,
) -> Result<i32> {
    let plan = Plan::build(project, patches);
    let changes: Vec<_> = plan.changes().collect();
    let updates = file_updates(project, &changes)?;
    let mut printer: Box<dyn Printer> = match format {
        Format::Text => Box::new(TextPrinter),
        Format::Json => Box::new(JsonPrinter),
    };
    printer.print_plan(project, &plan, &updates)?;
    if let Some(mode) = verify
        && !print_verify(project, &updates, mode)?
    {
        return Ok(exit::USAGE);
    }
    Ok(if plan.has_errors() {
        exit::USAGE
    } else if check && !updates.is_empty() {
        exit::PENDING
    } else {
        exit::OK
    })
}

/// `--verify`: runs the installed tools on the patched tree and says each answer on stderr;
/// `false` when a tool refuses what the plan would write.
pub fn print_verify(project: &Project, updates: &[crate::engine::plan::FileUpdate], mode: Mode) -> Result<bool> {
    let runs = verify::verify(project, updates, mode)?;
    say!("verify (the installed tools, on the patched tree in a temporary copy):");
    if runs.is_empty() {
        say!(
            "    nothing to run: no nginx files, no gunicorn start{}",
            if mode == Mode::Django { ", no settings module" } else { "" }
        );
    }
    for run in &runs {
        say!("    {}", run.describe());
    }
    Ok(!verify::failed(&runs))
}

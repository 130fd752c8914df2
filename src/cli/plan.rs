//! The read-only planning commands: `list` and `diff`.

use std::io::Write;

use anyhow::Result;

use super::args::Format;
use super::exit;
use crate::engine::outcome::Outcome;
use crate::engine::patch::Patch;
use crate::engine::plan::{Plan, file_updates};
use crate::engine::verify::{self, Mode};
use crate::output::PlanView;
use crate::output::text::print_summary;
use crate::project::Project;

/// How a command prints: the format and `--quiet`.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub format: Format,
    pub quiet: bool,
}

/// `list`: every patch in the catalog with its outcomes on the project.
pub fn list(project: &Project, format: Format, quiet: bool) -> Result<i32> {
    let plan = Plan::build(project, crate::patches::ALL);
    let changes: Vec<_> = plan.changes().collect();
    // The files the changes would write, for the summary; `list` shows no diff.
    let updates = file_updates(project, &changes).unwrap_or_default();
    let view = PlanView::new("list", project, &plan, &updates);
    if let Some(code) = not_a_django_project(&view) {
        return Ok(code);
    }
    if format == Format::Text {
        let mut out = anstream::stdout().lock();
        // Columns as wide as their longest entry (`Celery` is wider than `QW1`).
        let quick_win_width = plan.reports.iter().map(|r| r.patch.quick_win().len()).max().unwrap_or(0);
        for report in &plan.reports {
            let patch = report.patch;
            let phase = if patch.in_phase_1() { "phase 1" } else { "optional" };
            let (id, quick_win, title) = (patch.id(), patch.quick_win(), patch.title());
            writeln!(out, "{id:<27} {quick_win:<quick_win_width$} {phase:<8} {title}")?;
            for outcome in report
                .outcomes
                .iter()
                .filter(|o| !quiet || matches!(o, Outcome::Error { .. } | Outcome::Warning { .. }))
            {
                writeln!(out, "    {}: {}", outcome.label(), outcome.describe())?;
            }
        }
    } else {
        crate::output::printer(format, quiet).print_plan(&view)?;
    }
    print_summary(&view.summary)?;
    Ok(exit::OK)
}

/// A folder where every patch found nothing and no Django file exists is not a Django project:
/// said so, exit 2, rather than a list of "not found" lines ending in success.
fn not_a_django_project(view: &PlanView<'_>) -> Option<i32> {
    if !super::root::is_not_a_django_project(view.project, view.plan) {
        return None;
    }
    say!(
        "error: no Django project in {}: no manage.py, settings, WSGI/ASGI module, gunicorn start or nginx configuration \
         found (run scalepatch in the project, or give its folder as PATH)",
        view.project.root().display()
    );
    Some(exit::USAGE)
}

/// `diff`: the dry run, printed in the chosen format; exit 1 with `--check` when changes are
/// pending, 2 when some input could not be read.
pub fn diff(
    project: &Project,
    patches: &[&'static dyn Patch],
    check: bool,
    output: Output,
    verify: Option<Mode>,
) -> Result<i32> {
    let plan = Plan::build(project, patches);
    let changes: Vec<_> = plan.changes().collect();
    let updates = file_updates(project, &changes)?;
    let view = PlanView::new("diff", project, &plan, &updates);
    if let Some(code) = not_a_django_project(&view) {
        return Ok(code);
    }
    crate::output::printer(output.format, output.quiet).print_plan(&view)?;
    let verified = match verify {
        Some(mode) => print_verify(project, &updates, mode)?,
        None => true,
    };
    print_summary(&view.summary)?;
    Ok(if !verified || plan.has_errors() {
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

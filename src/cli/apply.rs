//! `apply`: plan, review, write the accepted changes as one journaled run, say what to verify.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::args::Format;
use super::exit;
use super::plan::Output;
use crate::engine::outcome::Outcome;
use crate::engine::patch::Patch;
use crate::engine::plan::{Plan, file_updates};
use crate::engine::review::{Proposal, Reviewer, Verdict};
use crate::journal::Journal;
use crate::output::PlanView;
use crate::output::text::{print_notes, print_other_outcomes, print_problems, print_summary};
use crate::project::Project;

/// `apply`: plan, review, write the accepted changes as one journaled run, and say what to check.
pub fn apply(
    project: &Project,
    patches: &[&'static dyn Patch],
    reviewer: &mut dyn Reviewer,
    interactive: bool,
    output: Output,
    verify: Option<crate::engine::verify::Mode>,
) -> Result<i32> {
    let plan = Plan::build(project, patches);
    let planned: Vec<_> = plan.changes().collect();
    let all_updates = file_updates(project, &planned)?;
    let view = PlanView::new("apply", project, &plan, &all_updates);
    if super::root::is_not_a_django_project(project, &plan) {
        say!(
            "error: no Django project in {}: nothing found to change (give the project's folder as PATH)",
            project.root().display()
        );
        return Ok(exit::USAGE);
    }
    let json = output.format == Format::Json;
    if plan.has_errors() {
        if !json {
            print_notes(&plan)?;
        }
        say!(
            "error: some input cannot be read (see the errors above); nothing was written. \
             Fix it, or leave that patch out with --skip ID"
        );
        return finish(&view, None, exit::USAGE, json);
    }
    let proposals = proposals(&plan);
    match (json, output.quiet, interactive) {
        (true, _, _) => {}
        (false, true, _) => print_problems(&plan)?,
        // The review shows each change; what is not a change (ok, skipped, warnings) is said first.
        (false, false, true) if !proposals.is_empty() => print_other_outcomes(&plan)?,
        (false, false, _) => print_notes(&plan)?,
    }
    if proposals.is_empty() {
        if !json {
            writeln!(std::io::stdout(), "nothing to do: every selected patch is already applied or does not apply")?;
        }
        return finish(&view, None, exit::OK, json);
    }
    let accepted = match reviewer.review(project, &proposals)? {
        Verdict::Quit => {
            say!("quit: nothing was written");
            return Ok(exit::QUIT);
        }
        Verdict::Apply(accepted) => accepted,
    };
    if accepted.is_empty() {
        writeln!(std::io::stdout(), "no change accepted; nothing was written")?;
        print_summary(&view.summary)?;
        return Ok(exit::OK);
    }
    write_accepted(&view, &proposals, &accepted, json, verify)
}

/// Writes the accepted proposals as one journaled run (after `--verify`, when asked) and reports
/// it: the files, the verify commands, the undo command, the `.dockerignore` hint.
fn write_accepted(
    view: &PlanView<'_>,
    proposals: &[Proposal<'_>],
    accepted: &[usize],
    json: bool,
    verify: Option<crate::engine::verify::Mode>,
) -> Result<i32> {
    let project = view.project;
    let changes: Vec<&crate::engine::outcome::Change> = accepted.iter().map(|&index| proposals[index].change).collect();
    let updates = file_updates(project, &changes)?;
    if let Some(mode) = verify
        && !super::plan::print_verify(project, &updates, mode)?
    {
        say!("error: a real tool refuses the patched tree (see above); nothing was written");
        return Ok(exit::USAGE);
    }
    let mut applied_patches: Vec<&'static dyn Patch> = Vec::new();
    for &index in accepted {
        let patch = proposals[index].patch;
        if !applied_patches.iter().any(|p| p.id() == patch.id()) {
            applied_patches.push(patch);
        }
    }
    let ids: Vec<&str> = applied_patches.iter().map(|patch| patch.id()).collect();

    let mut journal = Journal::open(project.root())?;
    super::journal::print_journal_notes(&journal);
    let manifest = journal.apply(&updates, &ids)?;

    let verify_lines = verify_commands(project, &applied_patches, accepted, proposals);
    let hint = super::dockerignore::hint(project);
    let report = if json {
        let run = run_document(project, &manifest, &verify_lines, hint.as_ref());
        finish(view, Some(run), exit::OK, true).map(|_| ()).map_err(into_io)
    } else {
        print_applied(project, &manifest, &applied_patches, &verify_lines, hint.as_ref())
            .and_then(|()| print_summary(&crate::output::report::summary(&view.entries, &updates)))
    };
    Ok(after_write(report, "applied", &manifest.run_id, project.root()))
}

/// An error of the JSON report as the io error [`after_write`] judges (a broken pipe stays one).
fn into_io(err: anyhow::Error) -> std::io::Error {
    match err.downcast::<std::io::Error>() {
        Ok(io) => io,
        Err(other) => std::io::Error::other(other.to_string()),
    }
}

/// Every change of the plan, with its patch, in plan order.
fn proposals(plan: &Plan) -> Vec<Proposal<'_>> {
    plan.reports
        .iter()
        .flat_map(|report| {
            report.outcomes.iter().filter_map(move |outcome| match outcome {
                Outcome::Change(change) => Some(Proposal { patch: report.patch, change }),
                _ => None,
            })
        })
        .collect()
}

/// Ends a run: with `--format json`, the one document (the plan, and the run when files were
/// written); the summary line on stderr in every format.
fn finish(view: &PlanView<'_>, run: Option<serde_json::Value>, code: i32, json: bool) -> Result<i32> {
    if json {
        let mut document = crate::output::json::plan_document(view);
        document["run"] = run.unwrap_or(serde_json::Value::Null);
        crate::output::json::print(&document)?;
    }
    print_summary(&view.summary)?;
    Ok(code)
}

/// The `run` part of `apply --format json`.
fn run_document(
    project: &Project,
    manifest: &crate::journal::Manifest,
    verify: &[VerifyLine],
    hint: Option<&super::dockerignore::Hint>,
) -> serde_json::Value {
    let files: Vec<serde_json::Value> = manifest
        .files
        .iter()
        .map(|r| {
            let action = match r.action {
                crate::journal::Action::Modify => "modify",
                crate::journal::Action::Create => "create",
            };
            serde_json::json!({"path": r.path, "action": action})
        })
        .collect();
    let verify: Vec<serde_json::Value> = verify
        .iter()
        .map(|line| serde_json::json!({"command": line.command, "patches": line.patches, "runs": line.runs}))
        .collect();
    serde_json::json!({
        "run_id": manifest.run_id,
        "patches": manifest.patches,
        "files": files,
        "verify": verify,
        "undo": undo_command(project, &manifest.run_id),
        "dockerignore": hint.map(|hint| serde_json::json!({"file": hint.file, "line": hint.line, "why": hint.why})),
    })
}

/// `scalepatch revert ROOT RUN_ID`, the root quoted for the shell.
fn undo_command(project: &Project, run_id: &str) -> String {
    format!("scalepatch revert {} {run_id}", shell_quote(&project.root().to_string_lossy()))
}

/// A word the shell reads back as `text`: as is when it holds only safe characters, else in single quotes.
pub fn shell_quote(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// A command that confirms applied changes: a complete command line, the patches it checks, and
/// what it runs when the line does not say it itself.
pub struct VerifyLine {
    pub command: String,
    pub patches: Vec<&'static str>,
    pub runs: Option<String>,
}

/// The commands that confirm the applied changes, each a complete command line, once however many
/// patches it checks: the changes' own commands (they name this project's files and modules), else
/// the patch's generic ones. A project command runs from the root (`cd ROOT && ...`); a
/// description that is not a command (gunicorn's resolved settings depend on the start's whole
/// command line and environment) becomes `scalepatch diff ROOT --verify`, which runs
/// `gunicorn --print-config` exactly so.
fn verify_commands(
    project: &Project,
    applied_patches: &[&'static dyn Patch],
    accepted: &[usize],
    proposals: &[Proposal<'_>],
) -> Vec<VerifyLine> {
    let root = shell_quote(&project.root().to_string_lossy());
    let mut lines: Vec<VerifyLine> = Vec::new();
    for patch in applied_patches {
        let own = accepted.iter().map(|&i| proposals[i].change).filter(|c| c.patch == patch.id());
        let mut commands: Vec<String> = own.flat_map(|change| change.verify.iter().cloned()).collect();
        if commands.is_empty() {
            commands = patch.verify().iter().map(|c| (*c).to_owned()).collect();
        }
        for described in commands {
            let (command, runs) = if described.contains(" with the ") || described.contains('<') {
                (format!("scalepatch diff {root} --verify --quiet"), Some(described))
            } else if described.starts_with("python manage.py") {
                (format!("cd {root} && {described}"), None)
            } else {
                (described, None)
            };
            match lines.iter_mut().find(|line| line.command == command && line.runs == runs) {
                Some(line) if !line.patches.contains(&patch.id()) => line.patches.push(patch.id()),
                Some(_) => {}
                None => lines.push(VerifyLine { command, patches: vec![patch.id()], runs }),
            }
        }
    }
    lines
}

/// What `apply` says once its files are written: the run, the files, what to verify, how to undo.
fn print_applied(
    project: &Project,
    manifest: &crate::journal::Manifest,
    applied_patches: &[&'static dyn Patch],
    verify: &[VerifyLine],
    hint: Option<&super::dockerignore::Hint>,
) -> std::io::Result<()> {
    let ids: Vec<&str> = applied_patches.iter().map(|patch| patch.id()).collect();
    let mut out = anstream::stdout().lock();
    writeln!(out, "applied run {} ({})", manifest.run_id, ids.join(", "))?;
    writeln!(out, "files changed:")?;
    for record in &manifest.files {
        let mark = match record.action {
            crate::journal::Action::Modify => "modified",
            crate::journal::Action::Create => "created ",
        };
        writeln!(out, "  {mark} {}", record.path.display())?;
    }
    writeln!(out, "verify:")?;
    for line in verify {
        let runs = line.runs.as_deref().map(|runs| format!(": {runs}")).unwrap_or_default();
        writeln!(out, "  {}  # {}{runs}", line.command, line.patches.join(", "))?;
    }
    writeln!(out, "undo with: {}", undo_command(project, &manifest.run_id))?;
    if let Some(hint) = hint {
        writeln!(out, "note: {}; add this line to {}:\n  {}", hint.why, hint.file.display(), hint.line)?;
    }
    Ok(())
}

/// The exit code once a run's files are written, whatever printing its report did: a broken pipe
/// (`| head`) is no failure; any other error is said on stderr with the run id and exit 4, since
/// the project *was* changed and a code that claims otherwise would lie.
pub fn after_write(report: std::io::Result<()>, done: &str, run_id: &str, root: &Path) -> i32 {
    match report {
        Ok(()) => exit::OK,
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(err) => {
            say!(
                "error: run {run_id} was {done} (every file is written; `scalepatch status {}` shows them), but printing its report failed: {err}",
                root.display()
            );
            exit::PARTIAL
        }
    }
}

//! `apply`: plan, review, write the accepted changes as one journaled run, say what to verify.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::exit;
use crate::engine::outcome::Outcome;
use crate::engine::patch::Patch;
use crate::engine::plan::{Plan, file_updates};
use crate::engine::review::{Proposal, Reviewer, Verdict};
use crate::journal::Journal;
use crate::output::text::{print_notes, print_other_outcomes};
use crate::project::Project;

/// `apply`: plan, review, write the accepted changes as one journaled run, and say what to check.
pub fn apply(
    project: &Project,
    patches: &[&'static dyn Patch],
    reviewer: &mut dyn Reviewer,
    notes: bool,
    verify: Option<crate::engine::verify::Mode>,
) -> Result<i32> {
    let plan = Plan::build(project, patches);
    if plan.has_errors() {
        print_notes(&plan)?;
        say!(
            "error: some input cannot be read (see the errors above); nothing was written. \
             Fix it, or leave that patch out with --skip ID"
        );
        return Ok(exit::USAGE);
    }
    let proposals: Vec<Proposal<'_>> = plan
        .reports
        .iter()
        .flat_map(|report| {
            report.outcomes.iter().filter_map(move |outcome| match outcome {
                Outcome::Change(change) => Some(Proposal { patch: report.patch, change }),
                _ => None,
            })
        })
        .collect();
    if notes || proposals.is_empty() {
        print_notes(&plan)?;
    } else {
        // The review shows each change; what is not a change (ok, skipped, warnings) is said first.
        print_other_outcomes(&plan)?;
    }
    if proposals.is_empty() {
        writeln!(std::io::stdout(), "nothing to do: every selected patch is already applied or does not apply")?;
        return Ok(exit::OK);
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
        return Ok(exit::OK);
    }
    let changes: Vec<&crate::engine::outcome::Change> = accepted.iter().map(|&index| proposals[index].change).collect();
    let updates = file_updates(project, &changes)?;
    if let Some(mode) = verify
        && !super::plan::print_verify(project, &updates, mode)?
    {
        say!("error: a real tool refuses the patched tree (see above); nothing was written");
        return Ok(exit::USAGE);
    }
    let mut applied_patches: Vec<&'static dyn Patch> = Vec::new();
    for &index in &accepted {
        let patch = proposals[index].patch;
        if !applied_patches.iter().any(|p| p.id() == patch.id()) {
            applied_patches.push(patch);
        }
    }
    let ids: Vec<&str> = applied_patches.iter().map(|patch| patch.id()).collect();

    let mut journal = Journal::open(project.root())?;
    super::journal::print_journal_notes(&journal);
    let manifest = journal.apply(&updates, &ids)?;

    let report = print_applied(project, &manifest, &applied_patches, &accepted, &proposals);
    Ok(after_write(report, "applied", &manifest.run_id, project.root()))
}

/// What `apply` says once its files are written: the run, the files, what to verify, how to undo.
fn print_applied(
    project: &Project,
    manifest: &crate::journal::Manifest,
    applied_patches: &[&'static dyn Patch],
    accepted: &[usize],
    proposals: &[Proposal<'_>],
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
    for patch in applied_patches {
        // The changes' own commands name this project's files and modules; the patch's generic
        // command is the fallback when its changes name none.
        let mut commands: Vec<String> = Vec::new();
        for &index in accepted {
            let change = proposals[index].change;
            if change.patch == patch.id() {
                for command in &change.verify {
                    if !commands.contains(command) {
                        commands.push(command.clone());
                    }
                }
            }
        }
        if commands.is_empty() {
            commands = patch.verify().iter().map(|c| (*c).to_owned()).collect();
        }
        for command in commands {
            writeln!(out, "  {}: {command}", patch.id())?;
        }
    }
    writeln!(out, "undo with: scalepatch revert {} {}", project.root().display(), manifest.run_id)?;
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

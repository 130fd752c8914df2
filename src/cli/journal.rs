//! The commands that read or finish the journal: `status`, `revert`, `recover`, and the report of
//! interrupted runs the read-only commands print.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::apply::after_write;
use super::args::Format;
use super::exit;
use crate::journal::{FileState, Journal, RunState};

/// For the read-only commands: says on stderr which runs a crash left half-done, and the
/// command that finishes them. Reads the journal without the lock and writes nothing; a journal
/// that cannot be read is a warning, not a reason to refuse a dry run.
pub fn report_journal(path: &Path) {
    match Journal::open_read_only(path).and_then(|journal| journal.map(|j| j.interrupted()).transpose()) {
        Ok(reports) => reports.into_iter().flatten().for_each(|report| say!("scalepatch: {report}")),
        Err(err) => say!("scalepatch: warning: the journal in {} is not usable: {err}", path.display()),
    }
}

/// `recover`: finish what interrupted runs left half-done.
pub fn recover(path: &Path) -> Result<i32> {
    match Journal::open_existing(path)? {
        Some(journal) if !journal.notes.is_empty() => print_journal_notes(&journal),
        _ => writeln!(std::io::stdout(), "nothing to recover in {}", path.display())?,
    }
    Ok(exit::OK)
}

pub fn print_journal_notes(journal: &Journal) {
    for note in &journal.notes {
        say!("scalepatch: {note}");
    }
}

/// `revert`: undo a run, all or nothing.
pub fn revert(path: &Path, run_id: Option<&str>) -> Result<i32> {
    let mut journal = match Journal::open_existing(path)? {
        Some(journal) => journal,
        None => {
            say!("error: no scalepatch runs in {} (no .scalepatch folder): nothing to revert", path.display());
            return Ok(exit::USAGE);
        }
    };
    print_journal_notes(&journal);
    let report = journal.revert(run_id)?;
    let printed = print_reverted(&report);
    Ok(after_write(printed, "reverted", &report.run_id, journal.root()))
}

/// What `revert` says once its files are written.
fn print_reverted(report: &crate::journal::RevertReport) -> std::io::Result<()> {
    let mut out = anstream::stdout().lock();
    writeln!(out, "reverted run {}", report.run_id)?;
    for path in &report.restored {
        writeln!(out, "  restored {}", path.display())?;
    }
    for path in &report.merged {
        writeln!(out, "  merged   {} (this run's hunks taken out, your later edits kept)", path.display())?;
    }
    for path in &report.removed {
        writeln!(out, "  removed  {} (created by the run)", path.display())?;
    }
    for path in &report.unchanged {
        writeln!(out, "  already  {} (already as before the run)", path.display())?;
    }
    Ok(())
}

/// `status`: every run and where each of its files stands.
pub fn status(path: &Path, format: Format) -> Result<i32> {
    if !matches!(format, Format::Text | Format::Json) {
        return Err(super::UsageError("status prints text or json".into()).into());
    }
    let Some(journal) = Journal::open_read_only(path)? else {
        if format == Format::Json {
            let root = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
            crate::output::json::print(&crate::output::json::status_document(&root, &[]))?;
        } else {
            writeln!(std::io::stdout(), "no scalepatch runs in {}", path.display())?;
        }
        return Ok(exit::OK);
    };
    for report in journal.interrupted()? {
        say!("scalepatch: {report}");
    }
    let runs = journal.status()?;
    if format == Format::Json {
        crate::output::json::print(&crate::output::json::status_document(journal.root(), &runs))?;
        return Ok(exit::OK);
    }
    let mut out = anstream::stdout().lock();
    if runs.is_empty() {
        writeln!(out, "no scalepatch runs in {}", path.display())?;
    }
    for run in &runs {
        let manifest = &run.manifest;
        let state = match (manifest.state, &manifest.reverted_time) {
            (RunState::Reverted, Some(time)) => format!("reverted {time}"),
            (state, _) => state.as_str().to_owned(),
        };
        writeln!(out, "run {}  {}  {}  {}", manifest.run_id, manifest.time, state, manifest.patches.join(", "))?;
        for (path, file_state) in &run.files {
            let label = match (manifest.state, file_state) {
                (RunState::RolledBack, FileState::Reverted) => "rolled back",
                (_, state) => state.as_str(),
            };
            writeln!(out, "  {label:<12} {}", path.display())?;
        }
    }
    Ok(exit::OK)
}

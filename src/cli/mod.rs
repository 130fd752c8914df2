//! The command line: `list`, `diff`, `apply`, `revert`, `status`, `recover`. Names, flags and exit codes are
//! a public contract (see the README).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::outcome::Outcome;
use crate::engine::patch::Patch;
use crate::engine::plan::{Plan, file_updates};
use crate::engine::review::{AcceptAll, Interactive, Proposal, Reviewer, Verdict};
use crate::journal::{FileState, Journal, JournalError, RunState};
use crate::project::Project;
use crate::project::config::{Config, Values};

/// Exit codes (a public contract).
pub mod exit {
    pub const OK: i32 = 0;
    pub const PENDING: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const FAILED: i32 = 3;
    /// A write failed and the project is left partly changed (the message names the run and
    /// the command that finishes it).
    pub const PARTIAL: i32 = 4;
    pub const QUIT: i32 = 130;
}

#[derive(Parser, Debug)]
#[command(name = "scalepatch", version, about = "Apply the Phase 1 scaling quick wins to a Django deployment")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Every patch in the catalog and its outcome on PATH.
    List {
        #[arg(default_value = ".")]
        path: PathBuf,
        #[command(flatten)]
        values: ValueArgs,
    },
    /// The dry run: a unified diff on stdout, notes on stderr.
    Diff {
        #[arg(default_value = ".")]
        path: PathBuf,
        #[command(flatten)]
        selection: Selection,
        #[command(flatten)]
        values: ValueArgs,
        /// Exit 1 when any change is pending.
        #[arg(long)]
        check: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Review each change (or take them all with --yes) and write the accepted ones as one
    /// journaled, revertible run.
    Apply {
        #[arg(default_value = ".")]
        path: PathBuf,
        #[command(flatten)]
        selection: Selection,
        #[command(flatten)]
        values: ValueArgs,
        /// Apply every change without asking (needed when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Undo the last applied run (or RUN_ID), keeping edits made since to other lines.
    Revert {
        /// The project (a lone argument that is not a folder is taken as RUN_ID).
        #[arg(default_value = ".")]
        path: PathBuf,
        /// The run to revert (see `status`); default: the newest applied run.
        run_id: Option<String>,
    },
    /// The applied runs and, for each of their files, whether it is as applied, edited since, or reverted.
    Status {
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// Finish what an interrupted run left half-done (a crash, a failed rollback): put the files back.
    Recover {
        #[arg(default_value = ".")]
        path: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// Which patches to run.
#[derive(Args, Debug, Clone, Default)]
pub struct Selection {
    /// The phase to apply (only phase 1 exists).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=1))]
    pub phase: Option<u8>,
    /// Only these patches (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Add optional patches (db-indexes).
    #[arg(long, value_delimiter = ',')]
    pub with: Vec<String>,
    /// Leave these patches out.
    #[arg(long, value_delimiter = ',')]
    pub skip: Vec<String>,
}

/// Values that change the plan (also read from scalepatch.toml / [tool.scalepatch]).
#[derive(Args, Debug, Clone, Default)]
pub struct ValueArgs {
    /// CPUs of the production container (default: the deployment's limit, else 2).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub cpus: Option<u32>,
    /// Instances running the web service, for the database connection budget.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub instances: Option<u32>,
}

impl ValueArgs {
    fn values(&self) -> Values {
        Values { cpus: self.cpus, instances: self.instances }
    }
}

/// A user error: printed as is, exit 2, nothing written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl Selection {
    /// The selected patches, in catalog order. Unknown ids are a usage error listing the valid ones.
    pub fn resolve(&self) -> Result<Vec<&'static dyn Patch>, UsageError> {
        let ids = crate::patches::ids();
        for id in self.only.iter().chain(&self.with).chain(&self.skip) {
            if crate::patches::by_id(id).is_none() {
                return Err(UsageError(format!("unknown patch id `{id}`; valid ids: {}", ids.join(", "))));
            }
        }
        let chosen = |patch: &&dyn Patch| {
            let id = patch.id().to_owned();
            let wanted = if self.only.is_empty() {
                patch.in_phase_1() || self.with.contains(&id)
            } else {
                self.only.contains(&id)
            };
            wanted && !self.skip.contains(&id)
        };
        Ok(crate::patches::ALL.iter().copied().filter(chosen).collect())
    }
}

/// Writes a line to stderr, never panicking: a closed or full stderr must not turn an answer into
/// a crash (exit 101); the exit code still tells what happened.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Runs the command line and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { exit::USAGE } else { exit::OK };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => exit::OK,
        Err(err) => {
            say!("error: {err:#}");
            err.downcast_ref::<JournalError>().map_or(exit::USAGE, JournalError::exit_code)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn open(path: &std::path::Path, values: &ValueArgs) -> Result<Project> {
    let config = Config::load(path, &values.values())?;
    Project::open(path, config)
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::List { path, values } => {
            report_journal(&path);
            list(&open(&path, &values)?)
        }
        Command::Diff { path, selection, values, check, format } => {
            let patches = selection.resolve()?;
            report_journal(&path);
            diff(&open(&path, &values)?, &patches, check, format)
        }
        Command::Apply { path, selection, values, yes } => {
            let patches = selection.resolve()?;
            if !yes && !Interactive::available() {
                say!(
                    "error: apply reviews each change on a terminal, and stdin (or stderr) is not one; pass --yes to apply every change without review (nothing was written)"
                );
                return Ok(exit::USAGE);
            }
            let project = open(&path, &values)?;
            if yes {
                apply(&project, &patches, &mut AcceptAll, true)
            } else {
                apply(&project, &patches, &mut Interactive::new(), false)
            }
        }
        Command::Revert { path, run_id } => {
            let (path, run_id) = match run_id {
                None if !path.is_dir() && path.components().count() == 1 => {
                    (PathBuf::from("."), Some(path.to_string_lossy().into_owned()))
                }
                _ => (path, run_id),
            };
            if let Some(id) = run_id.as_deref().filter(|id| !crate::journal::is_run_id(id)) {
                let id = id.escape_debug();
                return Err(UsageError(format!("`{id}` is not a run id (they look like 20261126-184142-3fa2)")).into());
            }
            revert(&path, run_id.as_deref())
        }
        Command::Status { path } => status(&path),
        Command::Recover { path } => recover(&path),
    }
}

/// For the read-only commands: says on stderr which runs a crash left half-done, and the
/// command that finishes them. Reads the journal without the lock and writes nothing; a journal
/// that cannot be read is a warning, not a reason to refuse a dry run.
fn report_journal(path: &Path) {
    match Journal::open_read_only(path).and_then(|journal| journal.map(|j| j.interrupted()).transpose()) {
        Ok(reports) => reports.into_iter().flatten().for_each(|report| say!("scalepatch: {report}")),
        Err(err) => say!("scalepatch: warning: the journal in {} is not usable: {err}", path.display()),
    }
}

/// `recover`: finish what interrupted runs left half-done.
fn recover(path: &Path) -> Result<i32> {
    match Journal::open_existing(path)? {
        Some(journal) if !journal.notes.is_empty() => print_journal_notes(&journal),
        _ => writeln!(std::io::stdout(), "nothing to recover in {}", path.display())?,
    }
    Ok(exit::OK)
}

fn print_journal_notes(journal: &Journal) {
    for note in &journal.notes {
        say!("scalepatch: {note}");
    }
}

fn list(project: &Project) -> Result<i32> {
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

/// Prints the notes of a plan on stderr: every outcome with its reason, and each change's why.
pub fn print_notes(plan: &Plan) -> Result<()> {
    // Plain text, buffered: a large plan has thousands of lines, one write each would dominate.
    let mut err = std::io::BufWriter::new(std::io::stderr().lock());
    for report in &plan.reports {
        for outcome in &report.outcomes {
            writeln!(err, "{} [{}] {}", report.patch.id(), outcome.label(), outcome.describe())?;
            if let Outcome::Change(change) = outcome {
                writeln!(err, "    why: {}", change.why)?;
                for assumption in &change.assumptions {
                    writeln!(err, "    assumed: {assumption}")?;
                }
            }
        }
    }
    err.flush()?;
    Ok(())
}

fn diff(project: &Project, patches: &[&'static dyn Patch], check: bool, format: Format) -> Result<i32> {
    let plan = Plan::build(project, patches);
    let changes: Vec<_> = plan.changes().collect();
    let updates = file_updates(project, &changes)?;
    match format {
        Format::Text => {
            print_notes(&plan)?;
            // Coloured on a terminal only (not for pipes, NO_COLOR or CLICOLOR=0), so what
            // `git apply` reads is always plain; decided once rather than stripped line by line.
            let color = anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            out.write_all(crate::output::diff::render_all(&updates, color).as_bytes())?;
            out.flush()?;
        }
        Format::Json => {
            let json = serde_json::json!({
                "root": project.root(),
                "patches": plan.reports.iter().map(|r| serde_json::json!({
                    "id": r.patch.id(),
                    "quick_win": r.patch.quick_win(),
                    "title": r.patch.title(),
                    "outcomes": r.outcomes,
                })).collect::<Vec<_>>(),
                "diff": crate::output::diff::render_all(&updates, false),
            });
            // Serialised first: an io error inside serde_json would hide a broken pipe.
            let text = serde_json::to_string_pretty(&json)?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}")?;
        }
    }
    Ok(if plan.has_errors() {
        exit::USAGE
    } else if check && !updates.is_empty() {
        exit::PENDING
    } else {
        exit::OK
    })
}

/// `apply`: plan, review, write the accepted changes as one journaled run, and say what to check.
fn apply(project: &Project, patches: &[&'static dyn Patch], reviewer: &mut dyn Reviewer, notes: bool) -> Result<i32> {
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
        let mut err = anstream::stderr().lock();
        for report in &plan.reports {
            for outcome in report.outcomes.iter().filter(|o| !matches!(o, Outcome::Change(_))) {
                writeln!(err, "{} [{}] {}", report.patch.id(), outcome.label(), outcome.describe())?;
            }
        }
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
    let mut applied_patches: Vec<&'static dyn Patch> = Vec::new();
    for &index in &accepted {
        let patch = proposals[index].patch;
        if !applied_patches.iter().any(|p| p.id() == patch.id()) {
            applied_patches.push(patch);
        }
    }
    let ids: Vec<&str> = applied_patches.iter().map(|patch| patch.id()).collect();

    let mut journal = Journal::open(project.root())?;
    print_journal_notes(&journal);
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
fn after_write(report: std::io::Result<()>, done: &str, run_id: &str, root: &Path) -> i32 {
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

/// `revert`: undo a run, all or nothing.
fn revert(path: &Path, run_id: Option<&str>) -> Result<i32> {
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
fn status(path: &Path) -> Result<i32> {
    let Some(journal) = Journal::open_read_only(path)? else {
        writeln!(std::io::stdout(), "no scalepatch runs in {}", path.display())?;
        return Ok(exit::OK);
    };
    for report in journal.interrupted()? {
        say!("scalepatch: {report}");
    }
    let runs = journal.status()?;
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

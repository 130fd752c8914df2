//! The command line: `list`, `diff`, `apply`, `revert`, `status`. Names, flags and exit codes are
//! a public contract (see the README).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::change::Outcome;
use crate::config::{Config, Values};
use crate::patch::Patch;
use crate::plan::{Plan, file_updates};
use crate::project::Project;

/// Exit codes (a public contract).
pub mod exit {
    pub const OK: i32 = 0;
    pub const PENDING: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const FAILED: i32 = 3;
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
            eprintln!("error: {err:#}");
            exit::USAGE
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
        Command::List { path, values } => list(&open(&path, &values)?),
        Command::Diff { path, selection, values, check, format } => {
            let patches = selection.resolve()?;
            diff(&open(&path, &values)?, &patches, check, format)
        }
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
    let mut err = anstream::stderr().lock();
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
    Ok(())
}

fn diff(project: &Project, patches: &[&'static dyn Patch], check: bool, format: Format) -> Result<i32> {
    let plan = Plan::build(project, patches);
    let changes: Vec<_> = plan.changes().collect();
    let updates = file_updates(project, &changes)?;
    match format {
        Format::Text => {
            print_notes(&plan)?;
            let mut out = std::io::stdout().lock();
            out.write_all(crate::diff::render_all(&updates, false).as_bytes())?;
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
                "diff": crate::diff::render_all(&updates, false),
            });
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &json)?;
            writeln!(out)?;
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

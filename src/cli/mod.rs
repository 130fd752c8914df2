//! The command line: `list`, `diff`, `apply`, `revert`, `status`, `recover`. Names, flags and exit codes are
//! a public contract (see the README).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;

use crate::engine::review::{AcceptAll, Interactive};
use crate::journal::JournalError;
use crate::project::Project;
use crate::project::config::Config;

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

/// Writes a line to stderr, never panicking: a closed or full stderr must not turn an answer into
/// a crash (exit 101); the exit code still tells what happened.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod apply;
mod args;
mod journal;
mod plan;

pub use args::{Cli, Command, Format, Selection, UsageError, ValueArgs, VerifyArg, VerifyMode};

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
    let mut config = Config::load(path, &values.values())?;
    config.host_cpus = values.host_cpus;
    config.allow_over_budget = values.allow_over_budget;
    Project::open(path, config)
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::List { path, values } => {
            journal::report_journal(&path);
            plan::list(&open(&path, &values)?)
        }
        Command::Diff { path, selection, values, check, format, verify } => {
            let patches = selection.resolve()?;
            journal::report_journal(&path);
            plan::diff(&open(&path, &values)?, &patches, check, format, verify.mode())
        }
        Command::Apply { path, selection, values, yes, verify } => {
            let patches = selection.resolve()?;
            if !yes && !Interactive::available() {
                say!(
                    "error: apply reviews each change on a terminal, and stdin (or stderr) is not one; pass --yes to apply every change without review (nothing was written)"
                );
                return Ok(exit::USAGE);
            }
            let project = open(&path, &values)?;
            if yes {
                apply::apply(&project, &patches, &mut AcceptAll, true, verify.mode())
            } else {
                apply::apply(&project, &patches, &mut Interactive::new(), false, verify.mode())
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
            journal::revert(&path, run_id.as_deref())
        }
        Command::Status { path } => journal::status(&path),
        Command::Recover { path } => journal::recover(&path),
    }
}

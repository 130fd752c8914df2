//! The command line: `list`, `diff`, `apply`, `revert`, `status`, `recover`. Names, flags and exit codes are
//! a public contract (see the README).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::engine::review::AcceptAll;
use crate::journal::JournalError;
use crate::project::Project;
use crate::project::config::Config;
use review::Interactive;

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
mod dockerignore;
mod journal;
mod plan;
mod review;
pub mod root;

pub use args::{Cli, ColorWhen, Command, Format, Selection, UsageError, ValueArgs, VerifyArg, VerifyMode};

/// The command line's definition, with what only the catalog knows (the patch ids) in its help.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let ids: Vec<String> = crate::patches::ALL
        .iter()
        .map(|patch| {
            let optional = if patch.in_phase_1() { "" } else { " (optional, --with)" };
            format!("  {:<27} {} {}{optional}", patch.id(), patch.quick_win(), patch.title())
        })
        .collect();
    Cli::command().after_help(format!(
        "PATH defaults to the project root: from the current folder up, the nearest folder holding \
         scalepatch.toml, else pyproject.toml or .git, else manage.py.\n\nPatches (ids for --only, --with, --skip):\n{}",
        ids.join("\n")
    ))
}

/// Runs the command line and returns the exit code.
pub fn main() -> i32 {
    use clap::FromArgMatches;
    let parsed = command().try_get_matches().and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { exit::USAGE } else { exit::OK };
        }
    };
    set_color(cli.color);
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

/// `--color`, then FORCE_COLOR (any value but empty or `0`) over the terminal check; NO_COLOR and
/// CLICOLOR are read by anstream itself when the choice stays automatic.
fn set_color(when: ColorWhen) {
    let forced = std::env::var_os("FORCE_COLOR").is_some_and(|value| !value.is_empty() && value != "0");
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let choice = match when {
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
        ColorWhen::Auto if forced && !no_color => anstream::ColorChoice::Always,
        ColorWhen::Auto => anstream::ColorChoice::Auto,
    };
    choice.write_global();
}

/// PATH, or the project root found from the current folder.
fn project_path(path: Option<PathBuf>) -> Result<PathBuf> {
    Ok(root::resolve(path, &root::current_dir()?))
}

fn open(path: &std::path::Path, values: &ValueArgs) -> Result<Project> {
    let mut config = Config::load(path, &values.values())?;
    config.host_cpus = values.host_cpus;
    config.allow_over_budget = values.allow_over_budget;
    Project::open(path, config)
}

fn run(cli: Cli) -> Result<i32> {
    let quiet = cli.quiet;
    match cli.command {
        Command::List { path, values, format } => {
            let path = project_path(path)?;
            journal::report_journal(&path);
            plan::list(&open(&path, &values)?, format, quiet)
        }
        Command::Diff { path, selection, values, check, format, verify } => {
            let patches = selection.resolve()?;
            let path = project_path(path)?;
            journal::report_journal(&path);
            let output = plan::Output { format, quiet };
            plan::diff(&open(&path, &values)?, &patches, check, output, verify.mode())
        }
        Command::Apply { path, selection, values, yes, format, verify } => {
            let patches = selection.resolve()?;
            if !yes && !Interactive::available() {
                say!(
                    "error: apply reviews each change on a terminal, and stdin (or stderr) is not one; pass --yes to apply every change without review (nothing was written)"
                );
                return Ok(exit::USAGE);
            }
            if !matches!(format, Format::Text | Format::Json) || (format == Format::Json && !yes) {
                return Err(UsageError("apply prints text, or json with --yes".into()).into());
            }
            let project = open(&project_path(path)?, &values)?;
            let output = plan::Output { format, quiet };
            if yes {
                apply::apply(&project, &patches, &mut AcceptAll, false, output, verify.mode())
            } else {
                apply::apply(&project, &patches, &mut Interactive::new(), true, output, verify.mode())
            }
        }
        Command::Revert { path, run_id } => {
            let (path, run_id) = match (path, run_id) {
                (Some(path), None) if !path.is_dir() && path.components().count() == 1 => {
                    (None, Some(path.to_string_lossy().into_owned()))
                }
                (path, run_id) => (path, run_id),
            };
            if let Some(id) = run_id.as_deref().filter(|id| !crate::journal::is_run_id(id)) {
                let id = id.escape_debug();
                return Err(UsageError(format!("`{id}` is not a run id (they look like 20261126-184142-3fa2)")).into());
            }
            journal::revert(&project_path(path)?, run_id.as_deref())
        }
        Command::Status { path, format } => journal::status(&project_path(path)?, format),
        Command::Recover { path } => journal::recover(&project_path(path)?),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command(), "scalepatch", &mut out);
            std::io::stdout().write_all(&out)?;
            Ok(exit::OK)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(command()).render(&mut out)?;
            std::io::stdout().write_all(&out)?;
            Ok(exit::OK)
        }
    }
}

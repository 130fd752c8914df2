//! The command line's words: subcommands, flags and how a selection of patches is resolved.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::patch::Patch;
pub use crate::output::Format;
use crate::project::config::Values;

#[derive(Parser, Debug)]
#[command(name = "scalepatch", version, about = "Apply the Phase 1 scaling quick wins to a Django deployment")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colours: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces them), always or never.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, global = true)]
    pub color: ColorWhen,
    /// Only errors, warnings and the summary line on stderr (the diff and machine formats unchanged).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Every patch in the catalog and its outcome on PATH.
    List {
        path: Option<PathBuf>,
        #[command(flatten)]
        values: ValueArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// The dry run: a unified diff on stdout, notes on stderr.
    Diff {
        path: Option<PathBuf>,
        #[command(flatten)]
        selection: Selection,
        #[command(flatten)]
        values: ValueArgs,
        /// Exit 1 when any change is pending (for pre-commit and CI).
        #[arg(long)]
        check: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        verify: VerifyArg,
    },
    /// Review each change (or take them all with --yes) and write the accepted ones as one
    /// journaled, revertible run.
    Apply {
        path: Option<PathBuf>,
        #[command(flatten)]
        selection: Selection,
        #[command(flatten)]
        values: ValueArgs,
        /// Apply every change without asking (needed when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// text, or json (with --yes: the plan and the run as one document).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        verify: VerifyArg,
    },
    /// Undo the last applied run (or RUN_ID), keeping edits made since to other lines.
    Revert {
        /// The project (a lone argument that is not a folder is taken as RUN_ID).
        path: Option<PathBuf>,
        /// The run to revert (see `status`); default: the newest applied run.
        run_id: Option<String>,
    },
    /// The applied runs and, for each of their files, whether it is as applied, edited since, or reverted.
    Status {
        path: Option<PathBuf>,
        /// text or json.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Finish what an interrupted run left half-done (a crash, a failed rollback): put the files back.
    Recover { path: Option<PathBuf> },
    /// A shell completion script on stdout (`scalepatch completions bash > ~/.local/share/bash-completion/completions/scalepatch`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The man page (roff) on stdout (`scalepatch man > ~/.local/share/man/man1/scalepatch.1`).
    Man,
}

/// `--verify[=django]`: run the installed real tools on the patched tree before anything is written.
#[derive(Args, Debug, Clone, Default)]
pub struct VerifyArg {
    /// Run the installed real tools on the patched tree in a temporary copy (nginx -t, gunicorn
    /// --print-config); `--verify=django` also imports each settings module (runs project code).
    /// A failure the plan brings: exit 2, nothing written.
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "tools")]
    pub verify: Option<VerifyMode>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum VerifyMode {
    /// nginx -t and gunicorn --print-config.
    Tools,
    /// The tools, and an import of each settings module with the project's interpreter.
    Django,
}

impl VerifyArg {
    /// The engine's mode, when asked for.
    pub fn mode(&self) -> Option<crate::engine::verify::Mode> {
        self.verify.map(|mode| match mode {
            VerifyMode::Tools => crate::engine::verify::Mode::Tools,
            VerifyMode::Django => crate::engine::verify::Mode::Django,
        })
    }
}

/// Which patches to run.
#[derive(Args, Debug, Clone, Default)]
pub struct Selection {
    /// The phase to apply (only phase 1 exists).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=1))]
    pub phase: Option<u8>,
    /// Only these patches (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_parser = patch_ids(), hide_possible_values = true)]
    pub only: Vec<String>,
    /// Add optional patches (db-indexes).
    #[arg(long, value_delimiter = ',', value_parser = patch_ids(), hide_possible_values = true)]
    pub with: Vec<String>,
    /// Leave these patches out.
    #[arg(long, value_delimiter = ',', value_parser = patch_ids(), hide_possible_values = true)]
    pub skip: Vec<String>,
}

/// The catalog's ids as clap's possible values: a mistyped id gets clap's "a similar value exists"
/// and the list of valid ids.
fn patch_ids() -> PossibleValuesParser {
    PossibleValuesParser::new(
        crate::patches::ALL.iter().map(|patch| PossibleValue::new(patch.id()).help(patch.title())),
    )
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
    /// CPUs of the host a `cpu_count()` / `$(nproc)` worker formula sees, for the connection
    /// budget (default: 8, said so).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub host_cpus: Option<u32>,
    /// Offer a change that takes the database connection budget above 100% (with a warning)
    /// instead of skipping it.
    #[arg(long)]
    pub allow_over_budget: bool,
}

impl ValueArgs {
    pub fn values(&self) -> Values {
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

//! What scalepatch prints about a plan. Every format is a [`Printer`] (as ast-grep's printers
//! are), so that the commands decide *what* to show and the printer only *how*: text for people,
//! JSON as a documented contract (docs/schema/), GitHub workflow annotations and SARIF 2.1.0 for CI.
//! Every machine format reads the same [`report::Entry`] list, so they cannot disagree.

pub mod diff;
pub mod github;
pub mod json;
pub mod report;
pub mod sarif;
pub mod text;

use std::io;

use crate::engine::plan::Plan;
use crate::project::Project;
use crate::text::update::FileUpdate;

/// A plan ready to print: the plan, its file updates, and its outcomes as entries with ids.
pub struct PlanView<'a> {
    /// `list`, `diff` or `apply`.
    pub command: &'static str,
    pub project: &'a Project,
    pub plan: &'a Plan,
    pub updates: &'a [FileUpdate],
    pub entries: Vec<report::Entry>,
    pub summary: report::Summary,
}

impl<'a> PlanView<'a> {
    pub fn new(command: &'static str, project: &'a Project, plan: &'a Plan, updates: &'a [FileUpdate]) -> PlanView<'a> {
        let entries = report::entries(project, plan);
        let summary = report::summary(&entries, updates);
        PlanView { command, project, plan, updates, entries, summary }
    }
}

/// Prints a plan: its outcomes and the diff of its file updates.
pub trait Printer {
    fn print_plan(&mut self, view: &PlanView<'_>) -> io::Result<()>;
}

/// The output formats (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Notes on stderr, the diff on stdout.
    Text,
    /// One JSON document on stdout (docs/schema/scalepatch.schema.json).
    Json,
    /// GitHub Actions workflow annotations on stdout (`::warning file=...,line=...::`).
    Github,
    /// One SARIF 2.1.0 log on stdout (code scanning).
    Sarif,
}

/// The printer of a format; `quiet` keeps the text format's notes to errors and warnings.
pub fn printer(format: Format, quiet: bool) -> Box<dyn Printer> {
    match format {
        Format::Text => Box::new(text::TextPrinter { quiet }),
        Format::Json => Box::new(json::JsonPrinter),
        Format::Github => Box::new(github::GithubPrinter),
        Format::Sarif => Box::new(sarif::SarifPrinter),
    }
}

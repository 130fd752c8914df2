//! The human format: notes on stderr (every outcome with its reason, each change's why and
//! assumptions), the unified diff on stdout, so that `scalepatch diff > x.patch` gives `git apply`
//! exactly the diff; and the one summary line every run ends with.

use std::io::{self, Write};

use owo_colors::OwoColorize;

use super::report::Summary;
use super::{PlanView, Printer};
use crate::engine::outcome::Outcome;
use crate::engine::plan::Plan;

/// Notes on stderr, diff on stdout (coloured on a terminal only). `quiet`: only errors and
/// warnings among the notes.
pub struct TextPrinter {
    pub quiet: bool,
}

impl Printer for TextPrinter {
    fn print_plan(&mut self, view: &PlanView<'_>) -> io::Result<()> {
        if self.quiet {
            print_problems(view.plan)?;
        } else {
            print_notes(view.plan)?;
        }
        // Coloured on a terminal only (not for pipes, NO_COLOR, --color never), so what `git
        // apply` reads is always plain; decided once rather than stripped line by line.
        let color = anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never;
        let mut out = io::BufWriter::new(io::stdout().lock());
        out.write_all(super::diff::render_all(view.updates, color).as_bytes())?;
        out.flush()
    }
}

/// Whether stderr gets colours (a terminal, or `--color always` / FORCE_COLOR).
fn stderr_color() -> bool {
    anstream::AutoStream::choice(&io::stderr()) != anstream::ColorChoice::Never
}

/// `patch [label] description`, the label of a warning or an error in colour when stderr takes it.
fn outcome_line(patch: &str, outcome: &Outcome, color: bool) -> String {
    let label = outcome.label();
    let label = match outcome {
        Outcome::Warning { .. } if color => format!("{}", label.yellow().bold()),
        Outcome::Error { .. } if color => format!("{}", label.red().bold()),
        _ => label.to_owned(),
    };
    format!("{patch} [{label}] {}", outcome.describe())
}

/// Prints the notes of a plan on stderr: every outcome with its reason, and each change's why.
pub fn print_notes(plan: &Plan) -> io::Result<()> {
    let color = stderr_color();
    // Buffered: a large plan has thousands of lines, one write each would dominate.
    let mut err = io::BufWriter::new(io::stderr().lock());
    for report in &plan.reports {
        for outcome in &report.outcomes {
            writeln!(err, "{}", outcome_line(report.patch.id(), outcome, color))?;
            if let Outcome::Change(change) = outcome {
                writeln!(err, "    why: {}", change.why)?;
                for assumption in &change.assumptions {
                    writeln!(err, "    assumed: {assumption}")?;
                }
            }
        }
    }
    err.flush()
}

/// `--quiet`: only the errors and warnings of a plan, one line each.
pub fn print_problems(plan: &Plan) -> io::Result<()> {
    print_outcomes_where(plan, |o| matches!(o, Outcome::Error { .. } | Outcome::Warning { .. }))
}

/// Prints the outcomes that are not changes (ok, skipped, warnings...), one line each: what the
/// interactive review says before it shows the changes one by one.
pub fn print_other_outcomes(plan: &Plan) -> io::Result<()> {
    print_outcomes_where(plan, |o| !matches!(o, Outcome::Change(_)))
}

fn print_outcomes_where(plan: &Plan, wanted: impl Fn(&Outcome) -> bool) -> io::Result<()> {
    let color = stderr_color();
    let mut err = io::BufWriter::new(io::stderr().lock());
    for report in &plan.reports {
        for outcome in report.outcomes.iter().filter(|o| wanted(o)) {
            writeln!(err, "{}", outcome_line(report.patch.id(), outcome, color))?;
        }
    }
    err.flush()
}

/// The line every planning run ends with, on stderr: `summary: 2 changes in 2 files, ...`, its
/// warnings and errors in colour on a terminal.
pub fn print_summary(summary: &Summary) -> io::Result<()> {
    let mut line = summary.line();
    if stderr_color() && (summary.warnings > 0 || summary.errors > 0) {
        let style = if summary.errors > 0 {
            owo_colors::Style::new().red().bold()
        } else {
            owo_colors::Style::new().yellow().bold()
        };
        line = format!("{}", line.style(style));
    }
    writeln!(io::stderr().lock(), "summary: {line}")
}

//! The human format: notes on stderr (every outcome with its reason, each change's why and
//! assumptions), the unified diff on stdout, so that `scalepatch diff > x.patch` gives `git apply`
//! exactly the diff.

use std::io::{self, Write};

use super::Printer;
use crate::engine::outcome::Outcome;
use crate::engine::plan::Plan;
use crate::project::Project;
use crate::text::update::FileUpdate;

/// Notes on stderr, diff on stdout (coloured on a terminal only).
pub struct TextPrinter;

impl Printer for TextPrinter {
    fn print_plan(&mut self, _project: &Project, plan: &Plan, updates: &[FileUpdate]) -> io::Result<()> {
        print_notes(plan)?;
        // Coloured on a terminal only (not for pipes, NO_COLOR or CLICOLOR=0), so what `git
        // apply` reads is always plain; decided once rather than stripped line by line.
        let color = anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never;
        let mut out = io::BufWriter::new(io::stdout().lock());
        out.write_all(super::diff::render_all(updates, color).as_bytes())?;
        out.flush()
    }
}

/// Prints the notes of a plan on stderr: every outcome with its reason, and each change's why.
pub fn print_notes(plan: &Plan) -> io::Result<()> {
    // Buffered: a large plan has thousands of lines, one write each would dominate.
    let mut err = io::BufWriter::new(io::stderr().lock());
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
    err.flush()
}

/// Prints the outcomes that are not changes (ok, skipped, warnings...), one line each: what the
/// interactive review says before it shows the changes one by one.
pub fn print_other_outcomes(plan: &Plan) -> io::Result<()> {
    let mut err = anstream::stderr().lock();
    for report in &plan.reports {
        for outcome in report.outcomes.iter().filter(|o| !matches!(o, Outcome::Change(_))) {
            writeln!(err, "{} [{}] {}", report.patch.id(), outcome.label(), outcome.describe())?;
        }
    }
    Ok(())
}

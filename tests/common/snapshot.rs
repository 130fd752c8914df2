//! The reviewed expectations of a case (`expected.diff`, the `[[outcome]]` tables of `case.toml`)
//! and their proposed replacements. A test run never overwrites a reviewed file: with
//! `UPDATE_EXPECT=1` it writes `expected.diff.new` / `case.toml.new` beside it and fails, so that
//! a person reads the new output before renaming it over the old.

use std::path::Path;

use scalepatch::engine::outcome::Outcome;

use super::{CaseSpec, ExpectedOutcome};

/// Reasons longer than this are cut at a word boundary: the start of the description (its
/// location, then what it says) is the distinctive part, and the file stays readable.
const REASON_CHARS: usize = 100;

/// Whether `diff` is the reviewed `expected.diff` of the case at `dir` (a missing file never is).
pub fn diff_matches(dir: &Path, diff: &str) -> bool {
    std::fs::read_to_string(dir.join("expected.diff")).is_ok_and(|expected| expected == diff)
}

/// Writes `expected.diff.new` and/or `case.toml.new` for what differs; returns their paths.
pub fn write_new(
    dir: &Path,
    spec: &CaseSpec,
    outcomes: &[Outcome],
    diff: &str,
    diff_ok: bool,
    outcomes_ok: bool,
) -> Vec<String> {
    let mut written = Vec::new();
    if !diff_ok {
        let path = dir.join("expected.diff.new");
        std::fs::write(&path, diff).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        written.push(path.display().to_string());
    }
    if !outcomes_ok {
        let path = dir.join("case.toml.new");
        let current = std::fs::read_to_string(dir.join("case.toml")).unwrap_or_default();
        let text = with_outcomes(&current, &render(outcomes, &spec.outcomes));
        std::fs::write(&path, text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        written.push(path.display().to_string());
    }
    written
}

/// The expected outcomes for `outcomes`: a reason already reviewed for the same place in the
/// list is kept while it still matches, any other is the shortened description.
pub fn render(outcomes: &[Outcome], reviewed: &[ExpectedOutcome]) -> Vec<ExpectedOutcome> {
    outcomes
        .iter()
        .enumerate()
        .map(|(index, outcome)| match reviewed.get(index) {
            Some(kept) if kept.matches(outcome) => kept.clone(),
            _ => ExpectedOutcome { status: outcome.label().to_owned(), reason: shorten(&outcome.describe()) },
        })
        .collect()
}

/// The first line of `text`, cut at the last space before [`REASON_CHARS`] characters.
pub fn shorten(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() <= REASON_CHARS {
        return line.to_owned();
    }
    let end = line.char_indices().nth(REASON_CHARS).map_or(line.len(), |(i, _)| i);
    let head = &line[..end];
    head[..head.rfind(' ').unwrap_or(end)].trim_end().to_owned()
}

/// `case_toml` with its `[[outcome]]` tables replaced by `outcomes`, every other key and comment
/// kept (a comment above the first outcome stays above the new first outcome).
pub fn with_outcomes(case_toml: &str, outcomes: &[ExpectedOutcome]) -> String {
    let mut doc: toml_edit::DocumentMut = case_toml.parse().unwrap_or_else(|err| panic!("case.toml: {err}"));
    let old = doc.remove("outcome");
    let first_prefix = old
        .as_ref()
        .and_then(|item| item.as_array_of_tables())
        .and_then(|tables| tables.get(0))
        .and_then(|table| table.decor().prefix())
        .and_then(|prefix| prefix.as_str())
        .map(str::to_owned);
    // A comment with no key under it (a file of comments only) is the document's trailing text.
    let comment = first_prefix.unwrap_or_else(|| {
        let trailing = doc.trailing().as_str().unwrap_or("").trim().to_owned();
        doc.set_trailing("");
        if trailing.is_empty() { String::new() } else { format!("{trailing}\n") }
    });
    let mut tables = toml_edit::ArrayOfTables::new();
    for (index, outcome) in outcomes.iter().enumerate() {
        let mut table = toml_edit::Table::new();
        table.insert("status", toml_edit::value(outcome.status.as_str()));
        table.insert("reason", toml_edit::value(outcome.reason.as_str()));
        let blank = if index == 0 && doc.is_empty() { "" } else { "\n" };
        let prefix = if index == 0 { format!("{blank}{}", comment.trim_start_matches('\n')) } else { "\n".to_owned() };
        table.decor_mut().set_prefix(prefix);
        tables.push(table);
    }
    doc.insert("outcome", toml_edit::Item::ArrayOfTables(tables));
    format!("{}\n", doc.to_string().trim())
}

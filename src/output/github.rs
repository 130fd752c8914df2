//! GitHub Actions workflow commands: one annotation per outcome worth a look, at its file and
//! line, so that a CI step shows the pending quick wins on the pull request's files.
//! <https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions>

use std::io::{self, Write};

use super::report::{Entry, shown_path};
use super::{PlanView, Printer};

/// `::warning file=Dockerfile,line=22,endLine=22,title=...::message` lines on stdout.
pub struct GithubPrinter;

impl Printer for GithubPrinter {
    fn print_plan(&mut self, view: &PlanView<'_>) -> io::Result<()> {
        let mut out = io::BufWriter::new(io::stdout().lock());
        for entry in &view.entries {
            if let Some(line) = annotation(view.project.root(), entry) {
                writeln!(out, "{line}")?;
            }
        }
        out.flush()
    }
}

/// The annotation of one entry: a pending change or a warning is a `warning`, an input error an
/// `error`, a skip a `notice` (it names why scalepatch left something alone); `ok` and `not found`
/// need no one's attention and are left to the summary line.
pub fn annotation(root: &std::path::Path, entry: &Entry) -> Option<String> {
    let level = match entry.status {
        "change" | "warning" => "warning",
        "error" => "error",
        "skipped" => "notice",
        _ => return None,
    };
    let mut properties = Vec::new();
    if let Some(place) = &entry.location {
        properties.push(format!("file={}", property(&shown_path(root, &place.path).to_string_lossy())));
        if let Some(line) = place.line {
            properties.push(format!("line={line}"));
            properties.push(format!("endLine={}", place.end_line.unwrap_or(line)));
        }
    }
    let title = format!("scalepatch {} ({}): {}", entry.patch, entry.quick_win, entry.status.replace('_', " "));
    properties.push(format!("title={}", property(&title)));
    let mut message = entry.message.clone();
    if let Some(change) = &entry.change {
        message.push_str(&format!("\n{}\nApply with: scalepatch apply --only {}", change.why, entry.patch));
    }
    Some(format!("::{level} {}::{}", properties.join(","), data(&message)))
}

/// Escapes a command's message (GitHub's `escapeData`).
fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property value (GitHub's `escapeProperty`).
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::report::Place;

    #[test]
    fn messages_and_properties_are_escaped_as_github_reads_them() {
        let entry = Entry {
            id: "x/1".into(),
            patch: "nginx-gzip",
            quick_win: "QW4",
            status: "warning",
            message: "50% of 100,\nsecond: line".into(),
            location: Some(Place { path: "a,b:c.conf".into(), line: Some(3), end_line: Some(4) }),
            change: None,
        };
        let line = annotation(std::path::Path::new("/nonexistent-root"), &entry).unwrap();
        assert!(line.starts_with("::warning file=/nonexistent-root/a%2Cb%3Ac.conf,line=3,endLine=4,title="), "{line}");
        assert!(line.ends_with("::50%25 of 100,%0Asecond: line"), "{line}");
    }
}

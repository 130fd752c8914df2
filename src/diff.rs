//! Unified diffs that `git apply` accepts at the project root: `a/` and `b/` prefixes,
//! `/dev/null` for created files, `\ No newline at end of file` where a file ends without one.

use std::fmt::Write;

use owo_colors::OwoColorize;
use similar::{ChangeTag, TextDiff};

use crate::plan::FileUpdate;

/// The git-style diff of one file update. `color` adds ANSI colours (only for terminals).
pub fn render(update: &FileUpdate, color: bool) -> String {
    let path = update.path.to_string_lossy().replace('\\', "/");
    let before = update.before_text();
    let after = update.after_text();
    let mut out = String::new();
    let mut header = format!("diff --git a/{path} b/{path}\n");
    match &before {
        None => {
            let _ = writeln!(header, "new file mode 100{:o}", update.mode());
            let _ = write!(header, "--- /dev/null\n+++ b/{path}\n");
        }
        Some(_) => {
            let _ = write!(header, "--- a/{path}\n+++ b/{path}\n");
        }
    }
    out.push_str(&paint(&header, color, Style::Header));
    let before = before.unwrap_or_default();
    let diff = TextDiff::from_lines(before.as_str(), after.as_str());
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&paint(&format!("{}\n", hunk.header()), color, Style::Hunk));
        for change in hunk.iter_changes() {
            let (sign, style) = match change.tag() {
                ChangeTag::Delete => ('-', Style::Removed),
                ChangeTag::Insert => ('+', Style::Added),
                ChangeTag::Equal => (' ', Style::Context),
            };
            let value = change.as_str().unwrap_or_default();
            let mut line = format!("{sign}{value}");
            if !value.ends_with('\n') {
                line.push_str("\n\\ No newline at end of file\n");
            }
            out.push_str(&paint(&line, color, style));
        }
    }
    out
}

/// The diff of several updates, one after the other.
pub fn render_all(updates: &[FileUpdate], color: bool) -> String {
    updates.iter().map(|update| render(update, color)).collect()
}

#[derive(Clone, Copy)]
enum Style {
    Header,
    Hunk,
    Added,
    Removed,
    Context,
}

fn paint(text: &str, color: bool, style: Style) -> String {
    if !color {
        return text.to_owned();
    }
    // Colour each line on its own so a pager never carries a colour over a line break.
    text.split_inclusive('\n')
        .map(|line| {
            let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
            let painted = match style {
                Style::Header => body.bold().to_string(),
                Style::Hunk => body.cyan().to_string(),
                Style::Added => body.green().to_string(),
                Style::Removed => body.red().to_string(),
                Style::Context => body.to_owned(),
            };
            format!("{painted}{end}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use std::sync::Arc;

    fn update(before: Option<&str>, after: &str) -> FileUpdate {
        FileUpdate {
            path: "deploy/Procfile".into(),
            before: before.map(|text| Arc::new(SourceFile::from_text("deploy/Procfile", text))),
            after: after.to_owned(),
            patches: vec!["gunicorn-workers"],
        }
    }

    #[test]
    fn modified_file_without_final_newline() {
        let diff = render(&update(Some("web: gunicorn app -w 3"), "web: gunicorn app -w 5"), false);
        assert_eq!(
            diff,
            "diff --git a/deploy/Procfile b/deploy/Procfile\n--- a/deploy/Procfile\n+++ b/deploy/Procfile\n@@ -1 +1 @@\n-web: gunicorn app -w 3\n\\ No newline at end of file\n+web: gunicorn app -w 5\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn created_file() {
        let diff = render(&update(None, "a\n"), false);
        assert!(diff.starts_with("diff --git a/deploy/Procfile b/deploy/Procfile\nnew file mode 100644\n--- /dev/null\n+++ b/deploy/Procfile\n@@ -0,0 +1 @@\n+a\n"), "{diff}");
    }
}

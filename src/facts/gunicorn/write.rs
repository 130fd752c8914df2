//! How new settings are written, in the form of the place they join: shell words, a JSON exec
//! array (which stays an array: exec form never becomes shell form), a YAML list, a config file
//! line, a Dockerfile `ENV` line.

use std::ops::Range;

use super::discovery::{ArgStyle, Invocation};
use crate::lang::shell::Word;
use crate::text::edit::Edit;
use crate::text::source::SourceFile;

/// One list element in the list's style.
fn element(style: &ArgStyle, item: &str) -> String {
    let numeric = item.bytes().all(|b| b.is_ascii_digit());
    match style {
        ArgStyle::Shell => item.to_owned(),
        ArgStyle::Json => format!("\"{item}\""),
        ArgStyle::YamlBlock { quote, .. } | ArgStyle::YamlFlow { quote } => match (quote, numeric) {
            (Some(q), _) => format!("{q}{item}{q}"),
            // A bare number would be a YAML integer; compose wants strings.
            (None, true) => format!("\"{item}\""),
            (None, false) => item.to_owned(),
        },
    }
}

/// Inserts `items` right after `word` (the program, or a flag's value) in an argument list.
pub fn insert_after(file: &SourceFile, style: &ArgStyle, word: &Word, items: &[&str]) -> Edit {
    match style {
        ArgStyle::Shell => Edit::insert(word.span.end, format!(" {}", items.join(" "))),
        ArgStyle::Json | ArgStyle::YamlFlow { .. } => {
            let rendered: Vec<String> = items.iter().map(|i| element(style, i)).collect();
            Edit::insert(word.span.end, format!(", {}", rendered.join(", ")))
        }
        ArgStyle::YamlBlock { indent, .. } => {
            let newline = file.newline();
            let at = file.end_of_line(word.span.start);
            let mut text = String::new();
            if at == file.text.len() && !file.ends_with_newline() {
                text.push_str(newline);
            }
            for item in items {
                text.push_str(&format!("{indent}- {}{newline}", element(style, item)));
            }
            Edit::insert(at, text)
        }
    }
}

/// Inserts `items` just before `word` (the application argument).
pub fn insert_before(file: &SourceFile, style: &ArgStyle, word: &Word, items: &[&str]) -> Edit {
    match style {
        ArgStyle::Shell => Edit::insert(word.span.start, format!("{} ", items.join(" "))),
        ArgStyle::Json | ArgStyle::YamlFlow { .. } => {
            let rendered: Vec<String> = items.iter().map(|i| element(style, i)).collect();
            Edit::insert(word.span.start, format!("{}, ", rendered.join(", ")))
        }
        ArgStyle::YamlBlock { indent, .. } => {
            let newline = file.newline();
            let at = file.start_of_line(word.span.start);
            let text: String =
                items.iter().map(|item| format!("{indent}- {}{newline}", element(style, item))).collect();
            Edit::insert(at, text)
        }
    }
}

/// Adds flags to an invocation's command line: after the program (`workers`) or before the
/// application argument (`worker class`), so that the two patches never insert at one offset.
pub fn add_flags(inv: &Invocation, target: Option<usize>, before_target: bool, items: &[&str]) -> Edit {
    match (before_target, target) {
        (true, Some(index)) => insert_before(&inv.file, &inv.style, &inv.args[index], items),
        (true, None) => insert_after(&inv.file, &inv.style, inv.args.last().unwrap_or(&inv.program), items),
        (false, _) => insert_after(&inv.file, &inv.style, &inv.program, items),
    }
}

/// A line appended to a config file (`workers = 5`).
pub fn append_line(file: &SourceFile, line: &str) -> Edit {
    let newline = file.newline();
    if file.ends_with_newline() {
        Edit::insert(file.text.len(), format!("{line}{newline}"))
    } else {
        Edit::insert(file.text.len(), format!("{newline}{line}"))
    }
}

/// Lines added near the end of a config file without sharing an offset with [`append_line`]:
/// before the final line ending (or before the last line when the file has none).
pub fn append_lines_before_end(file: &SourceFile, lines: &[String]) -> Edit {
    let newline = file.newline();
    if file.text.is_empty() {
        return Edit::insert(0, lines.iter().map(|l| format!("{l}{newline}")).collect::<String>());
    }
    if file.ends_with_newline() {
        let at = file.text.len() - if file.text.ends_with("\r\n") { 2 } else { 1 };
        Edit::insert(at, lines.iter().map(|l| format!("{newline}{l}")).collect::<String>())
    } else {
        let at = file.start_of_line(file.text.len());
        Edit::insert(at, lines.iter().map(|l| format!("{l}{newline}")).collect::<String>())
    }
}

/// A line inserted at `at` (the start of a line, or the end of one including its line ending).
pub fn insert_line(file: &SourceFile, at: usize, line: &str) -> Edit {
    let newline = file.newline();
    if at == file.text.len() && !file.ends_with_newline() {
        Edit::insert(at, format!("{newline}{line}"))
    } else {
        Edit::insert(at, format!("{line}{newline}"))
    }
}

/// The byte ranges of template expressions (`{{ }}`, `{% %}`, `{# #}`) in a file.
pub fn template_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    for (open, close) in [("{{", "}}"), ("{%", "%}"), ("{#", "#}")] {
        let mut from = 0;
        while let Some(start) = text[from..].find(open).map(|i| from + i) {
            let end = text[start..].find(close).map_or(text.len(), |i| start + i + close.len());
            ranges.push(start..end);
            from = end;
        }
    }
    ranges
}

/// Whether any edit touches a template expression.
pub fn touches_template(text: &str, edits: &[Edit]) -> bool {
    let templates = template_ranges(text);
    edits.iter().any(|edit| {
        templates.iter().any(|t| {
            let r = &edit.range;
            (r.start > t.start && r.start < t.end)
                || (r.end > t.start && r.end < t.end)
                || (r.start <= t.start && r.end >= t.end && !r.is_empty())
        })
    })
}

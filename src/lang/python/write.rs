//! Writing new Python the way the surrounding code is written: quote character, tabs or spaces,
//! indent width, trailing commas, line endings, same-line comments, a missing final newline.

use tree_sitter::Node;

use super::PyFile;
use super::read::{named_children, quote_of};
use crate::text::edit::Edit;

/// How a file writes Python: what new code must look like to match its neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// The quote character of most string literals (`"` when there are none).
    pub quote: char,
    /// One level of indentation (a tab, or N spaces).
    pub indent_unit: String,
    /// `"\n"` or `"\r\n"`.
    pub newline: &'static str,
}

impl Style {
    /// The file's style: the quote character most of its strings use, its indent unit and newline.
    pub fn of(file: &PyFile) -> Style {
        let (mut single, mut double) = (0usize, 0usize);
        let mut stack = vec![file.root()];
        while let Some(node) = stack.pop() {
            if node.kind() == "string" {
                match quote_of(node, &file.source.text) {
                    Some('\'') => single += 1,
                    Some(_) => double += 1,
                    None => {}
                }
                continue;
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        Style {
            quote: if single > double { '\'' } else { '"' },
            indent_unit: file.source.indent_unit(),
            newline: file.source.newline(),
        }
    }

    /// The same style, with the quote character of `container`'s own strings when it has any
    /// (a dict written with single quotes in a file of double quotes keeps single quotes).
    pub fn local(&self, container: Node, text: &str) -> Style {
        let mut stack = vec![container];
        while let Some(node) = stack.pop() {
            if let Some(quote) = quote_of(node, text) {
                return Style { quote, ..self.clone() };
            }
            let mut cursor = node.walk();
            let mut children: Vec<Node> = node.named_children(&mut cursor).collect();
            children.reverse();
            stack.extend(children);
        }
        self.clone()
    }

    /// A string literal in this style.
    pub fn string(&self, value: &str) -> String {
        format!("{q}{value}{q}", q = self.quote)
    }
}

/// Inserts `items` (already rendered: `"KEY": value` or `name=value`) as new last elements of a
/// dict literal, an argument list or a list, keeping its layout:
/// - one element per line: new lines after the last element's line (after its same-line comment),
///   at the last element's indentation, with the container's trailing-comma habit (a comma is
///   added after the old last element when it had none);
/// - on one line: `, item` after the last element (before its trailing comma's `}` / `)`);
/// - empty: the items inside the brackets, on one line.
///
/// `container` is a `dictionary`, `argument_list` or `list` node; a `call` is taken as its
/// argument list.
pub fn insert_items(file: &PyFile, container: Node, items: &[String], style: &Style) -> Vec<Edit> {
    let container = match container.kind() {
        "call" => container.child_by_field_name("arguments").unwrap_or(container),
        _ => container,
    };
    if items.is_empty() {
        return Vec::new();
    }
    let text = &file.source.text;
    let elements = named_children(container);
    let close = container.end_byte() - 1;
    let Some(last) = elements.last().copied() else {
        if file.source.line_of(container.start_byte()) == file.source.line_of(close) {
            return vec![Edit::insert(close, items.join(", "))];
        }
        // `{\n}`: one item per line, one level deeper than the closing bracket.
        let indent = format!("{}{}", file.source.indent_at(close), style.indent_unit);
        let block: String = items.iter().map(|item| format!("{indent}{item},{}", style.newline)).collect();
        return vec![Edit::insert(file.source.start_of_line(close), block)];
    };
    let comma_after_last = next_comma(last);
    let last_line = file.source.line_of(last.end_byte() - 1);
    let close_line = file.source.line_of(close);
    let own_line = |node: Node| text[file.source.start_of_line(node.start_byte())..node.start_byte()].trim().is_empty();

    if last_line == close_line || !own_line(last) {
        // Everything after the last element stays on its line: `{"a": 1}` or `{\n "a": 1}`.
        let joined: String = items.iter().map(|item| format!(", {item}")).collect();
        return match comma_after_last {
            // `{"a": 1, }` -> `{"a": 1, "k": v, }` keeps the trailing comma.
            Some(comma) => vec![Edit::insert(comma.end_byte(), format!(" {},", items.join(", ")))],
            None => vec![Edit::insert(last.end_byte(), joined)],
        };
    }

    let indent = file.source.indent_at(last.start_byte()).to_owned();
    let trailing = comma_after_last.is_some();
    let newline = style.newline;
    let mut edits = Vec::new();
    if comma_after_last.is_none() {
        edits.push(Edit::insert(last.end_byte(), ","));
    }
    let mut block = String::new();
    for (i, item) in items.iter().enumerate() {
        let comma = if i + 1 < items.len() || trailing { "," } else { "" };
        block.push_str(&format!("{indent}{item}{comma}{newline}"));
    }
    let after_last_line = file.source.end_of_line(last.end_byte() - 1);
    if after_last_line > text.len() || !text[..after_last_line].ends_with('\n') {
        // The last element's line is the file's last line without a newline: impossible here,
        // because the closing bracket is on a later line.
        edits.push(Edit::insert(text.len(), format!("{newline}{block}")));
    } else {
        edits.push(Edit::insert(after_last_line, block));
    }
    edits
}

/// The indentation of the elements of a container written one element per line (`None` when it
/// is written on one line or is empty): what a multi-line value inserted into it starts with.
pub fn element_indent<'f>(file: &'f PyFile, container: Node) -> Option<&'f str> {
    let text = &file.source.text;
    let last = named_children(container).last().copied()?;
    let line_start = file.source.start_of_line(last.start_byte());
    let own_line = text[line_start..last.start_byte()].trim().is_empty();
    let closes_later = file.source.line_of(container.end_byte() - 1) > file.source.line_of(last.end_byte() - 1);
    (own_line && closes_later).then(|| file.source.indent_at(last.start_byte()))
}

/// Whether the container's last element is followed by a comma (`{"a": 1,}`): the habit new
/// nested containers copy.
pub fn has_trailing_comma(container: Node) -> bool {
    named_children(container).last().copied().and_then(next_comma).is_some()
}

/// The `,` token right after `element` inside `container`, if any (comments may sit between).
fn next_comma(element: Node<'_>) -> Option<Node<'_>> {
    let mut sibling = element.next_sibling();
    while let Some(node) = sibling {
        match node.kind() {
            "," => return Some(node),
            "comment" => sibling = node.next_sibling(),
            _ => return None,
        }
    }
    None
}

/// The `# noqa...` comment on a statement's line (with its two leading spaces), or `""`: a
/// sibling statement inserted next to it repeats it so that linters treat the new line like its
/// neighbour (`DATABASES` from a star import is F405 to ruff).
pub fn noqa_of(file: &PyFile, statement: Node) -> String {
    statement
        .next_sibling()
        .filter(|n| n.kind() == "comment" && n.start_position().row == statement.end_position().row)
        .map(|comment| file.text(comment))
        .filter(|comment| comment.trim_start_matches(['#', ' ']).starts_with("noqa"))
        .map(|comment| format!("  {comment}"))
        .unwrap_or_default()
}

/// Inserts whole statements on the lines after `statement` (after its same-line comment), at
/// its indentation. Each entry of `lines` is one statement without indentation or newline.
pub fn insert_statements_after(file: &PyFile, statement: Node, lines: &[String], style: &Style) -> Edit {
    let text = &file.source.text;
    let indent = file.source.indent_at(statement.start_byte()).to_owned();
    let end_line = file.source.line_of(statement.end_byte().saturating_sub(1).max(statement.start_byte()));
    let at = file.source.line_start(end_line + 1);
    let body: Vec<String> = lines.iter().map(|line| format!("{indent}{line}")).collect();
    if at >= text.len() && !text.ends_with('\n') {
        // The statement is on the file's last line, which has no newline: keep it without one.
        Edit::insert(text.len(), format!("{}{}", style.newline, body.join(style.newline)))
    } else {
        Edit::insert(at, body.iter().map(|line| format!("{line}{}", style.newline)).collect::<String>())
    }
}

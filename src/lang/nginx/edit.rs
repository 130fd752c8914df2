//! Insertion points that keep a file's look: new directives get the indentation of their
//! neighbours (tabs or spaces), the file's line ending, and stay on one line in one-line blocks
//! such as `location / { proxy_pass http://app; }`.
//!
//! Two styles exist so that two independent sets of edits adding to the same block never insert
//! at the same byte (two inserts at one offset overlap, and `apply_edits` refuses overlaps):
//! [`Style::EndOfLine`] writes just before a line's ending, [`Style::NextLine`] at the start of
//! the following line.

use crate::text::edit::Edit;

use super::tree::{Config, DirId};

/// Where new lines go relative to the anchor line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Before the anchor line's ending: `\n<indent>line` per line.
    EndOfLine,
    /// At the start of the next line: `<indent>line\n` per line.
    NextLine,
}

/// Builds edits for one file.
pub struct Inserter<'a> {
    config: &'a Config,
    newline: &'static str,
    unit: String,
}

impl<'a> Inserter<'a> {
    pub fn new(config: &'a Config) -> Inserter<'a> {
        let text = config.text();
        let newline = match text.find('\n') {
            Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        Inserter { config, newline, unit: indent_unit(text) }
    }

    fn text(&self) -> &'a str {
        self.config.text()
    }

    /// Byte offset of the end of the line's content (before `\r\n` / `\n`, or the end of text).
    fn content_end(&self, offset: usize) -> usize {
        let text = self.text();
        let end = memchr::memchr(b'\n', &text.as_bytes()[offset..]).map_or(text.len(), |i| offset + i);
        if end > offset && text.as_bytes()[end - 1] == b'\r' && end < text.len() { end - 1 } else { end }
    }

    fn line_start(&self, offset: usize) -> usize {
        memchr::memrchr(b'\n', &self.text().as_bytes()[..offset]).map_or(0, |i| i + 1)
    }

    /// Whether only spaces or tabs precede `offset` on its line.
    fn starts_line(&self, offset: usize) -> bool {
        self.text()[self.line_start(offset)..offset].bytes().all(|b| b == b' ' || b == b'\t')
    }

    /// Whether only spaces, tabs or a comment follow `offset` on its line.
    fn ends_line(&self, offset: usize) -> bool {
        let rest = self.text()[offset..self.content_end(offset)].trim_start_matches([' ', '\t']);
        rest.is_empty() || rest.starts_with('#')
    }

    /// The leading spaces or tabs of the line holding `offset`.
    pub fn indent_of_line(&self, offset: usize) -> &'a str {
        let start = self.line_start(offset);
        let line = &self.text()[start..];
        &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
    }

    /// The indentation of the children of the block of `owner`: that of a child that starts its
    /// line, else the owner's line indentation plus one unit.
    pub fn child_indent(&self, owner: DirId) -> String {
        let config = self.config;
        for child in config.children(Some(owner)) {
            let start = config.start(child);
            if self.starts_line(start) {
                return self.indent_of_line(start).to_owned();
            }
        }
        format!("{}{}", self.indent_of_line(config.start(owner)), self.unit)
    }

    /// Inserts `lines` (each a whole directive, `gzip on;`) after the line holding `offset`
    /// (a directive's end, or a comment's end), indented like `indent`. When something else
    /// follows on that line, they go right after `offset`, on the same line.
    pub fn after_offset(&self, offset: usize, indent: &str, lines: &[String], style: Style) -> Edit {
        if !self.ends_line(offset) {
            return Edit::insert(offset, lines.iter().map(|l| format!(" {l}")).collect::<String>());
        }
        let end = self.content_end(offset);
        let nl = self.newline;
        match style {
            Style::EndOfLine => Edit::insert(end, lines.iter().map(|l| format!("{nl}{indent}{l}")).collect::<String>()),
            Style::NextLine => {
                let text = self.text();
                if end == text.len() {
                    Edit::insert(end, lines.iter().map(|l| format!("{nl}{indent}{l}")).collect::<String>())
                } else {
                    let next = end + if text.as_bytes()[end] == b'\r' { 2 } else { 1 };
                    Edit::insert(next, lines.iter().map(|l| format!("{indent}{l}{nl}")).collect::<String>())
                }
            }
        }
    }

    /// Inserts `lines` after the directive `anchor`, with its indentation.
    pub fn after(&self, anchor: DirId, lines: &[String], style: Style) -> Edit {
        let config = self.config;
        let indent = match config.parent(anchor) {
            Some(owner) if !self.starts_line(config.start(anchor)) => self.child_indent(owner),
            _ => self.indent_of_line(config.start(anchor)).to_owned(),
        };
        self.after_offset(config.end(anchor), &indent, lines, style)
    }

    /// Inserts `lines` just before the directive `next` (on their own lines when `next` starts
    /// its line, else on its line).
    pub fn before(&self, next: DirId, lines: &[String]) -> Edit {
        let start = self.config.start(next);
        if !self.starts_line(start) {
            return Edit::insert(start, lines.iter().map(|l| format!("{l} ")).collect::<String>());
        }
        let indent = self.indent_of_line(start);
        let nl = self.newline;
        Edit::insert(self.line_start(start), lines.iter().map(|l| format!("{indent}{l}{nl}")).collect::<String>())
    }

    /// Inserts `lines` at the end of the block of `owner`, before its `}`.
    pub fn at_end(&self, owner: DirId, lines: &[String]) -> Edit {
        let config = self.config;
        let close = config.close_brace(owner).expect("at_end needs a block");
        let open = config.open_brace(owner).expect("at_end needs a block");
        let one_line = !self.text()[open..close].contains('\n');
        if one_line || !self.starts_line(close) {
            let before = self.text()[..close].chars().last();
            let joined = lines.join(" ");
            return match before {
                Some(' ' | '\t') => Edit::insert(close, format!("{joined} ")),
                Some('{') => Edit::insert(close, format!(" {joined} ")),
                _ => Edit::insert(close, format!(" {joined}")),
            };
        }
        let indent = self.child_indent(owner);
        let nl = self.newline;
        Edit::insert(self.line_start(close), lines.iter().map(|l| format!("{indent}{l}{nl}")).collect::<String>())
    }

    /// Appends ` word word` to the arguments of `id`, right before its `;`.
    pub fn append_args(&self, id: DirId, words: &[&str]) -> Edit {
        let config = self.config;
        let dir = config.directive(id);
        let last_arg = dir.args.last().copied().unwrap_or(dir.name);
        let at = config.tokens()[last_arg as usize].end as usize;
        Edit::insert(at, words.iter().map(|w| format!(" {w}")).collect::<String>())
    }
}

/// Joins inserts at the same offset (in the order given), so that several directives added at
/// one place make one edit rather than two overlapping ones.
pub fn merge_inserts(edits: Vec<Edit>) -> Vec<Edit> {
    let mut merged: Vec<Edit> = Vec::with_capacity(edits.len());
    for edit in edits {
        match merged
            .iter_mut()
            .find(|e| e.range.is_empty() && edit.range.is_empty() && e.range.start == edit.range.start)
        {
            Some(existing) => existing.replacement.push_str(&edit.replacement),
            None => merged.push(edit),
        }
    }
    merged.sort_by_key(|e| (e.range.start, e.range.end));
    merged
}

/// One level of indentation as the file writes it: a tab, or the smallest run of leading spaces.
pub fn indent_unit(text: &str) -> String {
    let mut smallest: Option<usize> = None;
    for line in text.lines() {
        if line.starts_with('\t') {
            return "\t".to_owned();
        }
        let spaces = line.len() - line.trim_start_matches(' ').len();
        if spaces > 0 && spaces < line.trim_end().len() {
            smallest = Some(smallest.map_or(spaces, |s| s.min(spaces)));
        }
    }
    " ".repeat(smallest.unwrap_or(4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::nginx::parse;
    use crate::text::edit::apply_edits;

    fn lines(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keeps_tabs_and_crlf() {
        let text = "server {\r\n\tlisten 80;\r\n\tlocation / {\r\n\t\tproxy_pass http://app;\r\n\t}\r\n}";
        let config = parse(text).unwrap();
        let listen = config.select("server")[0];
        let listen = config.children_named(Some(listen), "listen").next().unwrap();
        let ins = Inserter::new(&config);
        let a = ins.after(listen, &lines(&["gzip on;"]), Style::EndOfLine);
        let b = ins.after(listen, &lines(&["client_body_buffer_size 32k;"]), Style::NextLine);
        let out = apply_edits(text, &[a, b]).unwrap();
        assert_eq!(
            out,
            "server {\r\n\tlisten 80;\r\n\tgzip on;\r\n\tclient_body_buffer_size 32k;\r\n\tlocation / {\r\n\t\tproxy_pass http://app;\r\n\t}\r\n}"
        );
    }

    #[test]
    fn one_line_blocks_stay_on_one_line() {
        let text = "location / { proxy_pass http://app; }";
        let config = parse(text).unwrap();
        let location = config.select("location /")[0];
        let ins = Inserter::new(&config);
        let edit = ins.at_end(location, &lines(&["proxy_http_version 1.1;", "proxy_set_header Connection \"\";"]));
        assert_eq!(
            apply_edits(text, &[edit]).unwrap(),
            "location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection \"\"; }"
        );
        let pass = config.children(Some(location)).next().unwrap();
        let edit = ins.after(pass, &lines(&["a 1;"]), Style::NextLine);
        assert_eq!(apply_edits(text, &[edit]).unwrap(), "location / { proxy_pass http://app; a 1; }");
    }
}

//! Command lines as a shell (or a shell-like launcher: compose, supervisord, systemd) splits them
//! into words, keeping for every byte of every word the offset it came from, so that a patch can
//! change `3` in `-w3`, `"--workers=3"` or `${GUNICORN_WORKERS:-3}` without touching anything else.
//!
//! This is not a shell: it knows quotes, backslashes, `\` continuations, comments, `${VAR:-N}`
//! defaults, `$VAR`, `$(...)`, and the operators that end a simple command (`;`, `&&`, `||`, `|`,
//! `&`, newlines). That is what deployment command lines use.

use std::ops::Range;

/// A `$VAR` / `${VAR:-default}` inside a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    pub name: String,
    /// The bytes of [`Word::text`] that stand for it: the default when there is one, else `$VAR`.
    pub text_range: Range<usize>,
    /// Whether the expansion carries a default (`${VAR:-N}`, `${VAR-N}`, `${VAR:=N}`).
    pub has_default: bool,
}

/// One word, after quote removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The value, quotes removed, `${VAR:-d}` replaced by `d`, `$VAR` kept as written.
    pub text: String,
    /// For every byte of `text`, the offset in the input it came from.
    pub offsets: Vec<usize>,
    /// The raw word in the input (quotes included).
    pub span: Range<usize>,
    /// Expansions in the word.
    pub vars: Vec<VarRef>,
}

impl Word {
    /// The value part of a `NAME=value` word (`ENV`, `export`, env prefixes), as a word of its
    /// own: offsets and expansions still point into the input. `None` when there is no `=`.
    pub fn assignment_value(&self) -> Option<(String, Word)> {
        let eq = self.text.find('=')?;
        let value = Word {
            text: self.text[eq + 1..].to_owned(),
            offsets: self.offsets[eq + 1..].to_vec(),
            span: self.span.clone(),
            vars: self
                .vars
                .iter()
                .filter(|v| v.text_range.start > eq)
                .map(|v| VarRef { text_range: v.text_range.start - eq - 1..v.text_range.end - eq - 1, ..v.clone() })
                .collect(),
        };
        Some((self.text[..eq].to_owned(), value))
    }

    /// The input bytes that hold `text[range]`, when they are one contiguous run (no quote or
    /// backslash in between): the place to write a new value.
    pub fn source_range(&self, range: Range<usize>) -> Option<Range<usize>> {
        if range.is_empty() || range.end > self.offsets.len() {
            return None;
        }
        let start = self.offsets[range.start];
        let contiguous = self.offsets[range.clone()].iter().enumerate().all(|(i, &offset)| offset == start + i);
        contiguous.then(|| start..start + range.len())
    }

    /// Whether part of the value comes from an expansion without a default (`$WORKERS`, `$(nproc)`).
    pub fn is_dynamic(&self) -> bool {
        self.vars.iter().any(|var| !var.has_default) || self.text.contains("$(") || self.text.contains('`')
    }

    /// The same word with offsets translated through `outer` (offset in this input -> offset in
    /// the file), for words read out of a string that was itself decoded (a JSON element, `sh -c`).
    pub fn remap(&self, outer: &[usize]) -> Word {
        let map = |offset: usize| outer.get(offset).copied().unwrap_or_else(|| outer.last().map_or(0, |last| last + 1));
        let end = if self.span.is_empty() { map(self.span.start) } else { map(self.span.end - 1) + 1 };
        Word {
            text: self.text.clone(),
            offsets: self.offsets.iter().map(|&o| map(o)).collect(),
            span: map(self.span.start)..end,
            vars: self.vars.clone(),
        }
    }
}

/// A simple command: its words, in order (assignments and `exec` included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub words: Vec<Word>,
}

/// How the text is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// A newline separates words, not commands (compose, supervisord, a folded YAML scalar).
    pub newline_is_space: bool,
    /// A line that starts with `#` inside a `\` continuation is dropped, as Docker does.
    pub dockerfile_comments: bool,
}

/// Splits `text` into simple commands. Offsets are relative to `text`.
pub fn commands(text: &str, options: Options) -> Vec<Command> {
    Lexer { bytes: text.as_bytes(), text, pos: 0, options }.run()
}

/// The words of `text` as one command line (newlines are spaces, operators are words), as
/// compose, supervisord and `shlex.split` read a string.
pub fn words(text: &str) -> Vec<Word> {
    let options = Options { newline_is_space: true, dockerfile_comments: false };
    commands(text, options).into_iter().flat_map(|command| command.words).collect()
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    options: Options,
}

impl Lexer<'_> {
    fn run(&mut self) -> Vec<Command> {
        let mut commands = Vec::new();
        let mut current = Vec::new();
        while self.pos < self.bytes.len() {
            let byte = self.bytes[self.pos];
            match byte {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\\' if self.continuation_len(self.pos).is_some() => self.skip_continuation(),
                b'\n' => {
                    self.pos += 1;
                    if !self.options.newline_is_space {
                        end_command(&mut commands, &mut current);
                    }
                }
                b'#' => self.skip_comment(),
                b';' | b'|' | b'&' => {
                    let doubled = self.bytes.get(self.pos + 1) == Some(&byte);
                    self.pos += if doubled { 2 } else { 1 };
                    end_command(&mut commands, &mut current);
                }
                _ => current.push(self.word()),
            }
        }
        end_command(&mut commands, &mut current);
        commands
    }

    /// `\` followed by a line ending: the length to skip, else `None`.
    fn continuation_len(&self, at: usize) -> Option<usize> {
        match (self.bytes.get(at + 1), self.bytes.get(at + 2)) {
            (Some(b'\n'), _) => Some(2),
            (Some(b'\r'), Some(b'\n')) => Some(3),
            _ => None,
        }
    }

    fn skip_continuation(&mut self) {
        self.pos += self.continuation_len(self.pos).unwrap_or(1);
        if self.options.dockerfile_comments {
            // Docker drops comment lines (and empty lines) inside a continued instruction.
            loop {
                let rest = &self.text[self.pos..];
                let trimmed = rest.trim_start_matches([' ', '\t']);
                if trimmed.starts_with('#') || trimmed.starts_with('\n') || trimmed.starts_with("\r\n") {
                    let line_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
                    self.pos += line_end;
                } else {
                    break;
                }
            }
        }
    }

    fn skip_comment(&mut self) {
        while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
            self.pos += 1;
        }
    }

    fn word(&mut self) -> Word {
        let start = self.pos;
        let mut word = Word { text: String::new(), offsets: Vec::new(), span: start..start, vars: Vec::new() };
        while self.pos < self.bytes.len() {
            let byte = self.bytes[self.pos];
            match byte {
                b' ' | b'\t' | b'\n' | b';' | b'|' | b'&' => break,
                b'\r' if self.bytes.get(self.pos + 1) == Some(&b'\n') => break,
                b'\\' => {
                    if self.continuation_len(self.pos).is_some() {
                        break;
                    }
                    self.pos += 1;
                    self.push_char(&mut word);
                }
                b'\'' => {
                    self.pos += 1;
                    while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\'' {
                        self.push_char(&mut word);
                    }
                    self.pos += 1;
                }
                b'"' => {
                    self.pos += 1;
                    while self.pos < self.bytes.len() && self.bytes[self.pos] != b'"' {
                        match self.bytes[self.pos] {
                            b'\\' if matches!(self.bytes.get(self.pos + 1), Some(b'"' | b'\\' | b'$' | b'`')) => {
                                self.pos += 1;
                                self.push_char(&mut word);
                            }
                            b'\\' if self.continuation_len(self.pos).is_some() => {
                                self.pos += self.continuation_len(self.pos).unwrap_or(1);
                            }
                            b'$' => self.expansion(&mut word),
                            _ => self.push_char(&mut word),
                        }
                    }
                    self.pos += 1;
                }
                b'$' => self.expansion(&mut word),
                _ => self.push_char(&mut word),
            }
        }
        word.span = start..self.pos.min(self.bytes.len());
        word
    }

    /// Copies one character at `pos` into the word.
    fn push_char(&mut self, word: &mut Word) {
        let Some(ch) = self.text[self.pos..].chars().next() else { return };
        for i in 0..ch.len_utf8() {
            word.offsets.push(self.pos + i);
        }
        word.text.push(ch);
        self.pos += ch.len_utf8();
    }

    fn push_raw(&mut self, word: &mut Word, range: Range<usize>) {
        word.text.push_str(&self.text[range.clone()]);
        word.offsets.extend(range);
    }

    /// `$NAME`, `${NAME}`, `${NAME:-default}`, `$(...)` at `pos`.
    fn expansion(&mut self, word: &mut Word) {
        let start = self.pos;
        let next = self.bytes.get(self.pos + 1).copied();
        match next {
            Some(b'{') => {
                let Some(close) = self.text[start..].find('}').map(|i| start + i) else {
                    self.push_char(word);
                    return;
                };
                let inner = &self.text[start + 2..close];
                let name_len = inner.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
                let name = inner[..name_len].to_owned();
                let operator = ["-", ":-", "=", ":="]
                    .iter()
                    .filter(|op| inner[name_len..].starts_with(**op))
                    .max_by_key(|op| op.len());
                match operator {
                    Some(op) => {
                        let default_start = start + 2 + name_len + op.len();
                        let text_start = word.text.len();
                        self.push_raw(word, default_start..close);
                        word.vars.push(VarRef { name, text_range: text_start..word.text.len(), has_default: true });
                    }
                    None => {
                        let text_start = word.text.len();
                        self.push_raw(word, start..close + 1);
                        word.vars.push(VarRef { name, text_range: text_start..word.text.len(), has_default: false });
                    }
                }
                self.pos = close + 1;
            }
            Some(b'(') => {
                let mut depth = 0usize;
                let mut end = start + 1;
                while end < self.bytes.len() {
                    match self.bytes[end] {
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                end += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    end += 1;
                }
                self.push_raw(word, start..end.min(self.bytes.len()));
                self.pos = end.min(self.bytes.len());
            }
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => {
                let name_len =
                    self.text[start + 1..].bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
                let name = self.text[start + 1..start + 1 + name_len].to_owned();
                let text_start = word.text.len();
                self.push_raw(word, start..start + 1 + name_len);
                word.vars.push(VarRef { name, text_range: text_start..word.text.len(), has_default: false });
                self.pos = start + 1 + name_len;
            }
            // Special parameters: `$@`, `$*`, `$1`, `$#`...
            Some(b) if b"@*#?!$-".contains(&b) || b.is_ascii_digit() => {
                let text_start = word.text.len();
                self.push_raw(word, start..start + 2);
                let name = (b as char).to_string();
                word.vars.push(VarRef { name, text_range: text_start..word.text.len(), has_default: false });
                self.pos = start + 2;
            }
            _ => self.push_char(word),
        }
    }
}

fn end_command(commands: &mut Vec<Command>, current: &mut Vec<Word>) {
    if !current.is_empty() {
        commands.push(Command { words: std::mem::take(current) });
    }
}

/// Whether a word is a variable assignment (`NAME=value`), which a shell runs before the command.
pub fn is_assignment(word: &Word) -> bool {
    let raw = word.text.as_str();
    match raw.find('=') {
        Some(eq) if eq > 0 => {
            raw[..eq].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && !raw.as_bytes()[0].is_ascii_digit()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(command: &Command) -> Vec<&str> {
        command.words.iter().map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn quotes_continuations_comments_and_operators() {
        let text = "umask 0 && exec gunicorn \\\n  -w3 \"--bind=0.0.0.0:8000\" 'app:app' # comment\nnext";
        let commands = commands(text, Options::default());
        assert_eq!(commands.len(), 3);
        assert_eq!(texts(&commands[0]), ["umask", "0"]);
        assert_eq!(texts(&commands[1]), ["exec", "gunicorn", "-w3", "--bind=0.0.0.0:8000", "app:app"]);
        let w = &commands[1].words[2];
        assert_eq!(&text[w.source_range(2..3).unwrap()], "3");
        let bind = &commands[1].words[3];
        assert_eq!(&text[bind.span.clone()], "\"--bind=0.0.0.0:8000\"");
        assert_eq!(texts(&commands[2]), ["next"]);
    }

    #[test]
    fn defaults_and_variables() {
        let text = "gunicorn -w ${GUNICORN_WORKERS:-3} -k $CLASS";
        let words = words(text);
        assert_eq!(words[2].text, "3");
        assert!(!words[2].is_dynamic());
        assert_eq!(words[2].vars[0].name, "GUNICORN_WORKERS");
        assert_eq!(&text[words[2].source_range(0..1).unwrap()], "3");
        assert!(words[4].is_dynamic());
        assert!(super::words("exec gunicorn app \"$@\"")[3].is_dynamic());
    }

    #[test]
    fn dockerfile_comment_lines_inside_continuations() {
        let text = "gunicorn \\\n# a comment\n  --workers 3 \\\n\n  app";
        let options = Options { newline_is_space: false, dockerfile_comments: true };
        let commands = commands(text, options);
        assert_eq!(commands.len(), 1);
        assert_eq!(texts(&commands[0]), ["gunicorn", "--workers", "3", "app"]);
    }

    #[test]
    fn remap_through_an_outer_map() {
        let inner = "gunicorn -w 3";
        let outer: Vec<usize> = (100..100 + inner.len()).collect();
        let word = words(inner)[2].remap(&outer);
        assert_eq!(word.source_range(0..1), Some(112..113));
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    proptest! {
        /// Every reader takes any text without panicking, and every word's offsets point at
        /// bytes of the input.
        #[test]
        fn readers_never_panic(text in "[ -~\\n\\t\\\\\"'$#{}()é\\[\\],:=%-]{0,120}") {
            for command in super::commands(&text, super::Options { newline_is_space: false, dockerfile_comments: true }) {
                for word in command.words {
                    prop_assert!(word.offsets.iter().all(|&o| o < text.len()));
                    prop_assert!(word.span.end <= text.len());
                }
            }
            let file = crate::lang::dockerfile::parse(&text);
            for instruction in &file.instructions {
                let _ = crate::lang::dockerfile::command_form(&text, instruction);
                let _ = crate::lang::dockerfile::env_pairs(&text, instruction);
            }
            let _ = crate::lang::envfile::parse(&text);
            let _ = crate::lang::launchers::procfile(&text);
            let _ = crate::lang::launchers::supervisord(&format!("[program:x]\ncommand={text}"));
            let _ = crate::lang::launchers::systemd(&format!("ExecStart={text}"));
            let _ = crate::lang::compose::services(&text);
        }
    }
}

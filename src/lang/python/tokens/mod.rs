//! A lexical pass over Python source, as CPython's tokenizer reads it, for the mistakes
//! tree-sitter-python lets through.
//!
//! tree-sitter recovers from errors and is lenient where CPython's tokenizer is strict: it skips
//! U+FEFF and other zero-width characters as whitespace, reads `05` as a number, and does not
//! compare tabs with spaces. A file CPython refuses must never be edited nor written, so this
//! pass reads the tokens again the way CPython does (one linear scan) and reports the first error
//! with the line CPython names. It finds only errors: the syntax tree still decides everything else.
//!
//! The project's Python version is unknown, so the rule is: refuse only what every CPython from
//! 3.8 to 3.13 refuses, accept what any of them accepts. The scan follows CPython 3.11 (and
//! reports errors at 3.11's line), except where a later version accepts more: f-strings are also
//! read the Python 3.12 way (PEP 701: `f"{"a"}"`, a backslash or a comment in an expression,
//! nested f-strings with the same quote), and identifiers follow the newest Unicode tables.

/// A mistake CPython's tokenizer (or its f-string reader) refuses, with the 1-based line it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexicalError {
    pub line: usize,
    pub detail: String,
    /// Whether CPython reports it even when the parser failed earlier in the file: after a parser
    /// error CPython tokenizes the rest of the file and lets a raised tokenizer error (a bad
    /// string, number, character or bracket) replace the parser's. Indentation errors are not
    /// raised that way: they count only when the parser gets that far.
    pub raised: bool,
}

/// What the lexical pass found.
#[derive(Debug, Default)]
pub struct Lexed {
    /// The first tokenizer error; the scan stops there, as CPython's tokenizer does.
    pub tokenizer: Option<LexicalError>,
    /// The first error before it that CPython's parser (not its tokenizer) reports and
    /// tree-sitter lets through: a bad f-string (Python 3.11 reads f-strings in the parser), a
    /// name glued to a string (`ub'x'`). It competes with the other parser errors by position.
    pub parser: Option<LexicalError>,
    /// The innermost bracket still open at the end of the file (at its line), when the scan got
    /// there. CPython reports it unless the parser failed on an earlier line.
    pub unclosed: Option<LexicalError>,
}

/// The deepest bracket nesting CPython's tokenizer accepts (`MAXLEVEL`).
mod fstrings;
mod numbers;

const MAX_BRACKETS: usize = 200;

/// The deepest f-string nesting Python 3.12 accepts (`MAXFSTRINGLEVEL`).
const MAX_NESTED_FSTRINGS: usize = 150;

/// Scans `text` (without its BOM) once, as CPython's tokenizer would.
pub fn check(text: &str) -> Lexed {
    let mut scanner =
        Scanner { text, bytes: text.as_bytes(), at: 0, line: 1, parser: None, pep701: false, nested_fstrings: 0 };
    match scanner.run() {
        Ok(unclosed) => Lexed { tokenizer: None, parser: scanner.parser, unclosed },
        Err(err) => Lexed { tokenizer: Some(err), parser: scanner.parser, unclosed: None },
    }
}

/// The scan position and what it has seen so far.
struct Scanner<'t> {
    text: &'t str,
    bytes: &'t [u8],
    at: usize,
    line: usize,
    parser: Option<LexicalError>,
    /// Inside an f-string read the Python 3.12 way (see [`Scanner::fstring`]): nested f-strings
    /// are read that way directly, so each byte is read a bounded number of times.
    pep701: bool,
    /// f-strings open around the cursor in that reading.
    nested_fstrings: usize,
}

type Scan<T = ()> = Result<T, LexicalError>;

impl Scanner<'_> {
    fn peek(&self, ahead: usize) -> u8 {
        self.bytes.get(self.at + ahead).copied().unwrap_or(0)
    }

    fn eof(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// An error CPython's tokenizer raises at once (see [`LexicalError::raised`]).
    fn raised(&self, line: usize, detail: impl Into<String>) -> LexicalError {
        LexicalError { line, detail: detail.into(), raised: true }
    }

    /// Every token of the file, with the indentation of each logical line; the innermost
    /// bracket left open at the end.
    fn run(&mut self) -> Scan<Option<LexicalError>> {
        let mut brackets: Vec<(u8, usize)> = Vec::new();
        let mut indents: Vec<(usize, usize)> = vec![(0, 0)];
        let mut line_start = true;
        while !self.eof() {
            if line_start && brackets.is_empty() {
                self.indentation(&mut indents)?;
                line_start = false;
                continue;
            }
            let byte = self.bytes[self.at];
            match byte {
                b' ' | b'\t' | b'\x0c' | b'\r' => self.at += 1,
                b'\n' => {
                    self.at += 1;
                    self.line += 1;
                    // Inside brackets a new line continues the logical line.
                    line_start = brackets.is_empty();
                }
                b'#' => self.skip_comment(),
                b'\\' => self.continuation()?,
                b'"' | b'\'' => self.string("")?,
                b'0'..=b'9' => self.number()?,
                b'.' if self.peek(1).is_ascii_digit() => self.number()?,
                b'(' | b'[' | b'{' => {
                    brackets.push((byte, self.line));
                    self.template_tag(byte);
                    if brackets.len() >= MAX_BRACKETS {
                        return Err(self.raised(self.line, "too many nested parentheses"));
                    }
                    self.at += 1;
                }
                b')' | b']' | b'}' => {
                    self.closer(brackets.pop().map(|(open, _)| open), byte)?;
                    self.at += 1;
                }
                _ if byte == b'_' || byte.is_ascii_alphabetic() || byte >= 0x80 => self.word()?,
                _ if byte < 0x20 || byte == 0x7f => {
                    return Err(self.raised(self.line, format!("invalid non-printable character U+{byte:04X}")));
                }
                _ => self.at += 1,
            }
        }
        Ok(brackets.pop().map(|(open, line)| LexicalError {
            line,
            detail: format!("`{}` was never closed", open as char),
            raised: false,
        }))
    }

    /// The indentation of a line outside brackets, checked against the open blocks the way
    /// CPython does: tabs to the next multiple of 8 and, separately, tabs as 1 column; the two
    /// readings must order the lines the same way, else TabError. Blank and comment-only lines
    /// do not count.
    fn indentation(&mut self, indents: &mut Vec<(usize, usize)>) -> Scan {
        let (mut col, mut alt) = (0, 0);
        loop {
            match self.peek(0) {
                b' ' => (col, alt) = (col + 1, alt + 1),
                b'\t' => (col, alt) = ((col / 8 + 1) * 8, alt + 1),
                b'\x0c' => (col, alt) = (0, 0),
                _ => break,
            }
            self.at += 1;
        }
        if matches!(self.peek(0), b'#' | b'\n' | b'\r') || self.eof() {
            return Ok(());
        }
        let tab_error = |line| LexicalError {
            line,
            detail: "inconsistent use of tabs and spaces in indentation".to_owned(),
            raised: false,
        };
        let &(top, top_alt) = indents.last().expect("the module level is never popped");
        if col == top {
            if alt != top_alt {
                return Err(tab_error(self.line));
            }
        } else if col > top {
            if alt <= top_alt {
                return Err(tab_error(self.line));
            }
            indents.push((col, alt));
        } else {
            while indents.len() > 1 && col < indents[indents.len() - 1].0 {
                indents.pop();
            }
            let &(outer, outer_alt) = indents.last().expect("the module level is never popped");
            if col != outer {
                return Err(LexicalError {
                    line: self.line,
                    detail: "unindent does not match any outer indentation level".to_owned(),
                    raised: false,
                });
            }
            if alt != outer_alt {
                return Err(tab_error(self.line));
            }
        }
        Ok(())
    }

    /// `{%` (a Jinja or Django template tag, with or without spaces) is never Python: no
    /// expression starts with `%`. tree-sitter recovers from it far above the tag; CPython's
    /// parser stops at the `%`.
    fn template_tag(&mut self, open: u8) {
        let rest = &self.bytes[self.at + 1..];
        let gap = rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        if open == b'{' && rest.get(gap) == Some(&b'%') && self.parser.is_none() {
            self.parser = Some(LexicalError {
                line: self.line,
                detail: "a template tag `{%`, not Python".to_owned(),
                raised: false,
            });
        }
    }

    fn skip_comment(&mut self) {
        self.at = memchr::memchr(b'\n', &self.bytes[self.at..]).map_or(self.bytes.len(), |end| self.at + end);
    }

    /// A backslash outside strings must end its line (a continuation).
    fn continuation(&mut self) -> Scan {
        let next = if self.peek(1) == b'\r' && self.peek(2) == b'\n' { 2 } else { 1 };
        match self.peek(next) {
            b'\n' => {
                self.at += next + 1;
                self.line += 1;
                Ok(())
            }
            _ if self.at + next >= self.bytes.len() => {
                Err(LexicalError { line: self.line, detail: "unexpected EOF while parsing".to_owned(), raised: false })
            }
            _ => Err(LexicalError {
                line: self.line,
                detail: "unexpected character after line continuation character".to_owned(),
                raised: false,
            }),
        }
    }

    /// A closing bracket must close the innermost open one.
    fn closer(&self, open: Option<u8>, close: u8) -> Scan {
        let expected = match close {
            b')' => b'(',
            b']' => b'[',
            _ => b'{',
        };
        match open {
            Some(open) if open == expected => Ok(()),
            Some(open) => Err(self.raised(
                self.line,
                format!(
                    "closing parenthesis `{}` does not match opening parenthesis `{}`",
                    close as char, open as char
                ),
            )),
            None => Err(self.raised(self.line, format!("unmatched `{}`", close as char))),
        }
    }

    /// A name, or the prefix of a string. CPython reads every non-ASCII character as part of a
    /// name and then checks it, so U+FEFF or a non-breaking space in code is an error here.
    fn word(&mut self) -> Scan {
        let start = self.at;
        while !self.eof()
            && (self.bytes[self.at] == b'_'
                || self.bytes[self.at].is_ascii_alphanumeric()
                || self.bytes[self.at] >= 0x80)
        {
            self.at += self.text[self.at..].chars().next().map_or(1, char::len_utf8);
        }
        let word = &self.text[start..self.at];
        if matches!(self.peek(0), b'"' | b'\'') {
            if is_string_prefix(word) {
                return self.string(word);
            }
            if !KEYWORDS.contains(&word) && self.parser.is_none() {
                self.parser = Some(LexicalError {
                    line: self.line,
                    detail: format!("`{word}` is not a string prefix"),
                    raised: false,
                });
            }
        }
        if word.is_ascii() {
            return Ok(());
        }
        for (index, c) in word.chars().enumerate() {
            let valid =
                if index == 0 { c == '_' || unicode_ident::is_xid_start(c) } else { unicode_ident::is_xid_continue(c) };
            if !valid {
                let code = c as u32;
                let detail = if printable(c) {
                    format!("invalid character `{c}` (U+{code:04X})")
                } else {
                    format!("invalid non-printable character U+{code:04X}")
                };
                return Err(self.raised(self.line, detail));
            }
        }
        Ok(())
    }

    /// A string literal starting at the quote under the cursor (its prefix already read). An
    /// unterminated one is reported at the line it starts on, as CPython does.
    fn string(&mut self, prefix: &str) -> Scan {
        if prefix.bytes().any(|b| b.eq_ignore_ascii_case(&b'f')) {
            return self.fstring(prefix);
        }
        self.literal().map(|_| ())
    }

    /// A string literal read as a plain string (the quote under the cursor): the range of its
    /// body and the line it starts on.
    fn literal(&mut self) -> Scan<(std::ops::Range<usize>, usize)> {
        let quote = self.bytes[self.at];
        let triple = self.peek(1) == quote && self.peek(2) == quote;
        let width = if triple { 3 } else { 1 };
        let start_line = self.line;
        self.at += width;
        let body_start = self.at;
        loop {
            if self.eof() {
                let what =
                    if triple { "unterminated triple-quoted string literal" } else { "unterminated string literal" };
                return Err(self.raised(start_line, format!("{what} (detected at line {})", self.line)));
            }
            match self.bytes[self.at] {
                b'\\' => {
                    self.at += 1;
                    if self.peek(0) == b'\r' && self.peek(1) == b'\n' {
                        self.at += 1;
                    }
                    if self.peek(0) == b'\n' {
                        self.line += 1;
                    }
                    if !self.eof() {
                        self.at += self.text[self.at..].chars().next().map_or(1, char::len_utf8);
                    }
                }
                b'\n' if !triple => {
                    return Err(
                        self.raised(start_line, format!("unterminated string literal (detected at line {start_line})"))
                    );
                }
                b'\n' => {
                    self.line += 1;
                    self.at += 1;
                }
                byte if byte == quote && (!triple || (self.peek(1) == quote && self.peek(2) == quote)) => {
                    let body = body_start..self.at;
                    self.at += width;
                    return Ok((body, start_line));
                }
                _ => self.at += 1,
            }
        }
    }
}

/// Python's keywords: a string may follow one directly (`return'x'`, `if'a'in s`).
const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
    "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
    "return", "try", "while", "with", "yield", "match", "case",
];

/// The string prefixes Python 3 accepts, in any case.
fn is_string_prefix(word: &str) -> bool {
    matches!(word.to_ascii_lowercase().as_str(), "r" | "u" | "b" | "br" | "rb" | "f" | "fr" | "rf")
}

/// Whether Python's `str.isprintable` holds for `c`, for the error message only (approximate:
/// format, separator and private-use characters are not).
fn printable(c: char) -> bool {
    !matches!(c as u32, 0x80..=0xa0 | 0xad | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x206f | 0x3000 | 0xfeff | 0xe000..=0xf8ff | 0xfff9..=0xfffb)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Option<usize> {
        let lexed = check(text);
        lexed.tokenizer.or(lexed.parser).or(lexed.unclosed).map(|err| err.line)
    }

    #[test]
    fn numbers() {
        for ok in [
            "x = 0",
            "x = 00",
            "x = 0_0",
            "x = 0o5",
            "x = 05.5",
            "x = 0e1",
            "x = 0j",
            "x = 1_000",
            ".5",
            "1if x else 2",
        ] {
            assert_eq!(line(ok), None, "{ok}");
        }
        for bad in ["x = 05", "x = 1__0", "x = 1_", "x = 0x", "x = 0o8", "x = 1abc", "x = 0_1"] {
            assert_eq!(line(bad), Some(1), "{bad}");
        }
    }

    #[test]
    fn strings_characters_and_indentation() {
        assert_eq!(line("a = 1\nx = \"abc\n"), Some(2));
        assert_eq!(line("x = '''a\nb'''\ny = '\u{feff}'\n"), None);
        assert_eq!(line("x = 1\ny\u{feff} = 2\n"), Some(2));
        assert_eq!(line("if x:\n        a = 1\n\tb = 2\n"), Some(3));
        assert_eq!(line("x = f'{a!r:>{w}}' + f'{{}}'\n"), None);
    }

    /// Python 3.12 (PEP 701) f-strings are accepted; what every version refuses still is.
    #[test]
    fn fstrings_valid_since_312() {
        for ok in [
            "x = f\"{\"a\"}\"\n",
            "x = f\"{'\\n'.join(y)}\"\n",
            "x = f\"{f\"{f\"{x}\"}\"}\"\n",
            "x = f\"{\", \".join([\n    'a',  # c\n])}\"\n",
            "x = f'{a:{b:{c}}}'\n",
            "x = rf\"{\"a\"}\\d\"\n",
        ] {
            assert_eq!(line(ok), None, "{ok}");
        }
        for bad in [
            "x = f\"{\"a\"\n",
            "x = f\"{\"a\"}{}\"\n",
            "x = f\"{\"a\"} }\"\n",
            "x = f\"{\"a\"!x}\"\n",
            "x = f\"{\"a\" # c}\"\n",
            "x = f'{a:{b:{c:{d}}}}'\n",
        ] {
            assert_eq!(line(bad), Some(1), "{bad}");
        }
        // A field over lines is valid since 3.12, even in a single-quoted f-string: the mistake is
        // the empty field after it.
        assert_eq!(line("a = 1\nx = f'{\n  a\n}' + f'{}'\ny = 2\n"), Some(4));
    }
}

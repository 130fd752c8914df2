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

    /// An f-string, the quote under the cursor (its prefix read). Python 3.8 to 3.11 end it at
    /// the first unescaped quote and refuse a backslash or `#` in an expression; Python 3.12 and
    /// later (PEP 701) read its replacement fields as code, so `f"{"a"}"` is one string there.
    /// What any of them accepts is accepted: the 3.11 reading first and, when it finds a mistake,
    /// the PEP 701 reading. Only when both fail is the mistake reported, the 3.11 way (a bad field
    /// competes with parser errors; an unterminated string is raised).
    fn fstring(&mut self, prefix: &str) -> Scan {
        let raw = prefix.bytes().any(|b| b.eq_ignore_ascii_case(&b'r'));
        if self.pep701 {
            return self.fstring_pep701(raw);
        }
        let (start, line) = (self.at, self.line);
        let text = self.text;
        let classic = self.literal().map(|(body, start_line)| (fstring_problem(&text[body], 0), start_line));
        if let Ok((Ok(()), _)) = classic {
            return Ok(());
        }
        let after_classic = (self.at, self.line);
        (self.at, self.line) = (start, line);
        let earlier = self.parser.take();
        self.pep701 = true;
        let modern = self.fstring_pep701(raw);
        self.pep701 = false;
        let accepted = modern.is_ok() && self.parser.is_none();
        self.parser = earlier;
        if accepted {
            return Ok(());
        }
        (self.at, self.line) = after_classic;
        let (problem, start_line) = classic?;
        if self.parser.is_none() {
            self.parser = problem.err().map(|detail| LexicalError { line: start_line, detail, raised: false });
        }
        Ok(())
    }

    /// An f-string read as Python 3.12 and later read it (PEP 701), the quote under the cursor:
    /// literal text with `{{`, `}}` and escapes, and replacement fields (see
    /// [`Scanner::replacement_field`]). Mistakes are errors (the caller only needs to know).
    fn fstring_pep701(&mut self, raw: bool) -> Scan {
        if self.nested_fstrings >= MAX_NESTED_FSTRINGS {
            return Err(self.raised(self.line, "too many nested f-strings"));
        }
        self.nested_fstrings += 1;
        let read = self.fstring_pep701_body(raw);
        self.nested_fstrings -= 1;
        read
    }

    fn fstring_pep701_body(&mut self, raw: bool) -> Scan {
        let quote = self.bytes[self.at];
        let triple = self.peek(1) == quote && self.peek(2) == quote;
        let width = if triple { 3 } else { 1 };
        let start_line = self.line;
        self.at += width;
        loop {
            if self.eof() {
                return Err(self.raised(start_line, "unterminated f-string literal"));
            }
            match self.bytes[self.at] {
                b'\\' => self.fstring_escape(raw, quote),
                b'\n' if !triple => return Err(self.raised(start_line, "unterminated f-string literal")),
                b'\n' => {
                    self.line += 1;
                    self.at += 1;
                }
                byte if byte == quote && (!triple || (self.peek(1) == quote && self.peek(2) == quote)) => {
                    self.at += width;
                    return Ok(());
                }
                b'{' if self.peek(1) == b'{' => self.at += 2,
                b'}' if self.peek(1) == b'}' => self.at += 2,
                b'{' => self.replacement_field(quote, triple, raw, 0)?,
                b'}' => return Err(self.raised(self.line, "f-string: single '}' is not allowed")),
                _ => self.at += 1,
            }
        }
    }

    /// A backslash in an f-string's literal text or format spec: it escapes the next character,
    /// but not a brace (`\{` is a backslash and a field), and `\N{NAME}` holds no field.
    fn fstring_escape(&mut self, raw: bool, quote: u8) {
        self.at += 1;
        match self.peek(0) {
            b'{' | b'}' => {}
            b'N' if !raw && self.peek(1) == b'{' => {
                self.at += 2;
                while !self.eof() && !matches!(self.peek(0), b'}' | b'\n') && self.peek(0) != quote {
                    self.at += 1;
                }
                if self.peek(0) == b'}' {
                    self.at += 1;
                }
            }
            b'\r' if self.peek(1) == b'\n' => {
                self.at += 2;
                self.line += 1;
            }
            b'\n' => {
                self.at += 1;
                self.line += 1;
            }
            _ if self.eof() => {}
            _ => self.at += self.text[self.at..].chars().next().map_or(1, char::len_utf8),
        }
    }

    /// One `{expression!conversion:spec}` of a PEP 701 f-string, the `{` under the cursor. The
    /// expression is read as code: any string (even with the f-string's own quote), comments and
    /// new lines, backslashes. It may not be empty; a conversion is `!s`, `!r` or `!a`; fields in
    /// the spec nest three deep at most (CPython's `MAX_EXPR_NESTING`).
    fn replacement_field(&mut self, quote: u8, triple: bool, raw: bool, depth: usize) -> Scan {
        if depth >= 3 {
            return Err(self.raised(self.line, "f-string: expressions nested too deeply"));
        }
        self.at += 1;
        let mut brackets: Vec<u8> = Vec::new();
        let mut empty = true;
        let no_expression = |this: &Self| this.raised(this.line, "f-string: valid expression required");
        loop {
            if self.eof() {
                return Err(self.raised(self.line, "f-string: expecting '}'"));
            }
            let byte = self.bytes[self.at];
            let significant = !matches!(byte, b' ' | b'\t' | b'\x0c' | b'\r' | b'\n' | b'#' | b'\\');
            match byte {
                b' ' | b'\t' | b'\x0c' | b'\r' => self.at += 1,
                b'\n' => {
                    self.at += 1;
                    self.line += 1;
                }
                b'#' => self.skip_comment(),
                b'\\' => self.continuation()?,
                b'"' | b'\'' => self.string("")?,
                b'0'..=b'9' => self.number()?,
                b'.' if self.peek(1).is_ascii_digit() => self.number()?,
                b'(' | b'[' | b'{' => {
                    brackets.push(byte);
                    self.at += 1;
                }
                b')' | b']' => {
                    self.closer(brackets.pop(), byte)?;
                    self.at += 1;
                }
                b'}' if !brackets.is_empty() => {
                    self.closer(brackets.pop(), byte)?;
                    self.at += 1;
                }
                b'}' | b'!' | b':' if empty && brackets.is_empty() && !(byte == b'!' && self.peek(1) == b'=') => {
                    return Err(no_expression(self));
                }
                b'}' => {
                    self.at += 1;
                    return Ok(());
                }
                b'!' if brackets.is_empty() && self.peek(1) != b'=' => {
                    self.at += 1;
                    let name =
                        self.bytes[self.at..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
                    if !matches!(&self.bytes[self.at..self.at + name], b"s" | b"r" | b"a") {
                        return Err(self.raised(self.line, "f-string: invalid conversion character"));
                    }
                    self.at += 1;
                    return match self.peek(0) {
                        b'}' => {
                            self.at += 1;
                            Ok(())
                        }
                        b':' => self.format_spec(quote, triple, raw, depth),
                        _ => Err(self.raised(self.line, "f-string: expecting '}'")),
                    };
                }
                b':' if brackets.is_empty() => return self.format_spec(quote, triple, raw, depth),
                _ if byte == b'_' || byte.is_ascii_alphabetic() || byte >= 0x80 => self.word()?,
                _ if byte < 0x20 || byte == 0x7f => {
                    return Err(self.raised(self.line, format!("invalid non-printable character U+{byte:04X}")));
                }
                _ => self.at += 1,
            }
            empty &= !significant;
        }
    }

    /// The `:spec` of a PEP 701 replacement field, the `:` under the cursor, up to and with the
    /// field's `}`: literal text, in which every `{` opens a nested field.
    fn format_spec(&mut self, quote: u8, triple: bool, raw: bool, depth: usize) -> Scan {
        self.at += 1;
        loop {
            if self.eof() {
                return Err(self.raised(self.line, "f-string: expecting '}'"));
            }
            match self.bytes[self.at] {
                b'{' => self.replacement_field(quote, triple, raw, depth + 1)?,
                b'}' => {
                    self.at += 1;
                    return Ok(());
                }
                b'\\' => self.fstring_escape(raw, quote),
                b'\n' if !triple => {
                    return Err(
                        self.raised(self.line, "f-string: newline in the format spec of a single-quoted f-string")
                    );
                }
                b'\n' => {
                    self.line += 1;
                    self.at += 1;
                }
                byte if byte == quote && (!triple || (self.peek(1) == quote && self.peek(2) == quote)) => {
                    return Err(self.raised(self.line, "f-string: expecting '}'"));
                }
                _ => self.at += 1,
            }
        }
    }

    /// A number literal, following CPython 3.11's `tok_get`: underscores only between digits, no
    /// leading zeros in a decimal integer (`05`; `00`, `05.5` and `0e1` are fine), and no letter
    /// straight after the number (`1abc`), except the keywords valid code may glue to it (`1if`).
    fn number(&mut self) -> Scan {
        let line = self.line;
        let invalid = |kind: &str| LexicalError { line, detail: format!("invalid {kind} literal"), raised: true };
        if self.peek(0) == b'.' {
            self.at += 1;
            return self.fraction(&invalid);
        }
        if self.peek(0) == b'0' {
            self.at += 1;
            match self.peek(0).to_ascii_lowercase() {
                b'x' => return self.radix(16, "hexadecimal", &invalid),
                b'o' => return self.radix(8, "octal", &invalid),
                b'b' => return self.radix(2, "binary", &invalid),
                _ => {}
            }
            loop {
                if self.peek(0) == b'_' {
                    self.at += 1;
                    if !self.peek(0).is_ascii_digit() {
                        return Err(invalid("decimal"));
                    }
                }
                if self.peek(0) != b'0' {
                    break;
                }
                self.at += 1;
            }
            let nonzero = self.peek(0).is_ascii_digit();
            if nonzero {
                self.decimal_tail(&invalid)?;
            }
            return match self.peek(0) {
                b'.' => {
                    self.at += 1;
                    self.fraction(&invalid)
                }
                b'e' | b'E' | b'j' | b'J' => self.fraction(&invalid),
                _ if nonzero => Err(self.raised(
                    line,
                    "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
                )),
                _ => self.end_of_number("decimal", &invalid),
            };
        }
        self.decimal_tail(&invalid)?;
        if self.peek(0) == b'.' {
            self.at += 1;
        }
        self.fraction(&invalid)
    }

    /// Digits with single underscores between them (`tok_decimal_tail`).
    fn decimal_tail(&mut self, invalid: &dyn Fn(&str) -> LexicalError) -> Scan {
        loop {
            while self.peek(0).is_ascii_digit() {
                self.at += 1;
            }
            if self.peek(0) != b'_' {
                return Ok(());
            }
            self.at += 1;
            if !self.peek(0).is_ascii_digit() {
                return Err(invalid("decimal"));
            }
        }
    }

    /// What may follow the integer part: fraction digits, an exponent, an imaginary `j`.
    fn fraction(&mut self, invalid: &dyn Fn(&str) -> LexicalError) -> Scan {
        if self.peek(0).is_ascii_digit() {
            self.decimal_tail(invalid)?;
        }
        if matches!(self.peek(0), b'e' | b'E') {
            self.at += 1;
            if matches!(self.peek(0), b'+' | b'-') {
                self.at += 1;
                if !self.peek(0).is_ascii_digit() {
                    return Err(invalid("decimal"));
                }
            } else if !self.peek(0).is_ascii_digit() {
                // `1else`: the `e` starts the next token, if that is a keyword valid code glues on.
                self.at -= 1;
                return self.end_of_number("decimal", invalid);
            }
            self.decimal_tail(invalid)?;
        }
        if matches!(self.peek(0), b'j' | b'J') {
            self.at += 1;
            return self.end_of_number("imaginary", invalid);
        }
        self.end_of_number("decimal", invalid)
    }

    /// `0x`, `0o`, `0b` literals: at least one digit, underscores between digits only.
    fn radix(&mut self, radix: u32, kind: &str, invalid: &dyn Fn(&str) -> LexicalError) -> Scan {
        self.at += 1;
        loop {
            if self.peek(0) == b'_' {
                self.at += 1;
            }
            if !(self.peek(0) as char).is_digit(radix) {
                return Err(self.bad_digit(radix, kind, invalid));
            }
            while (self.peek(0) as char).is_digit(radix) {
                self.at += 1;
            }
            if self.peek(0) != b'_' {
                break;
            }
        }
        if radix < 10 && self.peek(0).is_ascii_digit() {
            return Err(self.bad_digit(radix, kind, invalid));
        }
        self.end_of_number(kind, invalid)
    }

    /// `0o8`: CPython names the digit; otherwise the literal.
    fn bad_digit(&self, radix: u32, kind: &str, invalid: &dyn Fn(&str) -> LexicalError) -> LexicalError {
        match self.peek(0) {
            digit if radix < 10 && digit.is_ascii_digit() => {
                self.raised(self.line, format!("invalid digit '{}' in {kind} literal", digit as char))
            }
            _ => invalid(kind),
        }
    }

    /// A number may not run into a name (`verify_end_of_number`), but valid code glues a few
    /// keywords to numbers (`1if x else 2`, `0x1for`): CPython 3.11 only warns about those.
    fn end_of_number(&self, kind: &str, invalid: &dyn Fn(&str) -> LexicalError) -> Scan {
        let rest = &self.bytes[self.at..];
        let keyword =
            ["and", "else", "for", "if", "in", "is", "or", "not"].iter().any(|k| rest.starts_with(k.as_bytes()));
        let glued = rest.first().is_some_and(|&b| b == b'_' || b.is_ascii_alphanumeric() || b >= 0x80);
        if glued && !keyword { Err(invalid(kind)) } else { Ok(()) }
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

/// The first mistake Python 3.8 to 3.11 find in an f-string's body (its text between the quotes): a
/// `{` never closed, a lone `}`, an empty expression, a backslash or `#` inside an expression, a
/// bad `!` conversion. The expressions themselves are parsed by tree-sitter.
fn fstring_problem(body: &str, depth: usize) -> Result<(), String> {
    let bytes = body.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'{' if bytes.get(at + 1) == Some(&b'{') && depth == 0 => at += 2,
            b'}' if bytes.get(at + 1) == Some(&b'}') && depth == 0 => at += 2,
            b'{' => {
                if depth >= 2 {
                    return Err("f-string: expressions nested too deeply".to_owned());
                }
                at = replacement_field(body, at + 1, depth)?;
            }
            b'}' => return Err("f-string: single '}' is not allowed".to_owned()),
            _ => at += 1,
        }
    }
    Ok(())
}

/// One `{expression!conversion:spec}` starting after its `{`; the index after its `}`.
fn replacement_field(body: &str, start: usize, depth: usize) -> Result<usize, String> {
    let bytes = body.as_bytes();
    let mut at = start;
    let mut nesting = 0usize;
    let mut quote: Option<(u8, bool)> = None;
    while at < bytes.len() {
        let byte = bytes[at];
        if let Some((q, triple)) = quote {
            let closes = byte == q && (!triple || bytes[at..].starts_with(&[q, q, q]));
            if byte == b'\\' {
                return Err("f-string expression part cannot include a backslash".to_owned());
            }
            if closes {
                quote = None;
                at += if triple { 3 } else { 1 };
                continue;
            }
            at += 1;
            continue;
        }
        match byte {
            b'\\' => return Err("f-string expression part cannot include a backslash".to_owned()),
            b'#' => return Err("f-string expression part cannot include '#'".to_owned()),
            b'\'' | b'"' => {
                let triple = bytes[at..].starts_with(&[byte, byte, byte]);
                quote = Some((byte, triple));
                at += if triple { 3 } else { 1 };
                continue;
            }
            b'(' | b'[' | b'{' => nesting += 1,
            b')' | b']' if nesting > 0 => nesting -= 1,
            b'}' if nesting > 0 => nesting -= 1,
            b'!' if nesting == 0 && bytes.get(at + 1) != Some(&b'=') => {
                empty_check(&body[start..at])?;
                let conversion = bytes.get(at + 1).copied();
                if !matches!(conversion, Some(b's' | b'r' | b'a')) {
                    return Err("f-string: invalid conversion character: expected 's', 'r', or 'a'".to_owned());
                }
                return spec_or_end(body, at + 2, depth);
            }
            b':' if nesting == 0 => {
                empty_check(&body[start..at])?;
                return spec_or_end(body, at, depth);
            }
            b'}' => {
                empty_check(&body[start..at])?;
                return Ok(at + 1);
            }
            _ => {}
        }
        at += 1;
    }
    Err("f-string: expecting '}'".to_owned())
}

/// After a conversion: `}` or a `:format spec}` (which may hold nested fields).
fn spec_or_end(body: &str, at: usize, depth: usize) -> Result<usize, String> {
    let bytes = body.as_bytes();
    match bytes.get(at) {
        Some(b'}') => Ok(at + 1),
        Some(b':') => {
            let mut end = at + 1;
            while end < bytes.len() {
                match bytes[end] {
                    b'{' => {
                        if depth >= 1 {
                            return Err("f-string: expressions nested too deeply".to_owned());
                        }
                        end = replacement_field(body, end + 1, depth + 1)?;
                        continue;
                    }
                    b'}' => return Ok(end + 1),
                    _ => end += 1,
                }
            }
            Err("f-string: expecting '}'".to_owned())
        }
        _ => Err("f-string: expecting '}'".to_owned()),
    }
}

/// `f"{}"` and `f"{ }"` have no expression.
fn empty_check(expression: &str) -> Result<(), String> {
    if expression.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')).is_empty() {
        Err("f-string: empty expression not allowed".to_owned())
    } else {
        Ok(())
    }
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
